import { MigrationPolicyError } from '../errors.js';
import { optionalFlag } from './booleans.js';
import { flagNames, type MigrateFlagName, MigrateFlags } from './flags.js';
import { asPolicyError, boundKey, hasOwn, isPlainObject } from './guard.js';
import { type GuestDescription, postCopyGuestBlocker } from './guest.js';
import {
  DEFAULT_HOST_CONFIG,
  type HostConfig,
  optionLabel,
  originOf,
  resolveHostConfig,
} from './host-config.js';
import { editDistance } from './key-match.js';
import type { FeatureRequest, InstanceMetadata, InstanceRequest } from './metadata.js';
import { quote } from './quote.js';
import { validatedRequest } from './resolve.js';
import { type Blocker, postCopyBlocker, versionBlocker } from './traits.js';
import { encodeVersion, MIN_VERSIONS, type Version } from './versions.js';

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
  /** The guest as its domain XML describes it (`parseDomainXml`): some devices rule post-copy out. */
  guest?: GuestDescription;
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

const INPUT_KEYS = new Set([
  'instance',
  'host',
  'blockMigration',
  'migrateDisks',
  'paused',
  'libvirtVersion',
  'qemuVersion',
  'guest',
]);

/** Said when a version-dependent feature is on and the versions were not given. */
export const VERSIONS_UNCHECKED =
  'versions not checked: libvirtVersion or qemuVersion not given, so the minimum versions of the chosen ' +
  'features (auto-converge: libvirt 1.2.3, QEMU 1.6.0; post-copy: libvirt 1.3.3, QEMU 2.5.0; post-copy with ' +
  'parallel connections: QEMU 10.1.0) are left to libvirt, which refuses the call on an older host';

/**
 * Decides a migration the way the spec asks: the instance's metadata overrides the host's `permit_*`
 * options, post-copy wins over auto-converge at host level, and features the host cannot run are dropped
 * (from the host conf) or refused (when the instance asked for them). With no metadata the flags equal
 * Nova's `_parse_migration_flags` for the same options.
 *
 * Without `libvirtVersion` / `qemuVersion` the plan is Nova's: the flags are chosen from the metadata and the
 * conf alone, nothing is held against the unknown versions, and the reasons end with
 * {@link VERSIONS_UNCHECKED} whenever a feature with a minimum version is on; libvirt then refuses the call
 * on a host too old for it. Pass both versions to have them checked here first.
 *
 * @throws {@link MigrationPolicyError} for bad metadata, host config or options (`INVALID_ARGUMENT`:
 * an unknown option, `blockMigration` or `paused` not a real boolean, `migrateDisks` not an array of
 * strings), `POST_COPY_UNAVAILABLE` / `AUTO_CONVERGE_UNAVAILABLE` when the instance asks for what this host
 * cannot do. Nothing else escapes, whatever the input.
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
  if (typeof input !== 'object' || input === null || !isPlainObject(input)) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `planMigration's input is ${quote(input)}: pass an object { instance?, host?, blockMigration?, … }, or nothing`,
      { key: 'input', value: input },
    );
  }
  let instance: PlanInput['instance'];
  let hostInput: PlanInput['host'];
  let blockMigration: boolean | undefined;
  let migrateDisks: PlanInput['migrateDisks'];
  let paused: boolean | undefined;
  let libvirtVersion: Version | undefined;
  let qemuVersion: Version | undefined;
  let guest: GuestDescription | undefined;
  try {
    // One pass over the caller's own keys: each read once (a getter cannot answer twice), unknown ones refused.
    for (const key in input) {
      if (!hasOwn(input, key)) continue;
      const value = (input as Record<string, unknown>)[key];
      switch (key) {
        case 'instance':
          instance = value as PlanInput['instance'];
          break;
        case 'host':
          hostInput = value as PlanInput['host'];
          break;
        case 'blockMigration':
          blockMigration = optionalFlag(value, 'blockMigration');
          break;
        case 'migrateDisks':
          migrateDisks = diskList(value);
          break;
        case 'paused':
          paused = optionalFlag(value, 'paused');
          break;
        case 'libvirtVersion':
          libvirtVersion = value as Version | undefined;
          break;
        case 'qemuVersion':
          qemuVersion = value as Version | undefined;
          break;
        case 'guest':
          guest = guestDescription(value);
          break;
        default:
          throw unknownInputKey(key, value);
      }
    }
  } catch (err) {
    throw asPolicyError(err, 'input', "planMigration's input");
  }
  const request = validatedRequest(instance);
  const host = resolveHostConfig(hostInput);
  const block: BlockState = blockMigration !== true ? 0 : migrateDisks?.length === 0 ? 2 : 1;
  const libvirt = libvirtVersion === undefined ? undefined : encodeVersion(libvirtVersion, 'libvirtVersion');
  const qemu = qemuVersion === undefined ? undefined : encodeVersion(qemuVersion, 'qemuVersion');
  return decide(request, host, block, paused === true, libvirt, qemu, guest);
}

/** 0: no block migration; 1: block migration (NON_SHARED_INC); 2: block migration with no disk to copy. */
type BlockState = 0 | 1 | 2;

