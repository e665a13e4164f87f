import { MigrationPolicyError } from '../errors.js';

/**
 * Turns whatever escaped while reading caller data (a getter that throws, a revoked `Proxy`, a trap that
 * lies) into a `MigrationPolicyError`, so callers only ever catch one error type. Our own errors pass as is.
 */
export function asPolicyError(err: unknown, key: string, what: string): MigrationPolicyError {
  if (err instanceof MigrationPolicyError) return err;
  return new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `reading ${what} threw (${describeThrown(err)}): pass plain data — no getters that throw, no revoked ` +
      'proxies',
    { key },
  );
}

function describeThrown(err: unknown): string {
  try {
    const text = err instanceof Error ? `${err.name}: ${err.message}` : typeof err;
    return text.length > 120 ? `${text.slice(0, 120)}…` : text;
  } catch {
    return 'an unreadable value';
  }
}

/**
 * An object whose prototype is `Object.prototype` or `null` — what JSON and object literals give. Everything
 * else (a `Map`, an array, a class instance, a boxed primitive) is refused rather than silently read as empty.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  let proto: unknown;
  try {
    proto = Object.getPrototypeOf(value);
  } catch {
    return false; // a revoked proxy, or a trap that throws: not plain data
  }
  return proto === Object.prototype || proto === null;
}

/**
 * `value`, frozen with every object in it: the tables the policy exports cannot be changed under its
 * decisions.
 */
export function frozenDeep<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) frozenDeep(inner);
    Object.freeze(value);
  }
  return value;
}

const HAS_OWN_PROPERTY = Object.prototype.hasOwnProperty;

/**
 * `Object.hasOwn(object, key)`. The policy's hot paths test every key of the caller's objects on every call,
 * and V8 (Node 20–22) compiles `hasOwnProperty` to a few instructions, above all inside `for…in`, but calls
 * `Object.hasOwn` through the runtime: ~9 ns a key against ~1 ns.
 */
export function hasOwn(object: object, key: PropertyKey): boolean {
  return HAS_OWN_PROPERTY.call(object, key);
}

/** The most characters of a caller's key an error keeps (keys are as untrusted as values). */
const MAX_KEY_CHARS = 200;

/**
 * A key short enough to keep in an error's `key`.
 *
 * @example
 * ```ts
 * boundKey('k'.repeat(1e6)).length; // 201
 * ```
 */
export function boundKey(key: string): string {
  return key.length <= MAX_KEY_CHARS ? key : `${key.slice(0, MAX_KEY_CHARS)}…`;
}
