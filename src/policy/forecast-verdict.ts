/**
 * The convergence forecast's judgement of one pass boundary: converging, stalled or will-not-converge, from
 * the trend of the remaining bytes, the dirty rate against the bandwidth, the downtime schedule and
 * auto-converge's throttle still to come. Pure; used by `forecastStep` (forecast.ts).
 *
 * @module
 */
import { type DowntimeSchedule, downtimeAt } from './downtime.js';
import type { ForecastOptions, ForecastSettings } from './forecast-settings.js';
import { mib, mibps, millis, secs } from './units.js';

/** The forecast's verdict: will the pre-copy converge? */
export type ForecastVerdict = 'converging' | 'stalled' | 'will-not-converge';

/** One pass boundary as the forecast estimated it. */
export interface PassBoundary {
  /** The iteration that began here. */
  iteration: number;
  /** When the sync happened (estimated between two polls), ms. */
  atMs: number;
  /** The remaining bytes right after the sync: what the last pass left dirty. */
  remainingBytes: number;
  /** How long the pass that ended here took, ms. */
  passMs: number;
  throttlePercent: number;
}

/** The verdict in force, with what it rests on. */
export interface PublishedVerdict {
  verdict: ForecastVerdict;
  /** The iteration at which it was reached. */
  sinceIteration: number;
  /** The boundaries (their iterations) it rests on. */
  iterations: readonly number[];
  reason: string;
}

export function observedRate(boundaries: readonly PassBoundary[]): number | undefined {
  const b = boundaries.at(-1);
  return b && b.passMs > 0 ? (b.remainingBytes / b.passMs) * 1000 : undefined;
}

/**
 * The throttle (percent) at which a CPU-bound writer's rate, now `dirtyRate` at `throttle`, drops below
 * (1 − margin) × the bandwidth: a throttled vCPU runs (1 − throttle) of the time.
 */
export function throttleNeeded(
  dirtyRate: number,
  bandwidth: number,
  throttle: number,
  options: ForecastOptions,
): number {
  const unthrottled = dirtyRate / Math.max(0.01, 1 - throttle / 100);
  const needed = 100 * (1 - ((1 - options.marginPercent / 100) * bandwidth) / Math.max(unthrottled, 1));
  return Math.max(0, Math.ceil(needed));
}

/**
 * How long auto-converge takes from `throttle` to `needed` %: QEMU raises it once every two syncs whose period
 * dirtied more than half of what it sent (migration/ram.c `migration_trigger_throttle`), first to the initial
 * value, then by the increment; a sync comes at each pass's end, and at least every 5 s (cpu-throttle.c).
 */
export function throttleReachedInMs(
  ac: { initialPercent: number; incrementPercent: number },
  throttle: number,
  needed: number,
  passMs: number,
): number {
  if (needed <= throttle) return 0;
  const first = throttle === 0 ? 1 : 0;
  const from = throttle === 0 ? ac.initialPercent : throttle;
  const steps = first + Math.max(0, Math.ceil((needed - from) / ac.incrementPercent));
  return steps * 2 * Math.min(Math.max(passMs, 0), 5_000);
}

/** The largest downtime the schedule reaches before the completion timeout (or ever), never below now's. */
export function maxDowntimeBeforeTimeout(settings: ForecastSettings, allowedNow: number): number {
  const { schedule, completionTimeoutMs } = settings;
  if (schedule === undefined) return allowedNow;
  const last = Math.trunc(schedule.baseMs + schedule.offsetMs * schedule.steps);
  const atTimeout =
    completionTimeoutMs === undefined ? last : downtimeAt(schedule, completionTimeoutMs / 1000);
  return Math.max(allowedNow, atTimeout ?? allowedNow);
}

/** When (ms after the start) the schedule first allows `downtimeMs`, or `undefined` if it never does. */
function downtimeReachedAtMs(schedule: DowntimeSchedule, downtimeMs: number): number | undefined {
  const { baseMs, offsetMs, steps, delaySeconds } = schedule;
  let i = offsetMs > 0 ? Math.max(0, Math.ceil((downtimeMs - baseMs) / offsetMs)) : 0;
  while (i > 0 && Math.trunc(baseMs + offsetMs * (i - 1)) >= downtimeMs) i--;
  while (i <= steps && Math.trunc(baseMs + offsetMs * i) < downtimeMs) i++;
  if (i > steps) return undefined;
  return Math.trunc(delaySeconds * i) * 1000;
}

