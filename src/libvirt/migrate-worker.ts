/**
 * Worker entry: one blocking `virDomainMigrateToURI3` on the worker's own connection. Posts
 * `{ ok: true }` or `{ ok: false, error }` once and exits.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toWireError } from './spawn-worker.js';
import { lastError, loadLibvirt } from './symbols.js';
import { encodeMigrateParams } from './typed-params.js';
import type { MigrateParams } from './types.js';

/** What {@link LibvirtDomain.migrateToURI3} hands this worker. */
export interface MigrateWorkerData {
  libraryPath: string;
  uri: string;
  readOnly: boolean;
  domainUuid: string;
  destUri: string;
  params: MigrateParams;
  flags: number;
}

function run(data: MigrateWorkerData): void {
  const sym = loadLibvirt(data.libraryPath);
  const conn = data.readOnly ? sym.virConnectOpenReadOnly(data.uri) : sym.virConnectOpen(data.uri);
  if (conn === null) throw lastError(sym, data.readOnly ? 'virConnectOpenReadOnly' : 'virConnectOpen');
  try {
    const dom = sym.virDomainLookupByUUIDString(conn, data.domainUuid);
    if (dom === null) throw lastError(sym, 'virDomainLookupByUUIDString');
    try {
      const params = encodeMigrateParams(data.params, sym);
      try {
        if (sym.virDomainMigrateToURI3(dom, data.destUri, params.ptr, params.count, data.flags) < 0) {
          throw lastError(sym, 'virDomainMigrateToURI3');
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

try {
  run(workerData as MigrateWorkerData);
  parentPort?.postMessage({ ok: true });
} catch (err) {
  parentPort?.postMessage({ ok: false, error: toWireError(err) });
}
