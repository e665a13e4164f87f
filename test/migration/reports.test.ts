/** What a job reports — progress, steering, warnings, the outcome — field by field, and the events it heeds. */
import { describe, expect, it, vi } from 'vitest';
import { migrate, planMigration } from '../../src/index.js';
import { buildMigrationCall } from '../../src/migration/index.js';
import { FakeDomain, libvirtError, sleep, until } from './fake-libvirt.js';
import { attachJob, optionsFor, PC, startJob } from './helpers.js';

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

describe('events the job heeds', () => {
  it('takes the completed stats from the event when libvirt’s read fails', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain);
    await until(() => domain.migrating);
    domain.complete(undefined, { event: false });
    setTimeout(
      () =>
        domain.events.emit('jobCompleted', {
          domainUuid: domain.uuid,
          domainName: domain.name,
          stats: { type: 'completed', downtime: 31, raw: {} },
        }),
      20,
    );
    expect((await job.outcome).stats?.downtime).toBe(31);
  });

  it('ignores another domain’s job-completed event', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain);
    await until(() => domain.migrating);
    domain.events.emit('jobCompleted', {
      domainUuid: 'other',
      domainName: 'x',
      stats: { type: 'completed', downtime: 999, raw: {} },
    });
    domain.complete({ type: 'completed', downtime: 4, raw: {} });
    expect((await job.outcome).stats?.downtime).toBe(4);
  });

  it('reports an event stream error as a warning, and goes on', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain);
    await until(() => domain.migrating);
    domain.events.emit('error', new Error('event loop died'));
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome.status).toBe('completed');
    expect(outcome.warnings.map((w) => [w.source, w.message, w.error.message])).toEqual([
      ['events', 'the event stream failed', 'event loop died'],
    ]);
  });

  it('does not read the guest’s state once the migrate call returned', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain, { pollIntervalMs: 60_000 });
    await until(() => domain.migrating);
    const before = domain.calls.length;
    domain.complete();
    expect((await job.outcome).guest).toBe('destination');
    expect(domain.calls.slice(before)).toEqual([]);
  });

  it('stops its poll timer when the job ends', async () => {
    const cleared = vi.spyOn(globalThis, 'clearTimeout');
    try {
      const domain = new FakeDomain();
      const job = await startJob(domain, { pollIntervalMs: 60_000 });
      await until(() => domain.migrating);
      await sleep(10);
      cleared.mockClear();
      domain.complete();
      await job.outcome;
      expect(cleared).toHaveBeenCalled();
    } finally {
      cleared.mockRestore();
    }
  });

  it('an abort during preparation leaves a slow provider’s answer unused', async () => {
    const domain = new FakeDomain();
    const job = await migrate({
      ...optionsFor(domain),
      providers: { instanceMetadata: () => sleep(40).then(() => ({})), hostConfig: () => ({}) },
    });
    const plans: unknown[] = [];
    job.on('plan', (p) => plans.push(p));
    await until(() => job.status === 'preparing');
    job.abort();
    expect((await job.outcome).status).toBe('cancelled');
    await sleep(80);
    expect(plans).toEqual([]);
    expect(job.plan).toBeUndefined();
    expect(domain.calls).not.toContain('migrateToURI3');
  });
});

describe('attach, more', () => {
  it('accepts a job without an operation (libvirt before 3.3) and without elapsed time', async () => {
    const domain = new FakeDomain();
    domain.stats = { type: 'bounded', raw: {} };
    const job = await attachJob(domain);
    await until(() => job.status === 'running');
    await until(() => job.progress !== undefined);
    expect(job.progress?.elapsedMs).toBeLessThan(5000);
    domain.gone = true;
    expect((await job.outcome).status).toBe('completed');
  });

  it('names the missing job when there is none', async () => {
    const domain = new FakeDomain();
    const outcome = await (await attachJob(domain)).outcome;
    expect(outcome.error?.message).toBe(
      `domain ${domain.uuid} has no job running on the source: nothing to attach to`,
    );
    expect(outcome.error).toMatchObject({ key: 'domain', value: domain.uuid });
  });

  it('counts only the memory when block migration has an empty disk list', async () => {
    const domain = new FakeDomain();
    domain.domainXml =
      "<domain><devices><disk type='file'><source file='/a'/><target dev='vda'/></disk></devices></domain>";
    const job = await startJob(domain, { blockMigration: true, migrateDisks: [] });
    await until(() => domain.migrating);
    expect(job.dataGb).toBe(2);
    expect(domain.calls.some((c) => c.startsWith('blockInfo'))).toBe(false);
    // The XML is read once, before planning (the guest's devices), not again for the disks.
    expect(domain.calls.filter((c) => c === 'xml')).toHaveLength(1);
    expect(job.plan?.flagNames).not.toContain('NON_SHARED_INC');
    domain.complete();
    await job.outcome;
  });
});
