/**
 * {@link DomainEventStream}s and the process's one libvirt event loop (`event-worker`, see that file for
 * why one), started with the first user (a connection's lease or a stream) and ended with the last.
 *
 * A stream is a connection of its own (a `connection-worker` thread, with deadlines, keepalive and loss
 * detection) on which the event-loop worker's callbacks are registered; libvirt runs them on the loop's
 * thread, which posts the events here, tagged with the stream's id.
 *
 * @module
 */
import type { Worker } from 'node:worker_threads';
import { LibvirtError } from '../errors.js';
import type { ConnectionChannel } from './channel.js';
import type { EventCallbacks, EventLoopMessage, EventWorkerData } from './protocol.js';
import { fromWireError, spawnWorker } from './spawn-worker.js';
import type { LibvirtSymbols } from './symbols.js';
import type {
  DomainEventStream,
  JobCompletedEvent,
  LifecycleEvent,
  MigrationIterationEvent,
} from './types.js';

type EventName = 'lifecycle' | 'migrationIteration' | 'jobCompleted' | 'error';

/**
 * The shared loop worker, the streams it serves and the leases connections hold on it (keepalive needs the
 * loop running for as long as any connection is open).
 */
class EventLoopHost {
  readonly streams = new Map<number, WorkerEventStream>();
  /** Resolves once the worker registered libvirt's default event implementation and runs the loop. */
  readonly running: Promise<EventCallbacks>;
  private leases = 0;
  private readonly control = new SharedArrayBuffer(4);
  private readonly exited: Promise<void>;
  private worker: Worker | undefined;
  private timer = -1;
  private stopping = false;
  private markRunning!: (callbacks: EventCallbacks) => void;
  private failRunning!: (err: Error) => void;

  constructor(
    private readonly sym: LibvirtSymbols,
    previous: Promise<void>,
  ) {
    this.running = new Promise<EventCallbacks>((resolve, reject) => {
      this.markRunning = resolve;
      this.failRunning = reject;
    });
    this.running.catch(() => {});
    // Two threads running libvirt's default loop deadlock: never start before the previous worker is gone.
    this.exited = previous.then(
      () =>
        new Promise<void>((resolve) => {
          const data: EventWorkerData = { libraryPath: sym.libraryPath, control: this.control };
          const worker = spawnWorker('event-worker', data);
          this.worker = worker;
          worker.on('message', (msg: EventLoopMessage) => this.dispatch(msg));
          worker.on('error', (err) => this.failAll(err));
          worker.once('exit', () => {
            this.failAll(new Error('the event loop worker exited'));
            resolve();
          });
          // After the listeners: attaching them refs the worker's port again.
          this.updateRef();
        }),
    );
  }

  /** Users of the loop: streams plus connection leases. */
  get users(): number {
    return this.streams.size + this.leases;
  }

  lease(): void {
    this.leases++;
  }

  unlease(): void {
    this.leases--;
  }

  /** @internal Resolves when the worker thread has ended (for the next host to start after it). */
  get gone(): Promise<void> {
    return this.exited;
  }

  // Streams deliver events the program waits for, so they keep the process alive like a socket would, and so
  // does starting (someone awaits `running`); connections alone must not (an idle, forgotten connection
  // should not hold the process open).
  updateRef(): void {
    if (!this.worker) return;
    if ((this.streams.size > 0 || this.timer < 0) && !this.stopping) this.worker.ref();
    else this.worker.unref();
  }

  // Fires the worker's timer now, so it returns from virEventRunDefaultImpl and sees the stop flag. This one
  // libvirt call on the main thread only touches the local loop's timer list, never a daemon.
  private wake(): void {
    if (this.timer >= 0) this.sym.virEventUpdateTimeout(this.timer, 0);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    Atomics.store(new Int32Array(this.control), 0, 1);
    this.updateRef();
    this.wake();
    await this.exited;
  }

  private dispatch(msg: EventLoopMessage): void {
    if (msg.kind === 'loop') {
      this.timer = msg.timer;
      this.updateRef();
      this.markRunning(msg.callbacks);
      return;
    }
    if (msg.kind === 'error' && msg.id === 0) {
      const err = fromWireError(msg.error);
      if (msg.fatal) this.failAll(err);
      else for (const s of this.streams.values()) s.receive('error', err);
      return;
    }
    if (msg.kind !== 'error') this.streams.get(msg.id)?.deliver(msg.kind, msg.event);
  }

  private failAll(err: Error): void {
    this.failRunning(err);
    for (const s of this.streams.values()) s.fail(err);
  }
}

const hosts = new Map<string, EventLoopHost>();
// The last host that stopped, per library: the next one starts only once its worker has ended.
const lastGone = new Map<string, Promise<void>>();
let nextId = 1;

function hostFor(sym: LibvirtSymbols): EventLoopHost {
  let host = hosts.get(sym.libraryPath);
  if (!host) {
    host = new EventLoopHost(sym, lastGone.get(sym.libraryPath) ?? Promise.resolve());
    hosts.set(sym.libraryPath, host);
  }
  return host;
}

