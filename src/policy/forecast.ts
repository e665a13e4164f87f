/**
 * The convergence forecast of a running pre-copy migration, as a pure reducer over job-stats samples: the
 * job keeps {@link ForecastState} in its own state value and calls {@link forecastStep} on every poll.
 *
 * What it reads, and why:
 * - QEMU counts an *iteration* at every dirty-bitmap sync (`memory_iteration` is QEMU's `dirty-sync-count`):
 *   the end of each pass, and — with auto-converge on QEMU 10 — a sync every 5 s of a longer pass
 *   (migration/cpu-throttle.c, `cpu_throttle_dirty_sync_timer_tick`). Right after a sync, the remaining
 *   bytes are the pages dirtied since the last one: the evidence the verdict rests on. A poll sees a sync a
 *   little late; the bytes sent since it (the processed bytes beyond what the last pass had left) are added
 *   back.
 * - QEMU switches over when the remaining bytes fit the allowed downtime at the measured bandwidth
 *   (migration.c `migration_iteration_run`: pending < `threshold_size` = bandwidth × `downtime-limit`). So
 *   a migration converges when the remaining bytes at the boundaries shrink towards bandwidth × downtime,
 *   and never does when they stop shrinking above it — unless the downtime schedule (Nova's steps) or
 *   auto-converge's throttle will still change the balance.
 * - `memory_dirty_rate` is QEMU's `dirty-pages-rate`: pages newly dirtied since the last rate update
 *   (at least 1 s) per second (migration/ram.c `migration_update_rates`), times `memory_page_size`.
 *   `memory_bps` is QEMU's `mbps` over its last ~100 ms window, ×125,000 (libvirt
 *   `qemuMonitorJSONGetMigrationStatsReply`): noisy, hence the smoothed bandwidth (an EWMA, KubeVirt's α 0.4).
 * - auto-converge (migration/ram.c `migration_trigger_throttle`, `mig_throttle_guest_down`): at every
 *   second sync whose period dirtied more than half of what it sent, the vCPU throttle starts at
 *   `cpu-throttle-initial` (libvirt `auto_converge.initial`, default 20 %) and then grows by
 *   `cpu-throttle-increment` (default 10 %) up to `max-cpu-throttle` (default 99 %); a throttled vCPU runs
 *   (1 − throttle) of the time, so a CPU-bound writer dirties that much less.
 *
 * Prior art: KubeVirt's stall detector (VEP 248), ported in stall-window.ts; this goes beyond it by
 * forecasting (a verdict before the window fills, from the rate against the bandwidth), by accounting for
 * the downtime schedule and the throttle still to come, and by confirming a change of verdict over
 * iterations so that it does not flap.
 *
 * @module
 */
import { MigrationPolicyError } from '../errors.js';
import {
  type ForecastOptions,
  type ForecastSettings,
  QEMU_DEFAULT_DOWNTIME_MS,
} from './forecast-settings.js';
import {
  type ForecastVerdict,
  type Judgement,
  judge,
  maxDowntimeBeforeTimeout,
  observedRate,
  type PassBoundary,
  type PublishedVerdict,
  throttleNeeded,
} from './forecast-verdict.js';
import { checkNumber, checkOptional } from './numbers.js';
import { quote } from './quote.js';
import { type StallWindowState, WINDOW_START, windowStep } from './stall-window.js';
import { mib, secs } from './units.js';

/** One job-stats sample, in named units. Map a job's progress report with {@link forecastSample}. */
export interface ForecastSample {
  /** When, in ms since the migration started (the downtime schedule is read at `atMs / 1000` s). */
  atMs: number;
  /** `memory_remaining`. */
  remainingBytes: number;
  /** `memory_processed`. */
  processedBytes: number;
  /** `memory_iteration`: QEMU's dirty-bitmap syncs, 1 during the first pass. */
  iteration: number;
  /** `memory_bps`; absent or 0 when libvirt has none yet. */
  bandwidthBytesPerSecond?: number;
  /** `memory_dirty_rate`, pages per second. */
  dirtyPagesPerSecond?: number;
  /** `memory_page_size`; default 4096. */
  pageSizeBytes?: number;
  /** `auto_converge_throttle`; default 0. */
  throttlePercent?: number;
  /** What the guest is doing; the forecast only follows `pre-copy` (the default). */
  mode?: 'pre-copy' | 'post-copy' | 'paused-by-force-complete';
}

/**
 * What {@link forecastSample} reads: a job's progress report (`MigrationProgress`) has this shape.
 */
