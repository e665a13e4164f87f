/**
 * What a domain and an event stream need of their connection, as interfaces: `domain.ts` and `events.ts`
 * depend on these, `connection.ts` implements them, so none of the three imports another's class.
 *
 * @module
 */
import type {
  ArgsOf,
  ConnectionMethodName,
  ConnectionMethods,
  DomainMethodName,
  DomainMethods,
  ResultOf,
} from './protocol.js';
import type { CallOptions, ConnectionClosed, KeepAliveOptions } from './types.js';

/**
 * Per-call options inside the binding: a call may go without a deadline (a migration, which may rightly take
 * hours; keepalive still ends it when the daemon stops answering).
 *
 * @example
 * ```ts
 * channel.callDomain(handle, 'virDomainMigrateToURI3', [dest, params, flags], { noDeadline: true });
 * ```
 */
export interface ChannelCallOptions extends CallOptions {
  noDeadline?: boolean;
}

/**
 * The calls on a connection's domain handles: what a {@link LibvirtDomain} needs.
 *
 * @example
 * ```ts
 * const state = await channel.callDomain(handle, 'virDomainGetState', []);
 * ```
 */
export interface DomainChannel {
  readonly uri: string;
  /** The deadline of each call unless it gives its own, in ms. */
  readonly callTimeoutMs: number;
  /** False once closed or lost. */
  readonly open: boolean;
  callDomain<K extends DomainMethodName>(
    target: number,
    method: K,
    args: DomainMethods[K]['args'],
    options?: ChannelCallOptions,
  ): Promise<DomainMethods[K]['result']>;
  /** Drops the worker's reference behind `handle` (its domain object was garbage-collected). */
  releaseHandle(handle: number): void;
  /**
   * Opens another connection like this one (same URI, read-only flag, deadline, keepalive and library), for
   * work that must neither wait behind this connection's queue nor hold it: a migration, an event stream.
   */
  reopen(): Promise<ConnectionChannel>;
}

/**
 * A whole connection, as a migration or an event stream drives its own.
 *
 * @example
 * ```ts
 * const own = await channel.reopen();
 * const ref = await own.call('virDomainLookupByUUIDString', [uuid]);
 * ```
 */
export interface ConnectionChannel extends DomainChannel {
  readonly closed: Promise<ConnectionClosed>;
  readonly keepAlive: KeepAliveOptions;
  call<K extends ConnectionMethodName>(
    method: K,
    args: ArgsOf<ConnectionMethods, K>,
    options?: ChannelCallOptions,
  ): Promise<ResultOf<ConnectionMethods, K>>;
  close(): Promise<void>;
}
