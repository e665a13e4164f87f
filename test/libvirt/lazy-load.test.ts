import { describe, expect, it, vi } from 'vitest';
import { LibvirtUnavailableError } from '../../src/errors.js';
import { koffiBackend, openConnection } from '../../src/libvirt/index.js';
import { libvirtMapped, TEST_URI } from './helpers.js';

// Opening a connection starts worker threads, which load TypeScript through tsx here: a second or more on a
// loaded machine, beyond vitest's default 5 s once several open at once.
vi.setConfig({ testTimeout: 30_000, hookTimeout: 30_000 });

// Order matters: this file checks process-wide state before and after the first open().
describe('lazy loading', () => {
  it('importing the binding does not load libvirt.so.0', () => {
    expect(libvirtMapped()).toBe(false);
  });

  it('a missing library rejects open() with LibvirtUnavailableError, not koffiBackend()', async () => {
    const backend = koffiBackend({ libraryPath: '/nonexistent/libvirt.so.0' });
    await expect(backend.open(TEST_URI)).rejects.toThrow(LibvirtUnavailableError);
    expect(libvirtMapped()).toBe(false);
  });

  it('the first open() loads libvirt.so.0', async () => {
    const conn = await openConnection(TEST_URI);
    try {
      expect(libvirtMapped()).toBe(true);
    } finally {
      await conn.close();
    }
  });
});
