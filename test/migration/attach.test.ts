/** attachMigration(): following a migration started before a restart, to its end. */
import { describe, expect, it } from 'vitest';
import { attachMigration, type MigrateOptions, MigrationPolicyError } from '../../src/index.js';
import { destinationOf, FakeDomain, fakeBackend, libvirtError, until } from '../support/fake-libvirt.js';
import { attachJob, endMigration, runningMigration } from '../support/migration.js';

/** Attaches to the fake domain's migration; the destination is a fake too (a post-copy's end asks it). */
async function attach(domain: FakeDomain, overrides: Partial<MigrateOptions> = {}) {
  return attachMigration({
    backend: fakeBackend(destinationOf(domain)),
    source: { connection: domain.connection },
    domain: { uuid: domain.uuid },
    destination: { uri: 'qemu+tcp://dest/system' },
    providers: {
      instanceMetadata: () => ({ flavorExtraSpecs: { 'compute:live_migration_post_copy': 'true' } }),
      hostConfig: () => ({}),
    },
    pollIntervalMs: 10,
    ...overrides,
  });
}

describe('attachMigration(): following a migration started before a restart', () => {
  it('reports progress, steers with the recomputed plan, and sees the completion', async () => {
    const domain = new FakeDomain();
    domain.stats = { type: 'unbounded', operation: 5, timeElapsed: 30_000, memoryRemaining: 123, raw: {} };
    const job = await attach(domain);
    await until(() => job.progress !== undefined);
    expect(job.status).toBe('running');
    // libvirt's clock: 30 s had already passed.
    expect(job.progress?.elapsedMs).toBeGreaterThanOrEqual(30_000);
    expect(job.progress?.memoryRemaining).toBe(123);
    expect(await job.forceComplete()).toBe('switch-to-post-copy');
    expect(domain.calls).not.toContain('migrateToURI3');
    // The migration ends: the guest left the source.
    domain.stats = { type: 'none', raw: {} };
    domain.current = { state: 'shutoff', reason: 3 };
    domain.completedStats = { type: 'completed', downtime: 12, raw: {} };
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'completed', guest: 'destination' });
    expect(outcome.stats?.downtime).toBe(12);
  });

  it('reports a cancelled migration with the guest on the source', async () => {
    const domain = new FakeDomain();
    domain.stats = { type: 'unbounded', operation: 5, timeElapsed: 1000, raw: {} };
    const job = await attach(domain);
    await until(() => job.status === 'running');
    domain.stats = { type: 'none', raw: {} };
    domain.completedStats = { type: 'cancelled', errorMessage: 'operation aborted', raw: {} };
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'cancelled', guest: 'source' });
    expect(outcome.error?.message).toBe('operation aborted');
  });

  it('starts in post-copy when the source already is, and refuses abort', async () => {
    const domain = new FakeDomain();
    domain.stats = { type: 'unbounded', operation: 5, timeElapsed: 1000, raw: {} };
    domain.current = { state: 'paused', reason: 12 };
    const job = await attach(domain);
    await until(() => job.status === 'running (post-copy)');
    expect(() => job.abort()).toThrow(expect.objectContaining({ code: 'ABORT_IN_POST_COPY' }));
    domain.stats = { type: 'none', raw: {} };
    domain.current = { state: 'shutoff', reason: 3 };
    expect((await job.outcome).status).toBe('completed');
  });

  it('ends in error when there is nothing to attach to', async () => {
    const domain = new FakeDomain();
    const outcome = await (await attach(domain)).outcome;
    expect(outcome.status).toBe('error');
    expect(outcome.error).toBeInstanceOf(MigrationPolicyError);
    expect((outcome.error as MigrationPolicyError).code).toBe('MIGRATION_NOT_ACTIVE');
    expect(outcome.guest).toBe('source');
  });

  it('abort right after attach aborts the running migration in libvirt and keeps the slot until it ends', async () => {
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

  it('a force-complete asked before an attached job follows is carried out once it does', async () => {
    const domain = new FakeDomain();
    runningMigration(domain);
    const job = await attachJob(domain, { backend: fakeBackend(destinationOf(domain)) });
    const action = job.forceComplete();
    expect(job.status).toBe('queued');
    expect(await action).toBe('switch-to-post-copy');
    expect(domain.calls).toContain('startPostCopy');
    endMigration(domain, 'completed');
    expect((await job.outcome).status).toBe('completed');
  });

  it('in attach mode one failed job-stats read is not the end of the migration', async () => {
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
});

describe('attachMigration(): failures and cancellations', () => {
  it('reports a migration that failed with the guest on the source, libvirt’s message as the error', async () => {
    const domain = new FakeDomain();
    runningMigration(domain);
    const job = await attachJob(domain);
    await until(() => job.status === 'running');
    endMigration(domain, 'failed');
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'failed', guest: 'source', postCopyFailed: false });
    expect(outcome.error?.message).toBe('migration failed: connection reset');
    expect(outcome.stats?.type).toBe('failed');
  });

  it('says when libvirt kept no completed stats', async () => {
    const domain = new FakeDomain();
    runningMigration(domain);
    const job = await attachJob(domain);
    await until(() => job.status === 'running');
    domain.stats = { type: 'none', raw: {} };
    const outcome = await job.outcome;
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.message).toBe(
      'the migration ended with the guest still on the source (job unknown)',
    );
  });

  it('sees a post-copy that failed: the guest lives on the destination', async () => {
    const domain = new FakeDomain();
    runningMigration(domain);
    domain.current = { state: 'paused', reason: 12 };
    const job = await attachJob(domain, {
      postCopyRecovery: { windowMs: 0 },
      backend: fakeBackend(destinationOf(domain)),
    });
    await until(() => job.status === 'running (post-copy)');
    domain.current = { state: 'paused', reason: 13 };
    endMigration(domain, 'failed');
    expect(await job.outcome).toMatchObject({ status: 'failed', guest: 'destination', postCopyFailed: true });
    expect(domain.calls).not.toContain('resume');
  });

  it('ends when the domain left the source (no such domain)', async () => {
    const domain = new FakeDomain();
    runningMigration(domain);
    const job = await attachJob(domain);
    await until(() => job.status === 'running');
    domain.gone = true;
    expect(await job.outcome).toMatchObject({ status: 'completed', guest: 'destination' });
  });

  it('an abort on a following job is sent at once', async () => {
    const domain = new FakeDomain();
    runningMigration(domain);
    const job = await attachJob(domain);
    await until(() => job.status === 'running');
    job.abort();
    await until(() => domain.calls.includes('abortJob'));
    expect(await job.outcome).toMatchObject({ status: 'cancelled', guest: 'source' });
  });

  it('runs the monitor on libvirt’s clock and aborts past the completion timeout', async () => {
    const domain = new FakeDomain();
    runningMigration(domain, 60_000);
    const job = await attachJob(domain, {
      dataGb: 1,
      providers: { instanceMetadata: () => ({}), hostConfig: () => ({ completionTimeout: 30 }) },
    });
    const outcome = await job.outcome;
    expect(outcome.status).toBe('cancelled');
    expect(outcome.steering.map((s) => s.action)).toEqual(['set-downtime', 'abort']);
  });
});
