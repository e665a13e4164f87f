/**
 * {@link LibvirtConnection} and {@link LibvirtBackend} over koffi: the main-thread side. Each connection is
 * a `connection-worker` thread that owns the `virConnectPtr`; this side only posts requests, keeps their
 * deadlines and settles their promises. See docs/threading.md.
 *
 * @module
 */
import type { Worker } from 'node:worker_threads';
import { LibvirtError } from '../errors.js';
import type { ChannelCallOptions, ConnectionChannel, DomainChannel } from './channel.js';
import { LibvirtErrorCode } from './constants.js';
import { KoffiDomain } from './domain.js';
import { leaseEventLoop, WorkerEventStream } from './events.js';
import type {
  ArgsOf,
  ConnectionMethods,
  ConnectionReply,
  ConnectionRequest,
  ConnectionWorkerData,
  DomainMethodName,
  DomainMethods,
  DomainRef,
  ResultOf,
} from './protocol.js';
import { RequestCells } from './request-cells.js';
import { fromWireError, spawnWorker, type WorkerName } from './spawn-worker.js';
import { DEFAULT_LIBRARY, type LibvirtSymbols, loadLibvirt } from './symbols.js';
import type {
  CallOptions,
  ConnectionClosed,
  DomainCapabilitiesOptions,
  DomainEventStream,
  KeepAliveOptions,
  LibvirtBackend,
  LibvirtConnection,
  LibvirtDomain,
  OpenOptions,
} from './types.js';

/**
 * Default deadline of every call, in ms.
 *
 * @example
 * ```ts
 * await openConnection(uri, { callTimeoutMs: DEFAULT_CALL_TIMEOUT_MS * 2 });
 * ```
 */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
/**
 * libvirt's own keepalive defaults (virsh, libvirt-python): a probe every 5 s, dead after 5 unanswered.
 *
 * @example
 * ```ts
 * await openConnection(uri, { keepAlive: { ...DEFAULT_KEEPALIVE, count: 3 } });
 * ```
 */
export const DEFAULT_KEEPALIVE: Readonly<KeepAliveOptions> = Object.freeze({ intervalSeconds: 5, count: 5 });
/** How often an idle connection worker asks `virConnectIsAlive` (a local check, no RPC). */
const ALIVE_CHECK_MS = 500;
/** Requests in flight per connection (queued or running); beyond that the worker is evidently stuck. */
const MAX_IN_FLIGHT = 1024;
// setTimeout's limit; a longer deadline would fire at once.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

interface Pending {
  call: string;
  cell: number;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

function checkTimeout(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0 || value > MAX_TIMEOUT_MS) {
    throw new RangeError(`${name} must be an integer number of ms in 1..${MAX_TIMEOUT_MS}, got ${value}`);
  }
  return value;
}

function checkKeepAlive(k: KeepAliveOptions): KeepAliveOptions {
  if (!Number.isSafeInteger(k.intervalSeconds) || k.intervalSeconds > 2 ** 31 - 1) {
    throw new RangeError(`keepAlive.intervalSeconds must be an integer, got ${k.intervalSeconds}`);
  }
  if (!Number.isSafeInteger(k.count) || k.count < 0 || k.count > 2 ** 32 - 1) {
    throw new RangeError(`keepAlive.count must be a non-negative integer, got ${k.count}`);
  }
  return { intervalSeconds: k.intervalSeconds, count: k.count };
}

/**
 * koffi-backed connection; obtain one from {@link koffiBackend} or {@link openConnection}. `C` is the map of
 * calls its worker answers: {@link ConnectionMethods}, or more for a test's own worker.
 *
 * @example
 * ```ts
 * const conn = await openConnection('test:///default', { callTimeoutMs: 5000 });
 * console.log(await conn.libVersion({ timeoutMs: 1000 }));
 * await conn.close();
 * ```
 */
