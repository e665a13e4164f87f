/**
 * The adaptive switchover: what to do about a pre-copy the forecast says will not converge, decided at an
 * iteration boundary and at a local minimum of the remaining bytes (the cheapest moment to switch, as in
 * KubeVirt's stall detector), and always inside the instance's own policy.
 *
 * @module
 */

import type { Forecast } from './forecast.js';
import type { TimeoutAction } from './host-config.js';
import { mib, millis } from './units.js';

/** What the adaptive switchover asks the job to do now. */
export type SwitchoverDecision = 'none' | 'switch-to-post-copy' | 'keep-throttling' | 'abort' | 'pause';

/** The instance's policy and the moment, as the job knows them. */
export interface SwitchoverPolicy {
  /** Post-copy is effective for this instance (the plan's `postCopy`). */
  postCopyEffective: boolean;
  /** Auto-converge is on (the plan's `autoConverge`). */
  autoConverge: boolean;
  /** The instance itself asked for auto-converge (flavor or image): it is never turned into post-copy. */
  explicitAutoConverge: boolean;
  /** Auto-converge's throttle has reached its ceiling. */
  throttleAtCeiling: boolean;
  /** The host's `live_migration_timeout_action`. */
  timeoutAction: TimeoutAction;
  /** This sample began a new iteration. */
  atIterationBoundary: boolean;
  /** The remaining bytes are within the margin of the best seen. */
  atLocalMinimum: boolean;
}

/**
 * The adaptive switchover's decision for one forecast, with a reason carrying the forecast's numbers.
 * Only a `will-not-converge` verdict, at an iteration boundary and a local minimum, leads to an action:
 * - post-copy effective (and not an explicit auto-converge request) → `switch-to-post-copy`;
 * - auto-converge on, throttle below its ceiling → `keep-throttling` (throttling is its job);
 * - otherwise the host's timeout action: `abort` → `abort`, `force_complete` → `pause`.
 * An instance with post-copy off is never switched to post-copy.
 *
 * @example
 * ```ts
 * adaptiveSwitchover(forecast, {
 *   postCopyEffective: true, autoConverge: false, explicitAutoConverge: false, throttleAtCeiling: false,
 *   timeoutAction: 'abort', atIterationBoundary: forecast.atIterationBoundary, atLocalMinimum: forecast.atLocalMinimum,
 * }); // { decision: 'switch-to-post-copy', reason: 'will-not-converge since iteration 3: … switching to post-copy …' }
 * ```
 */
export function adaptiveSwitchover(
  forecast: Pick<
    Forecast,
    'verdict' | 'reason' | 'remainingBytes' | 'bestRemainingBytes' | 'expectedDowntimeMs' | 'throttlePercent'
  >,
  policy: SwitchoverPolicy,
): { decision: SwitchoverDecision; reason: string } {
  if (forecast.verdict !== 'will-not-converge') {
    return { decision: 'none', reason: forecast.reason };
  }
  if (!policy.atIterationBoundary) {
    return { decision: 'none', reason: `${forecast.reason}; waiting for an iteration boundary` };
  }
  if (!policy.atLocalMinimum) {
    const best = forecast.bestRemainingBytes;
    return {
      decision: 'none',
      reason: `${forecast.reason}; waiting for a local minimum (${mib(forecast.remainingBytes)} remaining${best === undefined ? '' : `, best ${mib(best)}`})`,
    };
  }
  const at = `${forecast.reason}; at a local minimum (${mib(forecast.remainingBytes)} remaining${forecast.expectedDowntimeMs === undefined ? '' : `, ${millis(forecast.expectedDowntimeMs)} to switch`})`;
  if (policy.postCopyEffective && !policy.explicitAutoConverge) {
    return {
      decision: 'switch-to-post-copy',
      reason: `${at}: switching to post-copy, effective for this instance`,
    };
  }
  if (policy.autoConverge && !policy.throttleAtCeiling) {
    return {
      decision: 'keep-throttling',
      reason: `${at}: auto-converge's throttle (${forecast.throttlePercent} %) is below its ceiling, it keeps throttling`,
    };
  }
  const why = policy.autoConverge
    ? `auto-converge's throttle is at its ceiling (${forecast.throttlePercent} %)`
    : 'neither post-copy nor auto-converge is effective for this instance';
  if (policy.timeoutAction === 'abort') {
    return {
      decision: 'abort',
      reason: `${at}: ${why}, so live_migration_timeout_action abort: aborting now`,
    };
  }
  return {
    decision: 'pause',
    reason: `${at}: ${why}, so live_migration_timeout_action force_complete: pausing the guest so the copy completes`,
  };
}
