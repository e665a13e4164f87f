import { describe, expect, it } from 'vitest';
import { type InstanceMetadata, METADATA_KEYS } from '../../src/policy/index.js';
import { resemblesOurKey } from '../../src/policy/key-match.js';
import { KNOWN_OPENSTACK_KEYS } from '../../src/policy/known-keys.js';
import { readInstanceRequest } from '../../src/policy/metadata.js';
import { expectPolicyError } from './helpers.js';

const known = [...KNOWN_OPENSTACK_KEYS];
const ours: readonly string[] = Object.values(METADATA_KEYS).flatMap(({ flavor, image }) => [flavor, image]);

describe("OpenStack's own keys, passed by one lookup", () => {
  it("lists Nova's extra specs and image properties and Glance's common ones", () => {
    expect(known.length).toBe(205);
    for (const key of ['hw:cpu_policy', 'quota:disk_read_iops_sec', 'hw_disk_bus', 'os_distro', 'kernel_id'])
      expect(KNOWN_OPENSTACK_KEYS.has(key)).toBe(true);
  });

  it('holds only keys the misspelling rule passes, none of ours and none that may hold a whole flavor', () => {
    expect(known.filter((key) => resemblesOurKey(key))).toEqual([]);
    expect(known.filter((key) => ours.includes(key))).toEqual([]);
    for (const key of ['extra_specs', 'properties', 'flavor', 'image']) expect(known).not.toContain(key);
  });

  it('reads a bag of every one of them as no request, in the flavor and in the image', () => {
    const bag = Object.fromEntries(known.map((key) => [key, 'true']));
    expect(readInstanceRequest({ flavorExtraSpecs: bag, imageProperties: bag })).toEqual({
      autoConverge: undefined,
      postCopy: undefined,
    });
  });

  it('still refuses a misspelt key of ours beside them, and still reads ours', () => {
    const bag = Object.fromEntries(known.map((key) => [key, 'x']));
    const error = expectPolicyError(
      () => readInstanceRequest({ flavorExtraSpecs: { ...bag, 'hw:live_migration_post_copy': 'true' } }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('hw:live_migration_post_copy');
    const meta: InstanceMetadata = { imageProperties: { ...bag, [METADATA_KEYS.postCopy.image]: 'false' } };
    expect(readInstanceRequest(meta).postCopy?.value).toBe(false);
  });
});
