/**
 * The lifecycle of a {@link MigrationJob} as one pure state machine, read as a table: for each phase and
 * event, the rows — a guard (named predicates, all of which must hold; the first row that matches wins),
 * the next phase (none: it stays) and the steps it runs (job-steps.ts), which change the state and ask for
 * actions. Every (phase, event) pair is listed: a pair no row takes is skipped for a stated reason.
 * Beside the phase runs the poll loop ({@link POLLING}), a region of its own. `npm run docs:machine` draws
 * both from these tables into docs/job-machine.md.
 *
 * The job itself (job.ts) only stamps each event with the time and hands the actions out: libvirt calls to
 * job-effects.ts, reports and answers to its listeners and callers.
 *
 * @module
 */
import { GUARDS, type GuardName } from './job-guards.js';
import {
  type EventOf,
  type EventType,
  type JobAction,
  type JobEvent,
  type JobState,
  type Phase,
  STATUS_OF,
  type Transition,
} from './job-states.js';
import { type Change, STEPS, type StepName } from './job-steps.js';

export { assertCanAbort, pauseRefusal, recoverRefusal } from './job-guards.js';
export type {
  JobAction,
  JobEvent,
  JobSettings,
  JobState,
  Phase,
  Preparation,
  RecoveryState,
  Transition,
  UnstampedEvent,
  Verdict,
} from './job-states.js';
export { initialState } from './job-states.js';
export { progressMode } from './job-steps.js';

// ---- The alphabet -------------------------------------------------------------------------------------

/** The events, by kind: the caller's requests, the answers of each libvirt call, the timers, the machine's own. */
export const EVENTS = {
  requests: ['run', 'abort', 'force-complete', 'pause-post-copy', 'recover'],
  preparation: ['prepared', 'prepare-failed'],
  ticks: ['tick'],
  call: ['migrate-returned', 'migrate-failed'],
  abort: ['abort-accepted', 'abort-refused'],
  forceComplete: ['switched', 'switch-failed', 'suspended', 'suspend-failed'],
  downtime: ['downtime-set', 'downtime-failed'],
  conclusion: ['concluded'],
  resume: ['resumed', 'resume-failed'],
  postCopyPause: ['postcopy-paused', 'postcopy-pause-failed'],
  recovery: [
    'resume-due',
    'recovery-expired',
    'resume-refused',
    'resume-returned',
    'resume-attempt-failed',
    'attempt-stalled',
  ],
  /** Raised by rows of the phase table, handled in the same transition. */
  raised: ['steer', 'force'],
  /** The poll loop's own: its timer, and the rows that start it. */
  polling: ['poll-due', 'start-polling'],
} as const satisfies Record<string, readonly EventType[]>;

type Listed = (typeof EVENTS)[keyof typeof EVENTS][number];
/** Fails to compile when an event type is missing from {@link EVENTS}. */
const everyEventListed: Exclude<EventType, Listed> extends never ? true : never = true;
void everyEventListed;

/** The events the phase table takes (every one but the poll loop's own). */
export type PhaseEvent = Exclude<EventType, (typeof EVENTS)['polling'][number]>;
/** The events the poll loop takes. */
export type PollEvent = 'start-polling' | 'poll-due' | 'tick';

// ---- The shape of a table -----------------------------------------------------------------------------

/** Whether a guard or step can take the event type `T` (a function that ignores the event takes any). */
type Takes<F, T extends EventType> = F extends (s: JobState, e: infer E, ...rest: never[]) => unknown
  ? EventOf<T> extends E
    ? true
    : false
  : true;
type GuardFor<T extends EventType> = {
  [K in GuardName]: Takes<(typeof GUARDS)[K], T> extends true ? K : never;
}[GuardName];
type StepFor<T extends EventType> = {
  [K in StepName]: Takes<(typeof STEPS)[K], T> extends true ? K : never;
}[StepName];

/** One row: taken when every guard holds; it runs the steps, then moves to `to` (absent: stays). */
export interface Row<T extends EventType = EventType, To extends string = string> {
  readonly if?: readonly GuardFor<T>[];
  readonly to?: To;
  readonly do?: readonly StepFor<T>[];
}

