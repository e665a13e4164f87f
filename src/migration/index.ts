/**
 * The imperative shell: `migrate()` and the job that steers a running migration.
 *
 * @module
 */
export { copiedDisks } from './data-size.js';
export { type JobContext, MigrationJob, type MigrationJobEvents } from './job.js';
export { attachMigration, migrate } from './migrate.js';
export {
  buildMigrationCall,
  checkTuning,
  type Destination,
  destinationUris,
  type MigrationCall,
  type MigrationTuning,
} from './params.js';
export type {
  Awaitable,
  GuestLocation,
  JobWarning,
  MigrateOptions,
  MigrationOutcome,
  MigrationProgress,
  MigrationProviders,
  RecoveryEvent,
  RecoveryOutcome,
  SteeringAction,
  SteeringEvent,
  TlsPreflightOptions,
} from './types.js';
