import { MigrationPolicyError } from '../errors.js';
import { quote } from './quote.js';

/**
 * Nova's migration statuses, as a `MigrationJob` reports them.
 */
export const MIGRATION_STATUSES = [
  'queued',
  'preparing',
  'running',
  'running (post-copy)',
  'completed',
  'failed',
  'cancelled',
  'error',
] as const;

/** One of {@link MIGRATION_STATUSES}. */
export type MigrationStatus = (typeof MIGRATION_STATUSES)[number];

/** What force-complete does for a migration in a given state. */
export type ForceCompleteAction = 'switch-to-post-copy' | 'pause' | 'none';

/** The statuses in which the migration has not yet ended. */
export function isActiveStatus(status: MigrationStatus): boolean {
  return (
    status === 'queued' || status === 'preparing' || status === 'running' || status === 'running (post-copy)'
  );
}

/**
 * What force-complete should do: switch to post-copy when post-copy is effective for this instance,
 * otherwise pause the guest so the copy catches up (the caller resumes it if the migration then fails).
 * Nothing before the copy runs, once already in post-copy, or once finished. An instance that asked for
 * auto-converge is never switched to post-copy: its plan has `postCopy: false`.
 *
 * @example
 * ```ts
 * forceCompleteAction({ postCopy: false }, 'running'); // 'pause'
 * forceCompleteAction({ postCopy: true }, 'running'); // 'switch-to-post-copy'
 * ```
 */
export function forceCompleteAction(
  plan: { postCopy: boolean },
  status: MigrationStatus,
): ForceCompleteAction {
  if (status !== 'running') return 'none';
  return plan.postCopy ? 'switch-to-post-copy' : 'pause';
}

/**
 * Refuses an abort that cannot be honoured: once in post-copy the guest already runs on the destination and
 * aborting would lose it; after the end there is nothing to abort.
 *
 * @throws {@link MigrationPolicyError} `ABORT_IN_POST_COPY` or `MIGRATION_NOT_ACTIVE`.
 *
 * @example
 * ```ts
 * assertAbortAllowed('running'); // ok
 * assertAbortAllowed('running (post-copy)'); // throws ABORT_IN_POST_COPY
 * ```
 */
export function assertAbortAllowed(status: MigrationStatus): void {
  if (status === 'queued' || status === 'preparing' || status === 'running') return;
  if (status === 'running (post-copy)') {
    throw new MigrationPolicyError(
      'ABORT_IN_POST_COPY',
      'the migration is in post-copy (status "running (post-copy)"): the guest already runs on the destination, ' +
        'so it cannot be aborted; let it complete, or if it fails recover it with POSTCOPY_RESUME',
      { key: 'status', value: status },
    );
  }
  throw new MigrationPolicyError(
    'MIGRATION_NOT_ACTIVE',
    `the migration's status is ${quote(status)}: only a queued, preparing or running migration can be aborted`,
    { key: 'status', value: status },
  );
}
