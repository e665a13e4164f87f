import { describe, expect, it } from 'vitest';
import { adaptiveSwitchover, type Forecast, type SwitchoverPolicy } from '../../src/policy/index.js';

const MiB = 1024 * 1024;
const forecast = (verdict: Forecast['verdict']): Parameters<typeof adaptiveSwitchover>[0] => ({
  verdict,
  reason: `${verdict} since iteration 3: the numbers`,
  remainingBytes: 200 * MiB,
  bestRemainingBytes: 190 * MiB,
  expectedDowntimeMs: 5_000,
  throttlePercent: 40,
});
const policy = (over: Partial<SwitchoverPolicy> = {}): SwitchoverPolicy => ({
  postCopyEffective: false,
  autoConverge: false,
  explicitAutoConverge: false,
  throttleAtCeiling: false,
  timeoutAction: 'abort',
  atIterationBoundary: true,
  atLocalMinimum: true,
  ...over,
});
const decide = (v: Forecast['verdict'], over: Partial<SwitchoverPolicy> = {}) =>
  adaptiveSwitchover(forecast(v), policy(over));

describe('the adaptive switchover', () => {
  it.each([['converging'], ['stalled'], [undefined]] as const)(
    'does nothing while the forecast says %s',
    (v) => {
      const d = decide(v, { postCopyEffective: true });
      expect(d.decision).toBe('none');
      expect(d.reason).toBe(forecast(v).reason);
    },
  );

  it('waits for an iteration boundary', () => {
    const d = decide('will-not-converge', { postCopyEffective: true, atIterationBoundary: false });
    expect(d).toEqual({
      decision: 'none',
      reason: `${forecast('will-not-converge').reason}; waiting for an iteration boundary`,
    });
  });

  it('waits for a local minimum, and says how far it is', () => {
    const d = decide('will-not-converge', { postCopyEffective: true, atLocalMinimum: false });
    expect(d.decision).toBe('none');
    expect(d.reason).toMatch(/waiting for a local minimum \(200\.0 MiB remaining, best 190\.0 MiB\)$/);
    const noBest = adaptiveSwitchover(
      { ...forecast('will-not-converge'), bestRemainingBytes: undefined },
      policy({ atLocalMinimum: false }),
    );
    expect(noBest.reason).toMatch(/\(200\.0 MiB remaining\)$/);
  });

  it('switches to post-copy when post-copy is effective, with the forecast in the reason', () => {
    const d = decide('will-not-converge', { postCopyEffective: true });
    expect(d.decision).toBe('switch-to-post-copy');
    expect(d.reason).toBe(
      'will-not-converge since iteration 3: the numbers; at a local minimum (200.0 MiB remaining, 5000 ms to switch): switching to post-copy, effective for this instance',
    );
  });

  it('never turns an explicit auto-converge request into post-copy', () => {
    const d = decide('will-not-converge', {
      postCopyEffective: true,
      autoConverge: true,
      explicitAutoConverge: true,
    });
    expect(d.decision).toBe('keep-throttling');
    const peaked = decide('will-not-converge', {
      postCopyEffective: true,
      autoConverge: true,
      explicitAutoConverge: true,
      throttleAtCeiling: true,
    });
    expect(peaked.decision).toBe('abort');
  });

  it('keeps throttling while auto-converge is below its ceiling', () => {
    const d = decide('will-not-converge', { autoConverge: true });
    expect(d.decision).toBe('keep-throttling');
    expect(d.reason).toMatch(/auto-converge's throttle \(40 %\) is below its ceiling, it keeps throttling$/);
  });

  it.each([
    ['abort', 'abort', /live_migration_timeout_action abort: aborting now$/],
    [
      'force_complete',
      'pause',
      /live_migration_timeout_action force_complete: pausing the guest so the copy completes$/,
    ],
  ] as const)('takes the timeout action %s once the throttle peaked', (timeoutAction, decision, reason) => {
    const d = decide('will-not-converge', { autoConverge: true, throttleAtCeiling: true, timeoutAction });
    expect(d.decision).toBe(decision);
    expect(d.reason).toMatch(/auto-converge's throttle is at its ceiling \(40 %\)/);
    expect(d.reason).toMatch(reason);
  });

  it('takes the timeout action when neither feature is effective, never post-copy', () => {
    const abort = decide('will-not-converge');
    expect(abort.decision).toBe('abort');
    expect(abort.reason).toMatch(/neither post-copy nor auto-converge is effective for this instance/);
    expect(decide('will-not-converge', { timeoutAction: 'force_complete' }).decision).toBe('pause');
  });

  it('leaves the switch time out of the reason when the bandwidth is unknown', () => {
    const d = adaptiveSwitchover(
      { ...forecast('will-not-converge'), expectedDowntimeMs: undefined },
      policy({ postCopyEffective: true }),
    );
    expect(d.reason).toMatch(/at a local minimum \(200\.0 MiB remaining\): switching/);
  });
});