export interface ProgressLike {
  elapsedMs: number;
  mode?: ForecastSample['mode'];
  memoryRemaining?: number;
  memoryProcessed?: number;
  iteration?: number;
  bandwidth?: number;
  dirtyRate?: number;
  throttle?: number;
  stats?: { memoryPageSize?: number };
}

/**
 * The forecast's sample from a job's progress report, or `undefined` when libvirt gave no memory figures
 * (before the copy starts, or after it ended).
 *
 * @example
 * ```ts
 * forecastSample({ elapsedMs: 5000, memoryRemaining: 1e8, memoryProcessed: 2e8, iteration: 2 });
 * // { atMs: 5000, remainingBytes: 100000000, processedBytes: 200000000, iteration: 2, mode: 'pre-copy' }
 * ```
 */
export function forecastSample(progress: ProgressLike): ForecastSample | undefined {
  const { memoryRemaining, memoryProcessed, iteration } = progress;
  if (memoryRemaining === undefined || memoryProcessed === undefined || iteration === undefined)
    return undefined;
  return {
    atMs: progress.elapsedMs,
    remainingBytes: memoryRemaining,
    processedBytes: memoryProcessed,
    iteration,
    mode: progress.mode ?? 'pre-copy',
    ...(progress.bandwidth === undefined ? {} : { bandwidthBytesPerSecond: progress.bandwidth }),
    ...(progress.dirtyRate === undefined ? {} : { dirtyPagesPerSecond: progress.dirtyRate }),
    ...(progress.throttle === undefined ? {} : { throttlePercent: progress.throttle }),
    ...(progress.stats?.memoryPageSize === undefined ? {} : { pageSizeBytes: progress.stats.memoryPageSize }),
  };
}

/** The forecast's memory between samples: plain data, to keep in the job's state. Start from {@link FORECAST_START}. */
export interface ForecastState {
  readonly last?: {
    readonly atMs: number;
    readonly remainingBytes: number;
    readonly processedBytes: number;
    readonly iteration: number;
  };
  /** The smoothed bandwidth, bytes/s. */
  readonly bandwidthBytesPerSecond?: number;
  /** libvirt's last non-zero dirty rate, bytes/s. */
  readonly dirtyRateBytesPerSecond?: number;
  /** The boundaries since the first pass ended, newest last, at most {@link MAX_BOUNDARIES}. */
  readonly boundaries: readonly PassBoundary[];
  readonly window: StallWindowState;
  readonly published?: PublishedVerdict;
  /** A different verdict seen at the last boundaries, not yet confirmed. */
  readonly pending?: { readonly verdict: ForecastVerdict; readonly count: number };
  /** The smallest remaining bytes seen at a boundary. */
  readonly minRemainingBytes?: number;
}

/** The most boundaries the state keeps. */
export const MAX_BOUNDARIES = 8;

/**
 * An empty forecast state.
 *
 * @example
 * ```ts
 * let state = FORECAST_START; // then: ({ state } = forecastStep(state, sample, context))
 * ```
 */
export const FORECAST_START: ForecastState = Object.freeze({
  boundaries: Object.freeze([]) as readonly PassBoundary[],
  window: WINDOW_START,
});

/** What changes from one tick to the next. */
export interface ForecastContext {
  settings: ForecastSettings;
  /** The maximum downtime in force now (what the monitor last set), ms; default QEMU's 300. */
  downtimeMs?: number;
}

