import { MigrationPolicyError } from '../errors.js';
import { completionTimeoutSeconds, type DowntimeSchedule, downtimeAt, downtimeSchedule } from './downtime.js';
import type { TimeoutAction } from './host-config.js';
import type { MigrationPlan } from './plan.js';
import { quote } from './quote.js';
import { checkStatus, forceCompleteAction, type MigrationStatus } from './status.js';

/** The fixed inputs of a migration's monitor, derived once from its plan and size. */
export interface MonitorSettings {
  /** The downtime schedule, as a formula (O(1) whatever `live_migration_downtime_steps` is). */
  schedule: DowntimeSchedule;
  /** Seconds after which the timeout action fires; `undefined` when disabled. */
  completionTimeoutSeconds: number | undefined;
  timeoutAction: TimeoutAction;
  postCopy: boolean;
}

/** What the monitor has already done. Start from `{}`. */
export interface MonitorState {
  /** The downtime last set, in ms. */
  downtimeMs?: number;
  /** The completion timeout has fired (it fires once). */
  timedOut?: boolean;
}

/** One thing the monitor asks the migration shell to do now. */
export type MonitorAction =
  | { type: 'set-downtime'; downtimeMs: number }
  | { type: 'abort'; reason: string }
  | { type: 'switch-to-post-copy'; reason: string }
  | { type: 'pause'; reason: string };

/**
 * The monitor's settings for a plan and a migration of `dataGb` GiB (see `migrationDataGb`).
 *
 * @example
 * ```ts
 * const settings = monitorSettings(planMigration(), 2);
 * settings.completionTimeoutSeconds; // 1600
 * ```
 */
export function monitorSettings(
  plan: Pick<MigrationPlan, 'host' | 'postCopy'>,
  dataGb: number,
): MonitorSettings {
  return {
    schedule: downtimeSchedule(dataGb, plan.host),
    completionTimeoutSeconds: completionTimeoutSeconds(dataGb, plan.host),
    timeoutAction: plan.host.timeoutAction,
    postCopy: plan.postCopy,
  };
}

/**
 * One tick of Nova's live-migration monitor, as a pure function: raise the allowed downtime along the
 * schedule, and once past the completion timeout take the timeout action — never while in post-copy, where
 * the guest already runs on the destination.
 *
 * @example
 * ```ts
 * const settings = monitorSettings(planMigration({ host: { completionTimeout: 10 } }), 2);
 * monitorTick(settings, {}, { elapsedSeconds: 25, status: 'running' }).actions;
 * // [{ type: 'set-downtime', downtimeMs: 50 }, { type: 'abort', reason: '…' }]
 * ```
 */
export function monitorTick(
  settings: MonitorSettings,
  state: MonitorState,
  now: { elapsedSeconds: number; status: MigrationStatus },
): { state: MonitorState; actions: MonitorAction[] } {
  const status = checkStatus(now?.status);
  const elapsed = now.elapsedSeconds;
  if (typeof elapsed !== 'number' || !(elapsed >= 0) || elapsed === Number.POSITIVE_INFINITY) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `elapsedSeconds is ${quote(elapsed)}: use the seconds since the migration started, a finite number ≥ 0`,
      { key: 'elapsedSeconds', value: elapsed },
    );
  }
  if (status !== 'running') return { state, actions: [] };
  const actions: MonitorAction[] = [];
  const next: MonitorState = { ...state };

  const downtimeMs = downtimeAt(settings.schedule, elapsed);
  if (downtimeMs !== undefined && downtimeMs !== state.downtimeMs) {
    actions.push({ type: 'set-downtime', downtimeMs });
    next.downtimeMs = downtimeMs;
  }

  const limit = settings.completionTimeoutSeconds;
  if (limit !== undefined && !state.timedOut && elapsed > limit) {
    next.timedOut = true;
    const reason = `not complete after ${limit} s ([libvirt] live_migration_completion_timeout), action ${settings.timeoutAction}`;
    if (settings.timeoutAction === 'abort') {
      actions.push({ type: 'abort', reason });
    } else {
      const action = forceCompleteAction({ postCopy: settings.postCopy }, status);
      if (action !== 'none') actions.push({ type: action, reason });
    }
  }
  return { state: next, actions };
}
