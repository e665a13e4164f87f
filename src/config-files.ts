/**
 * Reads `nova.conf` and `nova.conf.d/` from disk in oslo.config's order, for `parseNovaConf`. The policy core
 * never touches the file system; this is the one place that does.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MigrationPolicyError } from './errors.js';
import type { ConfigSource } from './policy/nova-conf.js';

/**
 * The sources oslo.config would read for `--config-file` (each, in order) then `--config-dir` (each
 * directory's `*.conf` files, sorted by name, hidden ones skipped as Python's glob skips them): later sources
 * win. Files are decoded as strict UTF-8, as oslo reads them: invalid bytes are refused, and a byte-order mark
 * is kept so that `parseNovaConf` can refuse it as oslo does. Errors of the file system (a missing file, a
 * directory that is not one) are thrown as Node gives them.
 *
 * @throws {@link MigrationPolicyError} `INVALID_CONFIG_FILE` for a file that is not valid UTF-8.
 *
 * @example
 * ```ts
 * import { parseNovaConf, readNovaConfSources } from 'libvirt-migration-policy';
 * const host = parseNovaConf(
 *   readNovaConfSources({ files: ['/etc/nova/nova.conf'], dirs: ['/etc/nova/nova.conf.d'] }),
 * );
 * ```
 */
export function readNovaConfSources(paths: {
  files?: readonly string[];
  dirs?: readonly string[];
}): ConfigSource[] {
  const names = [...(paths.files ?? [])];
  for (const dir of paths.dirs ?? []) {
    const confs = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.name.endsWith('.conf') && !entry.name.startsWith('.') && !entry.isDirectory())
      .map((entry) => entry.name)
      // Python's sorted(): by code point, not by locale.
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of confs) names.push(join(dir, name));
  }
  return names.map((name) => ({ name, text: decode(readFileSync(name), name) }));
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decode(bytes: Uint8Array, name: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new MigrationPolicyError(
      'INVALID_CONFIG_FILE',
      `${name} is not valid UTF-8, which oslo.config requires: re-save it as UTF-8`,
      { key: name },
    );
  }
}
