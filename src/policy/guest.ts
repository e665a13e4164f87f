/**
 * The guest as libvirt describes it: its domain XML (`virDomainGetXMLDesc`) read with a maintained XML parser
 * into the few facts the migration depends on — the disks a block migration copies, the host devices, how its
 * memory is backed. Parsing is pure: a string in, a description out. Domain XML is untrusted input: anything
 * that is not one well-formed `<domain>` is a typed error saying what is wrong.
 */
import { type X2jOptions, XMLParser, XMLValidator } from 'fast-xml-parser';
import { MigrationPolicyError } from '../errors.js';
import { quote } from './quote.js';

/** One `<disk>` of the domain. */
export interface GuestDisk {
  /** `type`: `file`, `block`, `network`, `volume`, … */
  type: string;
  /** `device`: `disk` (the default), `cdrom`, `floppy`, `lun`. */
  device: string;
  /** `<target dev>`, e.g. `vda`. */
  target?: string;
  /** The `<source>`'s file or device path, when it has one. */
  source?: string;
  readonly: boolean;
  shareable: boolean;
}

/** One device of the host given to the guest. */
export interface GuestHostDevice {
  /**
   * Where it came from: `hostdev` (`<hostdev mode='subsystem'>`) or `interface` (`<interface type='hostdev'>`,
   * an SR-IOV network function passed through).
   */
  element: 'hostdev' | 'interface';
  /** The subsystem type: `pci`, `mdev`, `usb`, `scsi`, `scsi_host`. */
  type: string;
  /**
   * Assigned through VFIO: a PCI device (libvirt's only PCI backend today, `<driver name='vfio'/>` or none) or
   * a mediated device (`mdev`, always VFIO).
   */
  vfio: boolean;
  /** A PCI address (`0000:65:00.1`) or an mdev UUID, for messages. */
  address?: string;
}

/** How the guest's memory is backed (`<memoryBacking>`). */
export interface GuestMemoryBacking {
  /** `<source type>`: `file`, `anonymous` or `memfd`; absent when not given (anonymous). */
  source?: string;
  /** `<access mode='shared'/>`: other processes (vhost-user back ends) map the guest's RAM. */
  shared: boolean;
  /** `<hugepages/>`. */
  hugepages: boolean;
}

/** The facts of a domain XML the migration decision uses. */
export interface GuestDescription {
  name?: string;
  uuid?: string;
  disks: GuestDisk[];
  hostDevices: GuestHostDevice[];
  memoryBacking: GuestMemoryBacking;
}

/** The most characters of domain XML read: libvirt's own are a few KiB, a big guest's some hundreds. */
const MAX_XML_CHARS = 4 * 1024 * 1024;

const ARRAYS = new Set(['domain.devices.disk', 'domain.devices.hostdev', 'domain.devices.interface']);

/** How fast-xml-parser reads a domain XML; a parser is made per call, since the parser object can be changed. */
const PARSER_OPTIONS: Readonly<X2jOptions> = Object.freeze({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '$',
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  ignoreDeclaration: true,
  isArray: (_name: string, path: unknown) => ARRAYS.has(String(path)),
});

/**
 * Reads a domain XML into a {@link GuestDescription}. Comments are comments (a commented-out `<disk>` is no
 * disk) and attribute values may hold any character, as XML says.
 *
 * @throws {@link MigrationPolicyError} `INVALID_DOMAIN_XML` for anything else: not a string, not well-formed
 * (with the line and column), a document type declaration, a root other than one `<domain>`, or a value where
 * libvirt puts an element.
 *
 * @example
 * ```ts
 * import { parseDomainXml } from 'libvirt-migration-policy/policy';
 * const guest = parseDomainXml(`<domain type='kvm'><name>db-1</name><devices>
 *   <disk type='file' device='disk'><source file='/var/lib/nova/db-1/disk'/><target dev='vda'/></disk>
 *   <!-- <disk type='file'><source file='/old.img'/><target dev='vdz'/></disk> -->
 *   <hostdev mode='subsystem' type='pci' managed='yes'>
 *     <source><address domain='0x0000' bus='0x65' slot='0x00' function='0x1'/></source>
 *   </hostdev>
 * </devices></domain>`);
 * guest.disks.map((d) => d.target); // ['vda']
 * guest.hostDevices; // [{ element: 'hostdev', type: 'pci', vfio: true, address: '0000:65:00.1' }]
 * ```
 */
