/**
 * The steps of the job's table (job-machine.ts): what a row does, as named pure functions of the state and
 * the event. A step returns the fields it changes, the actions it asks for, and the events it raises (the
 * machine handles those before the transition ends). A row runs its steps in order; then its phase applies.
 *
 * @module
 */
import { MigrationJobError, MigrationPolicyError } from '../errors.js';
import { type Forecast, forecastSample, forecastStep } from '../policy/forecast.js';
import { monitorTick } from '../policy/monitor.js';
import { guestSplit, nextAttemptAt } from '../policy/recovery.js';
import { type ForceCompleteAction, forceCompleteAction } from '../policy/status.js';
import { adaptiveSwitchover } from '../policy/switchover.js';
import {
  type WatchdogBounds,
  type WatchSample,
  type WatchState,
  watchdogBounds,
  watchStart,
  watchStep,
} from '../policy/watchdog.js';
import type { SourcePhase } from './domain-state.js';
import {
  afterFailedAttempt,
  endError,
  forceHow,
  pauseRefusal,
  recoveryCause,
  recoveryOf,
} from './job-guards.js';
import type {
  EndCause,
  EventOf,
  JobAction,
  JobEvent,
  JobState,
  RecoveryState,
  UnstampedEvent,
  Verdict,
  VerdictDraft,
} from './job-states.js';
import { tickFacts } from './tick-facts.js';
import { explainTlsFailure } from './tls-preflight.js';
import type { GuestLocation, MigrationProgress, RecoveryEvent, SteeringAction } from './types.js';

/** What a step does: the fields it changes, the actions it asks for, the events it raises. */
export interface Change {
  set?: Partial<JobState>;
  do?: JobAction[];
  raise?: UnstampedEvent[];
}

/** Steps in a row. */
function both(first: Change, second: Change): Change {
  return {
    set: { ...first.set, ...second.set },
    do: [...(first.do ?? []), ...(second.do ?? [])],
    raise: [...(first.raise ?? []), ...(second.raise ?? [])],
  };
}

/** Since the migration started, in ms (0 before), at the event's time. */
export function elapsedMs(s: JobState, e: JobEvent): number {
  return s.startedAtMs === undefined ? 0 : Math.round(e.atMs - s.startedAtMs);
}

/** The mode a progress report names. */
export function progressMode(state: JobState): MigrationProgress['mode'] {
  if (state.phase === 'paused') return 'paused-by-force-complete';
  return state.postCopyStarted ? 'post-copy' : 'pre-copy';
}

function record(
  s: JobState,
  e: JobEvent,
  action: SteeringAction,
  reason: string,
  error?: Error,
  forecast?: Forecast,
): JobAction {
  return {
    type: 'record',
    action,
    reason,
    elapsedMs: elapsedMs(s, e),
    ...(error ? { error } : {}),
    ...(forecast ? { forecast } : {}),
  };
}

function report(s: JobState, e: JobEvent, event: Omit<RecoveryEvent, 'elapsedMs'>): JobAction {
  return { type: 'report-recovery', event: { ...event, elapsedMs: elapsedMs(s, e) } };
}

function withRecovery(s: JobState, changes: Partial<RecoveryState>): Partial<JobState> {
  return { recovery: { ...recoveryOf(s), ...changes } };
}

function preparation(s: JobState) {
  if (s.prepared === undefined) throw new Error(`not prepared in phase ${s.phase}`);
  return s.prepared;
}

// ---- Answers to the requests ------------------------------------------------------------------------

/** Every waiting `forceComplete()` learns the result; nothing waits for libvirt's job any more. */
function answerForce(s: JobState, result: ForceCompleteAction | Error): Change {
  const count = s.waiting.forceComplete;
  return {
    set: { forceComplete: undefined, waiting: { ...s.waiting, forceComplete: 0 } },
    do: count > 0 ? [{ type: 'answer-force-complete', count, result }] : [],
  };
}

function answerPause(s: JobState, error?: Error): Change {
  const count = s.waiting.pause;
  return {
    set: { waiting: { ...s.waiting, pause: 0 } },
    do: count > 0 ? [{ type: 'answer-pause', count, ...(error ? { error } : {}) }] : [],
  };
}

function forceDone(s: JobState, e: JobEvent, how: 'pause' | 'switch-to-post-copy', error?: Error): Change {
  const reason = s.forceComplete?.reason ?? 'force-complete requested';
  const answered = answerForce(s, error ?? how);
  const recorded = record(s, e, how, reason, error, s.forceComplete?.forecast);
  return { set: answered.set, do: [recorded, ...(answered.do ?? [])] };
}

