/**
 * The forecast before a migration: from the guest's memory, its measured dirty rate and the link's bandwidth,
 * what each way of migrating would do — pre-copy, auto-converge, post-copy after the first pass, and the
 * adaptive switchover — and at what cost to the guest.
 *
 * The model, pass by pass (the iterative model of live migration; Akoush et al., "Predicting the Performance
 * of Virtual Machine Migration", MASCOTS 2010, whose simulation models predicted total time and downtime
 * within ~90 %; REFERENCE §10):
 * - pass 1 sends the memory the guest has touched (`firstPassBytes`, by default all of it) at the bandwidth;
 * - pass i sends what was dirtied during pass i − 1: the dirty rate × that pass's duration, but never more
 *   than the working set (a page dirtied twice in one pass is sent once);
 * - after each pass QEMU switches over when what is left fits the downtime allowed then (Nova's schedule;
 *   QEMU's 300 ms before the monitor's first step), the pause being what is left ÷ the bandwidth;
 * - the completion timeout takes the host's action: abort, or force-complete (post-copy when effective for
 *   the instance, a pause otherwise);
 * - auto-converge scales the dirty rate by (1 − throttle): QEMU raises the throttle at every second sync
 *   whose period dirtied more than half of what it sent (migration/ram.c `migration_trigger_throttle`),
 *   from `initial` by `increment` to `max`; a pass longer than 5 s has a sync every 5 s (QEMU 10,
 *   migration/cpu-throttle.c), so it counts for more than one;
 * - post-copy switches after pass 1; what the guest dirtied meanwhile is then sent once, at the bandwidth,
 *   while the guest runs on the destination and waits on each first touch of a page not yet there;
 * - the adaptive switchover runs the very forecast and decision the job runs ({@link forecastStep},
 *   {@link adaptiveSwitchover}) on the model's own boundaries.
 *
 * Assumptions, to check against a measurement before trusting the numbers: a steady dirty rate (the guest
 * keeps doing what it did while measured); a CPU-bound writer (auto-converge slows what the vCPU does —
 * a writer that does nothing but write is not slowed, REFERENCE §7); the bandwidth is what the link gives the
 * stream, with no competing traffic; the downtime and the device state are RAM only (no VFIO, no block copy).
 *
 * @module
 */
import {
  completionTimeoutSeconds,
  type DowntimeSchedule,
  downtimeAt,
  downtimeSchedule,
  migrationDataGb,
} from './downtime.js';
import { FORECAST_START, type ForecastState, forecastStep } from './forecast.js';
import {
  type AutoConvergeSettings,
  type ForecastSettings,
  QEMU_AUTO_CONVERGE,
  QEMU_DEFAULT_DOWNTIME_MS,
  resolveForecastOptions,
} from './forecast-settings.js';
import { type HostConfig, resolveHostConfig } from './host-config.js';
import { checkNumber, checkOptional, checkOptions } from './numbers.js';
import type { MigrationPlan } from './plan.js';
import { adaptiveSwitchover } from './switchover.js';
import { mib, mibps, millis, secs } from './units.js';

/** What {@link forecastMigration} needs to know. Sizes in bytes, rates in bytes/s, times in ms. */
export interface MigrationForecastInput {
  /** The guest's memory. */
  memoryBytes: number;
  /** How fast the guest dirties memory (`measureDirtyRate`, or its own write rate). */
  dirtyRateBytesPerSecond: number;
  /** What the link gives the migration stream (`live_migration_bandwidth` when set). */
  bandwidthBytesPerSecond: number;
  /** The memory the guest keeps rewriting; default all of `memoryBytes`. */
  workingSetBytes?: number;
  /** What the first pass sends (pages never touched are zero and cost almost nothing); default `memoryBytes`. */
  firstPassBytes?: number;
  /** GiB counted for the downtime steps and the completion timeout; default Nova's count from `memoryBytes`. */
  dataGb?: number;
  /** The plan (its host config, and which features are effective for the adaptive policy). */
  plan?: Pick<MigrationPlan, 'host' | 'postCopy' | 'autoConverge' | 'decisions'>;
  /** The host config when no plan is given; the adaptive policy then follows its `permit_*` options. */
  host?: Partial<HostConfig>;
  /** Auto-converge's throttle schedule; default QEMU's (20 %, +10 %, ceiling 99 %). */
  autoConverge?: Partial<AutoConvergeSettings>;
  /** The pause of a switch to post-copy (device state, the destination starting). Default 10 ms. */
  switchDowntimeMs?: number;
  /** How long a guest waits for one missing page in post-copy (a round trip plus the page). Default 1 ms. */
  faultLatencyMs?: number;
  /** Page size. Default 4096. */
  pageSizeBytes?: number;
  /** Before the first byte moves: libvirt's prepare and the destination's QEMU starting. Default 0. */
  setupMs?: number;
}

