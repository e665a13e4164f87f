/**
 * What a connection worker does, whatever calls it answers: opens ONE libvirt connection (`virConnectPtr`)
 * with keepalive, keeps the domains looked up on it under numeric handles, runs the calls the main thread
 * posts, one at a time, synchronously, and turns a failure on a connection libvirt calls dead into a lost
 * connection. The main thread only ever holds numbers (request ids, domain handles); no libvirt pointer
 * crosses the thread boundary. The worker entry (`connection-worker.ts`) passes the production call tables
 * (`connection-calls.ts`); a test worker may add its own calls.
 *
 * See docs/threading.md for the whole model.
 *
 * @module
 */
import type { MessagePort } from 'node:worker_threads';
import { LibvirtError } from '../errors.js';
import { LibvirtErrorCode } from './constants.js';
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
import { toWireError } from './spawn-worker.js';
import { domainIdentity, type LibvirtSymbols, lastError, loadLibvirt, type Pointer } from './symbols.js';

/**
 * The domains a worker holds, by handle: each handle owns one libvirt reference (`virDomainFree` on release).
 *
 * @example
 * ```ts
 * const ref = session.domains.adopt('virDomainLookupByName', sym.virDomainLookupByName(conn, 'test'));
 * ```
 */
export class DomainTable {
  private readonly ptrs = new Map<number, Pointer>();
  private nextHandle = 1;

  constructor(private readonly sym: LibvirtSymbols) {}

  /** Number of references held. */
  get size(): number {
    return this.ptrs.size;
  }

  /**
   * Keeps the domain `call` returned under a new handle, after reading its name and UUID; throws libvirt's
   * error when `call` returned NULL or a read fails (then the reference is freed).
   */
  adopt(call: string, ptr: Pointer | null): DomainRef {
    if (ptr === null) throw lastError(this.sym, call);
    let identity: { uuid: string; name: string };
    try {
      identity = domainIdentity(this.sym, ptr);
    } catch (err) {
      this.sym.virDomainFree(ptr);
      throw err;
    }
    const handle = this.nextHandle++;
    this.ptrs.set(handle, ptr);
    return { handle, ...identity };
  }

  /** The pointer under `handle`; throws `VIR_ERR_INVALID_DOMAIN` when it was released. */
  get(handle: number, call: string): Pointer {
    const ptr = this.ptrs.get(handle);
    if (ptr === undefined) {
      throw new LibvirtError(call, LibvirtErrorCode.INVALID_DOMAIN, 0, 'domain handle was released');
    }
    return ptr;
  }

  release(handle: number): void {
    const ptr = this.ptrs.get(handle);
    if (ptr === undefined) return;
    this.ptrs.delete(handle);
    this.sym.virDomainFree(ptr);
  }

  releaseAll(): void {
    for (const handle of [...this.ptrs.keys()]) this.release(handle);
  }
}

/**
 * One open connection inside its worker: what every call gets.
 *
 * @example
 * ```ts
 * const hostname: ConnectionHandlers<ConnectionMethods>['virConnectGetHostname'] = (s) =>
 *   s.sym.virConnectGetHostname(s.conn) ?? '';
 * ```
 */
export interface Session {
  readonly sym: LibvirtSymbols;
  readonly conn: Pointer;
  readonly uri: string;
  readonly libraryPath: string;
  readonly domains: DomainTable;
  /** libvirt callback ids registered on this connection; deregistered before it closes. */
  readonly eventCallbackIds: number[];
}

/**
 * How a worker answers each call of `M` on its connection: the map's arguments in, the map's result out.
 *
 * @example
 * ```ts
 * const extra: ConnectionHandlers<{ handleCount: Method<[], number> }> = { handleCount: (s) => s.domains.size };
 * ```
 */
export type ConnectionHandlers<M> = {
  [K in keyof M]: (s: Session, ...args: ArgsOf<M, K>) => ResultOf<M, K>;
};

/**
 * How a worker answers each call of {@link DomainMethods} on one of its domains.
 *
 * @example
 * ```ts
 * const resume: DomainHandlers['virDomainResume'] = (s, dom) => check(s, s.sym.virDomainResume(dom), 'virDomainResume');
 * ```
 */
export type DomainHandlers = {
  [K in DomainMethodName]: (
    s: Session,
    dom: Pointer,
    ...args: DomainMethods[K]['args']
  ) => DomainMethods[K]['result'];
};

type AnyHandler = (s: Session, ...args: unknown[]) => unknown;
type AnyDomainHandler = (s: Session, dom: Pointer, ...args: unknown[]) => unknown;

function deregisterEvents(s: Session): void {
  // Failures are moot: the connection closes right after, which drops whatever is left.
  for (const id of s.eventCallbackIds) s.sym.virConnectDomainEventDeregisterAny(s.conn, id);
  s.eventCallbackIds.length = 0;
}

/**
 * Opens the worker's connection with keepalive and serves the main thread's requests on `port` until told to
 * close or the connection is lost. Posts `opening` once libvirt is loaded (the open deadline starts there),
 * then `opened` or `openFailed`.
 *
 * @example
 * ```ts
 * serveConnection(port, data, { connection: connectionCalls, domain: domainCalls });
 * ```
 */
