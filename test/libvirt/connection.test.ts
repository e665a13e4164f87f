import { describe, expect, it } from 'vitest';
import { LibvirtError } from '../../src/errors.js';
import { LibvirtErrorCode, openConnection } from '../../src/libvirt/index.js';
import { fileConnection, rejection, TEST_URI, testDomainXml, virshVersion } from './helpers.js';

const file = fileConnection();

describe('connection on test:///default', () => {
  it('reports the library version virsh reports, consistent with the encoding', async () => {
    const lib = await file.conn.libVersion();
    expect(lib).toBeGreaterThanOrEqual(1_002_003);
    const virsh = virshVersion();
    if (virsh) expect(lib).toBe(virsh.library);
    else expect(lib).toBe(9_000_000);
  });

  it('reports the hypervisor version virsh reports (TEST 0.0.2)', async () => {
    expect(await file.conn.hypervisorVersion()).toBe(virshVersion()?.hypervisor ?? 2);
  });

  it('returns a hostname and capabilities XML', async () => {
    expect(await file.conn.hostname()).toMatch(/\S/);
    expect(await file.conn.capabilities()).toContain('<capabilities>');
  });

  // libvirt 9.0's test driver lacks domain capabilities (VIR_ERR_NO_SUPPORT, 3); 11.3's has them and refuses
  // the unknown architecture (VIR_ERR_INVALID_ARG, 8). Either way libvirt's own number and message come back.
  it('surfaces libvirt errors with libvirt’s code, domain and message', async () => {
    const err = await rejection(file.conn.domainCapabilities({ arch: 'no-such-arch' }));
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ code: 'LIBVIRT_ERROR', call: 'virConnectGetDomainCapabilities' });
    expect([LibvirtErrorCode.NO_SUPPORT, 8]).toContain((err as LibvirtError).libvirtCode);
    expect((err as LibvirtError).libvirtDomain).toBeGreaterThan(0);
    expect((err as LibvirtError).libvirtMessage).toMatch(/architecture|not supported/);
  });

  it('looks up the test domain by name and round-trips its UUID', async () => {
    const dom = await file.conn.lookupDomainByName('test');
    expect(dom.name).toBe('test');
    expect(dom.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const again = await file.conn.lookupDomainByUUID(dom.uuid);
    expect(again.name).toBe('test');
    expect(again.uuid).toBe(dom.uuid);
    expect(again.connection).toBe(file.conn);
  });

  it('a missing domain gives libvirtCode 42 (VIR_ERR_NO_DOMAIN) and libvirt’s domain and message', async () => {
    const err = await rejection(file.conn.lookupDomainByName('no-such-domain'));
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ code: 'LIBVIRT_ERROR', libvirtCode: 42, call: 'virDomainLookupByName' });
    expect((err as LibvirtError).libvirtDomain).toBeGreaterThan(0);
    expect((err as Error).message).toContain('Domain not found');
  });

  it('lists domain names', async () => {
    expect(await file.conn.listDomainNames()).toContain('test');
  });

  it('defines, starts transiently, destroys and undefines domains', async () => {
    const defined = await file.conn.defineDomainXML(testDomainXml('binding-defined'));
    expect(defined.name).toBe('binding-defined');
    expect(await defined.isActive()).toBe(false);
    expect((await defined.state()).state).toBe('shutoff');
    expect(await file.conn.listDomainNames()).toContain('binding-defined');
    await defined.undefine();
    expect(await file.conn.listDomainNames()).not.toContain('binding-defined');

    const transient = await file.conn.createDomainXML(testDomainXml('binding-transient'));
    expect(await transient.isActive()).toBe(true);
    expect(await transient.xml()).toContain('<name>binding-transient</name>');
    await transient.destroy();
    expect(await rejection(file.conn.lookupDomainByName('binding-transient'))).toMatchObject({
      libvirtCode: 42,
    });
  });

  it('a bad URI fails to open with a LibvirtError from virConnectOpen', async () => {
    const err = await rejection(openConnection('bogus-driver:///nothing'));
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ call: 'virConnectOpen', code: 'LIBVIRT_ERROR' });
    expect((err as LibvirtError).libvirtCode).toBeGreaterThan(0);
  });

  it('a read-only connection refuses to change anything', async () => {
    const ro = await openConnection(TEST_URI, { readOnly: true });
    try {
      expect(await ro.libVersion()).toBe(await file.conn.libVersion());
      const dom = await ro.lookupDomainByName('test');
      const err = await rejection(dom.suspend());
      expect(err).toMatchObject({ call: 'virDomainSuspend', code: 'LIBVIRT_ERROR' });
      expect((await dom.state()).state).toBe('running');
    } finally {
      await ro.close();
    }
  });

  it('refuses out-of-range options before starting any thread', async () => {
    await expect(openConnection(TEST_URI, { callTimeoutMs: 0 })).rejects.toThrow(RangeError);
    await expect(openConnection(TEST_URI, { callTimeoutMs: 2 ** 31 })).rejects.toThrow(RangeError);
    await expect(openConnection(TEST_URI, { keepAlive: { intervalSeconds: 1.5, count: 1 } })).rejects.toThrow(
      RangeError,
    );
    await expect(openConnection(TEST_URI, { keepAlive: { intervalSeconds: 5, count: -1 } })).rejects.toThrow(
      RangeError,
    );
    await expect(file.conn.libVersion({ timeoutMs: -5 })).rejects.toThrow(RangeError);
  });
});
