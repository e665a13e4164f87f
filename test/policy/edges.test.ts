/**
 * Rules at the edges of the policy's inputs that the other suites left open: exact boundaries, the keys and
 * values errors carry, the fix each message names, and inputs that are valid although unusual.
 */
import { describe, expect, it } from 'vitest';
import {
  assertAbortAllowed,
  forceCompleteAction,
  hostTraits,
  MigrateFlags,
  metadataFromFlavor,
  metadataFromImage,
  parseNovaConf,
  planMigration,
  resolveInstancePolicy,
} from '../../src/index.js';
import {
  type DowntimeSchedule,
  type DowntimeStep,
  downtimeAt,
  encodeVersion,
  guestSplit,
  migrationDataGb,
  parsePropertiesString,
  resolveRecovery,
  resumeBlocker,
  VERSIONS_UNCHECKED,
} from '../../src/policy/index.js';
import { AC_FLAVOR, AC_IMAGE, expectPolicyError, PC_FLAVOR, PC_IMAGE } from './helpers.js';

const throwingGetter = (key: string, err: unknown = new Error('boom')) =>
  Object.defineProperty({}, key, {
    enumerable: true,
    get() {
      throw err;
    },
  });

describe('downtimeAt on a schedule agrees with the list of its steps', () => {
  // The schedule's documented definition: step i starts after trunc(delaySeconds × i) s and allows
  // trunc(baseMs + offsetMs × i) ms; the downtime at t is that of the last step starting strictly before t.
  const listOf = (schedule: DowntimeSchedule): DowntimeStep[] =>
    Array.from({ length: schedule.steps + 1 }, (_, i) => [
      Math.trunc(schedule.delaySeconds * i),
      Math.trunc(schedule.baseMs + schedule.offsetMs * i),
    ]);
  const schedule = (delaySeconds: number, steps: number): DowntimeSchedule => ({
    delaySeconds,
    baseMs: 50,
    offsetMs: 10,
    steps,
  });

  it.each([
    // trunc(8.79 × 1) = 8 < 8.79: step 1 has started, although 8.79 / 8.79 = 1 puts the estimate at step 0.
    [8.79, 35, 8.79, 60],
    // 7 < 7.5 = 2.5 × 3: step 3 (at trunc(7.5) = 7 s) has started.
    [2.5, 10, 7.5, 80],
    // 153 / 10.2 rounds to just above 15, but step 15 starts at trunc(10.2 × 15) = 153 s: not yet.
    [10.2, 36, 153, 190],
    // 69 / 2.3 rounds above 30, and step 30 starts at exactly 69 s: not strictly before.
    [2.3, 41, 69, 340],
    [2.8, 46, 42, 190],
  ])('a delay of %d s over %d steps at %d s allows %d ms', (delay, steps, elapsed, expected) => {
    const s = schedule(delay, steps);
    expect(downtimeAt(s, elapsed)).toBe(expected);
    expect(downtimeAt(listOf(s), elapsed)).toBe(expected);
  });

  it('agrees at and around every step time, for fractional delays', () => {
    for (let hundredths = 5; hundredths <= 2000; hundredths += 7) {
      const s = schedule(hundredths / 100, 40);
      const list = listOf(s);
      for (let i = 0; i <= s.steps; i++) {
        for (const elapsed of [s.delaySeconds * i, Math.trunc(s.delaySeconds * i) + 0.5]) {
          if (downtimeAt(s, elapsed) !== downtimeAt(list, elapsed)) {
            expect([hundredths / 100, elapsed, downtimeAt(s, elapsed)]).toEqual([
              hundredths / 100,
              elapsed,
              downtimeAt(list, elapsed),
            ]);
          }
        }
      }
    }
  });

  it('names the size that is wrong', () => {
    const error = expectPolicyError(() => migrationDataGb({ memoryMiB: -1 }), 'INVALID_ARGUMENT');
    expect(error.key).toBe('memoryMiB');
    expect(error.message).toBe('memoryMiB is -1: use a finite number ≥ 0');
  });
});

