import { MigrationPolicyError } from '../errors.js';
import { parseConfBoolean } from './booleans.js';
import { textOptionProblem } from './destination-uris.js';
import {
  DEFAULT_HOST_CONFIG,
  HOST_OPTIONS,
  type HostConfig,
  invalidHostConfig,
  validateCombination,
  withOrigins,
} from './host-config.js';
import { type IniValue, parseOsloIni } from './ini-parser.js';
import { quote } from './quote.js';

/** One configuration file's contents and the name errors and reasons call it by (usually its path). */
export interface ConfigSource {
  name: string;
  text: string;
}

/** oslo.config's `types.Integer` takes what Python's `int()` takes; we take its plain decimal subset. */
const INTEGER = /^[+-]?\d+$/;

const ENTRIES = Object.entries(HOST_OPTIONS) as [keyof HostConfig, (typeof HOST_OPTIONS)[keyof HostConfig]][];

/**
 * Reads the live-migration options of `nova.conf` exactly as oslo.config reads them: the `live_migration_*`
 * keys of the `[libvirt]` section (other sections and keys are ignored), oslo's file syntax (see
 * `parseOsloIni`), its boolean words and integers, and Nova's defaults for whatever is not set.
 *
 * Pass the text of one file, or several sources in oslo's order — the `--config-file` files, then each
 * `--config-dir`'s `*.conf` files sorted by name (`readNovaConfSources` in `config-files` reads them from
 * disk): a later source wins over an earlier one, and within a file the last of a repeated key wins. The
 * result carries which file and line each option came from, and `planMigration`'s reasons say so.
 *
 * A `$` in one of these options' values is refused: oslo would substitute another option's value there
 * (`$other` / `${other}`), which this parser does not do, and after a `$$` escape the value would be invalid
 * for every option read here anyway.
 *
 * @throws {@link MigrationPolicyError} `INVALID_CONFIG_FILE` (a syntax error oslo.config refuses, with the
 * file and line) or `INVALID_HOST_CONFIG` (a value oslo or Nova would refuse, naming the option, file and line).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { parseNovaConf } from 'libvirt-migration-policy';
 * const host = parseNovaConf(readFileSync('/etc/nova/nova.conf', 'utf8'));
 * host.permitPostCopy; // true when `[libvirt] live_migration_permit_post_copy = True`
 * parseNovaConf([
 *   { name: '/etc/nova/nova.conf', text: '[libvirt]\nlive_migration_downtime = 300\n' },
 *   { name: '/etc/nova/nova.conf.d/50-migration.conf', text: '[libvirt]\nlive_migration_downtime = 400\n' },
 * ]).downtime; // 400
 * ```
 */
export function parseNovaConf(sources: string | readonly ConfigSource[]): HostConfig {
  const list = typeof sources === 'string' ? [{ name: 'nova.conf', text: sources }] : checkSources(sources);
  // Last source wins: later files overwrite earlier ones, value by value.
  const found = new Map<string, IniValue>();
  for (const { name, text } of list) {
    const section = parseOsloIni(text, name).get('libvirt');
    if (section === undefined) continue;
    for (const [, spec] of ENTRIES) {
      const value = section.get(spec.option);
      if (value !== undefined) found.set(spec.option, value);
    }
  }
  if (found.size === 0) return DEFAULT_HOST_CONFIG;

  const config: HostConfig = { ...DEFAULT_HOST_CONFIG };
  const writable = config as unknown as Record<string, unknown>;
  const origins: Partial<Record<keyof HostConfig, string>> = {};
  for (const [key, spec] of ENTRIES) {
    const raw = found.get(spec.option);
    if (raw === undefined) continue;
    const where = `${raw.file} line ${raw.line}`;
    writable[key] = confValue(key, raw.value, where);
    origins[key] = where;
  }
  try {
    validateCombination(config);
  } catch (err) {
    if (err instanceof MigrationPolicyError && origins.tunnelled && origins.nativeTls) {
      throw new MigrationPolicyError(
        err.code,
        `${err.message} (${origins.tunnelled}; ${origins.nativeTls})`,
        { key: err.key, value: err.value },
      );
    }
    throw err;
  }
  return withOrigins(config, origins);
}

function checkSources(sources: unknown): readonly ConfigSource[] {
  const fail = (value: unknown) =>
    new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `nova.conf sources are ${quote(value)}: pass the file's text as a string, or an array of { name, text } ` +
        'in oslo order (--config-file files, then each --config-dir sorted)',
      { key: 'sources', value },
    );
  if (!Array.isArray(sources)) throw fail(sources);
  for (const source of sources) {
    if (
      typeof source !== 'object' ||
      source === null ||
      typeof source.name !== 'string' ||
      typeof source.text !== 'string'
    ) {
      throw fail(source);
    }
  }
  return sources as readonly ConfigSource[];
}

/** Converts one raw value to the option's type, as oslo.config would, or throws naming the option. */
function confValue(key: keyof HostConfig, raw: string, where: string): boolean | number | string {
  const spec = HOST_OPTIONS[key];
  const fail = (fix: string) =>
    invalidHostConfig(spec.option, raw, fix, `[libvirt] ${spec.option} (${where})`);
  if (raw.includes('$')) {
    throw fail(
      'oslo.config would substitute another option\'s value for "$name"; this reader does not: write the value itself',
    );
  }
  switch (spec.kind) {
    case 'boolean': {
      const value = parseConfBoolean(raw);
      if (value === undefined) throw fail('use True or False (also accepted: yes/no, on/off, 1/0)');
      return value;
    }
    case 'integer': {
      if (!INTEGER.test(raw))
        throw fail('use a whole number (no unit, no comment: # and ; start comment lines only)');
      // `+ 0` turns Python's int('-0') == 0 into 0, not JavaScript's -0.
      const value = Number(raw) + 0;
      if (value < spec.min || value > spec.max)
        throw fail(`use a whole number from ${spec.min} to ${spec.max}`);
      return value;
    }
    case 'choice':
      if (!spec.choices.includes(raw)) throw fail(`use one of: ${spec.choices.join(', ')}`);
      return raw;
    case 'text': {
      const problem = textOptionProblem(spec.format, raw);
      if (problem !== undefined) throw fail(problem);
      return raw;
    }
  }
}
