/**
 * migrate() with native TLS on libvirt's test driver: the certificates the agent can read are checked
 * before libvirt's migration is called, so a host that cannot run it is refused with the guest untouched,
 * and a sound one goes on to libvirt (whose test driver then refuses to migrate at all).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LibvirtError,
  type MigrateOptions,
  MigrationJobError,
  MigrationTlsError,
  migrate,
} from '../../src/index.js';
import { openConnection } from '../../src/libvirt/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'tls');
const printable = (e: Error | undefined) => ({
  name: e?.name,
  code: (e as { code?: string })?.code,
  message: e?.message,
});
const base = (over: Partial<MigrateOptions>): MigrateOptions => ({
  source: { uri: 'test:///default' },
  domain: { name: 'test' },
  destination: { host: 'dst.example.org' },
  providers: { instanceMetadata: () => ({}), hostConfig: () => ({ nativeTls: true }) },
  ...over,
});

describe('migrate() with native TLS: the certificate pre-flight', { timeout: 20_000 }, () => {
  it('refuses a source with no certificates before calling libvirt, the guest still running there', async () => {
    const job = await migrate(base({ tlsPreflight: { certDir: join(FIXTURES, 'nowhere') } }));
    const outcome = await job.outcome;
    expect(outcome.error).toBeInstanceOf(MigrationTlsError);
    expect(outcome.error).toMatchObject({
      code: 'TLS_CERTIFICATE_MISSING',
      host: 'the source (test:///default)',
      file: join(FIXTURES, 'nowhere', 'ca-cert.pem'),
    });
    expect(outcome).toMatchObject({ status: 'error', guest: 'source' });
    expect(outcome.plan).toBeUndefined();
    const connection = await openConnection('test:///default');
    try {
      expect((await (await connection.lookupDomainByName('test')).state()).state).toBe('running');
    } finally {
      await connection.close();
    }
  });

  it('checks /etc/pki/qemu when no directory is given, and nothing when native TLS is off', async () => {
    const unchecked = await (
      await migrate(base({ providers: { instanceMetadata: () => ({}), hostConfig: () => ({}) } }))
    ).outcome;
    expect(unchecked.error).toBeInstanceOf(LibvirtError);
    // Whatever this machine has in /etc/pki/qemu, the default and the directory named explicitly answer alike.
    const byDefault = await (await migrate(base({}))).outcome;
    const named = await (await migrate(base({ tlsPreflight: { certDir: '/etc/pki/qemu' } }))).outcome;
    expect(printable(byDefault.error)).toEqual(printable(named.error));
    if (byDefault.error instanceof MigrationTlsError)
      expect(byDefault.error.file).toMatch(/^\/etc\/pki\/qemu\//);
  });

  it("refuses a destination whose certificate does not name the migrate URI's host, when its directory is readable", async () => {
    const job = await migrate(
      base({
        destination: { host: 'compute-9.example.org' },
        tlsPreflight: { certDir: join(FIXTURES, 'good'), destinationCertDir: join(FIXTURES, 'good') },
      }),
    );
    const outcome = await job.outcome;
    expect(outcome.error).toMatchObject({ code: 'TLS_NAME_MISMATCH', tlsName: 'compute-9.example.org' });
    expect(outcome.guest).toBe('source');
  });

  it('verifies tls.destination instead of the host when it is given', async () => {
    const outcome = await (
      await migrate(
        base({
          destination: { host: 'compute-9.example.org' },
          tlsDestination: 'dst.example.org',
          tlsPreflight: { certDir: join(FIXTURES, 'good'), destinationCertDir: join(FIXTURES, 'good') },
        }),
      )
    ).outcome;
    // The certificates pass; libvirt's test driver then refuses to migrate, which is not a TLS failure.
    expect(outcome.error).toBeInstanceOf(LibvirtError);
    expect((outcome.error as LibvirtError).libvirtCode).toBe(74);
  });

  it('skips the check with tlsPreflight: false, and refuses a malformed tlsPreflight at once', async () => {
    const skipped = await (await migrate(base({ tlsPreflight: false }))).outcome;
    expect(skipped.error).toBeInstanceOf(LibvirtError);
    for (const bad of [{ certDir: 'relative/dir' }, { certdir: '/etc/pki/qemu' }, true]) {
      await expect(migrate(base({ tlsPreflight: bad as never }))).rejects.toThrow(MigrationJobError);
    }
    await expect(migrate(base({ tlsPreflight: { certDir: 'pki' } }))).rejects.toThrow(
      'tlsPreflight.certDir is "pki": give an absolute directory, as this agent sees it',
    );
    await expect(migrate(base({ tlsPreflight: { certdir: '/x' } as never }))).rejects.toThrow(
      'tlsPreflight.certdir is "/x": leave it out: the options are certDir and destinationCertDir',
    );
  });
});
