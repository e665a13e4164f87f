import { describe, expect, it } from 'vitest';
import { FakeDomain, fakeBackend } from '../migration/fake-libvirt.js';
import { cli, fixture, start } from './run.js';

/**
 * `migrate` checks the instance's whole policy before libvirt is asked anything, and ends as `explain` does
 * for the same files: one line with the error code, exit 2 for bad input, 4 for a refusal.
 */
const CASES = [
  {
    name: 'a misspelt boolean in the flavor',
    files: ['--flavor', fixture('flavor-typo.json')],
    code: 2,
    line: 'INVALID_BOOLEAN: ',
  },
  {
    name: 'a flavor asking for both features',
    files: ['--flavor', fixture('flavor-both.json')],
    code: 4,
    line: 'CONFLICTING_FEATURES: ',
  },
  {
    name: 'a flavor and an image that disagree',
    files: ['--flavor', fixture('extra-specs.json'), '--image', fixture('image-auto-converge.json')],
    code: 4,
    line: 'FLAVOR_IMAGE_CONFLICT: ',
  },
  {
    name: 'post-copy required on a tunnelled host',
    files: ['--flavor', fixture('flavor-post-copy.json'), '--conf', fixture('tunnelled.conf')],
    code: 4,
    line: 'POST_COPY_UNAVAILABLE: flavor extra spec "compute:live_migration_post_copy" asks for post-copy',
  },
];

describe('migrate refuses before libvirt, with the code explain gives', () => {
  it.each(CASES)('$name: exit $code, libvirt never opened', async ({ files, code, line }) => {
    const domain = new FakeDomain('guest');
    const backend = fakeBackend(domain);
    const run = start(['migrate', 'guest', 'compute-2', '--connect', 'qemu:///system', ...files], {
      backend,
    });
    expect(await run.code).toBe(code);
    expect(backend.opened).toEqual([]);
    expect(run.stderr.text.startsWith(`libvirt-migration-policy: ${line}`)).toBe(true);
    expect(run.stdout.text).toBe('');
    const explained = await cli(['explain', ...files]);
    expect(explained.code).toBe(code);
    expect(explained.stderr).toBe(run.stderr.text);
  });

  it.each(CASES)(
    "$name, against libvirt's test driver with a domain that does not exist: the policy's error, not libvirt's",
    async ({ files, code, line }) => {
      const {
        code: exit,
        stdout,
        stderr,
      } = await cli([
        'migrate',
        'no-such-domain',
        'qemu+tcp://127.0.0.1:1/system',
        '--connect',
        'test:///default',
        ...files,
      ]);
      expect(exit).toBe(code);
      expect(stderr).toContain(line);
      expect(stderr).not.toContain('LIBVIRT_ERROR');
      expect(stdout).not.toContain('Status:');
    },
    30_000,
  );
});
