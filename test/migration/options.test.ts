/** The options of migrate() and attachMigration(): refused before anything reaches libvirt, naming the option and the fix. */
import { describe, expect, it } from 'vitest';
import {
  type MigrateOptions,
  MigrationJobError,
  migrate,
  parseNovaConf,
  planMigration,
} from '../../src/index.js';
import { resolveOptions } from '../../src/migration/options.js';
import { migrationCall } from '../../src/migration/params.js';
import { DEFAULT_RECOVERY } from '../../src/policy/recovery.js';
import { FakeDomain, fakeBackend } from '../support/fake-libvirt.js';
import { optionsFor, startJob } from '../support/migration.js';

describe('migrate(): options refused before libvirt', () => {
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
    ['a switchover that is neither fixed nor adaptive', { switchover: 'forecast' }],
    ['a watchdog bound under a second', { watchdog: { resumeAttemptMs: 10 } }],
    ['a watchdog bound it does not know', { watchdog: { migrateMs: 60_000 } }],
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
    await expect(migrate(optionsFor(domain, overrides))).rejects.toThrow(MigrationJobError);
    expect(domain.calls).toEqual([]);
  });

  it('refuses a connection that is undefined and a domain with both name and a numeric uuid', async () => {
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

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses dataGb %s', async (dataGb) => {
    const domain = new FakeDomain();
    await expect(startJob(domain, { dataGb })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      key: 'dataGb',
    });
  });

  it('refuses a signal that is not an AbortSignal', async () => {
    const domain = new FakeDomain();
    await expect(startJob(domain, { signal: {} as AbortSignal })).rejects.toBeInstanceOf(MigrationJobError);
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

describe('resolveOptions: checked once, with the defaults the job and the call share', () => {
  it('fills in the defaults and keeps the checked tuning and destination', () => {
    const domain = new FakeDomain();
    const resolved = resolveOptions({
      ...optionsFor(domain),
      pollIntervalMs: undefined,
      autoConvergeInitial: 30,
    });
    expect(resolved).toMatchObject({
      domain: { name: 'guest' },
      blockMigration: false,
      migrateDisks: undefined,
      dataGb: undefined,
      pollIntervalMs: 1000,
      recovery: DEFAULT_RECOVERY,
      tlsPreflight: {},
      signal: undefined,
      switchover: 'fixed',
    });
    expect(resolveOptions({ ...optionsFor(domain), switchover: 'adaptive' }).switchover).toBe('adaptive');
    expect(resolved.destination).toEqual({
      uri: 'qemu+tcp://dest/system',
      migrateUri: 'tcp://192.0.2.7',
      checked: true,
    });
    expect(resolved.tuning).toEqual({
      bandwidth: undefined,
      autoConvergeInitial: 30,
      autoConvergeIncrement: undefined,
      postCopyBandwidth: undefined,
      destinationXml: undefined,
      migrateDisks: undefined,
      tlsDestination: undefined,
    });
    expect(typeof resolved.backend.open).toBe('function');
  });

  it('keeps what was given: a UUID, a host checked (its URIs wait for the host config), the backend, the recovery options', () => {
    const domain = new FakeDomain();
    const backend = fakeBackend(domain);
    const resolved = resolveOptions({
      ...optionsFor(domain),
      domain: { uuid: domain.uuid },
      destination: { host: 'compute-2' },
      backend,
      blockMigration: true,
      migrateDisks: ['vda'],
      dataGb: 3,
      pollIntervalMs: 20,
      postCopyRecovery: false,
      bandwidth: 100,
      tlsPreflight: false,
    });
    expect(resolved.destination).toEqual({ host: 'compute-2', checked: true });
    // The scheme comes from the source's nova.conf, read just before the call: Nova's rule.
    const tls = planMigration({ host: parseNovaConf('[libvirt]\nlive_migration_scheme = tls\n') });
    expect(migrationCall(tls, resolved.destination, resolved.tuning).destinationUri).toBe(
      'qemu+tls://compute-2/system',
    );
    expect(resolved).toMatchObject({
      domain: { uuid: domain.uuid },
      tlsPreflight: false,
      backend,
      blockMigration: true,
      migrateDisks: ['vda'],
      dataGb: 3,
      pollIntervalMs: 20,
      recovery: { ...DEFAULT_RECOVERY, automatic: false },
      tuning: { bandwidth: 100, migrateDisks: ['vda'] },
    });
  });

  it('names the recovery option a bad value belongs to', () => {
    const domain = new FakeDomain();
    expect(() => resolveOptions({ ...optionsFor(domain), postCopyRecovery: { windowMs: -1 } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', key: 'postCopyRecovery.windowMs', value: -1 }),
    );
  });
});