describe('what errors carry', () => {
  it('INVALID_BOOLEAN lists every accepted word and the way back to the host default', () => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: { [PC_FLAVOR]: 'maybe' } }),
      'INVALID_BOOLEAN',
    );
    expect(error.message).toBe(
      `flavor extra spec "${PC_FLAVOR}" is "maybe", which is not a boolean: set it to "true" or "false" ` +
        '(also accepted: 1/0, yes/no, on/off, t/f, y/n), or remove it to use the host default',
    );
  });

  it('FLAVOR_IMAGE_CONFLICT names the flavor key and its value, and how to settle it', () => {
    const error = expectPolicyError(
      () =>
        resolveInstancePolicy({
          flavorExtraSpecs: { [AC_FLAVOR]: 'no' },
          imageProperties: { [AC_IMAGE]: 'yes' },
        }),
      'FLAVOR_IMAGE_CONFLICT',
    );
    expect(error.key).toBe(AC_FLAVOR);
    expect(error.value).toBe(false);
    expect(error.message).toBe(
      `flavor extra spec "${AC_FLAVOR}" is false but image property "${AC_IMAGE}" is true: make them agree ` +
        'or remove one of them',
    );
  });

  it('CONFLICTING_FEATURES names the post-copy key with the value true', () => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { [AC_IMAGE]: 'true', [PC_IMAGE]: '1' } }),
      'CONFLICTING_FEATURES',
    );
    expect(error.key).toBe(PC_IMAGE);
    expect(error.value).toBe(true);
    expect(error.message).toBe(
      `"${AC_IMAGE}" and "${PC_IMAGE}" are both true: an instance uses auto-converge or post-copy, not both; ` +
        'set one of them to "false" or remove it',
    );
  });

  it('a nested image names the key inside the bag and says "properties", not "extra specs"', () => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { image: { [PC_IMAGE]: 'true' } } }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('imageProperties.image');
    expect(error.value).toBe('[object]');
    expect(error.message).toContain('rather than its properties; pass metadataFromImage(image)');
  });

  it('a nested-shape key with a null value is plain data', () => {
    expect(resolveInstancePolicy({ flavorExtraSpecs: { properties: null, [PC_FLAVOR]: 'off' } })).toEqual({
      postCopy: false,
    });
  });

  it('a bag that is not a plain object is named, with no Map hint unless it is one', () => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: [] as never }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toBe(
      'imageProperties is an array: pass a plain object mapping keys to string values (e.g. ' +
        'Object.fromEntries(map)), or leave it out',
    );
  });

  it('a revoked proxy as a bag is refused as not plain, not read', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const error = expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: proxy as never }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('flavorExtraSpecs');
    expect(error.message).toBe(
      'flavorExtraSpecs is an object: pass a plain object mapping keys to string values (e.g. ' +
        'Object.fromEntries(map)), or leave it out',
    );
  });

  it.each<[string, () => unknown, string, string]>([
    [
      'instance metadata',
      () => resolveInstancePolicy(throwingGetter('flavorExtraSpecs') as never),
      'instance',
      'the instance metadata',
    ],
    ['a flavor', () => metadataFromFlavor(throwingGetter('extra_specs') as never), 'flavor', 'the flavor'],
    ['an image', () => metadataFromImage(throwingGetter('properties') as never), 'image', 'the image'],
    [
      'host capabilities',
      () => hostTraits(throwingGetter('libvirtVersion') as never),
      'capabilities',
      'the host capabilities',
    ],
  ])('a throwing getter in %s is named', (_name, fn, key, what) => {
    const error = expectPolicyError(fn, 'INVALID_ARGUMENT');
    expect(error.key).toBe(key);
    expect(error.message).toBe(
      `reading ${what} threw (Error: boom): pass plain data — no getters that throw, no revoked proxies`,
    );
  });

  it('keeps a thrown description of exactly 120 characters whole, and cuts a longer one', () => {
    // "Error: " is 7 characters.
    const exact = expectPolicyError(
      () => resolveInstancePolicy(throwingGetter('imageProperties', new Error('e'.repeat(113))) as never),
      'INVALID_ARGUMENT',
    );
    expect(exact.message).toContain(`(Error: ${'e'.repeat(113)}): pass plain data`);
    const longer = expectPolicyError(
      () => resolveInstancePolicy(throwingGetter('imageProperties', new Error('e'.repeat(114))) as never),
      'INVALID_ARGUMENT',
    );
    expect(longer.message).toContain(`(Error: ${'e'.repeat(113)}…): pass plain data`);
  });

  it('describes a thrown error it cannot read as "an unreadable value"', () => {
    const unreadable = Object.defineProperty(new Error('x'), 'message', {
      get() {
        throw new Error('again');
      },
    });
    const error = expectPolicyError(
      () => resolveInstancePolicy(throwingGetter('flavorExtraSpecs', unreadable) as never),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('reading the instance metadata threw (an unreadable value)');
  });

  it('keeps an unknown key of exactly 200 characters whole in the error, and cuts a longer one', () => {
    const exact = 'k'.repeat(200);
    expect(expectPolicyError(() => planMigration({ [exact]: 1 } as never), 'INVALID_ARGUMENT').key).toBe(
      exact,
    );
    const longer = 'k'.repeat(201);
    expect(expectPolicyError(() => planMigration({ [longer]: 1 } as never), 'INVALID_ARGUMENT').key).toBe(
      `${exact}…`,
    );
  });

  it('names the version key that is wrong', () => {
    expect(expectPolicyError(() => encodeVersion('9'), 'INVALID_ARGUMENT').key).toBe('version');
    expect(expectPolicyError(() => planMigration({ libvirtVersion: 'nine' }), 'INVALID_ARGUMENT').key).toBe(
      'libvirtVersion',
    );
    expect(
      expectPolicyError(() => hostTraits({ libvirtVersion: '9.0.0', qemuVersion: '8' }), 'INVALID_ARGUMENT')
        .key,
    ).toBe('qemuVersion');
  });

  it('names the flavor and the image properties that are not a shape it reads', () => {
    expect(expectPolicyError(() => metadataFromFlavor(42 as never), 'INVALID_ARGUMENT').key).toBe('flavor');
    expect(
      expectPolicyError(() => metadataFromImage({ properties: 42 } as never), 'INVALID_ARGUMENT').key,
    ).toBe('image.properties');
  });

  it('refuses a flavor-style key of ours at the top level of an image with properties', () => {
    const error = expectPolicyError(
      () => metadataFromImage({ properties: {}, [PC_FLAVOR]: 'true' } as never),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe(`image.${PC_FLAVOR}`);
  });
});

