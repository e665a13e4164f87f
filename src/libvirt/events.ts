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
  LifecycleEvent,
  MigrationIterationEvent,
} from './types.js';

type EventName = 'lifecycle' | 'migrationIteration' | 'jobCompleted' | 'error';

type WorkerMessage =
  | { kind: 'loop'; timer: number }
  | { kind: 'ready' | 'closed'; id: number }
  | { kind: 'lifecycle' | 'migrationIteration' | 'jobCompleted'; id: number; event: unknown }
  | { kind: 'error'; id: number; error: WireError; fatal?: boolean };

/** The shared loop worker and the streams it serves. */
class EventLoopHost {
  readonly streams = new Map<number, WorkerEventStream>();
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly control = new SharedArrayBuffer(4);
  private readonly exited: Promise<void>;
  private timer = -1;

  constructor(private readonly sym: LibvirtSymbols) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: EventWorkerData = { libraryPath: sym.libraryPath, control: this.control, commands: port2 };
    this.worker = spawnWorker('event-worker', data, [port2]);
    this.worker.on('message', (msg: WorkerMessage) => this.dispatch(msg));
    this.worker.on('error', (err) => this.failAll(err));
    this.exited = new Promise<void>((resolve) => {
      this.worker.once('exit', () => {
        this.port.close();
        this.failAll(new Error('the event loop worker exited'));
        resolve();
      });
    });
  }

  send(cmd: EventLoopCommand): void {
    this.port.postMessage(cmd);
    this.wake();
  }

  // Fires the worker's timer now, so it returns from virEventRunDefaultImpl and reads its commands.
  private wake(): void {
    if (this.timer >= 0) this.sym.virEventUpdateTimeout(this.timer, 0);
  }

  async stop(): Promise<void> {
    Atomics.store(new Int32Array(this.control), 0, 1);
    this.wake();
    await this.exited;
  }

  private dispatch(msg: WorkerMessage): void {
    if (msg.kind === 'loop') {
      this.timer = msg.timer;
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
    for (const s of this.streams.values()) s.fail(err);
  }
}

const hosts = new Map<string, EventLoopHost>();
let nextId = 1;

/** Number of event-loop worker threads alive in this process; for tests. */
export function activeEventLoopWorkers(): number {
  return hosts.size;
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

  constructor(sym: LibvirtSymbols, uri: string, readOnly: boolean) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Callers that only listen for 'error' must not crash the process with an unhandled rejection.
    this.ready.catch(() => {});
    this.libraryPath = sym.libraryPath;
    let host = hosts.get(sym.libraryPath);
    if (!host) {
      host = new EventLoopHost(sym);
      hosts.set(sym.libraryPath, host);
    }
    this.host = host;
    host.streams.set(this.id, this);
    host.send({ op: 'open', id: this.id, uri, readOnly });
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
      if (this.host.streams.size === 0 && hosts.get(this.libraryPath) === this.host) {
        // Forget the host before it stops so a stream opened meanwhile starts a fresh worker.
        hosts.delete(this.libraryPath);
        await this.host.stop();
      }
    })();
    return this.closing;
  }
}