/**
 * Why a pair has no row. `cannot`: nothing in flight in this phase answers with this event. `late`: the
 * answer of a call made (or a timer set) in an earlier phase; it changes nothing now. `refused`: a request
 * this phase refuses — `abort()` and `recover()` throw here, so only one queued just before the phase
 * changed arrives, and the outcome answers it. `rest`: the monitor does not steer here. `over`: the outcome
 * is out; from here on only answers.
 */
export type SkipReason = 'cannot' | 'late' | 'refused' | 'rest' | 'over';

/** The rows of one state: per event, its rows; per reason, the events it skips. */
export interface StateRows<E extends EventType, To extends string> {
  readonly on: { readonly [T in E]?: readonly Row<T, To>[] };
  readonly skip: { readonly [R in SkipReason]?: readonly E[] };
}

const { preparation, ticks, call, abort, forceComplete, downtime, conclusion } = EVENTS;
const { resume, postCopyPause, recovery, raised } = EVENTS;

/** The rows of a phase, by event (the `on` of {@link StateRows}). */
type PhaseRows = StateRows<PhaseEvent, Phase>['on'];

// ---- Rows several phases share ------------------------------------------------------------------------

/** The answers of the calls a phase of the copy may have in flight: the downtime steps, the migrate call. */
const COPY_RESULTS = {
  'downtime-set': [{ do: ['downtimeSet'] }],
  'downtime-failed': [{ do: ['downtimeFailed'] }],
  'migrate-returned': [{ to: 'ending', do: ['endReturned'] }],
  'migrate-failed': [{ to: 'ending', do: ['endFailed'] }],
} as const satisfies PhaseRows;

/** Aborting while the guest still runs on the source (pre-copy, and force-complete's pause). */
const ABORT_ROWS = {
  abort: [{ if: ['abortSent'] }, { do: ['sendAbort'] }],
  'abort-accepted': [{ do: ['abortAccepted'] }],
  'abort-refused': [{ do: ['abortRefused'] }],
} as const satisfies PhaseRows;

/** Before libvirt's job runs, a force-complete waits for it; a pause is refused (no post-copy yet). */
const BEFORE_THE_JOB = {
  'force-complete': [{ do: ['countForce', 'awaitJob'] }],
  'pause-post-copy': [{ do: ['countPause', 'refusePause'] }],
} as const satisfies PhaseRows;

/** Not in post-copy, and no pause in flight: a pause is refused as `pausePostCopy()` itself refuses it. */
const NO_PAUSE = { 'pause-post-copy': BEFORE_THE_JOB['pause-post-copy'] } as const satisfies PhaseRows;

/** Nothing to force any more (post-copy, the end): a force-complete learns it at once. */
const NOTHING_TO_FORCE = {
  'force-complete': [{ do: ['countForce', 'answerForceNone'] }],
} as const satisfies PhaseRows;

/**
 * After the post-copy phase: a deliberate pause still in flight is answered whenever it lands (libvirt
 * fails the migration call as it pauses), and a new request joins it — or, with none in flight, is refused.
 */
const PAUSE_IN_FLIGHT = {
  'pause-post-copy': [{ if: ['pauseSending'], do: ['countPause'] }, { do: ['countPause', 'refusePause'] }],
  'postcopy-paused': [{ do: ['postCopyPauseDone'] }],
  'postcopy-pause-failed': [{ do: ['postCopyPauseFailed'] }],
} as const satisfies PhaseRows;

/**
 * Before libvirt is called. Start mode: nothing reached libvirt yet, so the call is simply never made.
 * Attach: the migration runs already; it is aborted once the job follows it.
 */
const ABORT_BEFORE_THE_CALL = {
  abort: [
    { if: ['startMode'], to: 'cancelled', do: ['finishCancelled'] },
    { if: ['abortAsked'] },
    { do: ['wantAbort'] },
  ],
} as const satisfies PhaseRows;