describe('suggestions', () => {
  it('an unknown planMigration option gets the closest option, even when none is close', () => {
    // Levenshtein distances from "x": host 4, paused 6, instance 8, qemuVersion 11, migrateDisks 12, …
    const error = expectPolicyError(() => planMigration({ x: 1 } as never), 'INVALID_ARGUMENT');
    expect(error.message).toContain('did you mean "host"?');
  });

  it('an unknown top-level key gets the closest of the two bags', () => {
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperty: {} } as never),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('did you mean "imageProperties"?');
  });

  it('one of our keys at the top level is shown inside the bag of its own spelling', () => {
    const image = expectPolicyError(
      () => resolveInstancePolicy({ [PC_IMAGE]: 'true' } as never),
      'INVALID_ARGUMENT',
    );
    expect(image.message).toContain(`(e.g. { imageProperties: { "${PC_IMAGE}": "true" } })`);
    const flavor = expectPolicyError(
      () => resolveInstancePolicy({ [AC_FLAVOR]: 'true' } as never),
      'INVALID_ARGUMENT',
    );
    expect(flavor.message).toContain(`(e.g. { flavorExtraSpecs: { "${AC_FLAVOR}": "true" } })`);
  });

  it('a key equally close to the flavor and the image spelling is taken for the namespace it is in', () => {
    // "compute.live…" is one substitution from both "compute:live…" and "compute_live…".
    const key = 'compute.live_migration_post_copy';
    const inFlavor = expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: { [key]: 'true' } }),
      'INVALID_ARGUMENT',
    );
    expect(inFlavor.message).toContain(`did you mean "${PC_FLAVOR}"?`);
    expect(inFlavor.message).not.toContain('close to the image property');
    const inImage = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { [key]: 'true' } }),
      'INVALID_ARGUMENT',
    );
    expect(inImage.message).toContain(`did you mean "${PC_IMAGE}"?`);
    expect(inImage.message).not.toContain('close to the flavor extra spec');
  });

  it.each([
    // Letters a–z count, and every other character is ignored when a key is compared with ours.
    'hw:autoconv',
    'hw:post-copy',
    'hw:post~copy',
    'hw:post\u00adcopy',
  ])('refuses %j, which is one of our stems once punctuation is ignored', (key) => {
    expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: { [key]: 'true' } }),
      'INVALID_ARGUMENT',
    );
  });

  it.each([
    // Digits and letters are part of the key: one inside a stem makes it another word.
    'hw:post2copy',
    'hw:post0copy',
    'hw:post9copy',
    'hw:postzcopy',
  ])('leaves %j alone: a letter or digit inside the stem makes another word', (key) => {
    expect(resolveInstancePolicy({ flavorExtraSpecs: { [key]: 'true' } })).toEqual({});
  });
});

