/** The rows of the job's state machine, one by one, without any libvirt or timer. */
import { describe, expect, it } from 'vitest';
import { LibvirtError, MigrationTlsError } from '../../src/errors.js';
import type { JobStats } from '../../src/libvirt/types.js';
import {
  assertCanAbort,
  cellOf,
  EVENTS,
  type JobAction,
  type JobEvent,
  type JobState,
  POLLING,
  progressMode,
  TRANSITIONS,
  transition,
  type UnstampedEvent,
} from '../../src/migration/job-machine.js';
import { monitorSettings } from '../../src/policy/monitor.js';
import { planMigration } from '../../src/policy/plan.js';
import { DEFAULT_RECOVERY } from '../../src/policy/recovery.js';
import {
  at,
  attached,
  DESTINATION_URI,
  prepared,
  run,
  started,
  statsOf,
  tick,
  types,
} from '../support/job-machine.js';

const refusal = new LibvirtError('virDomainCall', 55, 10, 'refused');
const RUNNING = statsOf('running') as JobStats;

/** A start-mode job whose libvirt job runs pre-copy. */
function precopy(postCopy = false): JobState {
  return run(started(), { type: 'run' }, prepared(postCopy), tick(1, 'running', 'running')).state;
}

function withMonitor(state: JobState, monitor: ReturnType<typeof monitorSettings>): JobState {
  return { ...state, prepared: state.prepared && { ...state.prepared, monitor } };
}

