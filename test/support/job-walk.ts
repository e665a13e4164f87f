/**
 * Walks every state of the job's machine reachable from its entries (start and attach, with automatic,
 * manual and impossible recovery) under the whole alphabet of outside events — the caller's requests,
 * every answer of every libvirt call, the timers — and checks the machine's invariants on every edge.
 * The state space is finite: requests are sent while fewer than two wait, attempts are bounded, and the
 * events' times are chosen relative to the state (so absolute clocks do not tell states apart).
 */
import { LibvirtError } from '../../src/errors.js';
import {
  assertCanAbort,
  cellOf,
  initialState,
  type JobAction,
  type JobEvent,
  type JobState,
  type RowTaken,
  recoverRefusal,
  TRANSITIONS,
  transition,
  type UnstampedEvent,
  type Verdict,
} from '../../src/migration/job-machine.js';
import { type JobSettings, TERMINAL } from '../../src/migration/job-states.js';
import { buildMigrationCall } from '../../src/migration/params.js';
import { monitorSettings } from '../../src/policy/monitor.js';
import { planMigration } from '../../src/policy/plan.js';
import { DEFAULT_RECOVERY, type RecoveryOptions } from '../../src/policy/recovery.js';
import { watchdogBounds } from '../../src/policy/watchdog.js';
import { statsOf } from './job-machine.js';

/** The completion timeout fires after this many seconds (20 s per GiB × 0.5 GiB). */
const TIMEOUT_S = 10;
const RECOVERY: RecoveryOptions = {
  ...DEFAULT_RECOVERY,
  maxAttempts: 2,
  firstDelayMs: 1000,
  maxDelayMs: 2000,
  windowMs: 5000,
};

/** The entries: each mode with recovery by itself and with no attempt that fits, attach also on request only. */
export const ENTRIES: readonly { name: string; settings: JobSettings }[] = [
  {
    name: 'start',
    settings: { mode: 'start', pollIntervalMs: 1000, recovery: RECOVERY, switchover: 'fixed' },
  },
  {
    name: 'attach',
    settings: { mode: 'attach', pollIntervalMs: 1000, recovery: RECOVERY, switchover: 'fixed' },
  },
  // A start-mode recovery on request walks the rows of a post-copy paused on request.
  {
    name: 'attach, recovery on request',
    settings: {
      mode: 'attach',
      pollIntervalMs: 1000,
      recovery: { ...RECOVERY, automatic: false },
      switchover: 'fixed',
    },
  },
  ...(['start', 'attach'] as const).map((mode) => ({
    name: `${mode}, no attempt allowed`,
    settings: {
      mode,
      pollIntervalMs: 1000,
      recovery: { ...RECOVERY, maxAttempts: 0 },
      switchover: 'fixed' as const,
    },
  })),
];

const linkDown = new LibvirtError('virDomainMigrateToURI3', 1, 10, 'migration failed');
const aborted = new LibvirtError('virDomainMigrateToURI3', 78, 10, 'operation aborted');
const refused = new LibvirtError('virDomainCall', 55, 10, 'refused');

function preparedEvent(
  postCopy: boolean,
  timeoutAction: 'abort' | 'force_complete',
  source: 'running' | 'paused' | 'post-copy' | 'post-copy-failed',
) {
  const plan = {
    ...planMigration({ host: { completionTimeout: 20, timeoutAction, permitPostCopy: postCopy } }),
    postCopy,
  };
  return {
    type: 'prepared',
    plan,
    call: buildMigrationCall(plan, { uri: 'qemu+tcp://dest/system' }),
    dataGb: 0.5,
    monitor: monitorSettings(plan, 0.5),
    sourceLibvirt: 9_000_000,
    watchdog: WATCHDOG,
    source,
    elapsedMs: 0,
  } satisfies UnstampedEvent;
}

/** The watchdog's bounds in the walk: the shortest a resume attempt may stall, so a retry fits the window. */
const WATCHDOG = watchdogBounds({ resumeAttemptMs: 1_000 });

/**
 * What the preparation may find: a plan whose timeout aborts, or force-completes by a pause (auto-converge
 * instances never switch) or by a switch to post-copy; the guest in each phase.
 */
const PREPARED = (
  [
    [false, 'abort'],
    [false, 'force_complete'],
    [true, 'force_complete'],
  ] as const
).flatMap(([postCopy, action]) =>
  (['running', 'paused', 'post-copy', 'post-copy-failed'] as const).map((source) =>
    preparedEvent(postCopy, action, source),
  ),
);

const SOURCES = ['running', 'paused', 'post-copy', 'post-copy-failed', 'gone', undefined] as const;

