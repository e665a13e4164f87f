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
  MigrationTlsError,
  type SerializedError,
  type TlsErrorCode,
  type TlsErrorDetails,
} from './errors.js';
export * from './libvirt/index.js';
export * from './migration/index.js';
export * from './observability/index.js';
export * from './policy/index.js';
export { holdsCredential, REDACTED, redactError, redactText, redactUri } from './redact.js';
export { DEFAULT_QEMU_TLS_DIR, readTlsCredentials, readTlsFile } from './tls-files.js';
