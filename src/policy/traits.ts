import { MigrationPolicyError } from '../errors.js';
import { optionalFlag } from './booleans.js';
import { asPolicyError, boundKey, isPlainObject } from './guard.js';
import { type HostConfig, resolveHostConfig } from './host-config.js';
import type { InstanceMetadata } from './metadata.js';
import { quote } from './quote.js';
import { validatedRequest } from './resolve.js';
import { encodeVersion, formatVersion, MIN_VERSIONS, type Version } from './versions.js';

/**
 * The placement traits of the spec: a host reports them, an instance that asks for a feature requires them.
 *
 * @example
 * ```ts
 * Traits.POST_COPY; // 'COMPUTE_MIGRATE_POST_COPY'
 * ```
 */
export const Traits = Object.freeze({
  AUTO_CONVERGE: 'COMPUTE_MIGRATE_AUTO_CONVERGE',
  POST_COPY: 'COMPUTE_MIGRATE_POST_COPY',
} as const);

/** One of the {@link Traits}. */
export type Trait = (typeof Traits)[keyof typeof Traits];

/**
 * The traits the scheduler adds as *required* to the placement request: one for each feature the instance
 * sets to true. A `false` adds nothing, so the instance can still land anywhere.
 *
 * @throws {@link MigrationPolicyError} for the same metadata `resolveInstancePolicy` refuses.
 *
 * @example
 * ```ts
 * requiredTraits({ flavorExtraSpecs: { 'compute:live_migration_post_copy': 'true' } });
 * // ['COMPUTE_MIGRATE_POST_COPY']
 * ```
 */
export function requiredTraits(meta?: InstanceMetadata | null): Trait[] {
  const request = validatedRequest(meta);
  const traits: Trait[] = [];
  if (request.autoConverge?.value === true) traits.push(Traits.AUTO_CONVERGE);
  if (request.postCopy?.value === true) traits.push(Traits.POST_COPY);
  return traits;
}

/** What {@link hostTraits} needs to know about a compute host. */
export interface HostCapabilities {
  /** `virConnectGetLibVersion`, encoded or `'9.0.0'`. */
  libvirtVersion: Version;
  /** `virConnectGetVersion` (the hypervisor's), encoded or `'7.2.0'`. */
  qemuVersion: Version;
  /** The host's conf: only what makes post-copy impossible counts (tunnelled, parallel connections). */
  config?: Partial<HostConfig>;
  /** Whether the host offers userfaultfd (needed on the destination for post-copy); assumed when omitted. */
  userfaultfd?: boolean;
}

/**
 * The driver's trait report for `update_provider_tree`: each trait is true when this host can run the
 * feature, regardless of the `permit_*` options (those only set the default for instances with no opinion).
 * Post-copy is not reported where the conf or the versions make it impossible, or where `userfaultfd` is
 * `false`.
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` for missing or malformed versions, an unknown key, a
 * `userfaultfd` that is not a real boolean; `INVALID_HOST_CONFIG` for a bad `config`.
 *
 * @example
 * ```ts
 * hostTraits({ libvirtVersion: '9.0.0', qemuVersion: '7.2.0' });
 * // { COMPUTE_MIGRATE_AUTO_CONVERGE: true, COMPUTE_MIGRATE_POST_COPY: true }
 * ```
 */
export function hostTraits(capabilities: HostCapabilities): Record<Trait, boolean> {
  if (!isPlainObject(capabilities)) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `host capabilities are ${quote(capabilities)}: pass { libvirtVersion, qemuVersion, config?, userfaultfd? }`,
      { key: 'capabilities', value: capabilities },
    );
  }
  let read: { libvirtVersion: unknown; qemuVersion: unknown; config: unknown; userfaultfd: unknown };
  try {
    for (const key of Object.keys(capabilities)) {
      if (!CAPABILITY_KEYS.includes(key)) {
        throw new MigrationPolicyError(
          'INVALID_ARGUMENT',
          `host capabilities have the unknown key ${quote(key)}: use ${CAPABILITY_KEYS.join(', ')}`,
          { key: boundKey(key), value: capabilities[key as keyof HostCapabilities] },
        );
      }
    }
    const { libvirtVersion, qemuVersion, config, userfaultfd } = capabilities;
    read = { libvirtVersion, qemuVersion, config, userfaultfd };
  } catch (err) {
    throw asPolicyError(err, 'capabilities', 'the host capabilities');
  }
  const libvirt = encodeVersion(read.libvirtVersion as Version, 'libvirtVersion');
  const qemu = encodeVersion(read.qemuVersion as Version, 'qemuVersion');
  const config = resolveHostConfig(read.config as Partial<HostConfig> | undefined);
  const userfaultfd = optionalFlag(read.userfaultfd, 'userfaultfd');
  return {
    [Traits.AUTO_CONVERGE]:
      libvirt >= MIN_VERSIONS.autoConverge.libvirt && qemu >= MIN_VERSIONS.autoConverge.qemu,
    [Traits.POST_COPY]: userfaultfd !== false && postCopyBlocker({ libvirt, qemu, config }) === undefined,
  };
}

const CAPABILITY_KEYS = ['libvirtVersion', 'qemuVersion', 'config', 'userfaultfd'];

/**
 * A version below a feature's minimum, named with the version found, or `undefined`. Versions left out are
 * not held against the host.
 */
export function versionBlocker(
  minimum: { libvirt?: number; qemu?: number },
  libvirt: number | undefined,
  qemu: number | undefined,
): Blocker | undefined {
  for (const [name, have, min] of [
    ['libvirt', libvirt, minimum.libvirt],
    ['QEMU', qemu, minimum.qemu],
  ] as const) {
    if (have !== undefined && min !== undefined && have < min) {
      return {
        reason: `${name} ${formatVersion(have)} is older than ${formatVersion(min)}`,
        fix: `upgrade ${name} on this host to ${formatVersion(min)} or later`,
      };
    }
  }
  return undefined;
}

/** Why a feature cannot run, and what would let it: the source is the host the guest runs on, never chosen. */
export interface Blocker {
  reason: string;
  fix: string;
}

/**
 * Why post-copy cannot run on this host, or `undefined` when it can. Versions left out are not held against
 * the host: libvirt checks them again at call time.
 */
export function postCopyBlocker(host: {
  libvirt?: number;
  qemu?: number;
  config: HostConfig;
}): Blocker | undefined {
  const { libvirt, qemu, config } = host;
  if (config.tunnelled) {
    return {
      reason: 'tunnelled migration ([libvirt] live_migration_tunnelled = True) cannot do post-copy',
      fix: "set live_migration_tunnelled = False in this host's nova.conf (live_migration_with_native_tls encrypts the stream without the tunnel)",
    };
  }
  const old = versionBlocker(MIN_VERSIONS.postCopy, libvirt, qemu);
  if (old !== undefined) return old;
  if (config.parallelConnections > 1 && qemu !== undefined && qemu < MIN_VERSIONS.postCopyWithParallel.qemu) {
    return {
      reason: `parallel connections ([libvirt] live_migration_parallel_connections = ${config.parallelConnections}) need QEMU 10.1.0 or newer for post-copy (this host has ${formatVersion(qemu)})`,
      fix: "set live_migration_parallel_connections = 1 in this host's nova.conf, or upgrade QEMU to 10.1.0",
    };
  }
  return undefined;
}