describe('planMigration', () => {
  it('takes migrateDisks: undefined as left out', () => {
    const plan = planMigration({ blockMigration: true, migrateDisks: undefined });
    expect(plan.flags & MigrateFlags.NON_SHARED_INC).toBe(MigrateFlags.NON_SHARED_INC);
  });

  it('says the versions were not checked when only the libvirt version is missing', () => {
    const plan = planMigration({ host: { permitAutoConverge: true }, qemuVersion: '9.0.0' });
    expect(plan.autoConverge).toBe(true);
    expect(plan.reasons.at(-1)).toBe(VERSIONS_UNCHECKED);
  });

  it('tells apart requests that differ only in post-copy, for the same auto-converge', () => {
    const host = { permitPostCopy: true, permitAutoConverge: true };
    const acOnly = planMigration({ instance: { flavorExtraSpecs: { [AC_FLAVOR]: 'true' } }, host });
    const acAndPc = planMigration({
      instance: { flavorExtraSpecs: { [AC_FLAVOR]: 'true', [PC_FLAVOR]: 'false' } },
      host,
    });
    expect(acOnly.decisions.postCopy.reason).toContain('asks for auto-converge');
    expect(acAndPc.decisions.postCopy.reason).toBe(
      `post-copy off: flavor extra spec "${PC_FLAVOR}" = false overrides [libvirt] live_migration_permit_post_copy = True`,
    );
    expect(resolveInstancePolicy({ flavorExtraSpecs: { [AC_FLAVOR]: 'true' } })).toEqual({
      autoConverge: true,
    });
    expect(
      resolveInstancePolicy({ flavorExtraSpecs: { [AC_FLAVOR]: 'true', [PC_FLAVOR]: 'false' } }),
    ).toEqual({
      autoConverge: true,
      postCopy: false,
    });
  });

  it('gives the same plan for the same inputs, also after plans for another host', () => {
    const hostA = parseNovaConf('[libvirt]\nlive_migration_permit_post_copy = True\n');
    const hostB = parseNovaConf('[libvirt]\nlive_migration_permit_auto_converge = True\n');
    const instance = { imageProperties: { [PC_IMAGE]: 'false' } };
    const first = planMigration({ instance, host: hostA });
    expect(planMigration({ instance, host: hostA })).toEqual(first);
    const other = planMigration({ instance, host: hostB });
    expect(other).not.toEqual(first);
    expect(other.reasons[1]).toBe(
      'auto-converge on: [libvirt] live_migration_permit_auto_converge = True (nova.conf line 2) and post-copy is not in use',
    );
    const again = planMigration({ instance, host: hostA });
    expect(again).toEqual(first);
    expect(again.host).toBe(hostA);
    expect(again.reasons[0]).toContain('live_migration_permit_post_copy = True (nova.conf line 2)');
  });
});

