import { describe, expect, it } from 'vitest';
import { boundValue } from '../../src/errors.js';
import {
  type InstanceMetadata,
  planMigration,
  requiredTraits,
  resolveInstancePolicy,
  Traits,
} from '../../src/index.js';
import { AC_FLAVOR, AC_IMAGE, expectPolicyError, PC_FLAVOR, PC_IMAGE } from './helpers.js';

describe('resolveInstancePolicy', () => {
  it.each<[string, InstanceMetadata | undefined, { autoConverge?: boolean; postCopy?: boolean }]>([
    ['no metadata', undefined, {}],
    ['empty bags', { flavorExtraSpecs: {}, imageProperties: {} }, {}],
    ['null bags', { flavorExtraSpecs: null, imageProperties: null }, {}],
    ['flavor post-copy true', { flavorExtraSpecs: { [PC_FLAVOR]: 'true' } }, { postCopy: true }],
    ['flavor post-copy false', { flavorExtraSpecs: { [PC_FLAVOR]: 'false' } }, { postCopy: false }],
    ['image auto-converge true', { imageProperties: { [AC_IMAGE]: 'yes' } }, { autoConverge: true }],
    ['image auto-converge false', { imageProperties: { [AC_IMAGE]: 'no' } }, { autoConverge: false }],
    [
      'both false',
      { flavorExtraSpecs: { [AC_FLAVOR]: 'false', [PC_FLAVOR]: '0' } },
      { autoConverge: false, postCopy: false },
    ],
    [
      'flavor and image agree',
      { flavorExtraSpecs: { [PC_FLAVOR]: 'True' }, imageProperties: { [PC_IMAGE]: 'on' } },
      { postCopy: true },
    ],
    [
      'one from each',
      { flavorExtraSpecs: { [PC_FLAVOR]: 'false' }, imageProperties: { [AC_IMAGE]: 'true' } },
      { autoConverge: true, postCopy: false },
    ],
    [
      'real JSON booleans',
      { flavorExtraSpecs: { [AC_FLAVOR]: true, [PC_FLAVOR]: false } },
      { autoConverge: true, postCopy: false },
    ],
    ['explicit null is unset', { flavorExtraSpecs: { [PC_FLAVOR]: null } }, {}],
    ['other keys ignored', { flavorExtraSpecs: { 'hw:cpu_policy': 'dedicated', 'compute:other': 'x' } }, {}],
  ])('%s', (_name, meta, expected) => {
    expect(resolveInstancePolicy(meta)).toEqual(expected);
  });

  it.each([
    ['1', true],
    ['t', true],
    ['TRUE', true],
    [' yes ', true],
    ['On', true],
    ['Y', true],
    ['0', false],
    ['f', false],
    ['False', false],
    ['no', false],
    ['OFF', false],
    ['n', false],
  ])('reads the oslo strict word %j as %s', (word, value) => {
    expect(resolveInstancePolicy({ imageProperties: { [PC_IMAGE]: word } })).toEqual({ postCopy: value });
  });

  it.each<[string, unknown]>([
    ['a typo', 'ture'],
    ['an empty string', ''],
    ['a number', 1],
    ['an object', { value: true }],
    ['an array', ['true']],
    ['a word with a NUL', 'true\u0000'],
  ])('refuses %s with INVALID_BOOLEAN naming the key and value', (_name, value) => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: { [AC_FLAVOR]: value } }),
      'INVALID_BOOLEAN',
    );
    expect(error.key).toBe(AC_FLAVOR);
    expect(error.value).toEqual(boundValue(value));
    expect(error.message).toContain(AC_FLAVOR);
    expect(error.message).toContain('"true" or "false"');
  });

  it('says where the bad boolean came from', () => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { [PC_IMAGE]: 'maybe' } }),
      'INVALID_BOOLEAN',
    );
    expect(error.message).toMatch(/^image property "compute_live_migration_post_copy" is "maybe"/);
  });

  it('keeps a huge value out of the message', () => {
    const huge = 'x'.repeat(1_000_000);
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { [PC_IMAGE]: huge } }),
      'INVALID_BOOLEAN',
    );
    expect(error.message.length).toBeLessThan(400);
    expect(error.message).toContain('1000000 characters');
  });

  it('refuses a flavor/image disagreement', () => {
    const error = expectPolicyError(
      () =>
        resolveInstancePolicy({
          flavorExtraSpecs: { [PC_FLAVOR]: 'true' },
          imageProperties: { [PC_IMAGE]: 'false' },
        }),
      'FLAVOR_IMAGE_CONFLICT',
    );
    expect(error.message).toContain(PC_FLAVOR);
    expect(error.message).toContain(PC_IMAGE);
  });

  it.each<[string, InstanceMetadata]>([
    ['in the flavor', { flavorExtraSpecs: { [AC_FLAVOR]: 'true', [PC_FLAVOR]: 'true' } }],
    ['in the image', { imageProperties: { [AC_IMAGE]: 'true', [PC_IMAGE]: 'true' } }],
    [
      'across flavor and image',
      { flavorExtraSpecs: { [AC_FLAVOR]: 'true' }, imageProperties: { [PC_IMAGE]: 'true' } },
    ],
  ])('refuses both features true %s', (_name, meta) => {
    const error = expectPolicyError(() => resolveInstancePolicy(meta), 'CONFLICTING_FEATURES');
    expect(error.message).toContain('not both');
  });

  it.each([
    'compute:live_migration_postcopy',
    'compute:live_migration_post_copy ',
    'Compute:Live_Migration_Auto_Converge',
    'compute:live_migration_autoconverge',
  ])('refuses the misspelt key %j and suggests the right one', (key) => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: { [key]: 'true' } }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe(key);
    expect(error.message).toMatch(/did you mean "compute:live_migration_(post_copy|auto_converge)"/);
  });

  it('suggests the post-copy key for a post-copy typo', () => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { compute_live_migration_postcopy: 'true' } }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('did you mean "compute_live_migration_post_copy"');
  });

  it.each<[string, unknown]>([
    ['a string', 'compute:live_migration_post_copy=true'],
    ['an array', [['compute:live_migration_post_copy', 'true']]],
    ['a number', 42],
  ])('refuses flavorExtraSpecs that is %s', (_name, bag) => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: bag as Record<string, unknown> }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('flavorExtraSpecs');
  });

  it('refuses metadata that is not an object', () => {
    expectPolicyError(
      () => resolveInstancePolicy('flavor' as unknown as InstanceMetadata),
      'INVALID_ARGUMENT',
    );
  });

  it('treats __proto__ and constructor keys as data, never touching prototypes', () => {
    const specs = JSON.parse(
      '{"__proto__": {"polluted": "yes"}, "constructor": "x", "compute:live_migration_post_copy": "true"}',
    );
    expect(resolveInstancePolicy({ flavorExtraSpecs: specs })).toEqual({ postCopy: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a bag with a prototype of its own rather than reading or ignoring inherited keys', () => {
    const specs = Object.create({ [PC_FLAVOR]: 'true' }) as Record<string, unknown>;
    expectPolicyError(() => resolveInstancePolicy({ flavorExtraSpecs: specs }), 'INVALID_ARGUMENT');
  });
});

