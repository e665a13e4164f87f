/**
 * The messages and shared cells between a connection's main-thread side (`connection.ts`) and its worker
 * (`connection-worker.ts`). Kept apart from the worker entry, which runs its thread's code when imported.
 *
 * @module
 */
import type { WireError } from './spawn-worker.js';
import type { KeepAliveOptions } from './types.js';

/**
 * What the main thread hands a connection worker.
 *
 * @example
 * ```ts
 * spawnWorker('connection-worker', { libraryPath, uri, readOnly: false, keepAlive, cells, aliveCheckMs: 500 });
 * ```
 */
export interface ConnectionWorkerData {
  libraryPath: string;
  uri: string;
  readOnly: boolean;
  keepAlive: KeepAliveOptions;
  /** Int32Array of request cells (see {@link Cell}); index {@link CURRENT} holds the id of the running call. */
  cells: SharedArrayBuffer;
  /** How often an idle worker asks `virConnectIsAlive`, in ms. */
  aliveCheckMs: number;
}

/**
 * States of a request cell.
 *
 * @example
 * ```ts
 * Atomics.compareExchange(cells, cell, Cell.QUEUED, Cell.STARTED); // the worker claims a request
 * ```
 */
export const Cell = { FREE: 0, QUEUED: 1, STARTED: 2, CANCELLED: 3 } as const;
/**
 * Index of the cell holding the id of the call the worker is inside (0: none).
 *
 * @example
 * ```ts
 * const running = Atomics.load(cells, CURRENT);
 * ```
 */
export const CURRENT = 0;

/**
 * Main → worker. `method` is the libvirt function's name; `target` a domain handle for domain calls.
 *
 * @example
 * ```ts
 * worker.postMessage({ op: 'call', id: 7, cell: 3, method: 'virDomainGetState', target: 2, args: [] });
 * ```
 */
export type ConnectionRequest =
  | { op: 'call'; id: number; cell: number; method: string; target?: number; args: unknown[] }
  | { op: 'free'; handle: number }
  | { op: 'close' };

/**
 * What a lookup returns across the boundary.
 *
 * @example
 * ```ts
 * const ref: DomainRef = { handle: 2, name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f' };
 * ```
 */
export interface DomainRef {
  handle: number;
  name: string;
  uuid: string;
}

/**
 * Worker → main.
 *
 * @example
 * ```ts
 * parentPort.postMessage({ kind: 'result', id: 7, value: { state: 'running', reason: 1 } });
 * ```
 */
export type ConnectionReply =
  | { kind: 'opening' }
  | { kind: 'opened'; keepAlive: 'on' | 'off' | 'unsupported' }
  | { kind: 'openFailed'; error: WireError }
  | { kind: 'result'; id: number; value: unknown }
  | { kind: 'error'; id: number; error: WireError }
  | { kind: 'skipped'; id: number }
  | { kind: 'lost'; error: WireError };
