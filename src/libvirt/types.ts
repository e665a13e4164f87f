/**
 * The backend-neutral interface of the libvirt binding. Nothing here mentions koffi, so a compiled addon
 * can implement it later without changing callers.
 *
 * @module
 */
import type { DirtyRateMode, DomainState } from './constants.js';

/** libvirt's keepalive (`virConnectSetKeepAlive`): a daemon silent for `interval × count` seconds is dead. */
export interface KeepAliveOptions {
  /** Seconds between keepalive probes; 0 or less turns keepalive off. libvirt's default: 5. */
  intervalSeconds: number;
  /** Unanswered probes before the connection is closed. libvirt's default: 5. */
  count: number;
}

/** Options of {@link LibvirtBackend.open}. */
export interface OpenOptions {
  /** Use `virConnectOpenReadOnly` (enough for monitoring and events). */
  readOnly?: boolean;
  /**
   * Deadline of each call on this connection, in ms, unless the call gives its own. A call still running
   * then rejects with `LibvirtError` code `LIBVIRT_TIMEOUT`. Default 30,000. Opening has the same deadline.
   */
  callTimeoutMs?: number;
  /** Keepalive of this connection. Default `{ intervalSeconds: 5, count: 5 }`. */
  keepAlive?: KeepAliveOptions;
}

/** Per-call options: every call takes them as its last argument. */
export interface CallOptions {
  /** This call's deadline in ms, instead of the connection's `callTimeoutMs`. */
  timeoutMs?: number;
}

/** Why a connection closed. */
export interface ConnectionClosed {
  /** `closed`: by {@link LibvirtConnection.close}; `lost`: the daemon went away or keepalive expired. */
  reason: 'closed' | 'lost';
  /** The error that revealed the loss, when there was one. */
  error?: Error;
}

/**
 * Something that can open libvirt connections.
 *
 * @example
 * ```ts
 * const conn = await koffiBackend().open('qemu:///system');
 * ```
 */
export interface LibvirtBackend {
  /**
   * Opens a connection (`virConnectOpen`, or `virConnectOpenReadOnly`) off the main thread; rejects with
   * `LibvirtError` on failure or when the deadline passes.
   */
  open(uri: string, options?: OpenOptions): Promise<LibvirtConnection>;
}

/** Arguments of `virConnectGetDomainCapabilities`; omitted ones let libvirt pick its defaults. */
export interface DomainCapabilitiesOptions {
  emulatorBin?: string;
  arch?: string;
  machine?: string;
  virttype?: string;
}

/**
 * One open libvirt connection (`virConnectPtr`). Every call is a promise: the RPC runs in this connection's
 * own worker thread, never on the main thread or libuv's pool, and has a deadline.
 *
 * @example
 * ```ts
 * const conn = await openConnection('test:///default');
 * const dom = await conn.lookupDomainByName('test');
 * console.log(await conn.hostname(), await dom.state());
 * await conn.close();
 * ```
 */
export interface LibvirtConnection {
  readonly uri: string;
  /** False once the connection was closed or lost; then every call rejects with `LIBVIRT_CONNECTION_LOST`. */
  readonly open: boolean;
  /** Settles (never rejects) once the connection is closed or lost. */
  readonly closed: Promise<ConnectionClosed>;
  /** `virConnectGetLibVersion`: major * 1e6 + minor * 1e3 + micro. */
  libVersion(options?: CallOptions): Promise<number>;
  /** `virConnectGetVersion`: the hypervisor's version, same encoding. */
  hypervisorVersion(options?: CallOptions): Promise<number>;
  /** `virConnectGetHostname`. */
  hostname(options?: CallOptions): Promise<string>;
  /** Host capabilities XML. */
  capabilities(options?: CallOptions): Promise<string>;
  /** Domain capabilities XML. */
  domainCapabilities(options?: DomainCapabilitiesOptions & CallOptions): Promise<string>;
  /** `virDomainLookupByName`; `LibvirtError` with `libvirtCode` 42 when there is no such domain. */
  lookupDomainByName(name: string, options?: CallOptions): Promise<LibvirtDomain>;
  /** Looks up by the UUID's string form. */
  lookupDomainByUUID(uuid: string, options?: CallOptions): Promise<LibvirtDomain>;
  /** Starts a transient domain (`virDomainCreateXML`). */
  createDomainXML(xml: string, options?: CallOptions): Promise<LibvirtDomain>;
  /** Defines a persistent domain without starting it. */
  defineDomainXML(xml: string, options?: CallOptions): Promise<LibvirtDomain>;
  /** Names of all domains, active and inactive (`virConnectListAllDomains`). */
  listDomainNames(options?: CallOptions): Promise<string[]>;
  /** `virConnectIsAlive`: false once the daemon went away, and (without asking libvirt) once closed or lost. */
  isAlive(options?: CallOptions): Promise<boolean>;
  /** Closes the connection and ends its worker; later calls reject. Idempotent. */
  close(): Promise<void>;
  /**
   * Opens a domain event stream on its own connection to {@link uri}, with this connection's keepalive. Throws
   * `LibvirtError` `LIBVIRT_CONNECTION_LOST` when this connection is no longer open.
   */
  events(): DomainEventStream;
}