/** What only comes once the copy is over: its conclusion, the resume of our pause, the recovery's answers. */
const AFTER_THE_COPY = [...conclusion, ...resume, ...recovery] as const satisfies readonly PhaseEvent[];

/** What nothing answers before the job has called libvirt or followed its job. */
const BEFORE_ANY_CALL = [
  ...ticks,
  ...call,
  ...abort,
  ...forceComplete,
  ...downtime,
  ...raised,
  ...postCopyPause,
  ...AFTER_THE_COPY,
] as const satisfies readonly PhaseEvent[];

/** What no phase of the copy before the switch receives: the preparation is over, nothing after it begun. */
const DURING_THE_COPY = [
  'run',
  ...preparation,
  ...postCopyPause,
  ...AFTER_THE_COPY,
] as const satisfies readonly PhaseEvent[];

/**
 * A tick of a copy libvirt may switch to post-copy by itself (its own timeout, another client), or whose
 * attach mode learns the end from libvirt's job.
 */
const FOLLOW_THE_COPY = [
  { if: ['attachJobEnded'], to: 'ending', do: ['endJobGone'] },
  { if: ['sourceInPostCopy', 'abortWanted'], to: 'post-copy', do: ['dropWantedAbort', 'enterPostCopy'] },
  { if: ['sourceInPostCopy'], to: 'post-copy', do: ['enterPostCopy'] },
] as const satisfies readonly Row<'tick', Phase>[];

/** The phases in which the outcome is out: only the waiting requests are answered. */
const TERMINAL_ROWS: StateRows<PhaseEvent, Phase> = {
  on: {
    ...NOTHING_TO_FORCE,
    'pause-post-copy': PAUSE_IN_FLIGHT['pause-post-copy'],
    'postcopy-paused': [{ do: ['answerPauseDone'] }],
    'postcopy-pause-failed': [{ do: ['answerPauseFailed'] }],
  },
  skip: {
    over: [
      'run',
      'abort',
      'recover',
      ...preparation,
      ...ticks,
      ...call,
      ...abort,
      ...forceComplete,
      ...downtime,
      ...conclusion,
      ...resume,
      ...recovery,
      ...raised,
    ],
  },
};

// ---- The table ----------------------------------------------------------------------------------------

/**
 * Every transition of a job's phase, phase by phase in the order a migration goes through them.
 *
 * @example
 * ```ts
 * TRANSITIONS['post-copy'].on['force-complete']; // [{ do: ['countForce', 'answerForceNone'] }]: nothing to force once in post-copy
 * ```
 */
