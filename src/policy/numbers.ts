/**
 * Checking the numbers the forecasts and the watchdog take, with one wording: the key, the value and the
 * range to give. Pure; throws `MigrationPolicyError('INVALID_ARGUMENT')`.
 */
import { MigrationPolicyError } from '../errors.js';
import { isPlainObject } from './guard.js';
import { quote } from './quote.js';

/** The range a number must lie in. */
export interface NumberRange {
  min: number;
  max: number;
  /** A whole number. */
  integer?: boolean;
  /** `min` itself is refused (e.g. a bandwidth of 0). */
  minExclusive?: boolean;
  /** What the number means, for the message: `bytes per second`. */
  unit?: string;
}

/** `value` when it is a finite number inside `range`; otherwise an `INVALID_ARGUMENT` naming `key`. */
export function checkNumber(key: string, value: unknown, range: NumberRange): number {
  const { min, max, integer = false, minExclusive = false, unit } = range;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (minExclusive ? value > min : value >= min) &&
    value <= max &&
    (!integer || Number.isInteger(value));
  if (ok) return value as number;
  const what = integer ? 'a whole number' : 'a number';
  const low = minExclusive ? `greater than ${min}` : `from ${min}`;
  throw new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `${key} is ${quote(value)}: give ${what} ${low}${minExclusive ? ' and at most' : ' to'} ${max}${unit ? ` (${unit})` : ''}`,
    { key, value },
  );
}

/** `value` when it is absent (`undefined`) or valid; see {@link checkNumber}. */
export function checkOptional(key: string, value: unknown, range: NumberRange): number | undefined {
  return value === undefined ? undefined : checkNumber(key, value, range);
}

/**
 * The options object `options` (absent, or a plain object with only `known` keys), for reading key by key;
 * anything else is an `INVALID_ARGUMENT` naming `name` and listing the keys it takes.
 */
export function checkOptions(
  name: string,
  options: unknown,
  known: readonly string[],
): Readonly<Record<string, unknown>> {
  if (options === undefined) return {};
  if (!isPlainObject(options)) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `${name} is ${quote(options)}: give an object with any of ${known.join(', ')}`,
      { key: name, value: options },
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new MigrationPolicyError(
        'INVALID_ARGUMENT',
        `${name} has an unknown option ${quote(key)}: use ${known.join(', ')}`,
        { key: `${name}.${key}`, value: key },
      );
    }
  }
  return options;
}