export function serveConnection<M extends ConnectionMethods>(
  port: MessagePort | null,
  data: ConnectionWorkerData,
  handlers: { connection: ConnectionHandlers<M>; domain: DomainHandlers },
): void {
  const cells = new RequestCells(data.cells);
  const post = (msg: ConnectionReply): void => port?.postMessage(msg);
  let session: Session | undefined;
  let aliveTimer: NodeJS.Timeout | undefined;

  /** Whether libvirt still considers the connection usable; only a definite "no" counts as dead. */
  const dead = (): boolean => session === undefined || session.sym.virConnectIsAlive(session.conn) === 0;

  const shutdown = (): void => {
    if (aliveTimer) clearInterval(aliveTimer);
    aliveTimer = undefined;
    if (session !== undefined) {
      const s = session;
      session = undefined;
      deregisterEvents(s);
      s.domains.releaseAll();
      // A positive result only means libvirt still holds references of its own; nothing to do about it here.
      s.sym.virConnectClose(s.conn);
    }
    // With no port and no timer left, the worker's event loop empties and the thread ends.
    port?.close();
  };

  const lost = (error: LibvirtError): void => {
    post({ kind: 'lost', error: toWireError(error) });
    shutdown();
  };

  // libvirt reports a dead daemon as an ordinary RPC error ("Cannot recv data", "keepalive timeout");
  // virConnectIsAlive tells it apart from a refusal.
  const asLost = (err: unknown, call: string): LibvirtError => {
    if (err instanceof LibvirtError) return err.withCode('LIBVIRT_CONNECTION_LOST');
    return new LibvirtError(
      call,
      0,
      0,
      `connection to ${data.uri} lost: ${err instanceof Error ? err.message : String(err)}`,
      'LIBVIRT_CONNECTION_LOST',
    );
  };

  const run = (req: Extract<ConnectionRequest<M>, { op: 'call' | 'domain' }>): void => {
    // Lose the race against the deadline → never start the call.
    if (!cells.start(req.cell) || session === undefined) {
      post({ kind: 'skipped', id: req.id });
      return;
    }
    const s = session;
    cells.enter(req.id);
    try {
      let value: unknown;
      if (req.op === 'call') {
        const fn = (handlers.connection as Record<string, AnyHandler | undefined>)[req.method];
        if (!fn) throw new Error(`unknown connection call ${req.method}`);
        value = fn(s, ...(req.args as unknown[]));
      } else {
        const fn = (handlers.domain as Record<string, AnyDomainHandler | undefined>)[req.method];
        if (!fn) throw new Error(`unknown domain call ${req.method}`);
        value = fn(s, s.domains.get(req.target, req.method), ...(req.args as unknown[]));
      }
      post({ kind: 'result', id: req.id, value });
    } catch (err) {
      if (err instanceof LibvirtError && dead()) {
        const error = asLost(err, req.method);
        post({ kind: 'error', id: req.id, error: toWireError(error) });
        lost(error);
        return;
      }
      post({ kind: 'error', id: req.id, error: toWireError(err) });
    } finally {
      cells.enter(0);
    }
  };

  const open = (): void => {
    const sym = loadLibvirt(data.libraryPath);
    // The open deadline runs from here: starting this thread is our cost, not the daemon's.
    post({ kind: 'opening' });
    const call = data.readOnly ? 'virConnectOpenReadOnly' : 'virConnectOpen';
    const conn = data.readOnly ? sym.virConnectOpenReadOnly(data.uri) : sym.virConnectOpen(data.uri);
    if (conn === null) throw lastError(sym, call);
    session = {
      sym,
      conn,
      uri: data.uri,
      libraryPath: data.libraryPath,
      domains: new DomainTable(sym),
      eventCallbackIds: [],
    };
    let keepAlive: 'on' | 'off' | 'unsupported' = 'off';
    if (data.keepAlive.intervalSeconds > 0) {
      // 0: started; 1: the daemon does not speak keepalive; -1 with NO_SUPPORT: an in-process driver (test:///,
      // which cannot hang on a daemon). Any other failure (e.g. no event loop registered) is a bug to surface.
      const rc = sym.virConnectSetKeepAlive(conn, data.keepAlive.intervalSeconds, data.keepAlive.count);
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
  };

  try {
    open();
    // An idle connection learns of its loss only here: keepalive closes it inside the event-loop thread.
    aliveTimer = setInterval(() => {
      if (session !== undefined && dead()) {
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
    port?.on('message', (req: ConnectionRequest<M>) => {
      if (req.op === 'call' || req.op === 'domain') run(req);
      else if (req.op === 'free') session?.domains.release(req.handle);
      else shutdown();
    });
  } catch (err) {
    post({ kind: 'openFailed', error: toWireError(err) });
    port?.close();
  }
}

/**
 * Throws this thread's last libvirt error when a libvirt call returned a negative status.
 *
 * @example
 * ```ts
 * check(s, s.sym.virDomainSuspend(dom), 'virDomainSuspend');
 * ```
 */
export function check(s: Session, rc: number, call: string): void {
  if (rc < 0) throw lastError(s.sym, call);
}
