/**
 * The lifecycle of a {@link MigrationJob} as one pure state machine: {@link TRANSITIONS} is the whole table
 * (phase × event → next state and the actions to take), {@link transition} looks a row up. The job itself
 * (job.ts) only executes the actions — every libvirt call is one — and feeds their results back as events.
 * A (phase, event) pair without a row is ignored: late results of calls made in an earlier phase land there.
 *
 * @module
 */
import { MigrationPolicyError } from '../errors.js';
import type { JobStats } from '../libvirt/types.js';
import { monitorTick } from '../policy/monitor.js';
import {
  type CopyPhase,
  DEFAULT_RECOVERY,
  guestSplit,
  nextAttemptAt,
  type RecoveryOptions,
} from '../policy/recovery.js';
import { assertAbortAllowed, type ForceCompleteAction, type MigrationStatus } from '../policy/status.js';
import type { SourcePhase } from './domain-state.js';
import type {
  EndCause,
  JobAction,
  JobEvent,
  JobState,
  Phase,
  RecoveryState,
  Transition,
  Verdict,
} from './job-states.js';
import type { GuestLocation } from './types.js';

export type {
  JobAction,
  JobEvent,
  JobState,
  Phase,
  RecoveryState,
  TickFacts,
  Transition,
  Verdict,
} from './job-states.js';

/** The status callers see in each phase; `undefined` keeps the previous one (the end is not known yet). */
const STATUS_OF: Record<Phase, MigrationStatus | undefined> = {
  queued: 'queued',
  preparing: 'preparing',
  starting: 'running',
  'pre-copy': 'running',
  pausing: 'running',
  paused: 'running',
  switching: 'running',
  'post-copy': 'running (post-copy)',
  ending: undefined,
  resuming: undefined,
  'postcopy-failed': 'failed',
  recovering: 'recovering (post-copy)',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  error: 'error',
};

/** The state of a job before anything happened. */
export function initialState(mode: 'start' | 'attach'): JobState {
  return {
    phase: 'queued',
    status: 'queued',
    mode,
    abort: 'none',
    abortReason: '',
    forceComplete: undefined,
    postCopy: false,
    pausedByOthers: false,
    monitor: undefined,
    monitorState: {},
    downtimeInFlight: undefined,
    end: undefined,
    verdict: undefined,
    postCopyStarted: false,
    pausePostCopy: 'none',
    recoveryOptions: undefined,
    recovery: undefined,
  };
}

type Row<T extends JobEvent['type']> = (state: JobState, event: Extract<JobEvent, { type: T }>) => Transition;
type Rows = { [T in JobEvent['type']]?: Row<T> };

/** libvirt's `VIR_ERR_OPERATION_ABORTED`: the migration was cancelled by an abort. */
const OPERATION_ABORTED = 78;

// ---- The rows shared by several phases -------------------------------------------------------------

/** An abort from the caller or the completion timeout: sent now, since libvirt's job runs. */
const abortNow: Row<'abort'> = (s, e) =>
  s.abort === 'none' || s.abort === 'wanted'
    ? to(s, s.phase, { abort: 'sending', abortReason: e.reason }, [{ type: 'abort-job' }])
    : stay(s);

/** Kept until libvirt's job exists (or until the copy runs, for attach). */
const abortLater: Row<'abort'> = (s, e) =>
  s.abort === 'none' ? stay({ ...s, abort: 'wanted', abortReason: e.reason }) : stay(s);

/**
 * Before libvirt is called. Start mode: nothing reached libvirt yet, so the call is simply never made.
 * Attach (item 1): the migration runs already; it is aborted once the job follows it.
 */
const abortBeforeCall: Row<'abort'> = (s, e) =>
  s.mode === 'start' ? finish(s, 'cancelled', { status: 'cancelled', guest: 'source' }) : abortLater(s, e);