// Forget the host before it stops, so a user arriving meanwhile starts a fresh worker (after this one ends).
function releaseHost(host: EventLoopHost, libraryPath: string): Promise<void> {
  if (host.users > 0 || hosts.get(libraryPath) !== host) return Promise.resolve();
  hosts.delete(libraryPath);
  lastGone.set(libraryPath, host.gone);
  return host.stop();
}

/**
 * Number of event-loop worker threads alive in this process; for tests.
 *
 * @example
 * ```ts
 * await conn.close();
 * activeEventLoopWorkers(); // 0 once no connection or stream is left
 * ```
 */
export function activeEventLoopWorkers(): number {
  return hosts.size;
}

/**
 * Takes a lease on the process's libvirt event loop, starting its worker if needed, and resolves once
 * `virEventRegisterDefaultImpl` has run there, so that connections opened afterwards get working
 * keepalive. Call the returned function exactly once when the connection is gone.
 *
 * @example
 * ```ts
 * const release = await leaseEventLoop(loadLibvirt());
 * try { // open a connection in a worker, use it, close it
 * } finally { await release(); }
 * ```
 */
export async function leaseEventLoop(sym: LibvirtSymbols): Promise<() => Promise<void>> {
  const host = hostFor(sym);
  host.lease();
  let released = false;
  const release = (): Promise<void> => {
    if (released) return Promise.resolve();
    released = true;
    host.unlease();
    return releaseHost(host, sym.libraryPath);
  };
  try {
    await host.running;
  } catch (err) {
    await release();
    throw err;
  }
  return release;
}

/**
 * One event stream; created by `LibvirtConnection.events()`.
 *
 * @example
 * ```ts
 * const stream = conn.events().on('lifecycle', (e) => console.log(e.eventName));
 * await stream.ready;
 * ```
 */
export class WorkerEventStream implements DomainEventStream {
  readonly ready: Promise<void>;
  private readonly id = nextId++;
  private readonly listeners = new Map<EventName, ((payload: never) => void)[]>();
  private readonly host: EventLoopHost;
  private readonly libraryPath: string;
  private conn: ConnectionChannel | undefined;
  private failed = false;
  private closing: Promise<void> | undefined;

  /**
   * @internal `open` opens the stream's own connection (same URI, options and keepalive as the one
   * `events()` was called on).
   */
  constructor(sym: LibvirtSymbols, open: () => Promise<ConnectionChannel>) {
    this.libraryPath = sym.libraryPath;
    const host = hostFor(sym);
    this.host = host;
    host.streams.set(this.id, this);
    host.updateRef();
    this.ready = this.start(open);
    // Callers that only listen for 'error' must not crash the process with an unhandled rejection.
    this.ready.catch((err: Error) => this.fail(err));
  }

  private async start(open: () => Promise<ConnectionChannel>): Promise<void> {
    const callbacks = await this.host.running;
    const conn = await open();
    this.conn = conn;
    void conn.closed.then((c) => {
      if (c.reason === 'lost' && !this.closing) {
        this.fail(
          c.error instanceof LibvirtError
            ? c.error
            : new LibvirtError(
                'events',
                0,
                0,
                'the event stream’s connection was lost',
                'LIBVIRT_CONNECTION_LOST',
              ),
        );
      }
    });
    if (this.closing) throw new Error('the event stream was closed before it was ready');
    await conn.call('registerDomainEvents', [callbacks, this.id]);
  }

  on(event: 'lifecycle', cb: (e: LifecycleEvent) => void): this;
  on(event: 'migrationIteration', cb: (e: MigrationIterationEvent) => void): this;
  on(event: 'jobCompleted', cb: (e: JobCompletedEvent) => void): this;
  on(event: 'error', cb: (err: Error) => void): this;
  on(event: EventName, cb: (payload: never) => void): this {
    const list = this.listeners.get(event) ?? [];
    list.push(cb);
    this.listeners.set(event, list);
    return this;
  }

  /** @internal One event from the loop, addressed to this stream. */
  deliver(kind: Exclude<EventName, 'error'>, event: unknown): void {
    if (!this.closing && !this.failed) this.receive(kind, event);
  }

  /** @internal The stream cannot work any more (could not open or register, connection lost, loop died). */
  fail(err: Error): void {
    if (this.failed || this.closing) return;
    this.failed = true;
    this.receive('error', err);
    void this.close();
  }

  /** @internal */
  receive(event: EventName, payload: unknown): void {
    const list = this.listeners.get(event);
    if (!list?.length) {
      if (event === 'error') process.emitWarning(payload as Error);
      return;
    }
    for (const cb of list) (cb as (p: unknown) => void)(payload);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // `ready` settles within the connection's deadline at worst (open and register have one).
      await this.ready.catch(() => {});
      // Closing the connection deregisters the callbacks (in its worker) before virConnectClose.
      await this.conn?.close();
      this.host.streams.delete(this.id);
      this.host.updateRef();
      await releaseHost(this.host, this.libraryPath);
    })();
    return this.closing;
  }
}
