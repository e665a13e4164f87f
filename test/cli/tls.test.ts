import { describe, expect, it } from 'vitest';
import { cli, fixture } from './run.js';

describe('explain and traits: whether native TLS is on, and what the hosts need for it', () => {
  it('explain says the stream is encrypted and lists what every host needs, as text and in --json', async () => {
    const text = await cli(['explain', '--conf', fixture('native-tls.conf')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Migration stream {4}encrypted by QEMU's native TLS \(VIR_MIGRATE_TLS\)/m);
    expect(text.stdout).toMatch(
      /^Native TLS needs {4}in the directory qemu\.conf's migrate_tls_x509_cert_dir names/m,
    );
    expect(text.stdout).toContain('migrate_tls_x509_verify = 1 on every host');
    expect(text.stdout).toMatch(/^Flags .*TLS/m);
    const json = JSON.parse((await cli(['explain', '--conf', fixture('native-tls.conf'), '--json'])).stdout);
    expect(json.tls).toMatchObject({
      nativeTls: true,
      needs: expect.arrayContaining([expect.stringMatching(/ca-cert\.pem/)]),
    });
  });

  it('explain says a plain stream is readable by whoever reaches the migration network', async () => {
    const { stdout } = await cli(['explain', '--conf', fixture('nova.conf')]);
    expect(stdout).toMatch(
      /^Migration stream {4}plain TCP: whoever reaches the migration network reads the guest's memory/m,
    );
    expect(stdout).not.toContain('Native TLS needs');
  });

  it('traits says the same for the host whose conf it read', async () => {
    const run = (conf: string, json: string[] = []) =>
      cli([
        'traits',
        '--conf',
        fixture(conf),
        '--libvirt-version',
        '9.0.0',
        '--qemu-version',
        '10.0.2',
        ...json,
      ]);
    const on = await run('native-tls.conf');
    expect(on.stdout).toMatch(/^Migration stream {2}encrypted by QEMU's native TLS/m);
    expect(on.stdout).toMatch(/^Native TLS needs {2}in the directory/m);
    expect((await run('tunnelled.conf')).stdout).toMatch(
      /^Migration stream {2}tunnelled through libvirtd's connection/m,
    );
    expect(JSON.parse((await run('native-tls.conf', ['--json'])).stdout).tls.nativeTls).toBe(true);
  });
});
