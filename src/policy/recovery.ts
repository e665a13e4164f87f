/**
 * Recovering a broken post-copy: whether `VIR_MIGRATE_POSTCOPY_RESUME` may be sent, the retry schedule, and
 * what an operator can still do when recovery is impossible. Pure: the migration shell asks, then acts.
 *
 * @module
 */
import { MigrationPolicyError } from '../errors.js';
import { MigrateFlags } from './flags.js';
import { frozenDeep } from './guard.js';
import { quote } from './quote.js';
import { encodeVersion, formatVersion, MIN_VERSIONS, type Version } from './versions.js';

/**
 * libvirt releases whose **destination** daemon crashes on `POSTCOPY_RESUME` (segfault in the resume branch of
 * the prepare phase: a NULL fd pointer handed to `qemuProcessIncomingDefNew`), as `[from, below)` encoded
 * versions. Observed on 11.3.0 (Debian's 11.3.0-2~bpo12+1), 9 attempts of 9; 9.0 resumes fine. Releases not
 * listed were not tried here: extend the list with {@link RecoveryOptions.refuseDestination}.
 */
export const RESUME_CRASHING_LIBVIRT: readonly (readonly [from: number, below: number])[] = frozenDeep([
  [11_003_000, 11_004_000],
]);

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
  /**
   * Resume by itself when the post-copy phase fails. Default true; `postCopyRecovery: false` sets it false:
   * the job then waits, for `windowMs`, for `job.recover()`. A post-copy paused on request always waits.
   */
  automatic: boolean;
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
  automatic: true,
  windowMs: 600_000,
  maxAttempts: 30,
  firstDelayMs: 1_000,
  maxDelayMs: 30_000,
});

const BOUNDS: Record<
  Exclude<keyof RecoveryOptions, 'refuseDestination' | 'automatic'>,
  [min: number, max: number]
> = {
  windowMs: [0, 86_400_000],
  maxAttempts: [0, 10_000],
  firstDelayMs: [0, 3_600_000],
  maxDelayMs: [0, 3_600_000],
};

/**
 * The recovery options with defaults filled in, validated; `false` turns automatic recovery off (the window
 * still bounds how long `job.recover()` is waited for).
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` naming the option, its value and what to give.
 *
 * @example
 * ```ts
 * resolveRecovery({ windowMs: 60_000 }); // { automatic: true, windowMs: 60000, maxAttempts: 30, firstDelayMs: 1000, maxDelayMs: 30000 }
 * resolveRecovery(false).automatic; // false
 * ```
 */
