/**
 * The vocabulary of the job's state machine (job-machine.ts): its phases, its one state value, the events it
 * takes and the actions it asks for.
 *
 * @module
 */

import type { JobStats } from '../libvirt/types.js';
import { FORECAST_START, type Forecast, type ForecastState } from '../policy/forecast.js';
import type { ForecastSettings } from '../policy/forecast-settings.js';
import type { MonitorSettings, MonitorState } from '../policy/monitor.js';
import type { MigrationPlan } from '../policy/plan.js';
import type { CopyPhase, GuestSplit, RecoveryOptions } from '../policy/recovery.js';
import type { ForceCompleteAction, MigrationStatus } from '../policy/status.js';
import type { WatchdogBounds, WatchState } from '../policy/watchdog.js';
import type { SourcePhase } from './domain-state.js';
import type { MigrationCall } from './params.js';
import type {
  CompletedMigration,
  GuestLocation,
  MigrationProgress,
  RecoveryEvent,
  RecoveryOutcome,
  SteeringAction,
  UnfinishedMigration,
} from './types.js';

/**
 * Where a job is. `starting`: the migrate call is made, libvirt's job not yet seen (libvirt refuses steering
 * until it exists). `pausing` / `switching`: a force-complete call is in flight. `ending`: libvirt said the
 * migration ended; the job reads how. `resuming`: undoing our own pause after a failure. `recovering`: the
 * post-copy broke (or was paused on request) and the job resumes it with `POSTCOPY_RESUME`;
 * `postcopy-failed`: it ended without recovering, the guest split between the hosts.
 */
export type Phase =
  | 'queued'
  | 'preparing'
  | 'starting'
  | 'pre-copy'
  | 'pausing'
  | 'paused'
  | 'switching'
  | 'post-copy'
  | 'ending'
  | 'resuming'
  | 'postcopy-failed'
  | 'recovering'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'error';

/** The phases in which the outcome has been produced: nothing but answers happens there any more. */
export const TERMINAL: ReadonlySet<Phase> = new Set([
  'postcopy-failed',
  'completed',
  'failed',
  'cancelled',
  'error',
]);

