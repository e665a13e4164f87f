import { describe, expect, it } from 'vitest';
import { LibvirtError } from '../../src/errors.js';
import { DomainStateCode, type LibvirtDomain, LibvirtErrorCode } from '../../src/libvirt/index.js';
import { fileConnection, rejection, testDomainXml, virshFields } from './helpers.js';

const file = fileConnection();

describe('domain on test:///default', () => {
  it('the test domain is running and active', async () => {
    const dom = await file.conn.lookupDomainByName('test');
    const { state } = await dom.state();
    expect(state).toBe('running');
    expect(DomainStateCode[state]).toBe(1);
    expect(await dom.isActive()).toBe(true);
  });

  it('suspend and resume change the state', async () => {
    const dom = await file.conn.lookupDomainByName('test');
    await dom.suspend();
    try {
      expect((await dom.state()).state).toBe('paused');
    } finally {
      await dom.resume();
    }
    expect((await dom.state()).state).toBe('running');
  });

  // Observed with libvirt 9.0: the test driver answers VIR_ERR_INTERNAL_ERROR (1), "domain 'test' not paused".
  it('resuming a running domain is refused with libvirt’s code and message', async () => {
    const err = await rejection((await file.conn.lookupDomainByName('test')).resume());
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({
      code: 'LIBVIRT_ERROR',
      libvirtCode: LibvirtErrorCode.INTERNAL_ERROR,
      call: 'virDomainResume',
    });
    expect((err as Error).message).toContain('not paused');
  });

  it('returns its XML', async () => {
    expect(await (await file.conn.lookupDomainByName('test')).xml()).toMatch(/<domain type='test'/);
  });

  // virsh decodes the same struct with libvirt's own C code: an independent check of the koffi layout.
  it('info() decodes virDomainInfo as virsh dominfo does: state, memory in KiB, vCPUs', async () => {
    const info = await (await file.conn.lookupDomainByName('test')).info();
    const virsh = virshFields('dominfo', 'test');
    expect(info).toMatchObject({
      state: 'running',
      maxMemoryKiB: Number.parseInt(virsh['Max memory'] ?? '', 10),
      memoryKiB: Number.parseInt(virsh['Used memory'] ?? '', 10),
      vcpus: Number(virsh['CPU(s)']),
    });
    expect(info.maxMemoryKiB).toBeGreaterThan(info.memoryKiB);
    expect(info.cpuTimeNs).toBeGreaterThan(0);
  });

  it('info() reads each domain’s own sizes (not a constant): a defined 1 GiB, 3-vCPU domain', async () => {
    const xml = testDomainXml('info-sized').replace('<vcpu>1</vcpu>', '<vcpu>3</vcpu>');
    const dom = await file.conn.defineDomainXML(
      xml.replace('<memory>1024</memory>', '<memory unit="MiB">1024</memory>'),
    );
    try {
      expect(await dom.info()).toMatchObject({ state: 'shutoff', maxMemoryKiB: 1_048_576, vcpus: 3 });
    } finally {
      await dom.undefine();
    }
  });

  // The test driver's disk has capacity ≠ allocation, both above 2^32: distinct u64 fields pin the layout.
  it('blockInfo() decodes virDomainBlockInfo in bytes, as virsh domblkinfo does', async () => {
    const info = await (await file.conn.lookupDomainByName('test')).blockInfo('vda');
    const virsh = virshFields('domblkinfo', 'test', 'vda');
    expect(info).toEqual({
      capacity: Number(virsh.Capacity),
      allocation: Number(virsh.Allocation),
      physical: Number(virsh.Physical),
    });
    expect(info.capacity).toBeGreaterThan(2 ** 32);
    expect(info.capacity).not.toBe(info.allocation);
  });

  it('blockInfo() of a disk the domain lacks is libvirt’s VIR_ERR_INVALID_ARG (8)', async () => {
    const dom = await file.conn.lookupDomainByName('test');
    const err = await rejection(dom.blockInfo('vdz'));
    expect(err).toMatchObject({ call: 'virDomainGetBlockInfo', libvirtCode: 8, code: 'LIBVIRT_ERROR' });
    await expect(dom.blockInfo('')).rejects.toThrow(TypeError);
  });

  // The test driver implements none of the job/migration tuning calls; libvirt answers VIR_ERR_NO_SUPPORT (3),
  // which proves each call reaches libvirt under its own name and its error is carried back.
  it.each([
    ['virDomainGetJobStats', (d: LibvirtDomain) => d.jobStats()],
    ['virDomainGetJobStats', (d: LibvirtDomain) => d.jobStats({ completed: true })],
    ['virDomainMigrateStartPostCopy', (d: LibvirtDomain) => d.startPostCopy()],
    ['virDomainAbortJob', (d: LibvirtDomain) => d.abortJob()],
    ['virDomainAbortJobFlags', (d: LibvirtDomain) => d.abortJob({ postcopy: true })],
    ['virDomainMigrateSetMaxDowntime', (d: LibvirtDomain) => d.setMaxDowntime(300)],
    ['virDomainMigrateSetMaxSpeed', (d: LibvirtDomain) => d.setMaxSpeed(100)],
    ['virDomainMigrateSetMaxSpeed', (d: LibvirtDomain) => d.setMaxSpeed(100, { postcopy: true })],
  ])('%s reaches libvirt and reports VIR_ERR_NO_SUPPORT', async (call, fn) => {
    const err = await rejection(fn(await file.conn.lookupDomainByName('test')));
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ call, libvirtCode: LibvirtErrorCode.NO_SUPPORT, code: 'LIBVIRT_ERROR' });
  });

  it('rejects values that do not fit the C type before calling libvirt', async () => {
    const dom = await file.conn.lookupDomainByName('test');
    await expect(dom.setMaxDowntime(-1)).rejects.toThrow(RangeError);
    await expect(dom.setMaxSpeed(1.5)).rejects.toThrow(RangeError);
  });
});