/** How one mode is forecast to go. */
export interface ModeForecast {
  mode: 'pre-copy' | 'auto-converge' | 'post-copy' | 'adaptive';
  /** The guest ends up on the destination. */
  converges: boolean;
  /** How it ends. */
  outcome: 'completed' | 'aborted' | 'paused-then-completed' | 'switched-to-post-copy' | 'never-ends';
  /** From the start to the end (completion, or the abort); `Infinity` when it never ends. */
  totalMs: number;
  /** The guest's pause at the switch; `undefined` when it is not switched. */
  downtimeMs: number | undefined;
  /** Pre-copy passes made. */
  passes: number;
  /** The highest throttle auto-converge reached, percent (the cost to the guest: it runs 1 − that). */
  throttlePercent: number;
  /** How long the guest ran throttled. */
  throttledMs: number;
  /** How long the guest ran on the destination with pages still on the source. */
  postCopyMs: number;
  /** Upper bound of the time the guest waits on missing pages in post-copy. */
  faultStallMs: number;
  /** How it goes, with the numbers. */
  reason: string;
}

/** The four forecasts, and the inputs they were made with (defaults filled in). */
export interface MigrationForecast {
  preCopy: ModeForecast;
  autoConverge: ModeForecast;
  postCopy: ModeForecast;
  adaptive: ModeForecast;
  /** The throttle that would make the passes shrink: 1 − bandwidth ÷ dirty rate (0 when they already do). */
  throttleNeededPercent: number;
  assumptions: {
    memoryBytes: number;
    workingSetBytes: number;
    firstPassBytes: number;
    dirtyRateBytesPerSecond: number;
    bandwidthBytesPerSecond: number;
    dataGb: number;
    completionTimeoutMs: number | undefined;
    timeoutAction: HostConfig['timeoutAction'];
    autoConverge: AutoConvergeSettings;
    adaptivePolicy: { postCopy: boolean; autoConverge: boolean; explicitAutoConverge: boolean };
  };
}

const KNOWN = [
  'memoryBytes',
  'dirtyRateBytesPerSecond',
  'bandwidthBytesPerSecond',
  'workingSetBytes',
  'firstPassBytes',
  'dataGb',
  'plan',
  'host',
  'autoConverge',
  'switchDowntimeMs',
  'faultLatencyMs',
  'pageSizeBytes',
  'setupMs',
];
/** Passes the model simulates at most, for a migration that neither converges nor times out. */
const MAX_PASSES = 100_000;
/** QEMU 10 syncs the dirty bitmap at least every 5 s while auto-converge throttles (cpu-throttle.c). */
const PERIODIC_SYNC_MS = 5_000;

/**
 * What each mode would do to this guest on this link, by the model above.
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` naming the input, its value and what to give.
 *
 * @example
 * ```ts
 * const MiB = 1024 ** 2;
 * const f = forecastMigration({
 *   memoryBytes: 384 * MiB, workingSetBytes: 192 * MiB, firstPassBytes: 230 * MiB,
 *   dirtyRateBytesPerSecond: 70 * MiB, bandwidthBytesPerSecond: 35 * MiB,
 *   host: { permitPostCopy: true },
 * });
 * f.preCopy.converges; // false: aborted at the completion timeout (1600 s)
 * f.postCopy.totalMs; // ≈ 12,000: 230 MiB then 192 MiB at 35 MiB/s
 * f.adaptive.outcome; // 'switched-to-post-copy' at the first pass boundary (the measured rate says it cannot shrink)
 * ```
 */
