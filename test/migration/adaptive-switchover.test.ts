// The adaptive switchover in the job's table: recorded lab migrations (test/policy/fixtures, polled every 250 ms)
// replayed as ticks into the pure machine, with the instance's policy varied. The forecast's own rules are
// pinned in test/policy; here: what the job does with its verdicts, and what it never does.
import { describe, expect, it } from 'vitest';
import {
  initialState,
  type JobAction,
  type JobEvent,
  type JobState,
  transition,
} from '../../src/migration/job-machine.js';
import type { JobSettings } from '../../src/migration/job-states.js';
import { buildMigrationCall } from '../../src/migration/params.js';
import {
  type Forecast,
  forecastSettings,
  type HostConfig,
  type InstanceMetadata,
  METADATA_KEYS,
  monitorSettings,
  planMigration,
} from '../../src/policy/index.js';
import { DEFAULT_RECOVERY } from '../../src/policy/recovery.js';
import { type Fixture, fixture } from '../policy/forecast-helpers.js';
import { DESTINATION_URI } from '../support/job-machine.js';

const POST_COPY_BY_IMAGE: InstanceMetadata = {
  imageProperties: { [METADATA_KEYS.postCopy.image]: 'true' },
};
const BOTH_FORBIDDEN: InstanceMetadata = {
  flavorExtraSpecs: {
    [METADATA_KEYS.postCopy.flavor]: 'false',
    [METADATA_KEYS.autoConverge.flavor]: 'false',
  },
};
const AUTO_CONVERGE_BY_FLAVOR: InstanceMetadata = {
  flavorExtraSpecs: { [METADATA_KEYS.autoConverge.flavor]: 'true' },
};

interface Replay {
  state: JobState;
  actions: JobAction[];
  /** The elapsed ms of the tick that asked libvirt to switch, pause or abort. */
  steeredAtMs: number | undefined;
}

/**
 * A start-mode job prepared with `instance` on `host` (Nova's defaults unless given: a completion timeout of
 * 800 s per GiB), fed the fixture's samples as ticks until it asks libvirt to force-complete or abort; the
 * downtime steps it asks for are answered as set, as libvirt would.
 */
function replay(
  fx: Fixture,
  instance: InstanceMetadata,
  host: Partial<HostConfig> = {},
  switchover: JobSettings['switchover'] = 'adaptive',
): Replay {
  const plan = planMigration({ instance, host, libvirtVersion: '9.0.0', qemuVersion: '10.0.2' });
  const settings: JobSettings = {
    mode: 'start',
    pollIntervalMs: 250,
    recovery: DEFAULT_RECOVERY,
    switchover,
  };
  let state = initialState(settings);
  const actions: JobAction[] = [];
  const send = (event: JobEvent) => {
    const next = transition(state, event);
    state = next.state;
    actions.push(...next.actions);
    return next.actions;
  };
  send({ type: 'run', atMs: 0 });
  send({
    type: 'prepared',
    plan,
    call: buildMigrationCall(plan, { uri: DESTINATION_URI }),
    dataGb: fx.dataGb,
    monitor: monitorSettings(plan, fx.dataGb),
    sourceLibvirt: 9_000_000,
    source: 'running',
    elapsedMs: 0,
    ...(switchover === 'adaptive' ? { forecast: forecastSettings(plan, fx.dataGb) } : {}),
    atMs: 0,
  });
  for (const sample of fx.samples) {
    const stats = {
      type: 'unbounded' as const,
      operation: 5,
      memoryTotal: fx.dataGb * 1024 ** 3,
      memoryRemaining: sample.remainingBytes,
      memoryProcessed: sample.processedBytes,
      memoryIteration: sample.iteration,
      memoryBps: sample.bandwidthBytesPerSecond,
      memoryDirtyRate: sample.dirtyPagesPerSecond,
      memoryPageSize: sample.pageSizeBytes,
      autoConvergeThrottle: sample.throttlePercent,
      raw: {},
    };
    const asked = send({ type: 'tick', stats, source: 'running', atMs: sample.atMs });
    for (const a of asked) {
      if (a.type === 'set-downtime')
        send({ type: 'downtime-set', downtimeMs: a.downtimeMs, atMs: sample.atMs });
      if (a.type === 'force-complete' || a.type === 'abort-job')
        return { state, actions, steeredAtMs: sample.atMs };
    }
  }
  return { state, actions, steeredAtMs: undefined };
}

const of = <T extends JobAction['type']>(actions: JobAction[], type: T) =>
  actions.filter((a): a is Extract<JobAction, { type: T }> => a.type === type);

