/**
 * Worker entry: runs libvirt's default event loop, synchronously, for the whole process.
 *
 * libvirt's default event loop is process-wide: two threads running it would dispatch each other's koffi
 * callbacks across threads and deadlock (observed with two streams). So one such worker runs it for
 * everyone. It is what makes libvirt's keepalive work for every connection of the process: connections are
 * opened only after this worker has called `virEventRegisterDefaultImpl` (see docs/threading.md).
 *
 * It also owns the domain event callbacks. libvirt dispatches events from a timer of this loop, so the
 * callbacks run on this thread, where koffi created them; but the connections they are registered on live
 * in connection workers, which register them by address (`EventCallbacks`) with the stream's id as opaque.
 * This thread therefore makes no RPC at all: a hung daemon cannot stall the loop.
 *
 * The loop never returns to Node's event loop; the stop flag is read between iterations, which a 200 ms
 * timer bounds; the parent fires that timer to stop sooner. Messages posted to the parent carry the
 * stream `id` (see `EventLoopMessage`).
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DOMAIN_EVENT_NAMES, DomainJobType } from './constants.js';
import { decodeJobStats } from './job-stats.js';
import type { EventCallbacks, EventLoopMessage, EventWorkerData } from './protocol.js';
import { toWireError } from './spawn-worker.js';
import {
  domainIdentity,
  getKoffi,
  type LibvirtSymbols,
  lastError,
  loadLibvirt,
  type Pointer,
} from './symbols.js';
import { decodeTypedParams } from './typed-params.js';

/**
 * How often the loop wakes on its own to look at the stop flag, in ms.
 *
 * @example
 * ```ts
 * sym.virEventAddTimeout(POLL_MS, timerCb, null, null);
 * ```
 */
export const POLL_MS = 200;

const data = workerData as EventWorkerData;
const control = new Int32Array(data.control);
const post = (msg: EventLoopMessage): void => parentPort?.postMessage(msg);

// Inside a callback a failed read must not lose the event: names stay empty rather than throw.
function eventDomain(sym: LibvirtSymbols, dom: Pointer): { domainUuid: string; domainName: string } {
  const { uuid, name } = domainIdentity(sym, dom, true);
  return { domainUuid: uuid, domainName: name };
}

function run(): void {
  const koffi = getKoffi();
  const sym = loadLibvirt(data.libraryPath);
  // Must precede opening any connection that wants keepalive or events.
  if (sym.virEventRegisterDefaultImpl() < 0) throw lastError(sym, 'virEventRegisterDefaultImpl');

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
          ...eventDomain(sym, dom),
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
        event: { ...eventDomain(sym, dom), iteration },
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
          ...eventDomain(sym, dom),
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

  try {
    timer = sym.virEventAddTimeout(POLL_MS, timerCb, null, null);
    if (timer < 0) throw lastError(sym, 'virEventAddTimeout');
    const callbacks: EventCallbacks = {
      lifecycle: BigInt(koffi.address(lifecycleCb)),
      migrationIteration: BigInt(koffi.address(iterationCb)),
      jobCompleted: BigInt(koffi.address(completedCb)),
    };
    post({ kind: 'loop', timer, callbacks });
    while (Atomics.load(control, 0) === 0) {
      if (sym.virEventRunDefaultImpl() < 0) throw lastError(sym, 'virEventRunDefaultImpl');
    }
  } finally {
    if (timer >= 0) sym.virEventRemoveTimeout(timer);
    for (const cb of [lifecycleCb, iterationCb, completedCb, timerCb]) koffi.unregister(cb);
  }
}

try {
  run();
} catch (err) {
  post({ kind: 'error', id: 0, error: toWireError(err), fatal: true });
}
