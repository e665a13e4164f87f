/**
 * Issue 8, section 3: each numbered bug of the old MigrationJob, as a regression test (item 14 belongs to
 * the policy's downtime steps). The row of job-machine.ts that fixes it is named in each test.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  LibvirtError,
  type MigrationJob,
  MigrationJobError,
  type MigrationStatus,
  migrate,
} from '../../src/index.js';
import { FakeDomain, libvirtError, sleep, until } from './fake-libvirt.js';
import { attachJob, endMigration, optionsFor, PC, runningMigration, startJob } from './helpers.js';

async function settle(job: MigrationJob, domain: FakeDomain) {
  if (domain.migrating) domain.complete();
  return job.outcome;
}

describe('issue 8 §3: MigrationJob bugs', () => {
  it('1. abort right after attach aborts the running migration in libvirt and keeps the slot until it ends', async () => {
    const domain = new FakeDomain();
    runningMigration(domain);
    const job = await attachJob(domain);
    job.abort();
    await until(() => domain.calls.includes('abortJob'));
    // The slot is held while libvirt's job is still ending.
    await expect(attachJob(domain)).rejects.toMatchObject({ code: 'ALREADY_MIGRATING' });
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'cancelled', guest: 'source' });
    expect(outcome.steering.map((s) => s.action)).toEqual(['abort']);
  });

  it('2. force-complete leaves a guest paused by the operator alone, and a failure does not resume it', async () => {
    const domain = new FakeDomain();
    domain.current = { state: 'paused', reason: 1 };
    const job = await startJob(domain);
    await until(() => domain.migrating);
    expect(await job.forceComplete()).toBe('none');
    expect(domain.calls).not.toContain('suspend');
    domain.fail();
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'failed', guest: 'source' });
    expect(domain.calls).not.toContain('resume');
    expect(domain.current.state).toBe('paused');
  });

  it('2. a guest paused by someone else during the migration is not ours to pause or resume', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain);
    const progressed = job.progress;
    await until(() => domain.migrating && job.progress !== progressed);
    domain.current = { state: 'paused', reason: 1 };
    const polls = domain.jobStatsCalls;
    await until(() => domain.jobStatsCalls > polls + 1);
    expect(await job.forceComplete()).toBe('none');
    domain.fail();
    expect((await job.outcome).guest).toBe('source');
    expect(domain.calls).not.toContain('suspend');
    expect(domain.calls).not.toContain('resume');
  });

  it('3. a force-complete asked before an attached job follows is carried out once it does', async () => {
    const domain = new FakeDomain();
    runningMigration(domain);
    const job = await attachJob(domain);
    const action = job.forceComplete();
    expect(job.status).toBe('queued');
    expect(await action).toBe('switch-to-post-copy');
    expect(domain.calls).toContain('startPostCopy');
    endMigration(domain, 'completed');
    expect((await job.outcome).status).toBe('completed');
  });

  it('4. an event stream that never starts does not stop abort(), and the slot is freed at once', async () => {
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

  it('4. an event stream that never starts is given up after 5 s: the migration goes on by polling', async () => {
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

  it('4. a close() that hangs does not keep the slot', async () => {
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

  it('5. in attach mode one failed job-stats read is not the end of the migration', async () => {
    const domain = new FakeDomain();
    runningMigration(domain);
    const job = await attachJob(domain);
    await until(() => job.status === 'running');
    domain.script('jobStats', { error: libvirtError(1, 'internal error: cannot acquire state change lock') });
    const polls = domain.jobStatsCalls;
    await until(() => domain.jobStatsCalls > polls + 2);
    expect(job.status).toBe('running');
    endMigration(domain, 'completed');
    expect((await job.outcome).status).toBe('completed');
  });

  it('6. no downtime step before libvirt’s job runs; a refused step is not recorded and is retried', async () => {
    const domain = new FakeDomain();
    domain.jobOnMigrate = false;
    domain.script('setMaxDowntime', { error: libvirtError(55, 'no job is active on the domain') });
    const job = await startJob(domain, { dataGb: 2 });
    await until(() => domain.migrating);
    await sleep(50);
    expect(domain.calls.filter((c) => c.startsWith('setMaxDowntime'))).toEqual([]);
    domain.startJob();
    await until(() => domain.downtimes.length === 1);
    expect(domain.calls.filter((c) => c.startsWith('setMaxDowntime'))).toEqual([
      'setMaxDowntime:50',
      'setMaxDowntime:50',
    ]);
    await until(() => job.progress?.downtimeMs === 50);
    const outcome = await settle(job, domain);
    const steps = outcome.steering.filter((s) => s.action === 'set-downtime');
    expect(steps.map((s) => s.error instanceof LibvirtError)).toEqual([true, false]);
  });

  it('6. a force-complete waits while libvirt’s job is in its setup (memory total 0): QEMU refuses post-copy then', async () => {
    const domain = new FakeDomain();
    domain.jobOnMigrate = false;
    // What the lab showed: libvirt's job exists but QEMU's migration has not started, and startPostCopy there
    // fails with "Enable postcopy with migrate_set_capability before the start of migration".
    const job = await startJob(domain, {}, { flavorExtraSpecs: { [PC]: 'true' } });
    await until(() => domain.migrating);
    domain.stats = { type: 'unbounded', operation: 5, memoryTotal: 0, memoryProcessed: 0, raw: {} };
    const action = job.forceComplete();
    await sleep(100);
    expect(domain.calls).not.toContain('startPostCopy');
    domain.startJob();
    expect(await action).toBe('switch-to-post-copy');
    expect(domain.calls.filter((c) => c === 'startPostCopy')).toEqual(['startPostCopy']);
    await settle(job, domain);
  });

  it('7. a steering call libvirt refuses is a warning with the LibvirtError, and in outcome.steering', async () => {
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

  it('8. a throwing status listener does not make outcome reject', async () => {
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

  it('8. a throwing progress listener neither crashes nor skips the tick’s downtime and timeout logic', async () => {
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

  it('9. a retry started from the terminal status listener is accepted', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain);
    let retry: Promise<MigrationJob> | undefined;
    job.on('status', (status: MigrationStatus) => {
      if (status === 'failed') retry = migrate(optionsFor(domain));
    });
    await until(() => domain.migrating);
    domain.fail();
    await job.outcome;
    const second = await (retry as Promise<MigrationJob>);
    await until(() => domain.migrating);
    expect((await settle(second, domain)).status).toBe('completed');
  });

  it('10. with an abort and a force-complete both waiting, only the abort is carried out', async () => {
    const domain = new FakeDomain();
    domain.jobOnMigrate = false;
    const job = await startJob(domain, {}, { flavorExtraSpecs: { [PC]: 'true' } });
    await until(() => domain.migrating);
    const action = job.forceComplete();
    job.abort();
    domain.startJob();
    expect(await action).toBe('none');
    const outcome = await job.outcome;
    expect(outcome.status).toBe('cancelled');
    expect(domain.calls).toContain('abortJob');
    expect(domain.calls).not.toContain('startPostCopy');
  });

  it('11. an abort libvirt never accepted, then an unrelated failure, is reported failed', async () => {
    const domain = new FakeDomain();
    domain.jobOnMigrate = false;
    const job = await startJob(domain);
    await until(() => domain.migrating);
    job.abort();
    await sleep(30);
    domain.fail(
      libvirtError(38, 'unable to connect to server: Connection refused', 'virDomainMigrateToURI3'),
    );
    const outcome = await job.outcome;
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.message).toContain('Connection refused');
    expect(domain.calls).not.toContain('abortJob');
  });

  it('12. attach follows outgoing migrations only: a dump is not followed nor aborted', async () => {
    const domain = new FakeDomain();
    domain.stats = { type: 'unbounded', operation: 8, timeElapsed: 100, raw: {} };
    const job = await attachJob(domain, { dataGb: 0.01 });
    const outcome = await job.outcome;
    expect(outcome.status).toBe('error');
    expect(outcome.error).toMatchObject({ code: 'MIGRATION_NOT_ACTIVE' });
    expect(outcome.error?.message).toContain('operation 8');
    expect(domain.calls).not.toContain('abortJob');
  });

  it('13. attach without an event stream keeps the process alive until the outcome', async () => {
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

  it('18. the outcome resolves as soon as the migrate call returned, without waiting for the event', async () => {
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

  it('18. without completed stats at all, the outcome still comes within the short deadline', async () => {
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

  it('17. refuses a connection that is undefined and a domain with both name and a numeric uuid', async () => {
    const domain = new FakeDomain();
    for (const overrides of [
      { source: { connection: undefined as never } },
      { domain: { name: 'guest', uuid: 5 } as never },
      { domain: { uuid: '' } },
    ]) {
      const error = await migrate(optionsFor(domain, overrides)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationJobError);
      expect(error).toMatchObject({ code: 'INVALID_OPTIONS' });
    }
    expect(domain.calls).toEqual([]);
  });
});
