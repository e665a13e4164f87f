import { PlacementError } from '../errors.js';
import { Traits } from '../policy/traits.js';

const SPEC_TRAITS: readonly string[] = Object.values(Traits);

/**
 * The error for traits this Placement does not know, with the fix for each kind: the spec's traits need
 * os-traits ≥ 0.16.0 on the Placement server; other standard traits a newer os-traits (or a spelling fix);
 * `CUSTOM_` traits must be created first.
 */
export function unknownTraitsError(
  unknown: readonly string[],
  endpoint: string,
  purpose: string,
): PlacementError {
  const fixes: string[] = [];
  const spec = unknown.filter((t) => SPEC_TRAITS.includes(t));
  const custom = unknown.filter((t) => t.startsWith('CUSTOM_'));
  const other = unknown.filter((t) => !spec.includes(t) && !custom.includes(t));
  if (spec.length > 0) {
    fixes.push(
      `${spec.join(' and ')} ${spec.length === 1 ? 'was' : 'were'} added in os-traits 0.16.0: upgrade os-traits ` +
        'on the Placement server to 0.16.0 or newer and restart Placement (it loads the standard traits at start)',
    );
  }
  if (other.length > 0) {
    fixes.push(
      `${other.join(', ')}: not a standard trait of the os-traits installed on the Placement server; check ` +
        'the spelling, or upgrade os-traits there',
    );
  }
  if (custom.length > 0) {
    fixes.push(
      `${custom.join(', ')}: create ${custom.length === 1 ? 'it' : 'them'} first (PUT /traits/{name}, createTrait())`,
    );
  }
  return new PlacementError(
    'PLACEMENT_UNKNOWN_TRAIT',
    `${purpose}: ${endpoint} does not know the trait${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}. ${fixes.join('; ')}`,
    { key: 'traits', value: unknown.join(',') },
  );
}

/** Whether a 400 from Placement is its "No such trait" refusal. */
export function isNoSuchTrait(err: unknown): boolean {
  return err instanceof PlacementError && err.status === 400 && /no such trait/i.test(err.message);
}
