/** MigrationJob, against the scripted libvirt: its lifecycle, force-complete, abort, the monitor, the abort signal. */
import { describe, expect, it } from 'vitest';
import { LibvirtError, migrate } from '../../src/index.js';
import {
  destinationOf,
  FakeDomain,
  fakeBackend,
  libvirtError,
  sleep,
  until,
} from '../support/fake-libvirt.js';
import { AC, optionsFor, PC, settle, startJob, startRecorded } from '../support/migration.js';

describe('MigrationJob: the lifecycle', () => {
  it('reports queued → preparing → running → completed, with the completed stats', async () => {
    const domain = new FakeDomain();
    const { job, statuses } = await startRecorded(domain);
    await until(() => domain.migrating);
    domain.complete({ type: 'completed', downtime: 17, timeElapsed: 3210, raw: {} });
    const outcome = await job.outcome;
    expect(statuses).toEqual(['queued', 'preparing', 'running', 'completed']);
    expect(outcome).toMatchObject({ status: 'completed', guest: 'destination', postCopyFailed: false });
    expect(outcome.stats?.downtime).toBe(17);
    expect(domain.events.closed).toBe(true);
  });
});

describe('MigrationJob: force-complete', () => {
  it('switches a post-copy migration to post-copy, after which abort is refused', async () => {
    const domain = new FakeDomain();
    const { job, statuses } = await startRecorded(domain, {}, { flavorExtraSpecs: { [PC]: 'true' } });
    await until(() => domain.migrating);
    expect(await job.forceComplete()).toBe('switch-to-post-copy');
    expect(domain.calls).toContain('startPostCopy');
    expect(job.status).toBe('running (post-copy)');
    expect(() => job.abort()).toThrow(expect.objectContaining({ code: 'ABORT_IN_POST_COPY' }));
    expect(domain.calls).not.toContain('abortJob');
    domain.complete();
    const outcome = await job.outcome;
    expect(statuses).toEqual(['queued', 'preparing', 'running', 'running (post-copy)', 'completed']);
    expect(outcome.steering.map((s) => s.action)).toContain('switch-to-post-copy');
  });

  it('pauses an auto-converge instance (never post-copy) and resumes it when the migration fails', async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(
      domain,
      {},
      { flavorExtraSpecs: { [AC]: 'true' } },
      { permitPostCopy: true },
    );
    await until(() => domain.migrating);
    expect(await job.forceComplete()).toBe('pause');
    expect(domain.calls).not.toContain('startPostCopy');
    expect(domain.current.state).toBe('paused');
    domain.fail();
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'failed', guest: 'source' });
    expect(outcome.error).toBeInstanceOf(LibvirtError);
    expect(domain.current.state).toBe('running');
    const actions = outcome.steering.map((s) => s.action);
    expect(actions.indexOf('pause')).toBeGreaterThanOrEqual(0);
    expect(actions.indexOf('resume')).toBeGreaterThan(actions.indexOf('pause'));
  });

  it('waits for the copy to start when asked during preparation', async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(domain, {}, { flavorExtraSpecs: { [PC]: 'true' } });
    const action = job.forceComplete();
    expect(job.status).toBe('queued');
    expect(await action).toBe('switch-to-post-copy');
    expect(domain.calls.indexOf('startPostCopy')).toBeGreaterThan(domain.calls.indexOf('migrateToURI3'));
    domain.complete();
    await job.outcome;
  });

  it('resolves a pending force-complete with none when the job ends before the copy starts', async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(domain, {}, { flavorExtraSpecs: { [PC]: 'maybe' } });
    const action = job.forceComplete();
    expect((await job.outcome).status).toBe('error');
    expect(await action).toBe('none');
  });

  it("waits for libvirt's job to exist before switching", async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(domain, {}, { flavorExtraSpecs: { [PC]: 'true' } });
    await until(() => job.status === 'running');
    domain.stats = { type: 'none', raw: {} };
    const action = job.forceComplete();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(domain.calls).not.toContain('startPostCopy');
    domain.stats = { type: 'unbounded', raw: {} };
    expect(await action).toBe('switch-to-post-copy');
    domain.complete();
    await job.outcome;
  });

  it('a force-complete waits while libvirt’s job is in its setup (memory total 0): QEMU refuses post-copy then', async () => {
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

  it('does nothing once the migration ended', async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(domain);
    await until(() => domain.migrating);
    domain.complete();
    await job.outcome;
    expect(await job.forceComplete()).toBe('none');
  });

  it('force-complete leaves a guest paused by the operator alone, and a failure does not resume it', async () => {
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

  it('a guest paused by someone else during the migration is not ours to pause or resume', async () => {
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

  it('a second force-complete of a guest we paused does not suspend it again', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain, {}, { flavorExtraSpecs: { [AC]: 'true' } });
    await until(() => domain.migrating);
    expect(await job.forceComplete()).toBe('pause');
    expect(await job.forceComplete()).toBe('pause');
    expect(domain.calls.filter((c) => c === 'suspend')).toHaveLength(1);
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome.steering.map((s) => s.action)).toEqual(['pause']);
    expect(domain.calls).not.toContain('resume');
  });

  it('two force-completes asked at once share one suspend', async () => {
    const domain = new FakeDomain();
    domain.script('suspend', { delayMs: 30 });
    const job = await startJob(domain, {}, { flavorExtraSpecs: { [AC]: 'true' } });
    await until(() => domain.migrating);
    expect(await Promise.all([job.forceComplete(), job.forceComplete()])).toEqual(['pause', 'pause']);
    expect(domain.calls.filter((c) => c === 'suspend')).toHaveLength(1);
    domain.complete();
    await job.outcome;
  });

  it('a refused suspend rejects force-complete and leaves nothing to resume', async () => {
    const domain = new FakeDomain();
    domain.script('suspend', { error: libvirtError(55, 'domain is not running') });
    const job = await startJob(domain, {}, { flavorExtraSpecs: { [AC]: 'true' } });
    await until(() => domain.migrating);
    await expect(job.forceComplete()).rejects.toBeInstanceOf(LibvirtError);
    domain.current = { state: 'paused', reason: 1 };
    domain.fail();
    const outcome = await job.outcome;
    expect(domain.calls).not.toContain('resume');
    expect(outcome.steering).toEqual([
      expect.objectContaining({ action: 'pause', error: expect.any(LibvirtError) }),
    ]);
  });

  it('resumes our pause when the migration fails, and reports a failed resume with both errors', async () => {
    const domain = new FakeDomain();
    domain.script('resume', { error: libvirtError(1, 'resume failed') });
    const job = await startJob(domain, {}, { flavorExtraSpecs: { [AC]: 'true' } });
    await until(() => domain.migrating);
    await job.forceComplete();
    domain.fail();
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'failed', guest: 'source' });
    expect(outcome.error).toBeInstanceOf(AggregateError);
    expect(outcome.error?.message).toBe(
      'virDomainMigrateToURI3: internal error: migration failed (libvirt error 1, domain 10); resuming the guest failed too',
    );
    expect(outcome.steering.map((s) => [s.action, s.error === undefined])).toEqual([
      ['pause', true],
      ['resume', false],
    ]);
  });
});

