/**
 * Test hooks on a real connection, kept out of what ships: a connection whose worker is
 * `debug-worker.ts` (in this folder, so never in the package) answers the production calls plus these.
 */
import { type KoffiConnection, openKoffiConnection } from '../../src/libvirt/connection.js';
import type { ConnectionMethods, Method } from '../../src/libvirt/protocol.js';
import { loadLibvirt } from '../../src/libvirt/symbols.js';
import type { OpenOptions } from '../../src/libvirt/types.js';

/** The calls only the test worker answers. */
export interface DebugMethods {
  /** Blocks the worker in C (libc `usleep`) for `ms`, as a call to a hung daemon blocks it. */
  debugBlock: Method<[ms: number], void>;
  /** How many `virDomainPtr`s the worker holds (lookups not yet released). */
  debugHandleCount: Method<[], number>;
  /** Forgets one of libvirt's optional functions in the worker, as a libvirt too old to have it would. */
  debugHideSymbol: Method<[name: 'virDomainStartDirtyRateCalc' | 'virDomainAbortJobFlags'], void>;
}

/** A connection that also answers {@link DebugMethods}. */
export type DebugConnection = KoffiConnection<ConnectionMethods & DebugMethods>;

/** Opens `uri` (test:///default by default) with the test worker. */
export function openDebugConnection(
  uri = 'test:///default',
  options: OpenOptions = {},
): Promise<DebugConnection> {
  return openKoffiConnection<ConnectionMethods & DebugMethods>(
    loadLibvirt(),
    uri,
    options,
    new URL('./debug-worker.ts', import.meta.url),
  );
}
