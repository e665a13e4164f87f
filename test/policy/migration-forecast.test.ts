import { describe, expect, it } from 'vitest';
import { forecastMigration, type MigrationForecastInput, planMigration } from '../../src/policy/index.js';
import { expectPolicyError } from './helpers.js';

const MiB = 1024 * 1024;
// The lab's busy guest (bench/results/lab.json): 384 MiB, a 192 MiB buffer, ~230 MiB sent by the first pass.
const BUSY: MigrationForecastInput = {
  memoryBytes: 384 * MiB,
  workingSetBytes: 192 * MiB,
  firstPassBytes: 230 * MiB,
  dirtyRateBytesPerSecond: 70 * MiB,
  bandwidthBytesPerSecond: 35 * MiB,
};

describe('pre-copy', () => {
  it('sends what the last pass dirtied, and switches when it fits the downtime allowed then', () => {
    // 100 MiB at 100 MiB/s: 1 s; then 10 MiB (10 MiB/s × 1 s) in 0.1 s; then 1 MiB is left: 10 ms ≤ 50 ms.
    const f = forecastMigration({
      memoryBytes: 100 * MiB,
      dirtyRateBytesPerSecond: 10 * MiB,
      bandwidthBytesPerSecond: 100 * MiB,
    });
    expect(f.preCopy).toMatchObject({ converges: true, outcome: 'completed', passes: 2 });
    expect(f.preCopy.totalMs).toBeCloseTo(1000 + 100 + 10, 6);
    expect(f.preCopy.downtimeMs).toBeCloseTo(10, 6);
    expect(f.preCopy.reason).toBe(
      'after 2 passes (1.1 s) 1.0 MiB remain, 10 ms at 100.0 MiB/s, within the 50 ms allowed then',
    );
    expect(f.throttleNeededPercent).toBe(0);
  });

  it("switches at once under QEMU's 300 ms when the first pass leaves little", () => {
    const f = forecastMigration({
      memoryBytes: 10 * MiB,
      dirtyRateBytesPerSecond: 0,
      bandwidthBytesPerSecond: 10 * MiB,
    });
    expect(f.preCopy.passes).toBe(1);
    expect(f.preCopy.downtimeMs).toBe(0);
  });

  it('never sends more than the working set in a pass', () => {
    const f = forecastMigration(BUSY);
    expect(f.preCopy.outcome).toBe('aborted');
    expect(f.preCopy.converges).toBe(false);
    expect(f.preCopy.totalMs).toBe(1_600_000); // 800 s per GiB × 2 GiB
    expect(f.preCopy.reason).toMatch(/completion timeout fires at 1600\.0 s with \d+\.\d MiB left: aborted/);
    expect(f.throttleNeededPercent).toBe(50);
  });

  it('takes the downtime schedule into account: a longer step lets it switch later', () => {
    // A 60 MiB dirty set rewritten faster than it is sent: 600 ms at 100 MiB/s, more than the last step (500 ms).
    const rewritten = (workingSetMiB: number) =>
      forecastMigration({
        memoryBytes: 200 * MiB,
        workingSetBytes: workingSetMiB * MiB,
        dirtyRateBytesPerSecond: 1000 * MiB,
        bandwidthBytesPerSecond: 100 * MiB,
      });
    expect(rewritten(60).preCopy.converges).toBe(false);
    // 40 MiB: 400 ms, allowed from step 8 (410 ms) at 1200 s.
    const later = rewritten(40);
    expect(later.preCopy.converges).toBe(true);
    expect(later.preCopy.totalMs).toBeGreaterThan(1_200_000);
    expect(later.preCopy.totalMs).toBeLessThan(1_201_000);
    expect(later.preCopy.downtimeMs).toBeCloseTo(400, 6);
  });

  it('never ends when nothing stops it', () => {
    const f = forecastMigration({ ...BUSY, host: { completionTimeout: 0 } });
    expect(f.preCopy).toMatchObject({
      converges: false,
      outcome: 'never-ends',
      totalMs: Number.POSITIVE_INFINITY,
    });
    expect(f.preCopy.reason).toMatch(/no completion timeout ends it/);
  });

  it('pauses at the timeout with force_complete when post-copy is not effective', () => {
    const f = forecastMigration({
      ...BUSY,
      host: { timeoutAction: 'force_complete', completionTimeout: 10 },
    });
    expect(f.preCopy.outcome).toBe('paused-then-completed');
    expect(f.preCopy.converges).toBe(true);
    expect(f.preCopy.downtimeMs).toBeGreaterThan(1000);
    expect(f.preCopy.totalMs).toBeCloseTo(20_000 + (f.preCopy.downtimeMs as number), 6);
  });

  it('switches to post-copy at the timeout with force_complete when post-copy is effective', () => {
    const f = forecastMigration({
      ...BUSY,
      host: { timeoutAction: 'force_complete', completionTimeout: 10, permitPostCopy: true },
    });
    expect(f.preCopy.outcome).toBe('switched-to-post-copy');
    expect(f.preCopy.downtimeMs).toBe(10);
    expect(f.preCopy.postCopyMs).toBeGreaterThan(0);
  });
});