describe('requiredTraits', () => {
  it.each<[string, InstanceMetadata | undefined, string[]]>([
    ['nothing set', undefined, []],
    ['post-copy true', { flavorExtraSpecs: { [PC_FLAVOR]: 'true' } }, [Traits.POST_COPY]],
    ['auto-converge true from image', { imageProperties: { [AC_IMAGE]: 'true' } }, [Traits.AUTO_CONVERGE]],
    ['false adds nothing', { flavorExtraSpecs: { [PC_FLAVOR]: 'false', [AC_FLAVOR]: 'false' } }, []],
    [
      'one true, one false',
      { flavorExtraSpecs: { [PC_FLAVOR]: 'false', [AC_FLAVOR]: 'true' } },
      [Traits.AUTO_CONVERGE],
    ],
  ])('%s', (_name, meta, traits) => {
    expect(requiredTraits(meta)).toEqual(traits);
  });

  it('uses the spec trait names', () => {
    expect(Traits).toEqual({
      AUTO_CONVERGE: 'COMPUTE_MIGRATE_AUTO_CONVERGE',
      POST_COPY: 'COMPUTE_MIGRATE_POST_COPY',
    });
  });

  it('refuses what the API refuses', () => {
    expectPolicyError(
      () => requiredTraits({ flavorExtraSpecs: { [AC_FLAVOR]: 'true', [PC_FLAVOR]: 'true' } }),
      'CONFLICTING_FEATURES',
    );
  });
});

