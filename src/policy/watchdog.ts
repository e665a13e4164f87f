/**
 * The stall rule of the job's watchdog, pure: while libvirt holds a call or a job — the migrate call, a
 * post-copy resume attempt, an abort, a force-complete switch — samples of libvirt's job and domain state
 * are fed in (and timer ticks, as samples with nothing read); no movement for a bounded time is a `stalled`
 * verdict with what was seen. The job owns the timers and acts on the verdict; this only decides.
 *
 * What libvirt 9.0 and QEMU 10.0.2 do to a stuck step, from their sources, and so why each bound is what it is:
 * - libvirt's monitor calls have no deadline (src/qemu/qemu_monitor.c `qemuMonitorSend` waits on a condition
 *   with no timeout) and neither have its remote calls to the other daemon (`qemuDomainObjEnterRemote`; the
 *   keepalive only notices a daemon that stopped answering altogether). A step whose QEMU or peer daemon
 *   hangs therefore never returns by itself.
 * - Every step first takes a domain job; waiting for it is bounded by `VIR_JOB_WAIT_TIME`, 30 s
 *   (src/conf/virdomainjob.c `virDomainObjBeginJobInternal`), after which it fails with "cannot acquire state
 *   change lock". A bound under 30 s would call stalled what libvirt still waits for by design.
 * - In pre-copy, QEMU's counters move with every rate-limit window (100 ms, migration.c `BUFFER_DELAY`),
 *   whatever the bandwidth; the only quiet spells are the setup (the destination's QEMU starting) and the
 *   switchover pause (bounded by the allowed downtime).
 * - A post-copy resume moves no page before the destination sent back its received-pages bitmap
 *   (`MIG_RP_MSG_RECV_BITMAP`: one bit per page) and the resume handshake ended (migration.c
 *   `postcopy_do_resume`, `postcopy_resume_handshake`): that bitmap, at the bandwidth, is the part of the bound
 *   that grows with the guest.
 * - An abort (`virDomainAbortJob`) ends a pre-copy through QMP `migrate_cancel` (qemu_driver.c
 *   `qemuDomainAbortJobMigration` → qemu_migration.c `qemuMigrationSrcCancel`); QEMU's `migration_cancel`
 *   shuts the sockets down and moves to `cancelling`, and only the migration thread's exit (its cleanup,
 *   `migration_cleanup`) makes it `cancelled`. No byte moves meanwhile, so an abort's evidence is the job
 *   ending or the domain's state changing, not bytes.
 *
 * @module
 */
import { MigrationPolicyError } from '../errors.js';
import { checkNumber, checkOptional, checkOptions } from './numbers.js';
import { quote } from './quote.js';
import { mib, secs } from './units.js';

/** A step libvirt can sit on. */
export type WatchedStep = 'migrate-call' | 'resume-attempt' | 'abort' | 'force-complete-switch';

/** The steps, in a stable order. */
export const WATCHED_STEPS: readonly WatchedStep[] = Object.freeze([
  'migrate-call',
  'resume-attempt',
  'abort',
  'force-complete-switch',
]);

/** What one look at libvirt saw. Everything but `atMs` is optional: a timer tick reads nothing. */
export interface WatchSample {
  /** When, ms, on the job's clock. */
  atMs: number;
  /** libvirt's job type (`virDomainGetJobStats`): `none`, `unbounded`, `completed`, `failed`, `cancelled`… */
  jobType?: string;
  /** `data_processed` (or `memory_processed`). */
  processedBytes?: number;
  /** `data_remaining` (or `memory_remaining`). */
  remainingBytes?: number;
  /** `memory_iteration`. */
  iteration?: number;
  /** The domain's state on the watched host, e.g. `paused`. */
  domainState?: string;
  /** Its reason, e.g. `post-copy failed`. */
  domainReason?: string;
}

