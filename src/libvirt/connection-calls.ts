/**
 * The production call tables of a connection worker: how each call of {@link ConnectionMethods} and
 * {@link DomainMethods} runs in libvirt. Typed by those maps: a missing, misspelt or mistyped call does not
 * compile. Runs on the worker thread only (`connection-worker.ts` serves them).
 *
 * @module
 */
import { LibvirtError } from '../errors.js';
import { type ConnectionHandlers, check, type DomainHandlers, type Session } from './connection-service.js';
import {
  DirtyRateModeFlag,
  DOMAIN_STATE_NAMES,
  DomainEventId,
  LibvirtErrorCode,
  VIR_DOMAIN_ABORT_JOB_POSTCOPY,
  VIR_DOMAIN_STATS_DIRTYRATE,
} from './constants.js';
import {
  type DirtyRateContext,
  dirtyRateBesideJob,
  dirtyRateCallMissing,
  dirtyRateRefusal,
  dirtyRateStatsRefusal,
} from './dirty-rate.js';
import { decodeJobStats } from './job-stats.js';
import type { ConnectionMethods, EventCallbacks, RawParams } from './protocol.js';
import {
  getKoffi,
  lastError,
  type Pointer,
  type RawBlockInfo,
  type RawDomainInfo,
  toNumber,
} from './symbols.js';
import { decodeTypedParams, encodeMigrateParams } from './typed-params.js';
import type { JobStats } from './types.js';

function text(s: Session, call: string, value: string | null): string {
  if (value === null) throw lastError(s.sym, call);
  return value;
}

function version(s: Session, call: 'virConnectGetLibVersion' | 'virConnectGetVersion'): number {
  const out: [number | bigint] = [0];
  check(s, s.sym[call](s.conn, out), call);
  return toNumber(out[0]);
}

function listDomainNames(s: Session): string[] {
  const out: [Pointer | null] = [null];
  const n = s.sym.virConnectListAllDomains(s.conn, out, 0);
  if (n < 0) throw lastError(s.sym, 'virConnectListAllDomains');
  const array = out[0];
  if (array === null) return [];
  const koffi = getKoffi();
  try {
    const doms = koffi.decode(array, 'void *', n) as Pointer[];
    const names: string[] = [];
    for (const dom of doms) {
      names.push(s.sym.virDomainGetName(dom) ?? '');
      s.sym.virDomainFree(dom);
    }
    return names;
  } finally {
    koffi.free(array);
  }
}

// The stream's callbacks live in the event-loop worker (libvirt calls them from its loop, on that thread);
// registering them here keeps every RPC off the loop thread. The stream id rides as libvirt's opaque.
function registerDomainEvents(s: Session, callbacks: EventCallbacks, streamId: number): void {
  for (const [eventId, cb, name] of [
    [DomainEventId.LIFECYCLE, callbacks.lifecycle, 'lifecycle'],
    [DomainEventId.MIGRATION_ITERATION, callbacks.migrationIteration, 'migration iteration'],
    [DomainEventId.JOB_COMPLETED, callbacks.jobCompleted, 'job completed'],
  ] as const) {
    const cbId = s.sym.virConnectDomainEventRegisterAny(s.conn, null, eventId, cb, BigInt(streamId), null);
    if (cbId < 0) {
      const err = lastError(s.sym, `virConnectDomainEventRegisterAny(${name})`);
      for (const id of s.eventCallbackIds) s.sym.virConnectDomainEventDeregisterAny(s.conn, id);
      s.eventCallbackIds.length = 0;
      throw err;
    }
    s.eventCallbackIds.push(cbId);
  }
}

/**
 * How a connection worker answers {@link ConnectionMethods}.
 *
 * @example
 * ```ts
 * serveConnection(port, data, { connection: connectionCalls, domain: domainCalls });
 * ```
 */