/** Boundaries the trend is measured over: a geometric mean of up to this many pass-to-pass ratios. */
const TREND_PASSES = 3;

/** How much a pass shrinks the remaining bytes, over the last {@link TREND_PASSES} passes at most. */
function trendOf(boundaries: readonly PassBoundary[]): { trend: number; from: PassBoundary } {
  const last = boundaries.at(-1) as PassBoundary;
  const k = Math.min(TREND_PASSES, boundaries.length - 1);
  const from = boundaries.at(-1 - k) as PassBoundary;
  const trend = from.remainingBytes > 0 ? (last.remainingBytes / from.remainingBytes) ** (1 / k) : 1;
  return { trend, from };
}

export interface Judgement {
  /** `undefined`: this boundary is no evidence either way. */
  verdict: ForecastVerdict | undefined;
  reason: string;
  iterations: number[];
  shrinkFactor: number | undefined;
  /** A fact, not a trend (the remaining bytes fit now): published without confirmation. */
  immediate: boolean;
}

/** The verdict one boundary supports, before confirmation; `undefined` when it cannot tell yet. */
export function judge(input: {
  boundaries: readonly PassBoundary[];
  bandwidth: number;
  dirtyRate: number | undefined;
  allowedDowntimeMs: number;
  maxDowntimeMs: number;
  settings: ForecastSettings;
  throttle: number;
  atMs: number;
}): Judgement | undefined {
  const { boundaries, bandwidth, allowedDowntimeMs, maxDowntimeMs, settings, throttle, atMs } = input;
  const options = settings.options;
  const b = boundaries.at(-1) as PassBoundary;
  const prev = boundaries.at(-2);
  const margin = options.marginPercent / 100;
  const fitsMs = (b.remainingBytes / bandwidth) * 1000;
  const dirtyRate = input.dirtyRate ?? observedRate(boundaries) ?? 0;
  const model = dirtyRate / bandwidth;
  const at = `at iteration ${b.iteration} the pass left ${mib(b.remainingBytes)} (${millis(fitsMs)} at ${mibps(bandwidth)})`;
  if (fitsMs <= allowedDowntimeMs) {
    return {
      verdict: 'converging',
      reason: `${at}, within the ${millis(allowedDowntimeMs)} allowed now: QEMU switches over`,
      iterations: [b.iteration],
      shrinkFactor: model,
      immediate: true,
    };
  }
  const timeout = settings.completionTimeoutMs;
  if (prev === undefined) {
    // One boundary shows no trend, and libvirt's rate over the first pass cannot be trusted to predict the
    // next: counted over a long pass, a page rewritten many times counts once. Only a rate measured before
    // the migration tells, and only that the passes will not shrink.
    const measured = settings.measuredDirtyRateBytesPerSecond;
    if (measured === undefined) return undefined;
    // The next pass lasts what this one left ÷ the bandwidth; the guest dirties at least
    // min(what it dirtied in the first pass, the measured rate × that time) meanwhile.
    const floor = Math.min(1, (measured * (1 - throttle / 100)) / bandwidth);
    if (floor < 1 - margin) return undefined;
    return stuckVerdict({
      evidence: `${at}; the guest was measured dirtying ${mibps(measured)} before the migration, at least the bandwidth`,
      f: floor,
      fitsMs,
      maxDowntimeMs,
      margin,
      settings,
      throttle,
      dirtyRate: Math.max(dirtyRate, measured * (1 - throttle / 100)),
      bandwidth,
      iterations: [b.iteration],
      atMs,
      passMs: b.passMs,
    });
  }
  const { trend, from } = trendOf(boundaries);
  const f = Math.max(trend, model);
  const iterations = boundaries.slice(-1 - TREND_PASSES).map((x) => x.iteration);
  const evidence = `${at}; ×${trend.toFixed(2)} a pass since iteration ${from.iteration} (${mib(from.remainingBytes)}), dirty rate ${mibps(dirtyRate)} ÷ bandwidth ${mibps(bandwidth)} = ${model.toFixed(2)}`;
  const shrinking = trend < 1 - margin && model < 1;
  const stuck = trend >= 1 - margin && model >= 1 - margin;
  if (!shrinking && !stuck) {
    // The boundaries and the rate disagree (a pass cut short, a rate from an older period): no new evidence.
    return {
      verdict: undefined,
      reason: `${evidence}: the passes and the dirty rate disagree`,
      iterations,
      shrinkFactor: f,
      immediate: false,
    };
  }
  if (shrinking) {
    const target = (bandwidth * maxDowntimeMs) / 1000;
    const passes = Math.max(1, Math.ceil(Math.log(target / b.remainingBytes) / Math.log(f)));
    const takesMs = (fitsMs * (1 - f ** passes)) / (1 - f);
    if (timeout !== undefined && atMs + takesMs > timeout) {
      return {
        verdict: 'will-not-converge',
        reason: `${evidence}: shrinking ×${f.toFixed(2)} a pass, it needs about ${passes} more passes (${secs(takesMs)}), past the completion timeout at ${secs(timeout)}`,
        iterations,
        shrinkFactor: f,
        immediate: false,
      };
    }
    return {
      verdict: 'converging',
      reason: `${evidence}: shrinking ×${f.toFixed(2)} a pass, it fits ${millis(maxDowntimeMs)} in about ${passes} more passes (${secs(takesMs)})`,
      iterations,
      shrinkFactor: f,
      immediate: false,
    };
  }
  return stuckVerdict({
    evidence,
    f,
    fitsMs,
    maxDowntimeMs,
    margin,
    settings,
    throttle,
    dirtyRate,
    bandwidth,
    iterations,
    atMs,
    passMs: b.passMs,
  });
}

