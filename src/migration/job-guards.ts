/**
 * The guards of the job's table (job-machine.ts): named pure predicates of the state, the event and — for
 * the poll loop, which reacts after the phase — the state before the event.
 *
 * @module
 */
import { MigrationJobError } from '../errors.js';
import { guestSplit, nextAttemptAt } from '../policy/recovery.js';
import { assertAbortAllowed, forceCompleteAction } from '../policy/status.js';
import type { SourcePhase } from './domain-state.js';
import { type EventOf, type JobEvent, type JobState, POLLS, type RecoveryState } from './job-states.js';
import { tickFacts } from './tick-facts.js';

/** libvirt's `VIR_ERR_OPERATION_ABORTED`: the migration was cancelled by an abort. */
const OPERATION_ABORTED = 78;

export function inPostCopy(source: SourcePhase | undefined): boolean {
  return source === 'post-copy' || source === 'post-copy-failed';
}

/** The recovery under way; the guards and steps that read it run only in `recovering` and after. */
export function recoveryOf(s: JobState): RecoveryState {
  if (s.recovery === undefined) throw new Error(`no recovery in phase ${s.phase}`);
  return s.recovery;
}

/** Why recovery resumes a post-copy that was paused on purpose only on request. */
export function recoveryCause(s: JobState): 'failed' | 'paused' {
  return s.pausePostCopy === 'none' ? 'failed' : 'paused';
}

/** A recovery about to start resumes by itself: automatic recovery is on, and the post-copy broke. */
function recoversByItself(s: JobState): boolean {
  return s.settings.recovery.automatic && recoveryCause(s) === 'failed';
}

/** How the migration ended, read from libvirt afterwards (the `concluded` rows). */
function endHow(s: JobState): 'returned' | 'failed' | 'job-gone' | 'error' {
  return s.end?.how ?? 'error';
}

/** The error a migration that did not complete ends with: the call's, else libvirt's message, else why. */
export function endError(s: JobState, e: EventOf<'concluded'>): Error {
  return (
    s.end?.error ??
    new Error(
      e.stats?.errorMessage ??
        `the migration ended with the guest still on the source (job ${e.stats?.type ?? 'unknown'})`,
    )
  );
}

/** When the next attempt after a failed one is due: the schedule counts from the later of its due time and its failure. */
export function afterFailedAttempt(s: JobState, e: JobEvent): number {
  const r = recoveryOf(s);
  return Math.max(r.lastAt, Math.round(e.atMs - r.startedAtMs));
}

