/**
 * Bad input, fuzzed: fast-check properties over random and adversarial metadata, host configs,
 * flavor/image shapes and nova.conf text. Every input gives a correct plan (checked against an oracle written
 * from REFERENCE §2) or a MigrationPolicyError — never another exception, a polluted prototype or a hang.
 * Runs: FC_RUNS, or 10,000 when CI=true, or a small local default (see fcRuns).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_HOST_CONFIG,
  MigrateFlags as F,
  type HostConfig,
  type InstanceMetadata,
  MigrationPolicyError,
  metadataFromFlavor,
  metadataFromImage,
  parseNovaConf,
  planMigration,
  requiredTraits,
  resolveHostConfig,
  resolveInstancePolicy,
} from '../../src/index.js';
import { AC_FLAVOR, AC_IMAGE, fcRuns, fcTimeout, PC_FLAVOR, PC_IMAGE } from './helpers.js';

const RUNS = fcRuns(150);
vi.setConfig({ testTimeout: fcTimeout(RUNS) });

afterEach(() => {
  // No property may leave anything on a prototype.
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
});

/** The outcome of a call: its value, or the code of the MigrationPolicyError it threw. Anything else fails. */
function outcome<T>(fn: () => T): { ok: T } | { code: string } {
  try {
    return { ok: fn() };
  } catch (err) {
    if (err instanceof MigrationPolicyError) return { code: err.code };
    throw err;
  }
}

// Python's whitespace, which oslo's strip() removes around a boolean word.
const pySpace = fc.constantFrom('', ' ', '\t', '\n', '\x1f', '\x1c', '\x85', '\u00a0', '\u3000', '\u2029');
const trueWord = fc.constantFrom('1', 't', 'true', 'on', 'y', 'yes', 'TRUE', 'True', 'Yes', 'ON');
const falseWord = fc.constantFrom('0', 'f', 'false', 'off', 'n', 'no', 'FALSE', 'False', 'No', 'OFF');
const spaced = (word: fc.Arbitrary<string>) => fc.tuple(pySpace, word, pySpace).map(([a, w, b]) => a + w + b);
/** A metadata value meaning `value`. */
const wordFor = (value: boolean) => fc.oneof(fc.constant(value), spaced(value ? trueWord : falseWord));

const unrelatedKeys = fc.constantFrom(
  'hw:cpu_policy',
  'hw:mem_page_size',
  'quota:disk_read_iops_sec',
  'aggregate_instance_extra_specs:ssd',
  'trait:HW_CPU_X86_AVX2',
  'hw_disk_bus',
  'os_distro',
  'hw_machine_type',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
);
const noise = fc.dictionary(
  unrelatedKeys,
  fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)),
  {
    maxKeys: 6,
  },
);

type Tri = boolean | undefined;
const tri: fc.Arbitrary<Tri> = fc.constantFrom(undefined, true, false);

/** Where a feature's value is set: nowhere, the flavor, the image, or both (agreeing or not). */
const placement = fc.record({ flavor: tri, image: tri });

const validHost: fc.Arbitrary<Partial<HostConfig>> = fc.record(
  {
    permitAutoConverge: fc.boolean(),
    permitPostCopy: fc.boolean(),
    tunnelled: fc.boolean(),
    nativeTls: fc.boolean(),
    parallelConnections: fc.integer({ min: 1, max: 255 }),
    bandwidth: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    downtime: fc.integer({ min: 100, max: 2 ** 31 - 1 }),
    downtimeSteps: fc.integer({ min: 3, max: 2 ** 31 - 1 }),
    completionTimeout: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    timeoutAction: fc.constantFrom('abort' as const, 'force_complete' as const),
  },
  { requiredKeys: [] },
);