export const TRANSITIONS: { readonly [P in Phase]: StateRows<PhaseEvent, Phase> } = {
  queued: {
    on: {
      run: [{ to: 'preparing', do: ['prepare'] }],
      ...ABORT_BEFORE_THE_CALL,
      ...BEFORE_THE_JOB,
    },
    skip: {
      refused: ['recover'],
      cannot: [...preparation, ...BEFORE_ANY_CALL],
    },
  },

  preparing: {
    on: {
      prepared: [
        // Attach to a post-copy that broke while no agent watched: recover it.
        {
          if: ['brokenOnAttach', 'recoversByItself', 'noFirstAttempt'],
          to: 'ending',
          do: ['keepPreparation', 'breakFound', 'giveUpNoAttemptLeft'],
        },
        {
          if: ['brokenOnAttach', 'recoversByItself'],
          to: 'recovering',
          do: ['keepPreparation', 'breakFound', 'scheduleFirstAttempt'],
        },
        { if: ['brokenOnAttach'], to: 'recovering', do: ['keepPreparation', 'breakFound'] },
        { if: ['startMode'], to: 'starting', do: ['keepPreparation', 'callMigrate', 'startPolling'] },
        // Attach follows a running migration: what waited for libvirt's job happens now, the abort first.
        {
          if: ['sourceInPostCopy', 'abortWanted'],
          to: 'post-copy',
          do: ['keepPreparation', 'startPolling', 'dropWantedAbort', 'enterPostCopy', 'answerForceNone'],
        },
        {
          if: ['sourceInPostCopy'],
          to: 'post-copy',
          do: ['keepPreparation', 'startPolling', 'enterPostCopy', 'answerForceNone'],
        },
        { if: ['abortWanted'], to: 'pre-copy', do: ['keepPreparation', 'startPolling', 'carryOutAbort'] },
        { if: ['forceWaiting'], to: 'pre-copy', do: ['keepPreparation', 'startPolling', 'carryOutForce'] },
        { to: 'pre-copy', do: ['keepPreparation', 'startPolling'] },
      ],
      'prepare-failed': [{ to: 'ending', do: ['endWithError'] }],
      ...ABORT_BEFORE_THE_CALL,
      ...BEFORE_THE_JOB,
    },
    skip: {
      refused: ['recover'],
      cannot: ['run', ...BEFORE_ANY_CALL],
    },
  },

  starting: {
    on: {
      // libvirt refuses steering until its job exists: requests wait for the first tick that shows it.
      tick: [
        { if: ['jobNotRunning'] },
        {
          if: ['sourceInPostCopy', 'abortWanted'],
          to: 'post-copy',
          do: ['dropWantedAbort', 'enterPostCopy', 'answerForceNone'],
        },
        { if: ['sourceInPostCopy'], to: 'post-copy', do: ['enterPostCopy', 'answerForceNone'] },
        { if: ['abortWanted'], to: 'pre-copy', do: ['carryOutAbort', 'askMonitor'] },
        { if: ['forceWaiting'], to: 'pre-copy', do: ['carryOutForce', 'askMonitor'] },
        { to: 'pre-copy', do: ['askMonitor'] },
      ],
      abort: [{ if: ['abortAsked'] }, { do: ['wantAbort'] }],
      'migrate-returned': COPY_RESULTS['migrate-returned'],
      'migrate-failed': COPY_RESULTS['migrate-failed'],
      ...BEFORE_THE_JOB,
    },
    skip: {
      refused: ['recover'],
      cannot: [...DURING_THE_COPY, ...abort, ...forceComplete, ...downtime, ...raised],
    },
  },

  'pre-copy': {
    on: {
      tick: [
        ...FOLLOW_THE_COPY,
        // A refused abort is sent again; the monitor rests while it is on its way.
        { if: ['abortWanted'], do: ['noteSource', 'carryOutAbort', 'askMonitor'] },
        { do: ['noteSource', 'askMonitor'] },
      ],
      steer: [{ if: ['abortSent'] }, { do: ['runMonitor'] }],
      ...ABORT_ROWS,
      'force-complete': [{ do: ['countForce', 'decideForce'] }],
      // Never steer a migration being aborted; never pause a guest someone else paused.
      force: [
        { if: ['abortAsked'], do: ['answerForceNone'] },
        { if: ['switches'], to: 'switching', do: ['startForce'] },
        { if: ['mayPause'], to: 'pausing', do: ['startForce'] },
        { do: ['answerForceNone'] },
      ],
      ...COPY_RESULTS,
      ...NO_PAUSE,
    },
    skip: {
      refused: ['recover'],
      cannot: [...DURING_THE_COPY, ...forceComplete],
    },
  },

  pausing: {
    on: {
      tick: [{ if: ['attachJobEnded'], to: 'ending', do: ['endJobGone'] }, {}],
      ...ABORT_ROWS,
      suspended: [{ to: 'paused', do: ['suspendDone'] }],
      'suspend-failed': [{ to: 'pre-copy', do: ['suspendFailed'] }],
      // A second force-complete shares the suspend in flight.
      'force-complete': [{ do: ['countForce'] }],
      ...COPY_RESULTS,
      ...NO_PAUSE,
    },
    skip: {
      refused: ['recover'],
      rest: ['steer'],
      cannot: [...DURING_THE_COPY, 'switched', 'switch-failed', 'force'],
    },
  },

  paused: {
    on: {
      tick: [
        ...FOLLOW_THE_COPY,
        { if: ['abortWanted'], do: ['carryOutAbort', 'askMonitor'] },
        { do: ['askMonitor'] },
      ],
      steer: [{ if: ['abortSent'] }, { do: ['runMonitor'] }],
      ...ABORT_ROWS,
      // The guest is paused already, by us; the monitor's timeout leaves it so.
      'force-complete': [{ do: ['countForce', 'answerPaused'] }],
      force: [{ do: ['answerPaused'] }],
      ...COPY_RESULTS,
      ...NO_PAUSE,
    },
    skip: {
      refused: ['recover'],
      cannot: [...DURING_THE_COPY, ...forceComplete],
    },
  },

  switching: {
    on: {
      tick: [{ if: ['attachJobEnded'], to: 'ending', do: ['endJobGone'] }, {}],
      switched: [{ to: 'post-copy', do: ['switchDone'] }],
      'switch-failed': [{ to: 'pre-copy', do: ['switchFailed'] }],
      'force-complete': [{ do: ['countForce'] }],
      ...COPY_RESULTS,
      ...NO_PAUSE,
    },
    skip: {
      refused: ['abort', 'recover'],
      rest: ['steer'],
      cannot: [...DURING_THE_COPY, ...abort, 'suspended', 'suspend-failed', 'force'],
    },
  },

  'post-copy': {
    on: {
      tick: [
        { if: ['sourceBroken', 'startMode'], to: 'recovering', do: ['breakSeen'] },
        { if: ['sourceBroken'], to: 'ending', do: ['endBroken'] },
        { if: ['attachJobEnded'], to: 'ending', do: ['endJobGone'] },
        {},
      ],
      'pause-post-copy': [
        { if: ['pauseNotAsked'], do: ['countPause', 'sendPause'] },
        { if: ['pauseSent'], do: ['countPause', 'answerPauseDone'] },
        { do: ['countPause'] },
      ],
      'postcopy-paused': PAUSE_IN_FLIGHT['postcopy-paused'],
      'postcopy-pause-failed': PAUSE_IN_FLIGHT['postcopy-pause-failed'],
      ...NOTHING_TO_FORCE,
      'abort-accepted': ABORT_ROWS['abort-accepted'],
      'abort-refused': [{ do: ['abortDropped'] }],
      ...COPY_RESULTS,
    },
    skip: {
      refused: ['abort', 'recover'],
      cannot: ['run', ...preparation, ...forceComplete, ...conclusion, ...resume, ...recovery, ...raised],
    },
  },

  ending: {
    on: {
      concluded: [
        { if: ['endedWell'], to: 'completed', do: ['finishCompleted'] },
        // A failed post-copy is not the end: the job recovers it, unless that was tried already — or there
        // is no call to resume (the preparation failed).
        { if: ['postCopyBroken', 'unprepared'], to: 'postcopy-failed', do: ['finishSplit'] },
        {
          if: ['postCopyBroken', 'notRecoveredYet', 'recoversByItself', 'noFirstAttempt'],
          to: 'ending',
          do: ['breakConcluded', 'giveUpNoAttemptLeft'],
        },
        {
          if: ['postCopyBroken', 'notRecoveredYet', 'recoversByItself'],
          to: 'recovering',
          do: ['breakConcluded', 'scheduleFirstAttempt'],
        },
        { if: ['postCopyBroken', 'notRecoveredYet'], to: 'recovering', do: ['breakConcluded'] },
        { if: ['postCopyBroken'], to: 'postcopy-failed', do: ['finishSplit'] },
        { if: ['resumedOnSource'], to: 'postcopy-failed', do: ['finishSourceSplit'] },
        { if: ['endedInError'], to: 'error', do: ['finishError'] },
        { if: ['pausedByUs', 'cancelled'], to: 'resuming', do: ['resumeCancelled'] },
        { if: ['pausedByUs'], to: 'resuming', do: ['resumeFailed'] },
        { if: ['cancelled'], to: 'cancelled', do: ['finishCancelledEnd'] },
        { to: 'failed', do: ['finishFailed'] },
      ],
      // Calls still in flight when the migration ended: their results still shape the outcome.
      suspended: [{ do: ['notePausedByUs'] }],
      'abort-accepted': ABORT_ROWS['abort-accepted'],
      ...NOTHING_TO_FORCE,
      ...PAUSE_IN_FLIGHT,
    },
    skip: {
      refused: ['abort', 'recover'],
      late: [
        ...ticks,
        'abort-refused',
        'switched',
        'switch-failed',
        'suspend-failed',
        ...downtime,
        ...call,
        ...recovery,
      ],
      cannot: ['run', ...preparation, ...resume, ...raised],
    },
  },

  resuming: {
    on: {
      resumed: [
        { if: ['verdictCancelled'], to: 'cancelled', do: ['finishResumed'] },
        { to: 'failed', do: ['finishResumed'] },
      ],
      'resume-failed': [
        { if: ['verdictCancelled'], to: 'cancelled', do: ['finishResumeFailed'] },
        { to: 'failed', do: ['finishResumeFailed'] },
      ],
      ...NOTHING_TO_FORCE,
      ...NO_PAUSE,
    },
    skip: {
      refused: ['abort', 'recover'],
      late: [...ticks, ...abort, ...forceComplete, ...downtime, ...call],
      cannot: ['run', ...preparation, ...conclusion, ...postCopyPause, ...recovery, ...raised],
    },
  },

  recovering: {
    on: {
      ...NOTHING_TO_FORCE,
      ...PAUSE_IN_FLIGHT,
      // The original call completing is a completion (the break the source reported did not last).
      'migrate-returned': [
        { if: ['attemptsMade'], to: 'ending', do: ['reportRecovered', 'recordResumed', 'endReturned'] },
        { to: 'ending', do: ['reportRecovered', 'endReturned'] },
      ],
      'migrate-failed': [
        { if: ['recoveryOver'], do: ['callEnded'] },
        { if: ['attemptWanted', 'noFirstAttempt'], to: 'ending', do: ['callEnded', 'giveUpNoAttemptLeft'] },
        { if: ['attemptWanted'], do: ['callEnded', 'scheduleFirstAttempt'] },
        { do: ['callEnded'] },
      ],
      recover: [
        { if: ['nothingToRecover'] },
        { if: ['callInFlight'], do: ['wantAttempt'] },
        { do: ['attempt'] },
      ],
      'resume-due': [{ if: ['staleAttempt'] }, { do: ['attempt'] }],
      'resume-returned': [
        { if: ['attemptsMade'], to: 'ending', do: ['reportRecovered', 'recordResumed', 'endReturned'] },
        { to: 'ending', do: ['reportRecovered', 'endReturned'] },
      ],
      'resume-refused': [{ if: ['staleAnswer'] }, { to: 'ending', do: ['attemptEnded', 'giveUpRefused'] }],
      'resume-attempt-failed': [
        // An attempt the watchdog gave up on answers late: the job has moved on.
        { if: ['staleAnswer'] },
        // The guest back on the source, or gone from it (the resume went through): the end says which.
        { if: ['sourceGone'], to: 'ending', do: ['attemptFailed', 'endJobGone'] },
        { if: ['sourceBack'], to: 'ending', do: ['attemptFailed', 'endFailed'] },
        { if: ['recoveryOver'], to: 'ending', do: ['attemptFailed', 'reportAttemptFailed', 'giveUpOver'] },
        {
          if: ['attemptWanted', 'noNextAttempt'],
          to: 'ending',
          do: ['attemptFailed', 'reportAttemptFailed', 'giveUpNoAttemptLeft'],
        },
        { if: ['attemptWanted'], do: ['attemptFailed', 'retryLater'] },
        { do: ['attemptFailed', 'reportAttemptFailed'] },
      ],
      // The watchdog on the attempt in flight: libvirt's job, the bytes, the source's state.
      tick: [{ if: ['attemptInFlight'], do: ['watchAttempt'] }, {}],
      // A stalled attempt ends as a failed one would, after a post-copy pause that may end it in libvirt.
      'attempt-stalled': [
        {
          if: ['recoveryOver'],
          to: 'ending',
          do: ['endAttempt', 'attemptFailed', 'reportAttemptFailed', 'giveUpOver'],
        },
        {
          if: ['attemptWanted', 'noNextAttempt'],
          to: 'ending',
          do: ['endAttempt', 'attemptFailed', 'reportAttemptFailed', 'giveUpNoAttemptLeft'],
        },
        { if: ['attemptWanted'], do: ['endAttempt', 'attemptFailed', 'retryLater'] },
        { do: ['endAttempt', 'attemptFailed', 'reportAttemptFailed'] },
      ],
      'recovery-expired': [
        { if: ['recoveryOver'] },
        // An attempt in flight may still succeed: it decides.
        { if: ['attemptInFlight'], do: ['closeWindow'] },
        { to: 'ending', do: ['giveUpWindow'] },
      ],
    },
    skip: {
      refused: ['abort'],
      late: [...abort, ...forceComplete, ...downtime, ...conclusion],
      cannot: ['run', ...preparation, ...resume, ...raised],
    },
  },

  'postcopy-failed': TERMINAL_ROWS,
  completed: TERMINAL_ROWS,
  failed: TERMINAL_ROWS,
  cancelled: TERMINAL_ROWS,
  error: TERMINAL_ROWS,
};

