/**
 * oslo.config's `oslo_config/tests/test_iniparser.py`, case by case (ported as cases, not code), plus what
 * `cfg.ConfigParser` adds on top of `BaseParser`: values joined with newlines, a section required before an
 * assignment, section names normalised, the last repeated key winning.
 */
import { describe, expect, it } from 'vitest';
import type { IniFile } from '../../src/policy/index.js';
import { parseOsloIni } from '../../src/policy/index.js';
import { expectPolicyError } from './helpers.js';

/** `{ section: { key: value } }`, for comparing with oslo's test expectations. */
function values(file: IniFile): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = Object.create(null);
  for (const [section, keys] of file) {
    out[section] = Object.create(null);
    for (const [key, { value }] of keys) (out[section] as Record<string, string>)[key] = value;
  }
  return out;
}

const parse = (...lines: string[]) => values(parseOsloIni(lines.join('\n'), 'test.conf'));

describe('oslo BaseParserTestCase: lines oslo refuses', () => {
  it.each([
    ['test_invalid_assignment', ['[s]', 'foo - bar'], "No ':' or '=' found in assignment"],
    ['test_empty_key', ['[s]', ': bar'], 'Key cannot be empty'],
    ['test_unexpected_continuation', ['   baz'], 'Unexpected continuation line'],
    ['test_invalid_section', ['[section'], 'Invalid section (must end with ])'],
    ['test_no_section_name', ['[]'], 'Empty section name'],
  ])('%s', (_name, lines, fault) => {
    const error = expectPolicyError(() => parse(...lines), 'INVALID_CONFIG_FILE');
    expect(error.message).toContain(fault);
    expect(error.message).toContain(`test.conf line ${lines.length}`);
    expect(error.key).toBe(`test.conf:${lines.length}`);
    expect(error.value).toBe(lines.at(-1));
  });
});

describe('oslo ParserTestCase (inside a section: cfg.ConfigParser requires one)', () => {
  it('test_blank_line', () => {
    expect(parse('')).toEqual({});
  });
  it('test_assignment_equal', () => {
    expect(parse('[s]', 'foo = bar')).toEqual({ s: { foo: 'bar' } });
  });
  it('test_assignment_colon', () => {
    expect(parse('[s]', 'foo: bar')).toEqual({ s: { foo: 'bar' } });
  });
  it('test_assignment_multiline: continuation lines joined with a newline', () => {
    expect(parse('[s]', 'foo = bar0', '  bar1')).toEqual({ s: { foo: 'bar0\nbar1' } });
  });
  it('test_assignment_multline_empty: a blank line then a continuation is an error', () => {
    const error = expectPolicyError(() => parse('[s]', 'foo = bar0', '', '  bar1'), 'INVALID_CONFIG_FILE');
    expect(error.message).toContain('test.conf line 4: Unexpected continuation line');
  });
  it('test_section_assignment', () => {
    expect(parse('[test]', 'foo = bar')).toEqual({ test: { foo: 'bar' } });
  });
  it('test_new_section', () => {
    expect(parse('[foo]')).toEqual({ foo: {} });
  });
  it('test_comment', () => {
    expect(parse('[s]', '# foobar', '; foo = bar')).toEqual({ s: {} });
  });
  it('test_empty_assignment', () => {
    expect(parse('[s]', 'foo = ')).toEqual({ s: { foo: '' } });
  });
  it('test_assignment_space_single_quote', () => {
    expect(parse('[s]', "foo = ' bar '")).toEqual({ s: { foo: ' bar ' } });
  });
  it('test_assignment_space_double_quote', () => {
    expect(parse('[s]', 'foo = " bar "')).toEqual({ s: { foo: ' bar ' } });
  });
  it('test_parseerror: the message has the line number, the fault and the line', () => {
    const error = expectPolicyError(() => parse('[s]', '', 'example'), 'INVALID_CONFIG_FILE');
    expect(error.message).toMatch(/^test\.conf line 3: No ':' or '=' found in assignment: "example"/);
  });
});

