/**
 * Worker entry: owns ONE libvirt connection (`virConnectPtr`) and the domains looked up on it, and runs the
 * calls the main thread posts, one at a time, synchronously. The main thread only ever holds numbers
 * (request ids, domain handle ids); no libvirt pointer crosses the thread boundary.
 *
 * Cancellation: each request has a cell in a shared Int32Array. The main thread marks it QUEUED before
 * posting; this worker flips QUEUED → STARTED with a compare-and-swap before calling libvirt, the main
 * thread flips QUEUED → CANCELLED when the deadline passes first. Whoever wins decides: a call whose
 * deadline passed while it waited in the queue is never started (a late `suspend()` must not pause a guest
 * the caller already gave up on).
 *
 * See docs/threading.md for the whole model.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LibvirtError } from '../errors.js';
import {
  Cell,
  type ConnectionReply,
  type ConnectionRequest,
  type ConnectionWorkerData,
  CURRENT,
  type DomainRef,
} from './connection-protocol.js';
import {
  DOMAIN_STATE_NAMES,
  DomainEventId,
  LibvirtErrorCode,
  VIR_DOMAIN_ABORT_JOB_POSTCOPY,
} from './constants.js';
import type { EventCallbacks } from './event-worker.js';
import { decodeJobStats } from './job-stats.js';
import { toWireError } from './spawn-worker.js';
import {
  getKoffi,
  type LibvirtSymbols,
  lastError,
  loadLibvirt,
  type Pointer,
  type RawBlockInfo,
  type RawDomainInfo,
  toNumber,
} from './symbols.js';
import { decodeTypedParams } from './typed-params.js';
import type { BlockInfo, DomainInfo } from './types.js';

const data = workerData as ConnectionWorkerData;
const cells = new Int32Array(data.cells);
const port = parentPort;
const post = (msg: ConnectionReply): void => port?.postMessage(msg);

let sym: LibvirtSymbols;
let conn: Pointer | null = null;
const domains = new Map<number, Pointer>();
let nextHandle = 1;
let aliveTimer: NodeJS.Timeout | undefined;
const eventCallbackIds: number[] = [];

function domainRef(call: string, ptr: Pointer | null): DomainRef {
  if (ptr === null) throw lastError(sym, call);
  const name = sym.virDomainGetName(ptr);
  const buf = Buffer.alloc(37);
  if (name === null || sym.virDomainGetUUIDString(ptr, buf) < 0) {
    const err = lastError(sym, name === null ? 'virDomainGetName' : 'virDomainGetUUIDString');
    sym.virDomainFree(ptr);
    throw err;
  }
  const handle = nextHandle++;
  domains.set(handle, ptr);
  return { handle, name, uuid: buf.toString('latin1', 0, 36) };
}

function check(rc: number, call: string): void {
  if (rc < 0) throw lastError(sym, call);
}

function text(call: string, value: string | null): string {
  if (value === null) throw lastError(sym, call);
  return value;
}

type ConnCall = (c: Pointer, ...args: never[]) => unknown;
type DomCall = (d: Pointer, ...args: never[]) => unknown;

const connectionCalls: Record<string, ConnCall> = {
  virConnectGetLibVersion: (c) => version(c, 'virConnectGetLibVersion'),
  virConnectGetVersion: (c) => version(c, 'virConnectGetVersion'),
  virConnectGetHostname: (c) => text('virConnectGetHostname', sym.virConnectGetHostname(c)),
  virConnectGetCapabilities: (c) => text('virConnectGetCapabilities', sym.virConnectGetCapabilities(c)),
  virConnectGetDomainCapabilities: (
    c,
    emulatorBin: string | null,
    arch: string | null,
    machine: string | null,
    virttype: string | null,
  ) =>
    text(
      'virConnectGetDomainCapabilities',
      sym.virConnectGetDomainCapabilities(c, emulatorBin, arch, machine, virttype, 0),
    ),
  virDomainLookupByName: (c, name: string) =>
    domainRef('virDomainLookupByName', sym.virDomainLookupByName(c, name)),
  virDomainLookupByUUIDString: (c, uuid: string) =>
    domainRef('virDomainLookupByUUIDString', sym.virDomainLookupByUUIDString(c, uuid)),
  virDomainCreateXML: (c, xml: string) => domainRef('virDomainCreateXML', sym.virDomainCreateXML(c, xml, 0)),
  virDomainDefineXML: (c, xml: string) => domainRef('virDomainDefineXML', sym.virDomainDefineXML(c, xml)),
  virConnectListAllDomains: (c) => listDomainNames(c),
  virConnectIsAlive: (c) => {
    const rc = sym.virConnectIsAlive(c);
    check(rc, 'virConnectIsAlive');
    return rc === 1;
  },
  // The stream's callbacks live in the event-loop worker (libvirt calls them from its loop, on that thread);
  // registering them here keeps every RPC off the loop thread. The stream id rides as libvirt's opaque.
  registerDomainEvents: (c, callbacks: EventCallbacks, streamId: number) => {
    for (const [eventId, cb, name] of [
      [DomainEventId.LIFECYCLE, callbacks.lifecycle, 'lifecycle'],
      [DomainEventId.MIGRATION_ITERATION, callbacks.migrationIteration, 'migration iteration'],
      [DomainEventId.JOB_COMPLETED, callbacks.jobCompleted, 'job completed'],
    ] as const) {
      const cbId = sym.virConnectDomainEventRegisterAny(c, null, eventId, cb, BigInt(streamId), null);
      if (cbId < 0) {
        const err = lastError(sym, `virConnectDomainEventRegisterAny(${name})`);
        deregisterEvents();
        throw err;
      }
      eventCallbackIds.push(cbId);
    }
    return undefined;
  },
  // Test hook: how many domain references this worker holds (see KoffiConnection.debugHandleCount).
  debugHandleCount: () => domains.size,
  // Test hook: blocks this worker in C (libc usleep) as a hung daemon would; see KoffiConnection.debugBlock.
  debugBlock: (_c, ms: number) => {
    const koffi = getKoffi();
    const usleep = koffi.load('libc.so.6').func('int usleep(unsigned int usec)') as (us: number) => number;
    usleep(ms * 1000);
    return undefined;
  },
};

const domainCalls: Record<string, DomCall> = {
  virDomainGetState: (d) => {
    const state: [number] = [0];
    const reason: [number] = [0];
    check(sym.virDomainGetState(d, state, reason, 0), 'virDomainGetState');
    return { state: DOMAIN_STATE_NAMES[state[0]] ?? 'nostate', reason: reason[0] };
  },
  virDomainGetInfo: (d): DomainInfo => {
    const out: [RawDomainInfo] = [{ state: 0, maxMem: 0, memory: 0, nrVirtCpu: 0, cpuTime: 0 }];
    check(sym.virDomainGetInfo(d, out), 'virDomainGetInfo');
    const info = out[0];
    return {
      state: DOMAIN_STATE_NAMES[info.state] ?? 'nostate',
      maxMemoryKiB: toNumber(info.maxMem),
      memoryKiB: toNumber(info.memory),
      vcpus: info.nrVirtCpu,
      cpuTimeNs: toNumber(info.cpuTime),
    };
  },
  virDomainGetBlockInfo: (d, disk: string): BlockInfo => {
    const out: [RawBlockInfo] = [{ capacity: 0, allocation: 0, physical: 0 }];
    check(sym.virDomainGetBlockInfo(d, disk, out, 0), 'virDomainGetBlockInfo');
    return {
      capacity: toNumber(out[0].capacity),
      allocation: toNumber(out[0].allocation),
      physical: toNumber(out[0].physical),
    };
  },
  virDomainGetXMLDesc: (d, flags: number) => text('virDomainGetXMLDesc', sym.virDomainGetXMLDesc(d, flags)),
  virDomainIsActive: (d) => {
    const rc = sym.virDomainIsActive(d);
    check(rc, 'virDomainIsActive');
    return rc === 1;
  },
  virDomainGetJobStats: (d, flags: number) => {
    const type: [number] = [0];
    const params: [Pointer | null] = [null];
    const n: [number] = [0];
    check(sym.virDomainGetJobStats(d, type, params, n, flags), 'virDomainGetJobStats');
    try {
      return decodeJobStats(type[0], decodeTypedParams(params[0], n[0]));
    } finally {
      sym.virTypedParamsFree(params[0], n[0]);
    }
  },
  virDomainMigrateStartPostCopy: (d) =>
    check(sym.virDomainMigrateStartPostCopy(d, 0), 'virDomainMigrateStartPostCopy'),
  virDomainAbortJob: (d) => check(sym.virDomainAbortJob(d), 'virDomainAbortJob'),
  virDomainAbortJobFlags: (d) => {
    const withFlags = sym.virDomainAbortJobFlags;
    if (!withFlags) {
      throw new LibvirtError(
        'virDomainAbortJobFlags',
        LibvirtErrorCode.NO_SUPPORT,
        0,
        'aborting a post-copy migration needs libvirt >= 8.5.0; this libvirt lacks virDomainAbortJobFlags',
      );
    }
    check(withFlags(d, VIR_DOMAIN_ABORT_JOB_POSTCOPY), 'virDomainAbortJobFlags');
  },
  virDomainMigrateSetMaxDowntime: (d, ms: number) =>
    check(sym.virDomainMigrateSetMaxDowntime(d, ms, 0), 'virDomainMigrateSetMaxDowntime'),
  virDomainMigrateSetMaxSpeed: (d, mibps: number, flags: number) =>
    check(sym.virDomainMigrateSetMaxSpeed(d, mibps, flags), 'virDomainMigrateSetMaxSpeed'),
  virDomainSuspend: (d) => check(sym.virDomainSuspend(d), 'virDomainSuspend'),
  virDomainResume: (d) => check(sym.virDomainResume(d), 'virDomainResume'),
  virDomainDestroy: (d) => check(sym.virDomainDestroy(d), 'virDomainDestroy'),
  virDomainUndefine: (d) => check(sym.virDomainUndefine(d), 'virDomainUndefine'),
};

function version(c: Pointer, call: 'virConnectGetLibVersion' | 'virConnectGetVersion'): number {
  const out: [number | bigint] = [0];
  check(sym[call](c, out), call);
  return toNumber(out[0]);
}

function listDomainNames(c: Pointer): string[] {
  const out: [Pointer | null] = [null];
  const n = sym.virConnectListAllDomains(c, out, 0);
  if (n < 0) throw lastError(sym, 'virConnectListAllDomains');
  const array = out[0];
  if (array === null) return [];
  const koffi = getKoffi();
  try {
    const doms = koffi.decode(array, 'void *', n) as Pointer[];
    const names: string[] = [];
    for (const dom of doms) {
      names.push(sym.virDomainGetName(dom) ?? '');
      sym.virDomainFree(dom);
    }
    return names;
  } finally {
    koffi.free(array);
  }
}

/** Whether libvirt still considers the connection usable; only a definite "no" counts as dead. */
function connectionDead(): boolean {
  return conn === null || sym.virConnectIsAlive(conn) === 0;
}

