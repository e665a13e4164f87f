/** Nova's live-migration monitor as a pure function: its settings from a plan, and what each tick asks for. */
import { describe, expect, it } from 'vitest';
import {
  downtimeSchedule,
  type MonitorState,
  monitorSettings,
  monitorTick,
  parseNovaConf,
  planMigration,
} from '../../src/policy/index.js';
import { AC_FLAVOR, expectPolicyError } from './helpers.js';

describe('monitorSettings', () => {
  it("takes the schedule, the timeout and its action from the plan's host, and post-copy from the plan", () => {
    const host = { downtime: 400, downtimeSteps: 4, downtimeDelay: 30, completionTimeout: 100 };
    const plan = planMigration({ host: { ...host, timeoutAction: 'force_complete', permitPostCopy: true } });
    expect(monitorSettings(plan, 3)).toEqual({
      schedule: downtimeSchedule(3, plan.host),
      completionTimeoutSeconds: 300,
      timeoutAction: 'force_complete',
      postCopy: true,
    });
  });

  it("uses Nova's defaults for a plan made without a host: 800 s per GiB, abort", () => {
    const settings = monitorSettings(planMigration(), 2);
    expect(settings.completionTimeoutSeconds).toBe(1600);
    expect(settings.timeoutAction).toBe('abort');
    expect(settings.postCopy).toBe(false);
  });

  it('has no timeout when the host disables it', () => {
    expect(
      monitorSettings(planMigration({ host: { completionTimeout: 0 } }), 8).completionTimeoutSeconds,
    ).toBe(undefined);
  });

  it('reads a host from nova.conf the same as the same options written out', () => {
    const conf = parseNovaConf(
      '[libvirt]\nlive_migration_completion_timeout = 60\nlive_migration_downtime = 300\n',
    );
    expect(monitorSettings(planMigration({ host: conf }), 4)).toEqual(
      monitorSettings(planMigration({ host: { completionTimeout: 60, downtime: 300 } }), 4),
    );
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

  it('words the timeout with its limit and action', () => {
    const settings = settingsFor({ host: { completionTimeout: 10 } });
    expect(
      monitorTick(settings, { downtimeMs: 50 }, { elapsedSeconds: 21, status: 'running' }).actions,
    ).toEqual([
      {
        type: 'abort',
        reason: 'not complete after 20 s ([libvirt] live_migration_completion_timeout), action abort',
      },
    ]);
  });

  it('asks for the new downtime before the timeout action when both fall in one tick', () => {
    const settings = settingsFor({ host: { completionTimeout: 3 } });
    const { state, actions } = monitorTick(settings, {}, { elapsedSeconds: 7, status: 'running' });
    expect(actions.map((a) => a.type)).toEqual(['set-downtime', 'abort']);
    expect(state).toEqual({ downtimeMs: 50, timedOut: true });
  });

  it("leaves the caller's state as it was and answers with a new one", () => {
    const settings = settingsFor({ host: { completionTimeout: 10 } });
    const before: MonitorState = Object.freeze({ downtimeMs: 50 });
    const { state } = monitorTick(settings, before, { elapsedSeconds: 200, status: 'running' });
    expect(before).toEqual({ downtimeMs: 50 });
    expect(state).not.toBe(before);
    expect(state.timedOut).toBe(true);
  });

  it('gives back the same state when it does nothing', () => {
    const settings = settingsFor({});
    const state: MonitorState = { downtimeMs: 95 };
    expect(monitorTick(settings, state, { elapsedSeconds: 10, status: 'queued' }).state).toBe(state);
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

describe('what monitorTick takes', () => {
  const settings = monitorSettings(planMigration(), 2);
  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, '5'])('refuses elapsedSeconds %j', (elapsedSeconds) => {
    const error = expectPolicyError(
      () => monitorTick(settings, {}, { elapsedSeconds: elapsedSeconds as number, status: 'running' }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('elapsedSeconds');
  });

  it("refuses a status that is not one of Nova's", () => {
    expect(
      expectPolicyError(
        () => monitorTick(settings, {}, { elapsedSeconds: 1, status: 'RUNNING' as never }),
        'INVALID_ARGUMENT',
      ).key,
    ).toBe('status');
  });

  it('does nothing while not running, and sets the first step just after 0 s', () => {
    expect(monitorTick(settings, {}, { elapsedSeconds: 1e6, status: 'running (post-copy)' }).actions).toEqual(
      [],
    );
    expect(monitorTick(settings, {}, { elapsedSeconds: 0, status: 'running' }).actions).toEqual([]);
    expect(monitorTick(settings, {}, { elapsedSeconds: 0.5, status: 'running' }).actions).toEqual([
      { type: 'set-downtime', downtimeMs: 50 },
    ]);
  });
});
