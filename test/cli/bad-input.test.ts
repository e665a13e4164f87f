import { describe, expect, it } from 'vitest';
import { cli, fixture } from './run.js';

const CONF = ['--conf', fixture('nova.conf')];

describe('bad input: one clear line on stderr, exit code 2, nothing on stdout', () => {
  it.each([
    [
      'a missing flavor file',
      ['explain', '--flavor', '/nonexistent/flavor.json', ...CONF],
      'INVALID_INPUT: flavor file /nonexistent/flavor.json does not exist',
    ],
    [
      'a missing image file',
      ['explain', '--image', '/nonexistent/image.json', ...CONF],
      'INVALID_INPUT: image file /nonexistent/image.json does not exist',
    ],
    [
      'a missing nova.conf',
      ['explain', '--conf', '/nonexistent/nova.conf'],
      'INVALID_INPUT: nova.conf file /nonexistent/nova.conf does not exist',
    ],
    [
      'a missing nova.conf.d',
      ['explain', '--conf-dir', '/nonexistent/nova.conf.d'],
      'INVALID_INPUT: nova.conf directory /nonexistent/nova.conf.d does not exist',
    ],
    [
      'a directory given as the flavor',
      ['explain', '--flavor', fixture('nova.conf.d')],
      `INVALID_INPUT: flavor file ${fixture('nova.conf.d')} is a directory: pass a file`,
    ],
    [
      'a flavor that is not JSON',
      ['explain', '--flavor', fixture('truncated-json.txt')],
      `INVALID_INPUT: flavor file ${fixture('truncated-json.txt')} is not valid JSON (`,
    ],
    [
      'a flavor JSON of the wrong shape',
      ['explain', '--flavor', fixture('flavor-array.json')],
      `INVALID_ARGUMENT: ${fixture('flavor-array.json')}: flavor is an array, not a shape this reads: pass \`openstack server show -f json\` (compute API ≥ 2.47: the instance's own copy of its flavor)`,
    ],
    [
      'a bad value in nova.conf, with its file and line',
      ['explain', '--conf', fixture('bad-value.conf')],
      `INVALID_HOST_CONFIG: [libvirt] live_migration_completion_timeout (${fixture('bad-value.conf')} line 3) is "800 # seconds per GiB"`,
    ],
    [
      'a syntax error in nova.conf, with its file and line',
      ['explain', '--conf', fixture('bad-syntax.conf')],
      `INVALID_CONFIG_FILE: ${fixture('bad-syntax.conf')} line 3: Invalid section`,
    ],
    ['an unknown option', ['explain', '--flavour', 'x.json'], "INVALID_INPUT: unknown option '--flavour'"],
    ['an unknown command', ['explian'], "INVALID_INPUT: unknown command 'explian'"],
    [
      'a bad --memory-mib',
      ['explain', '--memory-mib', '64G'],
      "INVALID_INPUT: option '--memory-mib <MiB>' argument '64G' is invalid. --memory-mib is \"64G\": give the guest's RAM in MiB",
    ],
    [
      'a bad --qemu-version',
      ['explain', '--qemu-version', 'ten', '--libvirt-version', '9.0.0'],
      'INVALID_ARGUMENT: --qemu-version is "ten": give libvirt\'s encoded number',
    ],
    [
      'traits without versions or --connect',
      ['traits', ...CONF],
      "INVALID_INPUT: traits needs the host's versions: pass --libvirt-version and --qemu-version",
    ],
    [
      'traits with both --connect and versions',
      ['traits', '--connect', 'test:///default', '--qemu-version', '7.2.0'],
      'INVALID_INPUT: --connect reads the versions from libvirtd',
    ],
    [
      'migrate without --connect',
      ['migrate', 'guest', 'compute-2'],
      "INVALID_INPUT: required option '--connect <uri>' not specified",
    ],
    [
      'migrate without DEST',
      ['migrate', 'guest', '--connect', 'test:///default'],
      "INVALID_INPUT: missing required argument 'dest'",
    ],
  ])('%s', async (_name, argv, message) => {
    const { code, stdout, stderr } = await cli(argv);
    expect(stderr).toContain(message);
    expect(code).toBe(2);
    expect(stdout).toBe('');
  });
});

describe('refusals by the policy: exit code 4', () => {
  it('an instance requiring post-copy on a tunnelled host', async () => {
    const { code, stderr } = await cli([
      'explain',
      '--flavor',
      fixture('flavor-post-copy.json'),
      '--conf',
      fixture('tunnelled.conf'),
    ]);
    expect(code).toBe(4);
    expect(stderr).toContain(
      'POST_COPY_UNAVAILABLE: flavor extra spec "compute:live_migration_post_copy" asks for post-copy, but tunnelled migration',
    );
  });

  it('a flavor and an image that disagree', async () => {
    const { code, stderr } = await cli([
      'explain',
      '--flavor',
      fixture('extra-specs.json'),
      '--image',
      fixture('image-auto-converge.json'),
    ]);
    expect(code).toBe(4);
    expect(stderr).toMatch(/^libvirt-migration-policy: FLAVOR_IMAGE_CONFLICT: /);
  });
});

describe('--help and --version', () => {
  it('the program lists its commands and the exit codes', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: libvirt-migration-policy [options] [command]');
    for (const command of ['explain', 'traits', 'migrate'])
      expect(stdout).toMatch(new RegExp(`\\n  ${command} `));
    expect(stdout).toContain('Exit codes:\n  0   done');
    expect(stdout).toContain('  4   the policy refuses');
  });

  it.each([
    ['explain', ['--flavor <file>', '--conf <file>', '--conf-dir <dir>', '--paused', '--json', 'Example:']],
    ['traits', ['--connect <uri>', '--libvirt-version <version>', '--qemu-version <version>']],
    [
      'migrate',
      ['<domain>', '<dest>', '--connect <uri>', '--force-complete-after <seconds>', '--bandwidth <MiB/s>'],
    ],
  ])('%s --help', async (command, options) => {
    const { code, stdout } = await cli([command, '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: libvirt-migration-policy ${command} [options]`);
    for (const option of options) expect(stdout).toContain(option);
    expect(stdout).not.toContain('--poll-ms');
    expect(stdout).not.toMatch(/\(default: (\[\]|false)\)/);
  });

  it('--version prints the package version', async () => {
    const { code, stdout } = await cli(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
