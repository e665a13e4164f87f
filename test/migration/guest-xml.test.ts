import { describe, expect, it } from 'vitest';
import { MigrateFlags } from '../../src/index.js';
import { openConnection } from '../../src/libvirt/index.js';
import { copiedDisksOf, parseDomainXml } from '../../src/policy/index.js';
import { FakeDomain, until } from './fake-libvirt.js';
import { PC, startJob } from './helpers.js';

const VFIO = `<domain><name>gpu-1</name><devices>
  <disk type='file'><source file='/a.qcow2'/><target dev='vda'/></disk>
  <hostdev mode='subsystem' type='pci' managed='yes'>
    <source><address domain='0x0000' bus='0x65' slot='0x00' function='0x1'/></source>
  </hostdev>
</devices></domain>`;

describe("migrate() reads the guest's domain XML before planning", () => {
  it("drops the host's post-copy for a guest with a VFIO device, with the reason", async () => {
    const domain = new FakeDomain('gpu-1');
    domain.domainXml = VFIO;
    const job = await startJob(domain, {}, {}, { permitPostCopy: true });
    await until(() => domain.migrating);
    expect(domain.calls.indexOf('xml')).toBeLessThan(domain.calls.indexOf('migrateToURI3'));
    expect((domain.migrations[0]?.flags ?? 0) & MigrateFlags.POSTCOPY).toBe(0);
    expect(job.plan?.reasons[0]).toContain('but the guest has a VFIO device (pci 0000:65:00.1)');
    domain.complete();
    expect((await job.outcome).status).toBe('completed');
  });

  it('refuses an explicit post-copy request for it: error POST_COPY_UNAVAILABLE, libvirt never asked to migrate', async () => {
    const domain = new FakeDomain('gpu-1');
    domain.domainXml = VFIO;
    const job = await startJob(domain, {}, { flavorExtraSpecs: { [PC]: 'true' } });
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({
      status: 'error',
      guest: 'source',
      error: { code: 'POST_COPY_UNAVAILABLE' },
    });
    expect(domain.calls).not.toContain('migrateToURI3');
  });

  it('a domain XML that is not well-formed ends the job before the call: error INVALID_DOMAIN_XML', async () => {
    const domain = new FakeDomain();
    domain.domainXml = '<domain><devices>';
    const outcome = await (await startJob(domain)).outcome;
    expect(outcome).toMatchObject({
      status: 'error',
      guest: 'source',
      error: { code: 'INVALID_DOMAIN_XML' },
    });
    expect(domain.calls).not.toContain('migrateToURI3');
  });

  it("reads what a real libvirt writes: the test driver's domain", async () => {
    const conn = await openConnection('test:///default');
    try {
      const guest = parseDomainXml(await (await conn.lookupDomainByName('test')).xml());
      expect(guest).toMatchObject({ name: 'test', hostDevices: [] });
      expect(copiedDisksOf(guest)).toEqual(['vda']);
    } finally {
      await conn.close();
    }
  }, 30_000);
});
