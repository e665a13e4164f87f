import { describe, expect, it } from 'vitest';
import {
  assertAbortAllowed,
  forceCompleteAction,
  MIGRATION_STATUSES,
  type MigrationStatus,
  planMigration,
} from '../../src/index.js';
import { AC_FLAVOR, expectPolicyError, PC_FLAVOR } from './helpers.js';

describe('forceCompleteAction', () => {
  const expected: Record<MigrationStatus, [string, string]> = {
    queued: ['none', 'none'],
    preparing: ['none', 'none'],
    running: ['switch-to-post-copy', 'pause'],
    'running (post-copy)': ['none', 'none'],
    'recovering (post-copy)': ['none', 'none'],
    completed: ['none', 'none'],
    failed: ['none', 'none'],
    cancelled: ['none', 'none'],
    error: ['none', 'none'],
  };
  it.each(MIGRATION_STATUSES.map((s) => [s, ...expected[s]] as const))(
    '%s: post-copy plan → %s, otherwise → %s',
    (status, withPc, without) => {
      expect(forceCompleteAction({ postCopy: true }, status)).toBe(withPc);
      expect(forceCompleteAction({ postCopy: false }, status)).toBe(without);
    },
  );

  it('never switches an auto-converge instance to post-copy, even on a post-copy host', () => {
    const plan = planMigration({
      instance: { flavorExtraSpecs: { [AC_FLAVOR]: 'true' } },
      host: { permitPostCopy: true },
    });
    expect(forceCompleteAction(plan, 'running')).toBe('pause');
  });

  it('switches an instance that asked for post-copy', () => {
    const plan = planMigration({ instance: { flavorExtraSpecs: { [PC_FLAVOR]: 'true' } } });
    expect(forceCompleteAction(plan, 'running')).toBe('switch-to-post-copy');
  });
});

describe('assertAbortAllowed', () => {
  it.each(['queued', 'preparing', 'running'] as const)('allows %s', (status) => {
    expect(() => assertAbortAllowed(status)).not.toThrow();
  });

  it('refuses post-copy with ABORT_IN_POST_COPY', () => {
    const error = expectPolicyError(() => assertAbortAllowed('running (post-copy)'), 'ABORT_IN_POST_COPY');
    expect(error.message).toContain('POSTCOPY_RESUME');
  });

  it.each(['completed', 'failed', 'cancelled', 'error'])('refuses %s with MIGRATION_NOT_ACTIVE', (status) => {
    const error = expectPolicyError(
      () => assertAbortAllowed(status as MigrationStatus),
      'MIGRATION_NOT_ACTIVE',
    );
    expect(error.message).toContain(status);
  });
});

describe('status details', () => {
  it('explains why a post-copy migration cannot be aborted', () => {
    const error = expectPolicyError(() => assertAbortAllowed('running (post-copy)'), 'ABORT_IN_POST_COPY');
    expect(error.message).toBe(
      'the migration is in post-copy (status "running (post-copy)"): the guest already runs on the destination, so it cannot be aborted; let it complete, or if it fails recover it with POSTCOPY_RESUME',
    );
    expect(error.key).toBe('status');
    expect(error.value).toBe('running (post-copy)');
  });

  it('names a finished status', () => {
    const error = expectPolicyError(() => assertAbortAllowed('completed'), 'MIGRATION_NOT_ACTIVE');
    expect(error.message).toBe(
      `the migration's status is "completed": only a queued, preparing or running migration can be aborted`,
    );
    expect(error.key).toBe('status');
    expect(error.value).toBe('completed');
  });

  it('says what is wrong with a null plan, and with a plan whose getter throws', () => {
    expect(
      expectPolicyError(() => forceCompleteAction(null as never, 'running'), 'INVALID_ARGUMENT').message,
    ).toBe('plan.postCopy is null: pass the MigrationPlan, or an object whose postCopy is a real boolean');
    const throwing = Object.defineProperty({}, 'postCopy', {
      get() {
        throw new Error('x');
      },
    });
    const error = expectPolicyError(
      () => forceCompleteAction(throwing as never, 'running'),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('reading the plan threw (Error: x)');
    expect(error.key).toBe('plan');
  });

  it('checks the status before the plan', () => {
    expect(forceCompleteAction({ postCopy: true }, 'completed')).toBe('none');
    expect(() => forceCompleteAction({ postCopy: true }, 'done' as MigrationStatus)).toThrow(
      /not one of Nova's/,
    );
  });
});