export const connectionCalls: ConnectionHandlers<ConnectionMethods> = {
  virConnectGetLibVersion: (s) => version(s, 'virConnectGetLibVersion'),
  virConnectGetVersion: (s) => version(s, 'virConnectGetVersion'),
  virConnectGetHostname: (s) => text(s, 'virConnectGetHostname', s.sym.virConnectGetHostname(s.conn)),
  virConnectGetCapabilities: (s) =>
    text(s, 'virConnectGetCapabilities', s.sym.virConnectGetCapabilities(s.conn)),
  virConnectGetDomainCapabilities: (s, emulatorBin, arch, machine, virttype) =>
    text(
      s,
      'virConnectGetDomainCapabilities',
      s.sym.virConnectGetDomainCapabilities(s.conn, emulatorBin, arch, machine, virttype, 0),
    ),
  virDomainLookupByName: (s, name) =>
    s.domains.adopt('virDomainLookupByName', s.sym.virDomainLookupByName(s.conn, name)),
  virDomainLookupByUUIDString: (s, uuid) =>
    s.domains.adopt('virDomainLookupByUUIDString', s.sym.virDomainLookupByUUIDString(s.conn, uuid)),
  virDomainCreateXML: (s, xml) =>
    s.domains.adopt('virDomainCreateXML', s.sym.virDomainCreateXML(s.conn, xml, 0)),
  virDomainDefineXML: (s, xml) =>
    s.domains.adopt('virDomainDefineXML', s.sym.virDomainDefineXML(s.conn, xml)),
  virConnectListAllDomains: (s) => listDomainNames(s),
  virConnectIsAlive: (s) => {
    const rc = s.sym.virConnectIsAlive(s.conn);
    check(s, rc, 'virConnectIsAlive');
    return rc === 1;
  },
  registerDomainEvents,
};

function jobStats(s: Session, dom: Pointer, flags: number): JobStats {
  const type: [number] = [0];
  const params: [Pointer | null] = [null];
  const n: [number] = [0];
  check(s, s.sym.virDomainGetJobStats(dom, type, params, n, flags), 'virDomainGetJobStats');
  try {
    return decodeJobStats(type[0], decodeTypedParams(params[0], n[0]));
  } finally {
    s.sym.virTypedParamsFree(params[0], n[0]);
  }
}

/** The host's libvirt version for an error message; undefined when even that fails. */
function libVersionOrUndefined(s: Session): number | undefined {
  try {
    return version(s, 'virConnectGetLibVersion');
  } catch {
    return undefined;
  }
}

function startDirtyRateCalc(s: Session, dom: Pointer, seconds: number, flags: number): void {
  const start = s.sym.virDomainStartDirtyRateCalc;
  if (!start) throw dirtyRateCallMissing(s.libraryPath);
  const name = s.sym.virDomainGetName(dom) ?? '(unnamed)';
  // libvirt would park this call (and this worker's whole queue) 30 s on the domain's job lock before
  // refusing; a job already visible is refused at once. A driver without job stats has no such job.
  let job: JobStats | undefined;
  try {
    job = jobStats(s, dom, 0);
  } catch (err) {
    if (!(err instanceof LibvirtError) || err.libvirtCode !== LibvirtErrorCode.NO_SUPPORT) throw err;
  }
  if (job && (job.type === 'bounded' || job.type === 'unbounded')) throw dirtyRateBesideJob(name, job);
  if (start(dom, seconds, flags) >= 0) return;
  const err = lastError(s.sym, 'virDomainStartDirtyRateCalc');
  const mode =
    (Object.entries(DirtyRateModeFlag).find(([, flag]) => flag === flags)?.[0] as DirtyRateContext['mode']) ??
    'page-sampling';
  throw dirtyRateRefusal(err, { domain: name, uri: s.uri, mode, libVersion: libVersionOrUndefined(s) });
}

function listGetStats(s: Session, dom: Pointer, stats: number, flags: number): RawParams {
  const out: [Pointer | null] = [null];
  if (s.sym.virDomainListGetStats([dom, null], stats, out, flags) < 0) {
    const err = lastError(s.sym, 'virDomainListGetStats');
    if ((stats & VIR_DOMAIN_STATS_DIRTYRATE) === 0) throw err;
    throw dirtyRateStatsRefusal(err, { uri: s.uri, libVersion: libVersionOrUndefined(s) });
  }
  const records = out[0];
  if (records === null) return {};
  const koffi = getKoffi();
  try {
    // One domain asked for: at most one record before the list's NULL.
    const first = koffi.decode(records, 'void *') as Pointer | null;
    if (first === null) return {};
    const record = koffi.decode(first, 'virDomainStatsRecord') as { params: Pointer | null; nparams: number };
    const raw: RawParams = {};
    for (const p of decodeTypedParams(record.params, record.nparams)) raw[p.field] = p.value;
    return raw;
  } finally {
    s.sym.virDomainStatsRecordListFree(records);
  }
}

