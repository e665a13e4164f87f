// The forecast on recorded migrations (test/policy/fixtures, recorded in the lab by bench/forecast-fixtures.ts
// through migrate() and its progress events; QEMU 10.0.2, libvirt 9.0, TCG, a link shaped to about half the busy
// guest's write rate). Each is replayed as the job polled it (every 250 ms) and as the default 1 s poll would
// have seen it.
import { describe, expect, it } from 'vitest';
import {
  adaptiveSwitchover,
  type Forecast,
  type ForecastSample,
  forecastSettings,
  planMigration,
  type SwitchoverDecision,
} from '../../src/policy/index.js';
import { every, type Fixture, fixture, run } from './forecast-helpers.js';

function replay(fx: Fixture, options: { pollMs?: number; measured?: boolean } = {}) {
  const plan = planMigration({ host: fx.host, libvirtVersion: '9.0.0', qemuVersion: '10.0.2' });
  const measured = fx.dirtyRate.consolePagesPerSecondBefore;
  const settings = forecastSettings({ ...plan, autoConverge: fx.plan.autoConverge }, fx.dataGb, {
    ...(options.measured && measured ? { measuredDirtyRateBytesPerSecond: measured * 4096 } : {}),
  });
  const samples = options.pollMs ? every(fx.samples, options.pollMs) : fx.samples;
  const downtime = (s: ForecastSample) => (s as { downtimeMs?: number | null }).downtimeMs ?? undefined;
  return run(samples, settings, downtime).forecasts;
}

/** The verdict after each boundary, with consecutive repeats folded: a list of what it said, in order. */
const sequence = (forecasts: readonly Forecast[]) =>
  forecasts.reduce<(string | undefined)[]>((out, f) => {
    if (out.length === 0 || out.at(-1) !== f.verdict) out.push(f.verdict);
    return out;
  }, []);

const firstIteration = (forecasts: readonly Forecast[], verdict: string) =>
  forecasts.find((f) => f.verdict === verdict)?.iteration;

const decisions = (fx: Fixture, forecasts: readonly Forecast[]) =>
  forecasts.map(
    (f): SwitchoverDecision =>
      adaptiveSwitchover(f, {
        postCopyEffective: fx.plan.postCopy,
        autoConverge: fx.plan.autoConverge,
        explicitAutoConverge: fx.plan.autoConverge,
        throttleAtCeiling: f.throttleAtCeiling,
        timeoutAction: 'abort',
        atIterationBoundary: f.atIterationBoundary,
        atLocalMinimum: f.atLocalMinimum,
      }).decision,
  );

describe('a busy guest, plain pre-copy, on a link half its write rate (aborted by the completion timeout)', () => {
  const fx = fixture('busy-pre-copy');

  it('was recorded as such', () => {
    expect(fx.outcome.status).toBe('cancelled');
    expect(fx.outcome.guest).toBe('source');
    expect(fx.plan.flagNames).not.toContain('AUTO_CONVERGE');
    expect(fx.plan.flagNames).not.toContain('POSTCOPY');
  });

  it.each([
    [250, 3],
    [1000, 4],
  ])(
    'is will-not-converge early and never anything else after (poll %i ms: from iteration %i)',
    (poll, iteration) => {
      const forecasts = replay(fx, { pollMs: poll });
      expect(sequence(forecasts)).toEqual([undefined, 'will-not-converge']);
      expect(firstIteration(forecasts, 'will-not-converge')).toBe(iteration);
      const abortAt = fx.outcome.steering.find((s) => s.action === 'abort')?.atMs as number;
      const at = forecasts.find((f) => f.verdict === 'will-not-converge')?.atMs as number;
      // 42.6 s (49.2 s at a 1 s poll), against the completion timeout's abort at 76 s.
      expect(at).toBeLessThan(abortAt * 0.7);
    },
  );

  it('is will-not-converge at the first boundary with the write rate measured before', () => {
    const forecasts = replay(fx, { measured: true });
    expect(sequence(forecasts)).toEqual([undefined, 'will-not-converge']);
    expect(firstIteration(forecasts, 'will-not-converge')).toBe(2);
  });

  it('would have the adaptive switchover abort at that boundary (post-copy and auto-converge off)', () => {
    const forecasts = replay(fx);
    const i = decisions(fx, forecasts).indexOf('abort');
    expect(forecasts[i]?.iteration).toBe(3);
    expect(forecasts[i]?.atIterationBoundary).toBe(true);
  });
});