describe('job-machine: the table', () => {
  it('has a row set for every phase, and no row means no change', () => {
    expect(Object.keys(TRANSITIONS)).toHaveLength(16);
    const state = started();
    expect(transition(state, at({ type: 'resumed' }))).toEqual({ state, actions: [] });
  });

  it('lists every pair once: each event has rows or one reason to be skipped, in every state', () => {
    const phaseEvents = Object.entries(EVENTS)
      .filter(([kind]) => kind !== 'polling')
      .flatMap(([, events]) => events);
    const tables = [
      ...Object.values(TRANSITIONS).map((t) => [t, phaseEvents] as const),
      ...Object.values(POLLING).map((t) => [t, ['start-polling', 'poll-due', 'tick'] as const] as const),
    ];
    for (const [table, events] of tables) {
      const listed = [...Object.keys(table.on), ...Object.values(table.skip).flat()];
      expect([...listed].sort()).toEqual([...events].sort());
      for (const type of events) expect(cellOf(table, type)).toBeDefined();
      for (const rows of Object.values(table.on) as { if?: readonly string[] }[][]) {
        // The first matching row wins, and some row always matches.
        expect(rows.at(-1)?.if ?? []).toEqual([]);
      }
    }
  });

  it('queued → preparing on run; a start-mode abort there cancels without libvirt', () => {
    const { state, actions } = run(started(), { type: 'run' });
    expect([state.phase, state.status]).toEqual(['preparing', 'preparing']);
    expect(actions).toEqual([{ type: 'prepare', mode: 'start' }]);
    const aborted = run(started(), { type: 'abort', reason: 'r' });
    expect(aborted.state.phase).toBe('cancelled');
    // An unfinished outcome always says why, even when nothing reached libvirt.
    expect(aborted.actions.at(-1)).toEqual({
      type: 'finish',
      verdict: {
        status: 'cancelled',
        guest: 'source',
        postCopyFailed: false,
        error: new Error('the migration was cancelled before libvirt was asked to migrate'),
      },
    });
  });

  it('attach keeps an early abort and force-complete for when it follows', () => {
    const early = run(attached(), { type: 'abort', reason: 'r' }, { type: 'force-complete', reason: 'f' });
    expect(early.state).toMatchObject({
      phase: 'queued',
      abort: 'wanted',
      forceComplete: { reason: 'f' },
      waiting: { forceComplete: 1 },
    });
    const follows = run(early.state, { type: 'run' }, prepared(true));
    expect(follows.state).toMatchObject({
      phase: 'pre-copy',
      abort: 'sending',
      forceComplete: { reason: 'f' },
    });
    // The poll loop's timer, then the abort that waited.
    expect(types(follows.actions)).toEqual(['prepare', 'schedule', 'abort-job']);
    const fc = run(attached(), { type: 'run' }, { type: 'force-complete', reason: 'f' }, prepared(true));
    expect(fc.state.phase).toBe('switching');
    expect(types(fc.actions)).toEqual(['prepare', 'schedule', 'force-complete']);
    expect(fc.actions.at(-1)).toEqual({ type: 'force-complete', how: 'switch-to-post-copy' });
  });

  it('attach starts in post-copy when the source is, and a guest found paused is not ours', () => {
    expect(run(attached(), { type: 'run' }, prepared(true, 'post-copy')).state.phase).toBe('post-copy');
    const paused = run(attached(), { type: 'run' }, prepared(false, 'paused'), {
      type: 'force-complete',
      reason: 'f',
    });
    expect(paused.state).toMatchObject({ phase: 'pre-copy', pausedByOthers: true });
    expect(paused.actions.at(-1)).toEqual({ type: 'answer-force-complete', count: 1, result: 'none' });
  });

  it('start mode calls libvirt once prepared and waits for its job before steering', () => {
    const begun = run(started(), { type: 'run' }, prepared());
    expect(begun.state).toMatchObject({ phase: 'starting', status: 'running', startedAtMs: 0 });
    expect(types(begun.actions)).toEqual(['prepare', 'call-migrate', 'schedule']);
    expect(begun.actions[1]).toEqual({ type: 'call-migrate', call: begun.state.prepared?.call });
    for (const job of ['ended', 'unknown'] as const) {
      expect(transition(begun.state, tick(5, job, 'running')).state).toBe(begun.state);
    }
    const running = transition(begun.state, tick(5, 'running', 'running'));
    expect(running.state.phase).toBe('pre-copy');
    expect(running.actions).toEqual([{ type: 'set-downtime', downtimeMs: 50 }]);
  });

  it('records a downtime only once libvirt accepted it, and does not repeat one in flight', () => {
    const state = precopy();
    expect(state.downtimeInFlight).toBe(50);
    expect(transition(state, tick(1)).actions).toEqual([]);
    const set = transition(state, at({ type: 'downtime-set', downtimeMs: 50 }, 1500));
    expect(set.state.monitorState.downtimeMs).toBe(50);
    expect(set.state.downtimeInFlight).toBeUndefined();
    expect(set.actions).toEqual([
      { type: 'record', action: 'set-downtime', reason: 'downtime step: 50 ms', elapsedMs: 1500 },
    ]);
    const failed = transition(state, at({ type: 'downtime-failed', downtimeMs: 50, error: refusal }));
    expect(failed.state.monitorState.downtimeMs).toBeUndefined();
    expect(transition(failed.state, tick(1)).actions).toEqual([{ type: 'set-downtime', downtimeMs: 50 }]);
  });

  it('runs the completion timeout: abort, or force-complete with force_complete', () => {
    const timedOut = transition(precopy(), tick(11));
    expect(timedOut.state.abort).toBe('sending');
    expect(types(timedOut.actions)).toEqual(['abort-job']);
    expect(transition(timedOut.state, at({ type: 'abort-accepted' }, 11_500)).actions).toEqual([
      {
        type: 'record',
        action: 'abort',
        reason: expect.stringContaining('not complete after 10 s'),
        elapsedMs: 11_500,
      },
    ]);
    const forcing = monitorSettings(
      planMigration({
        host: { completionTimeout: 10, timeoutAction: 'force_complete', permitPostCopy: true },
      }),
      1,
    );
    // The monitor's own decision (switch, for this plan) is carried out as it is.
    const switched = transition(withMonitor(precopy(true), forcing), tick(11));
    expect(switched.state.phase).toBe('switching');
    expect(switched.actions).toEqual([{ type: 'force-complete', how: 'switch-to-post-copy' }]);
    const paused = withMonitor({ ...precopy(), phase: 'paused' as const }, forcing);
    expect(types(transition(paused, tick(11)).actions)).toEqual([]);
  });

  it('retries a refused abort on the next tick', () => {
    const sent = transition(precopy(), at({ type: 'abort', reason: 'user' }));
    const refused = transition(sent.state, at({ type: 'abort-refused', error: refusal }, 1200));
    expect(refused.state.abort).toBe('wanted');
    expect(refused.actions).toEqual([
      { type: 'record', action: 'abort', reason: 'user', elapsedMs: 1200, error: refusal },
    ]);
    expect(types(transition(refused.state, tick(2)).actions)).toEqual(['abort-job']);
  });

  it('force-complete: switch, pause, a second pause, none while aborting', () => {
    const switching = transition(precopy(true), at({ type: 'force-complete', reason: 'f' }));
    expect(switching.state.phase).toBe('switching');
    const switched = transition(switching.state, at({ type: 'switched' }, 2000));
    expect(switched.state).toMatchObject({
      phase: 'post-copy',
      status: 'running (post-copy)',
      forceComplete: undefined,
    });
    expect(switched.actions).toEqual([
      { type: 'record', action: 'switch-to-post-copy', reason: 'f', elapsedMs: 2000 },
      { type: 'answer-force-complete', count: 1, result: 'switch-to-post-copy' },
    ]);
    const failed = transition(switching.state, at({ type: 'switch-failed', error: refusal }));
    expect(failed.state.phase).toBe('pre-copy');
    expect(failed.actions.at(-1)).toEqual({ type: 'answer-force-complete', count: 1, result: refusal });
    const pausing = transition(precopy(), at({ type: 'force-complete', reason: 'f' }));
    expect(pausing.actions).toEqual([{ type: 'force-complete', how: 'pause' }]);
    const paused = transition(pausing.state, at({ type: 'suspended' }));
    expect(paused.state.phase).toBe('paused');
    expect(progressMode(paused.state)).toBe('paused-by-force-complete');
    expect(transition(paused.state, at({ type: 'force-complete', reason: 'g' })).actions).toEqual([
      { type: 'answer-force-complete', count: 1, result: 'pause' },
    ]);
    const aborting = transition(precopy(), at({ type: 'abort', reason: 'a' }));
    expect(transition(aborting.state, at({ type: 'force-complete', reason: 'f' })).actions).toEqual([
      { type: 'answer-force-complete', count: 1, result: 'none' },
    ]);
  });

  it('a refused abort in post-copy is dropped', () => {
    const sent = transition(precopy(), at({ type: 'abort', reason: 'a' }));
    const post = transition(sent.state, tick(1, 'running', 'post-copy'));
    expect(post.state).toMatchObject({ phase: 'post-copy', abort: 'sending' });
    expect(progressMode(post.state)).toBe('post-copy');
    expect(transition(post.state, at({ type: 'abort-refused', error: refusal })).state.abort).toBe('none');
  });

  it('a pause asked outside post-copy is answered with the refusal, and one asked once paused at once', () => {
    const refused = transition(precopy(), at({ type: 'pause-post-copy' }));
    expect(refused.actions).toEqual([
      { type: 'answer-pause', count: 1, error: expect.objectContaining({ code: 'NOT_IN_POST_COPY' }) },
    ]);
    const post = transition(precopy(true), tick(1, 'running', 'post-copy')).state;
    const sending = run(post, { type: 'pause-post-copy' }, { type: 'pause-post-copy' });
    expect(types(sending.actions)).toEqual(['pause-post-copy']);
    expect(sending.state.waiting.pause).toBe(2);
    const paused = transition(sending.state, at({ type: 'postcopy-paused' }));
    expect(paused.actions.at(-1)).toEqual({ type: 'answer-pause', count: 2 });
    expect(transition(paused.state, at({ type: 'pause-post-copy' })).actions).toEqual([
      { type: 'answer-pause', count: 1 },
    ]);
  });
});

