/**
 * Worker entry: runs libvirt's default event loop synchronously and hosts one connection per event stream.
 *
 * libvirt's default event loop is process-wide: two threads running it would dispatch each other's koffi
 * callbacks across threads and deadlock (observed with two streams). So one such worker serves every
 * stream of the process, each stream keeping its own connection.
 *
 * The loop never returns to Node's event loop, so commands (`open` / `close` a stream) are pulled with
 * `receiveMessageOnPort` between iterations; the parent fires the worker's timer to make it look sooner.
 * Messages posted to the parent carry the stream `id` (see `EventLoopMessage`).
 *
 * This loop is also what makes libvirt's keepalive work for every connection of the process (connection
 * workers, migration workers): they wait until it has called `virEventRegisterDefaultImpl` before opening
 * (see docs/threading.md).
 *
 * @module
 */
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { LibvirtError } from '../errors.js';
import { DOMAIN_EVENT_NAMES, DomainEventId, DomainJobType, LibvirtErrorCode } from './constants.js';
import { decodeJobStats } from './job-stats.js';
import { toWireError } from './spawn-worker.js';
import { getKoffi, type LibvirtSymbols, lastError, loadLibvirt, type Pointer } from './symbols.js';
import { decodeTypedParams } from './typed-params.js';
import type { KeepAliveOptions } from './types.js';

/** What the event-loop host hands this worker. */
export interface EventWorkerData {
  libraryPath: string;
  /** Int32Array view: [0] stop flag set by the parent once no stream is left. */
  control: SharedArrayBuffer;
  /** Where the parent sends {@link EventLoopCommand}s. */
  commands: MessagePort;
}

/** Parent → worker. */
export type EventLoopCommand =
  | { op: 'open'; id: number; uri: string; readOnly: boolean; keepAlive: KeepAliveOptions }
  | { op: 'close'; id: number };

/** How often the loop wakes on its own to look for commands and the stop flag. */
export const POLL_MS = 200;

const data = workerData as EventWorkerData;
const control = new Int32Array(data.control);
const post = (msg: unknown): void => parentPort?.postMessage(msg);

interface Stream {
  conn: Pointer;
  callbackIds: number[];
}

function domainIdentity(sym: LibvirtSymbols, dom: Pointer): { domainUuid: string; domainName: string } {
  const buf = Buffer.alloc(37);
  sym.virDomainGetUUIDString(dom, buf);
  return { domainUuid: buf.toString('latin1', 0, 36), domainName: sym.virDomainGetName(dom) ?? '' };
}