describe('MigrationJob: abort and failures', () => {
  it('aborts a running migration: cancelled, guest still on the source', async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(domain);
    await until(() => domain.migrating);
    job.abort();
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'cancelled', guest: 'source' });
    expect(domain.calls).toContain('abortJob');
  });

  it('an abort before the libvirt call means the call is never made', async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(domain);
    job.abort();
    const outcome = await job.outcome;
    expect(outcome.status).toBe('cancelled');
    expect(domain.calls).not.toContain('migrateToURI3');
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

  it('refuses abort after the end', async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(domain);
    await until(() => domain.migrating);
    domain.complete();
    await job.outcome;
    expect(() => job.abort()).toThrow(expect.objectContaining({ code: 'MIGRATION_NOT_ACTIVE' }));
  });

  it('an abort libvirt refuses is retried on the next poll', async () => {
    const domain = new FakeDomain();
    domain.script('abortJob', { error: libvirtError(55, 'no job is active on the domain') });
    const job = await startJob(domain);
    await until(() => domain.migrating);
    job.abort();
    const outcome = await job.outcome;
    expect(outcome.status).toBe('cancelled');
    expect(domain.calls.filter((c) => c === 'abortJob')).toHaveLength(2);
    expect(outcome.steering.map((s) => [s.action, s.error === undefined])).toEqual([
      ['abort', false],
      ['abort', true],
    ]);
  });

  it('abort() twice sends one abort', async () => {
    const domain = new FakeDomain();
    domain.script('abortJob', { delayMs: 20 });
    const job = await startJob(domain);
    await until(() => domain.migrating);
    job.abort();
    job.abort();
    expect((await job.outcome).status).toBe('cancelled');
    expect(domain.calls.filter((c) => c === 'abortJob')).toHaveLength(1);
  });

  it('abort is refused while switching to post-copy', async () => {
    const domain = new FakeDomain();
    domain.script('startPostCopy', { delayMs: 30 });
    const job = await startJob(
      domain,
      {},
      { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'true' } },
    );
    await until(() => job.progress !== undefined);
    const switching = job.forceComplete();
    expect(() => job.abort()).toThrow(expect.objectContaining({ code: 'ABORT_IN_POST_COPY' }));
    expect(await switching).toBe('switch-to-post-copy');
    domain.complete();
    await job.outcome;
  });

  it('an abort racing libvirt’s own switch to post-copy is dropped with a warning', async () => {
    const domain = new FakeDomain();
    domain.jobOnMigrate = false;
    const job = await startJob(domain, {}, {}, { permitPostCopy: true });
    await until(() => domain.migrating);
    job.abort();
    domain.startJob();
    domain.current = { state: 'paused', reason: 12 };
    await until(() => job.status === 'running (post-copy)');
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome.status).toBe('completed');
    expect(domain.calls).not.toContain('abortJob');
    expect(outcome.steering).toEqual([
      expect.objectContaining({
        action: 'abort',
        error: expect.objectContaining({ code: 'ABORT_IN_POST_COPY' }),
      }),
    ]);
  });

  it('with an abort and a force-complete both waiting, only the abort is carried out', async () => {
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

  it('an abort libvirt never accepted, then an unrelated failure, is reported failed', async () => {
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

  it('never resumes the source after a failed post-copy: the guest lives on the destination', async () => {
    const domain = new FakeDomain();
    const destination = destinationOf(domain);
    const { job } = await startRecorded(
      domain,
      { postCopyRecovery: { windowMs: 0 }, backend: fakeBackend(destination) },
      { flavorExtraSpecs: { [PC]: 'true' } },
    );
    await until(() => domain.migrating);
    await job.forceComplete();
    domain.fail(
      new LibvirtError('virDomainMigrateToURI3', 1, 10, "job 'migration in' failed in post-copy phase"),
    );
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({
      status: 'failed',
      guest: 'destination',
      postCopyFailed: true,
      recovery: { attempts: 0, recovered: false },
      split: { authoritative: 'destination', destination: 'post-copy-failed' },
    });
    expect(domain.calls).not.toContain('resume');
  });

  it('notices a post-copy switch it did not make (libvirt or another client) and then refuses abort', async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(domain, {}, {}, { permitPostCopy: true });
    await until(() => domain.migrating);
    domain.current = { state: 'paused', reason: 12 };
    await until(() => job.status === 'running (post-copy)');
    expect(() => job.abort()).toThrow(expect.objectContaining({ code: 'ABORT_IN_POST_COPY' }));
    domain.complete();
    await job.outcome;
  });

  it('the guest is unknown when the migration failed and the domain is gone from the source', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain);
    await until(() => domain.migrating);
    domain.gone = true;
    domain.fail();
    expect(await job.outcome).toMatchObject({ status: 'failed', guest: 'unknown' });
  });

  it('the guest is unknown when its state cannot be read after a failure', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain);
    await until(() => domain.migrating);
    domain.script('state', {
      error: new LibvirtError('virDomainGetState', 0, 0, 'timed out', 'LIBVIRT_TIMEOUT'),
    });
    domain.fail();
    expect(await job.outcome).toMatchObject({ status: 'failed', guest: 'unknown' });
  });
});

