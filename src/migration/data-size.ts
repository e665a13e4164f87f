import type { LibvirtDomain } from '../libvirt/types.js';
import { migrationDataGb } from '../policy/downtime.js';
import { copiedDisksOf, parseDomainXml } from '../policy/guest.js';

/**
 * The disks a block migration copies when `migrate_disks` is left out, from the domain XML (read with
 * `parseDomainXml`, so a commented-out disk is no disk): those libvirt copies by itself — `<disk type='file'>`
 * or `<disk type='block'>` with a `<source>` and a `<target dev>`, neither `<readonly/>` (CD-ROMs, shared
 * images) nor `<shareable/>` — by target name.
 *
 * @throws {@link MigrationPolicyError} `INVALID_DOMAIN_XML` for XML that is not one well-formed `<domain>`.
 *
 * @example
 * ```ts
 * copiedDisks(`<domain><devices>
 *   <disk type='file' device='disk'><source file='/var/lib/a.qcow2'/><target dev='vda'/></disk>
 *   <disk type='file' device='cdrom'><source file='/x.iso'/><target dev='sda'/><readonly/></disk>
 *   <disk type='network' device='disk'><source protocol='rbd' name='p/v'/><target dev='vdb'/></disk>
 * </devices></domain>`); // ['vda']
 * ```
 */
export function copiedDisks(xml: string): string[] {
  return copiedDisksOf(parseDomainXml(xml));
}

/**
 * Nova's `_live_migration_data_gb` with libvirt's answers: the guest's maximum memory (`virDomainGetInfo`)
 * and, for a block migration, each copied disk's allocation (`virDomainGetBlockInfo`). A disk whose size
 * libvirt cannot tell counts as the 2 GiB minimum, and `onDiskError` hears why.
 *
 * @example
 * ```ts
 * await guestDataGb(domain, { block: true, disks: ['vda'] }); // e.g. 64 + 20 for a 64 GiB guest, 20 GiB disk
 * ```
 */
export async function guestDataGb(
  domain: LibvirtDomain,
  copy: { block: boolean; disks?: readonly string[] | undefined },
  onDiskError: (disk: string, error: unknown) => void = () => undefined,
): Promise<number> {
  const info = await domain.info();
  const memoryMiB = info.maxMemoryKiB / 1024;
  if (!copy.block) return migrationDataGb({ memoryMiB });
  const disks = copy.disks ?? copiedDisks(await domain.xml());
  const diskBytes = await Promise.all(
    disks.map((disk) =>
      domain.blockInfo(disk).then(
        (block) => block.allocation,
        (error: unknown) => {
          onDiskError(disk, error);
          return 0;
        },
      ),
    ),
  );
  return migrationDataGb({ memoryMiB, diskBytes });
}
