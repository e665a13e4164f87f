import { MigrationPolicyError } from '../errors.js';
import { flagNames, type MigrateFlagName, MigrateFlags } from './flags.js';
import { type HostConfig, optionLabel, resolveHostConfig } from './host-config.js';
import type { FeatureRequest, InstanceMetadata } from './metadata.js';
import { validatedRequest } from './resolve.js';
import { postCopyBlocker } from './traits.js';
import { encodeVersion, formatVersion, MIN_VERSIONS, type Version } from './versions.js';

/** Everything a migration's flags depend on, read at the moment of the migration. */
export interface PlanInput {
  /** The instance's flavor extra specs and image properties. */
  instance?: InstanceMetadata | null;
  /** The source host's `[libvirt]` options; missing ones take Nova's defaults. */
  host?: Partial<HostConfig> | null;
  /** Copy the disks too (`NON_SHARED_INC`). */
  blockMigration?: boolean;
  /**
   * With block migration, the disks to copy. An empty list clears `NON_SHARED_INC`, because libvirt would
   * otherwise copy every disk, volumes included. Leave it out when unknown.
   */
  migrateDisks?: readonly string[];
  /** The guest is paused now: libvirt refuses post-copy for it. */
  paused?: boolean;
  /** The source's libvirt version, when known. */
  libvirtVersion?: Version;
  /** The source's QEMU version, when known. */
  qemuVersion?: Version;
}

/** Who decided a feature. */
export type DecisionSource = 'flavor' | 'image' | 'flavor and image' | 'host';

/** One feature's outcome and the sentence that explains it. */
export interface FeatureDecision {
  enabled: boolean;
  source: DecisionSource;
  reason: string;
}

/**
 * The decided migration: the `virDomainMigrateFlags` to send and why.
 */
export interface MigrationPlan {
  /** The `virDomainMigrateFlags` bitmask. */
  flags: number;
  /** The names of the bits in {@link MigrationPlan.flags}. */
  flagNames: MigrateFlagName[];
  autoConverge: boolean;
  postCopy: boolean;
  /** One sentence per decision: where each feature came from, what was dropped and why. */
  reasons: string[];
  decisions: { autoConverge: FeatureDecision; postCopy: FeatureDecision };
  /** The host config the plan was made with, defaults filled in: the monitor uses the same numbers. */
  host: HostConfig;
}

const BASE_FLAGS =
  MigrateFlags.LIVE | MigrateFlags.PEER2PEER | MigrateFlags.PERSIST_DEST | MigrateFlags.UNDEFINE_SOURCE;

/**
 * Decides a migration the way the spec asks: the instance's metadata overrides the host's `permit_*`
 * options, post-copy wins over auto-converge at host level, and features the host cannot run are dropped
 * (from the host conf) or refused (when the instance asked for them). With no metadata the flags equal
 * Nova's `_parse_migration_flags` for the same options.
 *
 * @throws {@link MigrationPolicyError} for bad metadata or host config, `POST_COPY_UNAVAILABLE` /
 * `AUTO_CONVERGE_UNAVAILABLE` when the instance asks for what this host cannot do.
 *
 * @example
 * ```ts
 * import { planMigration, MigrateFlags } from 'libvirt-migration-policy';
 * const plan = planMigration({
 *   instance: { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'false' } },
 *   host: { permitPostCopy: true, permitAutoConverge: true },
 * });
 * plan.autoConverge; // true: post-copy refused by the flavor, so the host's auto-converge applies
 * (plan.flags & MigrateFlags.POSTCOPY) === 0; // true
 * ```
 */
export function planMigration(input: PlanInput = {}): MigrationPlan {
  const request = validatedRequest(input.instance);
  const host = resolveHostConfig(input.host);
  const libvirt =
    input.libvirtVersion === undefined ? undefined : encodeVersion(input.libvirtVersion, 'libvirtVersion');
  const qemu = input.qemuVersion === undefined ? undefined : encodeVersion(input.qemuVersion, 'qemuVersion');
  const reasons: string[] = [];

  let flags = BASE_FLAGS;
  if (input.blockMigration) {
    if (input.migrateDisks !== undefined && input.migrateDisks.length === 0) {
      reasons.push(
        'block migration without NON_SHARED_INC: no disk to copy, and libvirt would otherwise copy every disk',
      );
    } else {
      flags |= MigrateFlags.NON_SHARED_INC;
    }
  }
  if (host.tunnelled) flags |= MigrateFlags.TUNNELLED;
  if (host.nativeTls) flags |= MigrateFlags.TLS;
  if (host.parallelConnections > 1) flags |= MigrateFlags.PARALLEL;

  const postCopy = decidePostCopy(
    request.postCopy,
    request.autoConverge,
    host,
    postCopyBlocker({ libvirt, qemu, config: host }),
  );
  // A post-copy that was chosen still keeps the host's auto-converge off when only the pause drops it:
  // Nova clears POSTCOPY just before the call and never adds AUTO_CONVERGE back.
  const postCopyChosen = postCopy.enabled;
  if (input.paused && postCopy.enabled) {
    postCopy.enabled = false;
    postCopy.reason = `post-copy dropped: the guest is paused, libvirt refuses post-copy for a paused guest and it dirties no memory anyway (${postCopy.reason})`;
  }
  const autoConverge = decideAutoConverge(request.autoConverge, postCopyChosen, host, libvirt, qemu);

  if (postCopy.enabled) flags |= MigrateFlags.POSTCOPY;
  if (autoConverge.enabled) flags |= MigrateFlags.AUTO_CONVERGE;
  reasons.push(postCopy.reason, autoConverge.reason);

  return {
    flags,
    flagNames: flagNames(flags),
    autoConverge: autoConverge.enabled,
    postCopy: postCopy.enabled,
    reasons,
    decisions: { autoConverge, postCopy },
    host,
  };
}

