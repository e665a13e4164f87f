import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FORECAST_OPTIONS,
  downtimeSchedule,
  FORECAST_START,
  type ForecastSample,
  forecastSample,
  forecastSettings,
  forecastStep,
  MAX_BOUNDARIES,
  planMigration,
  QEMU_AUTO_CONVERGE,
  QEMU_DEFAULT_DOWNTIME_MS,
  resolveForecastOptions,
} from '../../src/policy/index.js';
import { bareSettings, expectInvalid, MiB, passes, run, verdicts } from './forecast-helpers.js';
import { expectPolicyError } from './helpers.js';

const settings = bareSettings();
const repeat = <T>(value: T, times: number): T[] => Array.from({ length: times }, () => value);

describe('the smoothed bandwidth', () => {
  const bw = (values: number[], alpha?: number) => {
    const s =
      alpha === undefined
        ? settings
        : bareSettings({ options: resolveForecastOptions({ ewmaAlpha: alpha }) });
    const samples = values.map((b, i) => ({
      atMs: i * 1000,
      remainingBytes: 1e9,
      processedBytes: i,
      iteration: 1,
      bandwidthBytesPerSecond: b,
    }));
    return run(samples, s).forecasts.map((f) => f.bandwidthBytesPerSecond);
  };

  it('starts at the first sample, then weighs each new one by α (KubeVirt: 0.4)', () => {
    const [a, b, c] = bw([1000, 2000, 500]);
    expect(a).toBe(1000);
    expect(b).toBeCloseTo(0.4 * 2000 + 0.6 * 1000);
    expect(c).toBeCloseTo(0.4 * 500 + 0.6 * (0.4 * 2000 + 0.6 * 1000));
  });

  it('uses the configured α', () => {
    expect(bw([1000, 2000], 0.2)[1]).toBe(1200);
  });

  it('ignores samples without a bandwidth, and samples out of pre-copy', () => {
    expect(bw([0, 1000, 0])).toEqual([undefined, 1000, 1000]);
    const { forecasts } = run(
      [
        { atMs: 0, remainingBytes: 1, processedBytes: 0, iteration: 1, bandwidthBytesPerSecond: 1000 },
        {
          atMs: 1,
          remainingBytes: 1,
          processedBytes: 1,
          iteration: 1,
          bandwidthBytesPerSecond: 9000,
          mode: 'post-copy',
        },
      ],
      settings,
    );
    expect(forecasts[1]?.bandwidthBytesPerSecond).toBe(1000);
  });
});

describe('before the first pass has ended', () => {
  it('gives no verdict, and says why', () => {
    const samples: ForecastSample[] = [1, 2, 3].map((i) => ({
      atMs: i * 1000,
      remainingBytes: 300 * MiB - i * 40 * MiB,
      processedBytes: i * 40 * MiB,
      iteration: 1,
      bandwidthBytesPerSecond: 40 * MiB,
    }));
    const last = run(samples, settings).forecasts.at(-1);
    expect(last?.verdict).toBeUndefined();
    expect(last?.reason).toMatch(/no verdict before the first pass has ended \(iteration 1\)/);
    expect(last?.atIterationBoundary).toBe(false);
    expect(last?.expectedDowntimeMs).toBeCloseTo(4500);
  });

  it('gives none either when libvirt reported no bandwidth at the boundary', () => {
    const samples = passes([200, 200]).map(({ bandwidthBytesPerSecond: _, ...s }) => s);
    const last = run(samples, settings).forecasts.at(-1);
    expect(last?.verdict).toBeUndefined();
    expect(last?.reason).toBe('no verdict: libvirt has reported no bandwidth yet');
  });
});

