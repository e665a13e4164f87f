import { describe, expect, it } from 'vitest';
import {
  assertAbortAllowed,
  forceCompleteAction,
  MIGRATION_STATUSES,
  type MigrationStatus,
  planMigration,
} from '../../src/index.js';
import { monitorSettings, monitorTick } from '../../src/policy/index.js';
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

describe('monitorTick', () => {
  const settingsFor = (host: Parameters<typeof planMigration>[0]) => monitorSettings(planMigration(host), 2);

  it('raises the downtime along the schedule, only when it changes', () => {
    const settings = settingsFor({});
    let state = {};
    const seen: number[] = [];
    for (const elapsed of [0, 1, 2, 149, 151, 152, 301]) {
      const tick = monitorTick(settings, state, { elapsedSeconds: elapsed, status: 'running' });
      state = tick.state;
      for (const action of tick.actions) if (action.type === 'set-downtime') seen.push(action.downtimeMs);
    }
    expect(seen).toEqual([50, 95, 140]);
  });

  it('aborts once after the completion timeout', () => {
    const settings = settingsFor({ host: { completionTimeout: 10 } });
    const first = monitorTick(settings, { downtimeMs: 50 }, { elapsedSeconds: 21, status: 'running' });
    expect(first.actions).toEqual([{ type: 'abort', reason: expect.stringContaining('20 s') }]);
    const second = monitorTick(settings, first.state, { elapsedSeconds: 30, status: 'running' });
    expect(second.actions).toEqual([]);
  });

  it('does nothing at exactly the timeout (strictly greater, as Nova)', () => {
    const settings = settingsFor({ host: { completionTimeout: 10 } });
    expect(
      monitorTick(settings, { downtimeMs: 50 }, { elapsedSeconds: 20, status: 'running' }).actions,
    ).toEqual([]);
  });

  it('force-completes by switching to post-copy when post-copy is effective', () => {
    const settings = settingsFor({
      host: { completionTimeout: 10, timeoutAction: 'force_complete', permitPostCopy: true },
    });
    const { actions } = monitorTick(settings, { downtimeMs: 50 }, { elapsedSeconds: 21, status: 'running' });
    expect(actions.map((a) => a.type)).toEqual(['switch-to-post-copy']);
  });

  it('force-completes by pausing an auto-converge instance', () => {
    const settings = settingsFor({
      instance: { flavorExtraSpecs: { [AC_FLAVOR]: 'true' } },
      host: { completionTimeout: 10, timeoutAction: 'force_complete', permitPostCopy: true },
    });
    const { actions } = monitorTick(settings, { downtimeMs: 50 }, { elapsedSeconds: 21, status: 'running' });
    expect(actions.map((a) => a.type)).toEqual(['pause']);
  });

  it.each(['running (post-copy)', 'queued', 'completed'] as const)('never acts in status %s', (status) => {
    const settings = settingsFor({ host: { completionTimeout: 10 } });
    expect(monitorTick(settings, {}, { elapsedSeconds: 10_000, status }).actions).toEqual([]);
  });

  it('never times out when the timeout is disabled', () => {
    const settings = settingsFor({ host: { completionTimeout: 0 } });
    const { actions } = monitorTick(
      settings,
      { downtimeMs: 500 },
      { elapsedSeconds: 1e9, status: 'running' },
    );
    expect(actions).toEqual([]);
  });
});
