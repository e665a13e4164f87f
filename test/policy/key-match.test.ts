/**
 * Telling a key that resembles ours: the normalization (case, punctuation, the first 80 characters), the
 * pieces, the edit distance and its cap, each checked against the rule computed the slow way.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveInstancePolicy } from '../../src/index.js';
import { editDistance, resemblesOurKey } from '../../src/policy/key-match.js';
import { expectPolicyError, fcRuns, fcTimeout, PC_IMAGE } from './helpers.js';

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

describe('how far a key may be from ours', () => {
  it.each([
    // Four substitutions break every piece of our keys; the edit distance still catches it.
    ['compute:liv3_migr4tion_p0st_c0py', true],
    // Five are a different key.
    ['c0mpute:liv3_migr4tion_p0st_c0py', false],
    // Only the first 80 characters of a key are compared.
    [`${'x'.repeat(80)}_post_copy`, false],
    [`${'x'.repeat(70)}_post_copy`, true],
  ])('%j is refused: %s', (key, refused) => {
    const call = () => resolveInstancePolicy({ flavorExtraSpecs: { [key]: 'true' } });
    if (refused) expectPolicyError(call, 'INVALID_ARGUMENT');
    else expect(call()).toEqual({});
  });

  it('breaks a tie between the namespaces in favour of the one the key was found in', () => {
    // ";" is one edit from both "compute:" and "compute_".
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { 'compute;live_migration_post_copy': 'true' } }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain(`did you mean "${PC_IMAGE}"?`);
    expect(error.message).not.toContain('flavor extra spec "');
  });

  it('keeps a long key short in the error, and refuses it every time (long names are judged afresh)', () => {
    const key = `compute:live_migration_post_copy${'k'.repeat(1_000)}`;
    for (let i = 0; i < 2; i++) {
      const error = expectPolicyError(
        () => resolveInstancePolicy({ flavorExtraSpecs: { [key]: 'x' } }),
        'INVALID_ARGUMENT',
      );
      expect(error.key).toBe(`${key.slice(0, 200)}…`);
    }
  });
});

describe('resemblesOurKey against the rule computed the slow way', () => {
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
      fc.array(fc.tuple(fc.nat(40), fc.constantFrom('', 'x', 'q', '_', 'zz', 'k', 'K', ':', ' ', '\u212a')), {
        maxLength: 7,
      }),
    )
    .map(([key, edits]) =>
      edits.reduce(
        (text, [at, insert]) =>
          text.slice(0, at % (text.length + 1)) + insert + text.slice((at % (text.length + 1)) + 1),
        key,
      ),
    );

  const runs = fcRuns(2_000);
  it('agrees on keys near ours and on any other string, ASCII or not', { timeout: fcTimeout(runs) }, () => {
    fc.assert(
      fc.property(
        fc.oneof(nearKey, fc.string({ maxLength: 50 }), fc.string({ unit: 'binary', maxLength: 50 })),
        (key) => {
          expect(resemblesOurKey(key)).toBe(reference(key));
        },
      ),
      { numRuns: runs },
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
    // 24 and 36 letters, four edits away: the shortest and the longest a typo of ours can be.
    ['omputeliveigrationpotopy', true],
    ['computeliveXmigrXationautoXconvXerge', true],
    ['mputeliveigrationpotopy', false],
    ['computeliveXmigrXationautoXconvXergeX', false],
    // Four of our letters gone, each the only one of its kind (u, v, g, s): four edits, still a typo of ours;
    // a fifth (l) is one edit too many.
    ['compXteliXemiXrationpoXtcopy', true],
    ['compXteXiXemiXrationpoXtcopy', false],
    // Punctuation and case between the letters, at those lengths.
    ['OMPUTE:LIVE_IGRATION_POT_OPY', true],
    ['compute:live_Xmigr-Xation.autoXconv_Xerge', true],
    // A character that lower-cases to an ASCII letter counts as that letter, wherever it is.
    ['hw:post\u212acopy', false],
    ['hw:m\u0130gration', true],
    // A character past ASCII that normalizing drops joins what is on either side of it.
    ['hw:post\x80copy', true],
    // Only the first 80 characters count, also for a key that is not all ASCII.
    [`${'x'.repeat(79)}\u212a_post_copy`, false],
    [`${'x'.repeat(69)}\u212a_post_copy`, true],
  ])('%j: %s', (key, expected) => {
    expect(resemblesOurKey(key)).toBe(expected);
    expect(reference(key)).toBe(expected);
  });
});
