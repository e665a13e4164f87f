/**
 * Recovering a broken post-copy: whether `VIR_MIGRATE_POSTCOPY_RESUME` may be sent, the retry schedule, and
 * what an operator can still do when recovery is impossible. Pure: the migration shell asks, then acts.
 *
 * @module
 */
import { MigrationPolicyError } from '../errors.js';
import { quote } from './quote.js';
import { encodeVersion, formatVersion, MIN_VERSIONS, type Version } from './versions.js';

/**
 * libvirt releases whose **destination** daemon crashes on `POSTCOPY_RESUME` (segfault in the resume branch of
 * the prepare phase: a NULL fd pointer handed to `qemuProcessIncomingDefNew`), as `[from, below)` encoded
 * versions. Observed on 11.3.0 (Debian's 11.3.0-2~bpo12+1), 9 attempts of 9; 9.0 resumes fine. Releases not
 * listed were not tried here: extend the list with {@link RecoveryOptions.refuseDestination}.
 */
export const RESUME_CRASHING_LIBVIRT: readonly (readonly [from: number, below: number])[] = [
  [11_003_000, 11_004_000],
];

/**
 * Why `POSTCOPY_RESUME` must not be sent between these hosts, or `undefined` when it may. Sending it to a
 * destination whose libvirtd crashes on it would take down the management of every guest on that host, at
 * every retry.
 *
 * @example
 * ```ts
 * resumeBlocker({ sourceLibvirt: '9.0.0', destinationLibvirt: '11.3.0' });
 * // 'the destination runs libvirt 11.3.0, whose libvirtd crashes on POSTCOPY_RESUME …'
 * resumeBlocker({ sourceLibvirt: '9.0.0', destinationLibvirt: '9.0.0' }); // undefined
 * ```
 */
export function resumeBlocker(versions: {
  sourceLibvirt: Version;
  destinationLibvirt: Version;
  /** More crashing releases, e.g. from an operator's own tests: `(encoded) => boolean`. */
  refuseDestination?: (libvirtVersion: number) => boolean;
}): string | undefined {
  const source = encodeVersion(versions.sourceLibvirt, 'sourceLibvirt');
  const destination = encodeVersion(versions.destinationLibvirt, 'destinationLibvirt');
  const minimum = MIN_VERSIONS.postCopyResume.libvirt;
  for (const [side, version] of [
    ['source', source],
    ['destination', destination],
  ] as const) {
    if (version < minimum) {
      return `the ${side} runs libvirt ${formatVersion(version)}, older than ${formatVersion(minimum)}, the first that can resume a failed post-copy (POSTCOPY_RESUME)`;
    }
  }
  const listed = RESUME_CRASHING_LIBVIRT.some(([from, below]) => destination >= from && destination < below);
  if (listed || versions.refuseDestination?.(destination) === true) {
    return `the destination runs libvirt ${formatVersion(destination)}, whose libvirtd crashes on POSTCOPY_RESUME (a NULL fd in the resume branch of its prepare phase): resuming there would take down the management of every guest on that host, so the library does not send it`;
  }
  return undefined;
}

/** How automatic recovery of a failed post-copy proceeds. */
export interface RecoveryOptions {
  /** How long after the failure the job keeps trying, in ms. Default 600,000 (10 min). */
  windowMs: number;
  /** The most resume attempts. Default 30. */
  maxAttempts: number;
  /** Wait before the first attempt, in ms; doubled after each failed one. Default 1,000. */
  firstDelayMs: number;
  /** The longest wait between attempts, in ms. Default 30,000. */
  maxDelayMs: number;
  /** More destination libvirt releases to refuse (see {@link resumeBlocker}). */
  refuseDestination?: (libvirtVersion: number) => boolean;
}

/**
 * Defaults: a broken link is usually back within seconds (a switch reboot, a flapping port) or not for a
 * long time; trying often at first and then every 30 s for 10 minutes covers the first without hammering
 * the destination in the second, while the guest waits paused on its missing pages.
 */
export const DEFAULT_RECOVERY: Readonly<RecoveryOptions> = Object.freeze({
  windowMs: 600_000,
  maxAttempts: 30,
  firstDelayMs: 1_000,
  maxDelayMs: 30_000,
});

const BOUNDS: Record<Exclude<keyof RecoveryOptions, 'refuseDestination'>, [min: number, max: number]> = {
  windowMs: [0, 86_400_000],
  maxAttempts: [0, 10_000],
  firstDelayMs: [0, 3_600_000],
  maxDelayMs: [0, 3_600_000],
};

/**
 * The recovery options with defaults filled in, validated; `false` (no automatic recovery) gives `undefined`.
 *
 * @example
 * ```ts
 * resolveRecovery({ windowMs: 60_000 }); // { windowMs: 60000, maxAttempts: 30, firstDelayMs: 1000, maxDelayMs: 30000 }
 * resolveRecovery(false); // undefined
 * ```
 */
export function resolveRecovery(
  options: Partial<RecoveryOptions> | boolean | undefined,
): RecoveryOptions | undefined {
  if (options === false) return undefined;
  if (options === undefined || options === true) return { ...DEFAULT_RECOVERY };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `postCopyRecovery is ${quote(options)}: give true, false or an object such as { windowMs: 600000 }`,
      { key: 'postCopyRecovery', value: options },
    );
  }
  const out: RecoveryOptions = { ...DEFAULT_RECOVERY };
  for (const [key, [min, max]] of Object.entries(BOUNDS) as [keyof typeof BOUNDS, [number, number]][]) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new MigrationPolicyError(
        'INVALID_ARGUMENT',
        `postCopyRecovery.${key} is ${quote(value)}: give a whole number from ${min} to ${max}`,
        { key: `postCopyRecovery.${key}`, value },
      );
    }
    out[key] = value;
  }
  const refuse = (options as Record<string, unknown>).refuseDestination;
  if (refuse !== undefined && typeof refuse !== 'function') {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `postCopyRecovery.refuseDestination is ${quote(refuse)}: give a function (libvirtVersion: number) => boolean`,
      { key: 'postCopyRecovery.refuseDestination', value: refuse },
    );
  }
  if (typeof refuse === 'function') out.refuseDestination = refuse as (v: number) => boolean;
  for (const key of Object.keys(options)) {
    if (!(key in BOUNDS) && key !== 'refuseDestination') {
      throw new MigrationPolicyError(
        'INVALID_ARGUMENT',
        `postCopyRecovery has an unknown option ${quote(key)}: use windowMs, maxAttempts, firstDelayMs, maxDelayMs or refuseDestination`,
        { key: `postCopyRecovery.${key}`, value: key },
      );
    }
  }
  return out;
}

/**
 * When to make resume attempt `attempt` (1 for the first), in ms after the failure, or `undefined` when the
 * window or the attempts are used up. Each wait doubles, up to `maxDelayMs`.
 *
 * @example
 * ```ts
 * nextAttemptAt(1, 0, DEFAULT_RECOVERY); // 1000
 * nextAttemptAt(2, 1500, DEFAULT_RECOVERY); // 3500 (1500 + 2000)
 * ```
 */
export function nextAttemptAt(
  attempt: number,
  lastAttemptAt: number,
  options: RecoveryOptions,
): number | undefined {
  if (attempt > options.maxAttempts) return undefined;
  const delay = Math.min(options.maxDelayMs, options.firstDelayMs * 2 ** Math.min(attempt - 1, 30));
  const at = lastAttemptAt + delay;
  return at > options.windowMs ? undefined : at;
}
