/**
 * Every error this library throws, in one place. Each has a stable string `code` that callers can switch on,
 * a message naming the key, the value and the fix, and serialises to JSON with a bounded copy of the value
 * (an error never keeps or prints a 10 MB input whole). Codes never change meaning between versions.
 *
 * @module
 */

/** Stable codes of {@link MigrationPolicyError}. */
export type MigrationPolicyErrorCode =
  | 'INVALID_BOOLEAN'
  | 'FLAVOR_IMAGE_CONFLICT'
  | 'CONFLICTING_FEATURES'
  | 'INVALID_HOST_CONFIG'
  | 'INVALID_CONFIG_FILE'
  | 'INVALID_ARGUMENT'
  | 'POST_COPY_UNAVAILABLE'
  | 'AUTO_CONVERGE_UNAVAILABLE'
  | 'ABORT_IN_POST_COPY'
  | 'MIGRATION_NOT_ACTIVE';

/** Stable codes of {@link LibvirtError}. */
export type LibvirtErrorKind =
  /** libvirt refused or failed the call; `libvirtCode` says why. */
  | 'LIBVIRT_ERROR'
  /** The call did not finish before its deadline; the daemon may be hung. */
  | 'LIBVIRT_TIMEOUT'
  /** The connection is gone (daemon died, keepalive expired, or closed by us). */
  | 'LIBVIRT_CONNECTION_LOST'
  /**
   * This libvirt (the client library, the host's daemon or the connection's driver) lacks the call or the
   * option asked for; the message names the version it needs and the fix.
   */
  | 'LIBVIRT_UNSUPPORTED'
  /**
   * The domain has a job running that this call cannot run beside (e.g. a dirty-rate calculation while the
   * domain migrates); the message names the job.
   */
  | 'LIBVIRT_DOMAIN_BUSY';

/** Stable codes of {@link MigrationJobError}. */
export type MigrationJobErrorCode =
  | 'ALREADY_MIGRATING'
  | 'INVALID_OPTIONS'
  | 'NOT_IN_POST_COPY'
  | 'NOT_RECOVERING';

/** Every stable code any error of this library carries. */
export type ErrorCode =
  | MigrationPolicyErrorCode
  | LibvirtErrorKind
  | MigrationJobErrorCode
  | 'LIBVIRT_UNAVAILABLE';

/** What was wrong, for programs: the offending key and value, when there is one. */
export interface ErrorDetails {
  /** The metadata key, `nova.conf` option or argument at fault. */
  key?: string;
  /** The value found there, as given (kept bounded, see {@link boundValue}). */
  value?: unknown;
}

/** The JSON form of every error of this library. */
export interface SerializedError {
  name: string;
  code: ErrorCode;
  message: string;
  key?: string;
  value?: unknown;
  [extra: string]: unknown;
}

/** The most characters of a value an error keeps or prints. */
export const MAX_ERROR_VALUE_CHARS = 200;

/**
 * A copy of `value` small enough to keep in an error: strings and big collections are cut at
 * {@link MAX_ERROR_VALUE_CHARS} characters with a note of the original length; other values are kept as they
 * are when they are primitives, and described otherwise (an error must not hold a caller's object graph).
 *
 * @example
 * ```ts
 * boundValue('x'.repeat(1e7)); // 'xxx…(10000000 chars)' — 200 characters plus the note
 * boundValue(42); // 42
 * ```
 */
export function boundValue(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.length <= MAX_ERROR_VALUE_CHARS
      ? value
      : `${value.slice(0, MAX_ERROR_VALUE_CHARS)}…(${value.length} chars)`;
  }
  if (typeof value === 'symbol') return boundValue(value.toString());
  if (typeof value === 'function') return boundValue(`function ${value.name || '(anonymous)'}`);
  if (value === null || typeof value !== 'object') return value;
  return describe(value);
}

function describe(value: unknown): string {
  let text: string;
  try {
    text = Array.isArray(value) ? `array(${value.length})` : Object.prototype.toString.call(value);
  } catch {
    text = typeof value;
  }
  return text.length <= MAX_ERROR_VALUE_CHARS ? text : `${text.slice(0, MAX_ERROR_VALUE_CHARS)}…`;
}

/**
 * The base of every error this library throws: a string `code`, optional `key` and bounded `value`, and a
 * JSON form. Catch this to catch them all.
 *
 * @example
 * ```ts
 * import { LibvirtMigrationError } from 'libvirt-migration-policy';
 * try { await job.forceComplete(); } catch (err) {
 *   if (err instanceof LibvirtMigrationError) console.error(JSON.stringify(err)); // {"name":…,"code":…}
 * }
 * ```
 */
export abstract class LibvirtMigrationError extends Error {
  /** Stable machine-readable reason. */
  abstract readonly code: ErrorCode;
  /** The key at fault, when there is one. */
  readonly key: string | undefined;
  /** The value at fault, bounded by {@link boundValue}. */
  readonly value: unknown;