describe('oslo.config rules beyond its unit tests', () => {
  it('splits at the first of ":" and "="', () => {
    expect(parse('[s]', 'a = b:c', 'd: e=f', 'url = http://x')).toEqual({
      s: { a: 'b:c', d: 'e=f', url: 'http://x' },
    });
  });
  it('removes one pair of matching quotes only', () => {
    expect(parse('[s]', `a = "'x'"`, `b = "x'`, 'c = ""y""', 'd = "', 'e = x"')).toEqual({
      s: { a: "'x'", b: `"x'`, c: '"y"', d: '', e: 'x"' },
    });
  });
  it('has no inline comments: "200 ; ms" is the value', () => {
    expect(parse('[s]', 'a = 200 ; ms', 'b = 1 # one')).toEqual({ s: { a: '200 ; ms', b: '1 # one' } });
  });
  it('reads an indented comment as a continuation, and a tab as an indent', () => {
    expect(parse('[s]', 'a = 1', '  # not a comment', '\tthree')).toEqual({
      s: { a: '1\n# not a comment\nthree' },
    });
  });
  it('ends a value at a comment line: a continuation after it has nothing to continue', () => {
    expectPolicyError(() => parse('[s]', 'a = 1', '# c', '  more'), 'INVALID_CONFIG_FILE');
  });
  it('refuses a continuation right after a section header', () => {
    expectPolicyError(() => parse('[s]', '  more'), 'INVALID_CONFIG_FILE');
  });
  it('refuses an assignment before any section', () => {
    const error = expectPolicyError(() => parse('foo = bar'), 'INVALID_CONFIG_FILE');
    expect(error.message).toContain('Section must be started before assignment');
  });
  it('lower-cases section names except DEFAULT, and keeps them otherwise as written', () => {
    expect(
      parse('[LibVirt]', 'a = 1', '[DEFAULT]', 'b = 2', '[Default]', 'c = 3', '[ libvirt ]', 'd = 4'),
    ).toEqual({ libvirt: { a: '1' }, DEFAULT: { b: '2' }, default: { c: '3' }, ' libvirt ': { d: '4' } });
  });
  it('merges a section given twice, the last repeated key winning', () => {
    const file = parseOsloIni('[s]\na = 1\n[t]\n[S]\na = 2\nb = 3\n', 'f');
    expect(values(file)).toEqual({ s: { a: '2', b: '3' }, t: {} });
    expect(file.get('s')?.get('a')).toEqual({ value: '2', file: 'f', line: 5 });
  });
  it('refuses text after the closing bracket', () => {
    expectPolicyError(() => parse('[libvirt] # main'), 'INVALID_CONFIG_FILE');
  });
  it('keeps keys case-sensitive and strips them with Python whitespace', () => {
    expect(parse('[s]', 'Key\u00a0 = 1', '\u3000 \fx = 2')).toEqual({ s: { Key: '1', x: '2' } });
  });
  it('reads \\r\\n, \\r and \\n line ends as Python does, and counts lines across them', () => {
    const file = parseOsloIni('[s]\r\na = 1\rb = 2\nc = 3', 'f');
    expect(values(file)).toEqual({ s: { a: '1', b: '2', c: '3' } });
    expect(file.get('s')?.get('c')?.line).toBe(4);
  });
  it('strips trailing Python whitespace from every line, including \\x1c–\\x1f, but not U+FEFF', () => {
    expect(parse('[s]', 'a = 1\x1f\x1c', 'b = 2\ufeff')).toEqual({ s: { a: '1', b: '2\ufeff' } });
  });
  it('treats a line of blanks as blank', () => {
    expect(parse('[s]', 'a = 1', '   \t', 'b = 2')).toEqual({ s: { a: '1', b: '2' } });
  });
  it('refuses a UTF-8 byte-order mark with a message that says what it is and how to fix it', () => {
    const error = expectPolicyError(
      () => parseOsloIni('\ufeff[libvirt]\nlive_migration_permit_post_copy = True\n', 'nova.conf'),
      'INVALID_CONFIG_FILE',
    );
    expect(error.message).toContain('nova.conf line 1');
    expect(error.message).toContain('byte-order mark');
    expect(error.message).toContain('without a BOM');
  });
  it('accepts a BOM-like character later in the file as data', () => {
    expect(parse('[s]', 'a = \ufeff')).toEqual({ s: { a: '\ufeff' } });
  });
  it('never touches a prototype, whatever the section and key names', () => {
    const file = parseOsloIni(
      '[__proto__]\nconstructor = 1\n__proto__ = 2\n[constructor]\nprototype = 3\n',
      'f',
    );
    expect(Object.keys(values(file))).toEqual(['__proto__', 'constructor']);
    expect(file.get('__proto__')?.get('__proto__')?.value).toBe('2');
    expect(file.get('__proto__')?.get('constructor')?.value).toBe('1');
    expect(({} as Record<string, unknown>).constructor).toBe(Object);
    expect(Object.prototype).not.toHaveProperty('prototype');
  });
});