function decidePostCopy(
  asked: FeatureRequest | undefined,
  askedAutoConverge: FeatureRequest | undefined,
  host: HostConfig,
  blocker: string | undefined,
): FeatureDecision {
  const permit = `${optionLabel('permitPostCopy')} = ${host.permitPostCopy ? 'True' : 'False'}`;
  if (asked?.value === true) {
    if (blocker !== undefined) {
      throw new MigrationPolicyError(
        'POST_COPY_UNAVAILABLE',
        `${describe(asked)} asks for post-copy, but ${blocker}: migrate this instance from a host that can do ` +
          'post-copy (schedule with the COMPUTE_MIGRATE_POST_COPY trait) or set the key to "false"',
        { key: asked.key, value: asked.value },
      );
    }
    return { enabled: true, source: asked.source, reason: `post-copy on: ${describe(asked)} = true` };
  }
  if (asked?.value === false) {
    return {
      enabled: false,
      source: asked.source,
      reason: `post-copy off: ${describe(asked)} = false overrides ${permit}`,
    };
  }
  if (askedAutoConverge?.value === true) {
    return {
      enabled: false,
      source: askedAutoConverge.source,
      reason: `post-copy off: ${describe(askedAutoConverge)} = true asks for auto-converge, which means no post-copy (force-complete pauses instead)`,
    };
  }
  if (!host.permitPostCopy) return { enabled: false, source: 'host', reason: `post-copy off: ${permit}` };
  if (blocker !== undefined) {
    return { enabled: false, source: 'host', reason: `post-copy dropped: ${permit}, but ${blocker}` };
  }
  return { enabled: true, source: 'host', reason: `post-copy on: ${permit} and the instance has no opinion` };
}

function decideAutoConverge(
  asked: FeatureRequest | undefined,
  postCopyChosen: boolean,
  host: HostConfig,
  libvirt: number | undefined,
  qemu: number | undefined,
): FeatureDecision {
  const permit = `${optionLabel('permitAutoConverge')} = ${host.permitAutoConverge ? 'True' : 'False'}`;
  const blocker = autoConvergeBlocker(libvirt, qemu);
  if (asked?.value === true) {
    if (blocker !== undefined) {
      throw new MigrationPolicyError(
        'AUTO_CONVERGE_UNAVAILABLE',
        `${describe(asked)} asks for auto-converge, but ${blocker}: migrate from a host with the ` +
          'COMPUTE_MIGRATE_AUTO_CONVERGE trait or set the key to "false"',
        { key: asked.key, value: asked.value },
      );
    }
    return { enabled: true, source: asked.source, reason: `auto-converge on: ${describe(asked)} = true` };
  }
  if (asked?.value === false) {
    return {
      enabled: false,
      source: asked.source,
      reason: `auto-converge off: ${describe(asked)} = false overrides ${permit}`,
    };
  }
  if (!host.permitAutoConverge)
    return { enabled: false, source: 'host', reason: `auto-converge off: ${permit}` };
  if (postCopyChosen) {
    return {
      enabled: false,
      source: 'host',
      reason: `auto-converge off: ${permit}, but post-copy was chosen and wins over auto-converge`,
    };
  }
  if (blocker !== undefined)
    return { enabled: false, source: 'host', reason: `auto-converge dropped: ${permit}, but ${blocker}` };
  return { enabled: true, source: 'host', reason: `auto-converge on: ${permit} and post-copy is not in use` };
}

function autoConvergeBlocker(libvirt: number | undefined, qemu: number | undefined): string | undefined {
  if (libvirt !== undefined && libvirt < MIN_VERSIONS.autoConverge.libvirt) {
    return `libvirt ${formatVersion(libvirt)} is older than 1.2.3`;
  }
  if (qemu !== undefined && qemu < MIN_VERSIONS.autoConverge.qemu)
    return `QEMU ${formatVersion(qemu)} is older than 1.6.0`;
  return undefined;
}

function describe(request: FeatureRequest): string {
  const where = request.source === 'image' ? 'image property' : 'flavor extra spec';
  const both = request.source === 'flavor and image' ? ' (and the image agrees)' : '';
  return `${where} "${request.key}"${both}`;
}
