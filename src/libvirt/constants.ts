/**
 * libvirt's numeric constants used by this binding, copied from libvirt 9.0's public headers so callers
 * can compare against them without a libvirt install.
 *
 * @module
 */

/** `virDomainState`, numeric, as libvirt returns it. */
export const DomainStateCode = {
  nostate: 0,
  running: 1,
  blocked: 2,
  paused: 3,
  shutdown: 4,
  shutoff: 5,
  crashed: 6,
  pmsuspended: 7,
} as const;

/**
 * `virDomainState` as a readable name.
 *
 * @example
 * ```ts
 * if (dom.state().state === 'paused') dom.resume();
 * ```
 */
export type DomainState = keyof typeof DomainStateCode;

/** Index = libvirt's `virDomainState` number. */
export const DOMAIN_STATE_NAMES: readonly DomainState[] = [
  'nostate',
  'running',
  'blocked',
  'paused',
  'shutdown',
  'shutoff',
  'crashed',
  'pmsuspended',
];

/** `virDomainRunningReason`: why a domain in state `running` runs (the `reason` of `state()`). */
export const DomainRunningReason = {
  /** The destination, while it runs the guest in post-copy. */
  POSTCOPY: 10,
  /** The destination, after the post-copy phase failed (libvirt ≥ 8.5). */
  POSTCOPY_FAILED: 11,
} as const;

/** `virDomainPausedReason`: why a domain in state `paused` is paused (the `reason` of `state()`). */
export const DomainPausedReason = {
  UNKNOWN: 0,
  USER: 1,
  MIGRATION: 2,
  SAVE: 3,
  DUMP: 4,
  IOERROR: 5,
  WATCHDOG: 6,
  FROM_SNAPSHOT: 7,
  SHUTTING_DOWN: 8,
  SNAPSHOT: 9,
  CRASHED: 10,
  STARTING_UP: 11,
  /** The source, while the guest runs on the destination in post-copy. */
  POSTCOPY: 12,
  /** The source, after the post-copy phase failed. */
  POSTCOPY_FAILED: 13,
  API_ERROR: 14,
} as const;

/** `virDomainEventType`: the `event` of a lifecycle event. */
export const DomainEvent = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const;

/** Index = `virDomainEventType` number; used for `eventName` of lifecycle events. */
export const DOMAIN_EVENT_NAMES: readonly string[] = [
  'defined',
  'undefined',
  'started',
  'suspended',
  'resumed',
  'stopped',
  'shutdown',
  'pmsuspended',
  'crashed',
];

/** `virDomainEventSuspendedDetailType`: `detail` when `event` is SUSPENDED. */
export const DomainEventSuspendedDetail = {
  PAUSED: 0,
  MIGRATED: 1,
  IOERROR: 2,
  WATCHDOG: 3,
  RESTORED: 4,
  FROM_SNAPSHOT: 5,
  API_ERROR: 6,
  /** Source paused because the guest now runs on the destination in post-copy. */
  POSTCOPY: 7,
  /** Post-copy failed; the guest state is split between hosts. */
  POSTCOPY_FAILED: 8,
} as const;

/** `virDomainEventResumedDetailType`: `detail` when `event` is RESUMED. */
export const DomainEventResumedDetail = {
  UNPAUSED: 0,
  MIGRATED: 1,
  FROM_SNAPSHOT: 2,
  /** Destination runs the guest while post-copy still pulls pages. */
  POSTCOPY: 3,
  /** libvirt >= 8.5. */
  POSTCOPY_FAILED: 4,
} as const;

/** `virDomainEventStoppedDetailType`: `detail` when `event` is STOPPED. */
export const DomainEventStoppedDetail = {
  SHUTDOWN: 0,
  DESTROYED: 1,
  CRASHED: 2,
  MIGRATED: 3,
  SAVED: 4,
  FAILED: 5,
  FROM_SNAPSHOT: 6,
} as const;

