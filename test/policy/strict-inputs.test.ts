/**
 * No silent fall-through, no untyped exception: every observed case is a correct answer or a
 * MigrationPolicyError with a code.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ERROR_VALUE_CHARS } from '../../src/errors.js';
import {
  assertAbortAllowed,
  forceCompleteAction,
  hostTraits,
  isActiveStatus,
  MigrationPolicyError,
  type MigrationStatus,
  parseNovaConf,
  planMigration,
  requiredTraits,
  resolveHostConfig,
  resolveInstancePolicy,
} from '../../src/index.js';
import { monitorSettings, monitorTick, pythonStrip, VERSIONS_UNCHECKED } from '../../src/policy/index.js';
import { AC_FLAVOR, AC_IMAGE, expectPolicyError, PC_FLAVOR, PC_IMAGE } from './helpers.js';

describe('misspelt keys are refused with the closest real key, over both namespaces', () => {
  it.each<[string, 'flavorExtraSpecs' | 'imageProperties', string]>([
    ['compute:livemigration_post_copy', 'flavorExtraSpecs', PC_FLAVOR],
    ['hw:live_migration_post_copy', 'flavorExtraSpecs', PC_FLAVOR],
    ['compute:live-migration_post_copy', 'flavorExtraSpecs', PC_FLAVOR],
    ['\u00a0compute:live_migration_post_copy', 'flavorExtraSpecs', PC_FLAVOR],
    ['compute:live_migration_post_copy_enabled', 'flavorExtraSpecs', PC_FLAVOR],
    ['compute:live_migration_auto_converge_enabled', 'flavorExtraSpecs', AC_FLAVOR],
    ['compute:live_migraton_autoconverge', 'flavorExtraSpecs', AC_FLAVOR],
    ['hw_live_migration_post_copy', 'imageProperties', PC_IMAGE],
    ['compute_live_migration_postcopy', 'imageProperties', PC_IMAGE],
    ['COMPUTE_LIVE_MIGRATION_AUTO_CONVERGE', 'imageProperties', AC_IMAGE],
    // A flavor-style key in image properties, and the reverse: the suggestion is this namespace's spelling.
    [PC_FLAVOR, 'imageProperties', PC_IMAGE],
    [AC_IMAGE, 'flavorExtraSpecs', AC_FLAVOR],
    ['compute:post_copy', 'flavorExtraSpecs', PC_FLAVOR],
    // As close to both features ("…_auto_post" is as many edits from "…_auto_converge" as from
    // "…_post_copy"): the first of them, auto-converge, in the bag's own namespace.
    ['compute:live_migration_auto_post', 'flavorExtraSpecs', AC_FLAVOR],
    ['compute:live_migration_auto_post', 'imageProperties', AC_IMAGE],
    ['compute_live_migration_auto_post', 'flavorExtraSpecs', AC_FLAVOR],
    ['compute_live_migration_auto_post', 'imageProperties', AC_IMAGE],
    ['hw:live_migration_auto_post', 'imageProperties', AC_IMAGE],
    ['hw_live_migration_auto_post', 'flavorExtraSpecs', AC_FLAVOR],
  ])('%j in %s suggests %s', (key, bag, suggestion) => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ [bag]: { [key]: 'true' } }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe(key);
    expect(error.value).toBe('true');
    expect(error.message).toContain(`did you mean "${suggestion}"?`);
    expect(error.message).toContain('the host would decide');
  });

  it("says when a key is the other namespace's spelling", () => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { [PC_FLAVOR]: 'false' } }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain(`that is the flavor extra spec "${PC_FLAVOR}"`);
  });

  it.each([
    'hw:cpu_policy',
    'hw_disk_bus',
    'os_distro',
    'quota:disk_read_iops_sec',
    'aggregate_instance_extra_specs:ssd',
    'trait:HW_CPU_X86_AVX2',
    'compute_driver',
    'hw_machine_type',
    'img_hide_hypervisor_id',
  ])('leaves the unrelated key %j alone', (key) => {
    expect(
      resolveInstancePolicy({ flavorExtraSpecs: { [key]: 'x' }, imageProperties: { [key]: 'x' } }),
    ).toEqual({});
  });

  it('scans a bag again when a key was added since the last call', () => {
    const specs: Record<string, unknown> = { 'hw:cpu_policy': 'dedicated' };
    const instance = { flavorExtraSpecs: specs };
    expect(resolveInstancePolicy(instance)).toEqual({});
    specs['compute:live_migration_postcopy'] = 'true';
    expectPolicyError(() => resolveInstancePolicy(instance), 'INVALID_ARGUMENT');
    delete specs['compute:live_migration_postcopy'];
    specs[PC_FLAVOR] = 'true';
    expect(resolveInstancePolicy(instance)).toEqual({ postCopy: true });
    specs[PC_FLAVOR] = 'false';
    expect(resolveInstancePolicy(instance)).toEqual({ postCopy: false });
  });

  it('scans a bag again when a key was replaced by another at the same place', () => {
    const specs: Record<string, unknown> = { a: '1' };
    expect(resolveInstancePolicy({ flavorExtraSpecs: specs })).toEqual({});
    delete specs.a;
    specs['hw:live_migration_post_copy'] = 'true';
    expectPolicyError(() => resolveInstancePolicy({ flavorExtraSpecs: specs }), 'INVALID_ARGUMENT');
  });
});

describe('flags are real booleans, not truthy values', () => {
  it.each([
    ['blockMigration', 'false'],
    ['blockMigration', 1],
    ['blockMigration', null],
    ['paused', 'no'],
    ['paused', 0],
  ])('planMigration refuses %s = %j', (key, value) => {
    const error = expectPolicyError(() => planMigration({ [key]: value } as never), 'INVALID_ARGUMENT');
    expect(error.key).toBe(key);
    expect(error.message).toContain('real boolean');
  });

  it("hostTraits refuses userfaultfd: 'no' rather than reporting post-copy", () => {
    const error = expectPolicyError(
      () => hostTraits({ libvirtVersion: '9.0.0', qemuVersion: '7.2.0', userfaultfd: 'no' as never }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('userfaultfd');
  });

  it('hostTraits does not report post-copy with userfaultfd: false', () => {
    expect(hostTraits({ libvirtVersion: '9.0.0', qemuVersion: '7.2.0', userfaultfd: false })).toEqual({
      COMPUTE_MIGRATE_AUTO_CONVERGE: true,
      COMPUTE_MIGRATE_POST_COPY: false,
    });
  });

  it("forceCompleteAction refuses postCopy: 'false' rather than switching to post-copy", () => {
    const error = expectPolicyError(
      () => forceCompleteAction({ postCopy: 'false' as never }, 'running'),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('postCopy');
  });

  it('the host config takes real booleans only', () => {
    expectPolicyError(() => resolveHostConfig({ permitPostCopy: 'false' as never }), 'INVALID_HOST_CONFIG');
  });
});

describe('statuses are exact', () => {
  const bad: unknown[] = [
    'RUNNING',
    'Running',
    ' running',
    Symbol('running'),
    new String('running'),
    1,
    null,
  ];
  it.each(bad.map((status) => [String(typeof status === 'symbol' ? 'Symbol()' : status), status]))(
    '%s is INVALID_ARGUMENT everywhere, not MIGRATION_NOT_ACTIVE or "none"',
    (_name, status) => {
      const s = status as MigrationStatus;
      expectPolicyError(() => assertAbortAllowed(s), 'INVALID_ARGUMENT');
      expectPolicyError(() => forceCompleteAction({ postCopy: false }, s), 'INVALID_ARGUMENT');
      expectPolicyError(() => isActiveStatus(s), 'INVALID_ARGUMENT');
      const settings = monitorSettings(planMigration(), 2);
      expectPolicyError(
        () => monitorTick(settings, {}, { elapsedSeconds: 1, status: s }),
        'INVALID_ARGUMENT',
      );
    },
  );

  it('names every valid status in the message', () => {
    const error = expectPolicyError(
      () => assertAbortAllowed('RUNNING' as MigrationStatus),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('"running (post-copy)"');
    expect(error.key).toBe('status');
  });
});

describe('disks and bags have the right types', () => {
  it("refuses migrateDisks: 'vda' instead of sending ['v','d','a']", () => {
    const error = expectPolicyError(
      () => planMigration({ blockMigration: true, migrateDisks: 'vda' as never }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('migrateDisks');
    expect(error.message).toContain('["vda"]');
  });

  it.each([[['vda', 1]], [[null]], [{ length: 1, 0: 'vda' }], [new Set(['vda'])]])(
    'refuses migrateDisks %o',
    (disks) => {
      expectPolicyError(() => planMigration({ migrateDisks: disks as never }), 'INVALID_ARGUMENT');
    },
  );

  it('refuses a Map as flavorExtraSpecs instead of ignoring it', () => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: new Map([[PC_FLAVOR, 'false']]) as never }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('a Map');
    expect(error.message).toContain('Object.fromEntries');
  });

  it.each([[[]], [new Map()], [42], ['x'], [new Date()], [Object.create({ permitPostCopy: true })]])(
    'resolveHostConfig refuses %o instead of returning the defaults',
    (host) => {
      expectPolicyError(() => resolveHostConfig(host as never), 'INVALID_HOST_CONFIG');
    },
  );

  it('refuses an unknown planMigration option with the closest one', () => {
    const error = expectPolicyError(
      () => planMigration({ blockMigraton: true } as never),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('did you mean "blockMigration"');
  });

  it('ignores inherited options and metadata: only own keys count', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.flavorExtraSpecs = { [PC_FLAVOR]: 'true' };
    proto.blockMigration = 'yes';
    try {
      expect(planMigration({ instance: {} }).flags).toBe(27);
    } finally {
      delete proto.flavorExtraSpecs;
      delete proto.blockMigration;
    }
  });
});

describe('nothing but MigrationPolicyError escapes', () => {
  const throwing = () =>
    new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap');
        },
        get() {
          throw new Error('trap');
        },
      },
    );
  const revoked = () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  };
  const getter = (key: string) =>
    Object.defineProperty({}, key, {
      enumerable: true,
      get() {
        throw new TypeError('getter');
      },
    });

  it.each<[string, () => unknown]>([
    ['planMigration(null)', () => planMigration(null as never)],
    ['planMigration(42)', () => planMigration(42 as never)],
    ['planMigration with a throwing getter', () => planMigration(getter('host') as never)],
    ['planMigration with a revoked proxy', () => planMigration(revoked() as never)],
    ['planMigration with a throwing proxy', () => planMigration(throwing() as never)],
    [
      'instance metadata with a throwing getter',
      () => planMigration({ instance: getter('flavorExtraSpecs') as never }),
    ],
    [
      'flavor specs with a throwing getter',
      () => resolveInstancePolicy({ flavorExtraSpecs: getter(PC_FLAVOR) }),
    ],
    ['instance metadata as a revoked proxy', () => resolveInstancePolicy(revoked() as never)],
    [
      'flavor specs as a revoked proxy',
      () => resolveInstancePolicy({ flavorExtraSpecs: revoked() as never }),
    ],
    ['flavor specs as a throwing proxy', () => requiredTraits({ flavorExtraSpecs: throwing() as never })],
    ['host with a throwing getter', () => planMigration({ host: getter('permitPostCopy') as never })],
    ['host as a revoked proxy', () => resolveHostConfig(revoked() as never)],
    ['hostTraits(undefined)', () => hostTraits(undefined as never)],
    ['hostTraits(null)', () => hostTraits(null as never)],
    ['hostTraits with a throwing getter', () => hostTraits(getter('libvirtVersion') as never)],
    ['hostTraits as a revoked proxy', () => hostTraits(revoked() as never)],
    ['hostTraits without versions', () => hostTraits({} as never)],
    [
      'hostTraits with an unknown key',
      () => hostTraits({ libvirtVersion: 1, qemuVersion: 1, extra: 1 } as never),
    ],
    ['forceCompleteAction(null)', () => forceCompleteAction(null as never, 'running')],
    [
      'forceCompleteAction with a throwing getter',
      () => forceCompleteAction(getter('postCopy') as never, 'running'),
    ],
    ['forceCompleteAction with a revoked proxy', () => forceCompleteAction(revoked() as never, 'running')],
    [
      'monitorTick with NaN seconds',
      () =>
        monitorTick(
          monitorSettings(planMigration(), 2),
          {},
          { elapsedSeconds: Number.NaN, status: 'running' },
        ),
    ],
    ['monitorTick with null', () => monitorTick(monitorSettings(planMigration(), 2), {}, null as never)],
    ['parseNovaConf(undefined)', () => parseNovaConf(undefined as never)],
  ])('%s', (_name, call) => {
    expect(call).toThrow(MigrationPolicyError);
  });
});

describe("Python's strip(), not JavaScript's trim()", () => {
  it("refuses '\\ufefftrue' (oslo refuses: U+FEFF is not whitespace to Python)", () => {
    expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: { [PC_FLAVOR]: '\ufefftrue' } }),
      'INVALID_BOOLEAN',
    );
  });

  it.each(['\x1ftrue', '\x1c true \x1e', '\x85true', '\u3000true\u2029', '\u00a0true\t\n\v\f\r'])(
    'accepts %j (oslo strips it)',
    (word) => {
      expect(resolveInstancePolicy({ flavorExtraSpecs: { [PC_FLAVOR]: word } })).toEqual({ postCopy: true });
    },
  );

  it("matches Python's whitespace set exactly, code point by code point", () => {
    // python3 -c "print([hex(c) for c in range(0x10000) if chr(c).isspace()])"
    const python = [
      0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002,
      0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
    ];
    const stripped: number[] = [];
    for (let c = 0; c < 0x10000; c++) if (pythonStrip(`${String.fromCharCode(c)}x`) === 'x') stripped.push(c);
    expect(stripped).toEqual(python);
  });

  it('strips both ends and leaves the middle', () => {
    expect(pythonStrip(' \x1fa b\u3000 ')).toBe('a b');
    expect(pythonStrip('ab')).toBe('ab');
    expect(pythonStrip('   ')).toBe('');
  });
});

describe('errors carry and print bounded values', { timeout: 60_000 }, () => {
  const huge = 'x'.repeat(10_000_000);
  const mega = 'x'.repeat(1_000_000);

  it.each<[string, () => unknown]>([
    ['a 10 MB boolean', () => resolveInstancePolicy({ flavorExtraSpecs: { [PC_FLAVOR]: huge } })],
    [
      'a 10 MB misspelt key',
      () => resolveInstancePolicy({ flavorExtraSpecs: { [`compute:live_migration_postcopy${huge}`]: huge } }),
    ],
    ['a 10 MB status', () => assertAbortAllowed(huge as MigrationStatus)],
    // 1 MB for nova.conf: every character of a line is looked at, and a mutation run instruments each look.
    ['a 1 MB nova.conf value', () => parseNovaConf(`[libvirt]\nlive_migration_downtime = ${mega}\n`)],
    ['a 1 MB nova.conf line', () => parseNovaConf(`[libvirt]\n${mega}\n`)],
    ['a 10 MB version', () => planMigration({ qemuVersion: huge })],
  ])('%s', (_name, call) => {
    let caught: unknown;
    try {
      call();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MigrationPolicyError);
    const error = caught as MigrationPolicyError;
    expect(error.message.length).toBeLessThan(2_000);
    expect(JSON.stringify(error).length).toBeLessThan(3_000);
    if (typeof error.value === 'string') expect(error.value.length).toBeLessThan(MAX_ERROR_VALUE_CHARS + 30);
  });
});

describe('planMigration without versions', () => {
  it("is Nova's plan: nothing held against unknown versions, and the reasons say they were not checked", () => {
    const plan = planMigration({ host: { permitPostCopy: true, parallelConnections: 2 } });
    expect(plan.postCopy).toBe(true);
    expect(plan.reasons.at(-1)).toBe(VERSIONS_UNCHECKED);
  });

  it('says nothing about versions when both are given', () => {
    const plan = planMigration({
      host: { permitPostCopy: true },
      libvirtVersion: '9.0.0',
      qemuVersion: '7.2.0',
    });
    expect(plan.reasons).not.toContain(VERSIONS_UNCHECKED);
  });

  it('says it when only one is given', () => {
    const plan = planMigration({ host: { permitPostCopy: true }, libvirtVersion: '9.0.0' });
    expect(plan.reasons).toContain(VERSIONS_UNCHECKED);
  });

  it('says nothing when no version-dependent feature is on', () => {
    expect(planMigration().reasons).not.toContain(VERSIONS_UNCHECKED);
  });
});