/** The status callers see in each phase; `undefined` keeps the previous one (the end is not known yet). */
export const STATUS_OF: Readonly<Record<Phase, MigrationStatus | undefined>> = {
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

/** The phases whose ticks mean something: libvirt's job may still run. Once ending, polling stops. */
export const POLLS: Readonly<Record<Phase, boolean>> = {
  queued: true,
  preparing: true,
  starting: true,
  'pre-copy': true,
  pausing: true,
  paused: true,
  switching: true,
  'post-copy': true,
  ending: false,
  resuming: false,
  'postcopy-failed': false,
  recovering: true,
  completed: false,
  failed: false,
  cancelled: false,
  error: false,
};

/** What the job is given when it is created, from the resolved options; fixed for its life. */
export interface JobSettings {
  mode: 'start' | 'attach';
  /** How often libvirt's job is read while the migration runs. */
  pollIntervalMs: number;
  /** What the job does when the post-copy breaks (from `postCopyRecovery`). */
  recovery: RecoveryOptions;
  /** `adaptive`: the forecast steers a pre-copy that will not converge (from `switchover`). */
  switchover: 'fixed' | 'adaptive';
}

/** What the preparation read and decided, just before the libvirt call. */
export interface Preparation {
  plan: MigrationPlan;
  call: MigrationCall;
  /** The GiB the monitor counts with. */
  dataGb: number;
  monitor: MonitorSettings;
  /** The source's libvirt version, encoded: a resume asks whether it may be sent. */
  sourceLibvirt: number;
  /** The forecast's fixed inputs, with `switchover: 'adaptive'`. */
  forecast?: ForecastSettings;
  /** How long each step libvirt holds may go without movement (`watchdog`, sized from the guest and link). */
  watchdog?: WatchdogBounds;
}

/** How the migration ended, as far as the job knows when it enters `ending`. */
export interface EndCause {
  /** `returned`: the migrate call succeeded; `failed`: it failed; `job-gone`: attach mode saw libvirt's job end; `error`: the job could not start. */
  how: 'returned' | 'failed' | 'job-gone' | 'error';
  error?: Error;
}

/** How a step says the job ended; {@link Verdict} is what it becomes once the row finishes the job. */
export interface VerdictDraft {
  status: 'completed' | 'failed' | 'cancelled' | 'error';
  guest: GuestLocation;
  error?: Error;
  stats?: JobStats;
  postCopyFailed?: boolean;
  recovery?: RecoveryOutcome;
  split?: GuestSplit;
}

/**
 * The outcome the shell reports once the job ends, but the steering and the warnings it kept: completed with
 * the plan and stats, or unfinished with an error.
 */
export type Verdict =
  | Omit<CompletedMigration, 'steering' | 'warnings'>
  | Omit<UnfinishedMigration, 'steering' | 'warnings'>;

/** The recovery of a broken post-copy, while the job is in (or has left) `recovering`. */
export interface RecoveryState {
  /** Attempts are made by themselves; otherwise only `recover()` starts one. */
  automatic: boolean;
  cause: 'failed' | 'paused';
  /** When the post-copy broke, on the job's clock: the schedule and the window count from here. */
  startedAtMs: number;
  /** Attempts started so far. */
  attempts: number;
  /** When the last attempt was due, in ms after the failure. */
  lastAt: number;
  inFlight: boolean;
  /** The original migrate call has not returned yet (libvirt still finishes it): no attempt before it does. */
  callInFlight: boolean;
  /** `recover()` was called while an attempt could not start: it starts as soon as it can. */
  wanted: boolean;
  /** Why recovery stopped, once it did: the versions refuse it, the window or the attempts ran out. */
  over: 'refused' | 'window' | 'attempts' | undefined;
  refused: string | undefined;
  lastError: Error | undefined;
  recovered: boolean;
}

/**
 * Everything the job knows, as one plain value: the shell keeps the current one and replaces it on each
 * event. Beside the phase run the job's parallel concerns, each a field of its own: an abort asked for, a
 * force-complete waiting for libvirt's job, a post-copy pause, the poll loop, the requests waiting for an
 * answer.
 */
export interface JobState {
  phase: Phase;
  status: MigrationStatus;
  settings: JobSettings;
  /** Set by `prepared`. */
  prepared: Preparation | undefined;
  /** When the migration started on the job's clock (the `atMs` of events); attach: libvirt's own start. */
  startedAtMs: number | undefined;
  /** How many `forceComplete()` and `pausePostCopy()` promises wait for an answer (the shell holds them, in order). */
  waiting: { forceComplete: number; pause: number };
  /** `wanted`: requested, not yet sent (libvirt's job not running yet, or libvirt refused it: retried per tick). */
  abort: 'none' | 'wanted' | 'sending' | 'sent';
  abortReason: string;
  /** The forecast that asked for the abort (adaptive switchover), for its steering entry. */
  abortForecast: Forecast | undefined;
  /** A force-complete asked for and not carried out yet: waiting for libvirt's job, or its call in flight (pausing, switching). */
  forceComplete: { reason: string; forecast?: Forecast } | undefined;
  /** A deliberate post-copy pause (`abortJob` with the post-copy flag). */
  pausePostCopy: 'none' | 'sending' | 'sent';
  /** The poll loop: `waiting` for its timer, `reading` libvirt's job, or `off`. */
  polling: 'off' | 'waiting' | 'reading';
  /** The guest was paused by someone else (seen before the migration or on a tick): never ours to undo. */
  pausedByOthers: boolean;
  monitorState: MonitorState;
  /** The convergence forecast's memory between ticks (adaptive switchover), and what it said last. */
  forecast: { state: ForecastState; last: Forecast | undefined };
  /** The downtime being set right now, so a slow call is not repeated by the next tick. */
  downtimeInFlight: number | undefined;
  /** The guest has run on the destination: libvirt switched to post-copy. */
  postCopyStarted: boolean;
  /**
   * A tick saw guest memory cross: a TLS failure of the call is then the link breaking, not the handshake
   * (see `explainTlsFailure`).
   */
  streamStarted: boolean;
  /** Set on entering `ending`. */
  end: (EndCause & { pausedByUs: boolean }) | undefined;
  /** Set on entering `resuming`: the outcome to report once the guest is resumed. */
  verdict: VerdictDraft | undefined;
  recovery: RecoveryState | undefined;
  /** The watchdog's watch of the step libvirt holds now: a resume attempt, while it is in flight. */
  watch: WatchState | undefined;
}

/** libvirt's job stats on a tick, or why they could not be read. */
export type TickStats = JobStats | { unreadable: 'no-domain' | 'error' };

/** The timers the job sets; setting one again replaces it. */
export type TimerName = 'poll' | 'resume' | 'recovery-window';

/** The events a timer delivers. */
export type TimerEvent =
  | { type: 'poll-due' }
  | { type: 'resume-due'; attempt: number }
  | { type: 'recovery-expired' };

/** What happened, before the shell stamps it: requests from the caller, results of actions, timers. */
export type UnstampedEvent =
  | { type: 'run' }
  | { type: 'abort'; reason: string; forecast?: Forecast }
  | { type: 'force-complete'; reason: string }
  | { type: 'pause-post-copy' }
  | { type: 'recover' }
  | ({ type: 'prepared'; source: SourcePhase; elapsedMs: number } & Preparation)
  | { type: 'prepare-failed'; error: Error }
  | TimerEvent
  | { type: 'tick'; stats: TickStats; source: SourcePhase | undefined }
  | { type: 'migrate-returned' }
  | { type: 'migrate-failed'; error: Error }
  | { type: 'abort-accepted' }
  | { type: 'abort-refused'; error: Error }
  | { type: 'switched' }
  | { type: 'switch-failed'; error: Error }
  | { type: 'suspended' }
  | { type: 'suspend-failed'; error: Error }
  | { type: 'downtime-set'; downtimeMs: number }
  | { type: 'downtime-failed'; downtimeMs: number; error: Error }
  | {
      type: 'concluded';
      source: SourcePhase | undefined;
      stats: JobStats | undefined;
      destination?: CopyPhase;
    }
  | { type: 'resumed' }
  | { type: 'resume-failed'; error: Error }
  | { type: 'postcopy-paused' }
  | { type: 'postcopy-pause-failed'; error: Error }
  | { type: 'resume-refused'; reason: string; attempt: number }
  | { type: 'resume-returned'; attempt: number }
  | { type: 'resume-attempt-failed'; error: Error; source: SourcePhase | undefined; attempt: number }
  // Raised by the machine itself and handled within the same transition (never by the shell):
  /** The poll loop should run. */
  | { type: 'start-polling' }
  /** Nova's monitor (and the adaptive switchover, with the tick's stats) takes its turn on this tick. */
  | { type: 'steer'; stats?: TickStats }
  /** A force-complete to carry out now, as the policy decided it (the monitor's, the forecast's, or one that waited). */
  | { type: 'force'; how: ForceCompleteAction; reason: string; forecast?: Forecast }
  /** The watchdog saw the resume attempt `attempt` move nothing for its bound (`error` says what it saw). */
  | { type: 'attempt-stalled'; attempt: number; error: Error };

/** An event as the machine takes it: stamped with `atMs` (ms, `performance.now()`) where it was dispatched. */
export type JobEvent = UnstampedEvent & { atMs: number };

/** The type names of the events. */
export type EventType = JobEvent['type'];

/** The event of one type. */
export type EventOf<T extends EventType> = Extract<JobEvent, { type: T }>;

/** What the effects (job-effects.ts) run against libvirt; each answers with the events named beside it. */
export type EffectAction =
  /** Subscribe to events, read providers, state, versions, size (attach: and libvirt's job) → prepared | prepare-failed. */
  | { type: 'prepare'; mode: 'start' | 'attach' }
  /** `virDomainMigrateToURI3` → migrate-returned | migrate-failed. */
  | { type: 'call-migrate'; call: MigrationCall }
  /** libvirt's job stats and the source's state → tick. */
  | { type: 'read-tick' }
  /** `virDomainAbortJob` → abort-accepted | abort-refused. */
  | { type: 'abort-job' }
  /** `virDomainMigrateStartPostCopy` → switched | switch-failed; `virDomainSuspend` → suspended | suspend-failed. */
  | { type: 'force-complete'; how: 'switch-to-post-copy' | 'pause' }
  /** `virDomainResume` → resumed | resume-failed. */
  | { type: 'resume' }
  /** `virDomainMigrateSetMaxDowntime` → downtime-set | downtime-failed. */
  | { type: 'set-downtime'; downtimeMs: number }
  /** The completed job's stats (short deadline), and unless the call returned the source's state (and with a URI the destination's) → concluded. */
  | { type: 'conclude'; readSource: boolean; askDestination: string | undefined }
  /** `virDomainAbortJobFlags(POSTCOPY)` → postcopy-paused | postcopy-pause-failed. */
  | { type: 'pause-post-copy' }
  /** Ask the destination's libvirt version, then the call again with `POSTCOPY_RESUME` → resume-refused | resume-returned | resume-attempt-failed. */
  | {
      type: 'attempt-resume';
      /** The attempt's number, echoed in its answer: an answer of an attempt given up is told apart. */
      attempt: number;
      call: MigrationCall;
      sourceLibvirt: number;
      refuseDestination?: (libvirtVersion: number) => boolean;
    }
  /** A stalled resume attempt: `virDomainAbortJobFlags(POSTCOPY)`, best effort, no answer event (a refusal is a warning). */
  | { type: 'end-attempt' }
  /** The timer `timer` delivers `event` in `inMs` (replacing the timer of that name); all are cleared at the end. */
  | { type: 'schedule'; timer: TimerName; inMs: number; event: TimerEvent };

/** What the shell (job.ts) reports or answers. */
export type ReportAction =
  /** Something libvirt accepted, for `outcome.steering`; with `error`, something it refused (also a warning). */
  | {
      type: 'record';
      action: SteeringAction;
      reason: string;
      elapsedMs: number;
      error?: Error;
      forecast?: Forecast;
    }
  /** The forecast at an iteration boundary (adaptive switchover). */
  | { type: 'report-forecast'; forecast: Forecast }
  | { type: 'report-recovery'; event: RecoveryEvent }
  | { type: 'report-progress'; progress: MigrationProgress }
  /** Settle the first `count` pending `forceComplete()` promises. */
  | { type: 'answer-force-complete'; count: number; result: ForceCompleteAction | Error }
  /** Settle the first `count` pending `pausePostCopy()` promises. */
  | { type: 'answer-pause'; count: number; error?: Error }
  /** The job is over: free the slot, report the outcome. */
  | { type: 'finish'; verdict: Verdict };

/** What the machine asks for: effects and reports, in order. */
export type JobAction = EffectAction | ReportAction;

/** The next state and the actions to run, in order. */
export interface Transition {
  state: JobState;
  actions: JobAction[];
}

/**
 * The state of a job before anything happened.
 *
 * @example
 * ```ts
 * initialState({ mode: 'start', pollIntervalMs: 1000, recovery: DEFAULT_RECOVERY, switchover: 'fixed' }).phase; // 'queued'
 * ```
 */
export function initialState(settings: JobSettings): JobState {
  return {
    phase: 'queued',
    status: 'queued',
    settings,
    prepared: undefined,
    startedAtMs: undefined,
    waiting: { forceComplete: 0, pause: 0 },
    abort: 'none',
    abortReason: '',
    abortForecast: undefined,
    forceComplete: undefined,
    pausePostCopy: 'none',
    polling: 'off',
    pausedByOthers: false,
    monitorState: {},
    forecast: { state: FORECAST_START, last: undefined },
    downtimeInFlight: undefined,
    postCopyStarted: false,
    streamStarted: false,
    end: undefined,
    verdict: undefined,
    recovery: undefined,
    watch: undefined,
  };
}
