import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeDomain, fakeBackend, until } from '../migration/fake-libvirt.js';
import { cli, fixture, start } from './run.js';

const TLS_CERTS = join(import.meta.dirname, '..', 'fixtures', 'tls', 'good');

describe("the destination's URIs, built from nova.conf as Nova builds them", () => {
  it('explain shows them with where each came from', async () => {
    const { code, stdout } = await cli([
      'explain',
      '--conf',
      fixture('scheme-tls.conf'),
      '--dest',
      'compute-2',
      '--dest-conf',
      fixture('dest-nova.conf'),
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain('Destination         qemu+tls://192.0.2.20/system, stream tcp://192.0.2.20\n');
    expect(stdout).toContain(
      `libvirtd URI qemu+tls://192.0.2.20/system: [libvirt] live_migration_scheme = tls, to the destination's [libvirt] live_migration_inbound_addr = 192.0.2.20`,
    );
    expect(stdout).toContain('QEMU encrypts the stream (VIR_MIGRATE_TLS)');
  });

  it('explain without --dest shows the template, and no stream without an inbound address', async () => {
    const { stdout } = await cli(['explain', '--json']);
    expect(JSON.parse(stdout).destination).toMatchObject({
      host: 'DEST',
      destinationUri: 'qemu+tcp://DEST/system',
    });
    expect(JSON.parse(stdout).destination).not.toHaveProperty('migrateUri');
  });

  it("migrate sends them: the source's scheme, the destination's inbound address", async () => {
    const domain = new FakeDomain('web-1');
    const run = start(
      [
        'migrate',
        'web-1',
        'compute-2',
        '--connect',
        'qemu:///system',
        '--conf',
        fixture('scheme-tls.conf'),
        '--dest-conf',
        fixture('dest-nova.conf'),
        // native TLS is on in scheme-tls.conf: the pre-flight reads this machine's certificates otherwise
        '--tls-cert-dir',
        TLS_CERTS,
        '--poll-ms',
        '10',
      ],
      { backend: fakeBackend(domain) },
    );
    await until(() => domain.migrating);
    expect(domain.migrations[0]).toMatchObject({
      destUri: 'qemu+tls://192.0.2.20/system',
      params: { migrateUri: 'tcp://192.0.2.20' },
    });
    domain.complete();
    expect(await run.code).toBe(0);
  });

  it('--dest-conf with a URI as DEST is a usage error', async () => {
    const domain = new FakeDomain('web-1');
    const backend = fakeBackend(domain);
    const run = start(
      [
        'migrate',
        'web-1',
        'qemu+tcp://c2/system',
        '--connect',
        'qemu:///system',
        '--dest-conf',
        fixture('dest-nova.conf'),
      ],
      { backend },
    );
    expect(await run.code).toBe(2);
    expect(run.stderr.text).toContain('--dest-conf needs DEST as a host name');
  });
});
