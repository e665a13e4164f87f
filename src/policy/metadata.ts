import { MigrationPolicyError } from '../errors.js';
import { parseMetadataBoolean } from './booleans.js';
import { asPolicyError, boundKey, hasOwn, isPlainObject } from './guard.js';
import { closestKey, editDistance, resemblesOurKey, type Slot } from './key-match.js';
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

/** One feature as the instance asked for it (shared and frozen: never modify one). */
export interface FeatureRequest {
  readonly value: boolean;
  readonly source: RequestSource;
  /** The key that carried it (the flavor's when both agree). */
  readonly key: string;
  /** 1–6: which of the six requests of a feature this is (for caches). */
  readonly id: number;
}

/** The instance's tri-state requests: absent means "no opinion, the host decides". */
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
const NESTED_SHAPE_KEYS = [
  'extra_specs',
  'properties',
  'flavor',
  'image',
  'flavorExtraSpecs',
  'imageProperties',
];

/**
 * What a key of a bag (other than ours) is to the scan: anyone else's key (ignored), one of
 * {@link NESTED_SHAPE_KEYS} (its value must not be an object), or one that resembles ours without being it
 * (refused).
 */
type KeyKind = 'other' | 'nested-shape' | 'misspelt';

/**
 * Each key name's kind, worked out once: a cloud's flavors and images share a few hundred key names, and an
 * agent reads them afresh for every migration, while telling a misspelling costs an edit distance. A kind
 * depends on the name alone. Bounded, so metadata full of random keys cannot grow it without end; names
 * longer than {@link MAX_KIND_KEY} are judged every time.
 */
const KEY_KINDS = new Map<string, KeyKind>();
const MAX_KINDS = 4096;
const MAX_KIND_KEY = 120;

function kindOf(key: string): KeyKind {
  let kind = KEY_KINDS.get(key);
  if (kind === undefined) {
    kind = NESTED_SHAPE_KEYS.includes(key) ? 'nested-shape' : resemblesOurKey(key) ? 'misspelt' : 'other';
    if (key.length <= MAX_KIND_KEY) {
      if (KEY_KINDS.size >= MAX_KINDS) KEY_KINDS.clear();
      KEY_KINDS.set(key, kind);
    }
  }
  return kind;
}

/**
 * What a scan of a bag's keys found: its own enumerable keys, those of them whose value must never be an
 * object (a nested flavor or image, see {@link NESTED_SHAPE_KEYS}), and which of ours are among them.
 */
interface Scan {
  keys: string[];
  nested: string[];
  autoConverge: boolean;
  postCopy: boolean;
}

/**
 * Scans already made, one memory per slot (the same object read as image properties after it was a flavor's
 * extra specs is read with the image's keys, where a flavor key is a misspelling). An agent plans every
 * migration of an instance with the same objects, and a bag whose keys are still the same (same names, same
 * order) needs no second scan for misspelt keys — a key's verdict depends on its name alone. Everything else
 * is checked again on every call: the prototype, the values of the nested-shape keys, and the values of our
 * keys. Only own enumerable keys are metadata, as in JSON.
 *
 * A bag is kept (a `WeakMap` entry) only when it comes back: an agent that reads its metadata afresh for every
 * migration would otherwise pay an entry per bag, and the garbage collector its sweep of them, for a scan
 * never asked for again. Until then it waits in a small ring of the last bags scanned, which keeps at most
 * {@link RECENT_SCANS} bags of each slot alive.
 */
class ScanMemory {
  readonly kept = new WeakMap<object, Scan>();
  private readonly recentBags: unknown[] = new Array(RECENT_SCANS).fill(undefined);
  private readonly recentScans: (Scan | undefined)[] = new Array(RECENT_SCANS).fill(undefined);
  private next = 0;

  /** The bag's scan if it is still in the ring. */
  recent(bag: object): Scan | undefined {
    for (let i = 0; i < RECENT_SCANS; i++) if (this.recentBags[i] === bag) return this.recentScans[i];
    return undefined;
  }

  /** Into the ring, over the oldest. */
  remember(bag: object, scan: Scan): void {
    this.recentBags[this.next] = bag;
    this.recentScans[this.next] = scan;
    this.next = (this.next + 1) % RECENT_SCANS;
  }
}

const RECENT_SCANS = 16;
const FLAVOR_SCANS = new ScanMemory();
const IMAGE_SCANS = new ScanMemory();

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
  if (flavor === undefined && image === undefined) return NO_REQUEST;
  const fBag = flavorBag as Record<string, unknown>;
  const iBag = imageBag as Record<string, unknown>;
  const autoConverge = merge(
    'autoConverge',
    AC_REQUESTS,
    flavor?.autoConverge === true ? readBoolean(fBag[AC.flavor], AC.flavor, FLAVOR_WHERE) : undefined,
    image?.autoConverge === true ? readBoolean(iBag[AC.image], AC.image, IMAGE_WHERE) : undefined,
  );
  const postCopy = merge(
    'postCopy',
    PC_REQUESTS,
    flavor?.postCopy === true ? readBoolean(fBag[PC.flavor], PC.flavor, FLAVOR_WHERE) : undefined,
    image?.postCopy === true ? readBoolean(iBag[PC.image], PC.image, IMAGE_WHERE) : undefined,
  );
  if (autoConverge === undefined && postCopy === undefined) return NO_REQUEST;
  const key = requestId(autoConverge) * 7 + requestId(postCopy);
  let request = REQUEST_PAIRS[key];
  if (request === undefined) {
    request = Object.freeze(
      autoConverge === undefined
        ? { postCopy }
        : postCopy === undefined
          ? { autoConverge }
          : { autoConverge, postCopy },
    );
    REQUEST_PAIRS[key] = request;
  }
  return request;
}