function decide(
  request: InstanceRequest,
  host: HostConfig,
  block: BlockState,
  paused: boolean,
  libvirt: number | undefined,
  qemu: number | undefined,
  guest?: GuestDescription,
): MigrationPlan {
  const reasons: string[] = [];
  let flags = BASE_FLAGS;
  if (block === 2) {
    reasons.push(
      'block migration without NON_SHARED_INC: no disk to copy, and libvirt would otherwise copy every disk',
    );
  } else if (block === 1) {
    flags |= MigrateFlags.NON_SHARED_INC;
  }
  if (host.tunnelled) flags |= MigrateFlags.TUNNELLED;
  if (host.nativeTls) flags |= MigrateFlags.TLS;
  if (host.parallelConnections > 1) flags |= MigrateFlags.PARALLEL;

  const postCopy = decidePostCopy(
    request.postCopy,
    request.autoConverge,
    host,
    postCopyBlocker({ libvirt, qemu, config: host }) ?? guestBlocker(guest),
  );
  // A post-copy that was chosen still keeps the host's auto-converge off when only the pause drops it:
  // Nova clears POSTCOPY just before the call and never adds AUTO_CONVERGE back.
  const postCopyChosen = postCopy.enabled;
  if (paused && postCopy.enabled) {
    postCopy.enabled = false;
    postCopy.reason = `post-copy dropped: the guest is paused, libvirt refuses post-copy for a paused guest and it dirties no memory anyway (${postCopy.reason})`;
  }
  const autoConverge = decideAutoConverge(request.autoConverge, postCopyChosen, host, libvirt, qemu);

  if (postCopy.enabled) flags |= MigrateFlags.POSTCOPY;
  if (autoConverge.enabled) flags |= MigrateFlags.AUTO_CONVERGE;
  reasons.push(postCopy.reason, autoConverge.reason);
  if ((postCopy.enabled || autoConverge.enabled) && (libvirt === undefined || qemu === undefined)) {
    reasons.push(VERSIONS_UNCHECKED);
  }

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

function guestBlocker(guest: GuestDescription | undefined): Blocker | undefined {
  const reason = guest === undefined ? undefined : postCopyGuestBlocker(guest);
  return reason === undefined ? undefined : { reason, fix: 'detach the device before migrating' };
}

function guestDescription(value: unknown): GuestDescription | undefined {
  if (value === undefined) return undefined;
  if (isPlainObject(value) && Array.isArray(value.hostDevices) && Array.isArray(value.disks)) {
    return value as unknown as GuestDescription;
  }
  throw new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `guest is ${quote(value)}: pass parseDomainXml(xml), the guest's description, or leave it out`,
    { key: 'guest', value },
  );
}

