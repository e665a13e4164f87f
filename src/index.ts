/**
 * Per-instance live-migration policy for libvirt/QEMU clouds: flavor extra specs and image properties
 * override `nova.conf`, and the result becomes placement traits, `virDomainMigrateFlags` and a steerable
 * migration.
 *
 * @module
 */
export {
  type ErrorDetails,
  LibvirtError,
  LibvirtUnavailableError,
  MigrationJobError,
  type MigrationJobErrorCode,
  MigrationPolicyError,
  type MigrationPolicyErrorCode,
} from './errors.js';
export {
  DomainEvent,
  DomainEventId,
  DomainEventResumedDetail,
  DomainEventStoppedDetail,
  DomainEventSuspendedDetail,
  DomainJobType,
  DomainPausedReason,
  type DomainState,
  DomainStateCode,
  type KoffiBackendOptions,
  koffiBackend,
  LibvirtErrorCode,
  openConnection,
} from './libvirt/index.js';
export type {
  DomainCapabilitiesOptions,
  DomainEventStream,
  JobCompletedEvent,
  JobStats,
  JobStatsOptions,
  JobType,
  LibvirtBackend,
  LibvirtConnection,
  LibvirtDomain,
  LifecycleEvent,
  MigrateParams,
  MigrationIterationEvent,
  OpenOptions,
} from './libvirt/types.js';
export * from './migration/index.js';
export * from './policy/index.js';
