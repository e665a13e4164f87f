import { describe, expect, it } from 'vitest';
import { attachMigration, type MigrateOptions, MigrationPolicyError } from '../../src/index.js';
import { FakeDomain, until } from '../support/fake-libvirt.js';

async function attach(domain: FakeDomain, overrides: Partial<MigrateOptions> = {}) {
  return attachMigration({
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
});