export function forecastMigration(input: MigrationForecastInput): MigrationForecast {
  const m = resolveInput(input);
  const preCopy = simulate(m, 'pre-copy');
  const autoConverge = simulate(m, 'auto-converge');
  const postCopy = postCopyAfterFirstPass(m);
  const adaptive = simulate(m, 'adaptive');
  const needed = m.dirty > 0 ? Math.max(0, Math.ceil(100 * (1 - m.bandwidth / m.dirty))) : 0;
  return {
    preCopy,
    autoConverge,
    postCopy,
    adaptive,
    throttleNeededPercent: needed,
    assumptions: {
      memoryBytes: m.memory,
      workingSetBytes: m.workingSet,
      firstPassBytes: m.firstPass,
      dirtyRateBytesPerSecond: m.dirty,
      bandwidthBytesPerSecond: m.bandwidth,
      dataGb: m.dataGb,
      completionTimeoutMs: m.timeoutMs,
      timeoutAction: m.host.timeoutAction,
      autoConverge: m.ac,
      adaptivePolicy: m.policy,
    },
  };
}

interface Model {
  memory: number;
  workingSet: number;
  firstPass: number;
  dirty: number;
  bandwidth: number;
  dataGb: number;
  host: HostConfig;
  schedule: DowntimeSchedule;
  timeoutMs: number | undefined;
  ac: AutoConvergeSettings;
  policy: { postCopy: boolean; autoConverge: boolean; explicitAutoConverge: boolean };
  switchDowntimeMs: number;
  faultLatencyMs: number;
  page: number;
  setupMs: number;
}

function resolveInput(input: MigrationForecastInput): Model {
  const given = checkOptions('forecastMigration', input, KNOWN);
  const bytes = { min: 0, max: 2 ** 63, minExclusive: true, unit: 'bytes' } as const;
  const memory = checkNumber('memoryBytes', given.memoryBytes, bytes);
  const within = { ...bytes, max: memory };
  const dirty = checkNumber('dirtyRateBytesPerSecond', given.dirtyRateBytesPerSecond, {
    min: 0,
    max: 2 ** 63,
    unit: 'bytes per second',
  });
  const bandwidth = checkNumber('bandwidthBytesPerSecond', given.bandwidthBytesPerSecond, {
    ...bytes,
    unit: 'bytes per second',
  });
  const workingSet = checkOptional('workingSetBytes', given.workingSetBytes, within) ?? memory;
  const firstPass = checkOptional('firstPassBytes', given.firstPassBytes, within) ?? memory;
  const dataGb =
    checkOptional('dataGb', given.dataGb, { min: 0, max: 2 ** 31, minExclusive: true, unit: 'GiB' }) ??
    migrationDataGb({ memoryMiB: memory / 1024 ** 2 });
  const plan = input.plan;
  const host = plan?.host ?? resolveHostConfig(input.host);
  const acGiven = checkOptions('autoConverge', input.autoConverge, [
    'initialPercent',
    'incrementPercent',
    'maxPercent',
  ]);
  const percent = { min: 1, max: 99, integer: true, unit: 'percent' } as const;
  const ac: AutoConvergeSettings = {
    initialPercent:
      checkOptional('autoConverge.initialPercent', acGiven.initialPercent, percent) ??
      QEMU_AUTO_CONVERGE.initialPercent,
    incrementPercent:
      checkOptional('autoConverge.incrementPercent', acGiven.incrementPercent, percent) ??
      QEMU_AUTO_CONVERGE.incrementPercent,
    maxPercent:
      checkOptional('autoConverge.maxPercent', acGiven.maxPercent, percent) ?? QEMU_AUTO_CONVERGE.maxPercent,
  };
  const postCopy = plan ? plan.postCopy : host.permitPostCopy;
  const autoConverge = plan ? plan.autoConverge : host.permitAutoConverge && !postCopy;
  const timeout = completionTimeoutSeconds(dataGb, host);
  return {
    memory,
    workingSet,
    firstPass,
    dirty,
    bandwidth,
    dataGb,
    host,
    schedule: downtimeSchedule(dataGb, host),
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    ac,
    policy: {
      postCopy,
      autoConverge,
      explicitAutoConverge:
        autoConverge && plan !== undefined && plan.decisions.autoConverge.source !== 'host',
    },
    switchDowntimeMs:
      checkOptional('switchDowntimeMs', given.switchDowntimeMs, { min: 0, max: 3_600_000, unit: 'ms' }) ?? 10,
    faultLatencyMs:
      checkOptional('faultLatencyMs', given.faultLatencyMs, { min: 0, max: 60_000, unit: 'ms' }) ?? 1,
    page:
      checkOptional('pageSizeBytes', given.pageSizeBytes, { min: 1, max: 2 ** 30, integer: true }) ?? 4096,
    setupMs: checkOptional('setupMs', given.setupMs, { min: 0, max: 86_400_000, unit: 'ms' }) ?? 0,
  };
}

