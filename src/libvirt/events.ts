/**
 * {@link DomainEventStream}s, all served by one shared `event-worker` thread per process (see that file
 * for why), started with the first stream and ended when the last one closes.
 *
 * @module
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { EventLoopCommand, EventWorkerData } from './event-worker.js';
import { fromWireError, spawnWorker, type WireError } from './spawn-worker.js';
import type { LibvirtSymbols } from './symbols.js';
import type {
  DomainEventStream,
  JobCompletedEvent,
  KeepAliveOptions,
  LifecycleEvent,
  MigrationIterationEvent,
} from './types.js';

type EventName = 'lifecycle' | 'migrationIteration' | 'jobCompleted' | 'error';

type WorkerMessage =
  | { kind: 'loop'; timer: number }
  | { kind: 'ready' | 'closed'; id: number }
  | { kind: 'lifecycle' | 'migrationIteration' | 'jobCompleted'; id: number; event: unknown }
  | { kind: 'error'; id: number; error: WireError; fatal?: boolean };

/**
 * The shared loop worker, the streams it serves and the leases connections hold on it (keepalive needs the
 * loop running for as long as any connection is open).
 */
class EventLoopHost {
  readonly streams = new Map<number, WorkerEventStream>();
  /** Resolves once the worker registered libvirt's default event implementation and runs the loop. */
  readonly running: Promise<void>;
  private leases = 0;
  private readonly port: MessagePort;
  private readonly control = new SharedArrayBuffer(4);
  private readonly exited: Promise<void>;
  private worker: Worker | undefined;
  private timer = -1;
  private stopping = false;
  private markRunning!: () => void;
  private failRunning!: (err: Error) => void;

  constructor(
    private readonly sym: LibvirtSymbols,
    previous: Promise<void>,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    // Only ever posted to; whether the process stays alive is the worker's ref (updateRef), not this port's.
    port1.unref();
    this.running = new Promise<void>((resolve, reject) => {
      this.markRunning = resolve;
      this.failRunning = reject;
    });
    this.running.catch(() => {});
    // Two threads running libvirt's default loop deadlock: never start before the previous worker is gone.
    this.exited = previous.then(
      () =>
        new Promise<void>((resolve) => {
          const data: EventWorkerData = {
            libraryPath: sym.libraryPath,
            control: this.control,
            commands: port2,
          };
          const worker = spawnWorker('event-worker', data, [port2]);
          this.worker = worker;
          worker.on('message', (msg: WorkerMessage) => this.dispatch(msg));
          worker.on('error', (err) => this.failAll(err));
          worker.once('exit', () => {
            this.port.close();
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

  send(cmd: EventLoopCommand): void {
    this.port.postMessage(cmd);
    this.wake();
  }

  // Fires the worker's timer now, so it returns from virEventRunDefaultImpl and reads its commands. This one
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

  private dispatch(msg: WorkerMessage): void {
    if (msg.kind === 'loop') {
      this.timer = msg.timer;
      this.updateRef();
      this.markRunning();
      return;
    }
    if (msg.kind === 'error' && msg.id === 0) {
      const err = fromWireError(msg.error);
      if (msg.fatal) this.failAll(err);
      else for (const s of this.streams.values()) s.receive('error', err);
      return;
    }
    this.streams.get(msg.id)?.handle(msg);
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

/** Number of event-loop worker threads alive in this process; for tests. */
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

/** One event stream; created by `LibvirtConnection.events()`. */
export class WorkerEventStream implements DomainEventStream {
  readonly ready: Promise<void>;
  private readonly id = nextId++;
  private readonly listeners = new Map<EventName, ((payload: never) => void)[]>();
  private readonly host: EventLoopHost;
  private readonly libraryPath: string;
  private resolveReady!: () => void;
  private rejectReady!: (err: Error) => void;
  private resolveClosed!: () => void;
  private readonly closed = new Promise<void>((resolve) => {
    this.resolveClosed = resolve;
  });
  private closing: Promise<void> | undefined;

  constructor(sym: LibvirtSymbols, uri: string, readOnly: boolean, keepAlive: KeepAliveOptions) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Callers that only listen for 'error' must not crash the process with an unhandled rejection.
    this.ready.catch(() => {});
    this.libraryPath = sym.libraryPath;
    const host = hostFor(sym);
    this.host = host;
    host.streams.set(this.id, this);
    host.updateRef();
    host.send({ op: 'open', id: this.id, uri, readOnly, keepAlive });
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

  /** @internal Routes one worker message addressed to this stream. */
  handle(msg: WorkerMessage): void {
    switch (msg.kind) {
      case 'ready':
        this.resolveReady();
        return;
      case 'closed':
        this.resolveClosed();
        return;
      case 'error': {
        const err = fromWireError(msg.error);
        if (msg.fatal) this.fail(err);
        else this.receive('error', err);
        return;
      }
      case 'loop':
        return;
      default:
        if (!this.closing) this.receive(msg.kind, msg.event);
    }
  }

  /** @internal The stream cannot work (could not open, or the worker died). */
  fail(err: Error): void {
    this.rejectReady(err);
    this.resolveClosed();
    if (!this.closing) this.receive('error', err);
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
      this.host.send({ op: 'close', id: this.id });
      await this.closed;
      this.host.streams.delete(this.id);
      this.host.updateRef();
      await releaseHost(this.host, this.libraryPath);
    })();
    return this.closing;
  }
}