/** Every outside event worth sending in this state, each stamped at a time chosen relative to the state. */
export function alphabet(s: JobState): JobEvent[] {
  const base = s.startedAtMs ?? 0;
  const soon = base + 1000;
  const events: JobEvent[] = [];
  const add = (event: UnstampedEvent, atMs = soon) => events.push({ ...event, atMs } as JobEvent);
  add({ type: 'run' });
  add({ type: 'abort', reason: 'abort requested' });
  if (s.waiting.forceComplete < 2) add({ type: 'force-complete', reason: 'force-complete requested' });
  if (s.waiting.pause < 2) add({ type: 'pause-post-copy' });
  add({ type: 'recover' });
  for (const event of PREPARED) add(event);
  add({ type: 'prepare-failed', error: refused });
  add({ type: 'poll-due' });
  for (const source of SOURCES) {
    add({ type: 'tick', stats: statsOf('running'), source });
    add({ type: 'tick', stats: statsOf('ended'), source });
    add({ type: 'tick', stats: statsOf('unknown'), source });
  }
  // Past the completion timeout, the copy still running.
  for (const source of ['running', 'paused'] as const) {
    add({ type: 'tick', stats: statsOf('running'), source }, base + (TIMEOUT_S + 1) * 1000);
  }
  add({ type: 'tick', stats: { unreadable: 'no-domain' }, source: 'gone' });
  add({ type: 'migrate-returned' });
  add({ type: 'migrate-failed', error: linkDown });
  add({ type: 'migrate-failed', error: aborted });
  add({ type: 'abort-accepted' });
  add({ type: 'abort-refused', error: refused });
  add({ type: 'switched' });
  add({ type: 'switch-failed', error: refused });
  add({ type: 'suspended' });
  add({ type: 'suspend-failed', error: refused });
  add({ type: 'downtime-set', downtimeMs: 50 });
  add({ type: 'downtime-failed', downtimeMs: 50, error: refused });
  for (const source of SOURCES) add({ type: 'concluded', source, stats: undefined });
  add({ type: 'concluded', source: undefined, stats: { type: 'completed', raw: {} } });
  add({ type: 'concluded', source: 'running', stats: { type: 'cancelled', raw: {} } });
  for (const destination of ['post-copy-failed', 'gone'] as const) {
    add({ type: 'concluded', source: 'post-copy-failed', stats: undefined, destination });
  }
  add({ type: 'concluded', source: 'running', stats: undefined, destination: 'post-copy-failed' });
  add({ type: 'resumed' });
  add({ type: 'resume-failed', error: refused });
  add({ type: 'postcopy-paused' });
  add({ type: 'postcopy-pause-failed', error: refused });
  const broke = s.recovery?.startedAtMs ?? base;
  const attempts = s.recovery?.attempts ?? 0;
  add({ type: 'resume-due', attempt: attempts + 1 }, broke + 1000);
  if (attempts > 0) add({ type: 'resume-due', attempt: attempts }, broke + 1000);
  add({ type: 'recovery-expired' }, broke + RECOVERY.windowMs);
  // Answers of the attempt in flight (or the last one), and a late one of an attempt given up on.
  const attempt = Math.max(attempts, 1);
  add({ type: 'resume-refused', reason: 'the destination runs libvirt 11.3.0', attempt }, broke + 1500);
  add({ type: 'resume-returned', attempt }, broke + 1500);
  for (const source of ['gone', 'running', 'post-copy-failed', undefined] as const) {
    add({ type: 'resume-attempt-failed', error: linkDown, source, attempt }, broke + 1500);
  }
  add({ type: 'resume-attempt-failed', error: linkDown, source: 'post-copy-failed', attempt }, broke + 4500);
  if (attempts > 1)
    add(
      { type: 'resume-attempt-failed', error: linkDown, source: 'post-copy-failed', attempt: attempts - 1 },
      broke + 4500,
    );
  // The watchdog's bound after the attempt in flight started, nothing moved: the attempt stalled.
  if (s.watch !== undefined) {
    add(
      { type: 'tick', stats: statsOf('running'), source: 'post-copy-failed' },
      base + s.watch.startedAtMs + WATCHDOG.resumeAttemptMs + 1000,
    );
  }
  return events;
}

