import { describe, expect, it } from 'vitest';
import {
  copiedDisksOf,
  parseDomainXml,
  planMigration,
  postCopyGuestBlocker,
  postCopyGuestCautions,
} from '../../src/policy/index.js';
import { expectPolicyError, PC_FLAVOR } from './helpers.js';

const domain = (devices: string, extra = '') =>
  `<domain type='kvm'><name>g</name>${extra}<devices>${devices}</devices></domain>`;
const FILE_DISK = "<disk type='file' device='disk'><source file='/a.qcow2'/><target dev='vda'/></disk>";
const PCI = `<hostdev mode='subsystem' type='pci' managed='yes'>
  <source><address domain='0x0000' bus='0x65' slot='0x00' function='0x1'/></source></hostdev>`;
const MDEV = `<hostdev mode='subsystem' type='mdev' model='vfio-pci'>
  <source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>`;
const SRIOV = `<interface type='hostdev' managed='yes'><mac address='52:54:00:6d:90:02'/>
  <source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x3'/></source></interface>`;

describe('parseDomainXml: the guest as libvirt describes it', () => {
  it('reads the disks a block migration copies, where regular expressions were fooled', () => {
    const guest = parseDomainXml(
      domain(`${FILE_DISK}
        <!-- <disk type='file'><source file='/old.img'/><target dev='vdz'/></disk> -->
        <disk type='block' device='disk'><source dev='/dev/sdb' label='a>b'/><target dev='vdb'/></disk>
        <disk type='file' device='cdrom'><source file='/x.iso'/><target dev='sda'/><readonly/></disk>
        <disk type='file'><source file='/shared.img'/><target dev='vdc'/><shareable/></disk>
        <disk type='network'><source protocol='rbd' name='p/v'/><target dev='vdd'/></disk>`),
    );
    expect(copiedDisksOf(guest)).toEqual(['vda', 'vdb']);
    expect(guest.disks.find((d) => d.target === 'vdb')?.source).toBe('/dev/sdb');
    expect(guest.name).toBe('g');
  });

  it('reads the host devices: PCI, mdev and SR-IOV interfaces through VFIO, USB not', () => {
    const guest = parseDomainXml(
      domain(`${PCI}${MDEV}${SRIOV}
        <hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/><product id='0xbeef'/></source></hostdev>
        <interface type='network'><source network='default'/></interface>`),
    );
    expect(guest.hostDevices).toEqual([
      { element: 'hostdev', type: 'pci', vfio: true, address: '0000:65:00.1' },
      { element: 'hostdev', type: 'mdev', vfio: true, address: 'c2177883-f1bb-47f0-914d-32a22e3a8804' },
      { element: 'hostdev', type: 'usb', vfio: false },
      { element: 'interface', type: 'pci', vfio: true, address: '0000:3b:02.3' },
    ]);
  });

  it('reads how the memory is backed', () => {
    expect(
      parseDomainXml(
        "<domain><memoryBacking><hugepages/><source type='file'/><access mode='shared'/></memoryBacking></domain>",
      ).memoryBacking,
    ).toEqual({ source: 'file', shared: true, hugepages: true });
    expect(parseDomainXml('<domain/>')).toEqual({
      disks: [],
      hostDevices: [],
      memoryBacking: { shared: false, hugepages: false },
    });
  });

  it.each<[string, unknown, string]>([
    ['not a string', 42, 'not a string'],
    ['unclosed', "<domain><devices><disk type='file'></devices></domain>", 'not well-formed at line 1'],
    ['two roots', '<domain/><domain/>', '2 <domain> elements'],
    ['another root', '<network><name>default</name></network>', 'root is <network>'],
    ['empty', '', 'the domain XML is empty'],
    [
      'a document type (entity tricks)',
      '<!DOCTYPE d [<!ENTITY x "y">]><domain/>',
      'document type declaration',
    ],
    [
      'text where devices go',
      '<domain><devices>vda</devices></domain>',
      'text where libvirt writes elements',
    ],
    ['two <devices>', '<domain><devices/><devices/></domain>', '2 <devices> elements'],
  ])('refuses %s with INVALID_DOMAIN_XML naming what is wrong', (_name, xml, hint) => {
    const error = expectPolicyError(() => parseDomainXml(xml as string), 'INVALID_DOMAIN_XML');
    expect(error.message).toContain(hint);
  });
});

describe("post-copy and the guest's devices", () => {
  it.each([
    ['a PCI device', PCI, '0000:65:00.1'],
    ['a mediated device', MDEV, 'mdev c2177883'],
    ['an SR-IOV interface', SRIOV, 'interface type=hostdev, pci 0000:3b:02.3'],
  ])('%s: an explicit post-copy request is POST_COPY_UNAVAILABLE', (_name, device, named) => {
    const guest = parseDomainXml(domain(device));
    expect(postCopyGuestBlocker(guest)).toContain(named);
    const error = expectPolicyError(
      () => planMigration({ instance: { flavorExtraSpecs: { [PC_FLAVOR]: 'true' } }, guest }),
      'POST_COPY_UNAVAILABLE',
    );
    expect(error.message).toContain('QEMU cannot post-copy a guest with one');
    expect(error.message).toContain('detach the device before migrating, or set the key to "false"');
  });

  it("drops the host's post-copy default with the reason, and auto-converge takes over", () => {
    const plan = planMigration({
      host: { permitPostCopy: true, permitAutoConverge: true },
      guest: parseDomainXml(domain(PCI)),
    });
    expect(plan.postCopy).toBe(false);
    expect(plan.reasons[0]).toMatch(
      /^post-copy dropped: \[libvirt\] live_migration_permit_post_copy = True, but the guest has a VFIO device \(pci 0000:65:00\.1\)/,
    );
    expect(plan.autoConverge).toBe(true);
  });

  it('a guest without VFIO devices changes nothing', () => {
    const guest = parseDomainXml(
      domain(`${FILE_DISK}<hostdev mode='subsystem' type='usb'><source/></hostdev>`),
    );
    expect(postCopyGuestBlocker(guest)).toBeUndefined();
    const host = { permitPostCopy: true };
    expect(planMigration({ host, guest }).flags).toBe(planMigration({ host }).flags);
  });

  it('names what only the destination can check, without deciding on it', () => {
    const cautions = postCopyGuestCautions(
      parseDomainXml(
        "<domain><memoryBacking><source type='file'/><access mode='shared'/></memoryBacking></domain>",
      ),
    );
    expect(cautions).toHaveLength(2);
    expect(cautions[0]).toContain('tmpfs or hugetlbfs');
    expect(cautions[1]).toContain('PAGEFAULT');
  });

  it('refuses a guest that is not a description', () => {
    expectPolicyError(() => planMigration({ guest: '<domain/>' as never }), 'INVALID_ARGUMENT');
  });
});
