/**
 * nova.conf as oslo.config reads it: each observed difference from oslo, then several files with
 * oslo's --config-file / --config-dir precedence, and the file and line in errors and in plan reasons.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_HOST_CONFIG, originOf, parseNovaConf, planMigration } from '../../src/index.js';
import { expectPolicyError } from './helpers.js';

const PC = 'live_migration_permit_post_copy';

describe('parseNovaConf reads what oslo.config reads', () => {
  it("refuses a bare key with no separator, which oslo refuses (\"No ':' or '=' found\")", () => {
    const error = expectPolicyError(() => parseNovaConf(`[libvirt]\n${PC}\n`), 'INVALID_CONFIG_FILE');
    expect(error.message).toContain("nova.conf line 2: No ':' or '=' found in assignment");
    expect(error.message).toContain(`"${PC} = <value>"`);
  });

  it('accepts ":" as the separator', () => {
    expect(parseNovaConf(`[libvirt]\n${PC}: True\n`).permitPostCopy).toBe(true);
  });

  it('refuses a UTF-8 BOM before [libvirt] instead of dropping the section', () => {
    const error = expectPolicyError(
      () => parseNovaConf(`\ufeff[libvirt]\n${PC} = True\n`),
      'INVALID_CONFIG_FILE',
    );
    expect(error.message).toContain('byte-order mark');
  });

  it('has no inline comments: "200 ; ms" is not an integer', () => {
    const error = expectPolicyError(
      () => parseNovaConf('[libvirt]\nlive_migration_downtime = 200 ; ms\n'),
      'INVALID_HOST_CONFIG',
    );
    expect(error.key).toBe('live_migration_downtime');
    expect(error.value).toBe('200 ; ms');
    expect(error.message).toContain('nova.conf line 2');
    expect(error.message).toContain('no comment');
  });

  it('joins an indented continuation line to the value (which then is no boolean)', () => {
    const error = expectPolicyError(
      () => parseNovaConf(`[libvirt]\n${PC} = True\n  False\n`),
      'INVALID_HOST_CONFIG',
    );
    expect(error.value).toBe('True\nFalse');
  });

  it('reads a value continued on the next line of an option nobody reads, and the options after it', () => {
    expect(parseNovaConf(`[libvirt]\nvirt_type = kvm\n  qemu\n${PC} = True\n`).permitPostCopy).toBe(true);
  });

  it('refuses a continuation after a blank line', () => {
    const error = expectPolicyError(
      () => parseNovaConf(`[libvirt]\n${PC} = True\n\n  False\n`),
      'INVALID_CONFIG_FILE',
    );
    expect(error.message).toContain('nova.conf line 4: Unexpected continuation line');
  });

  it('removes one pair of quotes, and strips with Python whitespace', () => {
    expect(parseNovaConf(`[libvirt]\n${PC} = "True"\n`).permitPostCopy).toBe(true);
    expect(parseNovaConf(`[libvirt]\n${PC} = 'yes'\n`).permitPostCopy).toBe(true);
    expect(parseNovaConf(`[libvirt]\n${PC} =\x1fTrue\x1f\n`).permitPostCopy).toBe(true);
    expectPolicyError(() => parseNovaConf(`[libvirt]\n${PC} = "True "\n`), 'INVALID_HOST_CONFIG');
    expectPolicyError(() => parseNovaConf(`[libvirt]\n${PC} = \ufeffTrue\n`), 'INVALID_HOST_CONFIG');
  });

  it('reads [LIBVIRT] as [libvirt], as oslo lower-cases section names', () => {
    expect(parseNovaConf(`[LIBVIRT]\n${PC} = True\n`).permitPostCopy).toBe(true);
  });

  it('ignores the option outside [libvirt], and a misspelt section', () => {
    expect(parseNovaConf(`[DEFAULT]\n${PC} = True\n[ libvirt ]\n${PC} = True\n`)).toBe(DEFAULT_HOST_CONFIG);
  });

  it('refuses a "$" (oslo would substitute another option there) with a clear message', () => {
    const error = expectPolicyError(
      () => parseNovaConf('[libvirt]\nlive_migration_downtime = $my_downtime\n'),
      'INVALID_HOST_CONFIG',
    );
    expect(error.message).toContain('substitute');
    expect(error.message).toContain('write the value itself');
  });

  it('accepts a "$" in options it does not read', () => {
    expect(parseNovaConf('[libvirt]\nconnection_uri = qemu+ssh://$host/system\n')).toBe(DEFAULT_HOST_CONFIG);
  });

  it('refuses a "$" in live_migration_uri, which it reads', () => {
    expectPolicyError(
      () => parseNovaConf('[libvirt]\nlive_migration_uri = qemu+ssh://$host/system\n'),
      'INVALID_HOST_CONFIG',
    );
  });

  it.each([
    ['live_migration_bandwidth', '2147483647', 2 ** 31 - 1],
    ['live_migration_downtime', '+300', 300],
    ['live_migration_downtime', '0300', 300],
    ['live_migration_completion_timeout', '-0', 0],
    ['live_migration_parallel_connections', '255', 255],
  ])('reads %s = %s as Python int() does', (option, text, value) => {
    const config = parseNovaConf(`[libvirt]\n${option} = ${text}\n`) as unknown as Record<string, unknown>;
    expect(Object.values(config)).toContainEqual(value);
    expect(
      Object.is(
        Object.values(config).find((v) => v === value),
        value,
      ),
    ).toBe(true);
  });

  it('reads -0 as 0, not as -0', () => {
    expect(
      Object.is(parseNovaConf('[libvirt]\nlive_migration_completion_timeout = -0\n').completionTimeout, 0),
    ).toBe(true);
  });

  it.each([
    ['live_migration_bandwidth', '2147483648', 'to 2147483647'],
    ['live_migration_downtime', '1.0', 'whole number'],
    ['live_migration_downtime', '0x10', 'whole number'],
    ['live_migration_downtime', '1e3', 'whole number'],
    ['live_migration_downtime', '1_000', 'whole number'],
    ['live_migration_downtime', '٣٠٠', 'whole number'],
    ['live_migration_downtime', '300 300', 'whole number'],
    ['live_migration_downtime', 'x300', 'whole number'],
    ['live_migration_downtime', '300x', 'whole number'],
    ['live_migration_downtime_steps', '2147483648', 'to 2147483647'],
    ['live_migration_timeout_action', 'Abort', 'abort, force_complete'],
  ])('refuses %s = %s', (option, text, fix) => {
    const error = expectPolicyError(
      () => parseNovaConf(`[libvirt]\n${option} = ${text}\n`),
      'INVALID_HOST_CONFIG',
    );
    expect(error.message).toContain(fix);
    expect(error.message).toContain(`[libvirt] ${option} (nova.conf line 2)`);
  });
});

describe('several files, in oslo order', () => {
  const main = {
    name: '/etc/nova/nova.conf',
    text: `[libvirt]\n${PC} = True\nlive_migration_downtime = 300\n`,
  };
  const dropIn = {
    name: '/etc/nova/nova.conf.d/50-migration.conf',
    text: `# drop-in\n[libvirt]\n${PC} = False\n`,
  };

  it('lets a later file win, option by option', () => {
    const config = parseNovaConf([main, dropIn]);
    expect(config.permitPostCopy).toBe(false);
    expect(config.downtime).toBe(300);
    expect(originOf(config, 'permitPostCopy')).toBe('/etc/nova/nova.conf.d/50-migration.conf line 3');
    expect(originOf(config, 'downtime')).toBe('/etc/nova/nova.conf line 3');
    expect(originOf(config, 'bandwidth')).toBeUndefined();
  });

  it('gives the same as one file with both parts when the order is reversed', () => {
    expect(parseNovaConf([dropIn, main]).permitPostCopy).toBe(true);
  });

  it('names the file and line of a host value in the plan reasons', () => {
    const plan = planMigration({ host: parseNovaConf([main]) });
    expect(plan.reasons[0]).toBe(
      'post-copy on: [libvirt] live_migration_permit_post_copy = True (/etc/nova/nova.conf line 2) and the instance has no opinion',
    );
  });

  it('names the file of a syntax error', () => {
    const error = expectPolicyError(
      () => parseNovaConf([main, { name: 'conf.d/bad.conf', text: '[libvirt\n' }]),
      'INVALID_CONFIG_FILE',
    );
    expect(error.message).toMatch(/^conf\.d\/bad\.conf line 1: Invalid section/);
  });

  it('names both files when tunnelled and native TLS come from different ones', () => {
    const error = expectPolicyError(
      () =>
        parseNovaConf([
          { name: 'a.conf', text: '[libvirt]\nlive_migration_tunnelled = True\n' },
          { name: 'b.conf', text: '[libvirt]\n\nlive_migration_with_native_tls = True\n' },
        ]),
      'INVALID_HOST_CONFIG',
    );
    expect(error.message).toContain('a.conf line 2');
    expect(error.message).toContain('b.conf line 3');
  });

  it('returns the defaults for no source at all', () => {
    expect(parseNovaConf([])).toBe(DEFAULT_HOST_CONFIG);
  });

  it.each([
    ['a number', 42],
    ['null', null],
    ['an object', { name: 'x', text: '' }],
    ['a source without text', [{ name: 'x' }]],
    ['a source with a number name', [{ name: 1, text: '' }]],
    ['a null source', [null]],
  ])('refuses %s as sources with INVALID_ARGUMENT', (_name, sources) => {
    const error = expectPolicyError(() => parseNovaConf(sources as never), 'INVALID_ARGUMENT');
    expect(error.message).toContain('{ name, text }');
  });

  it('keeps a parsed config frozen and valid for planMigration without re-reading', () => {
    const config = parseNovaConf([main]);
    expect(Object.isFrozen(config)).toBe(true);
    expect(planMigration({ host: config }).host).toBe(config);
  });
});
