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

/**
 * How many runs a fast-check property makes: `FC_RUNS` when set, 10,000 in CI (`CI=true`), otherwise the
 * property's own small default so that a unit run stays fast.
 */
export function fcRuns(localDefault: number): number {
  const fromEnv = Number(process.env.FC_RUNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return process.env.CI === 'true' ? 10_000 : localDefault;
}

/** A test timeout that grows with the number of runs (about 2 ms a run on a shared 2-core machine). */
export function fcTimeout(runs: number, msPerRun = 2): number {
  return Math.max(5_000, runs * msPerRun * 3);
}