// ---- The end ---------------------------------------------------------------------------------------------

/** libvirt said the migration ended: what waited learns there is nothing to force, and the job reads how. */
function toEnding(s: JobState, cause: EndCause): Change {
  const returned = cause.how === 'returned';
  const askDestination = s.postCopyStarted && !returned ? s.prepared?.call.destinationUri : undefined;
  const answered = answerForce(s, 'none');
  return {
    set: { ...answered.set, end: { ...cause, pausedByUs: s.phase === 'paused' } },
    do: [...(answered.do ?? []), { type: 'conclude', readSource: !returned, askDestination }],
  };
}

function finish(s: JobState, draft: VerdictDraft, before: JobAction[] = []): Change {
  const answered = answerForce(s, 'none');
  return {
    set: answered.set,
    do: [...before, ...(answered.do ?? []), { type: 'finish', verdict: verdictOf(s, draft) }],
  };
}

/**
 * The outcome's promise, kept for every way a job ends: completed with the plan sent and libvirt's stats
 * (empty when it reported none), anything else with an error that says why.
 */
export function verdictOf(s: JobState, draft: VerdictDraft): Verdict {
  const { error, ...rest } = draft;
  const plan = s.prepared?.plan;
  const base = { postCopyFailed: false, ...rest, ...(plan ? { plan } : {}) };
  if (draft.status === 'completed' && plan !== undefined)
    return { ...base, status: 'completed', plan, stats: draft.stats ?? { type: 'completed', raw: {} } };
  const status = draft.status === 'completed' ? 'error' : draft.status;
  const why =
    status === 'cancelled'
      ? 'the migration was cancelled before libvirt was asked to migrate'
      : `the migration ended (${status}) without an error from libvirt`;
  return { ...base, status, error: error ?? new Error(why) };
}

/** The migrate call's error, as a typed TLS failure when it is one (the call's TLS context says). */
function callError(s: JobState, e: EventOf<'migrate-failed' | 'resume-attempt-failed'>): Error {
  return e.type === 'migrate-failed'
    ? explainTlsFailure(e.error, s.prepared?.call, s.streamStarted)
    : e.error;
}

function recoveryOutcome(s: JobState, e: JobEvent): Pick<VerdictDraft, 'recovery'> {
  const r = s.recovery;
  if (r === undefined) return {};
  return {
    recovery: {
      cause: r.cause,
      attempts: r.attempts,
      recovered: r.recovered,
      ...(r.refused ? { refused: r.refused } : {}),
      durationMs: Math.round(e.atMs - r.startedAtMs),
    },
  };
}

function statsOf(e: EventOf<'concluded'>): Pick<VerdictDraft, 'stats'> {
  return e.stats === undefined ? {} : { stats: e.stats };
}

function guestAt(source: SourcePhase | undefined): GuestLocation {
  if (source === 'running' || source === 'paused') return 'source';
  if (source === 'post-copy') return 'destination';
  return 'unknown';
}

function failure(s: JobState, e: EventOf<'concluded'>, status: VerdictDraft['status']): VerdictDraft {
  return { status, guest: guestAt(e.source), error: endError(s, e), ...statsOf(e) };
}

const RESUME_REASON = 'the migration failed after force-complete paused the guest';

// ---- Recovery of a broken post-copy ---------------------------------------------------------------------

/**
 * The post-copy broke (or was paused on request): report it, start the window's clock. The first attempt
 * is the row's to schedule — unless libvirt's original call still runs (it must return before a resume is
 * accepted), or the attempts wait for `recover()`.
 */