function asLost(err: unknown, call: string): LibvirtError {
  if (err instanceof LibvirtError) return err.withCode('LIBVIRT_CONNECTION_LOST');
  return new LibvirtError(
    call,
    0,
    0,
    `connection to ${data.uri} lost: ${err instanceof Error ? err.message : String(err)}`,
    'LIBVIRT_CONNECTION_LOST',
  );
}

function deregisterEvents(): void {
  // Failures are moot: the connection closes right after, which drops whatever is left.
  if (conn !== null) for (const id of eventCallbackIds) sym.virConnectDomainEventDeregisterAny(conn, id);
  eventCallbackIds.length = 0;
}

function shutdown(): void {
  if (aliveTimer) clearInterval(aliveTimer);
  aliveTimer = undefined;
  deregisterEvents();
  for (const ptr of domains.values()) sym.virDomainFree(ptr);
  domains.clear();
  if (conn !== null) {
    const c = conn;
    conn = null;
    // A positive result only means libvirt still holds references of its own; nothing to do about it here.
    sym.virConnectClose(c);
  }
  // With no port and no timer left, the worker's event loop empties and the thread ends.
  port?.close();
}

function lost(error: LibvirtError): void {
  post({ kind: 'lost', error: toWireError(error) });
  shutdown();
}