describe('job-machine: how it ends', () => {
  const ending = (state: JobState, event: JobEvent) => transition(state, event).state;

  it('keeps the running status while it reads how the migration ended', () => {
    const state = ending(precopy(), at({ type: 'migrate-returned' }));
    expect(state).toMatchObject({
      phase: 'ending',
      status: 'running',
      end: { how: 'returned', pausedByUs: false },
    });
    const concluded = transition(
      state,
      at({ type: 'concluded', source: undefined, stats: { type: 'completed', raw: {} } }),
    );
    expect(concluded.state.phase).toBe('completed');
    // A completed outcome carries the plan sent.
    expect(concluded.actions.at(-1)).toEqual({
      type: 'finish',
      verdict: {
        status: 'completed',
        guest: 'destination',
        postCopyFailed: false,
        plan: state.prepared?.plan,
        stats: { type: 'completed', raw: {} },
      },
    });
  });

  it.each([
    ['no abort', 'none', undefined, 1, 'failed'],
    ['an abort libvirt accepted', 'sent', undefined, 1, 'cancelled'],
    ['an abort only wanted', 'wanted', undefined, 1, 'failed'],
    ['libvirt saying cancelled', 'none', 'cancelled', 1, 'cancelled'],
    ['OPERATION_ABORTED', 'none', undefined, 78, 'cancelled'],
  ] as const)('a failure with %s is %s', (_n, abort, statsType, code, status) => {
    const error = new LibvirtError('virDomainMigrateToURI3', code, 10, 'x');
    const state = ending({ ...precopy(), abort }, at({ type: 'migrate-failed', error }));
    const stats = statsType ? { type: statsType, raw: {} } : undefined;
    const { actions } = transition(state, at({ type: 'concluded', source: 'running', stats }));
    expect(actions.at(-1)).toMatchObject({ type: 'finish', verdict: { status, guest: 'source', error } });
  });

  it('resumes only our own pause, and only when the guest is still paused', () => {
    const paused = { ...precopy(), phase: 'paused' as const };
    const state = ending(paused, at({ type: 'migrate-failed', error: refusal }));
    expect(state.end?.pausedByUs).toBe(true);
    const resuming = transition(state, at({ type: 'concluded', source: 'paused', stats: undefined }));
    expect(resuming.state.phase).toBe('resuming');
    expect(resuming.actions).toEqual([{ type: 'resume' }]);
    const done = transition(resuming.state, at({ type: 'resumed' }));
    expect(done.state.phase).toBe('failed');
    expect(types(done.actions)).toEqual(['record', 'finish']);
    expect(
      types(transition(state, at({ type: 'concluded', source: 'running', stats: undefined })).actions),
    ).toEqual(['finish']);
    const notOurs = ending(precopy(), at({ type: 'migrate-failed', error: refusal }));
    expect(
      transition(notOurs, at({ type: 'concluded', source: 'paused', stats: undefined })).state.phase,
    ).toBe('failed');
  });

  it('a suspend that lands after the end is still undone', () => {
    const pausing = transition(precopy(), at({ type: 'force-complete', reason: 'f' })).state;
    const state = ending(pausing, at({ type: 'migrate-failed', error: refusal }));
    expect(state.end?.pausedByUs).toBe(false);
    expect(ending(state, at({ type: 'suspended' })).end?.pausedByUs).toBe(true);
  });

  it('a failed post-copy is not the end: the job enters recovering, and ends split when recovery gives up', () => {
    const post = transition(precopy(true), tick(1, 'running', 'post-copy')).state;
    const state = ending(post, at({ type: 'migrate-failed', error: refusal }, 3000));
    const { state: next, actions } = transition(
      state,
      at({ type: 'concluded', source: 'post-copy-failed', stats: undefined }, 3000),
    );
    expect(next).toMatchObject({ phase: 'recovering', status: 'recovering (post-copy)' });
    expect(progressMode(next)).toBe('post-copy');
    expect(next.recovery).toMatchObject({
      automatic: true,
      cause: 'failed',
      attempts: 0,
      lastError: refusal,
      startedAtMs: 3000,
    });
    // The poll loop's timer runs already: it is not set again.
    expect(types(actions)).toEqual(['report-recovery', 'schedule', 'schedule']);
    expect(actions).toContainEqual({
      type: 'schedule',
      timer: 'resume',
      inMs: 1000,
      event: { type: 'resume-due', attempt: 1 },
    });
    expect(actions).toContainEqual({
      type: 'schedule',
      timer: 'recovery-window',
      inMs: 600_000,
      event: { type: 'recovery-expired' },
    });
    const expired = transition(next, at({ type: 'recovery-expired' }, 603_000));
    expect(expired.state.phase).toBe('ending');
    expect(expired.actions.at(-1)).toEqual({
      type: 'conclude',
      readSource: true,
      askDestination: DESTINATION_URI,
    });
    const { state: end, actions: last } = transition(
      expired.state,
      at(
        {
          type: 'concluded',
          source: 'post-copy-failed',
          stats: undefined,
          destination: 'post-copy-failed',
        },
        603_050,
      ),
    );
    expect(end).toMatchObject({ phase: 'postcopy-failed', status: 'failed' });
    expect(last.at(-1)).toMatchObject({
      verdict: {
        status: 'failed',
        guest: 'destination',
        postCopyFailed: true,
        error: refusal,
        recovery: { cause: 'failed', attempts: 0, recovered: false, durationMs: 600_050 },
        split: { source: 'post-copy-failed', destination: 'post-copy-failed', authoritative: 'destination' },
      },
    });
  });

  it('attach: the job gone and the domain gone is a completion; a start that could not start is an error', () => {
    const attach = run(attached(), { type: 'run' }, prepared()).state;
    const gone = ending(attach, tick(3, 'ended', 'gone'));
    expect(gone.end?.how).toBe('job-gone');
    expect(transition(gone, at({ type: 'concluded', source: 'gone', stats: undefined })).state.phase).toBe(
      'completed',
    );
    expect(
      transition(gone, at({ type: 'concluded', source: undefined, stats: undefined })).actions.at(-1),
    ).toMatchObject({
      verdict: { status: 'failed', guest: 'unknown' },
    });
    const failed = run(started(), { type: 'run' }, { type: 'prepare-failed', error: refusal }).state;
    expect(
      transition(failed, at({ type: 'concluded', source: 'running', stats: undefined })).actions.at(-1),
    ).toMatchObject({
      verdict: { status: 'error', guest: 'source', error: refusal },
    });
    // Start mode learns the end from the migrate call only.
    expect(transition(precopy(), tick(3, 'ended', 'gone')).state.phase).toBe('pre-copy');
  });

  it("maps the call's TLS failure to a typed error: a handshake before memory crossed, left as libvirt said once it had", () => {
    const base = prepared() as Extract<UnstampedEvent, { type: 'prepared' }>;
    const tls = {
      source: 'the source (qemu+unix:///system)',
      destination: 'the destination (dst.lab)',
      name: 'dst.lab',
      sourceChecked: true,
      streamStarted: false,
      domain: 'guest',
    };
    const withTls = { ...base, call: { ...base.call, tls } };
    const handshake = new LibvirtError('virDomainMigrateToURI3', 1, 10, 'TLS handshake failed');
    const failed = at({ type: 'migrate-failed', error: handshake }, 2000);
    const polled = at({ type: 'poll-due' }, 1000);
    const early = run(started(), { type: 'run' }, withTls, polled, tick(1), failed).state;
    expect(early.streamStarted).toBe(false);
    expect(early.end?.error).toBeInstanceOf(MigrationTlsError);
    expect(early.end?.error).toMatchObject({
      code: 'TLS_HANDSHAKE_FAILED',
      host: 'the source (qemu+unix:///system) and the destination (dst.lab)',
      cause: handshake,
    });
    expect(early.end?.error?.message).toContain('/var/log/libvirt/qemu/guest.log');
    const crossed = at(
      { type: 'tick', stats: { ...RUNNING, memoryProcessed: 4096 }, source: 'running' },
      1000,
    );
    const late = run(started(), { type: 'run' }, withTls, polled, crossed, failed).state;
    expect(late.streamStarted).toBe(true);
    expect(late.end?.error).toBe(handshake);
    // Without TLS the call's error is kept as it is.
    expect(run(started(), { type: 'run' }, base, tick(1), failed).state.end?.error).toBe(handshake);
  });

  it('answers force-complete with none after the end', () => {
    const done = run(started(), { type: 'abort', reason: 'a' }).state;
    expect(transition(done, at({ type: 'force-complete', reason: 'f' })).actions).toEqual([
      { type: 'answer-force-complete', count: 1, result: 'none' },
    ]);
  });
});