/** REFERENCE §2, items 1–5, for a plan without versions: the expected outcome. */
function oracle(
  ac: { flavor: Tri; image: Tri },
  pc: { flavor: Tri; image: Tri },
  host: HostConfig,
  paused: boolean,
): { code: string } | { ac: boolean; pc: boolean } {
  const merge = (p: { flavor: Tri; image: Tri }) => {
    if (p.flavor !== undefined && p.image !== undefined && p.flavor !== p.image) return 'conflict';
    return p.flavor ?? p.image;
  };
  const a = merge(ac);
  const p = merge(pc);
  if (a === 'conflict' || p === 'conflict') return { code: 'FLAVOR_IMAGE_CONFLICT' };
  if (a === true && p === true) return { code: 'CONFLICTING_FEATURES' };
  if (host.tunnelled && host.nativeTls) return { code: 'INVALID_HOST_CONFIG' };
  let pcOn: boolean;
  let acOn: boolean;
  if (p === true) {
    if (host.tunnelled) return { code: 'POST_COPY_UNAVAILABLE' };
    pcOn = true;
    acOn = false;
  } else if (a === true) {
    pcOn = false;
    acOn = true;
  } else {
    pcOn = p !== false && host.permitPostCopy && !host.tunnelled;
    acOn = a !== false && host.permitAutoConverge && !pcOn;
  }
  return { ac: acOn, pc: pcOn && !paused };
}