/** Flat aliases under libvirt's own names, for code ported from C or Python. */
export const VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY = DomainEventSuspendedDetail.POSTCOPY;
/** See {@link DomainEventSuspendedDetail}. */
export const VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED = DomainEventSuspendedDetail.POSTCOPY_FAILED;
/** See {@link DomainEventResumedDetail}. */
export const VIR_DOMAIN_EVENT_RESUMED_POSTCOPY = DomainEventResumedDetail.POSTCOPY;
/** See {@link DomainEventResumedDetail}. */
export const VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED = DomainEventResumedDetail.POSTCOPY_FAILED;

/** `virDomainJobType`. */
export const DomainJobType = {
  NONE: 0,
  BOUNDED: 1,
  UNBOUNDED: 2,
  COMPLETED: 3,
  FAILED: 4,
  CANCELLED: 5,
} as const;

/** `virDomainEventID` values this binding subscribes to. */
export const DomainEventId = {
  LIFECYCLE: 0,
  MIGRATION_ITERATION: 20,
  JOB_COMPLETED: 21,
} as const;

/** `virDomainGetJobStatsFlags`. */
export const VIR_DOMAIN_JOB_STATS_COMPLETED = 1;
/** Keep completed stats readable after this read (libvirt >= 6.0). */
export const VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED = 2;
/** `virDomainAbortJobFlagsValues` (libvirt >= 8.5); the header defines it as `1 << 0`. */
export const VIR_DOMAIN_ABORT_JOB_POSTCOPY = 1;
/** `virDomainMigrateMaxSpeedFlags`. */
export const VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY = 1;

/**
 * `virDomainDirtyRateCalcFlags` (libvirt >= 8.1.0): the flags of `virDomainStartDirtyRateCalc`, by mode name.
 * 0 (page sampling) is also what libvirt 7.2–8.0 did without flags.
 */
export const DirtyRateModeFlag = {
  'page-sampling': 0,
  'dirty-bitmap': 1,
  'dirty-ring': 2,
} as const;

/**
 * A dirty-rate calculation mode, as libvirt names it in `dirtyrate.calc_mode`.
 *
 * @example
 * ```ts
 * const mode: DirtyRateMode = 'page-sampling';
 * ```
 */
export type DirtyRateMode = keyof typeof DirtyRateModeFlag;

/** Index = `virDomainDirtyRateStatus` (`dirtyrate.calc_status`). */
export const DIRTY_RATE_STATUS_NAMES = ['unstarted', 'measuring', 'measured'] as const;

/** `virDomainStatsTypes`: the `dirtyrate.*` group (libvirt >= 7.2.0). */
export const VIR_DOMAIN_STATS_DIRTYRATE = 1 << 9;
/** `virConnectGetAllDomainStatsFlags`: fail instead of leaving out a group the daemon cannot report. */
export const VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS = 2 ** 31;

/** `virDomainJobOperation` (a job's `operation` stat) as a readable name; index = libvirt's number. */
export const DOMAIN_JOB_OPERATION_NAMES: readonly string[] = [
  'unknown operation',
  'start',
  'save',
  'restore',
  'incoming migration',
  'outgoing migration',
  'snapshot',
  'snapshot revert',
  'dump',
  'backup',
  'snapshot delete',
];

/** `virTypedParameterType`. */
export const TypedParamType = {
  INT: 1,
  UINT: 2,
  LLONG: 3,
  ULLONG: 4,
  DOUBLE: 5,
  BOOLEAN: 6,
  STRING: 7,
} as const;

/** `virErrorNumber` values this library's callers commonly switch on. */
export const LibvirtErrorCode = {
  INTERNAL_ERROR: 1,
  NO_SUPPORT: 3,
  INVALID_CONN: 6,
  INVALID_DOMAIN: 7,
  INVALID_ARG: 8,
  NO_DOMAIN: 42,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  /** Among others: a call that waited 30 s for the domain's job lock, held by a migration. */
  OPERATION_TIMEOUT: 68,
  ARGUMENT_UNSUPPORTED: 74,
  OPERATION_UNSUPPORTED: 84,
} as const;
