/**
 * Every error this library throws, in one place. Each has a stable string `code` that callers can switch on,
 * a message naming the key, the value and the fix, and serialises to JSON with a bounded copy of the value
 * (an error never keeps or prints a 10 MB input whole). Codes never change meaning between versions.
 *
 * @module
 */

import { redactText } from './redact.js';

/** Stable codes of {@link MigrationPolicyError}. */
export type MigrationPolicyErrorCode =
  | 'INVALID_BOOLEAN'
  | 'FLAVOR_IMAGE_CONFLICT'
  | 'CONFLICTING_FEATURES'
  | 'INVALID_HOST_CONFIG'
  | 'INVALID_CONFIG_FILE'
  | 'INVALID_ARGUMENT'
  | 'INVALID_DOMAIN_XML'
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
  | 'NOT_RECOVERING'
  /**
   * A `POSTCOPY_RESUME` attempt moved nothing for the watchdog's bound (`watchdog.resumeAttemptMs`): the job
   * gave it up and goes on with the next attempt, as for one that failed. The message says what was seen.
   */
  | 'RESUME_STALLED';

/** Stable codes of {@link PlacementError}. */
export type PlacementErrorCode =
  /** Placement answered with an error status not covered below; `status`, `placementCode` say which. */
  | 'PLACEMENT_HTTP_ERROR'
  /** Placement refused the token (401) or its owner's role (403). */
  | 'PLACEMENT_UNAUTHORIZED'
  /** The token (or the function giving it) failed, or gave something an HTTP header cannot carry. */
  | 'PLACEMENT_INVALID_TOKEN'
  /** No such resource provider (404). */
  | 'PLACEMENT_NOT_FOUND'
  /** No answer at all: connection refused, DNS, TLS, reset. */
  | 'PLACEMENT_UNREACHABLE'
  /** The request (token, answer and body included) did not finish before its deadline. */
  | 'PLACEMENT_TIMEOUT'
  /** The caller's signal aborted the request. */
  | 'PLACEMENT_ABORTED'
  /** Placement's answer is not what its API documents: not JSON, the wrong shape, too big. */
  | 'PLACEMENT_BAD_RESPONSE'
  /** This Placement is too old for the call: its maximum microversion is below what the call needs. */
  | 'PLACEMENT_MICROVERSION'
  /** A trait this Placement does not know (its os-traits is older, or a `CUSTOM_` trait not created). */
  | 'PLACEMENT_UNKNOWN_TRAIT'
  /** The provider's generation kept changing under us (409 `placement.concurrent_update`) past the retries. */
  | 'PLACEMENT_CONFLICT';

/** Stable codes of {@link MigrationTlsError}: why a migration with native TLS cannot, or could not, run. */
export type TlsErrorCode =
  /** A certificate or key QEMU (or libvirt) needs is not there, or not readable. */
  | 'TLS_CERTIFICATE_MISSING'
  /** A certificate is past its end date, or before its start date. */
  | 'TLS_CERTIFICATE_EXPIRED'
  /** A certificate is not issued by the CA the other side trusts. */
  | 'TLS_CERTIFICATE_UNTRUSTED'
  /** A file that is not a certificate or key, a key that does not belong to its certificate, or a certificate not made for its use. */
  | 'TLS_CERTIFICATE_INVALID'
  /** The destination's certificate does not name the host the source verifies. */
  | 'TLS_NAME_MISMATCH'
  /** The hosts' TLS handshake failed and libvirt did not say why. */
  | 'TLS_HANDSHAKE_FAILED';

/** Every stable code any error of this library carries. */
export type ErrorCode =
  | MigrationPolicyErrorCode
  | LibvirtErrorKind
  | MigrationJobErrorCode
  | PlacementErrorCode
  | TlsErrorCode
  | 'LIBVIRT_UNAVAILABLE';

/** What was wrong, for programs: the offending key and value, when there is one. */
export interface ErrorDetails {
  /** The metadata key, `nova.conf` option or argument at fault. */
  key?: string;
  /** The value found there, as given (kept bounded: a long string is cut at 200 characters, an object described). */
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
  /** The value at fault, bounded: a long string is cut at 200 characters, an object described. */
  readonly value: unknown;