/** The forecast after one sample. Every size in bytes, every rate in bytes/s, every time in ms. */
export interface Forecast {
  atMs: number;
  iteration: number;
  /** This sample is the first of a new iteration. */
  atIterationBoundary: boolean;
  /** `undefined` until the first pass ended and the evidence suffices. */
  verdict: ForecastVerdict | undefined;
  /** The verdict's reason, with its numbers; or why there is none yet. */
  reason: string;
  /** The iterations (boundaries) the verdict rests on. */
  iterations: readonly number[];
  remainingBytes: number;
  /** The smoothed `memory_bps`. */
  bandwidthBytesPerSecond: number | undefined;
  /** `memory_dirty_rate` × `memory_page_size` (the last non-zero one). */
  dirtyRateBytesPerSecond: number | undefined;
  /** The same rate from the boundaries: what the last pass left dirty ÷ how long it took. */
  observedDirtyRateBytesPerSecond: number | undefined;
  /** The pause a switch now would take: remaining ÷ bandwidth. */
  expectedDowntimeMs: number | undefined;
  /** The remaining bytes expected at the next boundary: the dirty rate × the time the current pass takes. */
  nextRemainingBytes: number | undefined;
  /** The downtime allowed now. */
  allowedDowntimeMs: number;
  /** The most downtime the schedule allows before the completion timeout. */
  maxDowntimeMs: number;
  /** How much a pass shrinks the remaining bytes (the larger of the last ratio and dirty rate ÷ bandwidth). */
  shrinkFactor: number | undefined;
  throttlePercent: number;
  /** The throttle the dirty rate must be cut by for the passes to shrink, when auto-converge is on. */
  throttleNeededPercent: number | undefined;
  /** Auto-converge is on and its throttle has reached the ceiling. */
  throttleAtCeiling: boolean;
  /** KubeVirt's stall: no progress against the best remaining bytes outside the window. */
  noProgress: boolean;
  /** At a boundary, within the margin of the best remaining bytes (the time to act). */
  atLocalMinimum: boolean;
  bestRemainingBytes: number | undefined;
}

const DEFAULT_PAGE = 4096;

/**
 * One step of the forecast: the state after `sample` and what it says now. Pure and cheap (bounded state):
 * call it on every poll, keep `state`, publish `forecast`.
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` for a sample field that is not a finite number ≥ 0,
 * or a sample older than the last one.
 *
 * @example
 * ```ts
 * const settings = forecastSettings(planMigration(), 2);
 * let state = FORECAST_START;
 * const at = (atMs: number, remainingBytes: number, processedBytes: number, iteration: number) =>
 *   ({ atMs, remainingBytes, processedBytes, iteration, bandwidthBytesPerSecond: 40e6, dirtyPagesPerSecond: 20_000 });
 * for (const s of [at(1000, 300e6, 40e6, 1), at(8000, 200e6, 320e6, 2), at(13000, 200e6, 520e6, 3), at(18000, 200e6, 720e6, 4)])
 *   ({ state } = forecastStep(state, s, { settings, downtimeMs: 50 }));
 * forecastStep(state, at(23000, 200e6, 920e6, 5), { settings, downtimeMs: 50 }).forecast.verdict; // 'will-not-converge'
 * ```
 */
