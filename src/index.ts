/**
 * Per-instance live-migration policy for libvirt/QEMU clouds: flavor extra specs and image properties
 * override `nova.conf`, and the result becomes placement traits, `virDomainMigrateFlags` and a steerable
 * migration. This entry point holds what a compute agent uses; the pure decision core with its building
 * blocks is `libvirt-migration-policy/policy`, the libvirt binding `libvirt-migration-policy/libvirt`.
 *
 * @module libvirt-migration-policy
 */

export { readNovaConfSources } from './config-files.js';
export {
  type ErrorCode,
  type ErrorDetails,
  LibvirtError,
  type LibvirtErrorKind,
  LibvirtMigrationError,
  LibvirtUnavailableError,
  MigrationJobError,
  type MigrationJobErrorCode,
  MigrationPolicyError,
  type MigrationPolicyErrorCode,
  MigrationTlsError,
  PlacementError,
  type PlacementErrorCode,
  type PlacementErrorDetails,
  type SerializedError,
  type TlsErrorCode,
  type TlsErrorDetails,
} from './errors.js';
export {
  type DirtyRateMeasurement,
  type MeasureDirtyRateOptions,
  measureDirtyRate,
} from './migration/dirty-rate.js';
export { MigrationJob, type MigrationJobEvents } from './migration/job.js';
export { attachMigration, migrate } from './migration/migrate.js';
export type { Destination, MigrationCall, MigrationTuning } from './migration/params.js';
export type {
  Awaitable,
  CompletedMigration,
  GuestLocation,
  JobWarning,
  MigrateOptions,
  MigrationOutcome,
  MigrationProgress,
  MigrationProviders,
  OutcomeBase,
  RecoveryEvent,
  RecoveryOutcome,
  SteeringAction,
  SteeringEvent,
  TlsPreflightOptions,
  UnfinishedMigration,
} from './migration/types.js';
export * from './observability/index.js';
export * from './placement/index.js';
export { type NovaDestinationUris, novaDestinationUris } from './policy/destination-uris.js';
export { flagNames, type MigrateFlagName, MigrateFlags } from './policy/flags.js';
export { type GuestDescription, parseDomainXml } from './policy/guest.js';
export {
  DEFAULT_HOST_CONFIG,
  type HostConfig,
  originOf,
  resolveHostConfig,
  type TimeoutAction,
} from './policy/host-config.js';
export { type InstanceMetadata, METADATA_KEYS } from './policy/metadata.js';
export {
  forecastMigration,
  type MigrationForecast,
  type MigrationForecastInput,
  type ModeForecast,
} from './policy/migration-forecast.js';
export { type ConfigSource, parseNovaConf } from './policy/nova-conf.js';
export {
  type DecisionSource,
  type FeatureDecision,
  type MigrationPlan,
  type PlanInput,
  planMigration,
} from './policy/plan.js';
export type { GuestSplit, RecoveryOptions } from './policy/recovery.js';
export { type InstancePolicy, resolveInstancePolicy } from './policy/resolve.js';
export { type FlavorShape, type ImageShape, metadataFromFlavor, metadataFromImage } from './policy/shapes.js';
export {
  assertAbortAllowed,
  type ForceCompleteAction,
  forceCompleteAction,
  isActiveStatus,
  MIGRATION_STATUSES,
  type MigrationStatus,
} from './policy/status.js';
export { type HostCapabilities, hostTraits, requiredTraits, type Trait, Traits } from './policy/traits.js';
export type { Version } from './policy/versions.js';
export { redactError, redactText, redactUri } from './redact.js';
