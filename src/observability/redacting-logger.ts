/**
 * A logger that passes on only records without credentials: every string in a record (and in its nested
 * objects and arrays), every error (message, stack, cause) and every message goes through `redactText`
 * first. `logMigration` writes through it, so a URI's password that reached an error never reaches a log.
 */
import { redactError, redactText } from '../redact.js';
import type { MigrationLogger } from './logger.js';

/** How deep a record is followed; deeper values are passed on as they are (a record is a few levels). */
const MAX_DEPTH = 6;

/** A copy of `value` with every credential redacted (strings, errors, arrays and plain objects within). */
function redactValue(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof value === 'string') return redactText(value, secrets);
  if (value instanceof Error) return redactError(value, secrets);
  if (depth >= MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, secrets, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, secrets, depth + 1);
  return out;
}

/**
 * `logger` with every record and message redacted before it sees them.
 *
 * @example
 * ```ts
 * const log = redactingLogger(pino(), [placementToken]);
 * log.error({ err }, `request to ${url} failed`); // the URL's password and the token read ***
 * ```
 */
export function redactingLogger(logger: MigrationLogger, secrets: readonly string[] = []): MigrationLogger {
  const pass =
    (level: 'info' | 'warn' | 'error' | 'debug') =>
    (record: object, message: string): void =>
      logger[level]?.(redactValue(record, secrets, 0) as object, redactText(message, secrets));
  return {
    info: pass('info'),
    warn: pass('warn'),
    error: pass('error'),
    ...(logger.debug === undefined ? {} : { debug: pass('debug') }),
  };
}
