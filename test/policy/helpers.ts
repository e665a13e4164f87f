import { expect } from 'vitest';
import { MigrationPolicyError, type MigrationPolicyErrorCode } from '../../src/index.js';

/** Runs `fn`, expects a MigrationPolicyError with `code`, and returns it for further checks. */
export function expectPolicyError(fn: () => unknown, code: MigrationPolicyErrorCode): MigrationPolicyError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(MigrationPolicyError);
  const error = caught as MigrationPolicyError;
  expect(error.code).toBe(code);
  return error;
}

export const AC_FLAVOR = 'compute:live_migration_auto_converge';
export const PC_FLAVOR = 'compute:live_migration_post_copy';
export const AC_IMAGE = 'compute_live_migration_auto_converge';
export const PC_IMAGE = 'compute_live_migration_post_copy';