const forceCompleteLater: Row<'force-complete'> = (s, e) =>
  stay({ ...s, forceComplete: { reason: e.reason } });

/** Force-complete has nothing to do here (post-copy, ended): pending requests learn it at once. */
const forceCompleteNone: Row<'force-complete'> = (s) => stay(s, [answer('none')]);

/** Item 2 and 10: never pause a guest someone else paused; never steer a migration being aborted. */
const forceCompleteNow: Row<'force-complete'> = (s, e) => {
  if (s.abort !== 'none') return stay(s, [answer('none')]);
  if (s.postCopy)
    return to(s, 'switching', { forceComplete: { reason: e.reason } }, [{ type: 'start-post-copy' }]);
  if (s.pausedByOthers) return stay(s, [answer('none')]);
  return to(s, 'pausing', { forceComplete: { reason: e.reason } }, [{ type: 'suspend' }]);
};

const abortAccepted: Row<'abort-accepted'> = (s) =>
  stay({ ...s, abort: 'sent' }, [{ type: 'record', action: 'abort', reason: s.abortReason }]);

/** A refused abort stays wanted: the next tick sends it again (libvirt may not have started its job yet). */
const abortRefused: Row<'abort-refused'> = (s, e) =>
  stay({ ...s, abort: 'wanted' }, [
    { type: 'record', action: 'abort', reason: s.abortReason, error: e.error },
  ]);

const downtimeSet: Row<'downtime-set'> = (s, e) =>
  stay({ ...s, downtimeInFlight: undefined, monitorState: { ...s.monitorState, downtimeMs: e.downtimeMs } }, [
    { type: 'record', action: 'set-downtime', reason: `downtime step: ${e.downtimeMs} ms` },
  ]);

/** Item 6: only what libvirt accepted is recorded; the monitor asks again on the next tick. */
const downtimeFailed: Row<'downtime-failed'> = (s, e) =>
  stay({ ...s, downtimeInFlight: undefined }, [
    { type: 'record', action: 'set-downtime', reason: `downtime step: ${e.downtimeMs} ms`, error: e.error },
  ]);

const returned: Row<'migrate-returned'> = (s) => toEnding(s, { how: 'returned' });
const failed: Row<'migrate-failed'> = (s, e) => toEnding(s, { how: 'failed', error: e.error });

/** A tick while libvirt's job runs in pre-copy: follow a post-copy switch made elsewhere, retry an abort, run Nova's monitor. */
const precopyTick: Row<'tick'> = (s, e) => {
  if (s.mode === 'attach' && e.job === 'ended') return toEnding(s, { how: 'job-gone' });
  if (inPostCopy(e.source)) return toPostCopy(s);
  // In pre-copy a paused source was paused by someone else (ours is the `paused` phase); it may be resumed.
  let state: JobState =
    s.phase === 'pre-copy' && e.source !== undefined ? { ...s, pausedByOthers: e.source === 'paused' } : s;
  const actions: JobAction[] = [];
  if (state.abort === 'wanted') {
    state = { ...state, abort: 'sending' };
    actions.push({ type: 'abort-job' });
  }
  return steer(state, actions, e.elapsedSeconds);
};

/** libvirt switched to post-copy without us (its own timeout, another client): an abort waiting to be sent is refused. */
function toPostCopy(s: JobState): Transition {
  if (s.abort !== 'wanted') return to(s, 'post-copy', { postCopyStarted: true }, []);
  const error = new MigrationPolicyError(
    'ABORT_IN_POST_COPY',
    'libvirt switched to post-copy before the abort was accepted: the guest runs on the destination, so it is not aborted',
    { key: 'status', value: 'running (post-copy)' },
  );
  return to(s, 'post-copy', { abort: 'none', postCopyStarted: true }, [
    { type: 'record', action: 'abort', reason: s.abortReason, error },
  ]);
}

