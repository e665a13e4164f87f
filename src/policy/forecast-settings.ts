/**
 * The fixed inputs of a migration's convergence forecast: QEMU's defaults, the forecast's options (KubeVirt's
 * where it has the same knob) and the settings derived once from the plan.
 *
 * @module
 */
import { completionTimeoutSeconds, type DowntimeSchedule, downtimeSchedule } from './downtime.js';
import { checkOptional, checkOptions } from './numbers.js';
import type { MigrationPlan } from './plan.js';

/** QEMU's `downtime-limit` before anyone sets one (migration/options.c `DEFAULT_MIGRATE_SET_DOWNTIME`), ms. */
export const QEMU_DEFAULT_DOWNTIME_MS = 300;

/** Auto-converge's throttle schedule, percent. */
export interface AutoConvergeSettings {
  /** The first throttle (`auto_converge.initial`, QEMU `cpu-throttle-initial`). */
  initialPercent: number;
  /** Added at each later step (`auto_converge.increment`, QEMU `cpu-throttle-increment`). */
  incrementPercent: number;
  /** The ceiling (QEMU `max-cpu-throttle`, which libvirt does not set). */
  maxPercent: number;
}

/**
 * QEMU's defaults (migration/options.c): initial 20 %, increment 10 %, ceiling 99 %; libvirt sends
 * `auto_converge.*` only when asked to.
 *
 * @example
 * ```ts
 * QEMU_AUTO_CONVERGE.maxPercent; // 99
 * ```
 */
export const QEMU_AUTO_CONVERGE: Readonly<AutoConvergeSettings> = Object.freeze({
  initialPercent: 20,
  incrementPercent: 10,
  maxPercent: 99,
});

/** How the forecast weighs its evidence. KubeVirt's defaults where it has the same knob. */
export interface ForecastOptions {
  /** Weight of the newest `memory_bps` in the smoothed bandwidth, 0 < α ≤ 1. Default 0.4 (KubeVirt `ewmaAlpha`). */
  ewmaAlpha: number;
  /** How much the remaining bytes must improve to count as progress, percent. Default 4 (KubeVirt `stallMargin`). */
  marginPercent: number;
  /** KubeVirt's sliding window (`stallProgressTimeout`), ms: no progress over it is a stall. Default 40,000. */
  windowMs: number;
  /** After a stall, each wait for the best remaining bytes is this fraction of the last. Default 0.5. */
  patienceDecay: number;
  /** Boundaries in a row a different verdict must hold before it replaces the current one. Default 2. */
  confirmIterations: number;
}

/**
 * The default {@link ForecastOptions}.
 *
 * @example
 * ```ts
 * DEFAULT_FORECAST_OPTIONS.windowMs; // 40000
 * ```
 */
export const DEFAULT_FORECAST_OPTIONS: Readonly<ForecastOptions> = Object.freeze({
  ewmaAlpha: 0.4,
  marginPercent: 4,
  windowMs: 40_000,
  patienceDecay: 0.5,
  confirmIterations: 2,
});

const OPTION_RANGES = {
  ewmaAlpha: { min: 0, max: 1, minExclusive: true },
  marginPercent: { min: 0, max: 50, unit: 'percent' },
  windowMs: { min: 0, max: 86_400_000, integer: true, unit: 'ms' },
  patienceDecay: { min: 0, max: 1 },
  confirmIterations: { min: 1, max: 100, integer: true },
} as const;

/**
 * The forecast options with defaults filled in, validated.
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` naming `forecast.<option>`, its value and the range.
 *
 * @example
 * ```ts
 * resolveForecastOptions({ windowMs: 20_000 }).windowMs; // 20000
 * resolveForecastOptions({ ewmaAlpha: 0 }); // throws: forecast.ewmaAlpha is 0: give a number greater than 0 …
 * ```
 */
