/** The GiB a migration counts, from libvirt's answers, the way Nova counts them; the disks a block migration copies. */
import { describe, expect, it } from 'vitest';
import { MigrateFlags as F } from '../../src/index.js';
import { copiedDisks } from '../../src/migration/index.js';
import { FakeDomain, libvirtError, until } from '../support/fake-libvirt.js';
import { startJob } from '../support/migration.js';

const GIB = 1024 ** 3;
const XML = `<domain type='qemu'><memory dumpCore='on' unit='KiB'>67108864</memory><devices>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
  <disk device="disk" type="block"><source dev="/dev/sdb"/><target bus="virtio" dev="vdb"/></disk>
  <disk type='file' device='cdrom'><source file='/x.iso'/><target dev='sda'/><readonly/></disk>
  <disk type='file' device='disk'><source file='/shared.img'/><target dev='vdc'/><shareable/></disk>
  <disk type='network' device='disk'><source protocol='rbd' name='pool/vol'/><target dev='vdd'/></disk>
  <disk type='file' device='cdrom'><target dev='sdb'/></disk>
  <disk type='volume' device='disk'><source pool='p' volume='v'/><target dev='vde'/></disk>
</devices></domain>`;

describe('the data size comes from libvirt and counts like Nova', () => {
  it('reads the memory from virDomainGetInfo, whatever the XML says', async () => {
    const domain = new FakeDomain();
    domain.maxMemoryKiB = 64 * 1024 * 1024;
    domain.domainXml = XML;
    const job = await startJob(domain);
    await until(() => domain.migrating);
    expect(job.dataGb).toBe(64);
    expect(domain.calls).toContain('info');
    // Read once, before planning, for the guest's devices; never for its size.
    expect(domain.calls.filter((c) => c === 'xml')).toHaveLength(1);
    domain.complete();
    await job.outcome;
  });

  it('counts at least 2 GiB of memory', async () => {
    const domain = new FakeDomain();
    domain.maxMemoryKiB = 256 * 1024;
    const job = await startJob(domain);
    await until(() => domain.migrating);
    expect(job.dataGb).toBe(2);
    domain.complete();
    await job.outcome;
  });

  it('adds each copied disk’s allocation, at least 2 GiB each, and sends the disks to libvirt', async () => {
    const domain = new FakeDomain();
    domain.maxMemoryKiB = 8 * 1024 * 1024;
    domain.blocks = {
      vda: { capacity: 40 * GIB, allocation: 10 * GIB, physical: 11 * GIB },
      vdb: { capacity: 40 * GIB, allocation: GIB, physical: GIB },
    };
    const job = await startJob(domain, { blockMigration: true, migrateDisks: ['vda', 'vdb'] });
    await until(() => domain.migrating);
    expect(job.dataGb).toBe(8 + 10 + 2);
    expect(domain.migrations[0]?.flags).toBe(
      F.LIVE | F.PEER2PEER | F.PERSIST_DEST | F.UNDEFINE_SOURCE | F.NON_SHARED_INC,
    );
    expect(domain.migrations[0]?.params.migrateDisks).toEqual(['vda', 'vdb']);
    domain.complete();
    await job.outcome;
  });

  it('finds the copied disks in the domain XML when migrateDisks is left out', async () => {
    const domain = new FakeDomain();
    domain.domainXml = XML;
    domain.blocks = {
      vda: { capacity: 0, allocation: 5 * GIB, physical: 0 },
      vdb: { capacity: 0, allocation: 3 * GIB, physical: 0 },
    };
    const job = await startJob(domain, { blockMigration: true });
    await until(() => domain.migrating);
    expect(domain.calls.filter((c) => c.startsWith('blockInfo'))).toEqual(['blockInfo:vda', 'blockInfo:vdb']);
    expect(job.dataGb).toBe(2 + 5 + 3);
    expect(domain.migrations[0]?.params.migrateDisks).toBeUndefined();
    expect(domain.migrations[0]?.flags).toBe(
      F.LIVE | F.PEER2PEER | F.PERSIST_DEST | F.UNDEFINE_SOURCE | F.NON_SHARED_INC,
    );
    domain.complete();
    await job.outcome;
  });

  it('counts a disk libvirt cannot size as 2 GiB, with a warning', async () => {
    const domain = new FakeDomain();
    domain.blocks = { vda: libvirtError(1, 'cannot stat') };
    const job = await startJob(domain, { blockMigration: true, migrateDisks: ['vda'] });
    await until(() => domain.migrating);
    expect(job.dataGb).toBe(4);
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome.warnings).toEqual([
      expect.objectContaining({ source: 'size', message: expect.stringContaining('vda') }),
    ]);
  });

  it('counts no disk without block migration, and takes dataGb as given', async () => {
    const domain = new FakeDomain();
    domain.domainXml = XML;
    const job = await startJob(domain, { migrateDisks: ['vda'] });
    await until(() => domain.migrating);
    expect(job.dataGb).toBe(2);
    expect(domain.calls.some((c) => c.startsWith('blockInfo'))).toBe(false);
    domain.complete();
    await job.outcome;
    const given = await startJob(domain, { dataGb: 7.5 });
    await until(() => domain.migrating);
    expect(given.dataGb).toBe(7.5);
    expect(domain.calls.filter((c) => c === 'info')).toHaveLength(1);
    domain.complete();
    await given.outcome;
  });

  it('counts only the memory when block migration has an empty disk list', async () => {
    const domain = new FakeDomain();
    domain.domainXml =
      "<domain><devices><disk type='file'><source file='/a'/><target dev='vda'/></disk></devices></domain>";
    const job = await startJob(domain, { blockMigration: true, migrateDisks: [] });
    await until(() => domain.migrating);
    expect(job.dataGb).toBe(2);
    expect(domain.calls.some((c) => c.startsWith('blockInfo'))).toBe(false);
    // The XML is read once, before planning (the guest's devices), not again for the disks.
    expect(domain.calls.filter((c) => c === 'xml')).toHaveLength(1);
    expect(job.plan?.flagNames).not.toContain('NON_SHARED_INC');
    domain.complete();
    await job.outcome;
  });

  it('ends in error when libvirt cannot tell the memory', async () => {
    const domain = new FakeDomain();
    domain.script('info', { error: libvirtError(1, 'info failed') });
    const outcome = await (await startJob(domain)).outcome;
    expect(outcome).toMatchObject({ status: 'error', guest: 'source' });
    expect(domain.calls).not.toContain('migrateToURI3');
  });

  it('copiedDisks: file and block disks with a source, neither read-only nor shareable', () => {
    expect(copiedDisks(XML)).toEqual(['vda', 'vdb']);
    expect(copiedDisks('<domain><devices><disk type="file"/></devices></domain>')).toEqual([]);
    expect(
      copiedDisks(
        "<domain><devices><disk typex='file'><source file='/a'/><target dev='vda'/></disk></devices></domain>",
      ),
    ).toEqual([]);
    // Not a domain: a typed error now, where the regular expressions it replaced read it as no disk.
    expect(() => copiedDisks("<disk type='file'><source file='/a'/></disk>")).toThrow(/root is <disk>/);
  });
});