/** `virDomainGetInfo`. */
export interface DomainInfo {
  state: DomainState;
  /** The most memory the guest may have, in KiB (`maxMem`). */
  maxMemoryKiB: number;
  /** The memory the guest has now, in KiB. */
  memoryKiB: number;
  vcpus: number;
  /** CPU time used, in ns. */
  cpuTimeNs: number;
}

/** `virDomainGetBlockInfo` of one disk, in bytes. */
export interface BlockInfo {
  /** The size the guest sees. */
  capacity: number;
  /** The bytes the image really uses on the host (what a block migration copies). */
  allocation: number;
  /** The host storage's size. */
  physical: number;
}

/**
 * A domain (`virDomainPtr`), identified by the name and UUID read at lookup. Every call is a promise run in
 * the connection's worker, with the connection's deadline unless the call gives its own.
 *
 * @example
 * ```ts
 * const dom = await conn.lookupDomainByName('test');
 * await dom.suspend();
 * console.log(dom.name, await dom.state()); // test { state: 'paused', reason: 1 }
 * ```
 */
export interface LibvirtDomain {
  readonly connection: LibvirtConnection;
  /** `virDomainGetName`, read at lookup. */
  readonly name: string;
  /** `virDomainGetUUIDString`, read at lookup. */
  readonly uuid: string;
  /** `virDomainGetState`; `reason` is the state-specific `virDomain*Reason` number. */
  state(options?: CallOptions): Promise<{ state: DomainState; reason: number }>;
  /** `virDomainGetInfo`. */
  info(options?: CallOptions): Promise<DomainInfo>;
  /** `virDomainGetBlockInfo` of one disk (target name such as `vda`, or its source path). */
  blockInfo(disk: string, options?: CallOptions): Promise<BlockInfo>;
  /** `virDomainGetXMLDesc`. */
  xml(flags?: number, options?: CallOptions): Promise<string>;
  /** `virDomainIsActive`: running or paused, as opposed to shut off. */
  isActive(options?: CallOptions): Promise<boolean>;
  /** `virDomainGetJobStats` of the current job, or of the last completed one with `completed`. */
  jobStats(options?: JobStatsOptions & CallOptions): Promise<JobStats>;
  /** `virDomainMigrateStartPostCopy`: switch a running POSTCOPY-enabled migration to post-copy. */
  startPostCopy(options?: CallOptions): Promise<void>;
  /** `virDomainAbortJob`, or `virDomainAbortJobFlags(VIR_DOMAIN_ABORT_JOB_POSTCOPY)` with `postcopy`. */
  abortJob(options?: { postcopy?: boolean } & CallOptions): Promise<void>;
  /** `virDomainMigrateSetMaxDowntime`, in milliseconds. */
  setMaxDowntime(ms: number, options?: CallOptions): Promise<void>;
  /** `virDomainMigrateSetMaxSpeed`, in MiB/s; `postcopy` sets the post-copy phase's limit. */
  setMaxSpeed(mibps: number, options?: { postcopy?: boolean } & CallOptions): Promise<void>;
  /** `virDomainSuspend`: pause the vCPUs. */
  suspend(options?: CallOptions): Promise<void>;
  /** `virDomainResume`. */
  resume(options?: CallOptions): Promise<void>;
  /** `virDomainDestroy`: hard stop. */
  destroy(options?: CallOptions): Promise<void>;
  /** `virDomainUndefine`: forget a persistent domain's config. */
  undefine(options?: CallOptions): Promise<void>;
  /**
   * Runs `virDomainMigrateToURI3` in a worker thread with its own connection (opened to
   * `connection.uri` with the same keepalive, domain looked up by UUID), so neither the main thread nor
   * libuv's pool blocks. Opening that connection and finding the domain have the connection's deadline
   * (`LIBVIRT_TIMEOUT`; the migration is then never started); the migration call itself has none (it may
   * rightly take hours): keepalive ends it with `LIBVIRT_CONNECTION_LOST` when the daemon stops answering,
   * which means "lost sight of it", not "failed". Resolves when libvirt returns 0; rejects
   * with a `LibvirtError` carrying libvirt's code, domain and message.
   */
  migrateToURI3(destUri: string, params: MigrateParams, flags: number): Promise<void>;
  /**
   * `virDomainStartDirtyRateCalc` (libvirt >= 7.2.0; a `mode` other than page-sampling >= 8.1.0): QEMU
   * starts measuring how fast the guest dirties its memory, over `seconds` (libvirt takes 1..60). Returns at
   * once; {@link dirtyRateStats} says `measured` with the rate once `seconds` have passed. Rejects with
   * `LibvirtError` `LIBVIRT_UNSUPPORTED` when this libvirt (library, daemon or driver) cannot measure, or
   * in this mode, naming the version and the fix; `LIBVIRT_DOMAIN_BUSY` while the domain has a job running
   * (a migration: QEMU and libvirt do not run both at once); `LIBVIRT_ERROR` for libvirt's other refusals
   * (an inactive domain, seconds out of range). See docs/threading.md, "Dirty rate".
   */
  startDirtyRateCalc(options: DirtyRateCalcOptions & CallOptions): Promise<void>;
  /**
   * The domain's `dirtyrate.*` statistics (`virDomainListGetStats` with `VIR_DOMAIN_STATS_DIRTYRATE`,
   * enforced): the last calculation's status, start, period, mode and rate. Rejects `LIBVIRT_UNSUPPORTED`
   * when the daemon (older than 7.2.0) or the driver does not report the group. Readable while the domain
   * migrates.
   */
  dirtyRateStats(options?: CallOptions): Promise<DirtyRateStats>;
}

