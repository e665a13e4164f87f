/**
 * Per-instance live-migration policy for libvirt/QEMU clouds: flavor extra specs and image properties
 * override `nova.conf`, and the result becomes placement traits, `virDomainMigrateFlags` and a steerable
 * migration.
 *
 * @module
 */

export { readNovaConfSources } from './config-files.js';
export {
  boundValue,
  type ErrorCode,
  type ErrorDetails,
  LibvirtError,
  type LibvirtErrorKind,
  LibvirtMigrationError,
  LibvirtUnavailableError,
  MAX_ERROR_VALUE_CHARS,
  MigrationJobError,
  type MigrationJobErrorCode,
  MigrationPolicyError,
  type MigrationPolicyErrorCode,
  PlacementError,
  type PlacementErrorCode,
  type PlacementErrorDetails,
  type SerializedError,
} from './errors.js';
export * from './libvirt/index.js';
export * from './migration/index.js';
export * from './observability/index.js';
export * from './placement/index.js';
export * from './policy/index.js';