/** How long each step may go without movement, ms. */
export interface WatchdogBounds {
  migrateCallMs: number;
  resumeAttemptMs: number;
  abortMs: number;
  forceCompleteSwitchMs: number;
}

/** What sizes the default bounds. */
export interface WatchdogSizing {
  /** The guest's memory: sizes the resume's received-pages bitmap. */
  memoryBytes?: number;
  /** The migration's bandwidth (`live_migration_bandwidth`, or measured); absent or 0: unlimited. */
  bandwidthBytesPerSecond?: number;
  /** Default 4096. */
  pageSizeBytes?: number;
}

/** libvirt's wait for a domain job (`VIR_JOB_WAIT_TIME`), ms. */
export const LIBVIRT_JOB_WAIT_MS = 30_000;

/**
 * The fixed part of each default bound, ms: libvirt's job wait plus what the step does without moving a byte.
 * - migrate call: the job wait, plus starting QEMU on the destination and the switchover: 60 s;
 * - resume attempt: the job wait on each host (the source's, then the destination's prepare), and the
 *   handshake: 60 s, plus 4 × the received-pages bitmap at the bandwidth;
 * - abort: the job wait, then QEMU's cancel (sockets shut down, the migration thread exits): 45 s;
 * - force-complete switch: the job wait, then QEMU's switch at its next iteration check: 45 s.
 *
 * @example
 * ```ts
 * WATCHDOG_FIXED_MS.abortMs; // 45000
 * ```
 */
export const WATCHDOG_FIXED_MS: Readonly<WatchdogBounds> = Object.freeze({
  migrateCallMs: 2 * LIBVIRT_JOB_WAIT_MS,
  resumeAttemptMs: 2 * LIBVIRT_JOB_WAIT_MS,
  abortMs: LIBVIRT_JOB_WAIT_MS + 15_000,
  forceCompleteSwitchMs: LIBVIRT_JOB_WAIT_MS + 15_000,
});

/** The margin on a transfer that must finish before anything moves. */
const TRANSFER_MARGIN = 4;
const MAX_BOUND_MS = 86_400_000;
const BOUND_KEYS = Object.keys(WATCHDOG_FIXED_MS) as (keyof WatchdogBounds)[];

/**
 * The watchdog's bounds: each option as given, else its default — {@link WATCHDOG_FIXED_MS}, plus for a resume
 * attempt 4 × the time to send the received-pages bitmap (memory ÷ page size ÷ 8 bytes) at the bandwidth.
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` naming `watchdog.<option>` (a whole number of ms from
 * 1,000 to 86,400,000) or a sizing value.
 *
 * @example
 * ```ts
 * watchdogBounds({}, { memoryBytes: 64 * 1024 ** 3, bandwidthBytesPerSecond: 1024 ** 2 }).resumeAttemptMs; // 68000
 * watchdogBounds({ abortMs: 20_000 }).abortMs; // 20000
 * ```
 */