export function resolveForecastOptions(options?: Partial<ForecastOptions>): ForecastOptions {
  const given = checkOptions('forecast', options, Object.keys(OPTION_RANGES));
  const out: ForecastOptions = { ...DEFAULT_FORECAST_OPTIONS };
  for (const [key, range] of Object.entries(OPTION_RANGES) as [
    keyof ForecastOptions,
    (typeof OPTION_RANGES)[keyof ForecastOptions],
  ][]) {
    const value = checkOptional(`forecast.${key}`, given[key], range);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The fixed inputs of one migration's forecast. Build it with {@link forecastSettings}. */
export interface ForecastSettings {
  readonly options: ForecastOptions;
  /** Nova's downtime schedule: the most downtime the monitor will allow, and when. Absent: only the downtime now. */
  readonly schedule?: DowntimeSchedule;
  /** When the monitor's completion timeout fires, ms after the start; absent when disabled. */
  readonly completionTimeoutMs?: number;
  /** The throttle schedule when auto-converge is on; absent when off. */
  readonly autoConverge?: AutoConvergeSettings;
  /**
   * The guest's dirty rate measured before the migration (`measureDirtyRate`), bytes/s. It lets the first
   * boundary tell: libvirt's own rate over the first pass is capped by the working set (a page rewritten
   * ten times in the pass counts once), so it cannot show that the next, shorter pass will be as dirty.
   */
  readonly measuredDirtyRateBytesPerSecond?: number;
}

/**
 * The forecast's settings for a plan and a migration of `dataGb` GiB: the host's downtime schedule and
 * completion timeout, and — when the plan uses auto-converge — its throttle schedule (the migration's
 * `autoConvergeInitial` / `autoConvergeIncrement`, QEMU's defaults otherwise).
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` for a bad size, throttle or option.
 *
 * @example
 * ```ts
 * const settings = forecastSettings(planMigration({ host: { permitAutoConverge: true } }), 2);
 * settings.autoConverge; // { initialPercent: 20, incrementPercent: 10, maxPercent: 99 }
 * settings.completionTimeoutMs; // 1600000
 * ```
 */
export function forecastSettings(
  plan: Pick<MigrationPlan, 'host' | 'autoConverge'>,
  dataGb: number,
  tuning: {
    autoConvergeInitial?: number;
    autoConvergeIncrement?: number;
    /** QEMU's `max-cpu-throttle`, if the host changed it. */
    maxCpuThrottle?: number;
    /** The guest's dirty rate measured before the migration, bytes/s (see {@link ForecastSettings}). */
    measuredDirtyRateBytesPerSecond?: number;
    options?: Partial<ForecastOptions>;
  } = {},
): ForecastSettings {
  const percent = { min: 1, max: 99, integer: true, unit: 'percent' } as const;
  const initial = checkOptional('autoConvergeInitial', tuning.autoConvergeInitial, percent);
  const increment = checkOptional('autoConvergeIncrement', tuning.autoConvergeIncrement, percent);
  const max = checkOptional('maxCpuThrottle', tuning.maxCpuThrottle, percent);
  const measured = checkOptional('measuredDirtyRateBytesPerSecond', tuning.measuredDirtyRateBytesPerSecond, {
    min: 0,
    max: 2 ** 63,
    unit: 'bytes per second',
  });
  const timeout = completionTimeoutSeconds(dataGb, plan.host);
  return Object.freeze({
    options: Object.freeze(resolveForecastOptions(tuning.options)),
    schedule: downtimeSchedule(dataGb, plan.host),
    ...(timeout === undefined ? {} : { completionTimeoutMs: timeout * 1000 }),
    ...(measured === undefined ? {} : { measuredDirtyRateBytesPerSecond: measured }),
    ...(plan.autoConverge
      ? {
          autoConverge: Object.freeze({
            initialPercent: initial ?? QEMU_AUTO_CONVERGE.initialPercent,
            incrementPercent: increment ?? QEMU_AUTO_CONVERGE.incrementPercent,
            maxPercent: max ?? QEMU_AUTO_CONVERGE.maxPercent,
          }),
        }
      : {}),
  });
}
