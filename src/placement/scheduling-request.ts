/**
 * The scheduler's half of the spec as a Placement query: the flavor's resources, and one required trait for
 * each feature the instance sets to true (`requiredTraits`). Pure: no request is made here.
 */
import { MigrationPolicyError } from '../errors.js';
import type { InstanceMetadata } from '../policy/metadata.js';
import { requiredTraits } from '../policy/traits.js';
import { TRAIT_NAME } from './answers.js';

/**
 * A flavor's sizes as OpenStack prints them: `openstack flavor show -f json` (`vcpus`, `ram` in MiB, `disk`
 * in GiB, `OS-FLV-EXT-DATA:ephemeral`, `swap` in MiB or `""`), the embedded flavor of `openstack server
 * show -f json` (compute API ≥ 2.47: `vcpus`, `ram`, `disk`, `ephemeral`, `swap`), or a `{ "flavor": {…} }`
 * body around either. Other keys are ignored.
 */
export type FlavorSizes = Record<string, unknown>;

/** Options of {@link schedulingRequest}. */
export interface SchedulingRequestOptions {
  /** A boot-from-volume instance: its root disk is not on the host, so DISK_GB counts ephemeral and swap only (as Nova). */
  volumeBacked?: boolean;
  /** Further traits the caller's scheduler requires (merged with the instance's). */
  required?: readonly string[];
  /** Traits the destination must not have (Placement microversion 1.22). */
  forbidden?: readonly string[];
}

/** The allocation-candidates query for one instance. */
export interface SchedulingRequest {
  /** Amount of each resource class, e.g. `{ VCPU: 2, MEMORY_MB: 4096, DISK_GB: 20 }` (zeros left out). */
  resources: Record<string, number>;
  /** Traits every candidate must have: the instance's `requiredTraits()`, then the caller's. */
  required: string[];
  /** Traits no candidate may have. */
  forbidden: string[];
  /** The query string of `GET /allocation_candidates`, e.g. `resources=VCPU:2,…&required=COMPUTE_MIGRATE_POST_COPY`. */
  query: string;
}

/**
 * The allocation-candidates query for an instance: `resources=VCPU:…,MEMORY_MB:…,DISK_GB:…` from its flavor
 * (disk = root + ephemeral + swap rounded up to GiB, as Nova counts it) and `required=` from
 * `requiredTraits(instance)` — one trait per feature set to `true`; `false` adds nothing, so the instance
 * may land anywhere.
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` for sizes that are missing or not whole numbers,
 * and whatever `requiredTraits` refuses in the metadata.
 *
 * @example
 * ```ts
 * import { metadataFromFlavor, schedulingRequest } from 'libvirt-migration-policy';
 *
 * // openstack flavor show m1.pc -f json
 * const flavor = { name: 'm1.pc', vcpus: 2, ram: 4096, disk: 20, properties: { 'compute:live_migration_post_copy': 'true' } };
 * const request = schedulingRequest(metadataFromFlavor(flavor), flavor);
 * request.query; // 'resources=VCPU:2,MEMORY_MB:4096,DISK_GB:20&required=COMPUTE_MIGRATE_POST_COPY'
 * ```
 */
export function schedulingRequest(
  instance: InstanceMetadata | null | undefined,
  flavor: FlavorSizes,
  options: SchedulingRequestOptions = {},
): SchedulingRequest {
  const sizes = flavorSizes(flavor);
  const disk =
    (options.volumeBacked === true ? 0 : sizes.disk) + sizes.ephemeral + Math.ceil(sizes.swap / 1024);
  const resources: Record<string, number> = {};
  for (const [rc, amount] of [
    ['VCPU', sizes.vcpus],
    ['MEMORY_MB', sizes.ram],
    ['DISK_GB', disk],
  ] as const) {
    if (amount > 0) resources[rc] = amount;
  }
  const required = unique([...requiredTraits(instance), ...checkTraits(options.required, 'required')]);
  const forbidden = unique(checkTraits(options.forbidden, 'forbidden'));
  const both = required.filter((t) => forbidden.includes(t));
  if (both.length > 0) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `${both.join(', ')} ${both.length === 1 ? 'is' : 'are'} both required and forbidden: no host can satisfy that`,
      { key: 'forbidden', value: both.join(',') },
    );
  }
  return { resources, required, forbidden, query: candidatesQuery({ resources, required, forbidden }) };
}

/** The query string for `resources`, `required` and `forbidden` (forbidden as `!TRAIT` in `required`). */
export function candidatesQuery(request: {
  resources: Readonly<Record<string, number>>;
  required: readonly string[];
  forbidden: readonly string[];
}): string {
  const resources = Object.entries(request.resources)
    .map(([rc, n]) => `${rc}:${n}`)
    .join(',');
  const traits = [...request.required, ...request.forbidden.map((t) => `!${t}`)];
  return `resources=${resources}${traits.length === 0 ? '' : `&required=${traits.join(',')}`}`;
}

interface Sizes {
  vcpus: number;
  ram: number;
  disk: number;
  ephemeral: number;
  swap: number;
}

function flavorSizes(flavor: unknown): Sizes {
  if (typeof flavor !== 'object' || flavor === null || Array.isArray(flavor)) {
    throw invalid(
      'flavor',
      'the flavor is missing: pass `openstack flavor show -f json` output (vcpus, ram, disk)',
    );
  }
  let f = flavor as Record<string, unknown>;
  const inner = f.flavor;
  if (f.vcpus === undefined && typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
    f = inner as Record<string, unknown>;
  }
  const ephemeral = f.ephemeral ?? f['OS-FLV-EXT-DATA:ephemeral'] ?? 0;
  return {
    vcpus: size(f.vcpus, 'vcpus', 1),
    ram: size(f.ram, 'ram', 1),
    disk: size(f.disk, 'disk', 0),
    ephemeral: size(ephemeral, 'ephemeral', 0),
    // `openstack flavor show` prints no swap as "".
    swap: size(f.swap === '' || f.swap === undefined ? 0 : f.swap, 'swap', 0),
  };
}

function size(value: unknown, key: string, min: number): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min) return value;
  throw invalid(
    `flavor.${key}`,
    `flavor.${key} is ${value === undefined ? 'missing' : (JSON.stringify(value)?.slice(0, 40) ?? typeof value)}: ` +
      `use a whole number ≥ ${min} (${UNITS[key]}), as \`openstack flavor show -f json\` prints it`,
    value,
  );
}

const UNITS: Record<string, string> = {
  vcpus: 'vCPUs',
  ram: 'MiB',
  disk: 'GiB',
  ephemeral: 'GiB',
  swap: 'MiB',
};

function checkTraits(traits: readonly string[] | undefined, key: string): string[] {
  if (traits === undefined) return [];
  if (!Array.isArray(traits)) throw invalid(key, `${key} must be a list of trait names`);
  return traits.map((t, i) => {
    if (typeof t !== 'string' || !TRAIT_NAME.test(t)) {
      throw invalid(`${key}[${i}]`, `${key}[${i}] is not a trait name (upper case, digits, _)`, t);
    }
    return t;
  });
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function invalid(key: string, message: string, value?: unknown): MigrationPolicyError {
  return new MigrationPolicyError('INVALID_ARGUMENT', message, { key, value });
}