export function watchdogBounds(
  options?: Partial<WatchdogBounds>,
  sizing: WatchdogSizing = {},
): WatchdogBounds {
  const given = checkOptions('watchdog', options, BOUND_KEYS);
  const memory =
    checkOptional('memoryBytes', sizing.memoryBytes, { min: 0, max: 2 ** 63, unit: 'bytes' }) ?? 0;
  const bandwidth =
    checkOptional('bandwidthBytesPerSecond', sizing.bandwidthBytesPerSecond, {
      min: 0,
      max: 2 ** 63,
      unit: 'bytes per second (0: unlimited)',
    }) ?? 0;
  const page =
    checkOptional('pageSizeBytes', sizing.pageSizeBytes, { min: 1, max: 2 ** 30, integer: true }) ?? 4096;
  const bitmapBytes = memory / page / 8;
  const bitmapMs = bandwidth > 0 ? Math.ceil((TRANSFER_MARGIN * bitmapBytes * 1000) / bandwidth) : 0;
  const defaults: WatchdogBounds = {
    ...WATCHDOG_FIXED_MS,
    resumeAttemptMs: Math.min(MAX_BOUND_MS, WATCHDOG_FIXED_MS.resumeAttemptMs + bitmapMs),
  };
  const out = { ...defaults };
  for (const key of BOUND_KEYS) {
    const value = checkOptional(`watchdog.${key}`, given[key], {
      min: 1_000,
      max: MAX_BOUND_MS,
      integer: true,
      unit: 'ms',
    });
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The watch of one step, plain data. Start it with {@link watchStart}. */
export interface WatchState {
  readonly step: WatchedStep;
  readonly startedAtMs: number;
  readonly lastMovementAtMs: number;
  /** Looks taken (samples and ticks). */
  readonly samples: number;
  /** The last sample that had anything in it. */
  readonly seen?: WatchSample;
  /** Stalled once: it stays stalled until a new watch starts. */
  readonly stalled: boolean;
}

/**
 * A new watch of `step`, starting at `atMs`.
 *
 * @example
 * ```ts
 * let watch = watchStart('resume-attempt', 1_000);
 * ```
 */
export function watchStart(step: WatchedStep, atMs: number): WatchState {
  if (!WATCHED_STEPS.includes(step)) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `step is ${quote(step)}: use ${WATCHED_STEPS.join(', ')}`,
      { key: 'step', value: step },
    );
  }
  checkNumber('atMs', atMs, { min: 0, max: 2 ** 53, unit: 'ms' });
  return { step, startedAtMs: atMs, lastMovementAtMs: atMs, samples: 0, stalled: false };
}

/** What the watch says after one look. */
export interface WatchVerdict {
  /** `moving`: this look saw movement; `quiet`: none, within the bound; `stalled`: none for the bound. */
  kind: 'moving' | 'quiet' | 'stalled';
  step: WatchedStep;
  boundMs: number;
  /** Since the last movement (or the start). */
  quietMs: number;
  lastMovementAtMs: number;
  samples: number;
  /** The last thing read. */
  seen: WatchSample | undefined;
  reason: string;
}

const BOUND_OF: Record<WatchedStep, keyof WatchdogBounds> = {
  'migrate-call': 'migrateCallMs',
  'resume-attempt': 'resumeAttemptMs',
  abort: 'abortMs',
  'force-complete-switch': 'forceCompleteSwitchMs',
};

/** Steps whose progress shows in the bytes; the others show theirs only in the job's or the domain's state. */
const BYTES_COUNT: Record<WatchedStep, boolean> = {
  'migrate-call': true,
  'resume-attempt': true,
  abort: false,
  'force-complete-switch': false,
};

/**
 * One look: the watch after `sample`, and whether the step is moving, quiet or stalled.
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` for a sample that goes back in time or a number that
 * is not finite and ≥ 0.
 *
 * @example
 * ```ts
 * const bounds = watchdogBounds();
 * let watch = watchStart('abort', 0);
 * ({ state: watch } = watchStep(watch, { atMs: 1_000, jobType: 'unbounded' }, bounds));
 * watchStep(watch, { atMs: 46_000, jobType: 'unbounded' }, bounds).verdict.kind; // 'stalled'
 * ```
 */
export function watchStep(
  state: WatchState,
  sample: WatchSample,
  bounds: WatchdogBounds,
): { state: WatchState; verdict: WatchVerdict } {
  checkWatchSample(sample, state);
  const boundMs = bounds[BOUND_OF[state.step]];
  const read = hasReading(sample);
  const moved = read && state.seen !== undefined && movedBetween(state.seen, sample, BYTES_COUNT[state.step]);
  const lastMovementAtMs = moved ? sample.atMs : state.lastMovementAtMs;
  const quietMs = sample.atMs - lastMovementAtMs;
  const stalled = state.stalled || quietMs >= boundMs;
  const next: WatchState = {
    ...state,
    lastMovementAtMs,
    samples: state.samples + 1,
    ...(read ? { seen: sample } : {}),
    stalled,
  };
  const seen = next.seen;
  const kind = stalled ? 'stalled' : moved ? 'moving' : 'quiet';
  return {
    state: next,
    verdict: {
      kind,
      step: state.step,
      boundMs,
      quietMs,
      lastMovementAtMs,
      samples: next.samples,
      seen,
      reason: reasonOf(kind, state.step, quietMs, boundMs, lastMovementAtMs, next.samples, seen),
    },
  };
}

