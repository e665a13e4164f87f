/**
 * Every error this library throws, in one place, each with a stable `code` that callers can switch on.
 * Messages name the key, the value and the fix; codes never change meaning between versions.
 *
 * @module
 */

/** Stable codes of {@link MigrationPolicyError}. */
export type MigrationPolicyErrorCode =
  | 'INVALID_BOOLEAN'
  | 'FLAVOR_IMAGE_CONFLICT'
  | 'CONFLICTING_FEATURES'
  | 'INVALID_HOST_CONFIG'
  | 'INVALID_ARGUMENT'
  | 'POST_COPY_UNAVAILABLE'
  | 'AUTO_CONVERGE_UNAVAILABLE'
  | 'ABORT_IN_POST_COPY'
  | 'MIGRATION_NOT_ACTIVE';

/** What was wrong, for programs: the offending key and value, when there is one. */
export interface ErrorDetails {
  /** The metadata key, `nova.conf` option or argument at fault. */
  key?: string;
  /** The value found there, as given. */
  value?: unknown;
}

/**
 * A request the policy refuses: bad metadata, an invalid host configuration, a feature this host cannot
 * provide, or a steering call that does not fit the migration's status.
 *
 * @example
 * ```ts
 * import { MigrationPolicyError, resolveInstancePolicy } from 'libvirt-migration-policy';
 * try {
 *   resolveInstancePolicy({ flavorExtraSpecs: { 'compute:live_migration_post_copy': 'maybe' } });
 * } catch (err) {
 *   if (err instanceof MigrationPolicyError && err.code === 'INVALID_BOOLEAN') console.error(err.message);
 * }
 * ```
 */
export class MigrationPolicyError extends Error {
  override readonly name = 'MigrationPolicyError';
  /** Stable machine-readable reason. */
  readonly code: MigrationPolicyErrorCode;
  /** The key at fault, when there is one. */
  readonly key: string | undefined;
  /** The value at fault, as given. */
  readonly value: unknown;

  constructor(code: MigrationPolicyErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.code = code;
    this.key = details.key;
    this.value = details.value;
  }
}

/**
 * libvirt refused or failed a call. Carries libvirt's own `virErrorNumber` (`code`) and `virErrorDomain`
 * (`domain`) so callers can tell, say, `VIR_ERR_OPERATION_INVALID` (55) from `VIR_ERR_NO_DOMAIN` (42).
 *
 * @example
 * ```ts
 * import { LibvirtError } from 'libvirt-migration-policy';
 * try { conn.lookupDomainByName('nope'); }
 * catch (err) { if (err instanceof LibvirtError && err.code === 42) console.error('no such domain'); }
 * ```
 */
export class LibvirtError extends Error {
  override readonly name = 'LibvirtError';
  /** Stable code for programs that do not care about libvirt's numbers. */
  readonly errorCode = 'LIBVIRT_ERROR' as const;
  /** libvirt's `virErrorNumber`. */
  readonly code: number;
  /** libvirt's `virErrorDomain` (which subsystem raised it). */
  readonly domain: number;
  /** The libvirt function that failed. */
  readonly call: string;

  constructor(call: string, code: number, domain: number, message: string) {
    super(`${call}: ${message} (libvirt error ${code}, domain ${domain})`);
    this.call = call;
    this.code = code;
    this.domain = domain;
  }
}

/**
 * `libvirt.so.0` could not be loaded on this machine. The pure policy functions keep working; only calls that
 * need libvirt throw this.
 */
export class LibvirtUnavailableError extends Error {
  override readonly name = 'LibvirtUnavailableError';
  readonly code = 'LIBVIRT_UNAVAILABLE' as const;

  constructor(cause: unknown) {
    super(
      'libvirt.so.0 could not be loaded: install the libvirt client library ' +
        "(Debian/Ubuntu: 'apt-get install libvirt0', Fedora/RHEL: 'dnf install libvirt-libs')",
      { cause },
    );
  }
}

/** Stable codes of {@link MigrationJobError}. */
export type MigrationJobErrorCode = 'ALREADY_MIGRATING' | 'INVALID_OPTIONS';

/**
 * A migration job could not be started: the domain is already being migrated by this process, or the
 * options are incomplete. A migration that fails later is reported by the job's outcome, not thrown.
 */
export class MigrationJobError extends Error {
  override readonly name = 'MigrationJobError';
  readonly code: MigrationJobErrorCode;
  /** The option at fault, when there is one. */
  readonly key: string | undefined;
  /** The value at fault, as given. */
  readonly value: unknown;

  constructor(
    code: MigrationJobErrorCode,
    message: string,
    details: ErrorDetails & { cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.key = details.key;
    this.value = details.value;
  }
}
