/**
 * {@link LibvirtDomain} over a koffi `virDomainPtr`.
 *
 * @module
 */
import { LibvirtError } from '../errors.js';
import {
  DOMAIN_STATE_NAMES,
  LibvirtErrorCode,
  VIR_DOMAIN_ABORT_JOB_POSTCOPY,
  VIR_DOMAIN_JOB_STATS_COMPLETED,
  VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED,
  VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY,
} from './constants.js';
import { decodeJobStats } from './job-stats.js';
import type { MigrateWorkerData } from './migrate-worker.js';
import { fromWireError, spawnWorker, type WireError } from './spawn-worker.js';
import { type LibvirtSymbols, lastError, type Pointer } from './symbols.js';
import { decodeTypedParams } from './typed-params.js';
import type { JobStats, JobStatsOptions, LibvirtConnection, LibvirtDomain, MigrateParams } from './types.js';

interface Owned {
  sym: LibvirtSymbols;
  ptr: Pointer;
}

// Each virDomainPtr holds a reference on libvirt's side; drop it when the JS wrapper goes away.
const released = new FinalizationRegistry<Owned>(({ sym, ptr }) => {
  sym.virDomainFree(ptr);
});

/** koffi-backed domain; obtain one from a {@link LibvirtConnection}. */
export class KoffiDomain implements LibvirtDomain {
  constructor(
    private readonly sym: LibvirtSymbols,
    private readonly ptr: Pointer,
    readonly connection: LibvirtConnection & { readonly readOnly: boolean },
  ) {
    released.register(this, { sym, ptr });
  }

  private check(rc: number, call: string): void {
    if (rc < 0) throw lastError(this.sym, call);
  }

  name(): string {
    const name = this.sym.virDomainGetName(this.ptr);
    if (name === null) throw lastError(this.sym, 'virDomainGetName');
    return name;
  }

  uuid(): string {
    const buf = Buffer.alloc(37);
    this.check(this.sym.virDomainGetUUIDString(this.ptr, buf), 'virDomainGetUUIDString');
    return buf.toString('latin1', 0, 36);
  }

  state(): { state: (typeof DOMAIN_STATE_NAMES)[number]; reason: number } {
    const state: [number] = [0];
    const reason: [number] = [0];
    this.check(this.sym.virDomainGetState(this.ptr, state, reason, 0), 'virDomainGetState');
    return { state: DOMAIN_STATE_NAMES[state[0]] ?? 'nostate', reason: reason[0] };
  }

  xml(flags = 0): string {
    const xml = this.sym.virDomainGetXMLDesc(this.ptr, flags);
    if (xml === null) throw lastError(this.sym, 'virDomainGetXMLDesc');
    return xml;
  }

  isActive(): boolean {
    const rc = this.sym.virDomainIsActive(this.ptr);
    this.check(rc, 'virDomainIsActive');
    return rc === 1;
  }

  jobStats(options: JobStatsOptions = {}): JobStats {
    const flags =
      (options.completed ? VIR_DOMAIN_JOB_STATS_COMPLETED : 0) |
      (options.keepCompleted ? VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED : 0);
    const type: [number] = [0];
    const params: [Pointer | null] = [null];
    const n: [number] = [0];
    this.check(this.sym.virDomainGetJobStats(this.ptr, type, params, n, flags), 'virDomainGetJobStats');
    try {
      return decodeJobStats(type[0], decodeTypedParams(params[0], n[0]));
    } finally {
      this.sym.virTypedParamsFree(params[0], n[0]);
    }
  }

  startPostCopy(): void {
    this.check(this.sym.virDomainMigrateStartPostCopy(this.ptr, 0), 'virDomainMigrateStartPostCopy');
  }

  abortJob(options: { postcopy?: boolean } = {}): void {
    if (!options.postcopy) {
      this.check(this.sym.virDomainAbortJob(this.ptr), 'virDomainAbortJob');
      return;
    }
    const withFlags = this.sym.virDomainAbortJobFlags;
    if (!withFlags) {
      throw new LibvirtError(
        'virDomainAbortJobFlags',
        LibvirtErrorCode.NO_SUPPORT,
        0,
        'aborting a post-copy migration needs libvirt >= 8.5.0; this libvirt lacks virDomainAbortJobFlags',
      );
    }
    this.check(withFlags(this.ptr, VIR_DOMAIN_ABORT_JOB_POSTCOPY), 'virDomainAbortJobFlags');
  }

  setMaxDowntime(ms: number): void {
    assertUnsigned('ms', ms);
    this.check(this.sym.virDomainMigrateSetMaxDowntime(this.ptr, ms, 0), 'virDomainMigrateSetMaxDowntime');
  }

  setMaxSpeed(mibps: number, options: { postcopy?: boolean } = {}): void {
    assertUnsigned('mibps', mibps);
    const flags = options.postcopy ? VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY : 0;
    this.check(this.sym.virDomainMigrateSetMaxSpeed(this.ptr, mibps, flags), 'virDomainMigrateSetMaxSpeed');
  }

  suspend(): void {
    this.check(this.sym.virDomainSuspend(this.ptr), 'virDomainSuspend');
  }

  resume(): void {
    this.check(this.sym.virDomainResume(this.ptr), 'virDomainResume');
  }

  destroy(): void {
    this.check(this.sym.virDomainDestroy(this.ptr), 'virDomainDestroy');
  }

  undefine(): void {
    this.check(this.sym.virDomainUndefine(this.ptr), 'virDomainUndefine');
  }

  migrateToURI3(destUri: string, params: MigrateParams, flags: number): Promise<void> {
    const data: MigrateWorkerData = {
      libraryPath: this.sym.libraryPath,
      uri: this.connection.uri,
      readOnly: this.connection.readOnly,
      domainUuid: this.uuid(),
      destUri,
      params,
      flags,
    };
    return new Promise<void>((resolve, reject) => {
      const worker = spawnWorker('migrate-worker', data);
      let settled = false;
      worker.once('message', (msg: { ok: true } | { ok: false; error: WireError }) => {
        settled = true;
        if (msg.ok) resolve();
        else reject(fromWireError(msg.error));
      });
      worker.once('error', (err) => {
        settled = true;
        reject(err);
      });
      worker.once('exit', (code) => {
        if (!settled) reject(new Error(`migration worker exited with code ${code} without a result`));
      });
    });
  }
}

function assertUnsigned(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}
