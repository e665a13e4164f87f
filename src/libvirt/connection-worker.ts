/**
 * Worker entry of every connection: serves the production calls (`connection-calls.ts`) on the connection
 * the main thread asked for (`connection-service.ts`). Running this file is starting the service.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectionCalls, domainCalls } from './connection-calls.js';
import { serveConnection } from './connection-service.js';
import type { ConnectionWorkerData } from './protocol.js';

serveConnection(parentPort, workerData as ConnectionWorkerData, {
  connection: connectionCalls,
  domain: domainCalls,
});
