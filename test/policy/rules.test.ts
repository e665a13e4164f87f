/**
 * Rules pinned one by one: exact minimum versions, two-digit version parts, the "flavor and image" source,
 * downtime arithmetic at zero, quote()'s escaping and its safety property, isActiveStatus, the constant
 * wording, and that versions which block nothing change no decision.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hostTraits,
  isActiveStatus,
  MIGRATION_STATUSES,
  planMigration,
  resolveInstancePolicy,
} from '../../src/index.js';
import {
  completionTimeoutSeconds,
  downtimeAt,
  downtimeSchedule,
  downtimeSteps,
  encodeVersion,
  formatVersion,
  MAX_LISTED_STEPS,
  migrationDataGb,
  monitorSettings,
  monitorTick,
  VERSIONS_UNCHECKED,
} from '../../src/policy/index.js';
import { quote } from '../../src/policy/quote.js';
import { AC_FLAVOR, AC_IMAGE, expectPolicyError, fcRuns, PC_FLAVOR, PC_IMAGE } from './helpers.js';

describe('minimum versions, exactly', () => {
  it.each([
    ['1.2.3', '1.6.0', true],
    ['1.2.2', '1.6.0', false],
    ['1.2.3', '1.5.999', false],
    ['1.3.0', '1.6.1', true],
  ])('auto-converge trait on libvirt %s / QEMU %s: %s', (libvirtVersion, qemuVersion, expected) => {
    expect(hostTraits({ libvirtVersion, qemuVersion }).COMPUTE_MIGRATE_AUTO_CONVERGE).toBe(expected);
  });

  it.each([
    ['1.3.3', '2.5.0', true],
    ['1.3.2', '2.5.0', false],
    ['1.3.3', '2.4.999', false],
  ])('post-copy trait on libvirt %s / QEMU %s: %s', (libvirtVersion, qemuVersion, expected) => {
    expect(hostTraits({ libvirtVersion, qemuVersion }).COMPUTE_MIGRATE_POST_COPY).toBe(expected);
  });

  it.each([
    ['10.0.999', false],
    ['10.1.0', true],
  ])('post-copy with parallel connections on QEMU %s: %s', (qemuVersion, expected) => {
    const config = { parallelConnections: 2 };
    expect(hostTraits({ libvirtVersion: '9.0.0', qemuVersion, config }).COMPUTE_MIGRATE_POST_COPY).toBe(
      expected,
    );
  });

  it('does not report post-copy on a tunnelled host', () => {
    const traits = hostTraits({ libvirtVersion: '9.0.0', qemuVersion: '7.2.0', config: { tunnelled: true } });
    expect(traits.COMPUTE_MIGRATE_POST_COPY).toBe(false);
    expect(traits.COMPUTE_MIGRATE_AUTO_CONVERGE).toBe(true);
  });

  it.each([
    [{ libvirtVersion: '1.2.2' }, 'libvirt 1.2.2 is older than 1.2.3'],
    [{ qemuVersion: '1.5.9' }, 'QEMU 1.5.9 is older than 1.6.0'],
  ])('refuses an instance asking for auto-converge below the minimum: %o', (versions, because) => {
    const error = expectPolicyError(
      () => planMigration({ instance: { flavorExtraSpecs: { [AC_FLAVOR]: 'true' } }, ...versions }),
      'AUTO_CONVERGE_UNAVAILABLE',
    );
    expect(error.message).toContain(because);
    // The source is where the guest runs: the advice is about this host, not a trait.
    expect(error.message).toContain('the migration starts from the host the guest runs on, so upgrade');
    expect(error.message).not.toContain('COMPUTE_MIGRATE_AUTO_CONVERGE');
    expect(error.key).toBe(AC_FLAVOR);
    expect(error.value).toBe(true);
  });

  it('accepts auto-converge asked at exactly the minimum', () => {
    const plan = planMigration({
      instance: { flavorExtraSpecs: { [AC_FLAVOR]: 'true' } },
      libvirtVersion: '1.2.3',
      qemuVersion: '1.6.0',
    });
    expect(plan.autoConverge).toBe(true);
    expect(plan.reasons).toEqual([
      `post-copy off: flavor extra spec "${AC_FLAVOR}" = true asks for auto-converge, which means no post-copy (force-complete pauses instead)`,
      `auto-converge on: flavor extra spec "${AC_FLAVOR}" = true`,
    ]);
  });

  it("drops the host's auto-converge below the minimum with the reason", () => {
    const plan = planMigration({
      host: { permitAutoConverge: true },
      libvirtVersion: '9.0.0',
      qemuVersion: '1.5.0',
    });
    expect(plan.autoConverge).toBe(false);
    expect(plan.reasons[1]).toBe(
      'auto-converge dropped: [libvirt] live_migration_permit_auto_converge = True, but QEMU 1.5.0 is older than 1.6.0',
    );
  });

  it.each([
    ['libvirtVersion', '1.3.2', 'libvirt 1.3.2 is older than 1.3.3'],
    ['qemuVersion', '2.4.9', 'QEMU 2.4.9 is older than 2.5.0'],
  ])("drops the host's post-copy when %s is %s", (key, version, because) => {
    const plan = planMigration({ host: { permitPostCopy: true }, [key]: version });
    expect(plan.postCopy).toBe(false);
    expect(plan.reasons[0]).toBe(
      `post-copy dropped: [libvirt] live_migration_permit_post_copy = True, but ${because}`,
    );
  });
});

describe('versions', () => {
  it.each([
    ['8.10.0', 8_010_000],
    ['10.1.0', 10_001_000],
    ['11.3.0', 11_003_000],
    ['7.2', 7_002_000],
    [' 9.0.0 ', 9_000_000],
    ['999.999.999', 999_999_999],
    [0, 0],
    [9_000_000, 9_000_000],
  ])('encodes %j as %d', (text, encoded) => {
    expect(encodeVersion(text)).toBe(encoded);
  });

  it('orders 8.10.0 after 8.9.0', () => {
    expect(encodeVersion('8.10.0')).toBeGreaterThan(encodeVersion('8.9.0'));
  });

  it('formats two-digit parts', () => {
    expect(formatVersion(8_010_005)).toBe('8.10.5');
    expect(formatVersion(10_001_000)).toBe('10.1.0');
  });

  it.each(['1000.0.0', '1.2.3.', 'x1.2', '1..2', '1.2.3x'])('refuses %j', (text) => {
    const error = expectPolicyError(() => encodeVersion(text, 'qemuVersion'), 'INVALID_ARGUMENT');
    expect(error.key).toBe('qemuVersion');
    expect(error.message).toContain('"major.minor[.micro]"');
  });
});

describe('the "flavor and image" source', () => {
  it('says the image agrees, and names the flavor key', () => {
    const plan = planMigration({
      instance: { flavorExtraSpecs: { [PC_FLAVOR]: 'false' }, imageProperties: { [PC_IMAGE]: 'no' } },
      host: { permitPostCopy: true },
    });
    expect(plan.decisions.postCopy.source).toBe('flavor and image');
    expect(plan.reasons[0]).toBe(
      `post-copy off: flavor extra spec "${PC_FLAVOR}" (and the image agrees) = false overrides [libvirt] live_migration_permit_post_copy = True`,
    );
  });

  it('reads image-only requests as the image', () => {
    const plan = planMigration({ instance: { imageProperties: { [AC_IMAGE]: 'true' } } });
    expect(plan.decisions.autoConverge.source).toBe('image');
    expect(plan.reasons[1]).toBe(`auto-converge on: image property "${AC_IMAGE}" = true`);
  });

  it('words every host-decided reason', () => {
    expect(planMigration().reasons).toEqual([
      "post-copy off: [libvirt] live_migration_permit_post_copy = False (Nova's default: not set)",
      "auto-converge off: [libvirt] live_migration_permit_auto_converge = False (Nova's default: not set)",
    ]);
    expect(
      planMigration({ host: { permitPostCopy: true, permitAutoConverge: true } }).reasons.slice(0, 2),
    ).toEqual([
      'post-copy on: [libvirt] live_migration_permit_post_copy = True and the instance has no opinion',
      'auto-converge off: [libvirt] live_migration_permit_auto_converge = True, but post-copy was chosen and wins over auto-converge',
    ]);
    expect(planMigration({ instance: { flavorExtraSpecs: { [AC_FLAVOR]: 'false' } } }).reasons[1]).toBe(
      `auto-converge off: flavor extra spec "${AC_FLAVOR}" = false overrides [libvirt] live_migration_permit_auto_converge = False (Nova's default: not set)`,
    );
    expect(planMigration({ instance: { flavorExtraSpecs: { [PC_FLAVOR]: 'true' } } }).reasons[0]).toBe(
      `post-copy on: flavor extra spec "${PC_FLAVOR}" = true`,
    );
  });

  it('refuses post-copy asked on a tunnelled host with the fix', () => {
    const error = expectPolicyError(
      () =>
        planMigration({ instance: { flavorExtraSpecs: { [PC_FLAVOR]: 'true' } }, host: { tunnelled: true } }),
      'POST_COPY_UNAVAILABLE',
    );
    expect(error.message).toContain(
      "the migration starts from the host the guest runs on, so set live_migration_tunnelled = False in this host's nova.conf",
    );
    expect(error.message).not.toContain('migrate this instance from a host');
    expect(error.value).toBe(true);
  });

  it("returns a plan of the caller's own: changing it changes no later plan", () => {
    const plan = planMigration({ host: { permitPostCopy: true } });
    expect(plan.flagNames).toEqual(['LIVE', 'PEER2PEER', 'PERSIST_DEST', 'UNDEFINE_SOURCE', 'POSTCOPY']);
    plan.reasons.length = 0;
    plan.flagNames.push('PAUSED');
    plan.decisions.postCopy.enabled = false;
    const next = planMigration({ host: { permitPostCopy: true } });
    expect(next.reasons[0]).toBe(
      'post-copy on: [libvirt] live_migration_permit_post_copy = True and the instance has no opinion',
    );
    expect(next.flagNames).toEqual(['LIVE', 'PEER2PEER', 'PERSIST_DEST', 'UNDEFINE_SOURCE', 'POSTCOPY']);
    expect(next.decisions.postCopy.enabled).toBe(true);
  });

  it('plans block migration, cleared block migration and a pause as distinct cases', () => {
    const host = { permitPostCopy: true };
    expect(planMigration({ host, blockMigration: true }).flags).toBe(27 | 128 | 32768);
    expect(planMigration({ host, blockMigration: true, migrateDisks: [] }).flags).toBe(27 | 32768);
    expect(planMigration({ host, blockMigration: true, migrateDisks: ['vda'] }).flags).toBe(27 | 128 | 32768);
    expect(planMigration({ host, blockMigration: false, migrateDisks: [] }).flags).toBe(27 | 32768);
    expect(planMigration({ host, paused: true }).flags).toBe(27);
    expect(planMigration({ host, paused: false }).flags).toBe(27 | 32768);
  });
});

describe('downtime arithmetic', () => {
  it('has every step at 0 s for a zero size', () => {
    expect(downtimeSteps(0).every(([after]) => after === 0)).toBe(true);
    expect(downtimeAt(downtimeSchedule(0), 0)).toBeUndefined();
    expect(downtimeAt(downtimeSchedule(0), 0.001)).toBe(500);
    expect(completionTimeoutSeconds(0)).toBe(0);
  });

  it.each([-0.001, -1, Number.NaN, Number.POSITIVE_INFINITY, '2' as unknown as number])(
    'refuses the size %s',
    (size) => {
      const error = expectPolicyError(() => downtimeSchedule(size), 'INVALID_ARGUMENT');
      expect(error.key).toBe('dataGb');
      expectPolicyError(() => completionTimeoutSeconds(size), 'INVALID_ARGUMENT');
    },
  );

  it('counts a zero-byte disk and zero RAM at the 2 GiB floor', () => {
    expect(migrationDataGb({ memoryMiB: 0 })).toBe(2);
    expect(migrationDataGb({ memoryMiB: 0, diskBytes: [0] })).toBe(4);
    expect(migrationDataGb({ memoryMiB: 2049 })).toBeCloseTo(2049 / 1024);
    expect(migrationDataGb({ memoryMiB: 1024, diskBytes: [3 * 1024 ** 3] })).toBe(5);
    const error = expectPolicyError(
      () => migrationDataGb({ memoryMiB: 1, diskBytes: [-1] }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('diskBytes');
    expect(error.message).toContain('finite number ≥ 0');
  });

  it('computes a schedule of 2³¹−1 steps in O(1): no list, no heap exhaustion', () => {
    const host = { downtimeSteps: 2 ** 31 - 1 };
    const schedule = downtimeSchedule(8, host);
    expect(schedule.steps).toBe(2 ** 31 - 1);
    expect(downtimeAt(schedule, 1)).toBe(0); // trunc(500 / (2³¹−1)) ms
    expect(downtimeAt(schedule, 600 * (2 ** 31 - 1) + 1)).toBe(500);
    const settings = monitorSettings(planMigration({ host }), 8);
    expect(monitorTick(settings, {}, { elapsedSeconds: 2e12, status: 'running' }).actions[0]).toEqual({
      type: 'set-downtime',
      downtimeMs: 500,
    });
  });

  it('refuses to list more than MAX_LISTED_STEPS steps, pointing to the schedule', () => {
    expect(downtimeSteps(1, { downtimeSteps: MAX_LISTED_STEPS })).toHaveLength(MAX_LISTED_STEPS + 1);
    const error = expectPolicyError(
      () => downtimeSteps(1, { downtimeSteps: MAX_LISTED_STEPS + 1 }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('downtimeSchedule()');
  });

  it('reads the same downtime from the schedule as from the list, at any time', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 64, noNaN: true }),
        fc.integer({ min: 3, max: 40 }),
        fc.integer({ min: 3, max: 200 }),
        fc.integer({ min: 100, max: 5000 }),
        fc.oneof(fc.double({ min: -1, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 100_000 })),
        (dataGb, downtimeSteps_, downtimeDelay, downtime, elapsed) => {
          const host = { downtimeSteps: downtimeSteps_, downtimeDelay, downtime };
          expect(downtimeAt(downtimeSchedule(dataGb, host), elapsed)).toBe(
            downtimeAt(downtimeSteps(dataGb, host), elapsed),
          );
        },
      ),
      { numRuns: fcRuns(300) },
    );
  });
});

describe('isActiveStatus', () => {
  it.each(
    MIGRATION_STATUSES.map((status) => [
      status,
      ['queued', 'preparing', 'running', 'running (post-copy)', 'recovering (post-copy)'].includes(status),
    ]),
  )('%s: %s', (status, active) => {
    expect(isActiveStatus(status)).toBe(active);
  });
});

describe('quote()', () => {
  it.each<[unknown, string]>([
    ['abc', '"abc"'],
    ['a\nb\tc\x00\x1f\x7f', '"a\\x0ab\\x09c\\x00\\x1f\\x7f"'],
    ['x'.repeat(64), `"${'x'.repeat(64)}"`],
    ['x'.repeat(65), `"${'x'.repeat(64)}…" (65 characters)`],
    [null, 'null'],
    [undefined, 'undefined'],
    [[1], 'an array'],
    [{}, 'an object'],
    [() => 1, 'a function'],
    [Symbol('s'), 'a symbol'],
    [42, '42'],
    [true, 'true'],
    [10n, '10'],
  ])('renders %o as %s', (value, shown) => {
    expect(quote(value)).toBe(shown);
  });

  it('renders a revoked proxy without throwing', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(quote(proxy)).toBe('an object');
  });

  it('never prints a control character or more than 64 characters of the value, whatever the string', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 100 })
          .map((codes) => String.fromCharCode(...codes)),
        (text) => {
          const shown = quote(text);
          // biome-ignore lint/suspicious/noControlCharactersInRegex: the property is about control characters
          if (/[\x00-\x1f\x7f]/.test(shown) || shown.length > 2 + 64 * 4 + 30 || !shown.startsWith('"')) {
            throw new Error(`unsafe rendering ${JSON.stringify(shown)} of ${JSON.stringify(text)}`);
          }
        },
      ),
      { numRuns: fcRuns(300) },
    );
  });
});

describe('wording of the constant reasons and hints', () => {
  it('VERSIONS_UNCHECKED says what was not checked and how to check it', () => {
    expect(VERSIONS_UNCHECKED).toContain('versions not checked');
    expect(VERSIONS_UNCHECKED).toContain('libvirt 1.2.3, QEMU 1.6.0');
    expect(VERSIONS_UNCHECKED).toContain('QEMU 10.1.0');
    expect(VERSIONS_UNCHECKED).toContain('libvirt');
  });

  it.each([
    ['extra_specs', 'metadataFromFlavor'],
    ['properties', 'metadataFromFlavor'],
    ['ram', 'metadataFromFlavor'],
    ['vcpus', 'metadataFromFlavor'],
    ['disk', 'metadataFromFlavor'],
    ['flavor', 'metadataFromFlavor'],
    ['OS-FLV-EXT-DATA:ephemeral', 'metadataFromFlavor'],
    ['disk_format', 'metadataFromImage'],
    ['container_format', 'metadataFromImage'],
    ['min_ram', 'metadataFromImage'],
    ['min_disk', 'metadataFromImage'],
    ['checksum', 'metadataFromImage'],
    ['visibility', 'metadataFromImage'],
    ['image', 'metadataFromImage'],
  ])('a top-level %j gives the shape away: the message names %s', (key, helper) => {
    const error = expectPolicyError(() => resolveInstancePolicy({ [key]: 1 } as never), 'INVALID_ARGUMENT');
    expect(error.message).toContain(helper);
    expect(error.key).toBe(key);
  });

  it.each(['extra_specs', 'properties', 'flavor', 'image', 'flavorExtraSpecs', 'imageProperties'])(
    'a nested %j object inside a bag is refused as a whole shape',
    (key) => {
      const error = expectPolicyError(
        () => resolveInstancePolicy({ imageProperties: { [key]: {} } }),
        'INVALID_ARGUMENT',
      );
      expect(error.key).toBe(`imageProperties.${key}`);
      expect(error.message).toContain('metadataFromImage(image)');
    },
  );

  it('a nested shape key with a string value is just a property', () => {
    expect(resolveInstancePolicy({ imageProperties: { properties: 'x', image: 'y' } })).toEqual({});
  });
});

describe('versions that block nothing change no decision', () => {
  it('for any combination of request, placement, block migration and pause', () => {
    const host = { permitPostCopy: true, permitAutoConverge: true };
    const words = [undefined, 'true', 'false'];
    const seen = new Map<string, number>();
    for (const ac of words)
      for (const pc of words)
        for (const where of ['flavor', 'image', 'both'] as const)
          for (const block of [undefined, true, 'empty'] as const)
            for (const paused of [false, true]) {
              if (ac === 'true' && pc === 'true') continue;
              const specs: Record<string, string> = {};
              const props: Record<string, string> = {};
              if (ac !== undefined) {
                if (where !== 'image') specs[AC_FLAVOR] = ac;
                if (where !== 'flavor') props[AC_IMAGE] = ac;
              }
              if (pc !== undefined) {
                if (where !== 'image') specs[PC_FLAVOR] = pc;
                if (where !== 'flavor') props[PC_IMAGE] = pc;
              }
              const input = {
                instance: { flavorExtraSpecs: specs, imageProperties: props },
                host,
                paused,
                ...(block === undefined ? {} : { blockMigration: true }),
                ...(block === 'empty' ? { migrateDisks: [] } : {}),
              };
              const unchecked = planMigration(input);
              // The same decision with versions that block nothing, compared on all but the versions note.
              const checked = planMigration({ ...input, libvirtVersion: '9.0.0', qemuVersion: '9.0.0' });
              expect(unchecked.flags).toBe(checked.flags);
              expect(unchecked.reasons.slice(0, checked.reasons.length)).toEqual(checked.reasons);
              expect(unchecked.decisions).toEqual(checked.decisions);
              seen.set(JSON.stringify(input), unchecked.flags);
            }
    // 8 requests × 3 placements × 3 block states × 2, less the placements of "no request" that coincide.
    expect(seen.size).toBe(8 * 3 * 3 * 2 - 2 * 3 * 2);
  });
});