/**
 * Options of {@link LibvirtDomain.startDirtyRateCalc}.
 *
 * @example
 * ```ts
 * await dom.startDirtyRateCalc({ seconds: 3 });
 * ```
 */
export interface DirtyRateCalcOptions {
  /** How long QEMU measures, in whole seconds (libvirt accepts 1..60). */
  seconds: number;
  /**
   * `page-sampling` (default: hashes a sample of pages, works under TCG and KVM), `dirty-bitmap` or
   * `dirty-ring` (KVM with the dirty ring on; gives per-vCPU rates). Under TCG, `dirty-bitmap` measured
   * 0 MiB/s for a guest dirtying 12 MiB/s (lab, QEMU 10): use page-sampling there.
   */
  mode?: DirtyRateMode;
}

/**
 * A domain's `dirtyrate.*` statistics; fields libvirt did not return are `undefined`.
 *
 * @example
 * ```ts
 * const s = await dom.dirtyRateStats();
 * if (s.status === 'measured') console.log(`${s.mibPerSecond} MiB/s over ${s.periodSeconds} s (${s.mode})`);
 * ```
 */
export interface DirtyRateStats {
  /**
   * `dirtyrate.calc_status`: no calculation yet, one running, or the last one done; `unknown` when libvirt
   * reported no status (an inactive domain) or one this binding does not know.
   */
  status: 'unstarted' | 'measuring' | 'measured' | 'unknown';
  /** `dirtyrate.calc_start_time`: when the last calculation started, in seconds since the Unix epoch. */
  startTimeSeconds?: number;
  /** `dirtyrate.calc_period`: how long it measured (or measures), in seconds. */
  periodSeconds?: number;
  /** `dirtyrate.calc_mode`. */
  mode?: DirtyRateMode;
  /** `dirtyrate.megabytes_per_second`: the measured rate in MiB/s; only once `measured`. */
  mibPerSecond?: number;
  /** `dirtyrate.vcpu.<n>.megabytes_per_second` by vCPU number, in MiB/s (dirty-ring mode only). */
  vcpuMibPerSecond?: number[];
  /** Every `dirtyrate.*` field as libvirt returned it. */
  raw: Record<string, number | string | boolean>;
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
 * synchronously in a worker thread; it is process-wide, so one such worker serves all open streams (and the
 * keepalive of every connection) and ends when none is left. A stream whose connection dies (keepalive,
 * daemon gone) emits `error` with a `LibvirtError` code `LIBVIRT_CONNECTION_LOST`. See docs/threading.md.
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
