import { MigrationPolicyError } from '../errors.js';
import { parseMetadataBoolean } from './booleans.js';
import { quote } from './quote.js';

/**
 * What an instance says about its own migrations: its flavor's extra specs and its image's properties, as
 * Nova stores them. Both are untrusted; either may be absent.
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

/** The two per-instance features. */
export type Feature = 'autoConverge' | 'postCopy';

/** The metadata keys that carry each feature, in the flavor and in the image. */
export const METADATA_KEYS = {
  autoConverge: {
    flavor: 'compute:live_migration_auto_converge',
    image: 'compute_live_migration_auto_converge',
  },
  postCopy: {
    flavor: 'compute:live_migration_post_copy',
    image: 'compute_live_migration_post_copy',
  },
} as const satisfies Record<Feature, { flavor: string; image: string }>;

/** Where an instance-level request was read from. */
export type RequestSource = 'flavor' | 'image' | 'flavor and image';

/** One feature as the instance asked for it. */
export interface FeatureRequest {
  value: boolean;
  source: RequestSource;
  /** The key that carried it (the flavor's when both agree). */
  key: string;
}

/** The instance's tri-state requests: absent means "no opinion, the host decides". */
export type InstanceRequest = Partial<Record<Feature, FeatureRequest>>;

const FEATURES: readonly Feature[] = ['autoConverge', 'postCopy'];
const FLAVOR_KEYS: readonly string[] = FEATURES.map((feature) => METADATA_KEYS[feature].flavor);
const IMAGE_KEYS: readonly string[] = FEATURES.map((feature) => METADATA_KEYS[feature].image);

const FLAVOR_WHERE = 'flavor extra spec';
const IMAGE_WHERE = 'image property';

/**
 * Reads, validates and merges the instance's requests. Throws `INVALID_BOOLEAN`, `INVALID_ARGUMENT` (metadata
 * that is not a plain object, or a misspelt key of ours) or `FLAVOR_IMAGE_CONFLICT`. Both features true is
 * left to the caller, which words the conflict for its own context.
 */
export function readInstanceRequest(meta: InstanceMetadata | null | undefined): InstanceRequest {
  if (meta !== undefined && meta !== null && (typeof meta !== 'object' || Array.isArray(meta))) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `instance metadata is ${quote(meta)}: pass an object { flavorExtraSpecs?, imageProperties? }`,
      { key: 'instance', value: meta },
    );
  }
  const flavor = asBag(meta?.flavorExtraSpecs, 'flavorExtraSpecs');
  const image = asBag(meta?.imageProperties, 'imageProperties');
  rejectMisspeltKeys(flavor, 'compute:live_migration', FLAVOR_WHERE, 'flavor');
  rejectMisspeltKeys(image, 'compute_live_migration', IMAGE_WHERE, 'image');

  const request: InstanceRequest = {};
  for (const feature of FEATURES) {
    const keys = METADATA_KEYS[feature];
    const fromFlavor = readBoolean(flavor, keys.flavor, FLAVOR_WHERE);
    const fromImage = readBoolean(image, keys.image, IMAGE_WHERE);
    if (fromFlavor !== undefined && fromImage !== undefined && fromFlavor !== fromImage) {
      throw new MigrationPolicyError(
        'FLAVOR_IMAGE_CONFLICT',
        `flavor extra spec "${keys.flavor}" is ${fromFlavor} but image property "${keys.image}" is ` +
          `${fromImage}: make them agree or remove one of them`,
        { key: keys.flavor, value: fromFlavor },
      );
    }
    if (fromFlavor !== undefined) {
      request[feature] = {
        value: fromFlavor,
        source: fromImage === undefined ? 'flavor' : 'flavor and image',
        key: keys.flavor,
      };
    } else if (fromImage !== undefined) {
      request[feature] = { value: fromImage, source: 'image', key: keys.image };
    }
  }
  return request;
}

type Bag = Readonly<Record<string, unknown>>;

const EMPTY: Bag = Object.freeze({});

/**
 * An untrusted bag, checked to be a plain object. Its values are only ever read through own-property checks,
 * so keys like `__proto__` or `constructor` are plain data and never reach a prototype.
 */
function asBag(bag: unknown, name: string): Bag {
  if (bag === undefined || bag === null) return EMPTY;
  if (typeof bag !== 'object' || Array.isArray(bag)) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `${name} is ${quote(bag)}: pass an object mapping keys to string values, or leave it out`,
      { key: name, value: bag },
    );
  }
  return bag as Bag;
}

function readBoolean(bag: Bag, key: string, where: string): boolean | undefined {
  if (!Object.hasOwn(bag, key)) return undefined;
  const value = bag[key];
  // An explicit null/undefined is "unset", the way Nova treats a missing property.
  if (value === undefined || value === null) return undefined;
  return parseMetadataBoolean(value, key, where);
}

/**
 * A key in our namespace that is not one of ours is almost surely a typo (`..._postcopy`, a trailing space);
 * ignoring it would silently let the host decide against the user's wish.
 */
function rejectMisspeltKeys(bag: Bag, prefix: string, where: string, slot: 'flavor' | 'image'): void {
  const known: readonly string[] = slot === 'flavor' ? FLAVOR_KEYS : IMAGE_KEYS;
  for (const key of Object.keys(bag)) {
    if (!mayBeInNamespace(key, prefix) || known.includes(key)) continue;
    if (!key.trim().toLowerCase().startsWith(prefix)) continue;
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `${where} ${quote(key)} is not a known live-migration key: did you mean "${closest(key, known)}"? ` +
        `Known keys: ${known.map((k) => `"${k}"`).join(', ')}`,
      { key, value: bag[key] },
    );
  }
}

/** A cheap first look (metadata bags hold dozens of unrelated keys): first non-blank letter is a "c". */
function mayBeInNamespace(key: string, prefix: string): boolean {
  if (key.length < prefix.length) return false;
  const first = key.charCodeAt(0) | 0x20;
  return first === 0x63 /* c */ || key.charCodeAt(0) <= 0x20;
}

function closest(key: string, candidates: readonly string[]): string {
  const normalized = key
    .trim()
    .toLowerCase()
    .replace(/[^a-z]/g, '');
  let best = candidates[0] ?? '';
  let bestScore = -1;
  for (const candidate of candidates) {
    const target = candidate.replace(/[^a-z]/g, '');
    let score = 0;
    for (let i = 0; i < Math.min(target.length, normalized.length); i++) {
      if (target[target.length - 1 - i] === normalized[normalized.length - 1 - i]) score++;
      else break;
    }
    if (score > bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}
