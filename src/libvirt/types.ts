/**
 * The backend-neutral interface of the libvirt binding. Nothing here mentions koffi, so a compiled addon
 * can implement it later without changing callers.
 *
 * @module
 */
import type { DomainState } from './constants.js';

/** Options of {@link LibvirtBackend.open}. */
export interface OpenOptions {
  /** Use `virConnectOpenReadOnly` (enough for monitoring and events). */
  readOnly?: boolean;
}

/**
 * Something that can open libvirt connections.
 *
 * @example
 * ```ts
 * const conn = koffiBackend().open('qemu:///system');
 * ```
 */
export interface LibvirtBackend {
  /** Opens a connection (`virConnectOpen`, or `virConnectOpenReadOnly`); throws `LibvirtError` on failure. */
  open(uri: string, options?: OpenOptions): LibvirtConnection;
}

/** Arguments of `virConnectGetDomainCapabilities`; omitted ones let libvirt pick its defaults. */
export interface DomainCapabilitiesOptions {
  emulatorBin?: string;
  arch?: string;
  machine?: string;
  virttype?: string;
}

/**
 * One open libvirt connection (`virConnectPtr`). Calls are synchronous RPCs on the calling thread.
 *
 * @example
 * ```ts
 * const conn = openConnection('test:///default');
 * console.log(conn.hostname(), conn.lookupDomainByName('test').state());
 * conn.close();
 * ```
 */
export interface LibvirtConnection {
  readonly uri: string;
  /** `virConnectGetLibVersion`: major * 1e6 + minor * 1e3 + micro. */
  libVersion(): number;
  /** `virConnectGetVersion`: the hypervisor's version, same encoding. */
  hypervisorVersion(): number;
  /** `virConnectGetHostname`. */
  hostname(): string;
  /** Host capabilities XML. */
  capabilities(): string;
  /** Domain capabilities XML. */
  domainCapabilities(options?: DomainCapabilitiesOptions): string;
  /** `virDomainLookupByName`; `LibvirtError` code 42 when there is no such domain. */
  lookupDomainByName(name: string): LibvirtDomain;
  /** Looks up by the UUID's string form. */
  lookupDomainByUUID(uuid: string): LibvirtDomain;
  /** Starts a transient domain (`virDomainCreateXML`). */
  createDomainXML(xml: string): LibvirtDomain;
  /** Defines a persistent domain without starting it. */
  defineDomainXML(xml: string): LibvirtDomain;
  /** Names of all domains, active and inactive (`virConnectListAllDomains`). */
  listDomainNames?(): string[];
  /** `virConnectIsAlive`: false once the daemon went away. */
  isAlive(): boolean;
  /** Closes the connection; later calls are no-ops. */
  close(): void;
  /** Opens a domain event stream on its own connection to {@link uri}. */
  events(): DomainEventStream;
}

/**
 * A domain (`virDomainPtr`). The native reference is released when this object is garbage-collected.
 *
 * @example
 * ```ts
 * const dom = conn.lookupDomainByName('test');
 * dom.suspend();
 * console.log(dom.state()); // { state: 'paused', reason: 1 }
 * ```
 */
export interface LibvirtDomain {
  readonly connection: LibvirtConnection;
  /** `virDomainGetName`. */
  name(): string;
  /** `virDomainGetUUIDString`. */
  uuid(): string;
  /** `virDomainGetState`; `reason` is the state-specific `virDomain*Reason` number. */
  state(): { state: DomainState; reason: number };
  /** `virDomainGetXMLDesc`. */
  xml(flags?: number): string;
  /** `virDomainIsActive`: running or paused, as opposed to shut off. */
  isActive(): boolean;
  /** `virDomainGetJobStats` of the current job, or of the last completed one with `completed`. */
  jobStats(options?: JobStatsOptions): JobStats;
  /** `virDomainMigrateStartPostCopy`: switch a running POSTCOPY-enabled migration to post-copy. */
  startPostCopy(): void;
  /** `virDomainAbortJob`, or `virDomainAbortJobFlags(VIR_DOMAIN_ABORT_JOB_POSTCOPY)` with `postcopy`. */
  abortJob(options?: { postcopy?: boolean }): void;
  /** `virDomainMigrateSetMaxDowntime`, in milliseconds. */
  setMaxDowntime(ms: number): void;
  /** `virDomainMigrateSetMaxSpeed`, in MiB/s; `postcopy` sets the post-copy phase's limit. */
  setMaxSpeed(mibps: number, options?: { postcopy?: boolean }): void;
  /** `virDomainSuspend`: pause the vCPUs. */
  suspend(): void;
  /** `virDomainResume`. */
  resume(): void;
  /** `virDomainDestroy`: hard stop. */
  destroy(): void;
  /** `virDomainUndefine`: forget a persistent domain's config. */
  undefine(): void;
  /**
   * Runs `virDomainMigrateToURI3` in a worker thread with its own connection (opened to
   * `connection.uri`, domain looked up by UUID), so neither the main thread nor libuv's pool blocks.
   * Resolves when libvirt returns 0; rejects with a `LibvirtError` carrying libvirt's code, domain and message.
   */
  migrateToURI3(destUri: string, params: MigrateParams, flags: number): Promise<void>;
}

