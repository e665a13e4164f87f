/**
 * Everything the main thread and the workers say to each other, typed once for both sides: the calls a
 * connection worker answers (one map from name to arguments and result), the messages around them, and the
 * event-loop worker's messages. The main side (`connection.ts`, `events.ts`) and the worker side
 * (`connection-service.ts`, `connection-calls.ts`, `event-worker.ts`) both derive their signatures from
 * these maps, so a misspelt call or a wrong argument does not compile on either side
 * (`test/libvirt/typed-protocol.test.ts`).
 *
 * @module
 */
import type { DomainState } from './constants.js';
import type { WireError } from './spawn-worker.js';
import type {
  BlockInfo,
  DomainInfo,
  JobCompletedEvent,
  JobStats,
  KeepAliveOptions,
  LifecycleEvent,
  MigrateParams,
  MigrationIterationEvent,
} from './types.js';

/**
 * One call of the protocol: the arguments it takes after its target, and what it answers.
 *
 * @example
 * ```ts
 * type Hostname = Method<[], string>;
 * ```
 */
export interface Method<A extends unknown[] = unknown[], R = unknown> {
  args: A;
  result: R;
}

/**
 * What a lookup returns across the boundary: the worker keeps the `virDomainPtr` under `handle`.
 *
 * @example
 * ```ts
 * const ref: DomainRef = { handle: 2, name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f' };
 * ```
 */
export interface DomainRef {
  handle: number;
  name: string;
  uuid: string;
}

/**
 * Typed parameters as libvirt returned them, by field name (a domain's stats record, job stats).
 *
 * @example
 * ```ts
 * const raw: RawParams = { 'dirtyrate.calc_status': 2, 'dirtyrate.calc_mode': 'page-sampling' };
 * ```
 */
export type RawParams = Record<string, number | string | boolean>;

/**
 * Addresses of the event-loop worker's callbacks, for `virConnectDomainEventRegisterAny` in a connection
 * worker (the callbacks must run on the loop's thread, where koffi created them).
 *
 * @example
 * ```ts
 * sym.virConnectDomainEventRegisterAny(conn, null, DomainEventId.LIFECYCLE, callbacks.lifecycle, BigInt(id), null);
 * ```
 */
export interface EventCallbacks {
  lifecycle: bigint;
  migrationIteration: bigint;
  jobCompleted: bigint;
}

/**
 * The calls a connection worker answers on its `virConnectPtr`, by name. A libvirt function's name is the
 * call's name (it names the call in errors and deadlines); the others say what they do.
 *
 * @example
 * ```ts
 * type Lookup = ConnectionMethods['virDomainLookupByName']; // { args: [name: string]; result: DomainRef }
 * ```
 */
export interface ConnectionMethods {
  virConnectGetLibVersion: Method<[], number>;
  virConnectGetVersion: Method<[], number>;
  virConnectGetHostname: Method<[], string>;
  virConnectGetCapabilities: Method<[], string>;
  virConnectGetDomainCapabilities: Method<
    [emulatorBin: string | null, arch: string | null, machine: string | null, virttype: string | null],
    string
  >;
  virDomainLookupByName: Method<[name: string], DomainRef>;
  virDomainLookupByUUIDString: Method<[uuid: string], DomainRef>;
  virDomainCreateXML: Method<[xml: string], DomainRef>;
  virDomainDefineXML: Method<[xml: string], DomainRef>;
  /** Names of all domains. */
  virConnectListAllDomains: Method<[], string[]>;
  virConnectIsAlive: Method<[], boolean>;
  /** Registers the loop worker's callbacks on this connection, with the stream's id as libvirt's opaque. */
  registerDomainEvents: Method<[callbacks: EventCallbacks, streamId: number], void>;
}

/**
 * The calls a connection worker answers on one of its `virDomainPtr`s (the request's `target` handle).
 *
 * @example
 * ```ts
 * type Speed = DomainMethods['virDomainMigrateSetMaxSpeed']; // { args: [mibps: number, flags: number]; … }
 * ```
 */
export interface DomainMethods {
  virDomainGetState: Method<[], { state: DomainState; reason: number }>;
  virDomainGetInfo: Method<[], DomainInfo>;
  virDomainGetBlockInfo: Method<[disk: string], BlockInfo>;
  virDomainGetXMLDesc: Method<[flags: number], string>;
  virDomainIsActive: Method<[], boolean>;
  virDomainGetJobStats: Method<[flags: number], JobStats>;
  virDomainMigrateStartPostCopy: Method<[], void>;
  virDomainAbortJob: Method<[], void>;
  /** With `VIR_DOMAIN_ABORT_JOB_POSTCOPY`. */
  virDomainAbortJobFlags: Method<[], void>;
  virDomainMigrateSetMaxDowntime: Method<[ms: number], void>;
  virDomainMigrateSetMaxSpeed: Method<[mibps: number, flags: number], void>;
  virDomainSuspend: Method<[], void>;
  virDomainResume: Method<[], void>;
  virDomainDestroy: Method<[], void>;
  virDomainUndefine: Method<[], void>;
  /** Blocks its worker for the whole migration: sent on a connection of its own, without a deadline. */
  virDomainMigrateToURI3: Method<[destUri: string, params: MigrateParams, flags: number], void>;
  /** `flags`: a `VIR_DOMAIN_DIRTYRATE_MODE_*` value. */
  virDomainStartDirtyRateCalc: Method<[seconds: number, flags: number], void>;
  /** The domain's stats record for the `VIR_DOMAIN_STATS_*` groups in `stats`. */
  virDomainListGetStats: Method<[stats: number, flags: number], RawParams>;
}

