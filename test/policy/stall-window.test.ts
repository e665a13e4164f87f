// The cases of KubeVirt's stall detector (pkg/virt-launcher/virtwrap/live-migration-source_test.go, "Migration
// monitor stall detector"), re-stated against this reducer: window 25 s, margin 4 %, patience decay 0.5.
import { describe, expect, it } from 'vitest';
import {
  MAX_HISTORY,
  type StallWindowState,
  WINDOW_START,
  type WindowOptions,
  type WindowRecord,
  windowStep,
} from '../../src/policy/stall-window.js';

const OPTIONS: WindowOptions = { windowMs: 25_000, marginPercent: 4, patienceDecay: 0.5 };
const rec = (atMs: number, remainingBytes: number, iteration = 1): WindowRecord => ({
  atMs,
  remainingBytes,
  iteration,
});

function feed(records: WindowRecord[], options = OPTIONS, from: StallWindowState = WINDOW_START) {
  let state = from;
  let last: ReturnType<typeof windowStep> | undefined;
  for (const r of records) {
    last = windowStep(state, r, options);
    state = last.state;
  }
  return { state, last: last as ReturnType<typeof windowStep> };
}

const remaining = (state: StallWindowState) => state.candidates.map((c) => c.remainingBytes);

describe('the sliding window of remaining bytes', () => {
  it('ages records out into the smallest one outside the window', () => {
    let { state } = feed([rec(0, 500), rec(5_000, 400), rec(10_000, 300)]);
    expect(remaining(state)).toEqual([500, 400, 300]);
    expect(state.outside).toBeUndefined();
    ({ state } = feed([rec(30_000, 200)], OPTIONS, state));
    expect(remaining(state)).toEqual([300, 200]);
    expect(state.outside?.remainingBytes).toBe(400);
    ({ state } = feed([rec(60_000, 100)], OPTIONS, state));
    expect(remaining(state)).toEqual([100]);
    expect(state.outside?.remainingBytes).toBe(200);
  });

  it('keeps a record only if it can still become the smallest outside the window', () => {
    const outside = { ...WINDOW_START, outside: rec(0, 100) };
    let { state } = feed([rec(10_000, 110)], OPTIONS, outside);
    expect(state.candidates).toEqual([]);
    ({ state } = feed([rec(10_000, 95)], OPTIONS, state));
    expect(remaining(state)).toEqual([95]);
    ({ state } = feed([rec(0, 100), rec(1_000, 150)]));
    expect(remaining(state)).toEqual([100]);
  });

  it('ages a record out exactly when it is as old as the window', () => {
    const { state } = feed([rec(0, 500), rec(24_999, 400)]);
    expect(state.outside).toBeUndefined();
    expect(feed([rec(25_000, 300)], OPTIONS, state).state.outside?.remainingBytes).toBe(500);
  });
});

describe('no progress', () => {
  const outside = (bytes: number): StallWindowState => ({ ...WINDOW_START, outside: rec(0, bytes) });

  it('is not judged before a record has left the window', () => {
    const { last } = feed([rec(0, 100), rec(1_000, 100)]);
    expect(last.noProgress).toBe(false);
    expect(last.state.stalled).toBe(false);
  });

  it('holds when the remaining bytes are not below (1 − margin) × the smallest outside the window', () => {
    expect(windowStep(outside(1000), rec(100, 900), OPTIONS).noProgress).toBe(false); // threshold 960
    expect(windowStep(outside(1000), rec(100, 970), OPTIONS).noProgress).toBe(true);
    expect(windowStep(outside(1000), rec(100, 960), OPTIONS).noProgress).toBe(true);
  });

  it('uses the configured margin', () => {
    expect(windowStep(outside(1000), rec(100, 955), { ...OPTIONS, marginPercent: 10 }).noProgress).toBe(true);
    expect(windowStep(outside(1000), rec(100, 955), OPTIONS).noProgress).toBe(false);
  });

  it('starts the stall with the smallest record seen, inside the window or out of it', () => {
    const first = windowStep(outside(1000), rec(100, 1000), OPTIONS);
    expect(first.state.stalled).toBe(true);
    expect(first.bestRemainingBytes).toBe(1000);
    expect(first.atLocalMinimum).toBe(true);
    const withCandidate = windowStep({ ...outside(500), candidates: [rec(10, 400)] }, rec(100, 600), OPTIONS);
    expect(withCandidate.bestRemainingBytes).toBe(400);
    expect(withCandidate.state.deadlineMs).toBe(100 + OPTIONS.windowMs);
    expect(withCandidate.state.patienceMs).toBe(OPTIONS.windowMs);
  });

  it('is found on the next boundary with a window of 0', () => {
    const { last } = feed([rec(0, 1000), rec(1, 1000)], { ...OPTIONS, windowMs: 0 });
    expect(last.noProgress).toBe(true);
    expect(last.state.stalled).toBe(true);
    expect(last.state.deadlineMs).toBe(1);
  });

  it('can be declared by other evidence before the window fills', () => {
    const step = windowStep(WINDOW_START, rec(100, 700), OPTIONS, true);
    expect(step.noProgress).toBe(false);
    expect(step.state.stalled).toBe(true);
    expect(step.bestRemainingBytes).toBe(700);
    expect(step.atLocalMinimum).toBe(true);
  });
});