/** Nova's monitor (downtime steps, completion timeout) on a running pre-copy; its actions become ours. */
function steer(s: JobState, actions: JobAction[], elapsedSeconds: number): Transition {
  if (s.monitor === undefined || s.abort === 'sending' || s.abort === 'sent') return { state: s, actions };
  const tick = monitorTick(s.monitor, s.monitorState, { elapsedSeconds, status: 'running' });
  let state: JobState = { ...s, monitorState: { ...tick.state, downtimeMs: s.monitorState.downtimeMs } };
  let out = actions;
  for (const action of tick.actions) {
    if (action.type === 'set-downtime') {
      if (state.downtimeInFlight === action.downtimeMs) continue;
      state = { ...state, downtimeInFlight: action.downtimeMs };
      out = [...out, { type: 'set-downtime', downtimeMs: action.downtimeMs }];
    } else {
      const next =
        action.type === 'abort'
          ? abortNow(state, { type: 'abort', reason: action.reason })
          : forceFromMonitor(state, action.reason);
      state = next.state;
      out = [...out, ...next.actions];
    }
  }
  return { state, actions: out };
}

/** Attach mode learns the end from libvirt's job; start mode from the migrate call, so its ticks never end it. */
const followTick: Row<'tick'> = (s, e) =>
  s.mode === 'attach' && e.job === 'ended' ? toEnding(s, { how: 'job-gone' }) : stay(s);

/**
 * The answer to a deliberate post-copy pause: libvirt fails the migration call as it pauses, so the answer
 * may arrive in any later phase.
 */
const pauseRows = {
  'postcopy-paused': (s) =>
    stay({ ...s, pausePostCopy: 'sent' }, [
      { type: 'record', action: 'pause-post-copy', reason: 'pause requested' },
      { type: 'answer-pause' },
    ]),
  'postcopy-pause-failed': (s, e) =>
    stay({ ...s, pausePostCopy: 'none' }, [
      { type: 'record', action: 'pause-post-copy', reason: 'pause requested', error: e.error },
      { type: 'answer-pause', error: e.error },
    ]),
} satisfies Rows;

const terminal: Rows = { 'force-complete': forceCompleteNone, ...pauseRows };

/** The completion timeout's force-complete: as the caller's, except that a guest we paused stays paused. */
function forceFromMonitor(s: JobState, reason: string): Transition {
  return s.phase === 'pre-copy' ? forceCompleteNow(s, { type: 'force-complete', reason }) : stay(s);
}

function endOf(s: JobState, changes: { pausedByUs: boolean }): JobState['end'] {
  return s.end === undefined ? undefined : { ...s.end, ...changes };
}

function verdictOf(s: JobState): Verdict {
  return s.verdict ?? { status: 'failed', guest: 'source' };
}

function finish(s: JobState, phase: Phase, verdict: Verdict, before: JobAction[] = []): Transition {
  return to(s, phase, { forceComplete: undefined }, [...before, answer('none'), { type: 'finish', verdict }]);
}