/**
 * What tells two states apart for the walk: what the rows of this phase and of the phases after it read.
 * Left out everywhere: the absolute times (every event's time is chosen relative to them), the reasons and
 * errors (only reported; an error's libvirt code is kept where it decides `cancelled`), and how many
 * requests wait beyond one (all are answered at once). Once the copy is over, the monitor, the guest's own
 * pauses and the preparation's plan no longer matter; in `ending`, a recovery that ran only as "it ran";
 * when resuming, only the outcome waiting to be reported; after the end, only the requests still waiting.
 * Recovery attempts past `maxAttempts + 1` behave alike (only `recover()` makes them, until the window).
 */
export function keyOf(s: JobState): string {
  const waiting = `${Math.min(s.waiting.forceComplete, 1)}${Math.min(s.waiting.pause, 1)}${s.pausePostCopy}`;
  if (TERMINAL.has(s.phase)) return `${s.phase} ${waiting}`;
  if (s.phase === 'resuming') return `${s.phase} ${waiting} ${s.verdict?.status}`;
  const { recovery: r, end, settings } = s;
  const max = settings.recovery.maxAttempts;
  const recovery = r
    ? `${r.automatic} ${r.cause} ${Math.min(r.attempts, max + 1)} ${r.lastAt} ${r.inFlight} ${r.callInFlight} ${r.wanted} ${r.over} ${r.lastError !== undefined} ${r.recovered}`
    : '-';
  const common = [s.phase, waiting, s.polling, s.prepared !== undefined, s.postCopyStarted];
  if (s.phase === 'ending') {
    const aborted = (end?.error as { libvirtCode?: number } | undefined)?.libvirtCode === 78;
    // Only a recovery still to come reads the settings, the preparation and the poll loop.
    const next =
      r === undefined
        ? `${settings.recovery.automatic} ${max} ${s.prepared !== undefined} ${s.polling}`
        : 'ran';
    return [
      s.phase,
      waiting,
      s.postCopyStarted,
      s.abort === 'sent',
      `${end?.how} ${end?.pausedByUs} ${aborted}`,
      next,
    ].join('|');
  }
  if (s.phase === 'recovering') {
    // The watchdog's watch of the attempt in flight: what it saw last, and when it last saw movement.
    const w = s.watch;
    const watch = w
      ? `${w.stalled} ${w.lastMovementAtMs - w.startedAtMs} ${w.seen?.jobType} ${w.seen?.domainState}`
      : '-';
    return [...common, max, recovery, watch].join('|');
  }
  const settled = `${settings.mode} ${settings.recovery.automatic} ${max}`;
  // After the switch the monitor rests for good, and nothing waits for libvirt's job.
  if (s.phase === 'post-copy') return [...common, settled, s.abort].join('|');
  return [
    ...common,
    settled,
    `${s.prepared?.plan.postCopy} ${s.prepared?.monitor.timeoutAction}`,
    s.abort,
    s.forceComplete !== undefined,
    `${s.pausedByOthers} ${s.monitorState.downtimeMs} ${s.monitorState.timedOut} ${s.downtimeInFlight}`,
  ].join('|');
}

/** An invariant that did not hold, with the edge that broke it. */
export interface Violation {
  invariant: string;
  from: JobState;
  event: JobEvent;
  actions: JobAction[];
}

/** The invariants checked on every edge, by name. */
export const INVARIANTS = {
  'the outcome is produced exactly once':
    'a transition into a terminal phase finishes once; no other transition finishes',
  'after the end, only answers': 'from a terminal phase: no libvirt call, no report, no phase change',
  'every request is answered':
    'forceComplete() and pausePostCopy() promises are answered as many times as asked, all of them by the end (a pause still in flight by its result); an abort or recover the table skips is one the method itself refuses in that state',
  'the outcome says where the guest is':
    "source, destination or unknown; completed means the destination, with the plan sent and libvirt's stats and without an error; anything else (failed, cancelled, error) has an error; a failed post-copy names the split and the guest its authoritative copy",
  'the source is never resumed once post-copy started':
    'no virDomainResume and no abort once the guest has run on the destination',
} as const;

type Invariant = keyof typeof INVARIANTS;

function verdictOf(actions: JobAction[]): Verdict[] {
  return actions.flatMap((a) => (a.type === 'finish' ? [a.verdict] : []));
}

function answered(actions: JobAction[], type: 'answer-force-complete' | 'answer-pause'): number {
  return actions.reduce((n, a) => (a.type === type ? n + a.count : n), 0);
}

function refusesAt(check: (s: JobState) => void, s: JobState): boolean {
  try {
    check(s);
    return false;
  } catch {
    return true;
  }
}

