/**
 * Thin typed binding to `libvirt.so.0`: connections, domains, migration calls, job stats, dirty-rate
 * measurement and domain events.
 * Importing this module loads nothing native; the first `open()` does. Its errors (`LibvirtError`,
 * `LibvirtUnavailableError`) are exported here too.
 *
 * @module libvirt-migration-policy/libvirt
 */
export {
  LibvirtError,
  type LibvirtErrorKind,
  LibvirtMigrationError,
  LibvirtUnavailableError,
} from '../errors.js';
export { type KoffiBackendOptions, koffiBackend, openConnection } from './connection.js';
export {
  DIRTY_RATE_STATUS_NAMES,
  type DirtyRateMode,
  DirtyRateModeFlag,
  DOMAIN_EVENT_NAMES,
  DOMAIN_STATE_NAMES,
  DomainEvent,
  DomainEventId,
  DomainEventResumedDetail,
  DomainEventStoppedDetail,
  DomainEventSuspendedDetail,
  DomainJobType,
  DomainPausedReason,
  type DomainState,
  DomainStateCode,
  LibvirtErrorCode,
  TypedParamType,
  VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS,
  VIR_DOMAIN_ABORT_JOB_POSTCOPY,
  VIR_DOMAIN_EVENT_RESUMED_POSTCOPY,
  VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED,
  VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY,
  VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED,
  VIR_DOMAIN_JOB_STATS_COMPLETED,
  VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED,
  VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY,
  VIR_DOMAIN_STATS_DIRTYRATE,
} from './constants.js';
export type {
  BlockInfo,
  CallOptions,
  ConnectionClosed,
  DirtyRateCalcOptions,
  DirtyRateStats,
  DomainCapabilitiesOptions,
  DomainEventStream,
  DomainInfo,
  JobCompletedEvent,
  JobStats,
  JobStatsOptions,
  JobType,
  KeepAliveOptions,
  LibvirtBackend,
  LibvirtConnection,
  LibvirtDomain,
  LifecycleEvent,
  MigrateParams,
  MigrationIterationEvent,
  OpenOptions,
} from './types.js';