describe('auto-converge', () => {
  it('throttles every second sync by the increment until the passes shrink', () => {
    const f = forecastMigration(BUSY);
    expect(f.autoConverge.converges).toBe(true);
    expect(f.autoConverge.throttlePercent).toBeGreaterThanOrEqual(f.throttleNeededPercent);
    expect(f.autoConverge.throttlePercent % 10).toBe(0); // 20, then +10
    expect(f.autoConverge.throttledMs).toBeGreaterThan(0);
    expect(f.autoConverge.throttledMs).toBeLessThan(f.autoConverge.totalMs);
    // The lab measured 47.9 s (median of 3) for this guest on this link (bench/results/lab.json).
    expect(f.autoConverge.totalMs / 1000).toBeGreaterThan(47.9 * 0.75);
    expect(f.autoConverge.totalMs / 1000).toBeLessThan(47.9 * 1.25);
  });

  it('gets there sooner with a tuned schedule', () => {
    const tuned = forecastMigration({ ...BUSY, autoConverge: { initialPercent: 40, incrementPercent: 20 } });
    expect(tuned.autoConverge.totalMs).toBeLessThan(forecastMigration(BUSY).autoConverge.totalMs);
  });

  it('does not converge when the ceiling is too low', () => {
    const f = forecastMigration({
      ...BUSY,
      autoConverge: { maxPercent: 30 },
      host: { completionTimeout: 20 },
    });
    expect(f.autoConverge.converges).toBe(false);
    expect(f.autoConverge.throttlePercent).toBe(30);
  });

  it('never throttles a guest that dirties less than half the bandwidth', () => {
    const f = forecastMigration({
      memoryBytes: 100 * MiB,
      dirtyRateBytesPerSecond: 10 * MiB,
      bandwidthBytesPerSecond: 100 * MiB,
    });
    expect(f.autoConverge.throttlePercent).toBe(0);
    expect(f.autoConverge.totalMs).toBe(f.preCopy.totalMs);
  });
});

describe('post-copy after the first pass', () => {
  it('sends the first pass, then what was dirtied meanwhile once, while the guest runs on the destination', () => {
    const f = forecastMigration(BUSY);
    const first = (230 / 35) * 1000;
    const rest = (192 / 35) * 1000;
    expect(f.postCopy).toMatchObject({
      converges: true,
      outcome: 'switched-to-post-copy',
      passes: 1,
      downtimeMs: 10,
    });
    expect(f.postCopy.totalMs).toBeCloseTo(first + 10 + rest, 6);
    expect(f.postCopy.postCopyMs).toBeCloseTo(rest, 6);
    // 49,152 pages × 1 ms would be 49 s: the phase itself bounds the stall.
    expect(f.postCopy.faultStallMs).toBeCloseTo(rest, 6);
  });

  it('stalls the guest at most one fault per missing page', () => {
    const f = forecastMigration({ ...BUSY, faultLatencyMs: 0.01 });
    expect(f.postCopy.faultStallMs).toBeCloseTo(((192 * MiB) / 4096) * 0.01, 6);
  });

  it('counts the setup before the first byte', () => {
    const f = forecastMigration({ ...BUSY, setupMs: 3000 });
    expect(f.postCopy.totalMs - forecastMigration(BUSY).postCopy.totalMs).toBeCloseTo(3000, 6);
    expect(f.preCopy.totalMs).toBe(1_600_000);
  });
});

