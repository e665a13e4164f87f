/**
 * Worker entry of {@link openDebugConnection}: the production connection worker's calls, plus the test
 * hooks of `DebugMethods`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectionCalls, domainCalls } from '../../src/libvirt/connection-calls.js';
import { type ConnectionHandlers, serveConnection } from '../../src/libvirt/connection-service.js';
import type { ConnectionWorkerData } from '../../src/libvirt/protocol.js';
import { getKoffi } from '../../src/libvirt/symbols.js';
import type { DebugMethods } from './debug-connection.js';

const debugCalls: ConnectionHandlers<DebugMethods> = {
  debugBlock: (_s, ms) => {
    const usleep = getKoffi().load('libc.so.6').func('int usleep(unsigned int usec)') as (
      us: number,
    ) => number;
    usleep(ms * 1000);
  },
  debugHandleCount: (s) => s.domains.size,
  debugHideSymbol: (s, name) => {
    s.sym[name] = undefined;
  },
};

serveConnection(parentPort, workerData as ConnectionWorkerData, {
  connection: { ...connectionCalls, ...debugCalls },
  domain: domainCalls,
});
