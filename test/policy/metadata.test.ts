import { describe, expect, it } from 'vitest';
import { boundValue } from '../../src/errors.js';
import { type InstanceMetadata, requiredTraits, resolveInstancePolicy, Traits } from '../../src/index.js';
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