function run(req: Extract<ConnectionRequest, { op: 'call' }>): void {
  // Lose the race against the deadline → never start the call.
  if (Atomics.compareExchange(cells, req.cell, Cell.QUEUED, Cell.STARTED) !== Cell.QUEUED) {
    post({ kind: 'skipped', id: req.id });
    return;
  }
  if (conn === null) {
    post({ kind: 'skipped', id: req.id });
    return;
  }
  Atomics.store(cells, CURRENT, req.id);
  try {
    let value: unknown;
    if (req.target === undefined) {
      const fn = connectionCalls[req.method];
      if (!fn) throw new Error(`unknown connection call ${req.method}`);
      value = fn(conn, ...(req.args as never[]));
    } else {
      const fn = domainCalls[req.method];
      const dom = domains.get(req.target);
      if (!fn) throw new Error(`unknown domain call ${req.method}`);
      if (dom === undefined) {
        throw new LibvirtError(req.method, LibvirtErrorCode.INVALID_DOMAIN, 0, 'domain handle was released');
      }
      value = fn(dom, ...(req.args as never[]));
    }
    post({ kind: 'result', id: req.id, value });
  } catch (err) {
    // libvirt reports a dead daemon as an ordinary RPC error ("Cannot recv data", "keepalive timeout");
    // virConnectIsAlive tells it apart from a refusal.
    if (err instanceof LibvirtError && connectionDead()) {
      const error = asLost(err, req.method);
      post({ kind: 'error', id: req.id, error: toWireError(error) });
      lost(error);
      return;
    }
    post({ kind: 'error', id: req.id, error: toWireError(err) });
  } finally {
    Atomics.store(cells, CURRENT, 0);
  }
}