/** How the migration ended, from what libvirt says afterwards. */
function conclude(
  s: JobState,
  source: SourcePhase | undefined,
  stats: JobStats | undefined,
  destination: CopyPhase | undefined,
): Transition {
  const end = s.end ?? { how: 'error', pausedByUs: false };
  const withStats = stats === undefined ? {} : { stats };
  const recovery = recoveryOutcome(s);
  if (end.how === 'returned' || (end.how === 'job-gone' && source === 'gone')) {
    return finish(s, 'completed', { status: 'completed', guest: 'destination', ...withStats, ...recovery });
  }
  const error =
    end.error ??
    new Error(
      stats?.errorMessage ??
        `the migration ended with the guest still on the source (job ${stats?.type ?? 'unknown'})`,
    );
  if (source === 'post-copy-failed') {
    if (s.recovery === undefined) return enterRecovery({ ...s, postCopyStarted: true }, error, false);
    const split = guestSplit({
      source: 'post-copy-failed',
      destination: destination ?? 'unknown',
      ...(s.recovery.refused ? { refused: s.recovery.refused } : {}),
    });
    const verdict: Verdict = {
      status: 'failed',
      guest: split.authoritative === 'destination' ? 'destination' : 'unknown',
      error,
      postCopyFailed: true,
      split,
      ...withStats,
      ...recovery,
    };
    return finish(s, 'postcopy-failed', verdict);
  }
  // QEMU may resume the guest on the source when the post-copy broke at its very start: two copies then.
  if (s.postCopyStarted && (source === 'running' || source === 'paused') && destination !== undefined) {
    const split = guestSplit({ source, destination });
    if (split.destroy === 'destination') {
      return finish(s, 'postcopy-failed', {
        status: 'failed',
        guest: 'source',
        error,
        postCopyFailed: true,
        split,
        ...withStats,
        ...recovery,
      });
    }
  }
  const status = end.how === 'error' ? 'error' : cancelled(s, error, stats) ? 'cancelled' : 'failed';
  const verdict: Verdict = { status, guest: guestAt(source), error, ...withStats };
  // Undo only our own pause, and only if the guest is still paused on the source.
  if (end.pausedByUs && source === 'paused') return to(s, 'resuming', { verdict }, [{ type: 'resume' }]);
  return finish(s, status, verdict);
}

/** Item 11: cancelled only when libvirt accepted our abort or says the job was cancelled. */
function cancelled(s: JobState, error: Error, stats: JobStats | undefined): boolean {
  if (s.abort === 'sent' || stats?.type === 'cancelled') return true;
  return (error as { libvirtCode?: unknown }).libvirtCode === OPERATION_ABORTED;
}

function guestAt(source: SourcePhase | undefined): GuestLocation {
  if (source === 'running' || source === 'paused') return 'source';
  if (source === 'post-copy') return 'destination';
  return 'unknown';
}

// ---- The table ----------------------------------------------------------------------------------------

/** The results of calls a phase of the copy may have in flight: the downtime steps, the migrate call. */
const copyResults = {
  'downtime-set': downtimeSet,
  'downtime-failed': downtimeFailed,
  'migrate-returned': returned,
  'migrate-failed': failed,
} satisfies Rows;

/** Aborting while the guest still runs on the source (pre-copy, and force-complete's pause). */
const abortRows = {
  abort: abortNow,
  'abort-accepted': abortAccepted,
  'abort-refused': abortRefused,
} satisfies Rows;

/**
 * Every transition of a job. Rows are `phase: { event: (state, event) => { state, actions } }`.
 *
 * @example
 * ```ts
 * TRANSITIONS['post-copy']['force-complete']; // answers 'none': nothing to force once in post-copy
 * ```
 */