export function forecastStep(
  state: ForecastState,
  sample: ForecastSample,
  context: ForecastContext,
): { state: ForecastState; forecast: Forecast } {
  const s = checkSample(sample, state);
  const { settings } = context;
  const options = settings.options;
  const allowedDowntimeMs = checkNumber('downtimeMs', context.downtimeMs ?? QEMU_DEFAULT_DOWNTIME_MS, {
    min: 0,
    max: 2 ** 53,
    unit: 'ms',
  });
  const page = s.pageSizeBytes ?? DEFAULT_PAGE;
  const throttle = s.throttlePercent ?? 0;
  const bps = s.bandwidthBytesPerSecond ?? 0;
  const inPreCopy = (s.mode ?? 'pre-copy') === 'pre-copy';

  let bandwidth = state.bandwidthBytesPerSecond;
  if (inPreCopy && bps > 0)
    bandwidth = bandwidth === undefined ? bps : options.ewmaAlpha * bps + (1 - options.ewmaAlpha) * bandwidth;
  const rate = (s.dirtyPagesPerSecond ?? 0) * page;
  const dirtyRate = rate > 0 ? rate : state.dirtyRateBytesPerSecond;

  const last = state.last;
  const boundary = inPreCopy && last !== undefined && s.iteration > last.iteration && s.iteration >= 2;
  let next: ForecastState = {
    ...state,
    last: {
      atMs: s.atMs,
      remainingBytes: s.remainingBytes,
      processedBytes: s.processedBytes,
      iteration: s.iteration,
    },
    ...(bandwidth === undefined ? {} : { bandwidthBytesPerSecond: bandwidth }),
    ...(dirtyRate === undefined ? {} : { dirtyRateBytesPerSecond: dirtyRate }),
  };
  const maxDowntimeMs = maxDowntimeBeforeTimeout(settings, allowedDowntimeMs);
  const ac = settings.autoConverge;
  const throttleAtCeiling = ac !== undefined && throttle >= ac.maxPercent;

  let judged: Judgement | undefined;
  let window = {
    noProgress: false,
    atLocalMinimum: false,
    bestRemainingBytes: undefined as number | undefined,
  };
  if (boundary && last !== undefined) {
    const b = estimateBoundary(last, s, state.boundaries.at(-1), throttle);
    const boundaries = [...state.boundaries, b].slice(-MAX_BOUNDARIES);
    next = {
      ...next,
      boundaries,
      minRemainingBytes: Math.min(state.minRemainingBytes ?? b.remainingBytes, b.remainingBytes),
    };
    if (bandwidth !== undefined) {
      judged = judge({
        boundaries,
        bandwidth,
        dirtyRate,
        allowedDowntimeMs,
        maxDowntimeMs,
        settings,
        throttle,
        atMs: s.atMs,
      });
      const stallNow = (judged?.verdict ?? state.published?.verdict) === 'will-not-converge';
      const step = windowStep(
        state.window,
        { atMs: b.atMs, remainingBytes: b.remainingBytes, iteration: b.iteration },
        options,
        stallNow,
      );
      window = step;
      next = { ...next, window: step.state };
      if (judged && step.noProgress && judged.verdict === 'converging' && !judged.immediate) {
        judged = {
          ...judged,
          verdict: 'stalled',
          reason: `${judged.reason}; but over the last ${secs(options.windowMs)} the remaining bytes (${mib(b.remainingBytes)}) did not improve by ${options.marginPercent} % on ${mib(step.state.outside?.remainingBytes ?? 0)}`,
        };
      }
      next = publish(next, judged, s.iteration, options.confirmIterations);
    }
  }

  const published = next.published;
  const lastBoundary = next.boundaries.at(-1);
  const expectedDowntimeMs = bandwidth ? (s.remainingBytes / bandwidth) * 1000 : undefined;
  const nextRemainingBytes =
    bandwidth && dirtyRate !== undefined && lastBoundary
      ? (dirtyRate * lastBoundary.remainingBytes) / bandwidth
      : undefined;
  const forecast: Forecast = {
    atMs: s.atMs,
    iteration: s.iteration,
    atIterationBoundary: boundary,
    verdict: published?.verdict,
    reason: reasonNow(next, published, judged, s, bandwidth),
    iterations: published?.iterations ?? [],
    remainingBytes: s.remainingBytes,
    bandwidthBytesPerSecond: bandwidth,
    dirtyRateBytesPerSecond: dirtyRate,
    observedDirtyRateBytesPerSecond: observedRate(next.boundaries),
    expectedDowntimeMs,
    nextRemainingBytes,
    allowedDowntimeMs,
    maxDowntimeMs,
    shrinkFactor: judged?.shrinkFactor ?? shrinkOf(next.boundaries, bandwidth, dirtyRate),
    throttlePercent: throttle,
    throttleNeededPercent:
      ac && bandwidth && dirtyRate !== undefined
        ? throttleNeeded(dirtyRate, bandwidth, throttle, options)
        : undefined,
    throttleAtCeiling,
    noProgress: window.noProgress,
    atLocalMinimum: boundary && localMinimum(window, lastBoundary, next, options),
    bestRemainingBytes: window.bestRemainingBytes ?? next.minRemainingBytes,
  };
  return { state: next, forecast };
}

/** At a boundary, within the margin of the best: KubeVirt's once the window stalled, else the smallest seen. */
function localMinimum(
  window: { atLocalMinimum: boolean; bestRemainingBytes: number | undefined },
  boundary: PassBoundary | undefined,
  state: ForecastState,
  options: ForecastOptions,
): boolean {
  if (boundary === undefined) return false;
  if (window.bestRemainingBytes !== undefined) return window.atLocalMinimum;
  const best = state.minRemainingBytes ?? boundary.remainingBytes;
  return boundary.remainingBytes <= best * (1 + options.marginPercent / 100);
}

function checkSample(sample: ForecastSample, state: ForecastState): ForecastSample {
  if (typeof sample !== 'object' || sample === null) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `sample is ${quote(sample)}: give a job-stats sample object`,
      {
        key: 'sample',
        value: sample,
      },
    );
  }
  const bytes = { min: 0, max: 2 ** 63, unit: 'bytes' } as const;
  checkNumber('sample.atMs', sample.atMs, { min: 0, max: 2 ** 53, unit: 'ms since the migration started' });
  checkNumber('sample.remainingBytes', sample.remainingBytes, bytes);
  checkNumber('sample.processedBytes', sample.processedBytes, bytes);
  checkNumber('sample.iteration', sample.iteration, { min: 0, max: 2 ** 53, integer: true });
  checkOptional('sample.bandwidthBytesPerSecond', sample.bandwidthBytesPerSecond, bytes);
  checkOptional('sample.dirtyPagesPerSecond', sample.dirtyPagesPerSecond, { min: 0, max: 2 ** 53 });
  checkOptional('sample.pageSizeBytes', sample.pageSizeBytes, { min: 1, max: 2 ** 30, integer: true });
  checkOptional('sample.throttlePercent', sample.throttlePercent, { min: 0, max: 100, unit: 'percent' });
  if (state.last !== undefined && sample.atMs < state.last.atMs) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `sample.atMs is ${sample.atMs}, before the last sample's ${state.last.atMs}: give samples in time order`,
      { key: 'sample.atMs', value: sample.atMs },
    );
  }
  return sample;
}