  constructor(message: string, details: ErrorDetails & { cause?: unknown } = {}) {
    // Whatever reached the message — a URI with a password, libvirt echoing one — leaves it here (src/redact.ts).
    super(redactText(message), details.cause === undefined ? undefined : { cause: details.cause });
    this.key = details.key;
    const value = boundValue(details.value);
    this.value = typeof value === 'string' ? redactText(value) : value;
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
    this.libvirtMessage = redactText(message);
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

/** What a {@link PlacementError} knows of the request and of Placement's answer. */
export interface PlacementErrorDetails extends ErrorDetails {
  /** The HTTP status Placement answered, when it answered. */
  status?: number;
  /** Placement's own `errors[].code`, e.g. `placement.concurrent_update` (microversion ≥ 1.23). */
  placementCode?: string;
  /** Placement's request id (`openstack-request-id` / `x-openstack-request-id`), to find it in its log. */
  requestId?: string;
  /** The request, e.g. `PUT /resource_providers/{uuid}/traits` (never a token). */
  request?: string;
}

/** What a {@link MigrationTlsError} is about. */
export interface TlsErrorDetails {
  /** The host at fault, as the caller knows it: `the source (compute-1)`, `the destination (dst.lab)`. */
  host: string;
  /** The certificate or key file, as the host at fault sees it. */
  file?: string;
  /** The host name the source verifies in the destination's certificate. */
  name?: string;
  /** What the operator does about it. */
  fix: string;
  /** libvirt's error, when the refusal comes from libvirt or QEMU. */
  cause?: unknown;
}

/**
 * A Placement request failed: Placement refused it (`status`, its own `placementCode` and the `requestId` to
 * find it in Placement's log), could not be reached or did not answer in time, answered something that is
 * not its API, is too old for the call, or does not know a trait. The message never contains the token.
 *
 * @example
 * ```ts
 * import { PlacementError, reportHostTraits } from 'libvirt-migration-policy';
 * try { await reportHostTraits({ placement, provider, traits }); }
 * catch (err) {
 *   if (err instanceof PlacementError && err.code === 'PLACEMENT_UNKNOWN_TRAIT') console.error(err.message);
 * }
 * ```
 */
export class PlacementError extends LibvirtMigrationError {
  override readonly name = 'PlacementError';
  readonly code: PlacementErrorCode;
  /** The HTTP status, when Placement answered. */
  readonly status: number | undefined;
  /** Placement's `errors[].code`, e.g. `placement.concurrent_update`. */
  readonly placementCode: string | undefined;
  /** Placement's request id, e.g. `req-5788e144-…`. */
  readonly requestId: string | undefined;
  /** Method and path of the request, e.g. `GET /resource_providers/{uuid}/traits`. */
  readonly request: string | undefined;

  constructor(code: PlacementErrorCode, message: string, details: PlacementErrorDetails = {}) {
    super(message, details);
    this.code = code;
    this.status = details.status;
    this.placementCode = details.placementCode;
    this.requestId = details.requestId;
    this.request = details.request;
  }

  override toJSON(): SerializedError {
    const out = super.toJSON();
    if (this.status !== undefined) out.status = this.status;
    if (this.placementCode !== undefined) out.placementCode = this.placementCode;
    if (this.requestId !== undefined) out.requestId = this.requestId;
    if (this.request !== undefined) out.request = this.request;
    return out;
  }
}

/**
 * A migration with native TLS (`live_migration_with_native_tls`) that cannot run, or failed, because of its
 * certificates: missing, expired, from another CA, not matching their key, or not naming the destination —
 * with the host, the file or the name, and the fix. Found before the migration starts where the agent can
 * read the files (the guest untouched), or mapped from libvirt's and QEMU's error after it failed (the
 * guest still running on the source, as the outcome states).
 *
 * @example
 * ```ts
 * import { MigrationTlsError } from 'libvirt-migration-policy';
 * const outcome = await job.outcome;
 * if (outcome.error instanceof MigrationTlsError) console.error(outcome.error.code, outcome.error.file, outcome.error.fix);
 * ```
 */
export class MigrationTlsError extends LibvirtMigrationError {
  override readonly name = 'MigrationTlsError';
  readonly code: TlsErrorCode;
  /** The host at fault. */
  readonly host: string;
  /** The certificate or key at fault, when there is one. */
  readonly file: string | undefined;
  /** The name the destination's certificate must carry, when that is the problem. */
  readonly tlsName: string | undefined;
  /** What to do about it. */
  readonly fix: string;

  /** `problem` says what is wrong, naming the host and the file or name; the message is it and the fix. */
  constructor(code: TlsErrorCode, problem: string, details: TlsErrorDetails) {
    super(`${problem}: ${details.fix}`, {
      key: details.file ?? (details.name === undefined ? 'tls' : 'tls.destination'),
      value: details.name ?? details.file,
      ...(details.cause === undefined ? {} : { cause: details.cause }),
    });
    this.code = code;
    this.host = redactText(details.host);
    this.file = details.file;
    this.tlsName = details.name;
    this.fix = redactText(details.fix);
  }

  override toJSON(): SerializedError {
    const out: SerializedError = { ...super.toJSON(), host: this.host, fix: this.fix };
    if (this.file !== undefined) out.file = this.file;
    if (this.tlsName !== undefined) out.tlsName = this.tlsName;
    return out;
  }
}
