/**
 * Worker entry: one blocking `virDomainMigrateToURI3` on the worker's own connection. Posts `opening`
 * (the parent's deadline for reaching the migration starts), `migrating` (the deadline no longer applies),
 * then `{ ok: true }` or `{ ok: false, error }` once, as soon as libvirt returned; then cleans up and exits.
 *
 * Opening a connection and finding the domain are ordinary calls with a deadline; libvirt has no timeout
 * for `virConnectOpen` and keepalive starts after it, so a hung daemon would otherwise hold the caller
 * forever. The shared `control` cell decides the race, as for connection calls: this worker claims it
 * (QUEUED → STARTED) right before `virDomainMigrateToURI3`; the parent claims it (QUEUED → CANCELLED) when
 * the deadline passes first, and then the migration is never started.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { LibvirtError } from '../errors.js';
import { Cell } from './connection-protocol.js';
import { LibvirtErrorCode } from './constants.js';
import { toWireError, type WireError } from './spawn-worker.js';
import { type LibvirtSymbols, lastError, loadLibvirt, type Pointer } from './symbols.js';
import { encodeMigrateParams } from './typed-params.js';
import type { KeepAliveOptions, MigrateParams } from './types.js';

/** What {@link LibvirtDomain.migrateToURI3} hands this worker. */
export interface MigrateWorkerData {
  libraryPath: string;
  uri: string;
  readOnly: boolean;
  /** Same keepalive as the connection the migration was started from. */
  keepAlive: KeepAliveOptions;
  domainUuid: string;
  destUri: string;
  params: MigrateParams;
  flags: number;
  /** Int32Array of one {@link Cell}: QUEUED until this worker starts the migration or the parent gives up. */
  control: SharedArrayBuffer;
}

/** Worker → parent. */
export type MigrateWorkerMessage =
  | { kind: 'opening' }
  | { kind: 'migrating' }
  | { kind: 'result'; ok: true }
  | { kind: 'result'; ok: false; error: WireError };

let reported = false;
const post = (msg: MigrateWorkerMessage): void => parentPort?.postMessage(msg);
function report(msg: { ok: true } | { ok: false; error: WireError }): void {
  reported = true;
  post({ kind: 'result', ...msg });
}

function run(data: MigrateWorkerData): void {
  const sym = loadLibvirt(data.libraryPath);
  post({ kind: 'opening' });
  const conn = data.readOnly ? sym.virConnectOpenReadOnly(data.uri) : sym.virConnectOpen(data.uri);
  if (conn === null) throw lastError(sym, data.readOnly ? 'virConnectOpenReadOnly' : 'virConnectOpen');
  try {
    // The migration call has no deadline (it may rightly take hours): keepalive is what ends it when the
    // source daemon stops answering. NO_SUPPORT: an in-process driver, no daemon to lose.
    const { intervalSeconds, count } = data.keepAlive;
    if (intervalSeconds > 0 && sym.virConnectSetKeepAlive(conn, intervalSeconds, count) < 0) {
      const err = lastError(sym, 'virConnectSetKeepAlive');
      if (err.libvirtCode !== LibvirtErrorCode.NO_SUPPORT) throw err;
    }
    const dom = sym.virDomainLookupByUUIDString(conn, data.domainUuid);
    if (dom === null) throw lastError(sym, 'virDomainLookupByUUIDString');
    try {
      const params = encodeMigrateParams(data.params, sym);
      try {
        // The parent gave up waiting (deadline): it was told the migration did not start, so it must not.
        if (
          Atomics.compareExchange(new Int32Array(data.control), 0, Cell.QUEUED, Cell.STARTED) !== Cell.QUEUED
        ) {
          reported = true;
          return;
        }
        post({ kind: 'migrating' });
        // Report before cleaning up: a caller waiting to update its records must not wait for
        // virConnectClose's round trip (or a daemon that hangs right after the migration).
        if (sym.virDomainMigrateToURI3(dom, data.destUri, params.ptr, params.count, data.flags) < 0) {
          report({
            ok: false,
            error: toWireError(asLostIfDead(sym, conn, lastError(sym, 'virDomainMigrateToURI3'))),
          });
        } else {
          report({ ok: true });
        }
      } finally {
        params.free();
      }
    } finally {
      sym.virDomainFree(dom);
    }
  } finally {
    sym.virConnectClose(conn);
  }
}

// A failure on a connection libvirt now calls dead (keepalive expired, daemon gone) is a lost connection,
// not a refusal of the migration: the caller must not conclude the migration failed on the daemon's side.
function asLostIfDead(sym: LibvirtSymbols, conn: Pointer, err: LibvirtError): LibvirtError {
  return sym.virConnectIsAlive(conn) !== 0 ? err : err.withCode('LIBVIRT_CONNECTION_LOST');
}

try {
  run(workerData as MigrateWorkerData);
} catch (err) {
  // A failure while cleaning up after the result was sent changes nothing for the caller.
  if (!reported) report({ ok: false, error: toWireError(err) });
}