describe('MigrationJob: the monitor', () => {
  it('emits progress from job stats and raises the downtime', async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(domain, { dataGb: 2 });
    const seen: number[] = [];
    job.on('progress', (p) => seen.push(p.memoryRemaining ?? -1));
    await until(() => seen.length >= 2);
    expect(seen[0]).toBe(600);
    expect(domain.downtimes[0]).toBe(50);
    expect(job.progress?.downtimeMs).toBe(50);
    domain.complete();
    await job.outcome;
  });

  it('no downtime step before libvirt’s job runs; a refused step is not recorded and is retried', async () => {
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

  it('aborts after the completion timeout (abort action)', async () => {
    const domain = new FakeDomain();
    // 20 s per GiB × 0.05 GiB = 1 s.
    const { job } = await startRecorded(domain, { dataGb: 0.05 }, {}, { completionTimeout: 20 });
    const outcome = await job.outcome;
    expect(outcome.status).toBe('cancelled');
    expect(outcome.steering.find((s) => s.action === 'abort')?.reason).toContain('not complete after 1 s');
    expect(outcome.guest).toBe('source');
  });

  it('switches to post-copy after the timeout with force_complete when post-copy is effective', async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(
      domain,
      { dataGb: 0.05 },
      {},
      { completionTimeout: 20, timeoutAction: 'force_complete', permitPostCopy: true },
    );
    await until(() => domain.calls.includes('startPostCopy'));
    expect(job.status).toBe('running (post-copy)');
    domain.complete();
    expect((await job.outcome).status).toBe('completed');
  });

  it('pauses after the timeout with force_complete for an auto-converge instance', async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(
      domain,
      { dataGb: 0.05 },
      { flavorExtraSpecs: { [AC]: 'true' } },
      { completionTimeout: 20, timeoutAction: 'force_complete', permitPostCopy: true },
    );
    await until(() => domain.calls.includes('suspend'));
    expect(domain.calls).not.toContain('startPostCopy');
    domain.complete();
    expect((await job.outcome).status).toBe('completed');
  });
});