export function resolveRecovery(options: Partial<RecoveryOptions> | boolean | undefined): RecoveryOptions {
  if (options === false) return { ...DEFAULT_RECOVERY, automatic: false };
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
  const automatic = (options as Record<string, unknown>).automatic;
  if (automatic !== undefined && typeof automatic !== 'boolean') {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `postCopyRecovery.automatic is ${quote(automatic)}: give true or false`,
      { key: 'postCopyRecovery.automatic', value: automatic },
    );
  }
  if (automatic !== undefined) out.automatic = automatic;
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
    if (!(key in BOUNDS) && key !== 'refuseDestination' && key !== 'automatic') {
      throw new MigrationPolicyError(
        'INVALID_ARGUMENT',
        `postCopyRecovery has an unknown option ${quote(key)}: use automatic, windowMs, maxAttempts, firstDelayMs, maxDelayMs or refuseDestination`,
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

/**
 * The flags of a resume attempt: the original migration's, with `POSTCOPY` and `POSTCOPY_RESUME` (libvirt
 * requires both, and the rest as the migration was started).
 *
 * @example
 * ```ts
 * flagNames(resumeFlags(MigrateFlags.LIVE | MigrateFlags.PEER2PEER)); // ['LIVE', 'PEER2PEER', 'POSTCOPY', 'POSTCOPY_RESUME']
 * ```
 */
export function resumeFlags(flags: number): number {
  return (flags | MigrateFlags.POSTCOPY | MigrateFlags.POSTCOPY_RESUME) >>> 0;
}

/**
 * What one host says of the guest's copy there, after a post-copy: `post-copy-failed` is libvirt's
 * `paused`/`running` with reason `POSTCOPY_FAILED`; `gone` no domain (or one shut off); `unknown` unreadable.
 */
export type CopyPhase = 'running' | 'paused' | 'post-copy' | 'post-copy-failed' | 'gone' | 'unknown';

/** Where the guest's state is, once a post-copy did not complete, and what an operator must do about it. */
export interface GuestSplit {
  source: CopyPhase;
  destination: CopyPhase;
  /**
   * The copy that holds the guest: `destination` runs it but its missing pages are only on the source (keep
   * both); `source` when QEMU resumed the guest there; `none` when neither holds it whole any more;
   * `unknown` when a host could not be read.
   */
  authoritative: 'source' | 'destination' | 'none' | 'unknown';
  /** The copy that must never run again and should be destroyed, when there is one. */
  destroy?: 'source' | 'destination';
  /** The operator's next step, in words. */
  advice: string;
}

const RESUME_HOW =
  'resume the migration when the link is back: attachMigration() then job.recover(), or `virsh migrate --live --p2p --postcopy --postcopy-resume <guest> <destination>` on the source';

/**
 * Where the guest is after a post-copy that did not complete, from both hosts' states, and what to do. The
 * library never resumes the source after the switch: the destination has run the guest since, so the
 * source's memory is stale.
 *
 * @example
 * ```ts
 * guestSplit({ source: 'post-copy-failed', destination: 'post-copy-failed' }).authoritative; // 'destination' (keep both)
 * guestSplit({ source: 'running', destination: 'post-copy-failed' }).destroy; // 'destination'
 * ```
 */
export function guestSplit(copies: {
  source: CopyPhase;
  destination: CopyPhase;
  /** Why resuming was refused (see {@link resumeBlocker}): the advice then starts with what unblocks it. */
  refused?: string;
}): GuestSplit {
  const { source, destination } = copies;
  const split = splitOf({ source, destination });
  if (copies.refused === undefined || split.authoritative !== 'destination') return split;
  return {
    ...split,
    advice: `resuming is not sent here (${copies.refused}): first run a libvirt that resumes on the destination (9.0 does; restarting libvirtd leaves its guests running), then ${split.advice}`,
  };
}

function splitOf(copies: { source: CopyPhase; destination: CopyPhase }): GuestSplit {
  const { source, destination } = copies;
  const destinationAlive =
    destination === 'post-copy-failed' ||
    destination === 'post-copy' ||
    destination === 'running' ||
    destination === 'paused';
  if (source === 'running' && destinationAlive) {
    return {
      ...copies,
      authoritative: 'source',
      destroy: 'destination',
      advice:
        'QEMU resumed the guest on the source before the destination ran it: the source copy is whole and runs; destroy the copy on the destination (`virsh destroy` there), it must never run',
    };
  }
  if (source === 'post-copy-failed' && destinationAlive) {
    return {
      ...copies,
      authoritative: 'destination',
      advice: `the guest runs on the destination and the pages it has not fetched yet are only on the paused source: keep both, never resume or destroy the source; ${RESUME_HOW}`,
    };
  }
  if (source === 'post-copy-failed' && destination === 'gone') {
    return {
      ...copies,
      authoritative: 'none',
      advice:
        "the destination's copy is gone (its QEMU or host stopped) after the guest ran there: the paused source holds memory older than the switch, so neither copy is whole; restart the guest from its disks, and keep the source paused until then",
    };
  }
  return {
    ...copies,
    authoritative: 'unknown',
    advice: `the guest's copies could not all be read (source ${source}, destination ${destination}): check both hosts with \`virsh domstate --reason\` before acting, and never resume a source paused with reason post-copy failed`,
  };
}