function run(): void {
  const koffi = getKoffi();
  const sym = loadLibvirt(data.libraryPath);
  // Must precede opening any connection that wants events.
  if (sym.virEventRegisterDefaultImpl() < 0) throw lastError(sym, 'virEventRegisterDefaultImpl');

  const streams = new Map<number, Stream>();
  // The stream id travels as libvirt's opaque pointer, so one set of callbacks serves every stream.
  const streamId = (opaque: Pointer | null): number => Number(opaque ?? 0n);

  // Callbacks run on this thread inside virEventRunDefaultImpl; a throw there would unwind through C.
  const guard =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): number => {
      try {
        fn(...args);
      } catch (err) {
        post({ kind: 'error', id: 0, error: toWireError(err) });
      }
      return 0;
    };

  const lifecycleCb = koffi.register(
    guard((_c: Pointer, dom: Pointer, event: number, detail: number, opaque: Pointer | null) =>
      post({
        kind: 'lifecycle',
        id: streamId(opaque),
        event: {
          ...domainIdentity(sym, dom),
          event,
          eventName: DOMAIN_EVENT_NAMES[event] ?? 'unknown',
          detail,
        },
      }),
    ),
    koffi.pointer(koffi.proto('int evLifecycle(void *conn, void *dom, int event, int detail, void *opaque)')),
  );
  const iterationCb = koffi.register(
    guard((_c: Pointer, dom: Pointer, iteration: number, opaque: Pointer | null) =>
      post({
        kind: 'migrationIteration',
        id: streamId(opaque),
        event: { ...domainIdentity(sym, dom), iteration },
      }),
    ),
    koffi.pointer(koffi.proto('void evIteration(void *conn, void *dom, int iteration, void *opaque)')),
  );
  const completedCb = koffi.register(
    guard((_c: Pointer, dom: Pointer, params: Pointer | null, n: number, opaque: Pointer | null) =>
      post({
        kind: 'jobCompleted',
        id: streamId(opaque),
        // libvirt frees params after the callback, so decode now; this event only fires for completed jobs.
        event: {
          ...domainIdentity(sym, dom),
          stats: decodeJobStats(DomainJobType.COMPLETED, decodeTypedParams(params, n)),
        },
      }),
    ),
    koffi.pointer(koffi.proto('void evCompleted(void *conn, void *dom, void *params, int n, void *opaque)')),
  );
  let timer = -1;
  // Re-arms the poll period after the parent fired the timer with a 0 ms timeout to wake the loop.
  const timerCb = koffi.register(
    () => sym.virEventUpdateTimeout(timer, POLL_MS),
    koffi.pointer(koffi.proto('void evTimeout(int timer, void *opaque)')),
  );

  const closeStream = (id: number): void => {
    const stream = streams.get(id);
    if (!stream) return;
    streams.delete(id);
    for (const cbId of stream.callbackIds) sym.virConnectDomainEventDeregisterAny(stream.conn, cbId);
    sym.virConnectClose(stream.conn);
  };

  const openStream = (id: number, uri: string, readOnly: boolean, keepAlive: KeepAliveOptions): void => {
    const conn = readOnly ? sym.virConnectOpenReadOnly(uri) : sym.virConnectOpen(uri);
    if (conn === null) throw lastError(sym, readOnly ? 'virConnectOpenReadOnly' : 'virConnectOpen');
    const stream: Stream = { conn, callbackIds: [] };
    streams.set(id, stream);
    // Without keepalive a stream on a hung daemon would wait forever, silently; NO_SUPPORT is an in-process
    // driver (test:///), which has no daemon to lose.
    if (
      keepAlive.intervalSeconds > 0 &&
      sym.virConnectSetKeepAlive(conn, keepAlive.intervalSeconds, keepAlive.count) < 0
    ) {
      const err = lastError(sym, 'virConnectSetKeepAlive');
      if (err.libvirtCode !== LibvirtErrorCode.NO_SUPPORT) {
        closeStream(id);
        throw err;
      }
    }
    for (const [eventId, cb, name] of [
      [DomainEventId.LIFECYCLE, lifecycleCb, 'lifecycle'],
      [DomainEventId.MIGRATION_ITERATION, iterationCb, 'migration iteration'],
      [DomainEventId.JOB_COMPLETED, completedCb, 'job completed'],
    ] as const) {
      const cbId = sym.virConnectDomainEventRegisterAny(conn, null, eventId, cb, BigInt(id), null);
      if (cbId < 0) {
        const err = lastError(sym, `virConnectDomainEventRegisterAny(${name})`);
        closeStream(id);
        throw err;
      }
      stream.callbackIds.push(cbId);
    }
  };

  const drainCommands = (): void => {
    for (let m = receiveMessageOnPort(data.commands); m; m = receiveMessageOnPort(data.commands)) {
      const cmd = m.message as EventLoopCommand;
      if (cmd.op === 'close') {
        closeStream(cmd.id);
        post({ kind: 'closed', id: cmd.id });
        continue;
      }
      try {
        openStream(cmd.id, cmd.uri, cmd.readOnly, cmd.keepAlive);
        post({ kind: 'ready', id: cmd.id });
      } catch (err) {
        post({ kind: 'error', id: cmd.id, error: toWireError(err), fatal: true });
      }
    }
  };

  // Keepalive (or the daemon's exit) closes a stream's connection inside this loop; report it, as nothing
  // else would: the stream would just stay silent.
  const dropDeadStreams = (): void => {
    for (const [id, stream] of streams) {
      if (sym.virConnectIsAlive(stream.conn) !== 0) continue;
      closeStream(id);
      const error = new LibvirtError(
        'virConnectIsAlive',
        0,
        0,
        'the event stream’s connection is no longer alive (daemon gone or keepalive expired)',
        'LIBVIRT_CONNECTION_LOST',
      );
      post({ kind: 'error', id, error: toWireError(error), fatal: true });
    }
  };

  try {
    timer = sym.virEventAddTimeout(POLL_MS, timerCb, null, null);
    if (timer < 0) throw lastError(sym, 'virEventAddTimeout');
    post({ kind: 'loop', timer });
    drainCommands();
    while (Atomics.load(control, 0) === 0) {
      if (sym.virEventRunDefaultImpl() < 0) throw lastError(sym, 'virEventRunDefaultImpl');
      drainCommands();
      dropDeadStreams();
    }
  } finally {
    for (const id of [...streams.keys()]) closeStream(id);
    if (timer >= 0) sym.virEventRemoveTimeout(timer);
    for (const cb of [lifecycleCb, iterationCb, completedCb, timerCb]) koffi.unregister(cb);
  }
}

try {
  run();
} catch (err) {
  post({ kind: 'error', id: 0, error: toWireError(err), fatal: true });
}
