/**
 * libvirt's `virDomainMigrateFlags`, by name. The values are libvirt's ABI and never change.
 *
 * @example
 * ```ts
 * import { MigrateFlags } from 'libvirt-migration-policy';
 * const flags = MigrateFlags.LIVE | MigrateFlags.PEER2PEER | MigrateFlags.AUTO_CONVERGE;
 * ```
 */
export const MigrateFlags = Object.freeze({
  LIVE: 1,
  PEER2PEER: 2,
  TUNNELLED: 4,
  PERSIST_DEST: 8,
  UNDEFINE_SOURCE: 16,
  PAUSED: 32,
  NON_SHARED_DISK: 64,
  NON_SHARED_INC: 128,
  CHANGE_PROTECTION: 256,
  UNSAFE: 512,
  OFFLINE: 1024,
  COMPRESSED: 2048,
  ABORT_ON_ERROR: 4096,
  AUTO_CONVERGE: 8192,
  RDMA_PIN_ALL: 16384,
  POSTCOPY: 32768,
  TLS: 65536,
  PARALLEL: 131072,
  NON_SHARED_SYNCHRONOUS_WRITES: 262144,
  POSTCOPY_RESUME: 524288,
  ZEROCOPY: 1048576,
} as const);

/** The name of one {@link MigrateFlags} bit. */
export type MigrateFlagName = keyof typeof MigrateFlags;

const FLAG_ENTRIES = Object.entries(MigrateFlags) as [MigrateFlagName, number][];

/**
 * The names of the bits set in `flags`, lowest bit first, for logs and `explain` output.
 *
 * @example
 * ```ts
 * flagNames(8195); // ['LIVE', 'PEER2PEER', 'AUTO_CONVERGE']
 * ```
 */
export function flagNames(flags: number): MigrateFlagName[] {
  const names: MigrateFlagName[] = [];
  for (const [name, bit] of FLAG_ENTRIES) if ((flags & bit) !== 0) names.push(name);
  return names;
}
