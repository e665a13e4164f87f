/**
 * What oslo.config silently ignores in a `nova.conf` and an operator would want to hear about: a misspelt
 * live-migration option in `[libvirt]` (`live_migration_permit_postcopy`), or one of them written in
 * `[DEFAULT]` (nova reads them from `[libvirt]` only). Neither is an error — oslo accepts the file and Nova
 * runs with the default — so these are warnings, each with the option meant, as the flavor keys get.
 */
import { HOST_OPTIONS } from './host-config.js';
import { type IniValue, parseOsloIni } from './ini-parser.js';
import { editDistance } from './key-match.js';
import type { ConfigSource } from './nova-conf.js';

/** One thing oslo ignores that was probably meant. */
export interface NovaConfWarning {
  file: string;
  line: number;
  section: string;
  key: string;
  /** The option it resembles. */
  meant: string;
  message: string;
}

const OPTIONS = Object.values(HOST_OPTIONS).map((spec) => spec.option);
const KNOWN = new Set(OPTIONS);
/** Nova's own options that look like ours and are not misspellings (nova/conf/compute.py, libvirt.py). */
const NOVA_OTHERS = new Set([
  'live_migration_retry_count',
  'max_concurrent_live_migrations',
  'live_migration_progress_timeout',
]);

/**
 * The warnings for these sources (a file's text, or `{ name, text }` in oslo's order). Files with a syntax
 * error are left to `parseNovaConf`, which refuses them.
 *
 * @example
 * ```ts
 * import { novaConfWarnings } from 'libvirt-migration-policy/policy';
 * novaConfWarnings('[libvirt]\nlive_migration_permit_postcopy = True\n')[0]?.message;
 * // 'nova.conf line 2: [libvirt] live_migration_permit_postcopy is not an option oslo.config knows, so it is ignored: did you mean live_migration_permit_post_copy?'
 * ```
 */
export function novaConfWarnings(sources: string | readonly ConfigSource[]): NovaConfWarning[] {
  const list = typeof sources === 'string' ? [{ name: 'nova.conf', text: sources }] : sources;
  const warnings: NovaConfWarning[] = [];
  for (const { name, text } of list) {
    let file: ReturnType<typeof parseOsloIni>;
    try {
      file = parseOsloIni(text, name);
    } catch {
      continue;
    }
    for (const [section, keys] of file) {
      for (const [key, value] of keys) {
        const warning = section === 'libvirt' ? misspelt(key, value) : misplaced(section, key, value);
        if (warning !== undefined) warnings.push(warning);
      }
    }
  }
  return warnings;
}

function misspelt(key: string, at: IniValue): NovaConfWarning | undefined {
  if (KNOWN.has(key) || NOVA_OTHERS.has(key)) return undefined;
  const meant = nearest(key, true);
  if (meant === undefined) return undefined;
  return {
    file: at.file,
    line: at.line,
    section: 'libvirt',
    key,
    meant,
    message: `${at.file} line ${at.line}: [libvirt] ${key} is not an option oslo.config knows, so it is ignored: did you mean ${meant}?`,
  };
}

function misplaced(section: string, key: string, at: IniValue): NovaConfWarning | undefined {
  if (NOVA_OTHERS.has(key)) return undefined;
  const meant = KNOWN.has(key) ? key : nearest(key, false);
  if (meant === undefined) return undefined;
  return {
    file: at.file,
    line: at.line,
    section,
    key,
    meant,
    message:
      `${at.file} line ${at.line}: ${key} in [${section}] is ignored: Nova reads the live-migration options from ` +
      `[libvirt] only${meant === key ? '' : ` (did you mean ${meant}?)`}; move it there`,
  };
}

/**
 * The option a key is probably a misspelling of: one a few edits from it, or — in `[libvirt]`, where every
 * `live_migration*` key is about live migration — the closest of ours.
 */
function nearest(key: string, fuzzy: boolean): string | undefined {
  const folded = key.toLowerCase().replace(/[-\s]/g, '_');
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const option of OPTIONS) {
    const distance = editDistance(folded, option);
    if (distance < bestDistance) {
      best = option;
      bestDistance = distance;
    }
  }
  const livemigration = fuzzy && /live_?migration/.test(folded);
  return bestDistance <= 3 || (livemigration && bestDistance <= Math.max(6, Math.floor(folded.length / 3)))
    ? best
    : undefined;
}
