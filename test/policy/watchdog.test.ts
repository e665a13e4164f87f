import { describe, expect, it } from 'vitest';
import {
  LIBVIRT_JOB_WAIT_MS,
  WATCHDOG_FIXED_MS,
  type WatchdogBounds,
  type WatchedStep,
  type WatchSample,
  type WatchState,
  watchdogBounds,
  watchStart,
  watchStep,
} from '../../src/policy/index.js';
import { expectInvalid } from './forecast-helpers.js';
import { expectPolicyError } from './helpers.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const bounds = watchdogBounds();

function look(step: WatchedStep, samples: WatchSample[], b: WatchdogBounds = bounds, startMs = 0) {
  let state: WatchState = watchStart(step, startMs);
  const verdicts = samples.map((s) => {
    const r = watchStep(state, s, b);
    state = r.state;
    return r.verdict;
  });
  return { state, verdicts, last: verdicts.at(-1) };
}

describe('the bounds', () => {
  it("start from libvirt's 30 s job wait", () => {
    expect(LIBVIRT_JOB_WAIT_MS).toBe(30_000);
    expect(watchdogBounds()).toEqual({
      migrateCallMs: 60_000,
      resumeAttemptMs: 60_000,
      abortMs: 45_000,
      forceCompleteSwitchMs: 45_000,
    });
    expect(watchdogBounds()).toEqual(WATCHDOG_FIXED_MS);
  });

  it("grow for a resume with 4 × the received-pages bitmap's time at the bandwidth", () => {
    // 64 GiB of 4 KiB pages: a 2 MiB bitmap; at 1 MiB/s 2 s, × 4.
    expect(watchdogBounds({}, { memoryBytes: 64 * GiB, bandwidthBytesPerSecond: MiB }).resumeAttemptMs).toBe(
      68_000,
    );
    expect(
      watchdogBounds({}, { memoryBytes: 64 * GiB, bandwidthBytesPerSecond: MiB, pageSizeBytes: 2 * MiB }),
    ).toEqual({ ...WATCHDOG_FIXED_MS, resumeAttemptMs: 60_016 });
    // Unlimited bandwidth, or no size: the fixed part only.
    expect(watchdogBounds({}, { memoryBytes: 64 * GiB }).resumeAttemptMs).toBe(60_000);
    expect(watchdogBounds({}, { memoryBytes: 64 * GiB, bandwidthBytesPerSecond: 0 }).resumeAttemptMs).toBe(
      60_000,
    );
  });

  it('never grow past a day', () => {
    expect(watchdogBounds({}, { memoryBytes: 2 ** 50, bandwidthBytesPerSecond: 1 }).resumeAttemptMs).toBe(
      86_400_000,
    );
  });

  it('take the options given', () => {
    expect(watchdogBounds({ abortMs: 20_000, migrateCallMs: 1_000 })).toEqual({
      ...WATCHDOG_FIXED_MS,
      abortMs: 20_000,
      migrateCallMs: 1_000,
    });
  });

  it.each([
    [
      { abortMs: 999 },
      'watchdog.abortMs',
      'watchdog.abortMs is 999: give a whole number from 1000 to 86400000 (ms)',
    ],
    [{ resumeAttemptMs: 1500.5 }, 'watchdog.resumeAttemptMs', undefined],
    [{ migrateCallMs: '60s' }, 'watchdog.migrateCallMs', undefined],
    [{ forceCompleteMs: 5000 }, 'watchdog.forceCompleteMs', undefined],
  ])('refuse %j, naming the option', (options, key, message) => {
    expectInvalid(() => watchdogBounds(options as never), key, message);
  });

  it('refuse a bad size', () => {
    expect(expectPolicyError(() => watchdogBounds({}, { memoryBytes: -1 }), 'INVALID_ARGUMENT').key).toBe(
      'memoryBytes',
    );
    expect(
      expectPolicyError(() => watchdogBounds({}, { bandwidthBytesPerSecond: Number.NaN }), 'INVALID_ARGUMENT')
        .key,
    ).toBe('bandwidthBytesPerSecond');
    expect(expectPolicyError(() => watchdogBounds({}, { pageSizeBytes: 0 }), 'INVALID_ARGUMENT').key).toBe(
      'pageSizeBytes',
    );
    expect(expectPolicyError(() => watchdogBounds([] as never), 'INVALID_ARGUMENT').key).toBe('watchdog');
  });
});

