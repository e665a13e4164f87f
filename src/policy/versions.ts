import { MigrationPolicyError } from '../errors.js';
import { frozenDeep } from './guard.js';
import { quote } from './quote.js';

/**
 * A libvirt or QEMU version as libvirt encodes it (`major * 1_000_000 + minor * 1_000 + micro`, what
 * `virConnectGetLibVersion` returns) or as text (`'9.0.0'`, `'7.2'`).
 */
export type Version = number | string;

const MAX_PART = 999;

/**
 * The encoded form of a version, validated.
 *
 * @example
 * ```ts
 * encodeVersion('7.2.0'); // 7002000
 * encodeVersion(9000000); // 9000000
 * ```
 */
export function encodeVersion(version: Version, key = 'version'): number {
  if (typeof version === 'number' && Number.isSafeInteger(version) && version >= 0) return version;
  if (typeof version === 'string') {
    const match = /^\s*(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?\s*$/.exec(version);
    if (match) {
      const [major, minor, micro] = [match[1], match[2], match[3] ?? '0'].map(Number) as [
        number,
        number,
        number,
      ];
      if (minor <= MAX_PART && micro <= MAX_PART) return major * 1_000_000 + minor * 1_000 + micro;
    }
  }
  throw new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `${key} is ${quote(version)}: give libvirt's encoded number (e.g. 9000000) or "major.minor[.micro]" (e.g. "9.0.0")`,
    { key, value: version },
  );
}

/**
 * The text of an encoded version.
 *
 * @example
 * ```ts
 * formatVersion(9000000); // '9.0.0'
 * formatVersion(8010000); // '8.10.0'
 * ```
 */
export function formatVersion(encoded: number): string {
  return `${Math.floor(encoded / 1_000_000)}.${Math.floor(encoded / 1_000) % 1_000}.${encoded % 1_000}`;
}

/** Minimum versions of each capability (REFERENCE §5), encoded. */
export const MIN_VERSIONS = frozenDeep({
  autoConverge: { libvirt: 1_002_003, qemu: 1_006_000 },
  postCopy: { libvirt: 1_003_003, qemu: 2_005_000 },
  postCopyResume: { libvirt: 8_005_000 },
  postCopyWithParallel: { qemu: 10_001_000 },
} as const);
