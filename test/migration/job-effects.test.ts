/**
 * What the job's effects do against libvirt, seen through the job: the event stream, the conclusion once
 * libvirt said the migration ended, the timers, the deadline of every call.
 */
import { describe, expect, it, vi } from 'vitest';
import { migrate } from '../../src/index.js';
import { FakeDomain, sleep, until } from '../support/fake-libvirt.js';
import {
  AC,
  attachJob,
  endMigration,
  optionsFor,
  runningMigration,
  settle,
  startJob,
} from '../support/migration.js';

describe('the event stream', () => {
  it('an event stream that never starts does not stop abort(), and the slot is freed at once', async () => {
    const domain = new FakeDomain();
    domain.events.ready = new Promise(() => undefined);
    const job = await startJob(domain);
    await until(() => job.status === 'preparing');
    job.abort();
    const outcome = await job.outcome;
    expect(outcome.status).toBe('cancelled');
    expect(domain.calls).not.toContain('migrateToURI3');
    const again = await startJob(domain);
    again.abort();
    expect((await again.outcome).status).toBe('cancelled');
  });

  it('an event stream that never starts is given up after 5 s: the migration goes on by polling', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const domain = new FakeDomain();
      domain.events.ready = new Promise(() => undefined);
      const job = await startJob(domain);
      const turn = () => new Promise((resolve) => setImmediate(resolve));
      await turn();
      await vi.advanceTimersByTimeAsync(4990);
      expect(domain.migrating).toBe(false);
      await vi.advanceTimersByTimeAsync(20);
      for (let i = 0; i < 5 && !domain.migrating; i++) await turn();
      expect(domain.migrating).toBe(true);
      expect(domain.events.closed).toBe(true);
      domain.complete();
      await vi.advanceTimersByTimeAsync(200);
      const outcome = await job.outcome;
      expect(outcome.status).toBe('completed');
      expect(outcome.warnings).toEqual([
        expect.objectContaining({
          source: 'events',
          error: expect.objectContaining({ message: 'the event stream did not start within 5000 ms' }),
        }),
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a close() that hangs does not keep the slot', async () => {
    const domain = new FakeDomain();
    domain.events.closeHangs = true;
    const job = await startJob(domain);
    await until(() => domain.migrating);
    domain.complete();
    expect((await job.outcome).status).toBe('completed');
    expect(domain.events.closed).toBe(true);
    const again = await startJob(domain);
    await until(() => domain.migrating);
    expect((await settle(again, domain)).status).toBe('completed');
  });

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
});

describe('concluding', () => {
  it('the outcome resolves as soon as the migrate call returned, without waiting for the event', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain);
    await until(() => domain.migrating);
    domain.completedStats = { type: 'completed', downtime: 9, timeElapsed: 747, raw: {} };
    const returned = performance.now();
    domain.complete(undefined, { event: false });
    const outcome = await job.outcome;
    expect(performance.now() - returned).toBeLessThan(250);
    expect(outcome).toMatchObject({ status: 'completed', guest: 'destination' });
    expect(outcome.stats?.timeElapsed).toBe(747);
  });

  it('without completed stats at all, the outcome still comes within the short deadline', async () => {
    const domain = new FakeDomain();
    const failing = Promise.reject(new Error('no events'));
    failing.catch(() => undefined);
    domain.events.ready = failing;
    const job = await startJob(domain);
    await until(() => domain.migrating);
    domain.script('completedStats', { hang: true });
    const returned = performance.now();
    domain.complete(undefined, { event: false });
    const outcome = await job.outcome;
    expect(performance.now() - returned).toBeLessThan(400);
    expect(outcome.status).toBe('completed');
    // A completed outcome always has stats: here libvirt reported none, so every figure is undefined.
    expect(outcome.stats).toEqual({ type: 'completed', raw: {} });
    expect(outcome.warnings[0]).toMatchObject({ source: 'events' });
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
});

describe('timers', () => {
  it('polls every pollIntervalMs, not sooner', async () => {
    const domain = new FakeDomain();
    const job = await migrate(optionsFor(domain, { pollIntervalMs: 300 }));
    await until(() => domain.migrating);
    await sleep(150);
    expect(domain.jobStatsCalls).toBe(0);
    await until(() => domain.jobStatsCalls > 0, 800);
    domain.complete();
    await job.outcome;
  });

  it('attach without an event stream keeps the process alive until the outcome', async () => {
    const created: NodeJS.Timeout[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      const timer = realSetTimeout(fn, ms);
      if (ms === 200) created.push(timer);
      return timer;
    }) as typeof setTimeout);
    try {
      const domain = new FakeDomain();
      domain.connection.eventsError = new Error('no event loop');
      runningMigration(domain);
      const job = await attachJob(domain, { pollIntervalMs: 200 });
      await until(() => created.length > 0);
      // The poll timer is ref'd: Node would not exit with the migration unreported.
      expect(created.every((timer) => timer.hasRef())).toBe(true);
      endMigration(domain, 'completed');
      expect((await job.outcome).status).toBe('completed');
    } finally {
      spy.mockRestore();
    }
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
});

describe('deadlines', () => {
  it('gives every call a deadline: 10 s for state reads and steering, 100 ms for the completed stats', async () => {
    const domain = new FakeDomain();
    domain.completedStats = { type: 'completed', raw: {} };
    const job = await startJob(domain, { dataGb: 2 }, { flavorExtraSpecs: { [AC]: 'true' } });
    await until(() => domain.downtimes.length > 0);
    await job.forceComplete();
    job.abort();
    const outcome = await job.outcome;
    expect(outcome.status).toBe('cancelled');
    const deadlines = new Map(domain.deadlines.filter(([, ms]) => ms !== undefined));
    expect(Object.fromEntries(deadlines)).toEqual({
      state: 10_000,
      jobStats: 10_000,
      setMaxDowntime: 10_000,
      suspend: 10_000,
      abortJob: 10_000,
      resume: 10_000,
      completedStats: 100,
    });
  });
});
