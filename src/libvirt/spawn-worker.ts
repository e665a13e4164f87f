/**
 * Starting this directory's worker files both from TypeScript sources (tests, tsx) and from compiled
 * JavaScript (published package), plus the error shape workers post back.
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import { LibvirtError, type LibvirtErrorKind } from '../errors.js';

/** The worker entry points in this directory. */
export type WorkerName = 'event-worker' | 'connection-worker';

/** A libvirt error flattened for `postMessage` (class instances lose their prototype on the way). */
export interface WireError {
  call: string;
  code: number;
  domain: number;
  message: string;
  /** The LibvirtError's stable code. */
  kind?: LibvirtErrorKind;
  /** Set when the failure was not a libvirt error. */
  plain?: boolean;
}

/** Flattens an error thrown inside a worker. */
export function toWireError(err: unknown): WireError {
  if (err instanceof LibvirtError) {
    return {
      call: err.call,
      code: err.libvirtCode,
      domain: err.libvirtDomain,
      message: err.libvirtMessage,
      kind: err.code,
    };
  }
  return {
    call: '',
    code: 0,
    domain: 0,
    message: err instanceof Error ? err.message : String(err),
    plain: true,
  };
}

/** Rebuilds a worker's error on the receiving thread. */
export function fromWireError(wire: WireError): Error {
  return wire.plain
    ? new Error(wire.message)
    : new LibvirtError(wire.call, wire.code, wire.domain, wire.message, wire.kind);
}

/**
 * Starts `./<name>.ts` or `./<name>.js` next to this file as a Worker, or the entry at `entry` when it is a
 * URL (a test's own worker). A `.ts` entry is started from eval'd code that registers tsx first, because
 * Node cannot load `.ts` files by itself.
 */
export function spawnWorker(entry: WorkerName | URL, workerData: unknown): Worker {
  const url =
    entry instanceof URL
      ? entry
      : new URL(`./${entry}.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const tsxApi = resolveTsxApi();
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}

// tsx's ESM entry (its CommonJS one cannot register hooks from an ESM context). Resolved here rather than
// in the worker, whose eval'd code would resolve bare specifiers against the process's cwd.
function resolveTsxApi(): string {
  if (typeof import.meta.resolve === 'function') {
    try {
      return import.meta.resolve('tsx/esm/api');
    } catch {
      // Fall back to resolving from the process's cwd, which works when run from the project root.
    }
  }
  return 'tsx/esm/api';
}
