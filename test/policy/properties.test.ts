import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  MigrateFlags as F,
  type HostConfig,
  type InstanceMetadata,
  MigrationPolicyError,
  parseNovaConf,
  planMigration,
  requiredTraits,
  resolveInstancePolicy,
} from '../../src/index.js';
import { AC_FLAVOR, AC_IMAGE, fcRuns, fcTimeout, PC_FLAVOR, PC_IMAGE } from './helpers.js';

// CI runs every property 10,000 times (FC_RUNS overrides): give each test the time that takes.
vi.setConfig({ testTimeout: fcTimeout(fcRuns(300)) });

const booleanWord = fc.constantFrom(
  'true',
  'false',
  'True',
  'FALSE',
  ' yes',
  'no ',
  '1',
  '0',
  'on',
  'off',
  't',
  'f',
  'y',
  'n',
  true,
  false,
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** Well-formed metadata: every value a valid boolean, keys possibly absent. */
const validMetadata: fc.Arbitrary<InstanceMetadata> = fc.record({
  flavorExtraSpecs: fc.record(
    { [AC_FLAVOR]: maybe(booleanWord), [PC_FLAVOR]: maybe(booleanWord) },
    { requiredKeys: [] },
  ),
  imageProperties: fc.record(
    { [AC_IMAGE]: maybe(booleanWord), [PC_IMAGE]: maybe(booleanWord) },
    { requiredKeys: [] },
  ),
});

const validHost: fc.Arbitrary<Partial<HostConfig>> = fc
  .record(
    {
      permitAutoConverge: fc.boolean(),
      permitPostCopy: fc.boolean(),
      tunnelled: fc.boolean(),
      nativeTls: fc.boolean(),
      parallelConnections: fc.integer({ min: 1, max: 8 }),
      bandwidth: fc.nat(10_000),
    },
    { requiredKeys: [] },
  )
  .filter((h) => !(h.tunnelled && h.nativeTls));

const planInput = fc.record({
  instance: validMetadata,
  host: validHost,
  paused: fc.boolean(),
  blockMigration: fc.boolean(),
  qemuVersion: fc.constantFrom(undefined, '7.2.0', '10.1.0', '2.4.0'),
});

/** Runs fn; passes if it returns, or throws a MigrationPolicyError; anything else fails the property. */
function onlyPolicyErrors<T>(fn: () => T): T | MigrationPolicyError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MigrationPolicyError) return err;
    throw err;
  }
}

const explicit = (value: unknown): boolean | undefined =>
  value === undefined
    ? undefined
    : typeof value === 'boolean'
      ? value
      : ['true', 'yes', '1', 'on', 't', 'y'].includes(String(value).trim().toLowerCase());

