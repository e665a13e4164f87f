import { parse } from 'ini';
import { MigrationPolicyError } from '../errors.js';
import { parseConfBoolean } from './booleans.js';
import { HOST_OPTIONS, type HostConfig, invalidHostConfig, resolveHostConfig } from './host-config.js';
import { quote } from './quote.js';

const INTEGER = /^\s*[+-]?\d+\s*$/;

/**
 * Reads the live-migration options of a `nova.conf`: the `live_migration_*` keys of its `[libvirt]` section
 * (other sections, other keys and comments are ignored), with oslo.config's boolean words and integers, and
 * Nova's defaults for whatever is not set.
 *
 * @throws {@link MigrationPolicyError} `INVALID_HOST_CONFIG` naming the option and its value, for a value
 * oslo.config would refuse, an out-of-range number, an unknown timeout action, or tunnelled with native TLS.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { parseNovaConf } from 'libvirt-migration-policy';
 * const host = parseNovaConf(readFileSync('/etc/nova/nova.conf', 'utf8'));
 * host.permitPostCopy; // true when `[libvirt] live_migration_permit_post_copy = True`
 * ```
 */
export function parseNovaConf(text: string): HostConfig {
  if (typeof text !== 'string') {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `nova.conf text is ${quote(text)}: pass the file's contents as a string`,
      {
        key: 'text',
        value: text,
      },
    );
  }
  const section: unknown = parse(text).libvirt;
  if (section === undefined) return resolveHostConfig();
  if (typeof section !== 'object' || section === null) {
    throw invalidHostConfig('[libvirt]', section, 'make [libvirt] a section header, not a key');
  }
  const values = section as Record<string, unknown>;
  const partial: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(HOST_OPTIONS) as [
    keyof HostConfig,
    (typeof HOST_OPTIONS)[keyof HostConfig],
  ][]) {
    if (!Object.hasOwn(values, spec.option)) continue;
    partial[key] = confValue(spec.option, spec.kind, values[spec.option]);
  }
  return resolveHostConfig(partial as Partial<HostConfig>);
}

/** Converts one raw INI value to the option's type, as oslo.config would, or throws naming the option. */
function confValue(
  option: string,
  kind: 'boolean' | 'integer' | 'choice',
  raw: unknown,
): boolean | number | string {
  const fail = (value: unknown, fix: string) => invalidHostConfig(option, value, fix, `[libvirt] ${option}`);
  // The INI parser already turns the bare words true/false into booleans.
  if (kind === 'boolean' && typeof raw === 'boolean') return raw;
  if (typeof raw !== 'string') {
    throw fail(Array.isArray(raw) ? raw : String(raw), `set "${option} = <value>" once, as a plain value`);
  }
  switch (kind) {
    case 'boolean': {
      const value = parseConfBoolean(raw);
      if (value === undefined) throw fail(raw, 'use True or False (also accepted: yes/no, on/off, 1/0)');
      return value;
    }
    case 'integer':
      if (!INTEGER.test(raw)) throw fail(raw, 'use a whole number');
      return Number(raw);
    case 'choice':
      return raw.trim();
  }
}
