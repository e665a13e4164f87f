import { MigrationPolicyError } from '../errors.js';
import { pythonLstrip, pythonRstrip, pythonStrip } from './python-text.js';
import { quote } from './quote.js';

/** One assignment as oslo.config keeps it: the value (continuation lines joined with `\n`) and where it was. */
export interface IniValue {
  value: string;
  /** The source's name (a path, or what the caller called it). */
  file: string;
  /** 1-based line of the key. */
  line: number;
}

/** Sections (normalised as oslo does) → keys → the last value set in this file. */
export type IniFile = Map<string, Map<string, IniValue>>;

const BOM = 0xfeff;

/**
 * Parses one config file with oslo.config's rules (`oslo_config/iniparser.py` plus `cfg.ConfigParser`):
 * `key = value` or `key: value`, split at the first `:` or `=`; key and value stripped of Python whitespace
 * and one pair of matching quotes removed from the value; a line that starts with a space or a tab continues
 * the value above (joined with `\n`), and a blank line ends it; `#` and `;` start comment lines only; a
 * `[section]` must close and not be empty; an assignment before any section is an error; section names other
 * than `DEFAULT` are lower-cased; the last of a repeated key wins. Lines end at `\n`, `\r\n` or `\r`, as
 * Python's universal newlines do.
 *
 * @throws {@link MigrationPolicyError} `INVALID_CONFIG_FILE` with the file, the line number, the line and
 * oslo's own wording of the fault.
 *
 * @example
 * ```ts
 * parseOsloIni('[LIBVIRT]\nlive_migration_permit_post_copy: "True"\n', 'nova.conf')
 *   .get('libvirt')?.get('live_migration_permit_post_copy'); // { value: 'True', file: 'nova.conf', line: 2 }
 * ```
 */
export function parseOsloIni(text: string, file: string): IniFile {
  const sections: IniFile = new Map();
  if (text.charCodeAt(0) === BOM) {
    throw syntaxError(
      file,
      1,
      text.slice(0, 80).split(/\r\n?|\n/, 1)[0] ?? '',
      'the file starts with a UTF-8 byte-order mark (U+FEFF), which oslo.config does not skip: it reads the ' +
        'mark as part of the first line and refuses the file',
      'save the file as UTF-8 without a BOM',
    );
  }
  let section: Map<string, IniValue> | undefined;
  let key: string | undefined;
  let keyLine = 0;
  let parts: string[] = [];
  const flush = () => {
    if (key === undefined) return;
    // Checked when the key was read; the assertion only narrows the type.
    (section as Map<string, IniValue>).set(key, { value: parts.join('\n'), file, line: keyLine });
    key = undefined;
  };

  let lineno = 0;
  let start = 0;
  const length = text.length;
  while (start < length) {
    let end = start;
    while (end < length) {
      const code = text.charCodeAt(end);
      if (code === 0x0a || code === 0x0d) break;
      end++;
    }
    lineno++;
    const line = pythonRstrip(text.slice(start, end));
    start = text.charCodeAt(end) === 0x0d && text.charCodeAt(end + 1) === 0x0a ? end + 2 : end + 1;

    if (line === '') {
      flush(); // a blank line ends a multi-line value
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      if (key === undefined) {
        throw syntaxError(
          file,
          lineno,
          line,
          'Unexpected continuation line',
          'an indented line continues the value above it, and there is none (a blank line or a comment ' +
            'ends a value): remove the indentation or the blank line',
        );
      }
      parts.push(pythonLstrip(line));
      continue;
    }
    flush();
    if (first === 0x5b /* [ */) {
      if (line.charCodeAt(line.length - 1) !== 0x5d /* ] */) {
        throw syntaxError(
          file,
          lineno,
          line,
          'Invalid section (must end with ])',
          'close the section header, with nothing after the ]',
        );
      }
      if (line.length <= 2) throw syntaxError(file, lineno, line, 'Empty section name', 'name the section');
      const name = line.slice(1, -1);
      const normalized = name === 'DEFAULT' ? name : name.toLowerCase();
      section = sections.get(normalized);
      if (section === undefined) {
        section = new Map();
        sections.set(normalized, section);
      }
      continue;
    }
    if (first === 0x23 /* # */ || first === 0x3b /* ; */) continue;

    const colon = line.indexOf(':');
    const equal = line.indexOf('=');
    if (colon < 0 && equal < 0) {
      throw syntaxError(
        file,
        lineno,
        line,
        "No ':' or '=' found in assignment",
        `write "${pythonStrip(line).slice(0, 60)} = <value>", or comment the line out with #`,
      );
    }
    const split = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
    const name = pythonStrip(line.slice(0, split));
    if (name === '')
      throw syntaxError(file, lineno, line, 'Key cannot be empty', 'put the option name first');
    if (section === undefined) {
      throw syntaxError(
        file,
        lineno,
        line,
        'Section must be started before assignment',
        'put the option under its section, e.g. [libvirt]',
      );
    }
    let value = pythonStrip(line.slice(split + 1));
    const q = value.charCodeAt(0);
    if ((q === 0x22 || q === 0x27) && value.charCodeAt(value.length - 1) === q) value = value.slice(1, -1);
    key = name;
    keyLine = lineno;
    parts = [value];
  }
  flush();
  return sections;
}

function syntaxError(
  file: string,
  line: number,
  text: string,
  fault: string,
  fix: string,
): MigrationPolicyError {
  return new MigrationPolicyError(
    'INVALID_CONFIG_FILE',
    `${file} line ${line}: ${fault}: ${quote(text)}; ${fix}`,
    { key: `${file}:${line}`, value: text },
  );
}