function open(): void {
  sym = loadLibvirt(data.libraryPath);
  // The open deadline runs from here: starting this thread is our cost, not the daemon's.
  post({ kind: 'opening' });
  const call = data.readOnly ? 'virConnectOpenReadOnly' : 'virConnectOpen';
  const ptr = data.readOnly ? sym.virConnectOpenReadOnly(data.uri) : sym.virConnectOpen(data.uri);
  if (ptr === null) throw lastError(sym, call);
  conn = ptr;
  let keepAlive: 'on' | 'off' | 'unsupported' = 'off';
  if (data.keepAlive.intervalSeconds > 0) {
    // 0: started; 1: the daemon does not speak keepalive; -1 with NO_SUPPORT: an in-process driver (test:///,
    // which cannot hang on a daemon). Any other failure (e.g. no event loop registered) is a bug to surface.
    const rc = sym.virConnectSetKeepAlive(ptr, data.keepAlive.intervalSeconds, data.keepAlive.count);
    if (rc < 0) {
      const err = lastError(sym, 'virConnectSetKeepAlive');
      if (err.libvirtCode !== LibvirtErrorCode.NO_SUPPORT) {
        shutdown();
        throw err;
      }
      keepAlive = 'unsupported';
    } else {
      keepAlive = rc === 0 ? 'on' : 'unsupported';
    }
  }
  post({ kind: 'opened', keepAlive });
}

try {
  open();
  // An idle connection learns of its loss only here: keepalive closes it inside the event-loop thread.
  aliveTimer = setInterval(() => {
    if (conn !== null && connectionDead()) {
      lost(
        new LibvirtError(
          'virConnectIsAlive',
          0,
          0,
          `connection to ${data.uri} is no longer alive (daemon gone or keepalive expired)`,
          'LIBVIRT_CONNECTION_LOST',
        ),
      );
    }
  }, data.aliveCheckMs);
  port?.on('message', (req: ConnectionRequest) => {
    if (req.op === 'call') run(req);
    else if (req.op === 'free') {
      const ptr = domains.get(req.handle);
      if (ptr !== undefined) {
        domains.delete(req.handle);
        sym.virDomainFree(ptr);
      }
    } else shutdown();
  });
} catch (err) {
  post({ kind: 'openFailed', error: toWireError(err) });
  port?.close();
}
