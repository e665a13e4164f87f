/** What a job reports — progress, steering, warnings, the outcome — field by field, and how listeners may fail. */
import { describe, expect, it } from 'vitest';
import { migrate, planMigration } from '../../src/index.js';
import { buildMigrationCall } from '../../src/migration/index.js';
import { FakeDomain, libvirtError, until } from '../support/fake-libvirt.js';
import { AC, optionsFor, PC, settle, startJob } from '../support/migration.js';

describe('reports', () => {
  it('progress carries every figure libvirt gave, and nothing it did not', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain, { dataGb: 2 });
    await until(() => domain.migrating);
    const stats = {
      type: 'unbounded' as const,
      operation: 5,
      memoryTotal: 10,
      memoryProcessed: 4,
      memoryRemaining: 6,
      dataRemaining: 7,
      memoryIteration: 3,
      memoryDirtyRate: 8,
      memoryBps: 9,
      autoConvergeThrottle: 20,
      memoryPostcopyRequests: 1,
      raw: {},
    };
    domain.stats = stats;
    await until(() => job.progress?.stats === stats && job.progress.downtimeMs === 50);
    const { elapsedMs, ...rest } = job.progress ?? { elapsedMs: -1 };
    expect(elapsedMs).toBeGreaterThanOrEqual(0);
    expect(rest).toStrictEqual({
      status: 'running',
      mode: 'pre-copy',
      memoryTotal: 10,
      memoryProcessed: 4,
      memoryRemaining: 6,
      dataRemaining: 7,
      iteration: 3,
      dirtyRate: 8,
      bandwidth: 9,
      throttle: 20,
      postCopyRequests: 1,
      downtimeMs: 50,
      stats,
    });
    domain.stats = { type: 'unbounded', raw: {} };
    await until(() => job.progress?.stats.memoryTotal === undefined);
    expect(Object.keys(job.progress ?? {}).sort()).toEqual([
      'downtimeMs',
      'elapsedMs',
      'mode',
      'stats',
      'status',
    ]);
    domain.complete();
    await job.outcome;
  });

  it('no progress before libvirt’s job exists', async () => {
    const domain = new FakeDomain();
    domain.jobOnMigrate = false;
    const job = await startJob(domain);
    await until(() => domain.migrating);
    const polls = domain.jobStatsCalls;
    await until(() => domain.jobStatsCalls > polls + 2);
    expect(job.progress).toBeUndefined();
    domain.complete();
    await job.outcome;
  });

  it('progress names the mode: pre-copy, paused by force-complete, post-copy', async () => {
    const domain = new FakeDomain();
    const paused = await startJob(domain, {}, { flavorExtraSpecs: { [AC]: 'true' } });
    await until(() => paused.progress !== undefined);
    expect(paused.progress?.mode).toBe('pre-copy');
    expect(await paused.forceComplete()).toBe('pause');
    await until(() => paused.progress?.mode === 'paused-by-force-complete');
    expect(paused.progress?.status).toBe('running');
    domain.complete();
    await paused.outcome;

    const other = new FakeDomain();
    const post = await startJob(other, {}, { flavorExtraSpecs: { [PC]: 'true' } });
    await until(() => other.migrating);
    await post.forceComplete();
    await until(() => post.progress?.mode === 'post-copy');
    expect(post.progress?.status).toBe('running (post-copy)');
    other.complete();
    await post.outcome;
  });

  it('the outcome: exact fields of a success, and of an error before any plan', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain);
    await until(() => domain.migrating);
    domain.complete({ type: 'completed', downtime: 3, raw: {} });
    const outcome = await job.outcome;
    expect(outcome).toStrictEqual({
      status: 'completed',
      guest: 'destination',
      postCopyFailed: false,
      stats: { type: 'completed', downtime: 3, raw: {} },
      plan: job.plan,
      steering: [],
      warnings: [],
    });
    expect(job.call).toStrictEqual(buildMigrationCall(planMigration(), optionsFor(domain).destination));
    const failing = new FakeDomain();
    const error = new Error('metadata service down');
    const refused = await migrate({
      ...optionsFor(failing),
      providers: {
        instanceMetadata: () => {
          throw error;
        },
        hostConfig: () => ({}),
      },
    });
    expect(await refused.outcome).toStrictEqual({
      status: 'error',
      guest: 'source',
      postCopyFailed: false,
      error,
      steering: [],
      warnings: [],
    });
    expect(refused.plan).toBeUndefined();
  });

  it('a steering record has no error key when libvirt accepted it', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain, {}, { flavorExtraSpecs: { [PC]: 'true' } });
    const seen: unknown[] = [];
    job.on('steering', (s) => seen.push(s));
    await until(() => job.progress !== undefined);
    await job.forceComplete();
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome.steering).toStrictEqual([
      { action: 'set-downtime', reason: 'downtime step: 50 ms', elapsedMs: expect.any(Number) },
      { action: 'switch-to-post-copy', reason: 'force-complete requested', elapsedMs: expect.any(Number) },
    ]);
    expect(seen).toStrictEqual(outcome.steering);
  });

  it('a steering call libvirt refuses is a warning with the LibvirtError, and in outcome.steering', async () => {
    const domain = new FakeDomain();
    const refusal = libvirtError(55, 'post-copy migration is not enabled');
    domain.script('startPostCopy', { error: refusal });
    const job = await startJob(domain, {}, { flavorExtraSpecs: { [PC]: 'true' } });
    const warnings: unknown[] = [];
    job.on('warning', (w) => warnings.push(w.error));
    await until(() => domain.migrating);
    await expect(job.forceComplete()).rejects.toBe(refusal);
    expect(warnings).toEqual([refusal]);
    expect(job.status).toBe('running');
    const outcome = await settle(job, domain);
    expect(outcome.steering).toEqual([
      expect.objectContaining({ action: 'switch-to-post-copy', error: refusal }),
    ]);
    expect(outcome.warnings.map((w) => w.source)).toEqual(['steering']);
  });

  it('a refused steering call’s warning names the action and the reason', async () => {
    const domain = new FakeDomain();
    domain.script('setMaxDowntime', { error: libvirtError(55, 'no job') });
    const job = await startJob(domain, { dataGb: 2 });
    await until(() => job.progress?.downtimeMs === 50);
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome.warnings.map((w) => [w.source, w.message])).toEqual([
      ['steering', 'set-downtime refused by libvirt (downtime step: 50 ms)'],
    ]);
  });
});