describe('the adaptive policy', () => {
  it('switches to post-copy at the first boundary when post-copy is effective', () => {
    const f = forecastMigration({ ...BUSY, host: { permitPostCopy: true } });
    expect(f.adaptive.outcome).toBe('switched-to-post-copy');
    expect(f.adaptive.totalMs).toBeCloseTo(f.postCopy.totalMs, 6);
    expect(f.adaptive.reason).toMatch(
      /^switched to post-copy at 6\.6 s, 5\.5 s more: will-not-converge since iteration 2/,
    );
    expect(f.assumptions.adaptivePolicy).toEqual({
      postCopy: true,
      autoConverge: false,
      explicitAutoConverge: false,
    });
  });

  it('aborts at the first boundary, not at the completion timeout, when neither feature is effective', () => {
    const f = forecastMigration(BUSY);
    expect(f.adaptive).toMatchObject({ outcome: 'aborted', converges: false });
    expect(f.adaptive.totalMs).toBeCloseTo((230 / 35) * 1000, 6);
    expect(f.adaptive.reason).toMatch(/instead of at the completion timeout \(1600\.0 s\)/);
  });

  it('pauses with force_complete', () => {
    const f = forecastMigration({ ...BUSY, host: { timeoutAction: 'force_complete' } });
    expect(f.adaptive.outcome).toBe('paused-then-completed');
    expect(f.adaptive.downtimeMs).toBeCloseTo((192 / 35) * 1000, 6);
  });

  it('lets auto-converge throttle, and never switches an explicit auto-converge request to post-copy', () => {
    const plan = planMigration({
      instance: { flavorExtraSpecs: { 'compute:live_migration_auto_converge': 'true' } },
      host: { permitPostCopy: true },
    });
    const f = forecastMigration({ ...BUSY, plan });
    expect(f.assumptions.adaptivePolicy).toEqual({
      postCopy: false,
      autoConverge: true,
      explicitAutoConverge: true,
    });
    expect(f.adaptive.outcome).toBe('completed');
    expect(f.adaptive.totalMs).toBe(f.autoConverge.totalMs);
  });

  it('changes nothing for a guest that converges', () => {
    const f = forecastMigration({
      memoryBytes: 100 * MiB,
      dirtyRateBytesPerSecond: 10 * MiB,
      bandwidthBytesPerSecond: 100 * MiB,
    });
    expect(f.adaptive.totalMs).toBe(f.preCopy.totalMs);
    expect(f.adaptive.outcome).toBe('completed');
  });

  it('takes the timeout action after the throttle peaked', () => {
    const f = forecastMigration({
      ...BUSY,
      host: { permitAutoConverge: true },
      autoConverge: { maxPercent: 30 },
    });
    expect(f.adaptive.outcome).toBe('aborted');
    expect(f.adaptive.reason).toMatch(/throttle is at its ceiling \(30 %\)/);
  });
});

describe('bad input', () => {
  it.each([
    ['memoryBytes', { memoryBytes: 0 }],
    ['dirtyRateBytesPerSecond', { dirtyRateBytesPerSecond: -1 }],
    ['bandwidthBytesPerSecond', { bandwidthBytesPerSecond: 0 }],
    ['workingSetBytes', { workingSetBytes: 500 * MiB }],
    ['firstPassBytes', { firstPassBytes: Number.NaN }],
    ['dataGb', { dataGb: 0 }],
    ['switchDowntimeMs', { switchDowntimeMs: -1 }],
    ['faultLatencyMs', { faultLatencyMs: '1' }],
    ['pageSizeBytes', { pageSizeBytes: 4096.5 }],
    ['setupMs', { setupMs: Number.POSITIVE_INFINITY }],
    ['autoConverge.initialPercent', { autoConverge: { initialPercent: 0 } }],
    ['autoConverge.maxPercent', { autoConverge: { maxPercent: 100 } }],
    ['autoConverge.ceiling', { autoConverge: { ceiling: 50 } }],
    ['forecastMigration.memory', { memory: 5 }],
  ])('%s is refused, naming it', (key, bad) => {
    const error = expectPolicyError(
      () => forecastMigration({ ...BUSY, ...bad } as never),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe(key);
  });

  it('names the range to give', () => {
    const error = expectPolicyError(
      () => forecastMigration({ ...BUSY, bandwidthBytesPerSecond: 0 }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toBe(
      'bandwidthBytesPerSecond is 0: give a number greater than 0 and at most 9223372036854776000 (bytes per second)',
    );
  });

  it('refuses a non-object', () => {
    expect(expectPolicyError(() => forecastMigration(null as never), 'INVALID_ARGUMENT').key).toBe(
      'forecastMigration',
    );
  });

  it('takes a bad host config through the host validation', () => {
    expect(
      expectPolicyError(() => forecastMigration({ ...BUSY, host: { downtime: 5 } }), 'INVALID_HOST_CONFIG')
        .key,
    ).toBe('live_migration_downtime');
  });
});

describe('the documented example', () => {
  it('gives what its comments say', () => {
    const f = forecastMigration({ ...BUSY, host: { permitPostCopy: true } });
    expect(f.preCopy.converges).toBe(false);
    expect(Math.round(f.postCopy.totalMs / 100) * 100).toBe(12_100);
    expect(f.adaptive.outcome).toBe('switched-to-post-copy');
    expect(f.adaptive.passes).toBe(1);
  });
});
