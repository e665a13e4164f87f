/**
 * Behaviour the mutation run found unpinned (issue 8, "Tests that pin the job down"), and the options and
 * connections of migrate().
 */
import { describe, expect, it } from 'vitest';
import { LibvirtError, MigrationJobError, migrate } from '../../src/index.js';
import { destinationOf, FakeDomain, fakeBackend, libvirtError, until } from '../support/fake-libvirt.js';
import { AC, attachJob, endMigration, optionsFor, runningMigration, startJob } from '../support/migration.js';

describe('force-complete and abort, pinned', () => {
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

describe('migrate(): connections and options', () => {
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

  it.each<[string, object]>([
    ['no options', { options: null }],
    ['a source that is not an object', { source: 'qemu:///system' }],
    ['an empty source uri', { source: { uri: ' ' } }],
    ['a connection without calls', { source: { connection: {} } }],
    ['both name and uuid', { domain: { name: 'guest', uuid: '11111111-2222-3333-4444-000000000001' } }],
    ['a domain that is not an object', { domain: 'guest' }],
    ['an empty name', { domain: { name: '' } }],
    ['no destination', { destination: undefined }],
    ['a host with URI syntax', { destination: { host: 'c2/x' } }],
    ['a bad tuning', { autoConvergeInitial: 0 }],
    ['a bad bandwidth', { bandwidth: -1 }],
    ['a blockMigration that is not boolean', { blockMigration: 'yes' }],
    ['disks that are not names', { migrateDisks: ['vda', 7] }],
    ['disks with blanks', { migrateDisks: ['v da'] }],
    ['disks that are not an array', { migrateDisks: 'vda' }],
    ['a fractional poll interval', { pollIntervalMs: 10.5 }],
    ['a poll interval over setTimeout’s range', { pollIntervalMs: 2 ** 31 }],
    ['a backend without open', { backend: {} }],
    ['a dataGb that is a string', { dataGb: '2' }],
  ])('refuses %s with INVALID_OPTIONS naming the option', async (name, overrides) => {
    const domain = new FakeDomain();
    const options = name === 'no options' ? null : { ...optionsFor(domain), ...overrides };
    const error = await migrate(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationJobError);
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS' });
    const key = (error as MigrationJobError).key ?? '';
    const expected = Object.keys(overrides)[0] ?? '';
    expect(key.startsWith(expected === 'source' ? 'source' : expected)).toBe(true);
    expect(domain.calls).toEqual([]);
  });

  it('accepts the poll interval bounds 10 and 2^31-1', async () => {
    for (const pollIntervalMs of [10, 2 ** 31 - 1]) {
      const domain = new FakeDomain();
      const job = await startJob(domain, { pollIntervalMs });
      job.abort();
      expect((await job.outcome).status).toBe('cancelled');
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

describe('option messages', () => {
  it.each<[object, string]>([
    [
      { source: { connection: undefined } },
      'source.connection is undefined: give { uri } or an open { connection }',
    ],
    [{ source: { uri: '' } }, 'source.uri is "": give { uri } or an open { connection }'],
    [{ domain: { name: 'guest', uuid: 5 } }, 'give exactly one of { name } and { uuid }, a non-empty string'],
    [{ providers: {} }, 'they are read just before the migration'],
    [{ dataGb: 0 }, 'dataGb is 0: use a finite number of GiB > 0, or leave it out to ask libvirt'],
    [{ pollIntervalMs: 5 }, 'pollIntervalMs is 5: use a whole number of ms from 10 to 2147483647'],
    [{ blockMigration: 1 }, 'blockMigration is 1: use true or false'],
    [{ migrateDisks: [1] }, 'give disk target names such as ["vda"]'],
    [{ backend: 1 }, 'backend is 1: give a LibvirtBackend'],
    [{ signal: 1 }, 'signal is 1: give an AbortSignal'],
    [{ destination: 'c2' }, 'destination is "c2": give { uri } or { host }'],
  ])('%o', async (overrides, message) => {
    const domain = new FakeDomain();
    await expect(migrate({ ...optionsFor(domain), ...overrides } as never)).rejects.toThrow(message);
  });

  it('refuses a non-object', async () => {
    await expect(migrate(undefined as never)).rejects.toThrow('options is undefined: pass an options object');
  });
});
