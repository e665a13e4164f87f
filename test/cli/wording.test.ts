import { describe, expect, it } from 'vitest';
import { cli, fixture } from './run.js';

/** What an operator reads, word for word where the words are the point. */
const field = (stdout: string, label: string) =>
  stdout
    .split('\n')
    .find((l) => l.startsWith(label))
    ?.slice(20);

describe('wording an operator reads', () => {
  it('auto-converge off where its line says on: post-copy won, and the line permits it', async () => {
    const { stdout } = await cli(['explain', '--conf', fixture('c8.conf')]);
    expect(field(stdout, 'auto-converge')).toBe(
      `off  from post-copy won ([libvirt] live_migration_permit_auto_converge = True (${fixture('c8.conf')} line 3) permits it)`,
    );
  });

  it('a default is called a default, not shown as if the file set it', async () => {
    const { stdout } = await cli([
      'explain',
      '--conf',
      fixture('c8.conf'),
      '--flavor',
      fixture('flavor-no-post-copy.json'),
    ]);
    expect(stdout).not.toMatch(/= False\)?$/m);
    const { stdout: plain } = await cli(['explain', '--conf', fixture('tunnelled.conf')]);
    expect(plain).toContain(
      "post-copy off: [libvirt] live_migration_permit_post_copy = False (Nova's default: not set)",
    );
    expect(plain).not.toContain('live_migration_permit_post_copy = False\n');
  });

  it('a JSON number is not a boolean, and the message does not list it as accepted', async () => {
    const { code, stderr } = await cli(['explain', '--flavor', fixture('flavor-number.json')]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'INVALID_BOOLEAN: ' +
        `flavor extra spec "compute:live_migration_post_copy" is the JSON number 1, not a boolean: extra specs and image properties are strings, so write the string "true" or "false" (also accepted as strings: "1"/"0"`,
    );
    expect(stderr).not.toContain('(also accepted: 1/0');
  });

  it('a misspelt [libvirt] option, and one in [DEFAULT], warn with the option meant; the command goes on', async () => {
    const { code, stderr } = await cli(['explain', '--conf', fixture('misspelt.conf')]);
    expect(code).toBe(0);
    const conf = fixture('misspelt.conf');
    expect(stderr.split('\n').filter(Boolean)).toEqual([
      `libvirt-migration-policy: warning: ${conf} line 2: live_migration_permit_post_copy in [DEFAULT] is ignored: Nova reads the live-migration options from [libvirt] only; move it there`,
      `libvirt-migration-policy: warning: ${conf} line 6: [libvirt] live_migration_permit_postcopy is not an option oslo.config knows, so it is ignored: did you mean live_migration_permit_post_copy?`,
      `libvirt-migration-policy: warning: ${conf} line 7: [libvirt] live_migraton_downtime is not an option oslo.config knows, so it is ignored: did you mean live_migration_downtime?`,
    ]);
    const json = await cli(['explain', '--conf', fixture('misspelt.conf'), '--json']);
    expect(JSON.parse(json.stderr.split('\n')[0] ?? '')).toMatchObject({
      warning: { line: 2, section: 'DEFAULT', key: 'live_migration_permit_post_copy' },
    });
  });

  it('one error format on stderr, whoever raised it; JSON objects with --json', async () => {
    const lines = await Promise.all([
      cli(['explain', '--flavour', 'x.json']),
      cli(['explain', '--flavor', '/nonexistent.json']),
      cli(['explain', '--flavor', fixture('flavor-typo.json')]),
      cli(['traits']),
    ]);
    for (const { stderr } of lines) expect(stderr).toMatch(/^libvirt-migration-policy: [A-Z_]+: \S.*\n$/);
    const { code, stderr } = await cli(['explain', '--flavor', fixture('flavor-typo.json'), '--json']);
    expect(code).toBe(2);
    expect(JSON.parse(stderr)).toEqual({
      error: {
        code: 'INVALID_BOOLEAN',
        message: expect.stringContaining('"compute:live_migration_post_copy" is "ture"'),
        exitCode: 2,
        key: 'compute:live_migration_post_copy',
        value: 'ture',
      },
    });
    const usage = await cli(['explain', '--flavour', 'x', '--json']);
    expect(JSON.parse(usage.stderr).error).toMatchObject({ code: 'INVALID_INPUT', exitCode: 2 });
  });

  it('a bad --libvirt-version is named by its flag', async () => {
    const { code, stderr } = await cli(['explain', '--libvirt-version', 'banana', '--qemu-version', '9.0.0']);
    expect(code).toBe(2);
    expect(stderr).toContain('INVALID_ARGUMENT: --libvirt-version is "banana":');
    expect(stderr).not.toContain('libvirtVersion');
  });

  it('traits says which nova.conf it read, or that it read none', async () => {
    const none = await cli(['traits', '--libvirt-version', '9.0.0', '--qemu-version', '7.2.0', '--json']);
    expect(JSON.parse(none.stdout).conf).toEqual([]);
  });

  it('migrate --help marks --connect required', async () => {
    const { stdout } = await cli(['migrate', '--help']);
    expect(stdout).toMatch(/--connect <uri>\s+\(required\) the source libvirtd/);
  });
});