function hasReading(s: WatchSample): boolean {
  return (
    s.jobType !== undefined ||
    s.processedBytes !== undefined ||
    s.remainingBytes !== undefined ||
    s.iteration !== undefined ||
    s.domainState !== undefined ||
    s.domainReason !== undefined
  );
}

function movedBetween(a: WatchSample, b: WatchSample, bytesCount: boolean): boolean {
  if (a.jobType !== b.jobType || a.domainState !== b.domainState || a.domainReason !== b.domainReason)
    return true;
  if (!bytesCount) return false;
  if (
    b.processedBytes !== undefined &&
    (a.processedBytes === undefined || b.processedBytes > a.processedBytes)
  )
    return true;
  if (b.remainingBytes !== undefined && b.remainingBytes !== a.remainingBytes) return true;
  return b.iteration !== undefined && b.iteration !== a.iteration;
}

function checkWatchSample(sample: WatchSample, state: WatchState): void {
  if (typeof sample !== 'object' || sample === null) {
    throw new MigrationPolicyError('INVALID_ARGUMENT', `sample is ${quote(sample)}: give { atMs, … }`, {
      key: 'sample',
      value: sample,
    });
  }
  checkNumber('sample.atMs', sample.atMs, { min: 0, max: 2 ** 53, unit: 'ms' });
  const bytes = { min: 0, max: 2 ** 63, unit: 'bytes' } as const;
  checkOptional('sample.processedBytes', sample.processedBytes, bytes);
  checkOptional('sample.remainingBytes', sample.remainingBytes, bytes);
  checkOptional('sample.iteration', sample.iteration, { min: 0, max: 2 ** 53, integer: true });
  const lastAt = Math.max(state.startedAtMs, state.seen?.atMs ?? 0);
  if (sample.atMs < lastAt) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `sample.atMs is ${sample.atMs}, before ${lastAt} (the watch's start or last sample): give samples in time order`,
      { key: 'sample.atMs', value: sample.atMs },
    );
  }
}

function describe(seen: WatchSample | undefined): string {
  if (seen === undefined) return 'nothing could be read';
  const parts: string[] = [];
  if (seen.jobType !== undefined) parts.push(`job ${seen.jobType}`);
  if (seen.processedBytes !== undefined) parts.push(`${mib(seen.processedBytes)} processed`);
  if (seen.remainingBytes !== undefined) parts.push(`${mib(seen.remainingBytes)} remaining`);
  if (seen.iteration !== undefined) parts.push(`iteration ${seen.iteration}`);
  if (seen.domainState !== undefined)
    parts.push(`domain ${seen.domainState}${seen.domainReason ? ` (${seen.domainReason})` : ''}`);
  return parts.join(', ');
}

function reasonOf(
  kind: WatchVerdict['kind'],
  step: WatchedStep,
  quietMs: number,
  boundMs: number,
  lastMovementAtMs: number,
  samples: number,
  seen: WatchSample | undefined,
): string {
  const what = describe(seen);
  if (kind === 'moving') return `${step}: moving (${what})`;
  if (kind === 'quiet')
    return `${step}: nothing moved for ${secs(quietMs)} of the ${secs(boundMs)} allowed (${what})`;
  return `${step} stalled: nothing moved since ${secs(lastMovementAtMs)} (${secs(quietMs)}, bound ${secs(boundMs)}) over ${samples} looks; last seen: ${what}`;
}
