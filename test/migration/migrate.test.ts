/** migrate(): one migration per guest, and the source connection it opens or is given. */
import { describe, expect, it } from 'vitest';
import { type MigrationJob, MigrationJobError, type MigrationStatus, migrate } from '../../src/index.js';
import { FakeDomain, fakeBackend, until } from '../support/fake-libvirt.js';
import { optionsFor, settle, startJob } from '../support/migration.js';

describe('migrate(): one migration per guest', () => {
  it('refuses a second migrate() of the same domain without disturbing the first', async () => {
    const domain = new FakeDomain();
    const first = await migrate(optionsFor(domain));
    await until(() => domain.migrating);
    const second = await migrate(optionsFor(domain)).catch((error: unknown) => error);
    expect(second).toBeInstanceOf(MigrationJobError);
    expect((second as MigrationJobError).code).toBe('ALREADY_MIGRATING');
    expect((second as Error).message).toContain('"guest"');
    expect(domain.migrations).toHaveLength(1);
    expect(domain.calls).not.toContain('abortJob');
    expect(first.status).toBe('running');
    domain.complete();
    expect((await first.outcome).status).toBe('completed');
    // The slot is free again once the first ended.
    const again = await migrate(optionsFor(domain));
    await until(() => domain.migrating);
    domain.complete();
    expect((await again.outcome).status).toBe('completed');
  });

  it('a retry started from the terminal status listener is accepted', async () => {
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

  it('refuses a second job of the same guest and closes the connection that second job opened', async () => {
    const domain = new FakeDomain();
    const first = await startJob(domain);
    const backend = fakeBackend(domain);
    await expect(
      migrate({ ...optionsFor(domain), source: { uri: 'qemu:///system' }, backend }),
    ).rejects.toMatchObject({
      code: 'ALREADY_MIGRATING',
    });
    expect(domain.connection.closes).toBe(1);
    await until(() => domain.migrating);
    domain.complete();
    await first.outcome;
  });
});

describe('migrate(): the source connection', () => {
  it('opens a connection from a URI with the given backend, and closes it when the job ends', async () => {
    const domain = new FakeDomain();
    const backend = fakeBackend(domain);
    const job = await migrate({ ...optionsFor(domain), source: { uri: 'qemu:///system' }, backend });
    expect(backend.opened).toEqual(['qemu:///system']);
    await until(() => domain.migrating);
    expect(domain.connection.closes).toBe(0);
    domain.complete();
    await job.outcome;
    await until(() => domain.connection.closes === 1);
  });

  it('leaves a given connection open', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain);
    await until(() => domain.migrating);
    domain.complete();
    await job.outcome;
    expect(domain.connection.closes).toBe(0);
  });

  it('rejects with the LibvirtError of a failed lookup, and closes the connection it opened', async () => {
    const domain = new FakeDomain();
    const error = await migrate({
      ...optionsFor(domain),
      domain: { uuid: 'aaaaaaaa-2222-3333-4444-555555555555' },
      source: { uri: 'qemu:///system' },
      backend: fakeBackend(domain),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LIBVIRT_ERROR', libvirtCode: 42 });
    expect(domain.connection.closes).toBe(1);
  });

  it('looks a domain up by UUID', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain, { domain: { uuid: domain.uuid } });
    expect(job.domainUuid).toBe(domain.uuid);
    await until(() => domain.migrating);
    domain.complete();
    await job.outcome;
  });
});