/**
 * How a connection worker answers {@link DomainMethods} on a domain handle.
 *
 * @example
 * ```ts
 * serveConnection(port, data, { connection: connectionCalls, domain: domainCalls });
 * ```
 */
export const domainCalls: DomainHandlers = {
  virDomainGetState: (s, d) => {
    const state: [number] = [0];
    const reason: [number] = [0];
    check(s, s.sym.virDomainGetState(d, state, reason, 0), 'virDomainGetState');
    return { state: DOMAIN_STATE_NAMES[state[0]] ?? 'nostate', reason: reason[0] };
  },
  virDomainGetInfo: (s, d) => {
    const out: [RawDomainInfo] = [{ state: 0, maxMem: 0, memory: 0, nrVirtCpu: 0, cpuTime: 0 }];
    check(s, s.sym.virDomainGetInfo(d, out), 'virDomainGetInfo');
    const info = out[0];
    return {
      state: DOMAIN_STATE_NAMES[info.state] ?? 'nostate',
      maxMemoryKiB: toNumber(info.maxMem),
      memoryKiB: toNumber(info.memory),
      vcpus: info.nrVirtCpu,
      cpuTimeNs: toNumber(info.cpuTime),
    };
  },
  virDomainGetBlockInfo: (s, d, disk) => {
    const out: [RawBlockInfo] = [{ capacity: 0, allocation: 0, physical: 0 }];
    check(s, s.sym.virDomainGetBlockInfo(d, disk, out, 0), 'virDomainGetBlockInfo');
    return {
      capacity: toNumber(out[0].capacity),
      allocation: toNumber(out[0].allocation),
      physical: toNumber(out[0].physical),
    };
  },
  virDomainGetXMLDesc: (s, d, flags) => text(s, 'virDomainGetXMLDesc', s.sym.virDomainGetXMLDesc(d, flags)),
  virDomainIsActive: (s, d) => {
    const rc = s.sym.virDomainIsActive(d);
    check(s, rc, 'virDomainIsActive');
    return rc === 1;
  },
  virDomainGetJobStats: jobStats,
  virDomainMigrateStartPostCopy: (s, d) =>
    check(s, s.sym.virDomainMigrateStartPostCopy(d, 0), 'virDomainMigrateStartPostCopy'),
  virDomainAbortJob: (s, d) => check(s, s.sym.virDomainAbortJob(d), 'virDomainAbortJob'),
  virDomainAbortJobFlags: (s, d) => {
    const withFlags = s.sym.virDomainAbortJobFlags;
    if (!withFlags) {
      throw new LibvirtError(
        'virDomainAbortJobFlags',
        LibvirtErrorCode.NO_SUPPORT,
        0,
        'aborting a post-copy migration needs libvirt >= 8.5.0; this libvirt lacks virDomainAbortJobFlags',
      );
    }
    check(s, withFlags(d, VIR_DOMAIN_ABORT_JOB_POSTCOPY), 'virDomainAbortJobFlags');
  },
  virDomainMigrateSetMaxDowntime: (s, d, ms) =>
    check(s, s.sym.virDomainMigrateSetMaxDowntime(d, ms, 0), 'virDomainMigrateSetMaxDowntime'),
  virDomainMigrateSetMaxSpeed: (s, d, mibps, flags) =>
    check(s, s.sym.virDomainMigrateSetMaxSpeed(d, mibps, flags), 'virDomainMigrateSetMaxSpeed'),
  virDomainSuspend: (s, d) => check(s, s.sym.virDomainSuspend(d), 'virDomainSuspend'),
  virDomainResume: (s, d) => check(s, s.sym.virDomainResume(d), 'virDomainResume'),
  virDomainDestroy: (s, d) => check(s, s.sym.virDomainDestroy(d), 'virDomainDestroy'),
  virDomainUndefine: (s, d) => check(s, s.sym.virDomainUndefine(d), 'virDomainUndefine'),
  virDomainMigrateToURI3: (s, d, destUri, params, flags) => {
    const encoded = encodeMigrateParams(params, s.sym);
    try {
      check(
        s,
        s.sym.virDomainMigrateToURI3(d, destUri, encoded.ptr, encoded.count, flags),
        'virDomainMigrateToURI3',
      );
    } finally {
      encoded.free();
    }
  },
  virDomainStartDirtyRateCalc: startDirtyRateCalc,
  virDomainListGetStats: listGetStats,
};