describe('a pass boundary seen between two polls', () => {
  const last = { atMs: 10_000, remainingBytes: 10 * MiB, processedBytes: 100 * MiB, iteration: 2 };
  const first = forecastStep(
    FORECAST_START,
    { ...last, bandwidthBytesPerSecond: 10 * MiB },
    { settings },
  ).state;

  it('adds back what was sent after the last pass ran out, and places the sync where it did', () => {
    const { state } = forecastStep(
      first,
      { atMs: 13_000, remainingBytes: 20 * MiB, processedBytes: 130 * MiB, iteration: 3 },
      { settings },
    );
    const b = state.boundaries.at(-1);
    expect(b?.remainingBytes).toBe(40 * MiB); // 20 left + (30 sent − the 10 the last pass had)
    expect(b?.atMs).toBe(11_000); // a third of the way: the last pass's 10 of the 30 sent
    expect(b?.iteration).toBe(3);
  });

  it('does not guess when several syncs happened in between', () => {
    const { state } = forecastStep(
      first,
      { atMs: 13_000, remainingBytes: 20 * MiB, processedBytes: 130 * MiB, iteration: 5 },
      { settings },
    );
    expect(state.boundaries.at(-1)?.remainingBytes).toBe(20 * MiB);
  });

  it('takes the whole interval when nothing was sent', () => {
    const { state } = forecastStep(
      first,
      { atMs: 13_000, remainingBytes: 20 * MiB, processedBytes: 100 * MiB, iteration: 3 },
      { settings },
    );
    expect(state.boundaries.at(-1)?.atMs).toBe(13_000);
    expect(state.boundaries.at(-1)?.passMs).toBe(13_000);
  });
});

describe('the verdict', () => {
  it('is will-not-converge when the passes stop shrinking above what the downtime allows', () => {
    const { forecasts } = run(passes([200, 200, 198, 201, 199]), settings);
    expect(verdicts(forecasts)).toEqual([
      [2, undefined],
      [3, 'will-not-converge'],
      [4, 'will-not-converge'],
      [5, 'will-not-converge'],
      [6, 'will-not-converge'],
    ]);
    const f = forecasts.at(-1);
    expect(f?.iterations).toEqual([3, 4, 5, 6]);
    expect(f?.reason).toMatch(
      /^will-not-converge since iteration 3: at iteration 6 the pass left 199\.0 MiB/,
    );
    expect(f?.reason).toMatch(/switching needs 4975 ms against at most 50 ms allowed/);
    expect(f?.shrinkFactor).toBeGreaterThanOrEqual(0.96);
    expect(f?.expectedDowntimeMs).toBeCloseTo(4975);
    expect(f?.observedDirtyRateBytesPerSecond).toBeCloseTo((199 * MiB) / 5.025, -3);
  });

  it('is converging when the passes shrink, with the passes and time it needs', () => {
    const { forecasts } = run(passes([150, 60, 24]), settings);
    expect(verdicts(forecasts)).toEqual([
      [2, undefined],
      [3, 'converging'],
      [4, 'converging'],
    ]);
    // ×0.4 a pass from 24 MiB to 2 MiB (40 MiB/s × 50 ms): 3 more passes, 24/40 × (1 − 0.4³)/(1 − 0.4) s.
    expect(forecasts.at(-1)?.reason).toMatch(
      /shrinking ×0\.40 a pass, it fits 50 ms in about 3 more passes \(0\.9 s\)/,
    );
    expect(forecasts.at(-1)?.nextRemainingBytes).toBeCloseTo(24 * MiB * 0.4);
  });

  it('says converging at once when what is left fits the downtime allowed now', () => {
    const { forecasts } = run(passes([200, 200, 200, 1]), settings);
    expect(verdicts(forecasts).at(-1)).toEqual([5, 'converging']);
    expect(forecasts.at(-1)?.reason).toMatch(/within the 50 ms allowed now: QEMU switches over/);
    expect(forecasts.at(-1)?.iterations).toEqual([5]);
  });

  it('waits for a second boundary even when the first pass looked clean', () => {
    // libvirt's rate over a 7.5 s first pass says 0.4 MiB/s, but the guest rewrites its 3 MiB every 75 ms:
    // the second boundary shows it.
    const { forecasts } = run(passes([3, 3, 3]), settings);
    expect(verdicts(forecasts)).toEqual([
      [2, undefined],
      [3, 'will-not-converge'],
      [4, 'will-not-converge'],
    ]);
    expect(forecasts[1]?.reason).toMatch(/one pass boundary \(iteration 2\) is not enough evidence/);
  });

  it('uses a dirty rate measured before the migration to tell at the first boundary', () => {
    const measured = bareSettings({ measuredDirtyRateBytesPerSecond: 80 * MiB });
    const { forecasts } = run(passes([200]), measured);
    expect(forecasts.at(-1)?.verdict).toBe('will-not-converge');
    expect(forecasts.at(-1)?.reason).toMatch(/measured dirtying 80\.0 MiB\/s before the migration/);
    expect(forecasts.at(-1)?.iterations).toEqual([2]);
    // A slower guest than the link proves nothing yet.
    const slow = bareSettings({ measuredDirtyRateBytesPerSecond: 20 * MiB });
    expect(run(passes([200]), slow).forecasts.at(-1)?.verdict).toBeUndefined();
  });

  it('ignores a boundary where the passes and the dirty rate disagree', () => {
    // Shrinking boundaries, but libvirt's rate says the next pass will be dirtier than this one.
    const { forecasts } = run(passes([150, 100, 60], { dirtyMiBps: 60 }), settings);
    expect(forecasts.at(-1)?.verdict).toBeUndefined();
    expect(forecasts.at(-1)?.reason).toMatch(/the passes and the dirty rate disagree/);
  });

  it('calls converging that is too slow for the completion timeout will-not-converge', () => {
    const timeout = bareSettings({ completionTimeoutMs: 20_000 });
    // ×0.9 a pass from 150 MiB: ~23 more passes, ~33 s — past 20 s.
    const { forecasts } = run(passes([180, 162, 146]), timeout);
    expect(forecasts.at(-1)?.verdict).toBe('will-not-converge');
    expect(forecasts.at(-1)?.reason).toMatch(/past the completion timeout at 20\.0 s/);
    expect(run(passes([180, 162, 146]), settings).forecasts.at(-1)?.verdict).toBe('converging');
  });
});

