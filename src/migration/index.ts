/**
 * The imperative shell: `migrate()` and the job that steers a running migration.
 *
 * @module
 */
export { type JobContext, MigrationJob, type MigrationJobEvents } from './job.js';
export { attachMigration, migrate } from './migrate.js';
export {
  buildMigrationCall,
  type Destination,
  destinationUris,
  type MigrationCall,
  type MigrationTuning,
} from './params.js';
export type {
  Awaitable,
  GuestLocation,
  MigrateOptions,
  MigrationOutcome,
  MigrationProgress,
  MigrationProviders,
  SteeringEvent,
} from './types.js';