export function parseDomainXml(xml: string): GuestDescription {
  if (typeof xml !== 'string') throw invalid(`the domain XML is ${quote(xml)}, not a string`, xml);
  if (xml.length > MAX_XML_CHARS) {
    throw invalid(
      `the domain XML has ${xml.length} characters, more than ${MAX_XML_CHARS} libvirt ever writes`,
      xml,
    );
  }
  if (xml.trim() === '') throw invalid('the domain XML is empty: pass what virDomainGetXMLDesc returns', xml);
  if (/<!DOCTYPE/i.test(xml)) {
    throw invalid('the domain XML has a document type declaration, which libvirt never writes', xml);
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    const where = col === undefined ? `line ${line}` : `line ${line}, column ${col}`;
    throw invalid(`the domain XML is not well-formed at ${where}: ${msg}`, xml);
  }
  const document = new XMLParser(PARSER_OPTIONS).parse(xml) as Record<string, unknown>;
  const roots = Object.keys(document);
  const domain = document.domain;
  if (Array.isArray(domain)) {
    throw invalid(`the domain XML has ${domain.length} <domain> elements: pass one guest's XML`, xml);
  }
  if (roots.length !== 1 || !isElement(domain)) {
    throw invalid(
      `the domain XML's root is ${roots.length === 0 ? 'missing' : roots.map((r) => `<${r}>`).join(', ')}: ` +
        'pass what virDomainGetXMLDesc returns, one <domain> element',
      xml,
    );
  }
  const devices = optionalElement(domain.devices, 'devices');
  const description: GuestDescription = {
    disks: list(devices?.disk, 'devices/disk').map(disk),
    hostDevices: [
      ...list(devices?.hostdev, 'devices/hostdev').flatMap(hostdev),
      ...list(devices?.interface, 'devices/interface').flatMap(hostdevInterface),
    ],
    memoryBacking: memoryBacking(optionalElement(domain.memoryBacking, 'memoryBacking')),
  };
  const name = text(domain.name);
  const uuid = text(domain.uuid);
  if (name !== undefined) description.name = name;
  if (uuid !== undefined) description.uuid = uuid;
  return description;
}

/**
 * The disks a block migration copies when `migrate_disks` is left out: those libvirt copies by itself —
 * `<disk type='file'>` or `<disk type='block'>` with a source and a target, neither `<readonly/>` (CD-ROMs,
 * shared images) nor `<shareable/>` — by target name.
 *
 * @example
 * ```ts
 * copiedDisksOf(parseDomainXml(`<domain><devices>
 *   <disk type='file'><source file='/a.qcow2'/><target dev='vda'/></disk>
 *   <disk type='network'><source protocol='rbd' name='p/v'/><target dev='vdb'/></disk>
 * </devices></domain>`)); // ['vda']
 * ```
 */
export function copiedDisksOf(guest: GuestDescription): string[] {
  return guest.disks
    .filter(
      (d) =>
        (d.type === 'file' || d.type === 'block') && d.source !== undefined && !d.readonly && !d.shareable,
    )
    .flatMap((d) => (d.target === undefined ? [] : [d.target]));
}