/** Sending `bytes` at the bandwidth, in ms. */
const sendMs = (m: Model, bytes: number) => (bytes / m.bandwidth) * 1000;

/** What the guest dirties in `ms` at `throttle` %: bounded by the working set. */
const dirtied = (m: Model, ms: number, throttle: number) =>
  Math.min(m.workingSet, m.dirty * (1 - throttle / 100) * (ms / 1000));

/** The post-copy phase after a switch with `remaining` bytes still on the source. */
function postCopyPhase(m: Model, remaining: number): { postCopyMs: number; faultStallMs: number } {
  const postCopyMs = sendMs(m, remaining);
  // Each page not yet on the destination faults at most once when first touched; the background stream
  // keeps sending meanwhile, so the guest never waits longer than the phase itself.
  const faultStallMs = Math.min(postCopyMs, (remaining / m.page) * m.faultLatencyMs);
  return { postCopyMs, faultStallMs };
}

function postCopyAfterFirstPass(m: Model): ModeForecast {
  const firstMs = m.setupMs + sendMs(m, m.firstPass);
  const remaining = dirtied(m, firstMs - m.setupMs, 0);
  const phase = postCopyPhase(m, remaining);
  return {
    mode: 'post-copy',
    converges: true,
    outcome: 'switched-to-post-copy',
    totalMs: firstMs + m.switchDowntimeMs + phase.postCopyMs,
    downtimeMs: m.switchDowntimeMs,
    passes: 1,
    throttlePercent: 0,
    throttledMs: 0,
    ...phase,
    reason: `the first pass sends ${mib(m.firstPass)} in ${secs(firstMs - m.setupMs)}; switched then, the ${mib(remaining)} dirtied meanwhile follow in ${secs(phase.postCopyMs)} while the guest runs on the destination and waits up to ${secs(phase.faultStallMs)} on missing pages`,
  };
}

type Simulated = 'pre-copy' | 'auto-converge' | 'adaptive';