/** Where the poll loop is. */
export type PollState = JobState['polling'];

/**
 * The poll loop, beside the phase: started by the rows that enter a phase following libvirt's job, it reads
 * libvirt's job every `pollIntervalMs` while the phase still follows it. It reacts after the phase, so that
 * a progress report describes the state the tick led to.
 *
 * @example
 * ```ts
 * POLLING.waiting.on['poll-due']; // [{ if: ['phasePolls'], to: 'reading', do: ['readTick'] }, { to: 'off' }]
 * ```
 */
export const POLLING: { readonly [S in PollState]: StateRows<PollEvent, PollState> } = {
  off: {
    on: { 'start-polling': [{ to: 'waiting', do: ['schedulePoll'] }] },
    skip: { cannot: ['poll-due', 'tick'] },
  },
  waiting: {
    on: {
      'start-polling': [{}],
      'poll-due': [{ if: ['phasePolls'], to: 'reading', do: ['readTick'] }, { to: 'off' }],
    },
    skip: { cannot: ['tick'] },
  },
  reading: {
    on: {
      'start-polling': [{}],
      tick: [
        {
          if: ['polledAtArrival', 'phasePolls', 'hasProgress'],
          to: 'waiting',
          do: ['reportProgress', 'schedulePoll'],
        },
        { if: ['polledAtArrival', 'phasePolls'], to: 'waiting', do: ['schedulePoll'] },
        // The tick that ended the copy still reports it.
        { if: ['polledAtArrival', 'hasProgress'], to: 'off', do: ['reportProgress'] },
        { to: 'off' },
      ],
    },
    skip: { cannot: ['poll-due'] },
  },
};