describe('valid metadata and host configs: the plan is the oracle’s', () => {
  it('planMigration, resolveInstancePolicy and requiredTraits agree with REFERENCE §2', () => {
    const valueFor = (t: Tri) => (t === undefined ? fc.constant(undefined) : wordFor(t));
    fc.assert(
      fc.property(
        placement,
        placement,
        validHost,
        fc.boolean(),
        noise,
        noise,
        fc.gen(),
        (ac, pc, hostPart, paused, flavorNoise, imageNoise, gen) => {
          const flavor: Record<string, unknown> = { ...flavorNoise };
          const image: Record<string, unknown> = { ...imageNoise };
          if (ac.flavor !== undefined) flavor[AC_FLAVOR] = gen(() => valueFor(ac.flavor));
          if (ac.image !== undefined) image[AC_IMAGE] = gen(() => valueFor(ac.image));
          if (pc.flavor !== undefined) flavor[PC_FLAVOR] = gen(() => valueFor(pc.flavor));
          if (pc.image !== undefined) image[PC_IMAGE] = gen(() => valueFor(pc.image));
          const instance: InstanceMetadata = { flavorExtraSpecs: flavor, imageProperties: image };
          const host = { ...DEFAULT_HOST_CONFIG, ...hostPart };
          const expected = oracle(ac, pc, host, paused);
          const got = outcome(() => planMigration({ instance, host: hostPart, paused }));
          if ('code' in expected) {
            expect(got).toEqual(expected);
            return;
          }
          if (!('ok' in got)) throw new Error(`unexpected ${JSON.stringify(got)}`);
          const plan = got.ok;
          expect({ ac: plan.autoConverge, pc: plan.postCopy }).toEqual(expected);
          expect((plan.flags & F.AUTO_CONVERGE) !== 0).toBe(expected.ac);
          expect((plan.flags & F.POSTCOPY) !== 0).toBe(expected.pc);
          expect((plan.flags & F.TUNNELLED) !== 0).toBe(host.tunnelled);
          expect((plan.flags & F.PARALLEL) !== 0).toBe(host.parallelConnections > 1);
          // The same input twice gives the same plan, and the policy agrees with it.
          expect(planMigration({ instance, host: hostPart, paused })).toEqual(plan);
          const policy = resolveInstancePolicy(instance);
          const traits = requiredTraits(instance);
          expect(traits.includes('COMPUTE_MIGRATE_POST_COPY')).toBe(policy.postCopy === true);
          expect(traits.includes('COMPUTE_MIGRATE_AUTO_CONVERGE')).toBe(policy.autoConverge === true);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** One random edit of a string: insert, delete or replace a character, or change a letter's case. */
const edited = (base: string) =>
  fc
    .tuple(
      fc.nat({ max: base.length - 1 }),
      fc.constantFrom('insert', 'delete', 'replace', 'case', 'prefix', 'suffix'),
      fc.constantFrom('_', '-', ':', ' ', '\u00a0', '\ufeff', 'x', 'o', '.', '\t'),
    )
    .map(([at, how, char]) => {
      switch (how) {
        case 'insert':
          return base.slice(0, at) + char + base.slice(at);
        case 'delete':
          return base.slice(0, at) + base.slice(at + 1);
        case 'replace':
          return base.slice(0, at) + char + base.slice(at + 1);
        case 'case':
          return base.slice(0, at) + base.charAt(at).toUpperCase() + base.slice(at + 1);
        case 'prefix':
          return char + base;
        default:
          return base + char;
      }
    });

describe('adversarial metadata', () => {
  it('a key one edit away from one of ours, in either bag, is refused unless it is that bag’s own key', () => {
    const ours = fc.constantFrom(AC_FLAVOR, PC_FLAVOR, AC_IMAGE, PC_IMAGE);
    fc.assert(
      fc.property(
        ours.chain((key) => edited(key)),
        fc.constantFrom('flavorExtraSpecs', 'imageProperties'),
        noise,
        (key, bag, extra) => {
          const own = bag === 'flavorExtraSpecs' ? [AC_FLAVOR, PC_FLAVOR] : [AC_IMAGE, PC_IMAGE];
          const got = outcome(() => resolveInstancePolicy({ [bag]: { ...extra, [key]: 'true' } }));
          if (own.includes(key)) expect(got).toEqual({ ok: expect.any(Object) });
          else expect(got).toEqual({ code: 'INVALID_ARGUMENT' });
        },
      ),
      { numRuns: RUNS },
    );
  });

  // Proxies and getters are made inside the property: fast-check itself cannot handle a revoked proxy.
  const hostile = fc.tuple(
    fc.nat(6),
    fc.anything({
      maxDepth: 2,
      maxKeys: 4,
      withNullPrototype: true,
      withMap: true,
      withSet: true,
      withBoxedValues: true,
    }),
    fc.string({ maxLength: 3000 }),
  );
  const materialize = ([kind, any, text]: [number, unknown, string]): unknown => {
    switch (kind) {
      case 0:
        return new Proxy(
          {},
          {
            ownKeys: () => {
              throw new Error('trap');
            },
          },
        );
      case 1:
        return revoked();
      case 2:
        return Object.defineProperty({}, PC_FLAVOR, {
          enumerable: true,
          get: () => {
            throw new RangeError('getter');
          },
        });
      case 3:
        return JSON.parse(
          '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}',
        );
      case 4:
        return { [text]: text };
      default:
        return any;
    }
  };

  it('random and hostile objects anywhere give a plan or a MigrationPolicyError', () => {
    fc.assert(
      fc.property(hostile, hostile, hostile, hostile, fc.nat(3), (...args) => {
        const [flavor, image, host, whole] = args
          .slice(0, 4)
          .map((a) => materialize(a as [number, unknown, string]));
        const where = args[4];
        const inputs: unknown[] = [
          { instance: { flavorExtraSpecs: flavor, imageProperties: image }, host },
          { instance: whole, host },
          whole,
          {
            instance: { flavorExtraSpecs: flavor },
            blockMigration: image,
            paused: host,
            migrateDisks: whole,
          },
        ];
        outcome(() => planMigration(inputs[where] as never));
        outcome(() => resolveInstancePolicy({ flavorExtraSpecs: flavor, imageProperties: image } as never));
        outcome(() => requiredTraits(whole as never));
        outcome(() => resolveHostConfig(host as never));
        outcome(() => metadataFromFlavor(flavor as never));
        outcome(() => metadataFromImage(image as never));
      }),
      { numRuns: RUNS },
    );
  });
});

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

describe('host configs', () => {
  const anyValue = fc.oneof(
    fc.boolean(),
    fc.integer({ min: -5, max: 300 }),
    fc.constantFrom(2 ** 31 - 1, 2 ** 31, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0),
    fc.constantFrom('abort', 'force_complete', 'true', '1', ''),
    fc.constant(undefined),
    fc.constant(null),
  );
  const keys = fc.constantFrom(
    ...(Object.keys(DEFAULT_HOST_CONFIG) as (keyof HostConfig)[]),
    'permitPostcopy',
  );

  it('resolveHostConfig accepts exactly the valid options, with their values, and names the bad one', () => {
    fc.assert(
      fc.property(fc.dictionary(keys, anyValue, { maxKeys: 5 }), (partial) => {
        const got = outcome(() => resolveHostConfig(partial as never));
        const valid = Object.entries(partial).every(([key, value]) => {
          if (value === undefined) return key in DEFAULT_HOST_CONFIG;
          const base = DEFAULT_HOST_CONFIG[key as keyof HostConfig];
          if (base === undefined) return false;
          if (typeof base === 'boolean') return typeof value === 'boolean';
          if (key === 'timeoutAction') return value === 'abort' || value === 'force_complete';
          // The text options: '' is "not set"; a scheme is RFC 3986's (a letter, then letters, digits, + . -,
          // so force_complete is not one); a URI template needs one %s.
          if (key === 'migrationScheme')
            return value === '' || (typeof value === 'string' && /^[a-z][a-z0-9+.-]*$/i.test(value));
          if (key === 'inboundAddress') return typeof value === 'string';
          if (key === 'migrationUri') return value === '';
          const min = { parallelConnections: 1, downtime: 100, downtimeSteps: 3, downtimeDelay: 3 }[key] ?? 0;
          const max = key === 'parallelConnections' ? 255 : 2 ** 31 - 1;
          return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
        });
        const merged = {
          ...DEFAULT_HOST_CONFIG,
          ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)),
        };
        if (valid && !(merged.tunnelled && merged.nativeTls)) expect(got).toEqual({ ok: merged });
        else expect(got).toEqual({ code: 'INVALID_HOST_CONFIG' });
      }),
      { numRuns: RUNS },
    );
  });
});

describe('nova.conf text', () => {
  const OPTION: Record<keyof HostConfig, string> = {
    permitAutoConverge: 'live_migration_permit_auto_converge',
    permitPostCopy: 'live_migration_permit_post_copy',
    tunnelled: 'live_migration_tunnelled',
    nativeTls: 'live_migration_with_native_tls',
    parallelConnections: 'live_migration_parallel_connections',
    bandwidth: 'live_migration_bandwidth',
    downtime: 'live_migration_downtime',
    downtimeSteps: 'live_migration_downtime_steps',
    downtimeDelay: 'live_migration_downtime_delay',
    completionTimeout: 'live_migration_completion_timeout',
    timeoutAction: 'live_migration_timeout_action',
    migrationScheme: 'live_migration_scheme',
    migrationUri: 'live_migration_uri',
    inboundAddress: 'live_migration_inbound_addr',
  };
  const confTrue = fc.constantFrom('True', 'true', 'on', 'yes', '1', 'TRUE', 'On');
  const confFalse = fc.constantFrom('False', 'false', 'off', 'no', '0', 'NO');
  const quoted = (text: string) => fc.constantFrom(text, `"${text}"`, `'${text}'`);
  const sep = fc.constantFrom(' = ', '=', ': ', ':', ' =\t', '  :  ');
  const section = fc.constantFrom('[libvirt]', '[LIBVIRT]', '[Libvirt]');
  const filler = fc.constantFrom(
    '',
    '# comment = x',
    '; live_migration_downtime = 1',
    '[DEFAULT]\ndebug = True',
    '[vnc]\nenabled = true',
    'virt_type = kvm',
  );

  it('round-trips any valid config written in any of oslo’s spellings, split over several files', () => {
    fc.assert(
      fc.property(
        validHost,
        fc.gen(),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        (host, gen, fileCount, crlf) => {
          if (host.tunnelled && host.nativeTls) return;
          const files: string[][] = Array.from({ length: fileCount }, () => []);
          for (const [key, value] of Object.entries(host)) {
            const word =
              typeof value === 'boolean' ? gen(() => (value ? confTrue : confFalse)) : String(value);
            const text = gen(() => quoted(word));
            const file = files[gen(() => fc.nat(fileCount - 1))] as string[];
            file.push(
              gen(() => filler),
              gen(() => section),
              `${OPTION[key as keyof HostConfig]}${gen(() => sep)}${text}`,
            );
          }
          const sources = files.map((lines, i) => ({
            name: `f${i}.conf`,
            text: ['[DEFAULT]', ...lines].join(crlf ? '\r\n' : '\n'),
          }));
          expect(parseNovaConf(sources)).toEqual({ ...DEFAULT_HOST_CONFIG, ...host });
        },
      ),
      { numRuns: RUNS, endOnFailure: true },
    );
  });

  it('the last file that sets an option wins', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 100, max: 100_000 }), { minLength: 1, maxLength: 5 }),
        (downtimes) => {
          const sources = downtimes.map((d, i) => ({
            name: `${i}.conf`,
            text: `[libvirt]\nlive_migration_downtime = ${d}\n`,
          }));
          expect(parseNovaConf(sources).downtime).toBe(downtimes.at(-1));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('random text (oslo-like lines, junk, BOMs, huge lines) parses or is a MigrationPolicyError', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc
        .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 20 })
        .map((codes) => String.fromCharCode(...codes)),
      fc.constantFrom(
        '[libvirt]',
        '[DEFAULT]',
        '[__proto__]',
        '[]',
        '[libvirt',
        '\ufeff[libvirt]',
        '  continued',
        '\tx',
        '',
        '#',
        ';',
      ),
      fc
        .tuple(
          fc.constantFrom(...Object.values(OPTION), '__proto__', 'constructor'),
          sep,
          fc.string({ maxLength: 12 }),
        )
        .map((parts) => parts.join('')),
      fc.constant('x'.repeat(20_000)),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), fc.constantFrom('\n', '\r\n', '\r'), (lines, eol) => {
        outcome(() => parseNovaConf(lines.join(eol)));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('flavor and image shapes', () => {
  const specKey = fc.oneof(unrelatedKeys, fc.constantFrom(AC_FLAVOR, PC_FLAVOR));
  const specValue = fc.oneof(
    fc.constantFrom('true', 'false', 'dedicated', 'x, y', '1'),
    fc.string({ maxLength: 10 }),
  );

  it('every flavor shape gives the same extra specs', () => {
    fc.assert(
      fc.property(fc.dictionary(specKey, specValue, { maxKeys: 6 }), fc.nat(4), (specs, shape) => {
        const safeForString = Object.values(specs).every((v) => !v.includes("'"));
        const asString = Object.entries(specs)
          .map(([k, v]) => `${k}='${v}'`)
          .join(', ');
        const shapes = [
          { name: 'm1', ram: 1, properties: specs },
          { name: 'm1', extra_specs: specs },
          { extra_specs: specs },
          { flavor: { id: '1', extra_specs: specs } },
          { name: 'm1', properties: safeForString ? asString : specs },
        ];
        const got = metadataFromFlavor(shapes[shape] as Record<string, unknown>);
        expect({ ...got.flavorExtraSpecs }).toEqual({ ...specs });
      }),
      { numRuns: RUNS },
    );
  });

  it('every image shape gives the same properties for our keys', () => {
    fc.assert(
      fc.property(fc.option(wordFor(true), { nil: undefined }), fc.nat(2), (value, shape) => {
        const props = value === undefined ? {} : { [AC_IMAGE]: value };
        const shapes = [
          { id: 'x', disk_format: 'qcow2', properties: props },
          { id: 'x', disk_format: 'qcow2', ...props },
          {
            id: 'x',
            properties:
              value === undefined || typeof value !== 'string' || value.includes("'")
                ? props
                : `${AC_IMAGE}='${value}'`,
          },
        ];
        const policy = resolveInstancePolicy(metadataFromImage(shapes[shape] as Record<string, unknown>));
        expect(policy).toEqual(value === undefined ? {} : { autoConverge: true });
      }),
      { numRuns: RUNS },
    );
  });
});