describe('job-machine: finer rows', () => {
  it('an abort after a refusal is sent at once; a second abort keeps the first reason', () => {
    const refused = run(
      precopy(),
      { type: 'abort', reason: 'first' },
      { type: 'abort-refused', error: refusal },
    );
    const again = transition(refused.state, at({ type: 'abort', reason: 'second' }));
    expect(types(again.actions)).toEqual(['abort-job']);
    expect(again.state.abortReason).toBe('second');
    const begun = run(started(), { type: 'run' }, prepared());
    const twice = run(begun.state, { type: 'abort', reason: 'first' }, { type: 'abort', reason: 'second' });
    expect(twice.state).toMatchObject({ abort: 'wanted', abortReason: 'first' });
    const sent = run(precopy(), { type: 'abort', reason: 'a' }, { type: 'abort-accepted' });
    expect(transition(sent.state, at({ type: 'abort', reason: 'b' })).actions).toEqual([]);
  });

  it('the monitor rests while an abort is on its way or accepted', () => {
    for (const abort of ['sending', 'sent'] as const) {
      expect(transition({ ...precopy(), abort, downtimeInFlight: undefined }, tick(500)).actions).toEqual([]);
    }
    expect(types(transition({ ...precopy(), downtimeInFlight: undefined }, tick(500)).actions)).toEqual([
      'set-downtime',
      'abort-job',
    ]);
  });

  it('a guest resumed by its operator can be paused by force-complete again', () => {
    const paused = transition(precopy(), tick(2, 'running', 'paused')).state;
    expect(paused.pausedByOthers).toBe(true);
    expect(transition(paused, tick(3, 'running', undefined)).state.pausedByOthers).toBe(true);
    const resumed = transition(paused, tick(3, 'running', 'running')).state;
    expect(resumed.pausedByOthers).toBe(false);
    expect(transition(resumed, at({ type: 'force-complete', reason: 'f' })).state.phase).toBe('pausing');
  });

  it('reads the failure from the completed stats, and places the guest from the source’s phase', () => {
    const attach = run(attached(), { type: 'run' }, prepared()).state;
    const gone = transition(attach, tick(3, 'ended', 'running')).state;
    const failed = transition(
      gone,
      at({ type: 'concluded', source: 'post-copy', stats: { type: 'failed', raw: {} } }),
    );
    expect(failed.actions.at(-1)).toMatchObject({
      verdict: {
        status: 'failed',
        guest: 'destination',
        error: { message: 'the migration ended with the guest still on the source (job failed)' },
      },
    });
  });

  it('keeps the status while resuming, and reports a failed resume with both errors', () => {
    const paused = { ...precopy(), phase: 'paused' as const };
    const first = new Error('migration failed');
    const ending = transition(paused, at({ type: 'migrate-failed', error: first })).state;
    const resuming = transition(ending, at({ type: 'concluded', source: 'paused', stats: undefined })).state;
    expect(resuming).toMatchObject({ phase: 'resuming', status: 'running' });
    expect(() => assertCanAbort(resuming)).toThrow();
    const second = new Error('resume failed');
    const { actions } = transition(resuming, at({ type: 'resume-failed', error: second }, 4000));
    const finish = actions.at(-1) as unknown as { verdict: { error: AggregateError } };
    expect(finish.verdict.error.errors).toEqual([first, second]);
    expect(finish.verdict.error.message).toBe('migration failed; resuming the guest failed too');
    expect(actions[0]).toEqual({
      type: 'record',
      action: 'resume',
      reason: 'the migration failed after force-complete paused the guest',
      elapsedMs: 4000,
      error: second,
    });
  });

  it('the end answers a waiting force-complete with none, and attach ticks in post-copy end it too', () => {
    const begun = run(started(), { type: 'run' }, prepared(), { type: 'force-complete', reason: 'f' });
    const ended = transition(begun.state, at({ type: 'migrate-returned' }));
    expect(ended.actions).toEqual([
      { type: 'answer-force-complete', count: 1, result: 'none' },
      { type: 'conclude', readSource: false, askDestination: undefined },
    ]);
    expect(ended.state.forceComplete).toBeUndefined();
    const post = run(attached(), { type: 'run' }, prepared(true, 'post-copy')).state;
    expect(transition(post, tick(1, 'unknown', undefined)).state).toBe(post);
    expect(transition(post, tick(1, 'ended', 'gone')).state.phase).toBe('ending');
    expect(transition(post, at({ type: 'force-complete', reason: 'f' })).actions).toEqual([
      { type: 'answer-force-complete', count: 1, result: 'none' },
    ]);
  });
});

