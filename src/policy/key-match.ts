/**
 * Finding the live-migration key a user meant. A misspelt key that is ignored lets the host decide against
 * the instance's wish, so anything that resembles one of our keys — in either namespace — is refused with the
 * closest real key.
 *
 * @module
 */

import { METADATA_KEYS } from './metadata-keys.js';

/** Where a key lives: a flavor extra spec or an image property. */
export type Slot = 'flavor' | 'image';

interface KnownKey {
  key: string;
  slot: Slot;
  feature: 'autoConverge' | 'postCopy';
}

const KNOWN: readonly KnownKey[] = [
  { key: METADATA_KEYS.autoConverge.flavor, slot: 'flavor', feature: 'autoConverge' },
  { key: METADATA_KEYS.postCopy.flavor, slot: 'flavor', feature: 'postCopy' },
  { key: METADATA_KEYS.autoConverge.image, slot: 'image', feature: 'autoConverge' },
  { key: METADATA_KEYS.postCopy.image, slot: 'image', feature: 'postCopy' },
];

/** Pieces of our keys that no other OpenStack flavor extra spec or image property contains. */
const STEMS = ['livemigr', 'migration', 'postcop', 'postcpy', 'autoconv', 'converge'];
const NORMALIZED_KNOWN = ['computelivemigrationautoconverge', 'computelivemigrationpostcopy'];
/** Past this many edits a key is something else, not a typo of ours. */
const MAX_TYPO_DISTANCE = 4;
/** Keys are compared on their first characters only: a 10 MB key must not cost 10 MB² of work. */
const MAX_COMPARED = 80;

/** Lower-case letters and digits only: `' Compute:Live-Migration_Post_Copy'` → `'computelivemigrationpostcopy'`. */
function normalize(key: string): string {
  return key.slice(0, MAX_COMPARED).toLowerCase().replace(NOT_ALPHANUMERIC, '');
}

const NOT_ALPHANUMERIC = /[^a-z0-9]/g;

/**
 * Whether `key` looks like one of our keys without being it: it contains a piece of one (`post_copy`,
 * `livemigration`, …) or is a few edits away from one, whatever its punctuation, case or blanks.
 *
 * @example
 * ```ts
 * resemblesOurKey('hw:live_migration_post_copy'); // true
 * resemblesOurKey('hw:cpu_policy'); // false
 * ```
 */
export function resemblesOurKey(key: string): boolean {
  const n = normalize(key);
  for (const stem of STEMS) if (n.includes(stem)) return true;
  for (const known of NORMALIZED_KNOWN)
    if (editDistance(n, known, MAX_TYPO_DISTANCE) <= MAX_TYPO_DISTANCE) return true;
  return false;
}

/**
 * The real key closest to `key` (Levenshtein distance over all four keys of both namespaces, on the
 * lower-cased key), and the key of the same feature in `slot` — what the user should write there.
 *
 * @example
 * ```ts
 * closestKey('compute_live_migration_post_copy', 'flavor');
 * // { closest: 'compute_live_migration_post_copy', closestSlot: 'image', suggestion: 'compute:live_migration_post_copy' }
 * ```
 */
export function closestKey(
  key: string,
  slot: Slot,
): { closest: string; closestSlot: Slot; suggestion: string } {
  const lower = key.slice(0, MAX_COMPARED).toLowerCase();
  let best = KNOWN[0] as KnownKey;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const known of KNOWN) {
    const distance = editDistance(lower, known.key);
    // Ties go to the namespace the key was found in.
    if (distance < bestDistance || (distance === bestDistance && known.slot === slot && best.slot !== slot)) {
      best = known;
      bestDistance = distance;
    }
  }
  return { closest: best.key, closestSlot: best.slot, suggestion: METADATA_KEYS[best.feature][slot] };
}

/**
 * Levenshtein distance (insertions, deletions and substitutions each cost 1). With `cap`, the walk stops as soon
 * as the distance is certain to exceed it, and the answer is then `cap + 1`: a length difference above `cap`
 * decides at once, and so does a row of the table whose every cell is above it (later rows only grow).
 *
 * @example
 * ```ts
 * editDistance('post_copy', 'postcopy'); // 1
 * editDistance('kitten', 'sitting', 1); // 2: above 1, not the whole distance (3)
 * ```
 */
export function editDistance(a: string, b: string, cap = Number.POSITIVE_INFINITY): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let previous = new Array<number>(b.length + 1);
  let current = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      const cell = Math.min(substitution, (previous[j] as number) + 1, (current[j - 1] as number) + 1);
      current[j] = cell;
      if (cell < rowMin) rowMin = cell;
    }
    if (rowMin > cap) return cap + 1;
    [previous, current] = [current, previous];
  }
  return previous[b.length] as number;
}