describe('a migrate call', () => {
  it('is moving while the processed bytes grow', () => {
    const { verdicts } = look('migrate-call', [
      { atMs: 1_000, jobType: 'unbounded', processedBytes: 10, remainingBytes: 90 },
      { atMs: 2_000, jobType: 'unbounded', processedBytes: 20, remainingBytes: 90 },
    ]);
    expect(verdicts.map((v) => v.kind)).toEqual(['quiet', 'moving']);
    expect(verdicts[1]?.lastMovementAtMs).toBe(2_000);
    expect(verdicts[1]?.reason).toBe(
      'migrate-call: moving (job unbounded, 0.0 MiB processed, 0.0 MiB remaining)',
    );
  });

  it.each([
    ['the remaining bytes change', { remainingBytes: 80 }],
    ['the iteration changes', { iteration: 3 }],
    ['the job type changes', { jobType: 'completed' }],
    ["the domain's state changes", { domainState: 'paused' }],
    ["the domain's reason changes", { domainReason: 'migration' }],
  ])('is moving when %s', (_, change) => {
    const base = {
      jobType: 'unbounded',
      processedBytes: 10,
      remainingBytes: 90,
      iteration: 2,
      domainState: 'running',
    };
    const { last } = look('migrate-call', [
      { atMs: 1_000, ...base },
      { atMs: 2_000, ...base, ...change },
    ]);
    expect(last?.kind).toBe('moving');
  });

  it('is not moving when the processed bytes go down (a new job)', () => {
    const { last } = look('migrate-call', [
      { atMs: 1_000, processedBytes: 10 },
      { atMs: 2_000, processedBytes: 5 },
    ]);
    expect(last?.kind).toBe('quiet');
  });

  it('is stalled when nothing moved for its bound, with what was seen', () => {
    const seen = { jobType: 'unbounded', processedBytes: 43 * MiB, remainingBytes: 338 * MiB, iteration: 2 };
    const { verdicts, last } = look('migrate-call', [
      { atMs: 1_000, ...seen },
      { atMs: 30_000, ...seen },
      { atMs: 59_999, ...seen },
      { atMs: 60_000, ...seen },
    ]);
    expect(verdicts.map((v) => v.kind)).toEqual(['quiet', 'quiet', 'quiet', 'stalled']);
    expect(last).toMatchObject({
      step: 'migrate-call',
      boundMs: 60_000,
      quietMs: 60_000,
      lastMovementAtMs: 0,
      samples: 4,
    });
    expect(last?.seen).toEqual({ atMs: 60_000, ...seen });
    expect(last?.reason).toBe(
      'migrate-call stalled: nothing moved since 0.0 s (60.0 s, bound 60.0 s) over 4 looks; last seen: job unbounded, 43.0 MiB processed, 338.0 MiB remaining, iteration 2',
    );
  });

  it('counts its bound from the last movement', () => {
    const { last } = look('migrate-call', [
      { atMs: 1_000, processedBytes: 1 },
      { atMs: 20_000, processedBytes: 2 },
      { atMs: 79_999, processedBytes: 2 },
    ]);
    expect(last?.kind).toBe('quiet');
    expect(last?.quietMs).toBe(59_999);
    expect(last?.reason).toBe(
      'migrate-call: nothing moved for 60.0 s of the 60.0 s allowed (0.0 MiB processed)',
    );
  });

  it('stays stalled once stalled, even if something moves later', () => {
    const { last, state } = look('migrate-call', [
      { atMs: 1_000, processedBytes: 1 },
      { atMs: 61_000, processedBytes: 1 },
      { atMs: 62_000, processedBytes: 9 },
    ]);
    expect(last?.kind).toBe('stalled');
    expect(state.stalled).toBe(true);
    expect(state.lastMovementAtMs).toBe(62_000);
  });
});

describe('timer ticks', () => {
  it('count as looks that saw nothing: a call whose stats cannot be read stalls too', () => {
    const { verdicts, last } = look('resume-attempt', [{ atMs: 10_000 }, { atMs: 30_000 }, { atMs: 60_000 }]);
    expect(verdicts.map((v) => v.kind)).toEqual(['quiet', 'quiet', 'stalled']);
    expect(last?.seen).toBeUndefined();
    expect(last?.reason).toMatch(/last seen: nothing could be read$/);
  });

  it('do not erase what was seen last', () => {
    const { last } = look('resume-attempt', [
      { atMs: 1_000, domainState: 'paused', domainReason: 'post-copy failed' },
      { atMs: 2_000 },
    ]);
    expect(last?.seen?.domainReason).toBe('post-copy failed');
    expect(last?.reason).toBe(
      'resume-attempt: nothing moved for 2.0 s of the 60.0 s allowed (domain paused (post-copy failed))',
    );
  });
});