describe('MigrationJob: the abort signal', () => {
  it('aborts through the signal like abort()', async () => {
    const domain = new FakeDomain();
    const controller = new AbortController();
    const job = await startJob(domain, { signal: controller.signal });
    await until(() => domain.migrating);
    controller.abort();
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'cancelled', guest: 'source' });
    expect(outcome.steering).toEqual([expect.objectContaining({ action: 'abort', reason: 'abort signal' })]);
  });

  it('a signal aborted before the job runs means libvirt is never asked to migrate', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain, { signal: AbortSignal.abort() });
    expect((await job.outcome).status).toBe('cancelled');
    expect(domain.calls).not.toContain('migrateToURI3');
  });

  it('a signal in post-copy is refused like abort(): a warning, and the migration goes on', async () => {
    const domain = new FakeDomain();
    const controller = new AbortController();
    const job = await startJob(domain, { signal: controller.signal }, { flavorExtraSpecs: { [PC]: 'true' } });
    await until(() => domain.migrating);
    await job.forceComplete();
    controller.abort();
    expect(domain.calls).not.toContain('abortJob');
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome.status).toBe('completed');
    expect(outcome.warnings).toEqual([
      expect.objectContaining({
        source: 'signal',
        error: expect.objectContaining({ code: 'ABORT_IN_POST_COPY' }),
      }),
    ]);
  });

  it('stops listening to the signal when the job ends', async () => {
    const domain = new FakeDomain();
    const controller = new AbortController();
    const job = await startJob(domain, { signal: controller.signal });
    await until(() => domain.migrating);
    domain.complete();
    await job.outcome;
    // Were the job still listening, this abort would be refused (MIGRATION_NOT_ACTIVE) as a warning.
    const warnings: unknown[] = [];
    job.on('warning', (w) => warnings.push(w));
    controller.abort();
    expect(warnings).toEqual([]);
  });
});
