import { afterAll, describe, expect, it } from 'vitest';
import { LibvirtError } from '../../src/errors.js';
import { LibvirtErrorCode, openConnection } from '../../src/libvirt/index.js';
import { captureError, TEST_URI, testDomainXml, virshVersion } from './helpers.js';

const conn = openConnection(TEST_URI);
afterAll(() => conn.close());

describe('connection on test:///default', () => {
  it('reports the library version virsh reports, consistent with the encoding', () => {
    const lib = conn.libVersion();
    expect(lib).toBeGreaterThanOrEqual(1_002_003);
    const virsh = virshVersion();
    if (virsh) expect(lib).toBe(virsh.library);
    else expect(lib).toBe(9_000_000);
  });

  it('reports the hypervisor version virsh reports (TEST 0.0.2)', () => {
    const hv = conn.hypervisorVersion();
    expect(hv).toBe(virshVersion()?.hypervisor ?? 2);
  });

  it('returns a hostname and capabilities XML', () => {
    expect(conn.hostname()).toMatch(/\S/);
    expect(conn.capabilities()).toContain('<capabilities>');
  });

  it('surfaces libvirt errors with their code: the test driver lacks domain capabilities (VIR_ERR_NO_SUPPORT)', () => {
    const err = captureError(() => conn.domainCapabilities({ arch: 'x86_64' }));
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ code: LibvirtErrorCode.NO_SUPPORT, call: 'virConnectGetDomainCapabilities' });
  });

  it('looks up the test domain by name and round-trips its UUID', () => {
    const dom = conn.lookupDomainByName('test');
    expect(dom.name()).toBe('test');
    const uuid = dom.uuid();
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const again = conn.lookupDomainByUUID(uuid);
    expect(again.name()).toBe('test');
    expect(again.connection).toBe(conn);
  });

  it('a missing domain gives LibvirtError code 42 (VIR_ERR_NO_DOMAIN) with libvirt’s message', () => {
    const err = captureError(() => conn.lookupDomainByName('no-such-domain'));
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ code: 42, call: 'virDomainLookupByName' });
    expect((err as Error).message).toContain('Domain not found');
  });

  it('lists domain names', () => {
    expect(conn.listDomainNames?.()).toContain('test');
  });

  it('defines, starts transiently, destroys and undefines domains', () => {
    const defined = conn.defineDomainXML(testDomainXml('binding-defined'));
    expect(defined.isActive()).toBe(false);
    expect(defined.state().state).toBe('shutoff');
    expect(conn.listDomainNames?.()).toContain('binding-defined');
    defined.undefine();
    expect(conn.listDomainNames?.()).not.toContain('binding-defined');

    const transient = conn.createDomainXML(testDomainXml('binding-transient'));
    expect(transient.isActive()).toBe(true);
    expect(transient.xml()).toContain('<name>binding-transient</name>');
    transient.destroy();
    expect(captureError(() => conn.lookupDomainByName('binding-transient'))).toMatchObject({ code: 42 });
  });

  it('is alive until closed; close is idempotent and later calls fail cleanly', () => {
    const other = openConnection(TEST_URI, { readOnly: true });
    expect(other.uri).toBe(TEST_URI);
    expect(other.isAlive()).toBe(true);
    other.close();
    other.close();
    expect(other.isAlive()).toBe(false);
    expect(captureError(() => other.hostname())).toMatchObject({ code: LibvirtErrorCode.INVALID_CONN });
  });

  it('a bad URI fails to open with a LibvirtError', () => {
    const err = captureError(() => openConnection('bogus-driver:///nothing'));
    expect(err).toBeInstanceOf(LibvirtError);
    expect((err as LibvirtError).call).toBe('virConnectOpen');
  });
});