// ---- The interpreter ----------------------------------------------------------------------------------

const POLL_EVENTS: ReadonlySet<EventType> = new Set<EventType>(['start-polling', 'poll-due', 'tick']);

type Cell = { rows: readonly Row[] } | { skip: SkipReason };

/** Each table's cells by event, built once from the tables above (they never change). */
const CELLS = new Map<StateRows<EventType, string>, ReadonlyMap<EventType, Cell>>(
  [...Object.values(TRANSITIONS), ...Object.values(POLLING)].map((table) => {
    const cells = new Map<EventType, Cell>();
    for (const [reason, events] of Object.entries(table.skip) as [SkipReason, readonly EventType[]][]) {
      for (const type of events) cells.set(type, { skip: reason });
    }
    for (const [type, rows] of Object.entries(table.on) as [EventType, readonly Row[]][])
      cells.set(type, { rows });
    return [table as StateRows<EventType, string>, cells];
  }),
);

/** The rows a state has for an event, or why it skips it; a pair listed nowhere is a bug of the table. */
export function cellOf(table: StateRows<EventType, string>, type: EventType): Cell {
  const cell = CELLS.get(table)?.get(type);
  if (cell === undefined) throw new Error(`the job's table lists no row and no reason for ${type}`);
  return cell;
}