describe('what is still to come', () => {
  it('is stalled while a later downtime step would let it switch', () => {
    // Nova's schedule for 2 GiB: 50 ms, then +45 ms every 150 s up to 500 ms at 1500 s; 10 MiB at 40 MiB/s is
    // 250 ms, first allowed by step 5 (275 ms) after 750 s.
    const schedule = bareSettings({ schedule: downtimeSchedule(2) });
    const { forecasts } = run(passes([10, 10, 10]), schedule, (s) => (s.atMs > 0 ? 50 : undefined));
    expect(forecasts.at(-1)?.verdict).toBe('stalled');
    expect(forecasts.at(-1)?.reason).toMatch(/^stalled since iteration 3: /);
    expect(forecasts.at(-1)?.reason).toMatch(/it fits once the schedule allows 250 ms, after 750\.0 s/);
    expect(forecasts.at(-1)?.maxDowntimeMs).toBe(500);
  });

  it('is will-not-converge when that step comes after the completion timeout', () => {
    const s = bareSettings({ schedule: downtimeSchedule(2), completionTimeoutMs: 600_000 });
    const { forecasts } = run(passes([10, 10, 10]), s);
    expect(forecasts.at(-1)?.verdict).toBe('will-not-converge');
    expect(forecasts.at(-1)?.maxDowntimeMs).toBe(185); // the step in force at 600 s
  });

  it('is stalled while auto-converge can still throttle enough', () => {
    const ac = bareSettings({ autoConverge: { ...QEMU_AUTO_CONVERGE } });
    const { forecasts } = run(passes([200, 200, 200], { dirtyMiBps: 60, throttle: [0, 20, 30] }), ac);
    const f = forecasts.at(-1);
    expect(f?.verdict).toBe('stalled');
    // 60 MiB/s at 30 % is 85.7 unthrottled; 0.96 × 40 ÷ 85.7 → at least 56 %.
    expect(f?.throttleNeededPercent).toBe(56);
    // Three more steps of 10 %, each after two syncs, one a pass (5 s): 30 s.
    expect(f?.reason).toMatch(
      /throttle is 30 % and a throttle of about 56 % \(ceiling 99 %\) would make them shrink, in about 30\.0 s/,
    );
    expect(f?.throttleAtCeiling).toBe(false);
  });

  it('counts the first step to the initial throttle, and no more than 5 s between syncs', () => {
    const ac = bareSettings({ autoConverge: { ...QEMU_AUTO_CONVERGE } });
    // 50 MiB/s against 40: 24 % needed; from 0: the initial 20 %, then one step of 10 %; passes of 10 s.
    const { forecasts } = run(passes([400, 400, 400], { dirtyMiBps: 50, firstPassMiB: 400 }), ac);
    expect(forecasts.at(-1)?.throttleNeededPercent).toBe(24);
    expect(forecasts.at(-1)?.reason).toMatch(/would make them shrink, in about 20\.0 s/);
  });

  it('is will-not-converge when the throttle would come too late for the completion timeout', () => {
    const late = bareSettings({ autoConverge: { ...QEMU_AUTO_CONVERGE }, completionTimeoutMs: 40_000 });
    // The last boundary is at 17.5 s; 30 s more is past 40 s.
    const { forecasts } = run(passes([200, 200, 200], { dirtyMiBps: 60, throttle: [0, 20, 30] }), late);
    expect(forecasts.at(-1)?.verdict).toBe('will-not-converge');
    const inTime = bareSettings({ autoConverge: { ...QEMU_AUTO_CONVERGE }, completionTimeoutMs: 48_000 });
    expect(
      run(passes([200, 200, 200], { dirtyMiBps: 60, throttle: [0, 20, 30] }), inTime).forecasts.at(-1)
        ?.verdict,
    ).toBe('stalled');
  });

  it('is will-not-converge once the throttle is at its ceiling', () => {
    const ac = bareSettings({ autoConverge: { initialPercent: 20, incrementPercent: 10, maxPercent: 50 } });
    const { forecasts } = run(passes([200, 200, 200], { dirtyMiBps: 60, throttle: [40, 50, 50] }), ac);
    expect(forecasts.at(-1)?.verdict).toBe('will-not-converge');
    expect(forecasts.at(-1)?.throttleAtCeiling).toBe(true);
    expect(forecasts.at(-1)?.reason).toMatch(/throttle 50 % \(ceiling 50 %\)/);
  });

  it('is will-not-converge when even the ceiling would not be enough', () => {
    const ac = bareSettings({ autoConverge: { initialPercent: 20, incrementPercent: 10, maxPercent: 60 } });
    const { forecasts } = run(passes([200, 200, 200], { dirtyMiBps: 200 }), ac);
    expect(forecasts.at(-1)?.throttleNeededPercent).toBe(81);
    expect(forecasts.at(-1)?.verdict).toBe('will-not-converge');
  });
});