describe('job-machine: the recovering rows', () => {
  const lost = new Error('link down');
  const ending = (state: JobState, event: JobEvent) => transition(state, event).state;
  /** When the post-copy breaks in these runs (`broken()`), on the job's clock. */
  const BREAK = 1000;
  /** A start-mode job in post-copy, libvirt's call still running. */
  const inPostCopy = (options = DEFAULT_RECOVERY) =>
    run(started(options), { type: 'run' }, prepared(true), tick(1, 'running', 'post-copy')).state;
  /** A start-mode job whose post-copy broke after libvirt's call returned: attempt 1 is scheduled at 1 s. */
  function broken(options = DEFAULT_RECOVERY): JobState {
    const state = ending(inPostCopy(options), at({ type: 'migrate-failed', error: lost }, BREAK));
    return transition(state, at({ type: 'concluded', source: 'post-copy-failed', stats: undefined }, BREAK))
      .state;
  }
  /** A post-copy the caller paused on purpose (pausePostCopy()), libvirt's call still running. */
  const pausedOnRequest = () =>
    run(inPostCopy(), { type: 'pause-post-copy' }, at({ type: 'postcopy-paused' }, 1000)).state;
  /** A tick at `elapsedSeconds` that finds the post-copy broken while libvirt's call still runs. */
  const brokenTick = (state: JobState, elapsedSeconds: number) =>
    transition(state, tick(elapsedSeconds, 'running', 'post-copy-failed'));
  /** The same break seen by a tick while libvirt's call still runs (at 2 s). */
  function brokenDuringCall(): JobState {
    const next = brokenTick(inPostCopy(), 2);
    expect(next.state.recovery).toMatchObject({ callInFlight: true, attempts: 0, startedAtMs: 2000 });
    expect(next.actions).not.toContainEqual(expect.objectContaining({ type: 'schedule', timer: 'resume' }));
    return next.state;
  }
  const failed = (source: 'running' | 'paused' | 'gone' | 'post-copy-failed', sinceFailureMs = 0): JobEvent =>
    at({ type: 'resume-attempt-failed', error: lost, source, attempt: 1 }, BREAK + sinceFailureMs);

  it('resume-due starts only the attempt it was scheduled for, and none while another call runs', () => {
    const s = broken();
    expect(transition(s, at({ type: 'resume-due', attempt: 2 }, 2000))).toEqual({ state: s, actions: [] });
    const first = transition(s, at({ type: 'resume-due', attempt: 1 }, 2000));
    expect(first.state.recovery).toMatchObject({ attempts: 1, inFlight: true });
    expect(first.actions).toEqual([
      { type: 'report-recovery', event: { kind: 'attempt', cause: 'failed', attempt: 1, elapsedMs: 2000 } },
      { type: 'attempt-resume', attempt: 1, call: s.prepared?.call, sourceLibvirt: 9_000_000 },
    ]);
    // attempt 1 in flight: a second due timer (or a repeated one) changes nothing
    expect(transition(first.state, at({ type: 'resume-due', attempt: 2 })).state).toBe(first.state);
    const during = brokenDuringCall();
    expect(transition(during, at({ type: 'resume-due', attempt: 1 })).state).toBe(during);
    const over = transition(s, at({ type: 'recovery-expired' })).state;
    expect(over.phase).toBe('ending');
  });

  it('recover() waits for the original call, then attempts at once; it is ignored while an attempt runs', () => {
    const during = brokenDuringCall();
    const callError = new Error('the call failed');
    const wanted = transition(during, at({ type: 'recover' }, 2000));
    expect(wanted.actions).toEqual([]);
    expect(wanted.state.recovery).toMatchObject({ wanted: true, attempts: 0 });
    // the original call fails as expected: the wanted attempt is scheduled at once (attempt 1, 1 s)
    const returned = transition(wanted.state, at({ type: 'migrate-failed', error: callError }, 2000));
    expect(returned.actions).toEqual([
      { type: 'schedule', timer: 'resume', inMs: 1000, event: { type: 'resume-due', attempt: 1 } },
    ]);
    expect(returned.state.recovery).toMatchObject({
      callInFlight: false,
      lastError: callError,
      lastAt: 1000,
    });
    const attempting = transition(broken(), at({ type: 'recover' }, 1500));
    expect(types(attempting.actions)).toEqual(['report-recovery', 'attempt-resume']);
    expect(transition(attempting.state, at({ type: 'recover' })).state).toBe(attempting.state);
  });

  it("the original call's failure keeps the first error and, without automatic attempts, waits for recover()", () => {
    const manual = { ...DEFAULT_RECOVERY, automatic: false };
    const during = brokenTick(inPostCopy(manual), 2);
    expect(during.state.recovery?.automatic).toBe(false);
    const first = transition(during.state, at({ type: 'migrate-failed', error: lost }, 2000));
    expect(first.actions).toEqual([]);
    expect(first.state.recovery?.lastError).toBe(lost);
    const s = broken();
    const again = transition(s, at({ type: 'migrate-failed', error: new Error('second') }, 2000));
    expect(again.state.recovery?.lastError).toBe(lost);
  });

  it('a failed attempt: the guest back on the source or gone ends the job; otherwise the next one is scheduled after the later of the two clocks', () => {
    const attempting = transition(broken(), at({ type: 'resume-due', attempt: 1 }, BREAK + 1000)).state;
    expect(transition(attempting, failed('gone')).actions.at(-1)).toEqual({
      type: 'conclude',
      readSource: true,
      askDestination: DESTINATION_URI,
    });
    for (const source of ['running', 'paused'] as const) {
      const ended = transition(attempting, failed(source));
      expect(ended.state.phase).toBe('ending');
      expect(ended.state.end).toMatchObject({ how: 'failed', error: lost });
    }
    // attempt 1 was due at 1 000 ms; it failed 5 000 ms after the break: attempt 2 waits 2 s from then
    const next = transition(attempting, failed('post-copy-failed', 5_000));
    expect(next.actions).toEqual([
      {
        type: 'report-recovery',
        event: {
          kind: 'attempt-failed',
          cause: 'failed',
          attempt: 1,
          error: lost,
          nextAttemptInMs: 2_000,
          elapsedMs: BREAK + 5_000,
        },
      },
      { type: 'schedule', timer: 'resume', inMs: 2_000, event: { type: 'resume-due', attempt: 2 } },
    ]);
    expect(next.state.recovery).toMatchObject({ inFlight: false, lastAt: 7_000, lastError: lost });
    // failed before its own due time (a fast answer): the schedule counts from when it was due
    const early = transition(attempting, failed('post-copy-failed', 200));
    expect(early.state.recovery?.lastAt).toBe(3_000);
    expect(early.actions.at(-1)).toEqual({
      type: 'schedule',
      timer: 'resume',
      inMs: 2_800,
      event: { type: 'resume-due', attempt: 2 },
    });
  });

  it('a failed attempt after the window closed gives up; without automatic attempts it waits for recover()', () => {
    const attempting = transition(broken(), at({ type: 'resume-due', attempt: 1 }, BREAK + 1000)).state;
    const closing = transition(attempting, at({ type: 'recovery-expired' }, BREAK + 600_000));
    expect(closing.actions).toEqual([]);
    expect(closing.state.recovery?.over).toBe('window');
    expect(transition(closing.state, at({ type: 'recovery-expired' })).state).toBe(closing.state);
    const given = transition(closing.state, failed('post-copy-failed', 700_000));
    expect(given.state.phase).toBe('ending');
    expect(given.actions.map((a) => (a.type === 'report-recovery' ? a.event : a.type))).toEqual([
      { kind: 'attempt-failed', cause: 'failed', attempt: 1, error: lost, elapsedMs: BREAK + 700_000 },
      { kind: 'given-up', cause: 'failed', attempt: 1, elapsedMs: BREAK + 700_000 },
      'conclude',
    ]);
    const paused = pausedOnRequest();
    const manual = ending(paused, at({ type: 'migrate-failed', error: lost }, 1000));
    const waiting = transition(
      manual,
      at({ type: 'concluded', source: 'post-copy-failed', stats: undefined }, 1000),
    ).state;
    expect(waiting.recovery).toMatchObject({ cause: 'paused', automatic: false });
    const tried = transition(
      transition(waiting, at({ type: 'recover' }, 2000)).state,
      at({ type: 'resume-attempt-failed', error: lost, source: 'post-copy-failed', attempt: 1 }, 10_000),
    );
    expect(tried.state.phase).toBe('recovering');
    expect(types(tried.actions)).toEqual(['report-recovery']);
  });

  it('gives up with "attempts" when the last attempt failed, with "refused" and its reason when the versions forbid it', () => {
    const one = { ...DEFAULT_RECOVERY, maxAttempts: 1 };
    const attempting = transition(broken(one), at({ type: 'resume-due', attempt: 1 }, BREAK + 1000)).state;
    const spent = transition(attempting, failed('post-copy-failed', 1_500));
    expect(spent.state.recovery?.over).toBe('attempts');
    const refusedFrom = transition(broken(), at({ type: 'resume-due', attempt: 1 }, BREAK + 1000)).state;
    const refused = transition(
      refusedFrom,
      at({ type: 'resume-refused', reason: 'libvirt 11.3.0 crashes', attempt: 1 }, BREAK + 1100),
    );
    expect(refused.state.recovery).toMatchObject({
      over: 'refused',
      refused: 'libvirt 11.3.0 crashes',
      inFlight: false,
    });
    expect(refused.actions[0]).toEqual({
      type: 'report-recovery',
      event: {
        kind: 'refused',
        cause: 'failed',
        attempt: 1,
        reason: 'libvirt 11.3.0 crashes',
        elapsedMs: BREAK + 1100,
      },
    });
  });

  it('the error of a give-up without any libvirt error says why', () => {
    const paused = brokenTick(pausedOnRequest(), 3).state;
    expect(paused.recovery?.lastError).toBeUndefined();
    const expired = transition(paused, at({ type: 'recovery-expired' }, 603_000));
    expect(expired.state.end).toMatchObject({ how: 'failed' });
    expect((expired.state.end as { error: Error }).error.message).toBe(
      'the post-copy was not recovered in time',
    );
    // recover() while libvirt's call still runs: the attempt starts once the call failed, as it must.
    const attempting = run(
      paused,
      at({ type: 'recover' }, 4000),
      at({ type: 'migrate-failed', error: lost }, 4050),
      at({ type: 'resume-due', attempt: 1 }, 5000),
    ).state;
    expect(attempting.recovery).toMatchObject({ attempts: 1, inFlight: true });
    const refused = transition(attempting, {
      type: 'resume-refused',
      reason: 'the destination runs libvirt 11.3.0',
      attempt: 1,
      atMs: 5100,
    });
    // The call's own failure (the pause) is the error kept; the refusal's reason is the recovery's.
    expect(refused.state.recovery?.refused).toBe('the destination runs libvirt 11.3.0');
    expect((refused.state.end as { error: Error }).error).toBe(lost);
  });

  describe('the watchdog on a resume attempt', () => {
    /** Attempt 1 in flight, started 1 s after the break (at 2 000 ms on the job's clock). */
    const attempting = () => transition(broken(), at({ type: 'resume-due', attempt: 1 }, BREAK + 1000)).state;
    const STARTED = BREAK + 1000;
    const BOUND = 60_000; // the default: libvirt's job wait on each host, and the handshake
    /** A tick of a resume whose job shows `processed` bytes, the source still paused (post-copy failed). */
    const look = (atMs: number, processed = 45_000_000) =>
      at(
        {
          type: 'tick',
          stats: { type: 'unbounded', memoryTotal: 400_000_000, memoryProcessed: processed, raw: {} },
          source: 'post-copy-failed',
        },
        atMs,
      );

    it('an attempt that moves nothing for the bound is given up: libvirt asked to end it, the next one scheduled', () => {
      let s = attempting();
      expect(s.watch).toMatchObject({ step: 'resume-attempt', startedAtMs: STARTED, stalled: false });
      for (const t of [5_000, 30_000, STARTED + BOUND - 1]) {
        const quiet = transition(s, look(t));
        expect(quiet.actions).toEqual([]);
        s = quiet.state;
      }
      const stalled = transition(s, look(STARTED + BOUND));
      expect(types(stalled.actions)).toEqual(['end-attempt', 'report-recovery', 'schedule']);
      const report = stalled.actions[1] as Extract<JobAction, { type: 'report-recovery' }>;
      expect(report.event).toMatchObject({ kind: 'attempt-failed', attempt: 1 });
      expect(report.event.error).toMatchObject({ code: 'RESUME_STALLED', key: 'watchdog.resumeAttemptMs' });
      expect(report.event.error?.message).toMatch(
        /^resume attempt 1: resume-attempt stalled: nothing moved since 2\.0 s \(60\.0 s, bound 60\.0 s\).*42\.9 MiB processed.*domain post-copy-failed/,
      );
      expect(stalled.actions[2]).toMatchObject({
        type: 'schedule',
        event: { type: 'resume-due', attempt: 2 },
      });
      expect(stalled.state.recovery).toMatchObject({ attempts: 1, inFlight: false });
      expect(stalled.state.watch).toBeUndefined();
      expect(stalled.state.phase).toBe('recovering');
    });

    it('bytes that move keep the attempt alive; each movement starts the bound again', () => {
      let s = attempting();
      for (const [t, processed] of [
        [40_000, 46_000_000],
        [STARTED + BOUND + 5_000, 47_000_000],
        [STARTED + BOUND + 40_000, 48_000_000],
      ] as const) {
        const moving = transition(s, look(t, processed));
        expect(moving.actions).toEqual([]);
        s = moving.state;
      }
      expect(s.recovery?.inFlight).toBe(true);
      expect(types(transition(s, look(STARTED + BOUND + 40_000 + BOUND, 48_000_000)).actions)).toContain(
        'end-attempt',
      );
    });

    it("the given-up attempt's late failure is ignored; its late success is the recovery", () => {
      const given = transition(attempting(), look(STARTED + BOUND)).state;
      const lateFailure = at(
        { type: 'resume-attempt-failed', error: lost, source: 'post-copy-failed', attempt: 1 },
        STARTED + BOUND + 5_000,
      );
      expect(transition(given, lateFailure)).toEqual({ state: given, actions: [] });
      // Attempt 2 runs; attempt 1's failure still changes nothing, attempt 2's own does.
      const second = transition(given, at({ type: 'resume-due', attempt: 2 }, STARTED + BOUND + 2_000)).state;
      expect(transition(second, lateFailure).state).toBe(second);
      expect(transition(second, { ...lateFailure, attempt: 2 }).state.recovery?.inFlight).toBe(false);
      const late = transition(given, at({ type: 'resume-returned', attempt: 1 }, STARTED + BOUND + 9_000));
      expect(late.state.phase).toBe('ending');
      expect(late.state.recovery?.recovered).toBe(true);
    });

    it('a stall once the window closed ends the recovery: given up, the split kept', () => {
      const closing = transition(attempting(), at({ type: 'recovery-expired' }, BREAK + 600_000)).state;
      const given = transition(closing, look(BREAK + 600_000 + BOUND));
      expect(given.state.phase).toBe('ending');
      expect(given.actions.map((a) => (a.type === 'report-recovery' ? a.event.kind : a.type))).toEqual([
        'end-attempt',
        'attempt-failed',
        'given-up',
        'conclude',
      ]);
    });

    it('no attempt in flight, nothing watched: ticks of the recovering phase change nothing', () => {
      const s = broken();
      expect(transition(s, look(BREAK + 500_000))).toEqual({ state: s, actions: [] });
    });
  });
});