/** Options of {@link LibvirtDomain.jobStats}. */
export interface JobStatsOptions {
  /** Stats of the last completed job (`VIR_DOMAIN_JOB_STATS_COMPLETED`). */
  completed?: boolean;
  /** Leave completed stats in place for the next reader (`VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED`). */
  keepCompleted?: boolean;
}

/**
 * Typed parameters of `virDomainMigrateToURI3`; each maps to one libvirt field.
 *
 * @example
 * ```ts
 * const params: MigrateParams = { bandwidth: 1000, autoConvergeInitial: 20, migrateDisks: ['vda'] };
 * ```
 */
export interface MigrateParams {
  /** `migrate_uri` (string). */
  migrateUri?: string;
  /** `destination_name` (string). */
  destinationName?: string;
  /** `destination_xml` (string). */
  destinationXml?: string;
  /** `persistent_xml` (string). */
  persistentXml?: string;
  /** `bandwidth` in MiB/s (ullong). */
  bandwidth?: number;
  /** `migrate_disks`, one string parameter per disk target. */
  migrateDisks?: string[];
  /** `parallel.connections` (int). */
  parallelConnections?: number;
  /** `auto_converge.initial` in percent (int). */
  autoConvergeInitial?: number;
  /** `auto_converge.increment` in percent (int). */
  autoConvergeIncrement?: number;
  /** `bandwidth.postcopy` in MiB/s (ullong). */
  bandwidthPostcopy?: number;
  /** `tls.destination` (string). */
  tlsDestination?: string;
}

/** `virDomainJobType` as a name. */
export type JobType = 'none' | 'bounded' | 'unbounded' | 'completed' | 'failed' | 'cancelled';

/**
 * Decoded `virDomainGetJobStats` result; fields libvirt did not return are `undefined`.
 *
 * @example
 * ```ts
 * const s = dom.jobStats();
 * if (s.type === 'unbounded') console.log(s.memoryRemaining, s.memoryIteration);
 * ```
 */
export interface JobStats {
  type: JobType;
  operation?: number;
  timeElapsed?: number;
  timeRemaining?: number;
  downtime?: number;
  setupTime?: number;
  dataTotal?: number;
  dataProcessed?: number;
  dataRemaining?: number;
  memoryTotal?: number;
  memoryProcessed?: number;
  memoryRemaining?: number;
  memoryConstant?: number;
  memoryNormal?: number;
  memoryBps?: number;
  memoryDirtyRate?: number;
  memoryIteration?: number;
  memoryPostcopyRequests?: number;
  memoryPageSize?: number;
  autoConvergeThrottle?: number;
  diskTotal?: number;
  diskProcessed?: number;
  diskRemaining?: number;
  /** `errmsg`. */
  errorMessage?: string;
  /** Every parameter as libvirt returned it, by libvirt's field name. */
  raw: Record<string, number | string | boolean>;
}

/** A domain lifecycle event (`VIR_DOMAIN_EVENT_ID_LIFECYCLE`). */
export interface LifecycleEvent {
  domainUuid: string;
  domainName: string;
  /** `virDomainEventType`, see `DomainEvent`. */
  event: number;
  /** `defined`, `suspended`, ... */
  eventName: string;
  /** Event-specific detail, e.g. `DomainEventSuspendedDetail.POSTCOPY`. */
  detail: number;
}

/** A migration iteration event (`VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION`). */
export interface MigrationIterationEvent {
  domainUuid: string;
  domainName: string;
  iteration: number;
}

/** A job completed event (`VIR_DOMAIN_EVENT_ID_JOB_COMPLETED`). */
export interface JobCompletedEvent {
  domainUuid: string;
  domainName: string;
  stats: JobStats;
}

/**
 * Domain events received on the stream's own connection to the same URI. libvirt's event loop runs
 * synchronously in a worker thread; it is process-wide, so one such worker serves all open streams and
 * ends with the last one.
 *
 * @example
 * ```ts
 * const events = conn.events().on('lifecycle', (e) => console.log(e.domainName, e.eventName, e.detail));
 * await events.ready;
 * // ...
 * await events.close();
 * ```
 */
export interface DomainEventStream {
  /** Lifecycle changes (started, suspended for post-copy, resumed, stopped, ...). */
  on(event: 'lifecycle', cb: (e: LifecycleEvent) => void): this;
  /** A new pre-copy pass started. */
  on(event: 'migrationIteration', cb: (e: MigrationIterationEvent) => void): this;
  /** A job (a migration) ended, with its final statistics. */
  on(event: 'jobCompleted', cb: (e: JobCompletedEvent) => void): this;
  /** The event loop or its connection failed. */
  on(event: 'error', cb: (err: Error) => void): this;
  /** Resolves once the callbacks are registered with libvirt; rejects if the worker could not get there. */
  ready: Promise<void>;
  /** Stops the loop, deregisters, closes the worker's connection and ends the worker. */
  close(): Promise<void>;
}