describe('a change of verdict', () => {
  it('needs two boundaries in a row: one contrary pass does not flip it', () => {
    const { forecasts } = run(passes([200, 200, 200, 120, 200, 200]), settings);
    expect(verdicts(forecasts).map(([, v]) => v)).toEqual([undefined, ...repeat('will-not-converge', 5)]);
  });

  it('happens once the new verdict held for two boundaries, and says the pending one meanwhile', () => {
    const { forecasts } = run(passes([200, 200, 200, 100, 50, 25]), settings);
    expect(verdicts(forecasts).map(([, v]) => v)).toEqual([
      undefined,
      ...repeat('will-not-converge', 3),
      ...repeat('converging', 2),
    ]);
    expect(forecasts.filter((f) => f.atIterationBoundary)[3]?.reason).toMatch(
      /\(iteration 5 points to converging: /,
    );
    expect(forecasts.at(-1)?.reason).toMatch(/^converging since iteration 6/);
  });

  it('keeps the iteration it was first reached at while it holds', () => {
    const { forecasts } = run(passes([200, 200, 200, 200]), settings);
    expect(forecasts.at(-1)?.reason).toMatch(/^will-not-converge since iteration 3: at iteration 5/);
  });

  it('confirms over the configured number of boundaries', () => {
    const once = bareSettings({ options: resolveForecastOptions({ confirmIterations: 1 }) });
    const left = [200, 200, 200, 100];
    expect(verdicts(run(passes(left), once).forecasts).at(-1)).toEqual([5, 'converging']);
    expect(verdicts(run(passes(left), settings).forecasts).at(-1)).toEqual([5, 'will-not-converge']);
  });
});

describe('the sliding window', () => {
  it('turns converging into stalled when the remaining bytes did not improve over the window', () => {
    // The last three passes shrink (100 → 55) and the rate agrees, but 50 MiB were left once, before the
    // 5 s window: no progress since.
    const s = bareSettings({ options: resolveForecastOptions({ windowMs: 5_000 }) });
    const { forecasts } = run(passes([50, 100, 90, 80, 55], { dirtyMiBps: 20 }), s);
    const f = forecasts.at(-1);
    expect(f?.noProgress).toBe(true);
    expect(f?.verdict).toBe('stalled');
    expect(f?.reason).toMatch(
      /shrinking ×0\.82 a pass.*; but over the last 5\.0 s the remaining bytes \(55\.0 MiB\) did not improve by 4 % on 50\.0 MiB/,
    );
    // With the default 40 s window nothing has left it yet: converging.
    expect(run(passes([50, 100, 90, 80, 55], { dirtyMiBps: 20 }), settings).forecasts.at(-1)?.verdict).toBe(
      'converging',
    );
  });

  it('finds the local minimum from the smallest boundary once the verdict is will-not-converge', () => {
    const { forecasts } = run(passes([200, 190, 210, 191]), settings);
    const at = forecasts.filter((f) => f.atIterationBoundary).map((f) => [f.iteration, f.atLocalMinimum]);
    expect(at).toEqual([
      [2, true],
      [3, true],
      [4, false],
      [5, true],
    ]);
    expect(forecasts.at(-1)?.bestRemainingBytes).toBe(190 * MiB);
  });

  it('is never at a local minimum between boundaries', () => {
    const samples = passes([200, 200, 200]);
    const extra = {
      ...(samples.at(-1) as ForecastSample),
      atMs: (samples.at(-1) as ForecastSample).atMs + 100,
    };
    const { forecasts } = run([...samples, extra], settings);
    expect(forecasts.at(-1)?.atIterationBoundary).toBe(false);
    expect(forecasts.at(-1)?.atLocalMinimum).toBe(false);
    expect(forecasts.at(-1)?.verdict).toBe('will-not-converge');
  });
});

describe('the state', () => {
  it('stays small over a migration of any length', () => {
    const left = Array.from({ length: 500 }, (_, i) => 200 + (i % 7));
    const { state } = run(passes(left), settings);
    expect(state.boundaries).toHaveLength(MAX_BOUNDARIES);
    expect(state.window.history.length).toBeLessThanOrEqual(64);
    expect(JSON.stringify(state).length).toBeLessThan(8_000);
  });

  it('is plain data: a copy through JSON gives the same forecasts', () => {
    const samples = passes([200, 200, 200, 150, 120]);
    const whole = run(samples, settings).forecasts.at(-1);
    const half = run(samples.slice(0, 3), settings).state;
    const revived = JSON.parse(JSON.stringify(half));
    const resumed = run(samples.slice(3), settings, 50, revived).forecasts.at(-1);
    expect(resumed).toEqual(whole);
  });

  it('is not changed by a step', () => {
    const { state } = run(passes([200, 200]), settings);
    const before = JSON.stringify(state);
    forecastStep(state, passes([200, 200, 200])[3] as ForecastSample, { settings });
    expect(JSON.stringify(state)).toBe(before);
  });

  it('follows pre-copy only: in post-copy the verdict is kept and the reason says so', () => {
    const samples = passes([200, 200, 200]);
    const last = samples.at(-1) as ForecastSample;
    const post = {
      ...last,
      atMs: last.atMs + 1000,
      iteration: last.iteration + 1,
      mode: 'post-copy' as const,
    };
    const f = run([...samples, post], settings).forecasts.at(-1);
    expect(f?.verdict).toBe('will-not-converge');
    expect(f?.atIterationBoundary).toBe(false);
    expect(f?.reason).toBe('the guest is post-copy: the forecast follows pre-copy only');
  });
});

describe('the downtime allowed now', () => {
  it("is QEMU's 300 ms until the monitor sets one", () => {
    const f = run(passes([10]), settings, () => undefined).forecasts.at(-1);
    expect(f?.allowedDowntimeMs).toBe(QEMU_DEFAULT_DOWNTIME_MS);
    expect(f?.verdict).toBe('converging'); // 10 MiB at 40 MiB/s = 250 ms ≤ 300 ms
  });
});

describe('bad input', () => {
  const ok = { atMs: 0, remainingBytes: 0, processedBytes: 0, iteration: 1 };
  it.each([
    ['sample.atMs', { ...ok, atMs: -1 }],
    ['sample.remainingBytes', { ...ok, remainingBytes: Number.NaN }],
    ['sample.processedBytes', { ...ok, processedBytes: '5' }],
    ['sample.iteration', { ...ok, iteration: 1.5 }],
    ['sample.bandwidthBytesPerSecond', { ...ok, bandwidthBytesPerSecond: -3 }],
    ['sample.dirtyPagesPerSecond', { ...ok, dirtyPagesPerSecond: Number.POSITIVE_INFINITY }],
    ['sample.pageSizeBytes', { ...ok, pageSizeBytes: 0 }],
    ['sample.throttlePercent', { ...ok, throttlePercent: 101 }],
  ])('%s is refused, naming the key and the value', (key, sample) => {
    const error = expectPolicyError(
      () => forecastStep(FORECAST_START, sample as ForecastSample, { settings }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe(key);
    expect(error.message).toMatch(new RegExp(`^${key.replace('.', '\\.')} is `));
  });

  it('refuses a sample that is not an object', () => {
    expect(
      expectPolicyError(() => forecastStep(FORECAST_START, null as never, { settings }), 'INVALID_ARGUMENT')
        .key,
    ).toBe('sample');
  });

  it('refuses a sample older than the last one', () => {
    const { state } = forecastStep(FORECAST_START, { ...ok, atMs: 5000 }, { settings });
    const error = expectPolicyError(
      () => forecastStep(state, { ...ok, atMs: 4999 }, { settings }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toBe(
      "sample.atMs is 4999, before the last sample's 5000: give samples in time order",
    );
  });

  it('refuses a downtime that is not a number of ms', () => {
    const error = expectPolicyError(
      () => forecastStep(FORECAST_START, ok, { settings, downtimeMs: -5 }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('downtimeMs');
  });
});

describe('options and settings', () => {
  it("defaults to KubeVirt's numbers", () => {
    expect(resolveForecastOptions()).toEqual({
      ewmaAlpha: 0.4,
      marginPercent: 4,
      windowMs: 40_000,
      patienceDecay: 0.5,
      confirmIterations: 2,
    });
    expect(resolveForecastOptions({})).toEqual(DEFAULT_FORECAST_OPTIONS);
  });

  it.each([
    [
      { ewmaAlpha: 0 },
      'forecast.ewmaAlpha',
      'forecast.ewmaAlpha is 0: give a number greater than 0 and at most 1',
    ],
    [{ ewmaAlpha: 1.5 }, 'forecast.ewmaAlpha', undefined],
    [
      { marginPercent: 60 },
      'forecast.marginPercent',
      'forecast.marginPercent is 60: give a number from 0 to 50 (percent)',
    ],
    [{ windowMs: 1.5 }, 'forecast.windowMs', undefined],
    [{ patienceDecay: 2 }, 'forecast.patienceDecay', undefined],
    [{ confirmIterations: 0 }, 'forecast.confirmIterations', undefined],
    [{ windowMS: 5 }, 'forecast.windowMS', undefined],
  ])('refuses %j', (options, key, message) => {
    expectInvalid(() => resolveForecastOptions(options as never), key, message);
  });

  it('refuses options that are not an object', () => {
    const error = expectPolicyError(() => resolveForecastOptions('fast' as never), 'INVALID_ARGUMENT');
    expect(error.message).toMatch(/^forecast is "fast": give an object with any of ewmaAlpha, marginPercent/);
  });

  it("takes the plan's schedule and timeout, and the throttle schedule only with auto-converge", () => {
    const plain = forecastSettings(planMigration(), 2);
    expect(plain.completionTimeoutMs).toBe(1_600_000);
    expect(plain.schedule).toEqual(downtimeSchedule(2));
    expect(plain.autoConverge).toBeUndefined();
    const ac = forecastSettings(
      planMigration({ host: { permitAutoConverge: true, completionTimeout: 0 } }),
      2,
      {
        autoConvergeInitial: 40,
        maxCpuThrottle: 90,
        measuredDirtyRateBytesPerSecond: 1e6,
      },
    );
    expect(ac.autoConverge).toEqual({ initialPercent: 40, incrementPercent: 10, maxPercent: 90 });
    expect(ac.completionTimeoutMs).toBeUndefined();
    expect(ac.measuredDirtyRateBytesPerSecond).toBe(1e6);
    expect(Object.isFrozen(ac)).toBe(true);
  });

  it.each([
    [{ autoConvergeInitial: 0 }, 'autoConvergeInitial'],
    [{ autoConvergeIncrement: 100 }, 'autoConvergeIncrement'],
    [{ maxCpuThrottle: 2.5 }, 'maxCpuThrottle'],
    [{ measuredDirtyRateBytesPerSecond: -1 }, 'measuredDirtyRateBytesPerSecond'],
  ])('refuses tuning %j', (tuning, key) => {
    const plan = planMigration({ host: { permitAutoConverge: true } });
    expect(expectPolicyError(() => forecastSettings(plan, 2, tuning), 'INVALID_ARGUMENT').key).toBe(key);
  });
});

describe('a sample from a progress report', () => {
  it('maps the job-stats fields and names their units', () => {
    expect(
      forecastSample({
        elapsedMs: 5000,
        mode: 'pre-copy',
        memoryRemaining: 1e8,
        memoryProcessed: 2e8,
        iteration: 2,
        bandwidth: 3e7,
        dirtyRate: 5000,
        throttle: 20,
        stats: { memoryPageSize: 4096 },
      }),
    ).toEqual({
      atMs: 5000,
      remainingBytes: 1e8,
      processedBytes: 2e8,
      iteration: 2,
      mode: 'pre-copy',
      bandwidthBytesPerSecond: 3e7,
      dirtyPagesPerSecond: 5000,
      throttlePercent: 20,
      pageSizeBytes: 4096,
    });
  });

  it('is undefined without the memory figures', () => {
    expect(forecastSample({ elapsedMs: 1, memoryRemaining: 1, memoryProcessed: 1 })).toBeUndefined();
    expect(forecastSample({ elapsedMs: 1, memoryRemaining: 1, iteration: 1 })).toBeUndefined();
    expect(forecastSample({ elapsedMs: 1, memoryProcessed: 1, iteration: 1 })).toBeUndefined();
  });

  it('gives what the documented example says', () => {
    expect(
      forecastSample({ elapsedMs: 5000, memoryRemaining: 1e8, memoryProcessed: 2e8, iteration: 2 }),
    ).toEqual({
      atMs: 5000,
      remainingBytes: 100000000,
      processedBytes: 200000000,
      iteration: 2,
      mode: 'pre-copy',
    });
  });
});

describe('the documented example of forecastStep', () => {
  it('says will-not-converge', () => {
    const s = forecastSettings(planMigration(), 2);
    let state = FORECAST_START;
    const at = (atMs: number, remainingBytes: number, processedBytes: number, iteration: number) => ({
      atMs,
      remainingBytes,
      processedBytes,
      iteration,
      bandwidthBytesPerSecond: 40e6,
      dirtyPagesPerSecond: 20_000,
    });
    for (const x of [
      at(1000, 300e6, 40e6, 1),
      at(8000, 200e6, 320e6, 2),
      at(13000, 200e6, 520e6, 3),
      at(18000, 200e6, 720e6, 4),
    ])
      ({ state } = forecastStep(state, x, { settings: s, downtimeMs: 50 }));
    expect(
      forecastStep(state, at(23000, 200e6, 920e6, 5), { settings: s, downtimeMs: 50 }).forecast.verdict,
    ).toBe('will-not-converge');
  });
});