export const TRANSITIONS: { readonly [P in Phase]: Rows } = {
  queued: {
    run: (s) => to(s, 'preparing', {}, [{ type: 'prepare' }]),
    abort: abortBeforeCall,
    'force-complete': forceCompleteLater,
  },
  preparing: {
    prepared: (s, e) => {
      const ready: JobState = {
        ...s,
        postCopy: e.postCopy,
        monitor: e.monitor,
        pausedByOthers: e.source === 'paused',
        recoveryOptions: e.recovery,
      };
      // Attach to a post-copy that broke while no agent watched: recover it.
      if (s.mode === 'attach' && e.source === 'post-copy-failed')
        return enterRecovery({ ...ready, postCopyStarted: true }, undefined, false);
      if (s.mode === 'start')
        return to(ready, 'starting', {}, [{ type: 'call-migrate' }, { type: 'start-monitor' }]);
      const entered = inPostCopy(e.source) ? toPostCopy(ready) : to(ready, 'pre-copy', {}, []);
      return enterCopy({ state: entered.state, actions: [{ type: 'start-monitor' }, ...entered.actions] });
    },
    'prepare-failed': (s, e) => toEnding(s, { how: 'error', error: e.error }),
    abort: abortBeforeCall,
    'force-complete': forceCompleteLater,
  },
  starting: {
    // libvirt refuses steering until its job exists: requests wait for the first tick that shows it.
    tick: (s, e) => {
      if (e.job !== 'running') return stay(s);
      if (inPostCopy(e.source)) return enterCopy(toPostCopy(s));
      const entered = enterCopy(to(s, 'pre-copy', {}, []));
      if (entered.state.phase !== 'pre-copy') return entered;
      const stepped = steer(entered.state, [], e.elapsedSeconds);
      return { state: stepped.state, actions: [...entered.actions, ...stepped.actions] };
    },
    abort: abortLater,
    'force-complete': forceCompleteLater,
    'migrate-returned': returned,
    'migrate-failed': failed,
  },
  'pre-copy': {
    tick: precopyTick,
    ...abortRows,
    'force-complete': forceCompleteNow,
    ...copyResults,
  },
  pausing: {
    tick: followTick,
    ...abortRows,
    suspended: (s) => to(s, 'paused', { forceComplete: undefined }, forceCompleteDone(s, 'pause')),
    'suspend-failed': (s, e) =>
      to(s, 'pre-copy', { forceComplete: undefined }, forceCompleteFailed(s, 'pause', e.error)),
    'force-complete': (s) => stay(s),
    ...copyResults,
  },
  paused: {
    tick: precopyTick,
    ...abortRows,
    // A second force-complete: the guest is paused already, by us.
    'force-complete': (s) => stay(s, [answer('pause')]),
    ...copyResults,
  },
  switching: {
    tick: followTick,
    switched: (s) =>
      to(
        s,
        'post-copy',
        { forceComplete: undefined, postCopyStarted: true },
        forceCompleteDone(s, 'switch-to-post-copy'),
      ),
    'switch-failed': (s, e) =>
      to(s, 'pre-copy', { forceComplete: undefined }, forceCompleteFailed(s, 'switch-to-post-copy', e.error)),
    'force-complete': (s) => stay(s),
    ...copyResults,
  },
  'post-copy': {
    // The source knows the post-copy broke before libvirt's call returns (it may wait long for the destination).
    tick: (s, e) => {
      if (e.source === 'post-copy-failed') {
        return s.mode === 'start' ? enterRecovery(s, undefined, true) : toEnding(s, { how: 'failed' });
      }
      return followTick(s, e);
    },
    'pause-post-copy': (s) =>
      s.pausePostCopy === 'none'
        ? stay({ ...s, pausePostCopy: 'sending' }, [{ type: 'pause-post-copy' }])
        : stay(s),
    ...pauseRows,
    'force-complete': forceCompleteNone,
    'abort-accepted': abortAccepted,
    // An abort sent just before libvirt switched by itself: libvirt refused it, and it stays refused.
    'abort-refused': (s, e) =>
      stay({ ...s, abort: 'none' }, [
        { type: 'record', action: 'abort', reason: s.abortReason, error: e.error },
      ]),
    ...copyResults,
  },
  ending: {
    concluded: (s, e) => conclude(s, e.source, e.stats, e.destination),
    // Calls still in flight when the migration ended: their results still shape the outcome.
    suspended: (s) => stay({ ...s, end: endOf(s, { pausedByUs: true }) }),
    'abort-accepted': abortAccepted,
    'force-complete': forceCompleteNone,
    ...pauseRows,
  },
  resuming: {
    resumed: (s) =>
      finish(s, verdictOf(s).status, verdictOf(s), [
        {
          type: 'record',
          action: 'resume',
          reason: 'the migration failed after force-complete paused the guest',
        },
      ]),
    'resume-failed': (s, e) => {
      const verdict = verdictOf(s);
      const first = verdict.error ?? new Error('the migration failed');
      const error = new AggregateError([first, e.error], `${first.message}; resuming the guest failed too`);
      return finish(s, verdict.status, { ...verdict, error }, [
        {
          type: 'record',
          action: 'resume',
          reason: 'the migration failed after force-complete paused the guest',
          error: e.error,
        },
      ]);
    },
    'force-complete': forceCompleteNone,
  },
  'postcopy-failed': terminal,
  recovering: {
    'force-complete': forceCompleteNone,
    ...pauseRows,
    'migrate-returned': (s) => recovered(s),
    'migrate-failed': (s, e) => {
      const r = recoveryOf(s);
      const state = withRecovery(s, { callInFlight: false, lastError: r.lastError ?? e.error });
      if (r.over !== undefined) return stay(state);
      return r.automatic || r.wanted ? attemptOrWait(state, 1, 0) : stay(state);
    },
    recover: (s) => {
      const r = recoveryOf(s);
      if (r.inFlight || r.over !== undefined) return stay(s);
      if (r.callInFlight) return stay(withRecovery(s, { wanted: true }));
      return attempt(s);
    },
    'resume-due': (s, e) => {
      const r = recoveryOf(s);
      if (r.inFlight || r.callInFlight || r.over !== undefined || e.attempt !== r.attempts + 1)
        return stay(s);
      return attempt(s);
    },
    'resume-returned': (s) => recovered(s),
    'resume-refused': (s, e) => giveUp(withRecovery(s, { inFlight: false }), 'refused', e.reason),
    'resume-attempt-failed': (s, e) => {
      const state = withRecovery(s, { inFlight: false, lastError: e.error });
      if (e.source === 'gone') return toEnding(state, { how: 'job-gone' });
      if (e.source === 'running' || e.source === 'paused')
        return toEnding(state, { how: 'failed', error: e.error });
      const r = recoveryOf(state);
      const failedEvent = (nextAttemptInMs?: number): JobAction => ({
        type: 'report-recovery',
        event: {
          kind: 'attempt-failed',
          cause: r.cause,
          attempt: r.attempts,
          error: e.error,
          ...(nextAttemptInMs === undefined ? {} : { nextAttemptInMs }),
        },
      });
      if (r.over !== undefined) return giveUp(state, r.over, undefined, [failedEvent()]);
      if (!r.automatic && !r.wanted) return stay(state, [failedEvent()]);
      const after = Math.max(r.lastAt, e.sinceFailureMs);
      const next = attemptOrWait(state, r.attempts + 1, after);
      const scheduled = next.actions.find((a) => a.type === 'schedule-resume');
      const inMs = scheduled?.type === 'schedule-resume' ? scheduled.atMs - after : undefined;
      return { state: next.state, actions: [failedEvent(inMs), ...next.actions] };
    },
    'recovery-expired': (s) => {
      const r = recoveryOf(s);
      if (r.over !== undefined) return stay(s);
      // An attempt in flight may still succeed: it decides.
      if (r.inFlight) return stay(withRecovery(s, { over: 'window' }));
      return giveUp(s, 'window');
    },
  },
  completed: terminal,
  failed: terminal,
  cancelled: terminal,
  error: terminal,
};