describe('metadata details', () => {
  it('reads an explicit null or undefined value as unset', () => {
    expect(
      resolveInstancePolicy({ flavorExtraSpecs: { [PC_FLAVOR]: null, [AC_FLAVOR]: undefined } }),
    ).toEqual({});
    expect(resolveInstancePolicy({ imageProperties: { [PC_IMAGE]: null } })).toEqual({});
  });

  it('never takes image properties from a polluted Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.imageProperties = { [AC_IMAGE]: 'true' };
    try {
      expect(resolveInstancePolicy({ flavorExtraSpecs: {} })).toEqual({});
    } finally {
      delete proto.imageProperties;
    }
  });

  it('does not call a revoked proxy a Map', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const error = expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: proxy }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).not.toContain('a Map');
    expect(error.message).toContain('flavorExtraSpecs is an object: pass a plain object');
  });

  it('words a both-true conflict with both keys, and names the post-copy key', () => {
    const error = expectPolicyError(
      () =>
        resolveInstancePolicy({
          flavorExtraSpecs: { [AC_FLAVOR]: 'true' },
          imageProperties: { [PC_IMAGE]: 'yes' },
        }),
      'CONFLICTING_FEATURES',
    );
    expect(error.message).toBe(
      `"${AC_FLAVOR}" and "${PC_IMAGE}" are both true: an instance uses auto-converge or post-copy, not both; set one of them to "false" or remove it`,
    );
    expect(error.key).toBe(PC_IMAGE);
    expect(error.value).toBe(true);
  });

  it('words a flavor/image conflict with both values', () => {
    const error = expectPolicyError(
      () =>
        resolveInstancePolicy({
          flavorExtraSpecs: { [PC_FLAVOR]: 'true' },
          imageProperties: { [PC_IMAGE]: 'no' },
        }),
      'FLAVOR_IMAGE_CONFLICT',
    );
    expect(error.message).toBe(
      `flavor extra spec "${PC_FLAVOR}" is true but image property "${PC_IMAGE}" is false: make them agree or remove one of them`,
    );
    expect(error.key).toBe(PC_FLAVOR);
    expect(error.value).toBe(true);
  });

  it('names the image namespace in a nested-shape message', () => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { properties: {} } }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toBe(
      'imageProperties has a "properties" object: this looks like a whole image (or an API response) rather than its properties; pass metadataFromImage(image), which reads every shape OpenStack prints',
    );
    expect(error.value).toBe('[object]');
  });

  it('suggests the image spelling for an unknown top-level key without a colon', () => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ compute_live_migration_postcopy: 'true' } as never),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain(`{ imageProperties: { "${PC_IMAGE}": "true" } }`);
  });
});