/** The invariants an edge breaks. */
export function check(from: JobState, event: JobEvent, to: JobState, actions: JobAction[]): Invariant[] {
  const broken: Invariant[] = [];
  const finishes = verdictOf(actions);
  const wasOver = TERMINAL.has(from.phase);
  const isOver = TERMINAL.has(to.phase);
  if (finishes.length !== (isOver && !wasOver ? 1 : 0)) broken.push('the outcome is produced exactly once');

  if (wasOver) {
    const onlyAnswers = actions.every((a) => a.type === 'answer-force-complete' || a.type === 'answer-pause');
    if (!onlyAnswers || to.phase !== from.phase) broken.push('after the end, only answers');
  }

  const askedForce = event.type === 'force-complete' ? 1 : 0;
  const askedPause = event.type === 'pause-post-copy' ? 1 : 0;
  const forceBalance =
    from.waiting.forceComplete + askedForce - answered(actions, 'answer-force-complete') ===
    to.waiting.forceComplete;
  const pauseBalance =
    from.waiting.pause + askedPause - answered(actions, 'answer-pause') === to.waiting.pause;
  const allAnswered =
    !isOver || (to.waiting.forceComplete === 0 && (to.waiting.pause === 0 || to.pausePostCopy === 'sending'));
  const skipped = event.type !== 'poll-due' && 'skip' in cellOf(TRANSITIONS[from.phase], event.type);
  const requestDropped =
    skipped &&
    ((event.type === 'abort' && !refusesAt(assertCanAbort, from)) ||
      (event.type === 'recover' && recoverRefusal(from) === undefined) ||
      event.type === 'force-complete' ||
      event.type === 'pause-post-copy');
  if (!forceBalance || !pauseBalance || !allAnswered || requestDropped)
    broken.push('every request is answered');

  for (const verdict of finishes) {
    const known = ['source', 'destination', 'unknown'].includes(verdict.guest);
    const completed =
      verdict.status !== 'completed' ||
      (verdict.guest === 'destination' &&
        verdict.error === undefined &&
        verdict.plan !== undefined &&
        verdict.stats !== undefined);
    const explained = verdict.status === 'completed' || verdict.error instanceof Error;
    const authoritative = verdict.split?.authoritative;
    const split =
      !verdict.postCopyFailed ||
      (verdict.split !== undefined &&
        verdict.guest ===
          (authoritative === 'source' || authoritative === 'destination' ? authoritative : 'unknown'));
    if (
      !known ||
      !completed ||
      !explained ||
      !split ||
      verdict.status !== to.phase.replace('postcopy-failed', 'failed')
    )
      broken.push('the outcome says where the guest is');
  }

  const ranOnDestination = from.postCopyStarted || to.postCopyStarted;
  if (ranOnDestination && actions.some((a) => a.type === 'resume' || a.type === 'abort-job'))
    broken.push('the source is never resumed once post-copy started');
  return broken;
}

/** What the walk found. */
export interface Walk {
  states: number;
  edges: number;
  /** The rows taken, by {@link rowKey}, and how often. */
  rows: Map<string, number>;
  violations: Violation[];
  /** The longest sequence of events the walk needed to reach its last new state. */
  depth: number;
}

/** The key of a row in {@link Walk.rows}. */
export function rowKey(taken: RowTaken): string {
  return `${taken.table} ${taken.state} ${taken.event} ${taken.row}`;
}

/** Breadth first from every entry until no new state appears; fails past `limit` states. */
export function walkMachine(limit = 200_000): Walk {
  const walk: Walk = { states: 0, edges: 0, rows: new Map(), violations: [], depth: 0 };
  const seen = new Set<string>();
  let frontier: JobState[] = [];
  for (const entry of ENTRIES) {
    const state = initialState(entry.settings);
    seen.add(keyOf(state));
    frontier.push(state);
  }
  while (frontier.length > 0) {
    const next: JobState[] = [];
    for (const from of frontier) {
      for (const event of alphabet(from)) {
        const taken: RowTaken[] = [];
        const { state: to, actions } = transition(from, event, taken);
        walk.edges++;
        for (const row of taken) walk.rows.set(rowKey(row), (walk.rows.get(rowKey(row)) ?? 0) + 1);
        for (const invariant of check(from, event, to, actions))
          walk.violations.push({ invariant, from, event, actions });
        // One broken invariant is enough to fail: the rest of the walk would only repeat it.
        if (walk.violations.length > 0) return { ...walk, states: seen.size };
        const key = keyOf(to);
        if (seen.has(key)) continue;
        seen.add(key);
        next.push(to);
      }
    }
    if (seen.size > limit) throw new Error(`the walk passed ${limit} states: is a counter unbounded?`);
    if (next.length > 0) walk.depth++;
    frontier = next;
  }
  walk.states = seen.size;
  return walk;
}