/**
 * A name of {@link ConnectionMethods}.
 *
 * @example
 * ```ts
 * const call: ConnectionMethodName = 'virConnectGetHostname';
 * ```
 */
export type ConnectionMethodName = keyof ConnectionMethods;

/**
 * A name of {@link DomainMethods}.
 *
 * @example
 * ```ts
 * const call: DomainMethodName = 'virDomainGetState';
 * ```
 */
export type DomainMethodName = keyof DomainMethods;

/**
 * The arguments of call `K` of the map `M`.
 *
 * @example
 * ```ts
 * type A = ArgsOf<ConnectionMethods, 'virDomainLookupByName'>; // [name: string]
 * ```
 */
export type ArgsOf<M, K extends keyof M> = M[K] extends Method<infer A, unknown> ? A : never;

/**
 * The result of call `K` of the map `M`.
 *
 * @example
 * ```ts
 * type R = ResultOf<ConnectionMethods, 'virDomainLookupByName'>; // DomainRef
 * ```
 */
export type ResultOf<M, K extends keyof M> = M[K] extends Method<unknown[], infer R> ? R : never;

/**
 * The calls of `M` as requests; `op: 'call'` on the connection, `op: 'domain'` on the handle `target`.
 *
 * @example
 * ```ts
 * const req: CallRequest<ConnectionMethods> = { op: 'call', id: 7, cell: 3, method: 'virDomainLookupByName', args: ['test'] };
 * ```
 */
export type CallRequest<M> = {
  [K in keyof M & string]: { op: 'call'; id: number; cell: number; method: K; args: ArgsOf<M, K> };
}[keyof M & string];

/**
 * A call on one of the worker's domain handles.
 *
 * @example
 * ```ts
 * const req: DomainRequest = { op: 'domain', id: 8, cell: 4, target: 2, method: 'virDomainGetState', args: [] };
 * ```
 */
export type DomainRequest = {
  [K in DomainMethodName]: {
    op: 'domain';
    id: number;
    cell: number;
    target: number;
    method: K;
    args: DomainMethods[K]['args'];
  };
}[DomainMethodName];

/**
 * Main → connection worker.
 *
 * @example
 * ```ts
 * worker.postMessage({ op: 'domain', id: 7, cell: 3, target: 2, method: 'virDomainGetState', args: [] });
 * ```
 */
export type ConnectionRequest<M = ConnectionMethods> =
  | CallRequest<M>
  | DomainRequest
  | { op: 'free'; handle: number }
  | { op: 'close' };

/**
 * Connection worker → main. A result's value is the `result` type of the request's method.
 *
 * @example
 * ```ts
 * port.postMessage({ kind: 'result', id: 7, value: { state: 'running', reason: 1 } });
 * ```
 */
export type ConnectionReply =
  | { kind: 'opening' }
  | { kind: 'opened'; keepAlive: 'on' | 'off' | 'unsupported' }
  | { kind: 'openFailed'; error: WireError }
  | { kind: 'result'; id: number; value: unknown }
  | { kind: 'error'; id: number; error: WireError }
  | { kind: 'skipped'; id: number }
  | { kind: 'lost'; error: WireError };

/**
 * What the main thread hands a connection worker.
 *
 * @example
 * ```ts
 * spawnWorker('connection-worker', { libraryPath, uri, readOnly: false, keepAlive, cells, aliveCheckMs: 500 });
 * ```
 */
export interface ConnectionWorkerData {
  libraryPath: string;
  uri: string;
  readOnly: boolean;
  keepAlive: KeepAliveOptions;
  /** The request cells (`request-cells.ts`). */
  cells: SharedArrayBuffer;
  /** How often an idle worker asks `virConnectIsAlive`, in ms. */
  aliveCheckMs: number;
}

/**
 * What the event-loop host hands the event-loop worker.
 *
 * @example
 * ```ts
 * spawnWorker('event-worker', { libraryPath: 'libvirt.so.0', control: new SharedArrayBuffer(4) });
 * ```
 */
export interface EventWorkerData {
  libraryPath: string;
  /** Int32Array view: [0] stop flag set by the parent once no user is left. */
  control: SharedArrayBuffer;
}

/**
 * Event-loop worker → main. Events carry the id of the stream they are for; `id` 0 is the loop itself.
 *
 * @example
 * ```ts
 * port.postMessage({ kind: 'migrationIteration', id: 3, event: { domainUuid, domainName, iteration: 2 } });
 * ```
 */
export type EventLoopMessage =
  | { kind: 'loop'; timer: number; callbacks: EventCallbacks }
  | { kind: 'lifecycle'; id: number; event: LifecycleEvent }
  | { kind: 'migrationIteration'; id: number; event: MigrationIterationEvent }
  | { kind: 'jobCompleted'; id: number; event: JobCompletedEvent }
  | { kind: 'error'; id: number; error: WireError; fatal?: boolean };