describe('a bag changed between two calls is read as it is at each', () => {
  it('refuses a bag whose prototype was replaced, and takes it back once plain', () => {
    const specs: Record<string, unknown> = { 'hw:cpu_policy': 'dedicated', [PC_FLAVOR]: 'false' };
    const instance = { flavorExtraSpecs: specs };
    expect(planMigration({ instance }).postCopy).toBe(false);
    Object.setPrototypeOf(specs, Map.prototype);
    const error = expectPolicyError(() => planMigration({ instance }), 'INVALID_ARGUMENT');
    expect(error.key).toBe('flavorExtraSpecs');
    expect(error.message).toContain('pass a plain object');
    // Back to a plain prototype, the same bag is accepted again.
    Object.setPrototypeOf(specs, Object.prototype);
    expect(resolveInstancePolicy(instance)).toEqual({ postCopy: false });
  });

  it('refuses image properties whose prototype was replaced', () => {
    const props: Record<string, unknown> = { os_distro: 'debian' };
    expect(resolveInstancePolicy({ imageProperties: props })).toEqual({});
    Object.setPrototypeOf(props, Array.prototype);
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: props }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('imageProperties');
  });

  it('refuses a nested flavor that replaced a plain value under the same key', () => {
    const specs: Record<string, unknown> = { 'hw:cpu_policy': 'dedicated', properties: 'none' };
    expect(resolveInstancePolicy({ flavorExtraSpecs: specs })).toEqual({});
    specs.properties = { [PC_FLAVOR]: 'true' };
    const error = expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: specs }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('flavorExtraSpecs.properties');
    expect(error.message).toContain('metadataFromFlavor(flavor)');
    // A plain value again: accepted, the key is plain data.
    specs.properties = 'none';
    expect(resolveInstancePolicy({ flavorExtraSpecs: specs })).toEqual({});
  });

  it('checks every nested-shape key of a bag, not only the first', () => {
    const props: Record<string, unknown> = { image: 'x', properties: 'y', os_type: 'linux' };
    expect(resolveInstancePolicy({ imageProperties: props })).toEqual({});
    props.properties = {};
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: props }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('imageProperties.properties');
    expect(error.message).toContain('metadataFromImage(image)');
  });

  it('reads a getter of our key on every call', () => {
    let reads = 0;
    let value = 'true';
    const props = Object.defineProperty({ os_distro: 'debian' }, PC_IMAGE, {
      enumerable: true,
      get: () => {
        reads++;
        return value;
      },
    });
    const instance = { imageProperties: props };
    expect(planMigration({ instance }).postCopy).toBe(true);
    expect(planMigration({ instance }).postCopy).toBe(true);
    value = 'no';
    expect(planMigration({ instance }).postCopy).toBe(false);
    value = 'maybe';
    expectPolicyError(() => planMigration({ instance }), 'INVALID_BOOLEAN');
    expect(reads).toBe(4);
  });

  it('asks a Proxy for its keys on every call', () => {
    let keys = ['os_distro'];
    const props = new Proxy({ os_distro: 'debian', hw_live_migration_post_copy: 'true' } as object, {
      ownKeys: () => keys,
    });
    expect(resolveInstancePolicy({ imageProperties: props as never })).toEqual({});
    keys = ['os_distro', 'hw_live_migration_post_copy'];
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: props as never }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('hw_live_migration_post_copy');
  });

  it('refuses a misspelt key added to a bag planned before, and reads the right one added instead', () => {
    const bag: Record<string, unknown> = { 'hw:numa_nodes': '1' };
    expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({});
    bag['hw:live_migration_post_copy'] = 'false';
    const error = expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: bag }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('hw:live_migration_post_copy');
    delete bag['hw:live_migration_post_copy'];
    bag[PC_FLAVOR] = 'false';
    expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({ postCopy: false });
  });

  it('reads our key added to a bag, and forgets it once removed', () => {
    const bag: Record<string, unknown> = { 'hw:cpu_policy': 'dedicated' };
    expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({});
    bag[PC_FLAVOR] = 'false';
    expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({ postCopy: false });
    delete bag[PC_FLAVOR];
    expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({});
  });

  it('judges a key by its name alone, whatever other keys came before it', () => {
    for (let i = 0; i < 100; i++) resolveInstancePolicy({ imageProperties: { [`os_tag_${i}`]: 'x' } });
    const misspelt = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { compute_live_migration_postcopy: 'true' } }),
      'INVALID_ARGUMENT',
    );
    expect(misspelt.message).toMatch(
      /^image property "compute_live_migration_postcopy" is not a live-migration key/,
    );
    expect(misspelt.message).toContain(`did you mean "${PC_IMAGE}"`);
    expect(misspelt.message).toContain(`Known image property keys: "${AC_IMAGE}", "${PC_IMAGE}"`);
    const nested = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { properties: {} } }),
      'INVALID_ARGUMENT',
    );
    expect(nested.key).toBe('imageProperties.properties');
    expect(resolveInstancePolicy({ imageProperties: { os_tag_1: 'x', [PC_IMAGE]: 'yes' } })).toEqual({
      postCopy: true,
    });
  });
});

describe('one object passed as a flavor’s extra specs and then as image properties', () => {
  it('is read with the image’s keys as image properties, however often it was planned as a flavor', () => {
    const bag: Record<string, unknown> = { 'hw:cpu_policy': 'dedicated', [PC_FLAVOR]: 'true' };
    for (let i = 0; i < 3; i++)
      expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({ postCopy: true });
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: bag }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe(PC_FLAVOR);
    expect(error.message).toContain(`did you mean "${PC_IMAGE}"`);
    expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({ postCopy: true });
  });
});