export class KoffiConnection<C extends ConnectionMethods = ConnectionMethods>
  implements LibvirtConnection, DomainChannel
{
  readonly closed: Promise<ConnectionClosed>;
  /** Whether libvirt keepalive runs on this connection (`unsupported`: an in-process driver or old daemon). */
  keepAliveState: 'on' | 'off' | 'unsupported' = 'off';
  private resolveClosed!: (c: ConnectionClosed) => void;
  private state: 'opening' | 'open' | 'closing' | 'closed' = 'opening';
  private readonly pending = new Map<number, Pending>();
  private readonly cells = new RequestCells(RequestCells.allocate(MAX_IN_FLIGHT));
  private readonly freeCells: number[] = [];
  private nextId = 1;
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private closing: Promise<void> | undefined;

  /** @internal Use {@link koffiBackend}`().open()`. */
  constructor(
    private readonly sym: LibvirtSymbols,
    readonly uri: string,
    readonly readOnly: boolean,
    readonly callTimeoutMs: number,
    readonly keepAlive: KeepAliveOptions,
    release: () => Promise<void>,
    entry: WorkerName | URL = 'connection-worker',
  ) {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    for (let i = MAX_IN_FLIGHT; i >= 1; i--) this.freeCells.push(i);
    const data: ConnectionWorkerData = {
      libraryPath: sym.libraryPath,
      uri,
      readOnly,
      keepAlive,
      cells: this.cells.buffer,
      aliveCheckMs: ALIVE_CHECK_MS,
    };
    this.worker = spawnWorker(entry, data);
    this.worker.unref();
    this.worker.on('message', (msg: ConnectionReply) => this.receive(msg));
    this.worker.on('error', (err) => this.markLost(err));
    this.exited = new Promise<void>((resolve) => {
      this.worker.once('exit', () => {
        this.markLost(new Error('the connection worker exited'));
        void release().then(resolve, resolve);
      });
    });
  }

  /**
   * @internal Resolves once the worker opened the connection; rejects with libvirt's error, or when
   * `virConnectOpen` outlasts the deadline (counted from the worker's start of the call, not from spawning it).
   */
  opened(): Promise<void> {
    const call = this.readOnly ? 'virConnectOpenReadOnly' : 'virConnectOpen';
    return new Promise<void>((resolve, reject) => {
      this.worker.ref();
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.openWaiter = undefined;
        this.worker.unref();
      };
      this.openWaiter = {
        startDeadline: () => {
          timer = setTimeout(() => {
            // libvirt has no open timeout; the worker ends once virConnectOpen returns, closing what it got.
            const detail = 'the connection was not opened; it is closed if it opens later';
            this.openWaiter?.reject(this.timeoutError(call, this.callTimeoutMs, detail));
            void this.close();
          }, this.callTimeoutMs);
        },
        resolve: () => {
          done();
          resolve();
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
    });
  }

  private openWaiter: { startDeadline(): void; resolve(): void; reject(err: Error): void } | undefined;

  get open(): boolean {
    return this.state === 'open';
  }

  private receive(msg: ConnectionReply): void {
    switch (msg.kind) {
      case 'opening':
        this.openWaiter?.startDeadline();
        return;
      case 'opened':
        this.keepAliveState = msg.keepAlive;
        if (this.state === 'opening') this.state = 'open';
        this.openWaiter?.resolve();
        return;
      case 'openFailed':
        this.openWaiter?.reject(fromWireError(msg.error));
        this.finish({ reason: 'closed' });
        return;
      case 'lost':
        this.markLost(fromWireError(msg.error));
        return;
      default: {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        this.freeCell(p);
        if (p.settled) return;
        this.settle(p);
        if (msg.kind === 'result') p.resolve(msg.value);
        else if (msg.kind === 'skipped') p.reject(this.lostError(p.call));
        else {
          const err = fromWireError(msg.error);
          // The worker's 'lost' message follows; whoever sees this rejection must already see `open` false.
          if (err instanceof LibvirtError && err.code === 'LIBVIRT_CONNECTION_LOST') this.markLost(err);
          p.reject(err);
        }
      }
    }
  }

  private freeCell(p: Pending): void {
    this.cells.free(p.cell);
    this.freeCells.push(p.cell);
  }

  private settle(p: Pending): void {
    p.settled = true;
    if (p.timer) clearTimeout(p.timer);
    if (![...this.pending.values()].some((q) => !q.settled)) this.worker.unref();
  }

  private lostError(call: string): LibvirtError {
    return new LibvirtError(
      call,
      LibvirtErrorCode.INVALID_CONN,
      0,
      `connection to ${this.uri} is ${this.state === 'closed' || this.state === 'closing' ? 'closed' : 'lost'}`,
      'LIBVIRT_CONNECTION_LOST',
    );
  }

  private timeoutError(call: string, ms: number, detail: string): LibvirtError {
    return new LibvirtError(
      call,
      0,
      0,
      `no answer within the ${ms} ms deadline on ${this.uri} (the daemon may be hung): ${detail}`,
      'LIBVIRT_TIMEOUT',
    );
  }

  // The connection is unusable: settle everything still waiting, once.
  private markLost(error: Error): void {
    if (this.state === 'closed') return;
    const wasClosing = this.state === 'closing';
    this.state = 'closed';
    this.openWaiter?.reject(error);
    for (const p of this.pending.values()) {
      if (p.settled) continue;
      // Told it failed, the caller must not see it happen later (a worker stuck in C resumes its queue).
      this.cells.cancel(p.cell);
      this.settle(p);
      p.reject(
        error instanceof LibvirtError && error.code === 'LIBVIRT_CONNECTION_LOST'
          ? new LibvirtError(p.call, error.libvirtCode, error.libvirtDomain, error.libvirtMessage, error.code)
          : this.lostError(p.call),
      );
    }
    this.finish(wasClosing ? { reason: 'closed' } : { reason: 'lost', error });
  }

  private finish(c: ConnectionClosed): void {
    this.state = 'closed';
    this.resolveClosed(c);
  }

  /**
   * @internal Posts one call of `C` to the worker, to run on the connection. Its name names it in errors.
   */
  call<K extends keyof C & string>(
    method: K,
    args: ArgsOf<C, K>,
    options?: ChannelCallOptions,
  ): Promise<ResultOf<C, K>> {
    return this.send(method, { op: 'call' }, args, options);
  }

  /** @internal Posts one call to the worker, to run on the domain behind `target`. */
  callDomain<K extends DomainMethodName>(
    target: number,
    method: K,
    args: DomainMethods[K]['args'],
    options?: ChannelCallOptions,
  ): Promise<DomainMethods[K]['result']> {
    return this.send(method, { op: 'domain', target }, args, options);
  }

  // The one place a reply's value meets its method's result type: the worker's table for `method` made it.
  private send<R>(
    method: string,
    on: { op: 'call' } | { op: 'domain'; target: number },
    args: unknown[],
    options: ChannelCallOptions | undefined,
  ): Promise<R> {
    if (this.state !== 'open') return Promise.reject(this.lostError(method));
    let timeoutMs: number | undefined;
    try {
      timeoutMs = options?.noDeadline
        ? undefined
        : checkTimeout('timeoutMs', options?.timeoutMs ?? this.callTimeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
    const cell = this.freeCells.pop();
    if (cell === undefined) {
      return Promise.reject(
        this.timeoutError(
          method,
          timeoutMs ?? this.callTimeoutMs,
          `not started: ${MAX_IN_FLIGHT} calls are already waiting on this connection`,
        ),
      );
    }
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      const p: Pending = {
        call: method,
        cell,
        settled: false,
        timer: undefined,
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      if (timeoutMs !== undefined) {
        const ms = timeoutMs;
        p.timer = setTimeout(() => this.expire(p, ms), ms);
      }
      this.pending.set(id, p);
      this.cells.queue(cell);
      this.worker.ref();
      this.worker.postMessage({ ...on, id, cell, method, args });
    });
  }

  private expire(p: Pending, ms: number): void {
    if (p.settled) return;
    let what: string;
    if (this.cells.cancel(p.cell)) {
      const running = this.pending.get(this.cells.running());
      what = `never started, and never will: queued behind ${running ? running.call : 'another call'}, still running`;
    } else {
      what = 'the call was started and may still complete in libvirt';
    }
    // The cell stays taken until the worker answers for this request: it may still be writing it.
    this.settle(p);
    p.reject(this.timeoutError(p.call, ms, what));
  }

  /** @internal Drops the worker's reference to a domain (called when a KoffiDomain is garbage-collected). */
  releaseHandle(handle: number): void {
    if (this.state === 'open' || this.state === 'closing') this.worker.postMessage({ op: 'free', handle });
  }

  private domain(ref: DomainRef): LibvirtDomain {
    return new KoffiDomain(this, this, ref);
  }

  /** @internal Another connection like this one; see {@link ConnectionChannel.reopen}. */
  reopen(): Promise<ConnectionChannel> {
    const { uri, readOnly, callTimeoutMs, keepAlive } = this;
    return openKoffiConnection(this.sym, uri, { readOnly, callTimeoutMs, keepAlive });
  }

  libVersion(options?: CallOptions): Promise<number> {
    return this.builtin('virConnectGetLibVersion', [], options);
  }

  hypervisorVersion(options?: CallOptions): Promise<number> {
    return this.builtin('virConnectGetVersion', [], options);
  }

  hostname(options?: CallOptions): Promise<string> {
    return this.builtin('virConnectGetHostname', [], options);
  }

  capabilities(options?: CallOptions): Promise<string> {
    return this.builtin('virConnectGetCapabilities', [], options);
  }

  domainCapabilities(options: DomainCapabilitiesOptions & CallOptions = {}): Promise<string> {
    const { emulatorBin = null, arch = null, machine = null, virttype = null } = options;
    return this.builtin('virConnectGetDomainCapabilities', [emulatorBin, arch, machine, virttype], options);
  }

  async lookupDomainByName(name: string, options?: CallOptions): Promise<LibvirtDomain> {
    return this.domain(await this.builtin('virDomainLookupByName', [name], options));
  }

  async lookupDomainByUUID(uuid: string, options?: CallOptions): Promise<LibvirtDomain> {
    return this.domain(await this.builtin('virDomainLookupByUUIDString', [uuid], options));
  }

  async createDomainXML(xml: string, options?: CallOptions): Promise<LibvirtDomain> {
    return this.domain(await this.builtin('virDomainCreateXML', [xml], options));
  }

  async defineDomainXML(xml: string, options?: CallOptions): Promise<LibvirtDomain> {
    return this.domain(await this.builtin('virDomainDefineXML', [xml], options));
  }

  listDomainNames(options?: CallOptions): Promise<string[]> {
    return this.builtin('virConnectListAllDomains', [], options);
  }

  isAlive(options?: CallOptions): Promise<boolean> {
    if (this.state !== 'open') return Promise.resolve(false);
    return this.builtin('virConnectIsAlive', [], options);
  }

  // The production calls, typed by ConnectionMethods whatever `C` adds.
  private builtin<K extends keyof ConnectionMethods>(
    method: K,
    args: ConnectionMethods[K]['args'],
    options?: CallOptions,
  ): Promise<ConnectionMethods[K]['result']> {
    return this.send(method, { op: 'call' }, args, options);
  }

  /**
   * Closes the connection: calls already queued still run, then the worker closes the `virConnectPtr` and
   * ends. Waits at most the connection's deadline for that; a worker stuck inside libvirt is then left to
   * finish on its own (unref'd, so it does not keep the process alive).
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.state === 'closed') return;
      this.state = 'closing';
      this.worker.postMessage({ op: 'close' } satisfies ConnectionRequest);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.callTimeoutMs);
      });
      const outcome = await Promise.race([this.exited.then(() => 'exited' as const), deadline]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        this.worker.unref();
        this.markLost(
          this.timeoutError(
            'virConnectClose',
            this.callTimeoutMs,
            'the worker is still inside libvirt; it ends when libvirt returns',
          ),
        );
        // No terminate(): the 'close' request is queued, so once libvirt returns the worker still frees its
        // domains and closes the connection properly, then ends.
      }
    })();
    return this.closing;
  }

  events(): DomainEventStream {
    if (this.state !== 'open') throw this.lostError('events');
    return new WorkerEventStream(this.sym, () => this.reopen());
  }
}

/**
 * @internal Opens a connection whose worker is `entry`: this directory's `connection-worker`, or a test's
 * own worker file that serves more calls (`C`).
 *
 * @example
 * ```ts
 * const conn = await openKoffiConnection(loadLibvirt(), 'test:///default', {});
 * ```
 */
export async function openKoffiConnection<C extends ConnectionMethods = ConnectionMethods>(
  sym: LibvirtSymbols,
  uri: string,
  options: OpenOptions,
  entry: WorkerName | URL = 'connection-worker',
): Promise<KoffiConnection<C>> {
  const callTimeoutMs = checkTimeout('callTimeoutMs', options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
  const keepAlive = checkKeepAlive(options.keepAlive ?? DEFAULT_KEEPALIVE);
  const release = await leaseEventLoop(sym);
  const readOnly = options.readOnly ?? false;
  const conn = new KoffiConnection<C>(sym, uri, readOnly, callTimeoutMs, keepAlive, release, entry);
  await conn.opened();
  return conn;
}

/**
 * Options of {@link koffiBackend}.
 *
 * @example
 * ```ts
 * const backend = koffiBackend({ libraryPath: '/opt/libvirt/lib/libvirt.so.0' });
 * ```
 */
export interface KoffiBackendOptions {
  /** Shared library to load instead of `libvirt.so.0`. */
  libraryPath?: string;
}

/**
 * The koffi backend. Loads libvirt on the first `open()`, not before; `open()` rejects with
 * `LibvirtUnavailableError` there if it cannot.
 *
 * @example
 * ```ts
 * const conn = await koffiBackend().open('test:///default', { readOnly: true });
 * ```
 */
export function koffiBackend(options: KoffiBackendOptions = {}): LibvirtBackend {
  const libraryPath = options.libraryPath ?? DEFAULT_LIBRARY;
  return {
    async open(uri: string, openOptions: OpenOptions = {}): Promise<LibvirtConnection> {
      // Loading runs virInitialize, no RPC; it is here so a missing library fails before any thread starts.
      return openKoffiConnection(loadLibvirt(libraryPath), uri, openOptions);
    },
  };
}

/**
 * Opens a connection with the default koffi backend.
 *
 * @example
 * ```ts
 * const conn = await openConnection('qemu:///system', { keepAlive: { intervalSeconds: 5, count: 5 } });
 * try { console.log(await conn.libVersion()); } finally { await conn.close(); }
 * ```
 */
export function openConnection(uri: string, options?: OpenOptions): Promise<LibvirtConnection> {
  return koffiBackend().open(uri, options);
}