describe('listeners', () => {
  it('a throwing status listener does not make outcome reject', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain);
    job.on('status', () => {
      throw new Error('listener bug');
    });
    await until(() => domain.migrating);
    const outcome = await settle(job, domain);
    expect(outcome.status).toBe('completed');
    expect(outcome.warnings.some((w) => w.source === 'listener' && w.error.message === 'listener bug')).toBe(
      true,
    );
  });

  it('a throwing progress listener neither crashes nor skips the tick’s downtime and timeout logic', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain, { dataGb: 0.05 }, {}, { completionTimeout: 20 });
    let calls = 0;
    job.on('progress', () => {
      calls++;
      throw new Error('progress listener bug');
    });
    const seen: string[] = [];
    job.on('warning', (w) => seen.push(w.message));
    const outcome = await job.outcome;
    expect(calls).toBeGreaterThan(0);
    expect(domain.downtimes[0]).toBe(50);
    expect(outcome.status).toBe('cancelled');
    expect(seen).toContain("a 'progress' listener threw");
  });

  it('a throwing warning listener is kept in the outcome, without a loop', async () => {
    const domain = new FakeDomain();
    domain.script('setMaxDowntime', { error: libvirtError(55, 'no job') });
    const job = await startJob(domain, { dataGb: 2 });
    job.on('warning', () => {
      throw new Error('warning listener bug');
    });
    await until(() => job.progress?.downtimeMs === 50);
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome.warnings.map((w) => [w.source, w.message])).toEqual([
      ['steering', 'set-downtime refused by libvirt (downtime step: 50 ms)'],
      ['listener', "a 'warning' listener threw"],
    ]);
  });

  it('once listeners are called once', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain);
    const statuses: string[] = [];
    job.once('status', (s) => statuses.push(s));
    await until(() => domain.migrating);
    domain.complete();
    await job.outcome;
    expect(statuses).toEqual(['preparing']);
  });
});
