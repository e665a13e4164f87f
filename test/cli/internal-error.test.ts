import { describe, expect, it } from 'vitest';
import type { LibvirtBackend } from '../../src/libvirt/index.js';
import { cli } from './run.js';

describe('an internal error', () => {
  it('exits 70 and says where to report it, with the stack', async () => {
    const backend = {
      open: () => Promise.reject(new TypeError('a bug')),
    } as unknown as LibvirtBackend;
    const { code, stderr } = await cli(['traits', '--connect', 'qemu:///system'], { backend });
    expect(code).toBe(70);
    expect(stderr).toContain(
      'libvirt-migration-policy: INTERNAL_ERROR: a bug in this program: please report it with this message at https://github.com/libvirt-migration-policy/libvirt-migration-policy/issues\n',
    );
    expect(stderr).toContain('TypeError: a bug\n    at ');
  });
});
