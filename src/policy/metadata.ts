import { MigrationPolicyError } from '../errors.js';
import { parseMetadataBoolean } from './booleans.js';
import { asPolicyError, boundKey, hasOwn, isPlainObject } from './guard.js';
import { closestKey, editDistance, resemblesOurKey, type Slot } from './key-match.js';
import { KNOWN_OPENSTACK_KEYS } from './known-keys.js';
import { type Feature, METADATA_KEYS } from './metadata-keys.js';
import { quote } from './quote.js';

export { type Feature, METADATA_KEYS } from './metadata-keys.js';

/**
 * What an instance says about its own migrations: its flavor's extra specs and its image's properties, as
 * Nova stores them (plain objects of strings). Both are untrusted; either may be absent. Any other key is
 * refused. To start from the objects OpenStack's clients and APIs print, use `metadataFromFlavor` and
 * `metadataFromImage`.
 *
 * @example
 * ```ts
 * const meta: InstanceMetadata = {
 *   flavorExtraSpecs: { 'compute:live_migration_auto_converge': 'false' },
 *   imageProperties: { compute_live_migration_post_copy: 'true' },
 * };
 * ```
 */
export interface InstanceMetadata {
  /** Flavor extra specs, e.g. `{ 'compute:live_migration_post_copy': 'true' }`. */
  flavorExtraSpecs?: Record<string, unknown> | null;
  /** Image properties, e.g. `{ compute_live_migration_auto_converge: 'false' }`. */
  imageProperties?: Record<string, unknown> | null;
}

/** Where an instance-level request was read from. */
export type RequestSource = 'flavor' | 'image' | 'flavor and image';

/** One feature as the instance asked for it. */
export interface FeatureRequest {
  readonly value: boolean;
  readonly source: RequestSource;
  /** The key that carried it (the flavor's when both agree). */
  readonly key: string;
}

/** The instance's tri-state requests: absent (or undefined) means "no opinion, the host decides". */
export type InstanceRequest = Partial<Record<Feature, FeatureRequest>>;

const FLAVOR_WHERE = 'flavor extra spec';
const IMAGE_WHERE = 'image property';
const TOP_LEVEL_KEYS = ['flavorExtraSpecs', 'imageProperties'];
const NO_REQUEST: InstanceRequest = Object.freeze({});

/** Keys that give away a whole flavor or image passed where its extra specs or properties belong. */
const FLAVOR_SHAPE_KEYS = new Set([
  'extra_specs',
  'properties',
  'ram',
  'vcpus',
  'disk',
  'flavor',
  'OS-FLV-EXT-DATA:ephemeral',
]);
const IMAGE_SHAPE_KEYS = new Set([
  'disk_format',
  'container_format',
  'min_ram',
  'min_disk',
  'checksum',
  'visibility',
  'image',
]);
/** Keys of a bag that must not hold an object: a whole flavor or image (or an API response) nested in it. */
const NESTED_SHAPE_KEYS = new Set([
  'extra_specs',
  'properties',
  'flavor',
  'image',
  'flavorExtraSpecs',
  'imageProperties',
]);

/** Which of our two keys a bag has (own enumerable keys only, as JSON has them). */
interface Found {
  autoConverge: boolean;
  postCopy: boolean;
}

/**
 * Reads, validates and merges the instance's requests. Throws `INVALID_BOOLEAN`, `INVALID_ARGUMENT` (metadata
 * that is not a plain object, an unknown key, a misspelt key of ours) or `FLAVOR_IMAGE_CONFLICT`. Both
 * features true is left to the caller, which words the conflict for its own context.
 */
export function readInstanceRequest(meta: InstanceMetadata | null | undefined): InstanceRequest {
  if (meta === undefined || meta === null) return NO_REQUEST;
  try {
    return readChecked(meta);
  } catch (err) {
    throw asPolicyError(err, 'instance', 'the instance metadata');
  }
}

