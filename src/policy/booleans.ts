import { MigrationPolicyError } from '../errors.js';
import { pythonStrip } from './python-text.js';
import { quote } from './quote.js';

/** oslo `bool_from_string(strict=True)`: the words Nova accepts in flavor extra specs. */
const METADATA_TRUE = new Set(['1', 't', 'true', 'on', 'y', 'yes']);
const METADATA_FALSE = new Set(['0', 'f', 'false', 'off', 'n', 'no']);

/** oslo.config's `types.Boolean`: the words `nova.conf` accepts. */
const CONF_TRUE = new Set(['true', '1', 'on', 'yes']);
const CONF_FALSE = new Set(['false', '0', 'off', 'no']);

/**
 * Strict boolean for untrusted instance metadata, as oslo's `bool_from_string(subject, strict=True)`:
 * Python's `strip()` (not JavaScript's `trim()`), lower-cased, one of Nova's words; a real boolean is itself.
 * Nova's image properties are lenient (an unknown word becomes false), which hides typos; here every value
 * is either a known word or an `INVALID_BOOLEAN` error.
 */
export function parseMetadataBoolean(value: unknown, key: string, where: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    // The spellings seen in practice first: a comparison each, no allocation.
    switch (value) {
      case 'true':
      case 'True':
        return true;
      case 'false':
      case 'False':
        return false;
    }
    const stripped = pythonStrip(value);
    // The longest word is five letters: no need to lower-case a 10 MB value to know it is not one.
    if (stripped.length <= 5) {
      const word = stripped.toLowerCase();
      if (METADATA_TRUE.has(word)) return true;
      if (METADATA_FALSE.has(word)) return false;
    }
  }
  if (typeof value === 'number') {
    // The words below are strings: a JSON number is not one of them, however it reads.
    throw new MigrationPolicyError(
      'INVALID_BOOLEAN',
      `${where} "${key}" is the JSON number ${quote(value)}, not a boolean: extra specs and image properties ` +
        'are strings, so write the string "true" or "false" (also accepted as strings: "1"/"0", "yes"/"no", ' +
        '"on"/"off", "t"/"f", "y"/"n"), a real JSON true or false, or remove it to use the host default',
      { key, value },
    );
  }
  throw new MigrationPolicyError(
    'INVALID_BOOLEAN',
    `${where} "${key}" is ${quote(value)}, which is not a boolean: set it to "true" or "false" ` +
      '(also accepted: 1/0, yes/no, on/off, t/f, y/n), or remove it to use the host default',
    { key, value },
  );
}

/**
 * Boolean as oslo.config's `types.Boolean` reads a `nova.conf` value (already stripped by the parser);
 * `undefined` when the word is not one of oslo's.
 */
export function parseConfBoolean(word: string): boolean | undefined {
  const normalized = word.toLowerCase();
  if (CONF_TRUE.has(normalized)) return true;
  if (CONF_FALSE.has(normalized)) return false;
  return undefined;
}

/**
 * A flag of a call's options: a real boolean or left out. Truthiness would read `'false'` or `'no'` as true.
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` naming the option.
 */
export function optionalFlag(value: unknown, key: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `${key} is ${quote(value)}: use true or false (a real boolean, not a string), or leave it out`,
    { key, value },
  );
}
