/** What the job reads just before the libvirt call, and what it refuses to follow. */
import { describe, expect, it } from 'vitest';
import { MigrateFlags as F, type InstanceMetadata, MigrationPolicyError, migrate } from '../../src/index.js';
import { resolveOptions } from '../../src/migration/options.js';
import { prepareMigration } from '../../src/migration/prepare.js';
import { FakeDomain, until } from '../support/fake-libvirt.js';
import { AC, attachJob, optionsFor, PC, startRecorded } from '../support/migration.js';

describe('the preparation: read just before libvirt', () => {
  it('calls the providers after migrate() returned and plans with what they say then', async () => {
    const domain = new FakeDomain();
    let meta: InstanceMetadata = { flavorExtraSpecs: { [PC]: 'false' } };
    let host: object = {};
    const job = await migrate({
      ...optionsFor(domain),
      providers: { instanceMetadata: () => meta, hostConfig: () => host },
    });
    // A resize and a nova.conf reload land after the job was created, before libvirt is called.
    meta = { flavorExtraSpecs: { [PC]: 'true' } };
    host = { bandwidth: 42 };
    await until(() => domain.migrating);
    expect(domain.migrations).toHaveLength(1);
    expect(domain.migrations[0]?.flags).toBe(
      F.LIVE | F.PEER2PEER | F.PERSIST_DEST | F.UNDEFINE_SOURCE | F.POSTCOPY,
    );
    expect(domain.migrations[0]?.params).toEqual({ migrateUri: 'tcp://192.0.2.7', bandwidth: 42 });
    expect(job.plan?.postCopy).toBe(true);
    domain.complete();
    await job.outcome;
  });

  it("sizes the watchdog from the guest and the link: a resume's bitmap at the bandwidth, 4 times over", async () => {
    const domain = new FakeDomain();
    const sized = (overrides: object) =>
      prepareMigration(
        domain,
        resolveOptions({ ...optionsFor(domain, { dataGb: 64, ...overrides }, {}, { bandwidth: 1 }) }),
        'start',
        () => undefined,
      );
    // 64 GiB of 4 KiB pages is a 2 MiB bitmap: 8 s at 1 MiB/s on top of the fixed 60 s.
    expect((await sized({})).watchdog).toEqual({
      migrateCallMs: 60_000,
      resumeAttemptMs: 68_000,
      abortMs: 45_000,
      forceCompleteSwitchMs: 45_000,
    });
    expect((await sized({ watchdog: { resumeAttemptMs: 5_000 } })).watchdog?.resumeAttemptMs).toBe(5_000);
  });

  it('awaits async providers and reads the guest state right before the call', async () => {
    const domain = new FakeDomain();
    domain.current = { state: 'paused', reason: 1 };
    const job = await migrate({
      ...optionsFor(domain),
      providers: {
        instanceMetadata: async () => ({ imageProperties: { compute_live_migration_post_copy: 'true' } }),
        hostConfig: async () => ({ permitAutoConverge: true }),
      },
    });
    await until(() => domain.migrating);
    // Paused: post-copy dropped even though the image asks for it.
    expect(domain.migrations[0]?.flags).toBe(F.LIVE | F.PEER2PEER | F.PERSIST_DEST | F.UNDEFINE_SOURCE);
    expect(job.plan?.reasons[0]).toMatch(/guest is paused/);
    domain.complete();
    await job.outcome;
  });

  it('ends in error, never calling libvirt, when the metadata is refused', async () => {
    const domain = new FakeDomain();
    const { job } = await startRecorded(domain, {}, { flavorExtraSpecs: { [PC]: 'true', [AC]: 'true' } });
    const outcome = await job.outcome;
    expect(outcome.status).toBe('error');
    expect(outcome.error).toBeInstanceOf(MigrationPolicyError);
    expect((outcome.error as MigrationPolicyError).code).toBe('CONFLICTING_FEATURES');
    expect(outcome.guest).toBe('source');
    expect(domain.calls).not.toContain('migrateToURI3');
  });

  it('ends in error when a provider throws', async () => {
    const domain = new FakeDomain();
    const job = await migrate({
      ...optionsFor(domain),
      providers: {
        instanceMetadata: () => {
          throw new Error('metadata service down');
        },
        hostConfig: () => ({}),
      },
    });
    const outcome = await job.outcome;
    expect(outcome.status).toBe('error');
    expect(outcome.error?.message).toBe('metadata service down');
    expect(domain.calls).not.toContain('migrateToURI3');
  });
});

describe('the preparation of an attach: an outgoing migration only', () => {
  it('attach follows outgoing migrations only: a dump is not followed nor aborted', async () => {
    const domain = new FakeDomain();
    domain.stats = { type: 'unbounded', operation: 8, timeElapsed: 100, raw: {} };
    const job = await attachJob(domain, { dataGb: 0.01 });
    const outcome = await job.outcome;
    expect(outcome.status).toBe('error');
    expect(outcome.error).toMatchObject({ code: 'MIGRATION_NOT_ACTIVE' });
    expect(outcome.error?.message).toContain('operation 8');
    expect(domain.calls).not.toContain('abortJob');
  });

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
});