/** Pre-copy pass by pass: plain, with auto-converge, or under the adaptive switchover. */
function simulate(m: Model, mode: Simulated): ModeForecast {
  const throttling = mode === 'auto-converge' || (mode === 'adaptive' && m.policy.autoConverge);
  const ac = m.ac;
  let lastPassMs = sendMs(m, m.firstPass);
  let t = m.setupMs + lastPassMs;
  let throttle = 0;
  let highSyncs = 0;
  let throttledMs = 0;
  /** QEMU's throttle rule over `syncs` syncs of a pass of `ms` (the first pass has no periodic sync). */
  const syncsOf = (ms: number, syncs: number) => {
    const period = ms / syncs;
    // A sync counts when its period dirtied more than half of what it sent (throttle-trigger-threshold 50).
    if (dirtied(m, period, throttle) <= 0.5 * m.bandwidth * (period / 1000)) return;
    highSyncs += syncs;
    while (highSyncs >= 2 && throttle < ac.maxPercent) {
      highSyncs -= 2;
      throttle = throttle === 0 ? ac.initialPercent : Math.min(ac.maxPercent, throttle + ac.incrementPercent);
    }
  };
  let remaining = dirtied(m, lastPassMs, 0);
  let processed = m.firstPass;
  let passes = 1;
  if (throttling) syncsOf(lastPassMs, 1);
  const adaptive = mode === 'adaptive' ? adaptiveRun(m, throttling) : undefined;
  adaptive?.sample(m.setupMs, m.firstPass, 0, 1, 0, 0);
  const base = { mode, passes: 0, throttlePercent: 0, throttledMs: 0, postCopyMs: 0, faultStallMs: 0 };
  for (; passes < MAX_PASSES; passes++) {
    const allowed = downtimeAt(m.schedule, t / 1000) ?? QEMU_DEFAULT_DOWNTIME_MS;
    const switchMs = sendMs(m, remaining);
    if (switchMs <= allowed) {
      return {
        ...base,
        passes,
        throttlePercent: throttle,
        throttledMs,
        converges: true,
        outcome: 'completed',
        totalMs: t + switchMs,
        downtimeMs: switchMs,
        reason: `after ${passes} passes (${secs(t)}) ${mib(remaining)} remain, ${millis(switchMs)} at ${mibps(m.bandwidth)}, within the ${millis(allowed)} allowed then${throttle ? `; auto-converge throttled the guest to ${throttle} %` : ''}`,
      };
    }
    const passMs = switchMs;
    if (m.timeoutMs !== undefined && t + passMs > m.timeoutMs) {
      return {
        ...base,
        ...timedOut(m, t, remaining, throttle),
        passes,
        throttlePercent: throttle,
        throttledMs: throttledMs + (throttle > 0 ? m.timeoutMs - t : 0),
      };
    }
    if (adaptive) {
      const dirtyBps = lastPassMs > 0 ? (remaining / lastPassMs) * 1000 : 0;
      const decision = adaptive.sample(t, remaining, processed, passes + 1, throttle, dirtyBps);
      if (decision !== undefined && decision.decision !== 'none' && decision.decision !== 'keep-throttling') {
        return { ...base, ...act(m, decision, t, remaining), passes, throttlePercent: throttle, throttledMs };
      }
    }
    // The pass: what the guest dirties meanwhile is the next pass's.
    const next = dirtied(m, passMs, throttle);
    if (throttle > 0) throttledMs += passMs;
    if (throttling) syncsOf(passMs, 1 + Math.floor(passMs / PERIODIC_SYNC_MS));
    t += passMs;
    lastPassMs = passMs;
    processed += remaining;
    if (
      m.timeoutMs === undefined &&
      next >= remaining &&
      (!throttling || throttle >= ac.maxPercent) &&
      t > lastStepMs(m)
    ) {
      return neverEnds(m, base, passes + 1, t, next, throttle, throttledMs);
    }
    remaining = next;
  }
  return neverEnds(m, base, passes, t, remaining, throttle, throttledMs);
}

function lastStepMs(m: Model): number {
  return Math.trunc(m.schedule.delaySeconds * m.schedule.steps) * 1000;
}

function neverEnds(
  m: Model,
  base: Pick<ModeForecast, 'mode' | 'postCopyMs' | 'faultStallMs'>,
  passes: number,
  t: number,
  remaining: number,
  throttle: number,
  throttledMs: number,
): ModeForecast {
  return {
    ...base,
    passes,
    throttlePercent: throttle,
    throttledMs,
    converges: false,
    outcome: 'never-ends',
    totalMs: Number.POSITIVE_INFINITY,
    downtimeMs: undefined,
    reason: `the passes stop shrinking at ${mib(remaining)} (${millis(sendMs(m, remaining))} to switch) after ${secs(t)}, and no completion timeout ends it`,
  };
}

type Ending = Pick<
  ModeForecast,
  'converges' | 'outcome' | 'totalMs' | 'downtimeMs' | 'postCopyMs' | 'faultStallMs' | 'reason'
>;

/**
 * How a pre-copy ends when something stops it at `atMs` with `left` bytes still to send: an abort (the guest
 * stays on the source), a switch to post-copy, or a pause while the rest is copied.
 */
