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

/**
 * Whether `key` looks like one of our keys without being it: it contains a piece of one (`post_copy`,
 * `livemigration`, …) or is a few edits away from one, whatever its punctuation, case or blanks. The rule
 * reads the key's first 80 characters lower-cased, letters and digits only:
 * `' Compute:Live-Migration_Post_Copy'` is read as `'computelivemigrationpostcopy'`.
 *
 * Every key of every flavor and image is asked on every decision, so an ASCII key is read as it is, in one
 * pass that builds no string and finds the pieces; only a key of about our keys' length that holds a fifth of
 * one of them is normalized and compared with them. Lower-casing other characters can give ASCII letters (the
 * Kelvin sign gives `k`), so a key with one is normalized too.
 *
 * @example
 * ```ts
 * resemblesOurKey('hw:live_migration_post_copy'); // true
 * resemblesOurKey('hw:cpu_policy'); // false
 * ```
 */
export function resemblesOurKey(key: string): boolean {
  const end = Math.min(key.length, MAX_COMPARED);
  const read = search(STEMS_SEARCH, key, end);
  if (read === FOUND) return true;
  const near =
    read >= NEAR_LENGTH.min &&
    read <= NEAR_LENGTH.max &&
    mayBeNear(lettersOf(key, end)) &&
    search(PIECES_SEARCH, key, end) === FOUND;
  if (read !== NOT_ASCII && !near) return false;
  return resemblesNormalized(normalize(key.slice(0, MAX_COMPARED)));
}

/** Lower-case letters and digits only: `' Compute:Live-Migration_Post_Copy'` → `'computelivemigrationpostcopy'`. */
function normalize(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** The rule on a normalized key, as written. */
function resemblesNormalized(n: string): boolean {
  for (const stem of STEMS) if (n.includes(stem)) return true;
  for (const known of NORMALIZED_KNOWN)
    if (editDistance(n, known, MAX_TYPO_DISTANCE) <= MAX_TYPO_DISTANCE) return true;
  return false;
}

/** What {@link search} returns for a key that holds one of its words, and for one that is not all ASCII. */
const FOUND = -1;
const NOT_ASCII = -2;

/**
 * Words laid end to end over the bits of two 32-bit numbers, for a bit-parallel search (Shift-And): bit `b`
 * of a number's state is set when the letters and digits read so far end with the word's characters up to
 * the one at bit `b`. Reading one shifts the state up by a bit, sets the bit each word starts at, and keeps
 * only the bits where that character is.
 */
type Search = readonly [SearchWord, SearchWord];

interface SearchWord {
  /** {@link charMasks} of the words laid end to end. */
  masks: Int32Array;
  /** The bit each word starts at. */
  starts: number;
  /** The bit each word ends at: set in the state, a word was read. */
  ends: number;
}

/**
 * Whether the normalized `key.slice(0, end)` holds one of the words ({@link FOUND}); otherwise how many
 * letters and digits it has, or {@link NOT_ASCII} for a key this pass cannot read.
 */
function search(words: Search, key: string, end: number): number {
  const first = words[0];
  const second = words[1];
  let firstState = 0;
  let secondState = 0;
  let length = 0;
  for (let i = 0; i < end; i++) {
    const code = key.charCodeAt(i);
    if (code >= 128) return NOT_ASCII;
    const firstMask = first.masks[code] as number;
    if (firstMask === DROPPED) continue;
    length++;
    firstState = ((firstState << 1) | first.starts) & firstMask;
    secondState = ((secondState << 1) | second.starts) & (second.masks[code] as number);
    if ((firstState & first.ends) !== 0 || (secondState & second.ends) !== 0) return FOUND;
  }
  return length;
}

function searchFor(first: readonly string[], second: readonly string[]): Search {
  return Object.freeze([searchWord(first), searchWord(second)] as const);
}

function searchWord(words: readonly string[]): SearchWord {
  const chars = words.join('');
  if (chars.length > 32)
    throw new Error(`${words.join(', ')}: more characters than a 32-bit number has bits`);
  let starts = 0;
  let ends = 0;
  let bit = 0;
  for (const word of words) {
    starts |= 1 << bit;
    bit += word.length;
    ends |= 1 << (bit - 1);
  }
  return Object.freeze({ masks: charMasks(chars), starts, ends });
}

/** In a table of {@link charMasks}: a character that normalizing drops. No mask of 32 characters has every bit. */
const DROPPED = -1;

/** By ASCII code: bit `i` is set where `chars[i]` is that character once lower-cased, or {@link DROPPED}. */
function charMasks(chars: string): Int32Array {
  return Int32Array.from({ length: 128 }, (_, code) => {
    const char = String.fromCharCode(code).toLowerCase();
    if (!/^[a-z0-9]$/.test(char)) return DROPPED;
    let mask = 0;
    for (let i = 0; i < chars.length; i++) if (chars[i] === char) mask |= 1 << i;
    return mask;
  });
}

/** The six stems: 47 characters, three stems to a number. */
const STEMS_SEARCH = searchFor(STEMS.slice(0, 3), STEMS.slice(3));

/**
 * Each of our normalized keys cut in {@link MAX_TYPO_DISTANCE} + 1 pieces, one key to a number: a key that
 * many edits away from one leaves at least one of its pieces whole, so a key without any is further.
 */
const PIECES_SEARCH = searchFor(...(NORMALIZED_KNOWN.map(piecesOf) as [string[], string[]]));

function piecesOf(known: string): string[] {
  const cuts = MAX_TYPO_DISTANCE + 1;
  return Array.from({ length: cuts }, (_, i) =>
    known.slice(Math.floor((i * known.length) / cuts), Math.floor(((i + 1) * known.length) / cuts)),
  );
}

/**
 * By ASCII code, the bit of the letter a character is once lower-cased (`a` bit 0 … `z` bit 25), 0 for any
 * other character.
 */
const LETTER_BITS = Int32Array.from({ length: 128 }, (_, code) => {
  const char = String.fromCharCode(code).toLowerCase();
  return /^[a-z]$/.test(char) ? 1 << (char.charCodeAt(0) - 97) : 0;
});

/** The letters `key.slice(0, end)` holds, one bit each ({@link LETTER_BITS}); the key is all ASCII. */
function lettersOf(key: string, end: number): number {
  let letters = 0;
  for (let i = 0; i < end; i++) letters |= LETTER_BITS[key.charCodeAt(i)] as number;
  return letters;
}

/** The letters of each of our normalized keys. */
const KNOWN_LETTERS = NORMALIZED_KNOWN.map((known) => lettersOf(known, known.length));

/**
 * Whether a key with these letters can be {@link MAX_TYPO_DISTANCE} edits or fewer from one of our keys. A
 * letter of ours the key lacks took at least one edit (each edit touches one character of ours, and every
 * place that letter was had to be deleted or replaced), so a key that lacks more than that many is further.
 */
function mayBeNear(letters: number): boolean {
  for (const known of KNOWN_LETTERS) if (bitCount(known & ~letters) <= MAX_TYPO_DISTANCE) return true;
  return false;
}

function bitCount(bits: number): number {
  let count = 0;
  for (let rest = bits; rest !== 0; rest &= rest - 1) count++;
  return count;
}

/** A key with fewer or more letters and digits than this is more than four edits from both of ours. */
const NEAR_LENGTH = Object.freeze({
  min: Math.min(...NORMALIZED_KNOWN.map((known) => known.length)) - MAX_TYPO_DISTANCE,
  max: Math.max(...NORMALIZED_KNOWN.map((known) => known.length)) + MAX_TYPO_DISTANCE,
});

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