function readChecked(meta: InstanceMetadata): InstanceRequest {
  if (!isPlainObject(meta)) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `instance metadata is ${quote(meta)}: pass a plain object { flavorExtraSpecs?, imageProperties? }`,
      { key: 'instance', value: meta },
    );
  }
  let flavorBag: unknown;
  let imageBag: unknown;
  for (const key in meta) {
    // Read only own properties: a polluted Object.prototype must not lend an instance its metadata.
    if (!hasOwn(meta, key)) continue;
    if (key === 'flavorExtraSpecs') flavorBag = meta[key];
    else if (key === 'imageProperties') imageBag = meta[key];
    else throw unknownTopLevelKey(meta, key);
  }

  const flavor = scanBag(flavorBag, 'flavorExtraSpecs', 'flavor');
  const image = scanBag(imageBag, 'imageProperties', 'image');
  const fBag = flavorBag as Record<string, unknown>;
  const iBag = imageBag as Record<string, unknown>;
  return {
    autoConverge: merge(
      'autoConverge',
      flavor?.autoConverge === true ? readBoolean(fBag[AC.flavor], AC.flavor, FLAVOR_WHERE) : undefined,
      image?.autoConverge === true ? readBoolean(iBag[AC.image], AC.image, IMAGE_WHERE) : undefined,
    ),
    postCopy: merge(
      'postCopy',
      flavor?.postCopy === true ? readBoolean(fBag[PC.flavor], PC.flavor, FLAVOR_WHERE) : undefined,
      image?.postCopy === true ? readBoolean(iBag[PC.image], PC.image, IMAGE_WHERE) : undefined,
    ),
  };
}

const AC = METADATA_KEYS.autoConverge;
const PC = METADATA_KEYS.postCopy;

function merge(
  feature: Feature,
  fromFlavor: boolean | undefined,
  fromImage: boolean | undefined,
): FeatureRequest | undefined {
  const keys = METADATA_KEYS[feature];
  if (fromFlavor === undefined) {
    return fromImage === undefined ? undefined : { value: fromImage, source: 'image', key: keys.image };
  }
  if (fromImage === undefined) return { value: fromFlavor, source: 'flavor', key: keys.flavor };
  if (fromFlavor !== fromImage) {
    throw new MigrationPolicyError(
      'FLAVOR_IMAGE_CONFLICT',
      `flavor extra spec "${keys.flavor}" is ${fromFlavor} but image property "${keys.image}" is ` +
        `${fromImage}: make them agree or remove one of them`,
      { key: keys.flavor, value: fromFlavor },
    );
  }
  return { value: fromFlavor, source: 'flavor and image', key: keys.flavor };
}

/**
 * An untrusted bag, checked to be a plain object and scanned with its slot's keys: one that resembles ours
 * without being it (`..._postcopy`, a leading no-break space, the image's spelling in a flavor) is refused,
 * since ignoring it would silently let the host decide against the user's wish, and so is an object under a
 * key that gives away a whole flavor or image. Its values are only ever read through own-property checks, so
 * keys like `__proto__` or `constructor` are plain data.
 */
function scanBag(bag: unknown, name: string, slot: Slot): Found | undefined {
  if (bag === undefined || bag === null) return undefined;
  if (!isPlainObject(bag)) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `${name} is ${quote(bag)}${isMap(bag) ? ' (a Map)' : ''}: pass a plain object mapping keys to ` +
        'string values (e.g. Object.fromEntries(map)), or leave it out',
      { key: name, value: bag },
    );
  }
  const own = slot === 'flavor' ? FLAVOR_KEYS : IMAGE_KEYS;
  const autoConvergeKey = own[0];
  const postCopyKey = own[1];
  const found: Found = { autoConverge: false, postCopy: false };
  for (const key in bag) {
    if (!hasOwn(bag, key)) continue;
    if (key === autoConvergeKey) found.autoConverge = true;
    else if (key === postCopyKey) found.postCopy = true;
    // OpenStack's own keys, one lookup each, are most of a real bag; the rule would pass each of them anyway.
    else if (KNOWN_OPENSTACK_KEYS.has(key)) continue;
    else if (NESTED_SHAPE_KEYS.has(key)) {
      const value = bag[key];
      if (typeof value === 'object' && value !== null) throw nestedShape(name, key, slot);
    } else if (resemblesOurKey(key)) throw misspeltKey(bag, key, slot);
  }
  return found;
}