/** The row a state takes for an event: the first whose guards all hold; `undefined` when skipped. */
export function rowFor(
  table: StateRows<EventType, string>,
  state: JobState,
  event: JobEvent,
  before: JobState = state,
): Row | undefined {
  const cell = cellOf(table, event.type);
  if ('skip' in cell) return undefined;
  const row = cell.rows.find((r) =>
    (r.if ?? []).every((name) =>
      (GUARDS[name] as (s: JobState, e: JobEvent, b: JobState) => boolean)(state, event, before),
    ),
  );
  if (row === undefined) throw new Error(`no row of the job's table matches ${event.type} in ${state.phase}`);
  return row;
}

/** A row a transition took: of which table, in which state, for which event, the how-manieth. */
export interface RowTaken {
  table: 'phase' | 'polling';
  state: string;
  event: EventType;
  row: number;
}

/** Runs a row's steps in order; the events they raise are returned for the machine to handle next. */
function take(
  state: JobState,
  event: JobEvent,
  row: Row,
  actions: JobAction[],
  raised: JobEvent[],
): JobState {
  let next = state;
  for (const name of row.do ?? []) {
    const change: Change = (STEPS[name] as (s: JobState, e: JobEvent) => Change)(next, event);
    next = { ...next, ...change.set };
    actions.push(...(change.do ?? []));
    for (const r of change.raise ?? []) raised.push({ ...r, atMs: event.atMs } as JobEvent);
  }
  return next;
}

