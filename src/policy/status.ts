import { MigrationPolicyError } from '../errors.js';
import { asPolicyError } from './guard.js';
import { quote } from './quote.js';

/**
 * Nova's migration statuses, as a `MigrationJob` reports them, and one Nova lacks: `recovering (post-copy)`,
 * the post-copy phase broke (or was paused) and the job is resuming it with `POSTCOPY_RESUME`; the guest runs
 * on the destination, its missing pages wait on the paused source.
 */
export const MIGRATION_STATUSES = Object.freeze([
  'queued',
  'preparing',
  'running',
  'running (post-copy)',
  'recovering (post-copy)',
  'completed',
  'failed',
  'cancelled',
  'error',
] as const);

/** One of {@link MIGRATION_STATUSES}. */
export type MigrationStatus = (typeof MIGRATION_STATUSES)[number];

/** What force-complete does for a migration in a given state. */
export type ForceCompleteAction = 'switch-to-post-copy' | 'pause' | 'none';

const KNOWN_STATUSES: ReadonlySet<unknown> = new Set(MIGRATION_STATUSES);

/**
 * `status` when it is exactly one of {@link MIGRATION_STATUSES} (a primitive string, same case); otherwise
 * `INVALID_ARGUMENT`, so that `'RUNNING'` or `new String('running')` is never read as "not active".
 */
export function checkStatus(status: unknown): MigrationStatus {
  if (KNOWN_STATUSES.has(status)) return status as MigrationStatus;
  throw new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `migration status ${quote(status)} is not one of Nova's: use one of ${MIGRATION_STATUSES.map((s) => `"${s}"`).join(', ')} (lower case)`,
    { key: 'status', value: status },
  );
}

/**
 * The statuses in which the migration has not yet ended.
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` for a status that is not one of Nova's.
 *
 * @example
 * ```ts
 * isActiveStatus('running (post-copy)'); // true
 * isActiveStatus('completed'); // false
 * ```
 */
export function isActiveStatus(status: MigrationStatus): boolean {
  const known = checkStatus(status);
  return (
    known === 'queued' ||
    known === 'preparing' ||
    known === 'running' ||
    known === 'running (post-copy)' ||
    known === 'recovering (post-copy)'
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
  const known = checkStatus(status);
  let postCopy: unknown;
  try {
    postCopy = typeof plan === 'object' && plan !== null ? plan.postCopy : plan;
  } catch (err) {
    throw asPolicyError(err, 'plan', 'the plan');
  }
  if (typeof postCopy !== 'boolean') {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `plan.postCopy is ${quote(postCopy)}: pass the MigrationPlan, or an object whose postCopy is a real boolean`,
      { key: 'postCopy', value: postCopy },
    );
  }
  if (known !== 'running') return 'none';
  return postCopy ? 'switch-to-post-copy' : 'pause';
}

/**
 * Refuses an abort that cannot be honoured: once in post-copy the guest already runs on the destination and
 * aborting would lose it; after the end there is nothing to abort.
 *
 * @throws {@link MigrationPolicyError} `ABORT_IN_POST_COPY` or `MIGRATION_NOT_ACTIVE`, and `INVALID_ARGUMENT`
 * for a status that is not one of Nova's.
 *
 * @example
 * ```ts
 * assertAbortAllowed('running'); // ok
 * assertAbortAllowed('running (post-copy)'); // throws ABORT_IN_POST_COPY
 * ```
 */
export function assertAbortAllowed(status: MigrationStatus): void {
  checkStatus(status);
  if (status === 'queued' || status === 'preparing' || status === 'running') return;
  if (status === 'running (post-copy)' || status === 'recovering (post-copy)') {
    throw new MigrationPolicyError(
      'ABORT_IN_POST_COPY',
      `the migration is in post-copy (status "${status}"): the guest already runs on the destination, ` +
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
