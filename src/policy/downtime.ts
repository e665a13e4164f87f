import { MigrationPolicyError } from '../errors.js';
import { type HostConfig, resolveHostConfig } from './host-config.js';
import { quote } from './quote.js';

/** One step of the downtime schedule: from `afterSeconds` on, allow `downtimeMs` of pause. */
export type DowntimeStep = [afterSeconds: number, downtimeMs: number];

const GIB = 1024 ** 3;

/**
 * Nova's downtime schedule for one migration, kept as its formula rather than as a list: Nova's
 * `downtime_steps()` is a generator, and `live_migration_downtime_steps` may be as large as 2³¹−1, so a list
 * of every step could not even be built. Step `i` (0…`steps`) starts after `trunc(delaySeconds × i)` seconds
 * and allows `trunc(baseMs + offsetMs × i)` ms.
 */
export interface DowntimeSchedule {
  /** `int(live_migration_downtime_delay × dataGb)`: seconds between steps. */
  readonly delaySeconds: number;
  /** `downtime / steps`: the first step's downtime, ms. */
  readonly baseMs: number;
  /** `(downtime − base) / steps`: how much each step adds, ms. */
  readonly offsetMs: number;
  /** `live_migration_downtime_steps`: the last step's index. */
  readonly steps: number;
}

/** The most steps {@link downtimeSteps} lists; the schedule itself has no limit. */
export const MAX_LISTED_STEPS = 10_000;

/**
 * Nova's downtime schedule for a migration of `dataGb` GiB, as a formula: O(1) in time and memory whatever
 * `live_migration_downtime_steps` is. Read it with {@link downtimeAt}.
 *
 * @example
 * ```ts
 * const schedule = downtimeSchedule(2); // { delaySeconds: 150, baseMs: 50, offsetMs: 45, steps: 10 }
 * downtimeAt(schedule, 1501); // 500
 * ```
 */
export function downtimeSchedule(dataGb: number, host?: Partial<HostConfig>): DowntimeSchedule {
  checkDataGb(dataGb);
  const config = resolveHostConfig(host);
  const baseMs = config.downtime / config.downtimeSteps;
  return {
    delaySeconds: Math.trunc(config.downtimeDelay * dataGb),
    baseMs,
    offsetMs: (config.downtime - baseMs) / config.downtimeSteps,
    steps: config.downtimeSteps,
  };
}

/**
 * Nova's downtime schedule for a migration of `dataGb` GiB as a list: `downtimeSteps + 1` steps, the delay
 * growing by `downtimeDelay` seconds per GiB and the allowed downtime growing to `downtime` ms.
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` when the host has more than
 * {@link MAX_LISTED_STEPS} steps: use {@link downtimeSchedule}, which has no such limit.
 *
 * @example
 * ```ts
 * downtimeSteps(2).at(-1); // [1500, 500]
 * ```
 */
export function downtimeSteps(dataGb: number, host?: Partial<HostConfig>): DowntimeStep[] {
  const schedule = downtimeSchedule(dataGb, host);
  if (schedule.steps > MAX_LISTED_STEPS) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `[libvirt] live_migration_downtime_steps is ${schedule.steps}: too many steps to list (at most ` +
        `${MAX_LISTED_STEPS}); use downtimeSchedule() and downtimeAt(), which compute any step on demand`,
      { key: 'live_migration_downtime_steps', value: schedule.steps },
    );
  }
  const steps: DowntimeStep[] = [];
  for (let i = 0; i <= schedule.steps; i++) steps.push(stepAt(schedule, i));
  return steps;
}

function stepAt(schedule: DowntimeSchedule, i: number): DowntimeStep {
  return [Math.trunc(schedule.delaySeconds * i), Math.trunc(schedule.baseMs + schedule.offsetMs * i)];
}

/**
 * The downtime to set at `elapsedSeconds`: that of the last step whose time is strictly below it, or
 * `undefined` before the first one. Takes a {@link downtimeSchedule} (computed in O(1)) or a list from
 * {@link downtimeSteps}.
 *
 * @example
 * ```ts
 * downtimeAt(downtimeSchedule(2), 150.1); // 95
 * downtimeAt(downtimeSteps(2), 0); // undefined
 * ```
 */
export function downtimeAt(
  steps: DowntimeSchedule | readonly DowntimeStep[],
  elapsedSeconds: number,
): number | undefined {
  if (Array.isArray(steps)) {
    let current: number | undefined;
    for (const [after, ms] of steps as readonly DowntimeStep[]) if (elapsedSeconds > after) current = ms;
    return current;
  }
  const schedule = steps as DowntimeSchedule;
  const index = lastStepBefore(schedule, elapsedSeconds);
  return index < 0 ? undefined : (stepAt(schedule, index)[1] as number);
}

/** The largest `i` in 0…steps with `trunc(delay × i) < elapsed`, or −1. */
function lastStepBefore(schedule: DowntimeSchedule, elapsed: number): number {
  const { delaySeconds: delay, steps } = schedule;
  if (!(elapsed > 0)) return -1; // every step starts at 0 s or later
  if (delay <= 0) return steps;
  let i = Math.min(steps, Math.ceil(elapsed / delay) - 1);
  // The division may round across a step boundary by one unit in the last place: settle it exactly.
  while (i < steps && Math.trunc(delay * (i + 1)) < elapsed) i++;
  while (i >= 0 && Math.trunc(delay * i) >= elapsed) i--;
  return i;
}

/**
 * The completion timeout in seconds (`completionTimeout × dataGb`), or `undefined` when the host disables it.
 *
 * @example
 * ```ts
 * completionTimeoutSeconds(2, { completionTimeout: 800 }); // 1600
 * ```
 */
export function completionTimeoutSeconds(dataGb: number, host?: Partial<HostConfig>): number | undefined {
  checkDataGb(dataGb);
  const { completionTimeout } = resolveHostConfig(host);
  return completionTimeout > 0 ? Math.trunc(completionTimeout * dataGb) : undefined;
}

/**
 * How much data a migration moves, for its timeouts, the way Nova counts it: RAM in GiB (at least 2) plus
 * each copied disk in GiB (each at least 2).
 *
 * @example
 * ```ts
 * migrationDataGb({ memoryMiB: 512 }); // 2
 * migrationDataGb({ memoryMiB: 8192, diskBytes: [10 * 1024 ** 3] }); // 18
 * ```
 */
export function migrationDataGb(size: { memoryMiB: number; diskBytes?: readonly number[] }): number {
  const { memoryMiB, diskBytes = [] } = size;
  if (!Number.isFinite(memoryMiB) || memoryMiB < 0) throw invalidSize('memoryMiB', memoryMiB);
  let total = Math.max(memoryMiB / 1024, 2);
  for (const bytes of diskBytes) {
    if (!Number.isFinite(bytes) || bytes < 0) throw invalidSize('diskBytes', bytes);
    total += Math.max(bytes / GIB, 2);
  }
  return total;
}

function checkDataGb(dataGb: number): void {
  if (typeof dataGb !== 'number' || !Number.isFinite(dataGb) || dataGb < 0)
    throw invalidSize('dataGb', dataGb);
}

function invalidSize(key: string, value: unknown): MigrationPolicyError {
  return new MigrationPolicyError('INVALID_ARGUMENT', `${key} is ${quote(value)}: use a finite number ≥ 0`, {
    key,
    value,
  });
}