  constructor(message: string, details: ErrorDetails & { cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.key = details.key;
    this.value = boundValue(details.value);
  }

  /** `{ name, code, message, key, value, … }`, for logs and RPC replies. */
  toJSON(): SerializedError {
    const out: SerializedError = { name: this.name, code: this.code, message: this.message };
    if (this.key !== undefined) out.key = this.key;
    if (this.value !== undefined) out.value = this.value;
    return out;
  }
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
export class MigrationPolicyError extends LibvirtMigrationError {
  override readonly name = 'MigrationPolicyError';
  readonly code: MigrationPolicyErrorCode;

  constructor(code: MigrationPolicyErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details);
    this.code = code;
  }
}

/**
 * libvirt refused or failed a call (`code` `LIBVIRT_ERROR`, with libvirt's own `virErrorNumber` in
 * `libvirtCode` and `virErrorDomain` in `libvirtDomain`, so callers can tell `VIR_ERR_OPERATION_INVALID`
 * (55) from `VIR_ERR_NO_DOMAIN` (42)), a call missed its deadline (`LIBVIRT_TIMEOUT`), the connection is
 * gone (`LIBVIRT_CONNECTION_LOST`), this libvirt lacks what was asked (`LIBVIRT_UNSUPPORTED`), or the
 * domain's running job forbids the call (`LIBVIRT_DOMAIN_BUSY`).
 *
 * @example
 * ```ts
 * import { LibvirtError } from 'libvirt-migration-policy';
 * try { await conn.lookupDomainByName('nope'); }
 * catch (err) { if (err instanceof LibvirtError && err.libvirtCode === 42) console.error('no such domain'); }
 * ```
 */
export class LibvirtError extends LibvirtMigrationError {
  override readonly name = 'LibvirtError';
  readonly code: LibvirtErrorKind;
  /** libvirt's `virErrorNumber` (0 when libvirt reported none, e.g. on a timeout). */
  readonly libvirtCode: number;
  /** libvirt's `virErrorDomain` (which subsystem raised it). */
  readonly libvirtDomain: number;
  /** The libvirt function that failed. */
  readonly call: string;
  /** libvirt's own message, without the call and codes this error's `message` adds. */
  readonly libvirtMessage: string;

  constructor(
    call: string,
    libvirtCode: number,
    libvirtDomain: number,
    message: string,
    kind: LibvirtErrorKind = 'LIBVIRT_ERROR',
  ) {
    super(`${call}: ${message} (libvirt error ${libvirtCode}, domain ${libvirtDomain})`);
    this.code = kind;
    this.call = call;
    this.libvirtCode = libvirtCode;
    this.libvirtDomain = libvirtDomain;
    this.libvirtMessage = message;
  }

  /**
   * The same failure under another stable code, e.g. a refusal that turns out to be a lost connection once
   * libvirt calls the connection dead.
   *
   * @example
   * ```ts
   * const lost = err.withCode('LIBVIRT_CONNECTION_LOST'); // same call, libvirt code and message
   * ```
   */
  withCode(kind: LibvirtErrorKind): LibvirtError {
    return new LibvirtError(this.call, this.libvirtCode, this.libvirtDomain, this.libvirtMessage, kind);
  }

  override toJSON(): SerializedError {
    return {
      ...super.toJSON(),
      call: this.call,
      libvirtCode: this.libvirtCode,
      libvirtDomain: this.libvirtDomain,
    };
  }
}

/**
 * `libvirt.so.0` could not be loaded on this machine. The pure policy functions keep working; only calls that
 * need libvirt throw this.
 *
 * @example
 * ```ts
 * import { LibvirtUnavailableError, openConnection } from 'libvirt-migration-policy';
 * try { await openConnection('qemu:///system'); }
 * catch (err) { if (err instanceof LibvirtUnavailableError) console.error(err.message); }
 * ```
 */
export class LibvirtUnavailableError extends LibvirtMigrationError {
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

/**
 * A migration job could not be started: the domain is already being migrated by this process, or the
 * options are incomplete. A migration that fails later is reported by the job's outcome, not thrown.
 *
 * @example
 * ```ts
 * import { MigrationJobError, migrate } from 'libvirt-migration-policy';
 * try { await migrate(options); }
 * catch (err) { if (err instanceof MigrationJobError && err.code === 'ALREADY_MIGRATING') retryLater(); }
 * ```
 */
export class MigrationJobError extends LibvirtMigrationError {
  override readonly name = 'MigrationJobError';
  readonly code: MigrationJobErrorCode;

  constructor(
    code: MigrationJobErrorCode,
    message: string,
    details: ErrorDetails & { cause?: unknown } = {},
  ) {
    super(message, details);
    this.code = code;
  }
}