/**
 * The next state and actions for an event: the row of {@link TRANSITIONS} for the state's phase and the
 * event, or no change when there is none.
 *
 * @example
 * ```ts
 * const { state, actions } = transition(initialState('start'), { type: 'run' });
 * state.phase; // 'preparing'
 * actions; // [{ type: 'prepare' }]
 * ```
 */
export function transition(state: JobState, event: JobEvent): Transition {
  const row = TRANSITIONS[state.phase][event.type] as Row<typeof event.type> | undefined;
  return row === undefined ? stay(state) : row(state, event as never);
}

/**
 * Refuses an abort that cannot be honoured in this state (the guards of `abort()` and the `signal` option):
 * after the end, once in post-copy, and while switching to it.
 *
 * @throws {@link MigrationPolicyError} `ABORT_IN_POST_COPY` or `MIGRATION_NOT_ACTIVE`.
 *
 * @example
 * ```ts
 * assertCanAbort(initialState('start')); // fine: nothing reached libvirt yet
 * ```
 */
export function assertCanAbort(state: JobState): void {
  if (state.phase === 'switching') assertAbortAllowed('running (post-copy)');
  if (state.phase === 'ending' || state.phase === 'resuming') assertAbortAllowed('completed');
  assertAbortAllowed(state.status);
}