/** The passes do not shrink: stalled if the schedule or the throttle still to come can change that. */
function stuckVerdict(input: {
  evidence: string;
  f: number;
  fitsMs: number;
  maxDowntimeMs: number;
  margin: number;
  settings: ForecastSettings;
  throttle: number;
  dirtyRate: number;
  bandwidth: number;
  iterations: number[];
  atMs: number;
  /** The last pass's duration: how often QEMU syncs, and so may raise the throttle. */
  passMs: number;
}): Judgement {
  const { evidence, f, fitsMs, maxDowntimeMs, margin, settings, throttle, dirtyRate, bandwidth, iterations } =
    input;
  const options = settings.options;
  const timeout = settings.completionTimeoutMs;
  const notShrinking = `${evidence}: the passes no longer shrink (×${f.toFixed(2)} ≥ ${(1 - margin).toFixed(2)})`;
  // What is still to come: a longer downtime on the schedule, a higher throttle.
  if (fitsMs <= maxDowntimeMs && settings.schedule !== undefined) {
    const when = downtimeReachedAtMs(settings.schedule, fitsMs);
    if (when !== undefined && (timeout === undefined || when < timeout)) {
      return {
        verdict: 'stalled',
        reason: `${notShrinking}, but it fits once the schedule allows ${millis(fitsMs)}, after ${secs(when)}`,
        iterations,
        shrinkFactor: f,
        immediate: false,
      };
    }
  }
  const ac = settings.autoConverge;
  if (ac !== undefined && throttle < ac.maxPercent) {
    const needed = throttleNeeded(dirtyRate, bandwidth, throttle, options);
    const reachMs = throttleReachedInMs(ac, throttle, needed, input.passMs);
    if (needed <= ac.maxPercent && (timeout === undefined || input.atMs + reachMs < timeout)) {
      return {
        verdict: 'stalled',
        reason: `${notShrinking}; auto-converge's throttle is ${throttle} % and a throttle of about ${needed} % (ceiling ${ac.maxPercent} %) would make them shrink, in about ${secs(reachMs)}`,
        iterations,
        shrinkFactor: f,
        immediate: false,
      };
    }
  }
  const throttleNote = ac === undefined ? '' : `, throttle ${throttle} % (ceiling ${ac.maxPercent} %)`;
  return {
    verdict: 'will-not-converge',
    reason: `${notShrinking}, and switching needs ${millis(fitsMs)} against at most ${millis(maxDowntimeMs)} allowed${timeout === undefined ? '' : ` before the completion timeout at ${secs(timeout)}`}${throttleNote}`,
    iterations,
    shrinkFactor: f,
    immediate: false,
  };
}