describe('an abort and a force-complete switch', () => {
  it.each(['abort', 'force-complete-switch'] as const)('%s: moving bytes are no progress', (step) => {
    const { verdicts } = look(step, [
      { atMs: 1_000, jobType: 'unbounded', processedBytes: 1 },
      { atMs: 20_000, jobType: 'unbounded', processedBytes: 2 },
      { atMs: 45_000, jobType: 'unbounded', processedBytes: 3, remainingBytes: 1, iteration: 9 },
    ]);
    expect(verdicts.map((v) => v.kind)).toEqual(['quiet', 'quiet', 'stalled']);
  });

  it('an abort moves when the job ends', () => {
    const { last } = look('abort', [
      { atMs: 1_000, jobType: 'unbounded' },
      { atMs: 2_000, jobType: 'cancelled' },
    ]);
    expect(last?.kind).toBe('moving');
  });

  it("a force-complete switch moves when the domain's state says post-copy", () => {
    const { last } = look('force-complete-switch', [
      { atMs: 1_000, domainState: 'running', domainReason: 'migrated' },
      { atMs: 2_000, domainState: 'paused', domainReason: 'post-copy' },
    ]);
    expect(last?.kind).toBe('moving');
  });

  it('uses its own bound', () => {
    const { last } = look(
      'abort',
      [{ atMs: 10_000, jobType: 'unbounded' }],
      watchdogBounds({ abortMs: 10_000 }),
    );
    expect(last).toMatchObject({ kind: 'stalled', boundMs: 10_000 });
  });
});

describe('bad input', () => {
  it('refuses an unknown step', () => {
    const error = expectPolicyError(() => watchStart('resume' as never, 0), 'INVALID_ARGUMENT');
    expect(error.message).toBe(
      'step is "resume": use migrate-call, resume-attempt, abort, force-complete-switch',
    );
  });

  it('refuses a bad start time', () => {
    expect(expectPolicyError(() => watchStart('abort', -1), 'INVALID_ARGUMENT').key).toBe('atMs');
  });

  it('refuses a look before the start or the last look', () => {
    const start = watchStart('abort', 5_000);
    expect(
      expectPolicyError(() => watchStep(start, { atMs: 4_000 }, bounds), 'INVALID_ARGUMENT').message,
    ).toBe("sample.atMs is 4000, before 5000 (the watch's start or last sample): give samples in time order");
    const { state } = watchStep(start, { atMs: 9_000, jobType: 'unbounded' }, bounds);
    expect(expectPolicyError(() => watchStep(state, { atMs: 8_000 }, bounds), 'INVALID_ARGUMENT').key).toBe(
      'sample.atMs',
    );
  });

  it.each([
    ['sample.processedBytes', { processedBytes: -1 }],
    ['sample.remainingBytes', { remainingBytes: Number.NaN }],
    ['sample.iteration', { iteration: 0.5 }],
  ])('refuses %s', (key, bad) => {
    expect(
      expectPolicyError(
        () => watchStep(watchStart('abort', 0), { atMs: 1, ...bad }, bounds),
        'INVALID_ARGUMENT',
      ).key,
    ).toBe(key);
  });

  it('refuses a sample that is not an object', () => {
    expect(
      expectPolicyError(() => watchStep(watchStart('abort', 0), 5 as never, bounds), 'INVALID_ARGUMENT').key,
    ).toBe('sample');
  });
});

describe('the documented examples', () => {
  it('give what they say', () => {
    expect(watchdogBounds({}, { memoryBytes: 64 * GiB, bandwidthBytesPerSecond: MiB }).resumeAttemptMs).toBe(
      68_000,
    );
    expect(watchdogBounds({ abortMs: 20_000 }).abortMs).toBe(20_000);
    let watch = watchStart('abort', 0);
    ({ state: watch } = watchStep(watch, { atMs: 1_000, jobType: 'unbounded' }, bounds));
    expect(watchStep(watch, { atMs: 46_000, jobType: 'unbounded' }, bounds).verdict.kind).toBe('stalled');
  });
});