describe('the same guest switched to post-copy after four passes', () => {
  const fx = fixture('busy-post-copy');

  it('was recorded as such', () => {
    expect(fx.outcome.status).toBe('completed');
    expect(fx.plan.flagNames).toContain('POSTCOPY');
    expect(fx.samples.some((s) => s.mode === 'post-copy')).toBe(true);
  });

  it('is will-not-converge before the switch, and keeps it through the post-copy phase', () => {
    for (const poll of [250, 1000]) {
      const forecasts = replay(fx, { pollMs: poll });
      expect(sequence(forecasts)).toEqual([undefined, 'will-not-converge']);
      expect(firstIteration(forecasts, 'will-not-converge')).toBe(3);
      expect(forecasts.at(-1)?.reason).toMatch(/the forecast follows pre-copy only/);
    }
  });

  it('would have the adaptive switchover switch to post-copy at iteration 3, not abort', () => {
    const forecasts = replay(fx);
    const d = decisions(fx, forecasts);
    expect(d).not.toContain('abort');
    expect(forecasts[d.indexOf('switch-to-post-copy')]?.iteration).toBe(3);
  });
});

describe('the same guest with auto-converge (it converged)', () => {
  const fx = fixture('busy-auto-converge');

  it('was recorded as such', () => {
    expect(fx.outcome.status).toBe('completed');
    expect(fx.plan.flagNames).toContain('AUTO_CONVERGE');
    expect(Math.max(...fx.samples.map((s) => s.throttlePercent ?? 0))).toBeGreaterThanOrEqual(50);
  });

  it('is never will-not-converge, and ends converging', () => {
    for (const poll of [250, 1000]) {
      const forecasts = replay(fx, { pollMs: poll });
      expect(forecasts.map((f) => f.verdict)).not.toContain('will-not-converge');
      expect(sequence(forecasts).slice(0, 2)).toEqual([undefined, 'converging']);
      expect(forecasts.at(-1)?.verdict).toBe('converging');
      expect(decisions(fx, forecasts).every((d) => d === 'none')).toBe(true);
    }
  });

  it('calls the passes that stopped shrinking at 30 % throttle stalled, waiting for the throttle (1 s poll)', () => {
    const forecasts = replay(fx, { pollMs: 1000 });
    expect(sequence(forecasts)).toEqual([undefined, 'converging', 'stalled', 'converging']);
    const stalled = forecasts.find((f) => f.verdict === 'stalled');
    expect(stalled?.reason).toMatch(/auto-converge's throttle is 30 % and a throttle of about 33 %/);
  });
});

describe('a lightly writing guest (pre-copy converged over ten passes)', () => {
  const fx = fixture('light');

  it('is converging from the second boundary on, nothing else', () => {
    for (const poll of [250, 1000]) {
      const forecasts = replay(fx, { pollMs: poll });
      expect(sequence(forecasts)).toEqual([undefined, 'converging']);
      expect(firstIteration(forecasts, 'converging')).toBe(3);
    }
  });
});

describe('an idle guest', () => {
  const fx = fixture('idle');

  it('was recorded as such', () => {
    expect(fx.outcome.status).toBe('completed');
    expect(fx.dirtyRate.libvirtPagesPerSecondFromIteration3).toBeLessThan(50);
  });

  it('is converging once its first pass ended, and never stalled or will-not-converge', () => {
    const forecasts = replay(fx);
    expect(sequence(forecasts)).toEqual([undefined, 'converging']);
    expect(forecasts.at(-1)?.reason).toMatch(/QEMU switches over/);
    expect(decisions(fx, forecasts).every((d) => d === 'none')).toBe(true);
  });
});