function misspeltKey(bag: Record<string, unknown>, key: string, slot: Slot): MigrationPolicyError {
  const own = slot === 'flavor' ? FLAVOR_KEYS : IMAGE_KEYS;
  const where = slot === 'flavor' ? FLAVOR_WHERE : IMAGE_WHERE;
  const { closest, closestSlot, suggestion } = closestKey(key, slot);
  const other =
    closestSlot === slot
      ? ''
      : ` (${quote(key) === `"${closest}"` ? 'that is' : 'it is close to'} the ${closestSlot === 'flavor' ? FLAVOR_WHERE : IMAGE_WHERE} "${closest}"; the ${where} is spelt differently)`;
  return new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `${where} ${quote(key)} is not a live-migration key this library reads, so the host would decide ` +
      `instead: did you mean "${suggestion}"?${other} Known ${where} keys: ${own.map((k) => `"${k}"`).join(', ')}`,
    { key: boundKey(key), value: bag[key] },
  );
}

const FLAVOR_KEYS: readonly [string, string] = [
  METADATA_KEYS.autoConverge.flavor,
  METADATA_KEYS.postCopy.flavor,
];
const IMAGE_KEYS: readonly [string, string] = [
  METADATA_KEYS.autoConverge.image,
  METADATA_KEYS.postCopy.image,
];

function nestedShape(name: string, key: string, slot: Slot): MigrationPolicyError {
  const helper = slot === 'flavor' ? 'metadataFromFlavor(flavor)' : 'metadataFromImage(image)';
  return new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `${name} has a "${key}" object: this looks like a whole ${slot} (or an API response) rather than its ` +
      `${slot === 'flavor' ? 'extra specs' : 'properties'}; pass ${helper}, which reads every shape OpenStack prints`,
    { key: `${name}.${key}`, value: '[object]' },
  );
}

function unknownTopLevelKey(meta: Record<string, unknown>, key: string): MigrationPolicyError {
  let hint: string;
  const keys = Object.keys(meta);
  if (keys.some((k) => FLAVOR_SHAPE_KEYS.has(k))) {
    hint =
      'this looks like a flavor (`openstack flavor show -f json`, a Nova API flavor or the os-extra_specs response): pass metadataFromFlavor(flavor)';
  } else if (keys.some((k) => IMAGE_SHAPE_KEYS.has(k))) {
    hint =
      'this looks like an image (`openstack image show -f json` or a Glance v2 image): pass metadataFromImage(image)';
  } else if (resemblesOurKey(key)) {
    // A key with a colon is written like a flavor extra spec, one without like an image property: the example
    // puts the suggestion in the bag whose spelling it is.
    const slot = key.includes(':') ? 'flavor' : 'image';
    const { suggestion } = closestKey(key, slot);
    hint = `a live-migration key belongs inside flavorExtraSpecs or imageProperties (e.g. { ${slot === 'flavor' ? 'flavorExtraSpecs' : 'imageProperties'}: { "${suggestion}": "true" } })`;
  } else {
    const nearest = TOP_LEVEL_KEYS.reduce((a, b) => (editDistance(key, b) < editDistance(key, a) ? b : a));
    hint = `did you mean "${nearest}"?`;
  }
  return new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `instance metadata has the unknown key ${quote(key)}: it takes only flavorExtraSpecs and imageProperties; ${hint}`,
    { key: boundKey(key), value: meta[key] },
  );
}

function readBoolean(value: unknown, key: string, where: string): boolean | undefined {
  // An explicit null/undefined is "unset", the way Nova treats a missing property.
  if (value === undefined || value === null) return undefined;
  return parseMetadataBoolean(value, key, where);
}

function isMap(value: unknown): boolean {
  try {
    return value instanceof Map;
  } catch {
    return false;
  }
}
