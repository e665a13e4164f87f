/**
 * The pure decision core: no I/O, no libvirt, no clocks.
 *
 * @module
 */

export {
  completionTimeoutSeconds,
  type DowntimeStep,
  downtimeAt,
  downtimeSteps,
  migrationDataGb,
} from './downtime.js';
export { flagNames, type MigrateFlagName, MigrateFlags } from './flags.js';
export {
  DEFAULT_HOST_CONFIG,
  HOST_OPTIONS,
  type HostConfig,
  type HostOptionSpec,
  resolveHostConfig,
  type TimeoutAction,
} from './host-config.js';
export { type InstanceMetadata, METADATA_KEYS } from './metadata.js';
export {
  type MonitorAction,
  type MonitorSettings,
  type MonitorState,
  monitorSettings,
  monitorTick,
} from './monitor.js';
export { parseNovaConf } from './nova-conf.js';
export {
  type DecisionSource,
  type FeatureDecision,
  type MigrationPlan,
  type PlanInput,
  planMigration,
} from './plan.js';
export { type InstancePolicy, resolveInstancePolicy } from './resolve.js';
export {
  assertAbortAllowed,
  type ForceCompleteAction,
  forceCompleteAction,
  isActiveStatus,
  MIGRATION_STATUSES,
  type MigrationStatus,
} from './status.js';
export { type HostCapabilities, hostTraits, requiredTraits, type Trait, Traits } from './traits.js';
export { encodeVersion, formatVersion, type Version } from './versions.js';
