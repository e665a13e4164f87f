import { describe, expect, it } from 'vitest';
import { hostTraits, Traits } from '../../src/index.js';
import { encodeVersion, formatVersion } from '../../src/policy/index.js';
import { expectPolicyError } from './helpers.js';

describe('hostTraits', () => {
  it.each<[string, Parameters<typeof hostTraits>[0], boolean, boolean]>([
    ['the lab (libvirt 9, QEMU 7.2)', { libvirtVersion: '9.0.0', qemuVersion: '7.2.0' }, true, true],
    ['encoded versions', { libvirtVersion: 9_000_000, qemuVersion: 7_002_000 }, true, true],
    [
      'regardless of permit_* off',
      { libvirtVersion: '9.0.0', qemuVersion: '7.2.0', config: { permitPostCopy: false } },
      true,
      true,
    ],
    ['QEMU 2.4 has no post-copy', { libvirtVersion: '9.0.0', qemuVersion: '2.4.0' }, true, false],
    ['exact minimums', { libvirtVersion: '1.3.3', qemuVersion: '2.5.0' }, true, true],
    ['libvirt 1.3.2 has no post-copy', { libvirtVersion: '1.3.2', qemuVersion: '2.5.0' }, true, false],
    ['libvirt 1.2.2 has neither', { libvirtVersion: '1.2.2', qemuVersion: '7.2.0' }, false, false],
    ['QEMU 1.5 has neither', { libvirtVersion: '9.0.0', qemuVersion: '1.5.0' }, false, false],
    [
      'tunnelled hosts report no post-copy',
      { libvirtVersion: '9.0.0', qemuVersion: '7.2.0', config: { tunnelled: true } },
      true,
      false,
    ],
    [
      'parallel on QEMU 7.2: no post-copy',
      { libvirtVersion: '9.0.0', qemuVersion: '7.2.0', config: { parallelConnections: 2 } },
      true,
      false,
    ],
    [
      'parallel on QEMU 10.1: post-copy',
      { libvirtVersion: '11.0.0', qemuVersion: '10.1.0', config: { parallelConnections: 2 } },
      true,
      true,
    ],
    [
      'no userfaultfd: no post-copy',
      { libvirtVersion: '9.0.0', qemuVersion: '7.2.0', userfaultfd: false },
      true,
      false,
    ],
  ])('%s', (_name, caps, ac, pc) => {
    expect(hostTraits(caps)).toEqual({ [Traits.AUTO_CONVERGE]: ac, [Traits.POST_COPY]: pc });
  });

  it('refuses a malformed version naming the field', () => {
    const error = expectPolicyError(
      () => hostTraits({ libvirtVersion: 'nine', qemuVersion: '7.2.0' }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('libvirtVersion');
  });

  it('refuses an invalid host config', () => {
    expectPolicyError(
      () =>
        hostTraits({
          libvirtVersion: '9.0.0',
          qemuVersion: '7.2.0',
          config: { tunnelled: true, nativeTls: true },
        }),
      'INVALID_HOST_CONFIG',
    );
  });
});

describe('versions', () => {
  it.each([
    ['9.0.0', 9_000_000],
    ['7.2', 7_002_000],
    [' 10.1.0 ', 10_001_000],
    [1_002_003, 1_002_003],
  ] as const)('encodes %j as %d', (version, encoded) => {
    expect(encodeVersion(version)).toBe(encoded);
  });

  it.each(['', '9', '9.0.0.1', 'v9.0.0', '1.1000.0', -1, 1.5, Number.NaN])('refuses %j', (version) => {
    expectPolicyError(() => encodeVersion(version as string | number), 'INVALID_ARGUMENT');
  });

  it('formats an encoded version', () => {
    expect(formatVersion(9_000_000)).toBe('9.0.0');
    expect(formatVersion(7_002_001)).toBe('7.2.1');
  });
});