function diskList(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value) && value.every((disk) => typeof disk === 'string')) return value;
  throw new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `migrateDisks is ${quote(value)}: use an array of disk target names, e.g. ["vda"] (a string would be read ` +
      'letter by letter), or leave it out',
    { key: 'migrateDisks', value },
  );
}

function unknownInputKey(key: string, value: unknown): MigrationPolicyError {
  let nearest = 'instance';
  for (const known of INPUT_KEYS) if (editDistance(key, known) < editDistance(key, nearest)) nearest = known;
  return new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `planMigration has no option ${quote(key)}: did you mean "${nearest}"? Options: ${[...INPUT_KEYS].join(', ')}`,
    { key: boundKey(key), value },
  );
}

/** `[libvirt] live_migration_permit_post_copy = True`, and the file and line it was set at when known. */
function permitLabel(host: HostConfig, key: 'permitPostCopy' | 'permitAutoConverge'): string {
  const origin = originOf(host, key);
  const label = host[key] ? PERMIT_LABELS[key].on : PERMIT_LABELS[key].off;
  if (origin !== undefined) return `${label} (${origin})`;
  // Not read from a file: when it is Nova's default value, say so rather than suggest it was set.
  return host[key] === DEFAULT_HOST_CONFIG[key] ? `${label} (Nova's default: not set)` : label;
}

const PERMIT_LABELS = {
  permitPostCopy: {
    on: `${optionLabel('permitPostCopy')} = True`,
    off: `${optionLabel('permitPostCopy')} = False`,
  },
  permitAutoConverge: {
    on: `${optionLabel('permitAutoConverge')} = True`,
    off: `${optionLabel('permitAutoConverge')} = False`,
  },
};

function decidePostCopy(
  asked: FeatureRequest | undefined,
  askedAutoConverge: FeatureRequest | undefined,
  host: HostConfig,
  blocker: Blocker | undefined,
): FeatureDecision {
  const permit = permitLabel(host, 'permitPostCopy');
  if (asked?.value === true) {
    if (blocker !== undefined) {
      throw new MigrationPolicyError(
        'POST_COPY_UNAVAILABLE',
        `${describe(asked)} asks for post-copy, but ${blocker.reason}: ${refusalFix(blocker)}`,
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
    return { enabled: false, source: 'host', reason: `post-copy dropped: ${permit}, but ${blocker.reason}` };
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
  const permit = permitLabel(host, 'permitAutoConverge');
  const blocker = autoConvergeBlocker(libvirt, qemu);
  if (asked?.value === true) {
    if (blocker !== undefined) {
      throw new MigrationPolicyError(
        'AUTO_CONVERGE_UNAVAILABLE',
        `${describe(asked)} asks for auto-converge, but ${blocker.reason}: ${refusalFix(blocker)}`,
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
    return {
      enabled: false,
      source: 'host',
      reason: `auto-converge dropped: ${permit}, but ${blocker.reason}`,
    };
  return { enabled: true, source: 'host', reason: `auto-converge on: ${permit} and post-copy is not in use` };
}

function autoConvergeBlocker(libvirt: number | undefined, qemu: number | undefined): Blocker | undefined {
  return versionBlocker(MIN_VERSIONS.autoConverge, libvirt, qemu);
}

/**
 * What the operator can do about a refusal. The migration starts from the host the guest runs on — the
 * scheduler's traits choose only the destination — so the way out is this host, this guest, or the key.
 */
function refusalFix(blocker: Blocker): string {
  return `the migration starts from the host the guest runs on, so ${blocker.fix}, or set the key to "false"`;
}

function describe(request: FeatureRequest): string {
  const where = request.source === 'image' ? 'image property' : 'flavor extra spec';
  const both = request.source === 'flavor and image' ? ' (and the image agrees)' : '';
  return `${where} "${request.key}"${both}`;
}