describe('file and text formats', () => {
  it('shows only the first line, up to 80 characters, of a file that starts with a BOM', () => {
    const cr = expectPolicyError(() => parseNovaConf('\ufeff[libvirt]\rx = 1'), 'INVALID_CONFIG_FILE');
    expect(cr.value).toBe('\ufeff[libvirt]');
    const long = `\ufeff${'#'.repeat(100)}\n`;
    expect(expectPolicyError(() => parseNovaConf(long), 'INVALID_CONFIG_FILE').value).toBe(long.slice(0, 80));
  });

  it('refuses a line that starts with "=" as an empty key, whatever follows', () => {
    const error = expectPolicyError(() => parseNovaConf('[libvirt]\n=x:y\n'), 'INVALID_CONFIG_FILE');
    expect(error.message).toContain('line 2: Key cannot be empty');
  });

  it('reads a blank properties string as no properties', () => {
    expect(parsePropertiesString('  ', 'properties')).toEqual({});
  });

  it('keeps "\', " inside a value when what follows is not the next key=\'', () => {
    expect(parsePropertiesString("a='x', y', b='2'", 'properties')).toEqual({ a: "x', y", b: '2' });
  });
});

describe('downtimeAt is O(1) on a schedule, whatever its number of steps', () => {
  it('answers at once for 2³¹−1 steps a nanosecond apart', () => {
    // Step i starts after trunc(1e-9 × i) s: the last step before 1 s is 999,999,999, before 2 s 1,999,999,999.
    const schedule: DowntimeSchedule = { delaySeconds: 1e-9, baseMs: 0, offsetMs: 0, steps: 2 ** 31 - 1 };
    const started = performance.now();
    expect(downtimeAt({ ...schedule, offsetMs: 1e-6 }, 1)).toBe(999);
    expect(downtimeAt({ ...schedule, offsetMs: 1e-6 }, 2)).toBe(1999);
    // A walk over the steps would take seconds; the formula takes microseconds.
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('more of what errors carry', () => {
  it('names which libvirt version of resumeBlocker is wrong', () => {
    expect(
      expectPolicyError(
        () => resumeBlocker({ sourceLibvirt: 'x', destinationLibvirt: '9.0.0' }),
        'INVALID_ARGUMENT',
      ).key,
    ).toBe('sourceLibvirt');
    expect(
      expectPolicyError(
        () => resumeBlocker({ sourceLibvirt: '9.0.0', destinationLibvirt: 'x' }),
        'INVALID_ARGUMENT',
      ).key,
    ).toBe('destinationLibvirt');
  });

  it.each<[unknown, string, string]>([
    [
      null,
      'postCopyRecovery',
      'postCopyRecovery is null: give true, false or an object such as { windowMs: 600000 }',
    ],
    [
      { maxAttempts: 1.5 },
      'postCopyRecovery.maxAttempts',
      'postCopyRecovery.maxAttempts is 1.5: give a whole number from 0 to 10000',
    ],
    [
      { automatic: 'yes' },
      'postCopyRecovery.automatic',
      'postCopyRecovery.automatic is "yes": give true or false',
    ],
    [
      { refuseDestination: 'x' },
      'postCopyRecovery.refuseDestination',
      'postCopyRecovery.refuseDestination is "x": give a function (libvirtVersion: number) => boolean',
    ],
    [
      { window: 1 },
      'postCopyRecovery.window',
      'postCopyRecovery has an unknown option "window": use automatic, windowMs, maxAttempts, firstDelayMs, ' +
        'maxDelayMs or refuseDestination',
    ],
  ])('resolveRecovery(%o) is refused with its fix', (options, key, message) => {
    const error = expectPolicyError(() => resolveRecovery(options as never), 'INVALID_ARGUMENT');
    expect(error.key).toBe(key);
    expect(error.message).toBe(message);
  });

  it('resolveRecovery keeps a refuseDestination function, takes undefined as left out, and adds none itself', () => {
    const refuse = (version: number) => version === 10_000_000;
    const resolved = resolveRecovery({ refuseDestination: refuse, windowMs: 5_000 });
    expect(resolved.refuseDestination).toBe(refuse);
    expect(resolved.windowMs).toBe(5_000);
    const without = resolveRecovery({ refuseDestination: undefined, maxAttempts: 2 });
    expect(Object.hasOwn(without, 'refuseDestination')).toBe(false);
    expect(without.maxAttempts).toBe(2);
  });

  it('a split with nothing refused gives the plain advice', () => {
    const split = guestSplit({ source: 'post-copy-failed', destination: 'post-copy-failed' });
    expect(split.authoritative).toBe('destination');
    expect(split.advice).not.toContain('resuming is not sent here');
  });

  it('a primitive plan is named by its value', () => {
    expect(
      expectPolicyError(() => forceCompleteAction(5 as never, 'running'), 'INVALID_ARGUMENT').message,
    ).toBe('plan.postCopy is 5: pass the MigrationPlan, or an object whose postCopy is a real boolean');
  });

  it('refuses to abort while post-copy is being recovered', () => {
    const error = expectPolicyError(() => assertAbortAllowed('recovering (post-copy)'), 'ABORT_IN_POST_COPY');
    expect(error.value).toBe('recovering (post-copy)');
  });

  it('refuses a function as a nova.conf source, even one with a name and a text', () => {
    const source = Object.assign(() => undefined, { text: '[libvirt]\n' });
    expect(expectPolicyError(() => parseNovaConf([source] as never), 'INVALID_ARGUMENT').message).toContain(
      'nova.conf sources are a function',
    );
  });
});

describe('more suggestions and reasons', () => {
  it('an unknown option as close to several is given the first of them in the documented order', () => {
    // "image" is 5 edits from instance, host and paused alike.
    const error = expectPolicyError(() => planMigration({ image: {} } as never), 'INVALID_ARGUMENT');
    expect(error.message).toContain('did you mean "instance"?');
  });

  it('an unknown top-level key as close to both bags is given flavorExtraSpecs', () => {
    // "specs" is 12 edits from both.
    const error = expectPolicyError(() => resolveInstancePolicy({ specs: {} } as never), 'INVALID_ARGUMENT');
    expect(error.message).toContain('did you mean "flavorExtraSpecs"?');
  });

  it("gives the host's own reasons when the instance has no opinion", () => {
    expect(planMigration({ host: {} }).reasons).toEqual([
      "post-copy off: [libvirt] live_migration_permit_post_copy = False (Nova's default: not set)",
      "auto-converge off: [libvirt] live_migration_permit_auto_converge = False (Nova's default: not set)",
    ]);
    expect(
      planMigration({ host: { permitAutoConverge: true }, libvirtVersion: 9_000_000, qemuVersion: 9_000_000 })
        .reasons,
    ).toEqual([
      "post-copy off: [libvirt] live_migration_permit_post_copy = False (Nova's default: not set)",
      'auto-converge on: [libvirt] live_migration_permit_auto_converge = True and post-copy is not in use',
    ]);
  });

  it('adds no version caveat when no feature is on, versions given or not', () => {
    expect(planMigration({ host: {} }).reasons).not.toContain(VERSIONS_UNCHECKED);
    expect(
      planMigration({
        instance: { flavorExtraSpecs: { [PC_FLAVOR]: 'false' } },
        host: { permitAutoConverge: false },
      }).reasons,
    ).not.toContain(VERSIONS_UNCHECKED);
  });

  it('follows a host literal whose option was replaced by another with the same value', () => {
    const host: Record<string, unknown> = { permitPostCopy: true };
    expect(planMigration({ host }).postCopy).toBe(true);
    delete host.permitPostCopy;
    host.permitAutoConverge = true;
    const plan = planMigration({ host });
    expect([plan.postCopy, plan.autoConverge]).toEqual([false, true]);
  });

  it('never reads the values of keys that are not ours, on the first call or the next', () => {
    const specs = { 'hw:numa_nodes': 2, undefined: { a: 1 }, 'hw:list': [1, 2] };
    expect(resolveInstancePolicy({ flavorExtraSpecs: specs })).toEqual({});
    expect(resolveInstancePolicy({ flavorExtraSpecs: specs })).toEqual({});
  });
});
