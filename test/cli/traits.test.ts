import { describe, expect, it } from 'vitest';
import { FakeDomain, fakeBackend } from '../migration/fake-libvirt.js';
import { cli, fixture } from './run.js';

const line = (out: string, trait: string) => out.split('\n').find((l) => l.startsWith(trait));

describe('traits from versions given', () => {
  it('a current host reports both traits, and says the permit_* options do not change them', async () => {
    const { code, stdout } = await cli([
      'traits',
      '--conf',
      fixture('nova.conf'),
      '--libvirt-version',
      '9.0.0',
      '--qemu-version',
      '7.2.0',
    ]);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe('Host      versions given: libvirt 9.0.0, QEMU 7.2.0');
    expect(line(stdout, 'COMPUTE_MIGRATE_AUTO_CONVERGE')).toMatch(/ yes$/);
    expect(line(stdout, 'COMPUTE_MIGRATE_POST_COPY')).toMatch(/ yes$/);
    expect(stdout).toContain('do not change the traits');
  });

  it('a tunnelled host does not report post-copy, and says what a requiring instance is told', async () => {
    const { code, stdout } = await cli([
      'traits',
      '--conf',
      fixture('tunnelled.conf'),
      '--libvirt-version',
      '9.0.0',
      '--qemu-version',
      '7.2.0',
    ]);
    expect(code).toBe(0);
    // It says which nova.conf it read.
    expect(stdout).toContain(`Config    ${fixture('tunnelled.conf')}\n`);
    expect(line(stdout, 'COMPUTE_MIGRATE_AUTO_CONVERGE')).toMatch(/ yes$/);
    expect(line(stdout, 'COMPUTE_MIGRATE_POST_COPY')).toMatch(/ no$/);
    expect(stdout).toContain(
      'an instance requiring it is refused here: flavor extra spec "compute:live_migration_post_copy" asks for ' +
        'post-copy, but tunnelled migration ([libvirt] live_migration_tunnelled = True) cannot do post-copy',
    );
  });

  it('--json prints the report as data', async () => {
    const { code, stdout } = await cli([
      'traits',
      '--libvirt-version',
      '1.2.0',
      '--qemu-version',
      '2.4.0',
      '--json',
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      libvirtVersion: '1.2.0',
      qemuVersion: '2.4.0',
      traits: { COMPUTE_MIGRATE_AUTO_CONVERGE: false, COMPUTE_MIGRATE_POST_COPY: false },
    });
    expect(report.missing.COMPUTE_MIGRATE_AUTO_CONVERGE).toContain('libvirt 1.2.0 is older than 1.2.3');
    expect(report.uri).toBeUndefined();
  });
});

describe('traits --connect', () => {
  it('reads the versions from libvirtd and closes the connection', async () => {
    const domain = new FakeDomain();
    const backend = fakeBackend(domain);
    const { code, stdout } = await cli(['traits', '--connect', 'qemu:///system', '--json'], { backend });
    expect(code).toBe(0);
    expect(backend.opened).toEqual(['qemu:///system']);
    expect(domain.connection.closes).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({
      uri: 'qemu:///system',
      libvirtVersion: '9.0.0',
      qemuVersion: '7.2.0',
    });
  });

  it("against libvirt's test driver (real libvirt through koffi)", async () => {
    const { code, stdout, stderr } = await cli(['traits', '--connect', 'test:///default']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // The test driver's hypervisor is not QEMU: it reports 0.0.2, too old for either feature.
    expect(stdout.split('\n')[0]).toMatch(
      /^Host {6}test:\/\/\/default: libvirt \d+\.\d+\.\d+, hypervisor 0\.0\.2$/,
    );
    expect(line(stdout, 'COMPUTE_MIGRATE_AUTO_CONVERGE')).toMatch(/ no$/);
    expect(line(stdout, 'COMPUTE_MIGRATE_POST_COPY')).toMatch(/ no$/);
  });

  it("a connection libvirt refuses: exit code 3 with libvirt's message", async () => {
    const { code, stdout, stderr } = await cli(['traits', '--connect', 'nosuchdriver:///nothing']);
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^libvirt-migration-policy: LIBVIRT_ERROR: virConnectOpen/);
  });
});
