import { MigrationPolicyError } from '../errors.js';
import { type HostConfig, resolveHostConfig } from './host-config.js';
import { quote } from './quote.js';

/** One step of the downtime schedule: from `afterSeconds` on, allow `downtimeMs` of pause. */
export type DowntimeStep = [afterSeconds: number, downtimeMs: number];

const GIB = 1024 ** 3;

/**
 * Nova's downtime schedule for a migration of `dataGb` GiB: `downtimeSteps + 1` steps, the delay growing by
 * `downtimeDelay` seconds per GiB and the allowed downtime growing to `downtime` ms.
 *
 * @example
 * ```ts
 * downtimeSteps(2).at(-1); // [1500, 500]
 * ```
 */
export function downtimeSteps(dataGb: number, host?: Partial<HostConfig>): DowntimeStep[] {
  checkDataGb(dataGb);
  const config = resolveHostConfig(host);
  const delay = Math.trunc(config.downtimeDelay * dataGb);
  const base = config.downtime / config.downtimeSteps;
  const offset = (config.downtime - base) / config.downtimeSteps;
  const steps: DowntimeStep[] = [];
  for (let i = 0; i <= config.downtimeSteps; i++) {
    steps.push([Math.trunc(delay * i), Math.trunc(base + offset * i)]);
  }
  return steps;
}

/**
 * The downtime to set at `elapsedSeconds`: the last step whose time is strictly below it, or `undefined`
 * before the first one.
 */
export function downtimeAt(steps: readonly DowntimeStep[], elapsedSeconds: number): number | undefined {
  let current: number | undefined;
  for (const [after, ms] of steps) if (elapsedSeconds > after) current = ms;
  return current;
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
