/**
 * The "no progress over a sliding window" and "local minimum" rules of KubeVirt's stall detector (VEP 248,
 * `pkg/virt-launcher/virtwrap/stall-detector.go`, v1.9), re-derived here as a pure reducer over the
 * remaining bytes seen at iteration boundaries:
 * - a boundary is a record; records older than the window are folded into the smallest one seen outside it;
 * - no progress: the remaining bytes are not below (1 − margin) × that smallest record outside the window;
 * - once stalled, the best is the smallest record (inside or outside the window); a boundary is at a local
 *   minimum when its remaining bytes are within (1 + margin) × the best;
 * - when the best is not reached again within a patience (the window at first, times the decay after each
 *   relaxation), the next smallest value seen since the stall becomes the best.
 *
 * KubeVirt keeps a heap of every boundary since the stall; this keeps the {@link MAX_HISTORY} smallest, so the
 * state stays small over a migration of any length (the values beyond are never the next best before those).
 */

/** One iteration boundary: the remaining bytes at the start of a pass. */
export interface WindowRecord {
  atMs: number;
  remainingBytes: number;
  iteration: number;
}

/** The window's state, plain data. Start from {@link WINDOW_START}. */
export interface StallWindowState {
  /** Records inside the window that may still become the smallest outside it: oldest first, each smaller. */
  readonly candidates: readonly WindowRecord[];
  /** The smallest record that has left the window. */
  readonly outside?: WindowRecord;
  /** No progress was seen (it stays seen: KubeVirt never clears it). */
  readonly stalled: boolean;
  /** Since the stall: the remaining bytes a boundary must come back to (within the margin). */
  readonly bestRemainingBytes?: number;
  /** Since the stall: remaining bytes seen, smallest first (the next bests). */
  readonly history: readonly number[];
  readonly patienceMs: number;
  readonly deadlineMs: number;
}

/** The parameters of the window (see `ForecastOptions`). */
export interface WindowOptions {
  windowMs: number;
  /** Percent. */
  marginPercent: number;
  patienceDecay: number;
}

/** An empty window. */
export const WINDOW_START: StallWindowState = Object.freeze({
  candidates: Object.freeze([]) as readonly WindowRecord[],
  stalled: false,
  history: Object.freeze([]) as readonly number[],
  patienceMs: 0,
  deadlineMs: 0,
});

/** The most post-stall values kept. */
export const MAX_HISTORY = 64;

/** What one boundary told. */
export interface WindowStep {
  state: StallWindowState;
  /** The remaining bytes did not improve on the smallest record outside the window by the margin. */
  noProgress: boolean;
  /** Stalled (by the window or by `stallNow`) and within the margin of the best. */
  atLocalMinimum: boolean;
  /** The best the local minimum is measured against, once stalled. */
  bestRemainingBytes: number | undefined;
}

/**
 * Adds boundary `record`. `stallNow` declares the stall from other evidence (the forecast's own verdict),
 * as the window would after it filled: the local-minimum search starts at once.
 */
export function windowStep(
  state: StallWindowState,
  record: WindowRecord,
  options: WindowOptions,
  stallNow = false,
): WindowStep {
  const margin = options.marginPercent / 100;
  const { candidates, outside } = ageOut(state, record, options.windowMs);
  const noProgress = outside !== undefined && record.remainingBytes >= outside.remainingBytes * (1 - margin);
  let next: StallWindowState = { ...state, candidates, ...(outside ? { outside } : {}) };
  if (next.stalled) {
    next = relax(next, record, options.patienceDecay);
  } else if (noProgress || stallNow) {
    next = {
      ...next,
      stalled: true,
      bestRemainingBytes: smallest(outside, candidates, record),
      history: [],
      patienceMs: options.windowMs,
      deadlineMs: record.atMs + options.windowMs,
    };
  }
  const best = next.stalled ? next.bestRemainingBytes : undefined;
  return {
    state: next,
    noProgress,
    atLocalMinimum: best !== undefined && record.remainingBytes <= best * (1 + margin),
    bestRemainingBytes: best,
  };
}

/** Moves records older than the window out of it, then keeps `record` if it may still matter. */
function ageOut(
  state: StallWindowState,
  record: WindowRecord,
  windowMs: number,
): { candidates: WindowRecord[]; outside: WindowRecord | undefined } {
  let outside = state.outside;
  let first = 0;
  while (first < state.candidates.length) {
    const oldest = state.candidates[first] as WindowRecord;
    if (record.atMs - oldest.atMs < windowMs) break;
    if (outside === undefined || oldest.remainingBytes < outside.remainingBytes) outside = oldest;
    first++;
  }
  const candidates = state.candidates.slice(first);
  const last = candidates.at(-1);
  // A record above the smallest outside the window, or not below the newest candidate, can never be the
  // smallest outside it later: keep the candidates strictly decreasing.
  const useless =
    (outside !== undefined && record.remainingBytes > outside.remainingBytes) ||
    (last !== undefined && record.remainingBytes >= last.remainingBytes);
  if (!useless) candidates.push(record);
  return { candidates, outside };
}

function smallest(
  outside: WindowRecord | undefined,
  candidates: readonly WindowRecord[],
  record: WindowRecord,
): number {
  let best = outside?.remainingBytes ?? record.remainingBytes;
  for (const c of candidates) best = Math.min(best, c.remainingBytes);
  return best;
}

/** After the patience, the next smallest remaining bytes seen since the stall becomes the best. */
function relax(state: StallWindowState, record: WindowRecord, decay: number): StallWindowState {
  const history = insertSorted(state.history, record.remainingBytes);
  if (record.atMs < state.deadlineMs) return { ...state, history };
  const [next, ...rest] = history;
  const patienceMs = Math.trunc(state.patienceMs * decay);
  return {
    ...state,
    bestRemainingBytes: next,
    history: rest,
    patienceMs,
    deadlineMs: record.atMs + patienceMs,
  };
}

function insertSorted(values: readonly number[], value: number): number[] {
  const out = [...values];
  let at = out.findIndex((v) => v > value);
  if (at < 0) at = out.length;
  out.splice(at, 0, value);
  if (out.length > MAX_HISTORY) out.length = MAX_HISTORY;
  return out;
}
