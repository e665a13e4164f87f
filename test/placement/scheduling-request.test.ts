import { describe, expect, it } from 'vitest';
import { MigrationPolicyError, metadataFromFlavor, schedulingRequest } from '../../src/index.js';

const PC = 'compute:live_migration_post_copy';
const AC = 'compute:live_migration_auto_converge';

// `openstack flavor show m1.pc -f json` (python-openstackclient 6.x), trimmed to what matters.
const flavorShow = {
  'OS-FLV-DISABLED:disabled': false,
  'OS-FLV-EXT-DATA:ephemeral': 0,
  disk: 20,
  id: 'd1',
  name: 'm1.pc',
  properties: { [PC]: 'true' },
  ram: 4096,
  swap: '',
  vcpus: 2,
};

// The embedded flavor of `openstack server show -f json` (compute API ≥ 2.47).
const serverShowFlavor = {
  original_name: 'm1.pc',
  vcpus: 4,
  ram: 8192,
  disk: 40,
  ephemeral: 10,
  swap: 1536,
  extra_specs: { [AC]: 'true' },
};

describe('the allocation-candidates query', () => {
  it("as the docs' example says: a post-copy flavor requires the post-copy trait", () => {
    const request = schedulingRequest(metadataFromFlavor(flavorShow), flavorShow);
    expect(request).toEqual({
      resources: { VCPU: 2, MEMORY_MB: 4096, DISK_GB: 20 },
      required: ['COMPUTE_MIGRATE_POST_COPY'],
      forbidden: [],
      query: 'resources=VCPU:2,MEMORY_MB:4096,DISK_GB:20&required=COMPUTE_MIGRATE_POST_COPY',
    });
  });

  it('false requires nothing, and no key requires nothing: the instance may land anywhere', () => {
    for (const instance of [{ flavorExtraSpecs: { [PC]: 'false' } }, {}, null, undefined]) {
      expect(schedulingRequest(instance, flavorShow)).toMatchObject({
        required: [],
        query: 'resources=VCPU:2,MEMORY_MB:4096,DISK_GB:20',
      });
    }
  });

  it("counts the embedded flavor's ephemeral disk and swap (rounded up to GiB) as Nova does", () => {
    const request = schedulingRequest(metadataFromFlavor(serverShowFlavor), serverShowFlavor);
    expect(request.resources).toEqual({ VCPU: 4, MEMORY_MB: 8192, DISK_GB: 40 + 10 + 2 });
    expect(request.required).toEqual(['COMPUTE_MIGRATE_AUTO_CONVERGE']);
  });

  it('reads a { "flavor": {…} } body, and a volume-backed instance asks no root disk (zero amounts left out)', () => {
    const body = { flavor: { ...flavorShow, swap: 0 } };
    expect(schedulingRequest({}, body, { volumeBacked: true }).query).toBe('resources=VCPU:2,MEMORY_MB:4096');
  });

  it("adds the caller's required and forbidden traits, forbidden as !TRAIT", () => {
    const request = schedulingRequest(metadataFromFlavor(flavorShow), flavorShow, {
      required: ['HW_CPU_X86_AVX2', 'COMPUTE_MIGRATE_POST_COPY'],
      forbidden: ['CUSTOM_MAINTENANCE'],
    });
    expect(request.required).toEqual(['COMPUTE_MIGRATE_POST_COPY', 'HW_CPU_X86_AVX2']);
    expect(request.query).toBe(
      'resources=VCPU:2,MEMORY_MB:4096,DISK_GB:20&required=COMPUTE_MIGRATE_POST_COPY,HW_CPU_X86_AVX2,!CUSTOM_MAINTENANCE',
    );
  });
});

describe('what it refuses', () => {
  it.each([
    [
      'no vcpus',
      { ram: 1, disk: 1 },
      'flavor.vcpus',
      'flavor.vcpus is missing: use a whole number ≥ 1 (vCPUs)',
    ],
    [
      'ram as text',
      { vcpus: 1, ram: '4096', disk: 1 },
      'flavor.ram',
      'flavor.ram is "4096": use a whole number ≥ 1 (MiB)',
    ],
    ['a negative disk', { vcpus: 1, ram: 1, disk: -1 }, 'flavor.disk', 'flavor.disk is -1'],
    ['a fractional swap', { vcpus: 1, ram: 1, disk: 1, swap: 1.5 }, 'flavor.swap', 'flavor.swap is 1.5'],
    ['not an object', 'm1.small', 'flavor', 'the flavor is missing'],
  ])('%s', (_what, flavor, key, says) => {
    let err: unknown;
    try {
      schedulingRequest({}, flavor as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MigrationPolicyError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', key });
    expect((err as Error).message).toContain(says);
  });

  it('a trait both required and forbidden', () => {
    expect(() =>
      schedulingRequest(metadataFromFlavor(flavorShow), flavorShow, {
        forbidden: ['COMPUTE_MIGRATE_POST_COPY'],
      }),
    ).toThrow('COMPUTE_MIGRATE_POST_COPY is both required and forbidden: no host can satisfy that');
  });

  it('a trait name that could carry another query parameter', () => {
    expect(() => schedulingRequest({}, flavorShow, { required: ['X&limit=1'] })).toThrow(/required\[0\]/);
  });

  it('metadata requiredTraits refuses (both features true)', () => {
    expect(() => schedulingRequest({ flavorExtraSpecs: { [PC]: 'true', [AC]: 'true' } }, flavorShow)).toThrow(
      expect.objectContaining({ code: 'CONFLICTING_FEATURES' }),
    );
  });
});