/**
 * Why QEMU cannot post-copy this guest, or `undefined`. Each rule is one QEMU's sources state:
 *
 * - A VFIO device (a PCI `<hostdev>`, an `mdev`, an `<interface type='hostdev'>`): QEMU refuses post-copy for a
 *   guest with one — hw/vfio/migration.c, `vfio_save_prepare()`: "VFIO migration is not supported with postcopy
 *   migration" (QEMU 8.2, commit "vfio/migration: Block VFIO migration with postcopy migration": "A VFIO device
 *   in the destination can't handle page faults for pages that have not been sent yet. Doing such migration
 *   will cause the VM to crash in the destination."). Before 8.2 QEMU did not refuse it and the destination
 *   crashed, so the rule holds for every version.
 *
 * What QEMU also checks but a domain XML cannot tell is left to QEMU (migration/postcopy-ram.c,
 * `postcopy_ram_supported_by_host()`): userfaultfd on the destination; a vhost-user back end that does not
 * offer `VHOST_USER_PROTOCOL_F_PAGEFAULT` (docs/interop/vhost-user.rst; shared memory itself is supported since
 * QEMU 2.12); huge pages without the kernel's `UFFD_FEATURE_MISSING_HUGETLBFS`; and RAM in a file that is not
 * on tmpfs or hugetlbfs ("Host backend files need to be TMPFS or HUGETLBFS only", QEMU 8.0) — libvirt puts a
 * `<source type='file'/>` guest's RAM under qemu.conf's `memory_backing_dir`, whose file system only the
 * destination knows. {@link postCopyGuestCautions} names those.
 *
 * @example
 * ```ts
 * postCopyGuestBlocker(parseDomainXml("<domain><devices><hostdev mode='subsystem' type='mdev'><source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev></devices></domain>"));
 * // 'the guest has a VFIO device (mdev c2177883-f1bb-47f0-914d-32a22e3a8804), and QEMU cannot post-copy …'
 * ```
 */
export function postCopyGuestBlocker(guest: GuestDescription): string | undefined {
  const vfio = guest.hostDevices.filter((d) => d.vfio);
  if (vfio.length === 0) return undefined;
  const names = vfio.map(
    (d) =>
      `${d.element === 'interface' ? 'interface type=hostdev, ' : ''}${d.type}${d.address ? ` ${d.address}` : ''}`,
  );
  return (
    `the guest has ${vfio.length === 1 ? 'a VFIO device' : `${vfio.length} VFIO devices`} (${names.join('; ')}), ` +
    "and QEMU cannot post-copy a guest with one: the destination's device cannot wait for pages not yet sent " +
    '(QEMU refuses it from 8.2, hw/vfio/migration.c)'
  );
}

/**
 * What about this guest QEMU checks only on the destination when post-copy starts, as sentences for
 * `explain` (see {@link postCopyGuestBlocker} for the sources): they do not change the decision.
 *
 * @example
 * ```ts
 * postCopyGuestCautions(parseDomainXml("<domain><memoryBacking><source type='file'/></memoryBacking></domain>"));
 * // ["the guest's RAM is a file (<memoryBacking><source type='file'/>): QEMU post-copies it only …"]
 * ```
 */
export function postCopyGuestCautions(guest: GuestDescription): string[] {
  const cautions: string[] = [];
  const { source, shared, hugepages } = guest.memoryBacking;
  if (source === 'file') {
    cautions.push(
      "the guest's RAM is a file (<memoryBacking><source type='file'/>): QEMU post-copies it only when that file " +
        "is on tmpfs or hugetlbfs (qemu.conf's memory_backing_dir on the destination), and refuses otherwise",
    );
  }
  if (shared) {
    cautions.push(
      "the guest's RAM is shared (<access mode='shared'/>, for vhost-user): QEMU post-copies it only when every " +
        'vhost-user back end offers the PAGEFAULT protocol feature, and refuses otherwise',
    );
  }
  if (hugepages) {
    cautions.push(
      "the guest's RAM is in huge pages: QEMU post-copies it only when the destination's kernel offers " +
        'userfaultfd on hugetlbfs (Linux 4.11 or later), and refuses otherwise',
    );
  }
  return cautions;
}

type Element = Record<string, unknown> & { $?: Record<string, string> };

function isElement(value: unknown): value is Element {
  // An empty element (<devices/>) parses as '' — an element with no content.
  return value === '' || (typeof value === 'object' && value !== null && !Array.isArray(value));
}