function ending(
  m: Model,
  how: 'abort' | 'switch-to-post-copy' | 'pause',
  atMs: number,
  left: number,
  why: (verb: string, tail: string) => string,
): Ending {
  if (how === 'abort') {
    const common = { converges: false, outcome: 'aborted', downtimeMs: undefined } as const;
    return { ...common, totalMs: atMs, postCopyMs: 0, faultStallMs: 0, reason: why('aborted', '') };
  }
  if (how === 'switch-to-post-copy') {
    const phase = postCopyPhase(m, left);
    return {
      converges: true,
      outcome: 'switched-to-post-copy',
      totalMs: atMs + m.switchDowntimeMs + phase.postCopyMs,
      downtimeMs: m.switchDowntimeMs,
      ...phase,
      reason: why('switched to post-copy', `, ${secs(phase.postCopyMs)} more`),
    };
  }
  const pauseMs = sendMs(m, left);
  return {
    converges: true,
    outcome: 'paused-then-completed',
    totalMs: atMs + pauseMs,
    downtimeMs: pauseMs,
    postCopyMs: 0,
    faultStallMs: 0,
    reason: why('paused', ` for ${secs(pauseMs)} while the rest is copied`),
  };
}

/** The completion timeout's action, part-way through a pass. */
function timedOut(m: Model, t: number, remaining: number, throttle: number): Ending {
  const timeout = m.timeoutMs as number;
  const into = timeout - t;
  // Left of this pass, plus what was dirtied since it began.
  const left = Math.max(0, remaining - (m.bandwidth * into) / 1000) + dirtied(m, into, throttle);
  const at = `the completion timeout fires at ${secs(timeout)} with ${mib(left)} left`;
  const action = m.host.timeoutAction;
  const how = action === 'abort' ? 'abort' : m.policy.postCopy ? 'switch-to-post-copy' : 'pause';
  const stays = how === 'abort' ? ', the guest stays on the source' : '';
  return ending(
    m,
    how,
    timeout,
    left,
    (verb, tail) => `${at}: ${verb}${tail} (live_migration_timeout_action ${action})${stays}`,
  );
}

/** The adaptive switchover's action at the boundary at `t`. */
function act(m: Model, decision: { decision: string; reason: string }, t: number, remaining: number): Ending {
  const how = decision.decision as 'abort' | 'switch-to-post-copy' | 'pause';
  const instead =
    how === 'abort' && m.timeoutMs !== undefined
      ? ` instead of at the completion timeout (${secs(m.timeoutMs)})`
      : '';
  return ending(
    m,
    how,
    t,
    remaining,
    (verb, tail) => `${verb} at ${secs(t)}${instead}${tail}: ${decision.reason}`,
  );
}

/** The job's own forecast and decision, fed with the model's boundaries as if they were job stats. */
function adaptiveRun(m: Model, throttling: boolean) {
  const settings: ForecastSettings = {
    options: resolveForecastOptions(),
    schedule: m.schedule,
    ...(m.timeoutMs === undefined ? {} : { completionTimeoutMs: m.timeoutMs }),
    ...(throttling ? { autoConverge: m.ac } : {}),
    measuredDirtyRateBytesPerSecond: m.dirty,
  };
  let state: ForecastState = FORECAST_START;
  return {
    sample(
      atMs: number,
      remainingBytes: number,
      processedBytes: number,
      iteration: number,
      throttle: number,
      dirtyBps: number,
    ) {
      const downtimeMs = downtimeAt(m.schedule, atMs / 1000) ?? QEMU_DEFAULT_DOWNTIME_MS;
      const step = forecastStep(
        state,
        {
          atMs,
          remainingBytes,
          processedBytes,
          iteration,
          bandwidthBytesPerSecond: m.bandwidth,
          dirtyPagesPerSecond: dirtyBps / m.page,
          pageSizeBytes: m.page,
          throttlePercent: throttle,
        },
        { settings, downtimeMs },
      );
      state = step.state;
      const f = step.forecast;
      return adaptiveSwitchover(f, {
        postCopyEffective: m.policy.postCopy,
        autoConverge: throttling,
        explicitAutoConverge: m.policy.explicitAutoConverge,
        throttleAtCeiling: f.throttleAtCeiling,
        timeoutAction: m.host.timeoutAction,
        atIterationBoundary: f.atIterationBoundary,
        atLocalMinimum: f.atLocalMinimum,
      });
    },
  };
}
