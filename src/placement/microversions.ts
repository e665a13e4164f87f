/**
 * Placement's microversions: what each call of ours needs, and which version a client speaks to a server.
 * Pure: the server's range comes in, a version or a refusal comes out.
 */
import { PlacementError } from '../errors.js';

/** A Placement microversion, `major.minor`, e.g. `1.39`. */
export interface Microversion {
  major: number;
  minor: number;
}

/** The newest microversion this client was written and tested against (Placement 8.0.0's maximum). */
export const CLIENT_MAX_MICROVERSION = '1.39';

/**
 * The microversion each feature this client uses first appeared in. A Placement whose maximum is below one
 * of them is refused for the calls that need it, with a {@link PlacementError} naming what is missing.
 *
 * @example
 * ```ts
 * PLACEMENT_FEATURES.requiredTraits; // { version: '1.17', what: 'required traits on allocation candidates' }
 * ```
 */
export const PLACEMENT_FEATURES = {
  traits: { version: '1.6', what: 'traits' },
  requiredTraits: { version: '1.17', what: 'required traits on allocation candidates' },
  traitHolders: { version: '1.18', what: 'required traits on resource providers' },
  forbiddenTraits: { version: '1.22', what: 'forbidden traits' },
} as const;

/** One of {@link PLACEMENT_FEATURES}. */
export type PlacementFeature = keyof typeof PLACEMENT_FEATURES;

/** What `GET /` says of the server's range, and the version this client speaks to it. */
export interface NegotiatedVersion {
  /** The server's `min_version`. */
  min: string;
  /** The server's `max_version`. */
  max: string;
  /** What every request sends: the lower of the server's maximum and {@link CLIENT_MAX_MICROVERSION}. */
  version: string;
}

const VERSION = /^(\d{1,3})\.(\d{1,4})$/;

/** `'1.39'` → `{ major: 1, minor: 39 }`, or `undefined` for anything else. */
export function parseMicroversion(text: unknown): Microversion | undefined {
  if (typeof text !== 'string') return undefined;
  const match = VERSION.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

/** Negative, zero or positive as `a` is older than, equal to or newer than `b`. */
export function compareMicroversions(a: Microversion, b: Microversion): number {
  return a.major - b.major || a.minor - b.minor;
}

function parsed(text: string): Microversion {
  const version = parseMicroversion(text);
  if (version === undefined) throw new Error(`not a microversion: ${text}`);
  return version;
}

/**
 * The version to speak, from the server's `GET /` range. `undefined` range parts are a malformed answer;
 * a server whose range does not reach 1.0 … our maximum at all is refused.
 */
export function negotiate(min: unknown, max: unknown, endpoint: string): NegotiatedVersion {
  const low = parseMicroversion(min);
  const high = parseMicroversion(max);
  if (low === undefined || high === undefined || compareMicroversions(low, high) > 0) {
    throw new PlacementError(
      'PLACEMENT_BAD_RESPONSE',
      `${endpoint} answered GET / without a valid microversion range (min_version ${show(min)}, ` +
        `max_version ${show(max)}): is this endpoint Placement's? (Keystone catalog type "placement")`,
      { request: 'GET /' },
    );
  }
  const ours = parsed(CLIENT_MAX_MICROVERSION);
  if (high.major !== ours.major || compareMicroversions(low, ours) > 0) {
    throw new PlacementError(
      'PLACEMENT_MICROVERSION',
      `${endpoint} speaks Placement microversions ${min}–${max}, and this client speaks 1.x up to ` +
        `${CLIENT_MAX_MICROVERSION}: no version in common`,
      { request: 'GET /' },
    );
  }
  const version = compareMicroversions(high, ours) < 0 ? (max as string) : CLIENT_MAX_MICROVERSION;
  return { min: min as string, max: max as string, version };
}

/** Whether the negotiated version has `feature`. */
export function hasFeature(negotiated: NegotiatedVersion, feature: PlacementFeature): boolean {
  return compareMicroversions(parsed(negotiated.version), parsed(PLACEMENT_FEATURES[feature].version)) >= 0;
}

/** Refuses a Placement too old for `feature`, naming what is missing and the fix. */
export function requireFeature(
  negotiated: NegotiatedVersion,
  feature: PlacementFeature,
  endpoint: string,
  purpose: string,
): void {
  if (hasFeature(negotiated, feature)) return;
  const need = PLACEMENT_FEATURES[feature];
  throw new PlacementError(
    'PLACEMENT_MICROVERSION',
    `${purpose} needs ${need.what} (Placement microversion ${need.version}), but ${endpoint} offers at most ` +
      `${negotiated.max}: upgrade Placement`,
    { key: 'microversion', value: negotiated.max },
  );
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 20)) : typeof value;
}