function asElement(value: unknown): Element {
  return value === '' ? {} : (value as Element);
}

function optionalElement(value: unknown, path: string): Element | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value))
    throw invalid(`the domain XML has ${value.length} <${path}> elements where libvirt writes one`, value);
  if (!isElement(value))
    throw invalid(`the domain XML's <${path}> is ${quote(value)}, text where libvirt writes elements`, value);
  return asElement(value);
}

function list(value: unknown, path: string): Element[] {
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map((item) => {
    if (!isElement(item))
      throw invalid(`the domain XML's <${path}> is ${quote(item)}, text where libvirt writes elements`, item);
    return asElement(item);
  });
}

function attribute(element: Element | undefined, name: string): string | undefined {
  return element?.$?.[name];
}

function child(element: Element, name: string): Element | undefined {
  const value = element[name];
  if (Array.isArray(value)) return isElement(value[0]) ? asElement(value[0]) : undefined;
  return isElement(value) ? asElement(value) : undefined;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
  if (isElement(value) && typeof value['#text'] === 'string') return value['#text'].trim();
  return undefined;
}

function disk(element: Element): GuestDisk {
  const source = child(element, 'source');
  const path = attribute(source, 'file') ?? attribute(source, 'dev');
  const target = attribute(child(element, 'target'), 'dev');
  return {
    type: attribute(element, 'type') ?? '',
    device: attribute(element, 'device') ?? 'disk',
    ...(target === undefined ? {} : { target }),
    ...(path === undefined ? {} : { source: path }),
    readonly: element.readonly !== undefined,
    shareable: element.shareable !== undefined,
  };
}

function hostdev(element: Element): GuestHostDevice[] {
  if ((attribute(element, 'mode') ?? 'subsystem') !== 'subsystem') return [];
  const type = attribute(element, 'type') ?? '';
  const address = hostAddress(type, element);
  return [
    { element: 'hostdev', type, vfio: isVfio(type, element), ...(address === undefined ? {} : { address }) },
  ];
}

function hostdevInterface(element: Element): GuestHostDevice[] {
  if (attribute(element, 'type') !== 'hostdev') return [];
  const address = hostAddress('pci', element);
  return [
    {
      element: 'interface',
      type: 'pci',
      vfio: isVfio('pci', element),
      ...(address === undefined ? {} : { address }),
    },
  ];
}

/** PCI through VFIO (libvirt's `<driver name='vfio'/>`, its default; the legacy `kvm` backend is gone), or mdev. */
function isVfio(type: string, element: Element): boolean {
  if (type === 'mdev') return true;
  if (type !== 'pci') return false;
  const driver = attribute(child(element, 'driver'), 'name');
  return driver === undefined || driver === 'vfio';
}

function hostAddress(type: string, element: Element): string | undefined {
  const address = child(child(element, 'source') ?? {}, 'address');
  if (address === undefined) return undefined;
  if (type === 'mdev') return attribute(address, 'uuid');
  const part = (name: string, width: number) => {
    const value = attribute(address, name);
    return value === undefined ? undefined : Number(value).toString(16).padStart(width, '0');
  };
  const [domain, bus, slot, fn] = [
    part('domain', 4),
    part('bus', 2),
    part('slot', 2),
    attribute(address, 'function'),
  ];
  if (bus === undefined || slot === undefined) return undefined;
  return `${domain ?? '0000'}:${bus}:${slot}.${fn === undefined ? '0' : Number(fn).toString(16)}`;
}

function memoryBacking(element: Element | undefined): GuestMemoryBacking {
  const source = attribute(child(element ?? {}, 'source'), 'type');
  return {
    ...(source === undefined ? {} : { source }),
    shared: attribute(child(element ?? {}, 'access'), 'mode') === 'shared',
    hugepages: element?.hugepages !== undefined,
  };
}

function invalid(message: string, value: unknown): MigrationPolicyError {
  return new MigrationPolicyError('INVALID_DOMAIN_XML', `${message}`, { key: 'domainXml', value });
}
