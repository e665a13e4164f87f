/** Rules the mutation run found unpinned in the new code: each test kills a mutant that was not equivalent. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertAbortAllowed,
  forceCompleteAction,
  type MigrationStatus,
  planMigration,
  resolveInstancePolicy,
} from '../../src/index.js';
import { boundKey } from '../../src/policy/guard.js';
import { editDistance, resemblesOurKey } from '../../src/policy/key-match.js';
import { AC_FLAVOR, AC_IMAGE, expectPolicyError, fcRuns, PC_FLAVOR, PC_IMAGE } from './helpers.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['', 'ab', 2],
    ['ab', '', 2],
    ['a', 'a', 0],
    ['abc', 'abd', 1],
    ['kitten', 'sitting', 3],
    ['flaw', 'lawn', 2],
    ['post_copy', 'postcopy', 1],
    ['abcdef', 'azced', 3],
  ])('%j → %j is %d', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('editDistance with a cap', () => {
  it.each([
    ['kitten', 'sitting', 3, 3],
    ['kitten', 'sitting', 2, 3],
    ['kitten', 'sitting', 1, 2],
    ['', 'abcdef', 2, 3],
    ['abcdef', 'azced', 3, 3],
    ['same', 'same', 0, 0],
  ])(
    '%j → %j with cap %d is %d: the distance when within the cap, cap + 1 above it',
    (a, b, cap, expected) => {
      expect(editDistance(a, b, cap)).toBe(expected);
      expect(editDistance(b, a, cap)).toBe(expected);
    },
  );
});

describe('which characters count when comparing keys', () => {
  it.each([
    // Digits and every letter a–z are kept: these are not our keys once they are.
    ['hw:post0copy', false],
    ['hw:post9copy', false],
    ['hw:postzcopy', false],
    // Punctuation and case are not.
    ['HW:Post-Copy', true],
    ['hw:migration_x', true],
    ['hw:auto.converge', true],
  ])('%j is refused: %s', (key, refused) => {
    const call = () => resolveInstancePolicy({ flavorExtraSpecs: { [key]: 'true' } });
    if (refused) expectPolicyError(call, 'INVALID_ARGUMENT');
    else expect(call()).toEqual({});
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

describe('status details', () => {
  it('explains why a post-copy migration cannot be aborted', () => {
    const error = expectPolicyError(() => assertAbortAllowed('running (post-copy)'), 'ABORT_IN_POST_COPY');
    expect(error.message).toBe(
      'the migration is in post-copy (status "running (post-copy)"): the guest already runs on the destination, so it cannot be aborted; let it complete, or if it fails recover it with POSTCOPY_RESUME',
    );
    expect(error.key).toBe('status');
    expect(error.value).toBe('running (post-copy)');
  });

  it('names a finished status', () => {
    const error = expectPolicyError(() => assertAbortAllowed('completed'), 'MIGRATION_NOT_ACTIVE');
    expect(error.message).toBe(
      `the migration's status is "completed": only a queued, preparing or running migration can be aborted`,
    );
    expect(error.key).toBe('status');
    expect(error.value).toBe('completed');
  });

  it('says what is wrong with a null plan, and with a plan whose getter throws', () => {
    expect(
      expectPolicyError(() => forceCompleteAction(null as never, 'running'), 'INVALID_ARGUMENT').message,
    ).toBe('plan.postCopy is null: pass the MigrationPlan, or an object whose postCopy is a real boolean');
    const throwing = Object.defineProperty({}, 'postCopy', {
      get() {
        throw new Error('x');
      },
    });
    const error = expectPolicyError(
      () => forceCompleteAction(throwing as never, 'running'),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('reading the plan threw (Error: x)');
    expect(error.key).toBe('plan');
  });

  it('checks the status before the plan', () => {
    expect(forceCompleteAction({ postCopy: true }, 'completed')).toBe('none');
    expect(() => forceCompleteAction({ postCopy: true }, 'done' as MigrationStatus)).toThrow(
      /not one of Nova's/,
    );
  });
});

describe('bounded keys', () => {
  it('keeps a key of exactly 200 characters whole and cuts a longer one', () => {
    expect(boundKey('k'.repeat(200))).toBe('k'.repeat(200));
    expect(boundKey('k'.repeat(201))).toBe(`${'k'.repeat(200)}…`);
  });

  it('bounds an unknown planMigration option', () => {
    const key = 'z'.repeat(300);
    expect(expectPolicyError(() => planMigration({ [key]: 1 } as never), 'INVALID_ARGUMENT').key).toBe(
      `${'z'.repeat(200)}…`,
    );
  });
});

describe('resemblesOurKey, with its early exits, against the full edit distance', () => {
  const KNOWN = ['computelivemigrationautoconverge', 'computelivemigrationpostcopy'];
  const STEMS = ['livemigr', 'migration', 'postcop', 'postcpy', 'autoconv', 'converge'];
  /** The rule as written in key-match.ts's comment, computed the slow way. */
  const reference = (key: string) => {
    const n = key
      .slice(0, 80)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '');
    return STEMS.some((stem) => n.includes(stem)) || KNOWN.some((known) => editDistance(n, known) <= 4);
  };
  /** Our keys with a few characters changed, dropped or added: near the distance limit on both sides. */
  const nearKey = fc
    .tuple(
      fc.constantFrom(...KNOWN),
      fc.array(fc.tuple(fc.nat(40), fc.constantFrom('', 'x', 'q', '_', 'zz', 'k')), { maxLength: 7 }),
    )
    .map(([key, edits]) =>
      edits.reduce(
        (text, [at, insert]) =>
          text.slice(0, at % (text.length + 1)) + insert + text.slice((at % (text.length + 1)) + 1),
        key,
      ),
    );

  it('agrees on keys near ours and on any other string', () => {
    fc.assert(
      fc.property(fc.oneof(nearKey, fc.string({ maxLength: 50 })), (key) => {
        expect(resemblesOurKey(key)).toBe(reference(key));
      }),
      { numRuns: fcRuns(2_000) },
    );
  });

  // No stem in any of these: only the distance decides, 4 edits in, 5 out.
  it.each([
    ['computeliveXigrXtionpoXtcXpy', true],
    ['computeliveXigrXtionpoXtcXpX', false],
    ['computeXiveXigrationautocXnvXrge', true],
    ['computeXiveXigrXtionautocXnvXrgX', false],
    // Four characters shorter and four edits away: the length difference alone does not rule it out.
    ['omputelivigrationpotcopy', true],
    ['omputelivigrationpotcop', false],
    // Two edits from the first 24 characters of ours, but six from the whole key.
    ['computeliveXigrationpoXt', false],
  ])('%j: %s', (key, expected) => {
    expect(resemblesOurKey(key)).toBe(expected);
    expect(reference(key)).toBe(expected);
  });
});
