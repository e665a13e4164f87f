/**
 * The pure decision core: no I/O, no libvirt, no clocks — and every building block the root leaves out
 * (downtime steps, the monitor's tick, oslo's file syntax, the recovery rules). Its errors are the
 * library's: `instanceof MigrationPolicyError` holds whichever entry point the class came from.
 *
 * @module libvirt-migration-policy/policy
 */
export {
  type ErrorCode,
  type ErrorDetails,
  LibvirtMigrationError,
  MigrationPolicyError,
  type MigrationPolicyErrorCode,
  MigrationTlsError,
  type SerializedError,
  type TlsErrorCode,
} from '../errors.js';
export {
  type NovaDestinationInput,
  type NovaDestinationUris,
  novaDestinationUris,
  type TextFormat,
} from './destination-uris.js';
export {
  completionTimeoutSeconds,
  type DowntimeSchedule,
  type DowntimeStep,
  downtimeAt,
  downtimeSchedule,
  downtimeSteps,
  MAX_LISTED_STEPS,
  migrationDataGb,
} from './downtime.js';
export { flagNames, type MigrateFlagName, MigrateFlags } from './flags.js';
export {
  FORECAST_START,
  type Forecast,
  type ForecastContext,
  type ForecastSample,
  type ForecastState,
  forecastSample,
  forecastStep,
  MAX_BOUNDARIES,
  type ProgressLike,
} from './forecast.js';
export {
  type AutoConvergeSettings,
  DEFAULT_FORECAST_OPTIONS,
  type ForecastOptions,
  type ForecastSettings,
  forecastSettings,
  QEMU_AUTO_CONVERGE,
  QEMU_DEFAULT_DOWNTIME_MS,
  resolveForecastOptions,
} from './forecast-settings.js';
export type { ForecastVerdict, PassBoundary, PublishedVerdict } from './forecast-verdict.js';
export {
  copiedDisksOf,
  type GuestDescription,
  type GuestDisk,
  type GuestHostDevice,
  type GuestMemoryBacking,
  parseDomainXml,
  postCopyGuestBlocker,
  postCopyGuestCautions,
} from './guest.js';
export {
  DEFAULT_HOST_CONFIG,
  HOST_OPTIONS,
  type HostConfig,
  type HostOptionSpec,
  originOf,
  resolveHostConfig,
  type TimeoutAction,
} from './host-config.js';
export { type IniFile, type IniValue, parseOsloIni } from './ini-parser.js';
export { type InstanceMetadata, METADATA_KEYS } from './metadata.js';
export {
  forecastMigration,
  type MigrationForecast,
  type MigrationForecastInput,
  type ModeForecast,
} from './migration-forecast.js';
export {
  type MonitorAction,
  type MonitorSettings,
  type MonitorState,
  monitorSettings,
  monitorTick,
} from './monitor.js';
export { type ConfigSource, parseNovaConf } from './nova-conf.js';
export { type NovaConfWarning, novaConfWarnings } from './nova-conf-warnings.js';
export {
  type DecisionSource,
  type FeatureDecision,
  type MigrationPlan,
  type PlanInput,
  planMigration,
  VERSIONS_UNCHECKED,
} from './plan.js';
export { pythonStrip } from './python-text.js';
export {
  type CopyPhase,
  DEFAULT_RECOVERY,
  type GuestSplit,
  guestSplit,
  nextAttemptAt,
  RESUME_CRASHING_LIBVIRT,
  type RecoveryOptions,
  resolveRecovery,
  resumeBlocker,
  resumeFlags,
} from './recovery.js';
export { type InstancePolicy, resolveInstancePolicy } from './resolve.js';
export {
  type FlavorShape,
  type ImageShape,
  metadataFromFlavor,
  metadataFromImage,
  parsePropertiesString,
} from './shapes.js';
export {
  type StallWindowState,
  WINDOW_START,
  type WindowRecord,
} from './stall-window.js';
export {
  assertAbortAllowed,
  type ForceCompleteAction,
  forceCompleteAction,
  isActiveStatus,
  MIGRATION_STATUSES,
  type MigrationStatus,
} from './status.js';
export { adaptiveSwitchover, type SwitchoverDecision, type SwitchoverPolicy } from './switchover.js';
export {
  type CertificateFacts,
  checkTlsCredentials,
  LIBVIRT_PKIPATH_FILES,
  QEMU_TLS_FILES,
  type ReadFile,
  type TlsCredentialsInput,
  type TlsCredentialsReport,
  type TlsRequirements,
  type TlsRole,
  tlsFileNames,
  tlsRequirements,
} from './tls-credentials.js';
export { type TlsFailureContext, tlsFailure } from './tls-failures.js';
export { type HostCapabilities, hostTraits, requiredTraits, type Trait, Traits } from './traits.js';
export { encodeVersion, formatVersion, type Version } from './versions.js';
export {
  LIBVIRT_JOB_WAIT_MS,
  WATCHDOG_FIXED_MS,
  WATCHED_STEPS,
  type WatchdogBounds,
  type WatchdogSizing,
  type WatchedStep,
  type WatchSample,
  type WatchState,
  type WatchVerdict,
  watchdogBounds,
  watchStart,
  watchStep,
} from './watchdog.js';
