/**
 * A misspelt key exactly as close to two of our keys gets a stable suggestion: ties between the namespaces go
 * to the namespace the key was found in (see the edges suite), and ties between the two features to the first
 * of them, auto-converge, in either namespace.
 */
import { describe, expect, it } from 'vitest';
import { resolveInstancePolicy } from '../../src/index.js';
import { AC_FLAVOR, AC_IMAGE, expectPolicyError } from './helpers.js';

describe('a key as close to both features', () => {
  // "…_auto_post" is as many edits from "…_auto_converge" as from "…_post_copy".
  it.each([
    ['compute:live_migration_auto_post', 'flavorExtraSpecs', AC_FLAVOR],
    ['compute:live_migration_auto_post', 'imageProperties', AC_IMAGE],
    ['compute_live_migration_auto_post', 'flavorExtraSpecs', AC_FLAVOR],
    ['compute_live_migration_auto_post', 'imageProperties', AC_IMAGE],
    ['hw:live_migration_auto_post', 'imageProperties', AC_IMAGE],
    ['hw_live_migration_auto_post', 'flavorExtraSpecs', AC_FLAVOR],
  ])('%j in %s is taken for auto-converge: %s', (key, bag, suggestion) => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ [bag]: { [key]: 'true' } }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain(`did you mean "${suggestion}"?`);
  });
});