describe('a busy guest on a link half its write rate (recorded: plain pre-copy, aborted by the timeout)', () => {
  const fx = fixture('busy-pre-copy');

  it('post-copy allowed by the image: switched to post-copy within the first passes, with the forecast', () => {
    const r = replay(fx, POST_COPY_BY_IMAGE);
    expect(r.state.prepared?.plan.postCopy).toBe(true);
    expect(r.state.phase).toBe('switching');
    expect(of(r.actions, 'force-complete')).toEqual([{ type: 'force-complete', how: 'switch-to-post-copy' }]);
    const forecast = r.state.forceComplete?.forecast as Forecast;
    expect(forecast.verdict).toBe('will-not-converge');
    expect(forecast.iteration).toBeLessThanOrEqual(5);
    // Long before Nova's timeout (800 s per GiB of 2 GiB) would have acted.
    expect(r.steeredAtMs).toBeLessThan(fx.outcome.totalMs);
    expect(r.state.forceComplete?.reason).toMatch(/^adaptive switchover: will-not-converge .*post-copy/);

    // libvirt's answer makes the steering entry: the forecast comes with it, as data.
    const done = transition(r.state, { type: 'switched', atMs: (r.steeredAtMs as number) + 100 });
    const [recorded] = of(done.actions, 'record');
    expect(recorded).toMatchObject({ action: 'switch-to-post-copy', forecast });
    expect(recorded?.reason).toContain('adaptive switchover');
  });

  it('both features forbidden by the flavor: aborted early, the forecast in the reason, the guest on the source', () => {
    const r = replay(fx, BOTH_FORBIDDEN);
    expect(r.state.prepared?.plan).toMatchObject({ postCopy: false, autoConverge: false });
    expect(of(r.actions, 'force-complete')).toEqual([]);
    expect(of(r.actions, 'abort-job')).toHaveLength(1);
    expect(r.state.abortReason).toMatch(/adaptive switchover: will-not-converge .*aborting now/);
    expect(r.steeredAtMs).toBeLessThan(fx.outcome.totalMs);

    const accepted = transition(r.state, { type: 'abort-accepted', atMs: (r.steeredAtMs as number) + 50 });
    const [recorded] = of(accepted.actions, 'record');
    expect(recorded).toMatchObject({ action: 'abort', forecast: r.state.abortForecast });
    expect(recorded?.forecast?.verdict).toBe('will-not-converge');
  });

  it("both forbidden with the host's force_complete timeout action: the guest is paused instead", () => {
    const r = replay(fx, BOTH_FORBIDDEN, { timeoutAction: 'force_complete', permitPostCopy: true });
    expect(of(r.actions, 'force-complete')).toEqual([{ type: 'force-complete', how: 'pause' }]);
    expect(r.state.phase).toBe('pausing');
  });

  it('an explicit auto-converge request is never turned into post-copy, even with post-copy permitted', () => {
    const r = replay(fx, AUTO_CONVERGE_BY_FLAVOR, { permitPostCopy: true, permitAutoConverge: true });
    expect(r.state.prepared?.plan.autoConverge).toBe(true);
    expect(of(r.actions, 'force-complete').filter((a) => a.how === 'switch-to-post-copy')).toEqual([]);
  });

  it("the fixed switchover (the default) leaves it to Nova's timeout: no forecast, nothing before it", () => {
    const r = replay(fx, POST_COPY_BY_IMAGE, {}, 'fixed');
    expect(r.steeredAtMs).toBeUndefined();
    expect(of(r.actions, 'report-forecast')).toEqual([]);
    expect(r.state.forecast.last).toBeUndefined();
  });

  it('reports the forecast once per iteration boundary, and progress carries the latest', () => {
    const r = replay(fx, POST_COPY_BY_IMAGE);
    const reported = of(r.actions, 'report-forecast').map((a) => a.forecast);
    expect(reported.length).toBeGreaterThan(0);
    expect(reported.every((f) => f.atIterationBoundary)).toBe(true);
    expect(new Set(reported.map((f) => f.iteration)).size).toBe(reported.length);
    const progress = of(r.actions, 'report-progress').at(-1)?.progress;
    expect(progress).toBeUndefined(); // ticks injected without the poll loop reading them report nothing
    expect(r.state.forecast.last?.iteration).toBe(reported.at(-1)?.iteration);
  });
});

describe('no false positive', () => {
  it('an idle guest (recorded: converged in 4 passes): no switch, no abort, no pause', () => {
    const r = replay(fixture('idle'), POST_COPY_BY_IMAGE);
    expect(r.steeredAtMs).toBeUndefined();
    expect(r.state.phase).toBe('pre-copy');
  });

  it('a light guest (recorded: converged in 11 passes): none either, post-copy allowed or both forbidden', () => {
    expect(replay(fixture('light'), POST_COPY_BY_IMAGE).steeredAtMs).toBeUndefined();
    expect(replay(fixture('light'), BOTH_FORBIDDEN).steeredAtMs).toBeUndefined();
  });

  it('auto-converge on (recorded: completed at a 60 % throttle): never aborted while the throttle still rises', () => {
    const fx = fixture('busy-auto-converge');
    const r = replay(fx, AUTO_CONVERGE_BY_FLAVOR, { permitAutoConverge: true });
    expect(r.state.prepared?.plan.autoConverge).toBe(true);
    expect(r.steeredAtMs).toBeUndefined();
  });
});

describe('untrusted stats', () => {
  it('a sample the forecast refuses (time going back) is left out, and the job goes on', () => {
    const fx = fixture('busy-pre-copy');
    const samples = [...fx.samples.slice(0, 20), { ...(fx.samples[5] as Fixture['samples'][number]) }];
    const r = replay({ ...fx, samples }, POST_COPY_BY_IMAGE);
    expect(r.state.phase).toBe('pre-copy');
    expect(r.state.forecast.last?.atMs).toBe(fx.samples[19]?.atMs);
  });
});