/** The 49 possible instance requests, made once each (they are frozen and shared). */
const REQUEST_PAIRS: (InstanceRequest | undefined)[] = [];

const AC = METADATA_KEYS.autoConverge;
const PC = METADATA_KEYS.postCopy;

/** Every request there can be, made once: reading metadata allocates nothing on the common path. */
const AC_REQUESTS = requestsOf('autoConverge');
const PC_REQUESTS = requestsOf('postCopy');

/**
 * A small number for each request this module makes (0 for none, 1–6 for the six of a feature), for keys of
 * caches of decisions.
 */
export function requestId(request: FeatureRequest | undefined): number {
  return request === undefined ? 0 : request.id;
}

function requestsOf(feature: Feature): Record<RequestSource, [FeatureRequest, FeatureRequest]> {
  const keys = METADATA_KEYS[feature];
  const pair = (source: RequestSource, key: string, id: number): [FeatureRequest, FeatureRequest] => [
    Object.freeze({ value: false, source, key, id }),
    Object.freeze({ value: true, source, key, id: id + 1 }),
  ];
  return {
    flavor: pair('flavor', keys.flavor, 1),
    image: pair('image', keys.image, 3),
    'flavor and image': pair('flavor and image', keys.flavor, 5),
  };
}

function merge(
  feature: Feature,
  requests: Record<RequestSource, [FeatureRequest, FeatureRequest]>,
  fromFlavor: boolean | undefined,
  fromImage: boolean | undefined,
): FeatureRequest | undefined {
  if (fromFlavor !== undefined) {
    if (fromImage === undefined) return requests.flavor[fromFlavor ? 1 : 0];
    if (fromFlavor !== fromImage) {
      const keys = METADATA_KEYS[feature];
      throw new MigrationPolicyError(
        'FLAVOR_IMAGE_CONFLICT',
        `flavor extra spec "${keys.flavor}" is ${fromFlavor} but image property "${keys.image}" is ` +
          `${fromImage}: make them agree or remove one of them`,
        { key: keys.flavor, value: fromFlavor },
      );
    }
    return requests['flavor and image'][fromFlavor ? 1 : 0];
  }
  return fromImage === undefined ? undefined : requests.image[fromImage ? 1 : 0];
}

/**
 * An untrusted bag, checked to be a plain object and scanned for misspelt keys. Its values are only ever read
 * through own-property checks, so keys like `__proto__` or `constructor` are plain data.
 */
function scanBag(bag: unknown, name: string, slot: Slot): Scan | undefined {
  if (bag === undefined || bag === null) return undefined;
  // Checked on every call: a bag that was plain when it was scanned may have had its prototype replaced.
  if (!isPlainObject(bag)) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `${name} is ${quote(bag)}${isMap(bag) ? ' (a Map)' : ''}: pass a plain object mapping keys to ` +
        'string values (e.g. Object.fromEntries(map)), or leave it out',
      { key: name, value: bag },
    );
  }
  // A bag scanned before with the same keys needs no second look at their names; the values that the scan
  // checked are read and checked again.
  const memory = slot === 'flavor' ? FLAVOR_SCANS : IMAGE_SCANS;
  const kept = memory.kept.get(bag);
  const last = kept ?? memory.recent(bag);
  if (last !== undefined && sameKeys(bag, last.keys)) {
    const { nested } = last;
    for (let i = 0; i < nested.length; i++) {
      const key = nested[i] as string;
      if (isObject(bag[key])) throw nestedShape(name, key, slot);
    }
    if (kept === undefined) memory.kept.set(bag, last);
    return last;
  }
  const scan = scanKeys(bag, name, slot);
  if (last === undefined) memory.remember(bag, scan);
  else memory.kept.set(bag, scan);
  return scan;
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

/**
 * `for…in` yields the same keys in the same order as at the last scan. It yields every own enumerable key
 * (then any inherited one), so when the sequence is unchanged every own key has been scanned; an inherited
 * key only makes the sequence differ and costs a new scan. Property keys are interned: each comparison is a
 * pointer check, and nothing is allocated.
 */
function sameKeys(bag: Record<string, unknown>, last: readonly string[]): boolean {
  let i = 0;
  for (const key in bag) {
    if (key !== last[i]) return false;
    i++;
  }
  return i === last.length;
}

/**
 * Refuses a key that resembles ours without being it (`..._postcopy`, a leading no-break space, the image's
 * spelling in a flavor): ignoring it would silently let the host decide against the user's wish.
 */
function scanKeys(bag: Record<string, unknown>, name: string, slot: Slot): Scan {
  const own = slot === 'flavor' ? FLAVOR_KEYS : IMAGE_KEYS;
  const autoConvergeKey = own[0];
  const postCopyKey = own[1];
  // Own enumerable keys only, as JSON has them; one copy of V8's key cache rather than a push per key.
  const keys = Object.keys(bag);
  const scan: Scan = { keys, nested: [], autoConverge: false, postCopy: false };
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (key === autoConvergeKey) scan.autoConverge = true;
    else if (key === postCopyKey) scan.postCopy = true;
    else {
      const kind = kindOf(key);
      if (kind === 'nested-shape') {
        if (isObject(bag[key])) throw nestedShape(name, key, slot);
        scan.nested.push(key);
      } else if (kind === 'misspelt') throw misspeltKey(bag, key, slot);
    }
  }
  return scan;
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