/** The mode a progress report names. */
export function progressMode(state: JobState): 'pre-copy' | 'post-copy' | 'paused-by-force-complete' {
  if (state.phase === 'paused') return 'paused-by-force-complete';
  return state.postCopyStarted ? 'post-copy' : 'pre-copy';
}

// ---- Helpers ------------------------------------------------------------------------------------------

function stay(state: JobState, actions: JobAction[] = []): Transition {
  return { state, actions };
}

function to(s: JobState, phase: Phase, changes: Partial<JobState>, actions: JobAction[]): Transition {
  return { state: { ...s, ...changes, phase, status: STATUS_OF[phase] ?? s.status }, actions };
}

function answer(result: ForceCompleteAction | Error): JobAction {
  return { type: 'answer-force-complete', result };
}

/** libvirt's job is seen running: what waited for it happens now — the abort first (item 10), else force-complete. */
function enterCopy(t: Transition): Transition {
  const s = t.state;
  if (s.abort === 'wanted')
    return { state: { ...s, abort: 'sending' }, actions: [...t.actions, { type: 'abort-job' }] };
  if (s.forceComplete === undefined) return t;
  const pending = { ...s, forceComplete: undefined };
  const row = s.phase === 'pre-copy' ? forceCompleteNow : forceCompleteNone;
  const next = row(pending, { type: 'force-complete', reason: s.forceComplete.reason });
  return { state: next.state, actions: [...t.actions, ...next.actions] };
}

function forceCompleteDone(s: JobState, action: 'pause' | 'switch-to-post-copy'): JobAction[] {
  const reason = s.forceComplete?.reason ?? 'force-complete requested';
  return [{ type: 'record', action, reason }, answer(action)];
}

function forceCompleteFailed(
  s: JobState,
  action: 'pause' | 'switch-to-post-copy',
  error: Error,
): JobAction[] {
  const reason = s.forceComplete?.reason ?? 'force-complete requested';
  return [{ type: 'record', action, reason, error }, answer(error)];
}

function inPostCopy(source: SourcePhase | undefined): boolean {
  return source === 'post-copy' || source === 'post-copy-failed';
}

function toEnding(s: JobState, cause: EndCause, before: JobAction[] = []): Transition {
  const end = { ...cause, pausedByUs: s.phase === 'paused' };
  return to({ ...s, forceComplete: undefined }, 'ending', { end }, [
    ...before,
    answer('none'),
    { type: 'conclude', destination: s.postCopyStarted },
  ]);
}

// ---- Recovery of a broken post-copy ---------------------------------------------------------------------

/**
 * The post-copy broke (or was paused on request): report it, start the window's clock, and schedule the
 * first attempt — unless libvirt's original call still runs (it must return before a resume is accepted),
 * or the attempts wait for `recover()`.
 */