function enterRecovery(s: JobState, e: JobEvent, error: Error | undefined, callInFlight: boolean): Change {
  const cause = recoveryCause(s);
  const recovery: RecoveryState = {
    automatic: s.settings.recovery.automatic && cause === 'failed',
    cause,
    startedAtMs: e.atMs,
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
  const answered = answerForce(s, 'none');
  return {
    set: { ...answered.set, recovery, abort: 'none', postCopyStarted: true },
    do: [
      ...(answered.do ?? []),
      report(s, e, { kind: 'stopped', cause, attempt: 0, ...(error ? { error } : {}) }),
      {
        type: 'schedule',
        timer: 'recovery-window',
        inMs: s.settings.recovery.windowMs,
        event: { type: 'recovery-expired' },
      },
    ],
    raise: [{ type: 'start-polling' }],
  };
}

/** Attempt `attempt` at `atMs` after the failure (at once when that is past). */
function scheduleAttempt(s: JobState, e: JobEvent, attempt: number, atMs: number): JobAction {
  const r = recoveryOf(s);
  return {
    type: 'schedule',
    timer: 'resume',
    inMs: Math.max(0, r.startedAtMs + atMs - e.atMs),
    event: { type: 'resume-due', attempt },
  };
}

/** No more attempts: report why, and end failed (the conclusion reads where each copy is). */
function giveUp(s: JobState, e: JobEvent, over: 'refused' | 'window' | 'attempts', refused?: string): Change {
  const r = recoveryOf(s);
  const error =
    r.lastError ??
    new Error(over === 'refused' ? (refused ?? 'resume refused') : 'the post-copy was not recovered in time');
  const given: Change = {
    set: withRecovery(s, { over, refused }),
    do: [
      report(s, e, {
        kind: over === 'refused' ? 'refused' : 'given-up',
        cause: r.cause,
        attempt: r.attempts,
        ...(refused ? { reason: refused } : {}),
      }),
    ],
  };
  return both(given, toEnding({ ...s, ...given.set }, { how: 'failed', error }));
}

function attemptFailedEvent(
  s: JobState,
  e: EventOf<'resume-attempt-failed' | 'attempt-stalled'>,
  nextAttemptInMs?: number,
): JobAction {
  const r = recoveryOf(s);
  return report(s, e, {
    kind: 'attempt-failed',
    cause: r.cause,
    attempt: r.attempts,
    error: e.error,
    ...(nextAttemptInMs === undefined ? {} : { nextAttemptInMs }),
  });
}

/** The watchdog's defaults when the preparation sized none (a job state made by hand). */
const DEFAULT_WATCHDOG: WatchdogBounds = Object.freeze(watchdogBounds());

function boundsOf(s: JobState): WatchdogBounds {
  return s.prepared?.watchdog ?? DEFAULT_WATCHDOG;
}

/** What a tick saw, as the watchdog reads it (at `atMs` on the migration's clock): libvirt's job and the source's state. */
function watchSample(e: EventOf<'tick'>, atMs: number): WatchSample {
  const stats = 'unreadable' in e.stats ? undefined : e.stats;
  const sample: WatchSample = { atMs };
  if (stats !== undefined) {
    sample.jobType = stats.type;
    const processed = stats.dataProcessed ?? stats.memoryProcessed;
    const remaining = stats.dataRemaining ?? stats.memoryRemaining;
    if (processed !== undefined) sample.processedBytes = processed;
    if (remaining !== undefined) sample.remainingBytes = remaining;
    if (stats.memoryIteration !== undefined) sample.iteration = stats.memoryIteration;
  }
  if (e.source !== undefined) sample.domainState = e.source;
  return sample;
}

/** Nova's monitor (downtime steps, completion timeout) on a running pre-copy: its downtime becomes a call, its timeout action an event. */
function runMonitor(s: JobState, e: EventOf<'steer'>): Change {
  const { monitor } = preparation(s);
  const tick = monitorTick(monitor, s.monitorState, {
    elapsedSeconds: elapsedMs(s, e) / 1000,
    status: 'running',
  });
  let downtimeInFlight = s.downtimeInFlight;
  const actions: JobAction[] = [];
  const raise: UnstampedEvent[] = [];
  for (const action of tick.actions) {
    if (action.type === 'set-downtime') {
      if (downtimeInFlight === action.downtimeMs) continue;
      downtimeInFlight = action.downtimeMs;
      actions.push({ type: 'set-downtime', downtimeMs: action.downtimeMs });
    } else if (action.type === 'abort') {
      raise.push({ type: 'abort', reason: action.reason });
    } else {
      raise.push({ type: 'force', how: action.type, reason: action.reason });
    }
  }
  const monitorState = { ...tick.state, downtimeMs: s.monitorState.downtimeMs };
  const adaptive = runForecast(s, e, raise.length > 0);
  return {
    set: { monitorState, downtimeInFlight, ...adaptive.set },
    do: [...actions, ...(adaptive.do ?? [])],
    raise: [...raise, ...(adaptive.raise ?? [])],
  };
}

/**
 * The adaptive switchover on a pre-copy tick: the forecast takes the tick's stats, is reported at each
 * iteration boundary, and — unless Nova's monitor acted on this tick already — its decision becomes the
 * monitor's own events: `force` (post-copy, or a pause) or `abort`, carrying the forecast. Stats the
 * forecast refuses (libvirt's answers are untrusted) are left out: the fixed timeout still holds.
 */
function runForecast(s: JobState, e: EventOf<'steer'>, monitorActed: boolean): Change {
  const { forecast: settings, plan } = preparation(s);
  const stats = e.stats === undefined ? undefined : tickFacts(e.stats).progress;
  if (settings === undefined || stats === undefined) return {};
  const sample = forecastSample({
    elapsedMs: elapsedMs(s, e),
    memoryRemaining: stats.memoryRemaining,
    memoryProcessed: stats.memoryProcessed,
    iteration: stats.memoryIteration,
    bandwidth: stats.memoryBps,
    dirtyRate: stats.memoryDirtyRate,
    throttle: stats.autoConvergeThrottle,
    stats: { memoryPageSize: stats.memoryPageSize },
  });
  if (sample === undefined) return {};
  let step: ReturnType<typeof forecastStep>;
  try {
    step = forecastStep(s.forecast.state, sample, { settings, downtimeMs: s.monitorState.downtimeMs });
  } catch {
    return {};
  }
  const { forecast } = step;
  const set: Partial<JobState> = { forecast: { state: step.state, last: forecast } };
  const reported: JobAction[] = forecast.atIterationBoundary ? [{ type: 'report-forecast', forecast }] : [];
  if (monitorActed) return { set, do: reported };
  const { decision, reason } = adaptiveSwitchover(forecast, {
    postCopyEffective: plan.postCopy,
    autoConverge: plan.autoConverge,
    explicitAutoConverge: plan.autoConverge && plan.decisions.autoConverge.source !== 'host',
    throttleAtCeiling: forecast.throttleAtCeiling,
    timeoutAction: plan.host.timeoutAction,
    atIterationBoundary: forecast.atIterationBoundary,
    atLocalMinimum: forecast.atLocalMinimum,
  });
  const why = `adaptive switchover: ${reason}`;
  const raise: UnstampedEvent[] =
    decision === 'abort'
      ? [{ type: 'abort', reason: why, forecast }]
      : decision === 'switch-to-post-copy' || decision === 'pause'
        ? [{ type: 'force', how: decision, reason: why, forecast }]
        : [];
  return { set, do: reported, raise };
}

/** The error of an abort that libvirt's own switch to post-copy overtook. */
const ABORT_OVERTAKEN = (): MigrationPolicyError =>
  new MigrationPolicyError(
    'ABORT_IN_POST_COPY',
    'libvirt switched to post-copy before the abort was accepted: the guest runs on the destination, so it is not aborted',
    { key: 'status', value: 'running (post-copy)' },
  );

type Step<E extends JobEvent = JobEvent> = (s: JobState, e: E) => Change;

export const STEPS = {
  // ---- Preparation and the call
  prepare: (s: JobState): Change => ({ do: [{ type: 'prepare', mode: s.settings.mode }] }),
  /** Keeps what the preparation read; the clock starts now (attach: when libvirt's job started). */
  keepPreparation: (_s: JobState, e: EventOf<'prepared'>): Change => ({
    set: {
      prepared: {
        plan: e.plan,
        call: e.call,
        dataGb: e.dataGb,
        monitor: e.monitor,
        sourceLibvirt: e.sourceLibvirt,
        ...(e.forecast === undefined ? {} : { forecast: e.forecast }),
        ...(e.watchdog === undefined ? {} : { watchdog: e.watchdog }),
      },
      startedAtMs: e.atMs - e.elapsedMs,
      pausedByOthers: e.source === 'paused',
    },
  }),
  callMigrate: (s: JobState): Change => ({ do: [{ type: 'call-migrate', call: preparation(s).call }] }),
  startPolling: (): Change => ({ raise: [{ type: 'start-polling' }] }),

  // ---- Abort
  /** Nothing reached libvirt yet, so the call is simply never made. */
  finishCancelled: (s: JobState): Change => finish(s, { status: 'cancelled', guest: 'source' }),
  /** Kept until libvirt's job exists (or until the copy runs, for attach). */
  wantAbort: (_s: JobState, e: EventOf<'abort'>): Change => ({
    set: { abort: 'wanted', abortReason: e.reason, abortForecast: e.forecast },
  }),
  sendAbort: (_s: JobState, e: EventOf<'abort'>): Change => ({
    set: { abort: 'sending', abortReason: e.reason, abortForecast: e.forecast },
    do: [{ type: 'abort-job' }],
  }),
  /** libvirt's job runs: the abort that waited for it goes first. */
  carryOutAbort: (s: JobState): Change => ({
    raise: [
      { type: 'abort', reason: s.abortReason, ...(s.abortForecast ? { forecast: s.abortForecast } : {}) },
    ],
  }),
  abortAccepted: (s: JobState, e: JobEvent): Change => ({
    set: { abort: 'sent' },
    do: [record(s, e, 'abort', s.abortReason, undefined, s.abortForecast)],
  }),
  /** A refused abort stays wanted: the next tick sends it again (libvirt may not have started its job yet). */
  abortRefused: (s: JobState, e: EventOf<'abort-refused'>): Change => ({
    set: { abort: 'wanted' },
    do: [record(s, e, 'abort', s.abortReason, e.error, s.abortForecast)],
  }),
  /** An abort sent just before libvirt switched by itself: libvirt refused it, and it stays refused. */
  abortDropped: (s: JobState, e: EventOf<'abort-refused'>): Change => ({
    set: { abort: 'none' },
    do: [record(s, e, 'abort', s.abortReason, e.error)],
  }),
  /** libvirt switched to post-copy without us (its own timeout, another client): an abort waiting to be sent is refused. */
  dropWantedAbort: (s: JobState, e: JobEvent): Change => ({
    set: { abort: 'none' },
    do: [record(s, e, 'abort', s.abortReason, ABORT_OVERTAKEN())],
  }),

  // ---- Force-complete
  countForce: (s: JobState): Change => ({
    set: { waiting: { ...s.waiting, forceComplete: s.waiting.forceComplete + 1 } },
  }),
  /** Kept until libvirt's job runs: libvirt refuses steering before. */
  awaitJob: (_s: JobState, e: EventOf<'force-complete'>): Change => ({
    set: { forceComplete: { reason: e.reason } },
  }),
  /** The policy decides what force-complete means for this migration, once. */
  decideForce: (s: JobState, e: EventOf<'force-complete'>): Change => ({
    raise: [{ type: 'force', how: forceHow(s), reason: e.reason }],
  }),
  /** libvirt's job runs: the force-complete that waited for it is decided now, for a running copy. */
  carryOutForce: (s: JobState): Change => ({
    raise: [
      {
        type: 'force',
        how: forceCompleteAction({ postCopy: preparation(s).plan.postCopy }, 'running'),
        reason: s.forceComplete?.reason ?? 'force-complete requested',
      },
    ],
  }),
  startForce: (_s: JobState, e: EventOf<'force'>): Change => ({
    set: { forceComplete: { reason: e.reason, ...(e.forecast ? { forecast: e.forecast } : {}) } },
    do: e.how === 'none' ? [] : [{ type: 'force-complete', how: e.how }],
  }),
  /** Nothing to force (post-copy, an abort asked, a guest paused by others, the end): waiting requests learn it. */
  answerForceNone: (s: JobState): Change => answerForce(s, 'none'),
  /** A second force-complete: the guest is paused already, by us. */
  answerPaused: (s: JobState): Change => answerForce(s, 'pause'),
  suspendDone: (s: JobState, e: JobEvent): Change => forceDone(s, e, 'pause'),
  suspendFailed: (s: JobState, e: EventOf<'suspend-failed'>): Change => forceDone(s, e, 'pause', e.error),
  switchDone: (s: JobState, e: JobEvent): Change =>
    both({ set: { postCopyStarted: true } }, forceDone(s, e, 'switch-to-post-copy')),
  switchFailed: (s: JobState, e: EventOf<'switch-failed'>): Change =>
    forceDone(s, e, 'switch-to-post-copy', e.error),
  /** A suspend still in flight when the migration ended: its result still shapes the outcome. */
  notePausedByUs: (s: JobState): Change => ({
    set: { end: s.end === undefined ? undefined : { ...s.end, pausedByUs: true } },
  }),

  // ---- The copy
  /** In pre-copy a paused source was paused by someone else (ours is the `paused` phase); it may be resumed. */
  noteSource: (s: JobState, e: EventOf<'tick'>): Change => ({
    set: { pausedByOthers: e.source === undefined ? s.pausedByOthers : e.source === 'paused' },
  }),
  enterPostCopy: (): Change => ({ set: { postCopyStarted: true } }),
  /** Nova's monitor takes its turn once the tick's other rows are done. */
  askMonitor: (_s: JobState, e: JobEvent): Change => ({
    raise: [e.type === 'tick' ? { type: 'steer', stats: e.stats } : { type: 'steer' }],
  }),
  runMonitor,
  downtimeSet: (s: JobState, e: EventOf<'downtime-set'>): Change => ({
    set: { downtimeInFlight: undefined, monitorState: { ...s.monitorState, downtimeMs: e.downtimeMs } },
    do: [record(s, e, 'set-downtime', `downtime step: ${e.downtimeMs} ms`)],
  }),
  /** Only what libvirt accepted is recorded as set; the monitor asks again on the next tick. */
  downtimeFailed: (s: JobState, e: EventOf<'downtime-failed'>): Change => ({
    set: { downtimeInFlight: undefined },
    do: [record(s, e, 'set-downtime', `downtime step: ${e.downtimeMs} ms`, e.error)],
  }),

  // ---- The end
  endReturned: (s: JobState): Change => toEnding(s, { how: 'returned' }),
  endFailed: (s: JobState, e: EventOf<'migrate-failed' | 'resume-attempt-failed'>): Change =>
    toEnding(s, { how: 'failed', error: callError(s, e) }),
  endJobGone: (s: JobState): Change => toEnding(s, { how: 'job-gone' }),
  endWithError: (s: JobState, e: EventOf<'prepare-failed'>): Change =>
    toEnding(s, { how: 'error', error: e.error }),
  /** Attach: the source says the post-copy broke; libvirt's call is not ours to wait for. */
  endBroken: (s: JobState): Change => toEnding(s, { how: 'failed' }),
  finishCompleted: (s: JobState, e: EventOf<'concluded'>): Change =>
    finish(s, { status: 'completed', guest: 'destination', ...statsOf(e), ...recoveryOutcome(s, e) }),
  /** The guest runs on the destination, its missing pages on the paused source: neither may be resumed or destroyed. */
  finishSplit: (s: JobState, e: EventOf<'concluded'>): Change => {
    const refused = s.recovery?.refused;
    const split = guestSplit({
      source: 'post-copy-failed',
      destination: e.destination ?? 'unknown',
      ...(refused ? { refused } : {}),
    });
    return finish(s, {
      status: 'failed',
      guest: split.authoritative === 'destination' ? 'destination' : 'unknown',
      error: endError(s, e),
      postCopyFailed: true,
      split,
      ...statsOf(e),
      ...recoveryOutcome(s, e),
    });
  },
  /** QEMU resumed the guest on the source: the destination's copy must be destroyed. */
  finishSourceSplit: (s: JobState, e: EventOf<'concluded'>): Change =>
    finish(s, {
      status: 'failed',
      guest: 'source',
      error: endError(s, e),
      postCopyFailed: true,
      split: guestSplit({ source: e.source ?? 'unknown', destination: e.destination ?? 'unknown' }),
      ...statsOf(e),
      ...recoveryOutcome(s, e),
    }),
  finishError: (s: JobState, e: EventOf<'concluded'>): Change => finish(s, failure(s, e, 'error')),
  finishCancelledEnd: (s: JobState, e: EventOf<'concluded'>): Change => finish(s, failure(s, e, 'cancelled')),
  finishFailed: (s: JobState, e: EventOf<'concluded'>): Change => finish(s, failure(s, e, 'failed')),
  /** Undo only our own pause, and only if the guest is still paused on the source. */
  resumeCancelled: (s: JobState, e: EventOf<'concluded'>): Change => ({
    set: { verdict: failure(s, e, 'cancelled') },
    do: [{ type: 'resume' }],
  }),
  resumeFailed: (s: JobState, e: EventOf<'concluded'>): Change => ({
    set: { verdict: failure(s, e, 'failed') },
    do: [{ type: 'resume' }],
  }),
  finishResumed: (s: JobState, e: JobEvent): Change =>
    finish(s, s.verdict ?? { status: 'failed', guest: 'source' }, [record(s, e, 'resume', RESUME_REASON)]),
  finishResumeFailed: (s: JobState, e: EventOf<'resume-failed'>): Change => {
    const verdict = s.verdict ?? { status: 'failed', guest: 'source' };
    const first = verdict.error ?? new Error('the migration failed');
    const error = new AggregateError([first, e.error], `${first.message}; resuming the guest failed too`);
    return finish(s, { ...verdict, error }, [record(s, e, 'resume', RESUME_REASON, e.error)]);
  },

  // ---- Recovery
  /** Attach found the post-copy broken while no agent watched. */
  breakFound: (s: JobState, e: JobEvent): Change => enterRecovery(s, e, undefined, false),
  /** A tick saw the break while libvirt's call still runs. */
  breakSeen: (s: JobState, e: JobEvent): Change => enterRecovery(s, e, undefined, true),
  /** libvirt's call failed and the source says the post-copy broke. */
  breakConcluded: (s: JobState, e: EventOf<'concluded'>): Change =>
    enterRecovery(s, e, endError(s, e), false),
  scheduleFirstAttempt: (s: JobState, e: JobEvent): Change => {
    const at = nextAttemptAt(1, 0, s.settings.recovery) ?? 0;
    return { set: withRecovery(s, { lastAt: at }), do: [scheduleAttempt(s, e, 1, at)] };
  },
  /** Reports the failed attempt with the wait before the next one, and schedules it. */
  retryLater: (s: JobState, e: EventOf<'resume-attempt-failed' | 'attempt-stalled'>): Change => {
    const r = recoveryOf(s);
    const after = afterFailedAttempt(s, e);
    const at = nextAttemptAt(r.attempts + 1, after, s.settings.recovery) ?? after;
    return {
      set: withRecovery(s, { lastAt: at }),
      do: [attemptFailedEvent(s, e, at - after), scheduleAttempt(s, e, r.attempts + 1, at)],
    };
  },
  reportAttemptFailed: (s: JobState, e: EventOf<'resume-attempt-failed' | 'attempt-stalled'>): Change => ({
    do: [attemptFailedEvent(s, e)],
  }),
  giveUpNoAttemptLeft: (s: JobState, e: JobEvent): Change =>
    giveUp(s, e, recoveryOf(s).attempts + 1 > s.settings.recovery.maxAttempts ? 'attempts' : 'window'),
  giveUpRefused: (s: JobState, e: EventOf<'resume-refused'>): Change => giveUp(s, e, 'refused', e.reason),
  giveUpWindow: (s: JobState, e: JobEvent): Change => giveUp(s, e, 'window'),
  /** The window closed while the attempt ran: it was the last. */
  giveUpOver: (s: JobState, e: JobEvent): Change => giveUp(s, e, recoveryOf(s).over ?? 'window'),
  /** An attempt in flight may still succeed: it decides. */
  closeWindow: (s: JobState): Change => ({ set: withRecovery(s, { over: 'window' }) }),
  /** The original call failed as expected; the first error is the one the outcome keeps. */
  callEnded: (s: JobState, e: EventOf<'migrate-failed'>): Change => ({
    set: withRecovery(s, { callInFlight: false, lastError: recoveryOf(s).lastError ?? callError(s, e) }),
  }),
  wantAttempt: (s: JobState): Change => ({ set: withRecovery(s, { wanted: true }) }),
  attempt: (s: JobState, e: JobEvent): Change => {
    const r = recoveryOf(s);
    const attempt = r.attempts + 1;
    const { refuseDestination } = s.settings.recovery;
    const { call, sourceLibvirt } = preparation(s);
    return {
      set: {
        ...withRecovery(s, { attempts: attempt, inFlight: true, wanted: false }),
        // On the migration's clock, so the watchdog's reason reads "since 20.4 s" from the start.
        watch: watchStart('resume-attempt', elapsedMs(s, e)),
      },
      do: [
        report(s, e, { kind: 'attempt', cause: r.cause, attempt }),
        {
          type: 'attempt-resume',
          attempt,
          call,
          sourceLibvirt,
          ...(refuseDestination ? { refuseDestination } : {}),
        },
      ],
    };
  },
  attemptEnded: (s: JobState): Change => ({
    set: { ...withRecovery(s, { inFlight: false }), watch: undefined },
  }),
  attemptFailed: (s: JobState, e: EventOf<'resume-attempt-failed' | 'attempt-stalled'>): Change => ({
    set: { ...withRecovery(s, { inFlight: false, lastError: e.error }), watch: undefined },
  }),
  /** The watchdog's look at the attempt in flight, on each tick: a stall becomes an event. */
  watchAttempt: (s: JobState, e: EventOf<'tick'>): Change => {
    const atMs = elapsedMs(s, e);
    const watch: WatchState = s.watch ?? watchStart('resume-attempt', atMs);
    let step: ReturnType<typeof watchStep>;
    try {
      step = watchStep(watch, watchSample(e, atMs), boundsOf(s));
    } catch {
      return {}; // a reading the rule refuses (libvirt's answers are untrusted): the next tick looks again
    }
    const { verdict } = step;
    if (verdict.kind !== 'stalled' || watch.stalled) return { set: { watch: step.state } };
    const attempt = recoveryOf(s).attempts;
    const error = new MigrationJobError(
      'RESUME_STALLED',
      `resume attempt ${attempt}: ${verdict.reason}; the job gives it up (a post-copy pause is sent to end it) and goes on as for a failed attempt`,
      { key: 'watchdog.resumeAttemptMs', value: verdict.boundMs },
    );
    return { set: { watch: step.state }, raise: [{ type: 'attempt-stalled', attempt, error }] };
  },
  /** A stalled attempt: libvirt is asked to end it (best effort), and the job stops waiting for it. */
  endAttempt: (): Change => ({ do: [{ type: 'end-attempt' }] }),
  /** The migration completed: by a resume of ours, or by itself (the break the source reported did not last). */
  reportRecovered: (s: JobState, e: JobEvent): Change => {
    const r = recoveryOf(s);
    return {
      set: {
        ...withRecovery(s, { inFlight: false, recovered: true, callInFlight: false }),
        watch: undefined,
      },
      do: [report(s, e, { kind: 'recovered', cause: r.cause, attempt: r.attempts })],
    };
  },
  recordResumed: (s: JobState, e: JobEvent): Change => ({
    do: [record(s, e, 'resume-post-copy', 'post-copy resumed (POSTCOPY_RESUME)')],
  }),

  // ---- A deliberate post-copy pause
  countPause: (s: JobState): Change => ({ set: { waiting: { ...s.waiting, pause: s.waiting.pause + 1 } } }),
  sendPause: (): Change => ({ set: { pausePostCopy: 'sending' }, do: [{ type: 'pause-post-copy' }] }),
  /** Not in post-copy: the waiting `pausePostCopy()` learns why, as the method itself would have thrown. */
  refusePause: (s: JobState): Change => answerPause(s, pauseRefusal(s)),
  /** libvirt fails the migration call as it pauses, so the answer may arrive in any later phase. */
  postCopyPauseDone: (s: JobState, e: JobEvent): Change =>
    both(
      { set: { pausePostCopy: 'sent' }, do: [record(s, e, 'pause-post-copy', 'pause requested')] },
      answerPause(s),
    ),
  postCopyPauseFailed: (s: JobState, e: EventOf<'postcopy-pause-failed'>): Change =>
    both(
      { set: { pausePostCopy: 'none' }, do: [record(s, e, 'pause-post-copy', 'pause requested', e.error)] },
      answerPause(s, e.error),
    ),
  /** After the end only the waiting requests learn the result. */
  answerPauseDone: (s: JobState): Change => answerPause(s),
  answerPauseFailed: (s: JobState, e: EventOf<'postcopy-pause-failed'>): Change => answerPause(s, e.error),

  // ---- The poll loop
  schedulePoll: (s: JobState): Change => ({
    do: [{ type: 'schedule', timer: 'poll', inMs: s.settings.pollIntervalMs, event: { type: 'poll-due' } }],
  }),
  readTick: (): Change => ({ do: [{ type: 'read-tick' }] }),
  /** A progress report from the tick's stats, in the state the tick led to. */
  reportProgress: (s: JobState, e: EventOf<'tick'>): Change => {
    const stats = tickFacts(e.stats).progress;
    if (stats === undefined) return {};
    const crossed = (stats.memoryProcessed ?? 0) > 0;
    const progress: MigrationProgress = {
      status: s.status,
      mode: progressMode(s),
      elapsedMs: elapsedMs(s, e),
      ...defined({
        memoryTotal: stats.memoryTotal,
        memoryProcessed: stats.memoryProcessed,
        memoryRemaining: stats.memoryRemaining,
        dataRemaining: stats.dataRemaining,
        iteration: stats.memoryIteration,
        dirtyRate: stats.memoryDirtyRate,
        bandwidth: stats.memoryBps,
        throttle: stats.autoConvergeThrottle,
        postCopyRequests: stats.memoryPostcopyRequests,
        downtimeMs: s.monitorState.downtimeMs,
        forecast: s.forecast.last,
      }),
      stats,
    };
    return {
      ...(crossed && !s.streamStarted ? { set: { streamStarted: true } } : {}),
      do: [{ type: 'report-progress', progress }],
    };
  },
} satisfies Record<string, Step<never>>;

/** The name of a step. */
export type StepName = keyof typeof STEPS;

function defined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