export const GUARDS = {
  startMode: (s: JobState) => s.settings.mode === 'start',
  attachMode: (s: JobState) => s.settings.mode === 'attach',

  // ---- Requests
  /** An abort was asked for (wanted, on its way, or accepted). */
  abortAsked: (s: JobState) => s.abort !== 'none',
  abortWanted: (s: JobState) => s.abort === 'wanted',
  /** The abort is on its way or accepted: the monitor rests, and a new one is not sent. */
  abortSent: (s: JobState) => s.abort === 'sending' || s.abort === 'sent',
  /** A force-complete waits for libvirt's job. */
  forceWaiting: (s: JobState) => s.forceComplete !== undefined,
  /** The policy's force-complete is a switch to post-copy. */
  switches: (_s: JobState, e: EventOf<'force'>) => e.how === 'switch-to-post-copy',
  /** The policy's force-complete is a pause, of a guest no one else paused (never ours to pause, or resume). */
  mayPause: (s: JobState, e: EventOf<'force'>) => e.how === 'pause' && !s.pausedByOthers,
  pauseSending: (s: JobState) => s.pausePostCopy === 'sending',
  pauseSent: (s: JobState) => s.pausePostCopy === 'sent',
  pauseNotAsked: (s: JobState) => s.pausePostCopy === 'none',

  // ---- libvirt's job, from a tick or the preparation
  /** libvirt's job does not run (yet): no tick may steer it. */
  jobNotRunning: (_s: JobState, e: EventOf<'tick'>) => tickFacts(e.stats).job !== 'running',
  /** Attach mode learns the end from libvirt's job; start mode from the migrate call, so its ticks never end it. */
  attachJobEnded: (s: JobState, e: EventOf<'tick'>) =>
    s.settings.mode === 'attach' && tickFacts(e.stats).job === 'ended',
  /** The source says the guest runs on the destination: libvirt switched to post-copy (also without us). */
  sourceInPostCopy: (_s: JobState, e: EventOf<'tick' | 'prepared'>) => inPostCopy(e.source),
  /** The source knows the post-copy broke before libvirt's call returns (it may wait long for the destination). */
  sourceBroken: (_s: JobState, e: EventOf<'tick'>) => e.source === 'post-copy-failed',
  /** Attach found a post-copy that broke while no agent watched: there is nothing to follow, only to recover. */
  brokenOnAttach: (s: JobState, e: EventOf<'prepared'>) =>
    s.settings.mode === 'attach' && e.source === 'post-copy-failed',

  // ---- How it ended (`concluded`)
  /** The call returned, or (attach) libvirt's job ended with the domain gone from the source. */
  endedWell: (s: JobState, e: EventOf<'concluded'>) =>
    endHow(s) === 'returned' || (endHow(s) === 'job-gone' && e.source === 'gone'),
  /** The post-copy broke: the source is paused with reason post-copy failed. */
  postCopyBroken: (_s: JobState, e: EventOf<'concluded'>) => e.source === 'post-copy-failed',
  /** The preparation failed: there is no migration call to resume. */
  unprepared: (s: JobState) => s.prepared === undefined,
  /** No recovery was tried yet (a break first seen when libvirt's call failed). */
  notRecoveredYet: (s: JobState) => s.recovery === undefined,
  /**
   * QEMU may resume the guest on the source when the post-copy broke at its very start: two copies then, and
   * the destination's must be destroyed.
   */
  resumedOnSource: (s: JobState, e: EventOf<'concluded'>) =>
    s.postCopyStarted &&
    (e.source === 'running' || e.source === 'paused') &&
    e.destination !== undefined &&
    guestSplit({ source: e.source, destination: e.destination }).destroy === 'destination',
  /** The job could not start (prepare failed): its outcome is an error. */
  endedInError: (s: JobState) => endHow(s) === 'error',
  /**
   * The guest is paused by our force-complete: undone before the outcome, and only if still paused — and
   * never once the guest has run on the destination (the source's memory is stale from then on).
   */
  pausedByUs: (s: JobState, e: EventOf<'concluded'>) =>
    s.end?.pausedByUs === true && e.source === 'paused' && !s.postCopyStarted,
  /** Cancelled only when libvirt accepted our abort or says the job was cancelled. */
  cancelled: (s: JobState, e: EventOf<'concluded'>) =>
    s.abort === 'sent' ||
    e.stats?.type === 'cancelled' ||
    (s.end?.error as { libvirtCode?: unknown } | undefined)?.libvirtCode === OPERATION_ABORTED,
  verdictCancelled: (s: JobState) => s.verdict?.status === 'cancelled',

  // ---- Recovery
  /** The recovery about to start makes its attempts by itself. */
  recoversByItself,
  /** No first attempt fits the window or the attempts allowed: recovery gives up as it starts. */
  noFirstAttempt: (s: JobState) => nextAttemptAt(1, 0, s.settings.recovery) === undefined,
  /** No attempt after the failed one fits. */
  noNextAttempt: (s: JobState, e: JobEvent) =>
    nextAttemptAt(recoveryOf(s).attempts + 1, afterFailedAttempt(s, e), s.settings.recovery) === undefined,
  /** Recovery stopped: the versions refuse it, or the window or the attempts ran out. */
  recoveryOver: (s: JobState) => recoveryOf(s).over !== undefined,
  /** Attempts follow by themselves, or `recover()` asked for one. */
  attemptWanted: (s: JobState) => recoveryOf(s).automatic || recoveryOf(s).wanted,
  attemptInFlight: (s: JobState) => recoveryOf(s).inFlight,
  /** libvirt's original call still runs: it must return before a resume is accepted. */
  callInFlight: (s: JobState) => recoveryOf(s).callInFlight,
  /** `recover()` changes nothing: an attempt runs already, or recovery is over. */
  nothingToRecover: (s: JobState) => recoveryOf(s).inFlight || recoveryOf(s).over !== undefined,
  /** A timer of an attempt that is not the next one, or that cannot start now. */
  staleAttempt: (s: JobState, e: EventOf<'resume-due'>) => {
    const r = recoveryOf(s);
    return r.inFlight || r.callInFlight || r.over !== undefined || e.attempt !== r.attempts + 1;
  },
  attemptsMade: (s: JobState) => recoveryOf(s).attempts > 0,
  /**
   * The answer of an attempt the job no longer waits for: given up as stalled (its libvirt call may still
   * return, much later), or not the latest.
   */
  staleAnswer: (s: JobState, e: EventOf<'resume-attempt-failed' | 'resume-refused'>) =>
    !recoveryOf(s).inFlight || e.attempt !== recoveryOf(s).attempts,
  /** A failed resume attempt found the guest gone from the source: the resume went through. */
  sourceGone: (_s: JobState, e: EventOf<'resume-attempt-failed'>) => e.source === 'gone',
  /** A failed resume attempt found the guest running (or paused) on the source: QEMU took it back there. */
  sourceBack: (_s: JobState, e: EventOf<'resume-attempt-failed'>) =>
    e.source === 'running' || e.source === 'paused',

  // ---- The poll loop (it reacts after the phase: `before` is the state the event found)
  /** The phase still follows libvirt's job. */
  phasePolls: (s: JobState) => POLLS[s.phase],
  /** The tick found the job in a phase that follows libvirt's job (it was read before the end). */
  polledAtArrival: (_s: JobState, _e: JobEvent, before: JobState) => POLLS[before.phase],
  /** The tick's stats are those of a running copy: worth a progress report. */
  hasProgress: (_s: JobState, e: EventOf<'tick'>) => tickFacts(e.stats).progress !== undefined,
};