function enterRecovery(s: JobState, error: Error | undefined, callInFlight: boolean): Transition {
  const options = optionsOf(s);
  const cause = s.pausePostCopy === 'sent' || s.pausePostCopy === 'sending' ? 'paused' : 'failed';
  const recovery: RecoveryState = {
    automatic: options.automatic && cause === 'failed',
    cause,
    attempts: 0,
    lastAt: 0,
    inFlight: false,
    callInFlight,
    wanted: false,
    over: undefined,
    refused: undefined,
    lastError: error,
    recovered: false,
  };
  const entered = to(s, 'recovering', { recovery, forceComplete: undefined, abort: 'none' }, [
    answer('none'),
    { type: 'recovery-started' },
    { type: 'report-recovery', event: { kind: 'stopped', cause, attempt: 0, ...(error ? { error } : {}) } },
    { type: 'schedule-expiry', atMs: options.windowMs },
    { type: 'start-monitor' },
  ]);
  if (!recovery.automatic || callInFlight) return entered;
  const first = attemptOrWait(entered.state, 1, 0);
  return { state: first.state, actions: [...entered.actions, ...first.actions] };
}

function recoveryOf(s: JobState): RecoveryState {
  return s.recovery ?? (enterRecovery(s, undefined, false).state.recovery as RecoveryState);
}

function withRecovery(s: JobState, changes: Partial<RecoveryState>): JobState {
  return { ...s, recovery: { ...recoveryOf(s), ...changes } };
}

function optionsOf(s: JobState): RecoveryOptions {
  return s.recoveryOptions ?? DEFAULT_RECOVERY;
}

/** Schedules attempt `n` after the last one (due at `after` ms), or gives up when none is left. */
function attemptOrWait(s: JobState, n: number, after: number): Transition {
  const options = optionsOf(s);
  const at = nextAttemptAt(n, after, options);
  if (at === undefined) return giveUp(s, n > options.maxAttempts ? 'attempts' : 'window');
  return stay(withRecovery(s, { lastAt: at }), [{ type: 'schedule-resume', attempt: n, atMs: at }]);
}

function attempt(s: JobState): Transition {
  const r = recoveryOf(s);
  const n = r.attempts + 1;
  const options = optionsOf(s);
  return stay(withRecovery(s, { attempts: n, inFlight: true, wanted: false }), [
    { type: 'report-recovery', event: { kind: 'attempt', cause: r.cause, attempt: n } },
    {
      type: 'attempt-resume',
      ...(options.refuseDestination ? { refuseDestination: options.refuseDestination } : {}),
    },
  ]);
}

/** The migration completed: by a resume of ours, or by itself (the break the source reported did not last). */
function recovered(s: JobState): Transition {
  const r = recoveryOf(s);
  const state = withRecovery(s, { inFlight: false, recovered: true, callInFlight: false });
  const resumed: JobAction[] =
    r.attempts > 0
      ? [{ type: 'record', action: 'resume-post-copy', reason: 'post-copy resumed (POSTCOPY_RESUME)' }]
      : [];
  return toEnding(state, { how: 'returned' }, [
    { type: 'report-recovery', event: { kind: 'recovered', cause: r.cause, attempt: r.attempts } },
    ...resumed,
  ]);
}

/** No more attempts: read where each copy is, and end with it. */
function giveUp(
  s: JobState,
  over: 'refused' | 'window' | 'attempts',
  refused?: string,
  before: JobAction[] = [],
): Transition {
  const r = recoveryOf(s);
  const state = withRecovery(s, { over, refused });
  const kind = over === 'refused' ? 'refused' : 'given-up';
  const error =
    r.lastError ??
    new Error(over === 'refused' ? (refused ?? 'resume refused') : 'the post-copy was not recovered in time');
  return toEnding(state, { how: 'failed', error }, [
    ...before,
    {
      type: 'report-recovery',
      event: { kind, cause: r.cause, attempt: r.attempts, ...(refused ? { reason: refused } : {}) },
    },
  ]);
}

function recoveryOutcome(s: JobState): Pick<Verdict, 'recovery'> {
  const r = s.recovery;
  if (r === undefined) return {};
  return {
    recovery: {
      cause: r.cause,
      attempts: r.attempts,
      recovered: r.recovered,
      ...(r.refused ? { refused: r.refused } : {}),
      durationMs: 0,
    },
  };
}