function react(state: JobState, event: JobEvent, actions: JobAction[], taken?: RowTaken[]): JobState {
  let next = state;
  if (!POLL_EVENTS.has(event.type) || event.type === 'tick') {
    const table = TRANSITIONS[state.phase];
    const row = rowFor(table, state, event);
    if (row !== undefined) {
      taken?.push({ table: 'phase', state: state.phase, event: event.type, row: indexOf(table, event, row) });
      const raised: JobEvent[] = [];
      next = take(state, event, row, actions, raised);
      if (row.to !== undefined) {
        const phase = row.to as Phase;
        next = { ...next, phase, status: STATUS_OF[phase] ?? next.status };
      }
      for (const r of raised) next = react(next, r, actions, taken);
    }
  }
  if (POLL_EVENTS.has(event.type)) {
    const table = POLLING[next.polling];
    const row = rowFor(table, next, event, state);
    if (row !== undefined) {
      taken?.push({
        table: 'polling',
        state: next.polling,
        event: event.type,
        row: indexOf(table, event, row),
      });
      const raised: JobEvent[] = [];
      next = take(next, event, row, actions, raised);
      if (row.to !== undefined) next = { ...next, polling: row.to as PollState };
      for (const r of raised) next = react(next, r, actions, taken);
    }
  }
  return next;
}

function indexOf(table: StateRows<EventType, string>, event: JobEvent, row: Row): number {
  return (table.on as Record<string, readonly Row[]>)[event.type]?.indexOf(row) ?? -1;
}

/**
 * The next state and actions for an event: the row of {@link TRANSITIONS} for the phase, then — for the
 * poll loop's events — the row of {@link POLLING}; events the rows raise are handled before it returns.
 * `taken`, when given, receives every row taken, in order (for the walk and the diagram).
 *
 * @example
 * ```ts
 * const { state, actions } = transition(initialState(settings), { type: 'run', atMs: 0 });
 * state.phase; // 'preparing'
 * actions; // [{ type: 'prepare', mode: 'start' }]
 * ```
 */
export function transition(state: JobState, event: JobEvent, taken?: RowTaken[]): Transition {
  const actions: JobAction[] = [];
  return { state: react(state, event, actions, taken), actions };
}
