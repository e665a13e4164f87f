import { describe, expect, it } from 'vitest';
import {
  MigrateFlags as F,
  type InstanceMetadata,
  LibvirtError,
  type MigrateOptions,
  MigrationJobError,
  MigrationPolicyError,
  type MigrationStatus,
  migrate,
} from '../../src/index.js';
import { destinationOf, FakeDomain, fakeBackend, until } from '../support/fake-libvirt.js';
import { optionsFor } from '../support/migration.js';

const PC = 'compute:live_migration_post_copy';
const AC = 'compute:live_migration_auto_converge';

const options = optionsFor;

async function start(
  domain: FakeDomain,
  overrides: Partial<MigrateOptions> = {},
  meta: InstanceMetadata = {},
  host = {},
) {
  const job = await migrate(options(domain, overrides, meta, host));
  const statuses: MigrationStatus[] = [job.status];
  job.on('status', (s) => statuses.push(s));
  return { job, statuses };
}

describe('migrate(): the flags are decided just before libvirt', () => {
  it('calls the providers after migrate() returned and plans with what they say then', async () => {
    const domain = new FakeDomain();
    let meta: InstanceMetadata = { flavorExtraSpecs: { [PC]: 'false' } };
    let host: object = {};
    const job = await migrate({
      ...options(domain),
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

  it('awaits async providers and reads the guest state right before the call', async () => {
    const domain = new FakeDomain();
    domain.current = { state: 'paused', reason: 1 };
    const job = await migrate({
      ...options(domain),
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

  it('reports queued → preparing → running → completed, with the completed stats', async () => {
    const domain = new FakeDomain();
    const { job, statuses } = await start(domain);
    await until(() => domain.migrating);
    domain.complete({ type: 'completed', downtime: 17, timeElapsed: 3210, raw: {} });
    const outcome = await job.outcome;
    expect(statuses).toEqual(['queued', 'preparing', 'running', 'completed']);
    expect(outcome).toMatchObject({ status: 'completed', guest: 'destination', postCopyFailed: false });
    expect(outcome.stats?.downtime).toBe(17);
    expect(domain.events.closed).toBe(true);
  });

  it('ends in error, never calling libvirt, when the metadata is refused', async () => {
    const domain = new FakeDomain();
    const { job } = await start(domain, {}, { flavorExtraSpecs: { [PC]: 'true', [AC]: 'true' } });
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
      ...options(domain),
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

describe('migrate(): one migration per guest', () => {
  it('refuses a second migrate() of the same domain without disturbing the first', async () => {
    const domain = new FakeDomain();
    const first = await migrate(options(domain));
    await until(() => domain.migrating);
    const second = await migrate(options(domain)).catch((error: unknown) => error);
    expect(second).toBeInstanceOf(MigrationJobError);
    expect((second as MigrationJobError).code).toBe('ALREADY_MIGRATING');
    expect((second as Error).message).toContain('"guest"');
    expect(domain.migrations).toHaveLength(1);
    expect(domain.calls).not.toContain('abortJob');
    expect(first.status).toBe('running');
    domain.complete();
    expect((await first.outcome).status).toBe('completed');
    // The slot is free again once the first ended.
    const again = await migrate(options(domain));
    await until(() => domain.migrating);
    domain.complete();
    expect((await again.outcome).status).toBe('completed');
  });

  it.each<[string, Partial<MigrateOptions>]>([
    ['no providers', { providers: undefined as never }],
    [
      'a provider that is not a function',
      { providers: { instanceMetadata: {} as never, hostConfig: () => ({}) } },
    ],
    ['no domain', { domain: {} as never }],
    ['a tiny poll interval', { pollIntervalMs: 1 }],
    ['a destination host with blanks', { destination: { host: 'compute 2' } }],
  ])('refuses options with %s before any libvirt call', async (_name, overrides) => {
    const domain = new FakeDomain();
    await expect(migrate(options(domain, overrides))).rejects.toThrow(MigrationJobError);
    expect(domain.calls).toEqual([]);
  });
});

describe('MigrationJob: force-complete', () => {
  it('switches a post-copy migration to post-copy, after which abort is refused', async () => {
    const domain = new FakeDomain();
    const { job, statuses } = await start(domain, {}, { flavorExtraSpecs: { [PC]: 'true' } });
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
    const { job } = await start(domain, {}, { flavorExtraSpecs: { [AC]: 'true' } }, { permitPostCopy: true });
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
    const { job } = await start(domain, {}, { flavorExtraSpecs: { [PC]: 'true' } });
    const action = job.forceComplete();
    expect(job.status).toBe('queued');
    expect(await action).toBe('switch-to-post-copy');
    expect(domain.calls.indexOf('startPostCopy')).toBeGreaterThan(domain.calls.indexOf('migrateToURI3'));
    domain.complete();
    await job.outcome;
  });

  it('resolves a pending force-complete with none when the job ends before the copy starts', async () => {
    const domain = new FakeDomain();
    const { job } = await start(domain, {}, { flavorExtraSpecs: { [PC]: 'maybe' } });
    const action = job.forceComplete();
    expect((await job.outcome).status).toBe('error');
    expect(await action).toBe('none');
  });

  it("waits for libvirt's job to exist before switching", async () => {
    const domain = new FakeDomain();
    const { job } = await start(domain, {}, { flavorExtraSpecs: { [PC]: 'true' } });
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

  it('does nothing once the migration ended', async () => {
    const domain = new FakeDomain();
    const { job } = await start(domain);
    await until(() => domain.migrating);
    domain.complete();
    await job.outcome;
    expect(await job.forceComplete()).toBe('none');
  });
});

describe('MigrationJob: abort and failures', () => {
  it('aborts a running migration: cancelled, guest still on the source', async () => {
    const domain = new FakeDomain();
    const { job } = await start(domain);
    await until(() => domain.migrating);
    job.abort();
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'cancelled', guest: 'source' });
    expect(domain.calls).toContain('abortJob');
  });

  it('an abort before the libvirt call means the call is never made', async () => {
    const domain = new FakeDomain();
    const { job } = await start(domain);
    job.abort();
    const outcome = await job.outcome;
    expect(outcome.status).toBe('cancelled');
    expect(domain.calls).not.toContain('migrateToURI3');
  });

  it('refuses abort after the end', async () => {
    const domain = new FakeDomain();
    const { job } = await start(domain);
    await until(() => domain.migrating);
    domain.complete();
    await job.outcome;
    expect(() => job.abort()).toThrow(expect.objectContaining({ code: 'MIGRATION_NOT_ACTIVE' }));
  });

  it('never resumes the source after a failed post-copy: the guest lives on the destination', async () => {
    const domain = new FakeDomain();
    const destination = destinationOf(domain);
    const { job } = await start(
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
    const { job } = await start(domain, {}, {}, { permitPostCopy: true });
    await until(() => domain.migrating);
    domain.current = { state: 'paused', reason: 12 };
    await until(() => job.status === 'running (post-copy)');
    expect(() => job.abort()).toThrow(expect.objectContaining({ code: 'ABORT_IN_POST_COPY' }));
    domain.complete();
    await job.outcome;
  });
});

describe('MigrationJob: the monitor', () => {
  it('emits progress from job stats and raises the downtime', async () => {
    const domain = new FakeDomain();
    const { job } = await start(domain, { dataGb: 2 });
    const seen: number[] = [];
    job.on('progress', (p) => seen.push(p.memoryRemaining ?? -1));
    await until(() => seen.length >= 2);
    expect(seen[0]).toBe(600);
    expect(domain.downtimes[0]).toBe(50);
    expect(job.progress?.downtimeMs).toBe(50);
    domain.complete();
    await job.outcome;
  });

  it('aborts after the completion timeout (abort action)', async () => {
    const domain = new FakeDomain();
    // 20 s per GiB × 0.05 GiB = 1 s.
    const { job } = await start(domain, { dataGb: 0.05 }, {}, { completionTimeout: 20 });
    const outcome = await job.outcome;
    expect(outcome.status).toBe('cancelled');
    expect(outcome.steering.find((s) => s.action === 'abort')?.reason).toContain('not complete after 1 s');
    expect(outcome.guest).toBe('source');
  });

  it('switches to post-copy after the timeout with force_complete when post-copy is effective', async () => {
    const domain = new FakeDomain();
    const { job } = await start(
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
    const { job } = await start(
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