describe('the local minimum after a stall', () => {
  const stalled = (best: number, deadlineMs = 25_000, patienceMs = 25_000): StallWindowState => ({
    ...WINDOW_START,
    stalled: true,
    bestRemainingBytes: best,
    patienceMs,
    deadlineMs,
  });

  it('is a boundary within (1 + margin) × the best', () => {
    expect(windowStep(stalled(100), rec(1_000, 105), OPTIONS).atLocalMinimum).toBe(false); // target 104
    expect(windowStep(stalled(100), rec(1_000, 104), OPTIONS).atLocalMinimum).toBe(true);
  });

  it('relaxes the best to the next smallest value seen, each wait half the last', () => {
    let { state } = feed([rec(0, 300), rec(0, 500), rec(0, 200), rec(0, 600)], OPTIONS, stalled(100));
    const at = (atMs: number) => {
      ({ state } = feed([rec(atMs, 9_999)], OPTIONS, state));
      return [state.bestRemainingBytes, state.patienceMs];
    };
    expect(at(10_000)).toEqual([100, 25_000]); // before the deadline
    expect(at(25_000)).toEqual([200, 12_500]);
    expect(at(37_500)).toEqual([300, 6_250]);
    expect(at(43_750)).toEqual([500, 3_125]);
    expect(at(50_000)).toEqual([600, 1_562]);
  });

  it('relaxes at every boundary once the patience is spent', () => {
    let { state } = feed([rec(0, 200), rec(100, 300), rec(200, 400)], OPTIONS, stalled(100, 1_000, 1_000));
    expect(state.bestRemainingBytes).toBe(100);
    state = { ...state, patienceMs: 1, deadlineMs: 0 };
    ({ state } = feed([rec(300, 999)], OPTIONS, state));
    expect([state.bestRemainingBytes, state.patienceMs]).toEqual([200, 0]);
    ({ state } = feed([rec(301, 999)], OPTIONS, state));
    expect(state.bestRemainingBytes).toBe(300);
    ({ state } = feed([rec(302, 999)], OPTIONS, state));
    expect(state.bestRemainingBytes).toBe(400);
  });

  it('reaches a local minimum once the best has relaxed to the current level', () => {
    let state = stalled(100);
    expect(windowStep(state, rec(0, 200), OPTIONS).atLocalMinimum).toBe(false);
    ({ state } = feed([rec(1_000, 200), rec(5_000, 300)], OPTIONS, state));
    expect(state.bestRemainingBytes).toBe(100);
    const relaxed = windowStep(state, rec(25_000, 400), OPTIONS);
    expect(relaxed.bestRemainingBytes).toBe(200);
    expect(windowStep(relaxed.state, rec(25_100, 200), OPTIONS).atLocalMinimum).toBe(true);
  });

  it('keeps only the smallest values seen since the stall', () => {
    const records = Array.from({ length: MAX_HISTORY + 20 }, (_, i) => rec(i, 1_000 + i));
    const { state } = feed(records, OPTIONS, stalled(100, 1e9));
    expect(state.history).toHaveLength(MAX_HISTORY);
    expect(state.history[0]).toBe(1_000);
    expect(state.history.at(-1)).toBe(1_000 + MAX_HISTORY - 1);
  });

  it('is never reported before a stall', () => {
    const { last } = feed([rec(0, 500), rec(1_000, 500)]);
    expect(last.atLocalMinimum).toBe(false);
    expect(last.bestRemainingBytes).toBeUndefined();
  });
});