/**
 * The boundary between the last sample and this one: the remaining bytes at the sync are this sample's plus
 * what was sent after the last pass ran out (processed beyond the last sample's remaining); the sync's time
 * is where, between the two polls, the last pass's remaining bytes were used up.
 */
function estimateBoundary(
  last: NonNullable<ForecastState['last']>,
  s: ForecastSample,
  previous: PassBoundary | undefined,
  throttle: number,
): PassBoundary {
  const sent = Math.max(0, s.processedBytes - last.processedBytes);
  const oneSync = s.iteration === last.iteration + 1;
  const sentAfter = oneSync ? Math.max(0, sent - last.remainingBytes) : 0;
  const share = sent > 0 ? Math.min(1, last.remainingBytes / sent) : 1;
  const atMs = last.atMs + (s.atMs - last.atMs) * share;
  return {
    iteration: s.iteration,
    atMs,
    remainingBytes: s.remainingBytes + sentAfter,
    passMs: Math.max(0, atMs - (previous?.atMs ?? 0)),
    throttlePercent: throttle,
  };
}

function shrinkOf(
  boundaries: readonly PassBoundary[],
  bandwidth: number | undefined,
  dirtyRate: number | undefined,
): number | undefined {
  const [a, b] = boundaries.slice(-2);
  const model = bandwidth && dirtyRate !== undefined ? dirtyRate / bandwidth : undefined;
  if (a === undefined || b === undefined) return boundaries.length === 1 ? model : undefined;
  const trend = a.remainingBytes > 0 ? b.remainingBytes / a.remainingBytes : 1;
  return model === undefined ? trend : Math.max(trend, model);
}

/** Applies a boundary's judgement: a first verdict or a fact at once, a change once confirmed. */
function publish(
  state: ForecastState,
  judged: Judgement | undefined,
  iteration: number,
  confirm: number,
): ForecastState {
  if (judged?.verdict === undefined) return state;
  const current = state.published;
  const fresh: PublishedVerdict = {
    verdict: judged.verdict,
    sinceIteration: iteration,
    iterations: judged.iterations,
    reason: judged.reason,
  };
  const { pending: _dropped, ...rest } = state;
  if (current === undefined || judged.immediate) return { ...rest, published: fresh };
  if (judged.verdict === current.verdict) {
    return { ...rest, published: { ...fresh, sinceIteration: current.sinceIteration } };
  }
  const count = state.pending?.verdict === judged.verdict ? state.pending.count + 1 : 1;
  if (count >= confirm) return { ...rest, published: fresh };
  return { ...rest, pending: { verdict: judged.verdict, count } };
}

function reasonNow(
  state: ForecastState,
  published: PublishedVerdict | undefined,
  judged: Judgement | undefined,
  s: ForecastSample,
  bandwidth: number | undefined,
): string {
  if ((s.mode ?? 'pre-copy') !== 'pre-copy')
    return `the guest is ${s.mode}: the forecast follows pre-copy only`;
  if (published === undefined) {
    if (state.boundaries.length === 0)
      return `no verdict before the first pass has ended (iteration ${s.iteration})`;
    if (bandwidth === undefined) return 'no verdict: libvirt has reported no bandwidth yet';
    if (judged !== undefined) return `no verdict yet: ${judged.reason}`;
    return `no verdict yet: one pass boundary (iteration ${state.boundaries.at(-1)?.iteration}) is not enough evidence`;
  }
  const pending = state.pending;
  const note =
    pending && judged && judged.verdict === pending.verdict
      ? ` (iteration ${s.iteration} points to ${pending.verdict}: ${judged.reason})`
      : '';
  return `${published.verdict} since iteration ${published.sinceIteration}: ${published.reason}${note}`;
}
