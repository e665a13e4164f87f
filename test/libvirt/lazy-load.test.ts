import { describe, expect, it } from 'vitest';
import { LibvirtUnavailableError } from '../../src/errors.js';
import { koffiBackend, openConnection } from '../../src/libvirt/index.js';
import { libvirtMapped, TEST_URI } from './helpers.js';

// Order matters: this file checks process-wide state before and after the first open().
describe('lazy loading', () => {
  it('importing the binding does not load libvirt.so.0', () => {
    expect(libvirtMapped()).toBe(false);
  });

  it('a missing library throws LibvirtUnavailableError on open(), not on koffiBackend()', () => {
    const backend = koffiBackend({ libraryPath: '/nonexistent/libvirt.so.0' });
    expect(() => backend.open(TEST_URI)).toThrow(LibvirtUnavailableError);
    expect(libvirtMapped()).toBe(false);
  });

  it('the first open() loads libvirt.so.0', () => {
    const conn = openConnection(TEST_URI);
    try {
      expect(libvirtMapped()).toBe(true);
    } finally {
      conn.close();
    }
  });
});