describe('planMigration properties', () => {
  it('never sends post-copy and auto-converge together, and always LIVE|PEER2PEER', () => {
    fc.assert(
      fc.property(planInput, (input) => {
        const plan = onlyPolicyErrors(() => planMigration(input));
        if (plan instanceof MigrationPolicyError) return;
        expect(plan.flags & (F.POSTCOPY | F.AUTO_CONVERGE)).not.toBe(F.POSTCOPY | F.AUTO_CONVERGE);
        expect(plan.flags & (F.LIVE | F.PEER2PEER)).toBe(F.LIVE | F.PEER2PEER);
        expect(plan.postCopy).toBe((plan.flags & F.POSTCOPY) !== 0);
        expect(plan.autoConverge).toBe((plan.flags & F.AUTO_CONVERGE) !== 0);
      }),
      { numRuns: fcRuns(200) },
    );
  });

  it('an explicit false always wins over the host conf', () => {
    fc.assert(
      fc.property(planInput, (input) => {
        const plan = onlyPolicyErrors(() => planMigration(input));
        if (plan instanceof MigrationPolicyError) return;
        const ac = explicit(
          input.instance.flavorExtraSpecs?.[AC_FLAVOR] ?? input.instance.imageProperties?.[AC_IMAGE],
        );
        const pc = explicit(
          input.instance.flavorExtraSpecs?.[PC_FLAVOR] ?? input.instance.imageProperties?.[PC_IMAGE],
        );
        if (ac === false) expect(plan.flags & F.AUTO_CONVERGE).toBe(0);
        if (pc === false) expect(plan.flags & F.POSTCOPY).toBe(0);
      }),
      { numRuns: fcRuns(200) },
    );
  });

  it('an explicit true is honoured or refused, never silently dropped (but for a paused guest)', () => {
    fc.assert(
      fc.property(planInput, (input) => {
        const plan = onlyPolicyErrors(() => planMigration(input));
        const policy = onlyPolicyErrors(() => resolveInstancePolicy(input.instance));
        if (plan instanceof MigrationPolicyError || policy instanceof MigrationPolicyError) return;
        if (policy.autoConverge === true) expect(plan.autoConverge).toBe(true);
        if (policy.postCopy === true) expect(plan.postCopy).toBe(!input.paused);
      }),
      { numRuns: fcRuns(200) },
    );
  });

  it('a paused guest never carries POSTCOPY', () => {
    fc.assert(
      fc.property(planInput, (input) => {
        const plan = onlyPolicyErrors(() => planMigration({ ...input, paused: true }));
        if (plan instanceof MigrationPolicyError) return;
        expect(plan.flags & F.POSTCOPY).toBe(0);
      }),
      { numRuns: fcRuns(100) },
    );
  });

  it('requiredTraits lists exactly the features set to true', () => {
    fc.assert(
      fc.property(validMetadata, (meta) => {
        const policy = onlyPolicyErrors(() => resolveInstancePolicy(meta));
        const traits = onlyPolicyErrors(() => requiredTraits(meta));
        if (policy instanceof MigrationPolicyError) {
          expect(traits).toBeInstanceOf(MigrationPolicyError);
          return;
        }
        expect(traits).toEqual([
          ...(policy.autoConverge ? ['COMPUTE_MIGRATE_AUTO_CONVERGE'] : []),
          ...(policy.postCopy ? ['COMPUTE_MIGRATE_POST_COPY'] : []),
        ]);
      }),
    );
  });
});

describe('untrusted input', () => {
  const key = fc.oneof(
    fc.constantFrom(
      AC_FLAVOR,
      PC_FLAVOR,
      AC_IMAGE,
      PC_IMAGE,
      '__proto__',
      'constructor',
      'toString',
      'compute:live_migration_x',
    ),
    fc.string(),
  );
  const junkBag = fc.oneof(
    fc.dictionary(key, fc.anything({ maxDepth: 2, maxKeys: 5 }), { maxKeys: 8 }),
    fc.anything({ maxDepth: 2, maxKeys: 5 }),
  );

  it('random junk metadata throws nothing but MigrationPolicyError and pollutes nothing', () => {
    fc.assert(
      fc.property(junkBag, junkBag, fc.anything({ maxDepth: 2, maxKeys: 5 }), (flavor, image, host) => {
        const instance = { flavorExtraSpecs: flavor, imageProperties: image } as InstanceMetadata;
        onlyPolicyErrors(() => resolveInstancePolicy(instance));
        onlyPolicyErrors(() => requiredTraits(instance));
        onlyPolicyErrors(() => planMigration({ instance, host: host as Partial<HostConfig> }));
        expect(Object.keys(Object.prototype)).toEqual([]);
      }),
      { numRuns: fcRuns(300) },
    );
  });

  it('random nova.conf text throws nothing but MigrationPolicyError', () => {
    const line = fc.oneof(
      fc.string(),
      fc.constantFrom('[libvirt]', '[DEFAULT]', '[__proto__]'),
      fc
        .tuple(
          fc.constantFrom(
            'live_migration_downtime',
            'live_migration_permit_post_copy',
            'live_migration_timeout_action',
            '__proto__',
          ),
          fc.string(),
        )
        .map(([k, v]) => `${k} = ${v}`),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), (lines) => {
        onlyPolicyErrors(() => parseNovaConf(lines.join('\n')));
        expect(Object.keys(Object.prototype)).toEqual([]);
      }),
      { numRuns: fcRuns(200) },
    );
  });
});
