/** The migrations this process runs: one slot per source connection and domain. */
import { describe, expect, it } from 'vitest';
import { claim, registryKey, release } from '../../src/migration/registry.js';

describe('the registry', () => {
  it('gives a slot once until it is released, and keeps the guests of other sources apart', () => {
    const key = registryKey('qemu:///system', 'registry-test-1');
    expect(claim(key)).toBe(true);
    expect(claim(key)).toBe(false);
    expect(claim(registryKey('qemu+tcp://other/system', 'registry-test-1'))).toBe(true);
    release(key);
    expect(claim(key)).toBe(true);
    release(key);
    release(registryKey('qemu+tcp://other/system', 'registry-test-1'));
  });

  it('cannot mistake one source and domain for another whatever their characters', () => {
    expect(registryKey('a', 'bc')).not.toBe(registryKey('ab', 'c'));
  });
});