/** The name of a guard. */
export type GuardName = keyof typeof GUARDS;

/**
 * The force-complete the policy decides for this state: post-copy when effective for the instance, else a
 * pause; nothing when the job is not running.
 */
export function forceHow(s: JobState): ReturnType<typeof forceCompleteAction> {
  return forceCompleteAction({ postCopy: s.prepared?.plan.postCopy ?? false }, s.status);
}

/**
 * Refuses an abort that cannot be honoured in this state (the guards of `abort()` and the `signal` option):
 * after the end, once in post-copy, and while switching to it.
 *
 * @throws {@link MigrationPolicyError} `ABORT_IN_POST_COPY` or `MIGRATION_NOT_ACTIVE`.
 *
 * @example
 * ```ts
 * assertCanAbort(initialState({ mode: 'start', pollIntervalMs: 1000, recovery: DEFAULT_RECOVERY })); // fine: nothing reached libvirt yet
 * ```
 */
export function assertCanAbort(state: JobState): void {
  if (state.phase === 'switching') assertAbortAllowed('running (post-copy)');
  if (state.phase === 'ending' || state.phase === 'resuming') assertAbortAllowed('completed');
  assertAbortAllowed(state.status);
}

/** Why `pausePostCopy()` is refused in this state, or `undefined` in post-copy. */
export function pauseRefusal(state: JobState): MigrationJobError | undefined {
  if (state.phase === 'post-copy') return undefined;
  return new MigrationJobError(
    'NOT_IN_POST_COPY',
    `the migration's status is "${state.status}": only a migration in post-copy can be paused (pausePostCopy)`,
    { key: 'status', value: state.status },
  );
}

/** Why `recover()` is refused in this state, or `undefined` while recovering. */
export function recoverRefusal(state: JobState): MigrationJobError | undefined {
  if (state.phase === 'recovering') return undefined;
  return new MigrationJobError(
    'NOT_RECOVERING',
    `the migration's status is "${state.status}": recover() resumes only a broken or paused post-copy (status "recovering (post-copy)")`,
    { key: 'status', value: state.status },
  );
}
