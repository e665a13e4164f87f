/**
 * The host's `[libvirt]` options as a config: Nova's defaults, oslo's types and ranges, the combination Nova
 * refuses, anything but a plain object refused, and the file and line each option read from nova.conf was set
 * at — carried by the config itself, on every call.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HOST_CONFIG,
  HOST_OPTIONS,
  originOf,
  parseNovaConf,
  planMigration,
  resolveHostConfig,
} from '../../src/policy/index.js';
import { expectPolicyError } from './helpers.js';

describe('resolveHostConfig', () => {
  it('fills defaults', () => {
    expect(resolveHostConfig({ permitPostCopy: true })).toEqual({
      ...DEFAULT_HOST_CONFIG,
      permitPostCopy: true,
    });
    expect(resolveHostConfig()).toEqual(DEFAULT_HOST_CONFIG);
  });

  it("has Nova's defaults", () => {
    expect(DEFAULT_HOST_CONFIG).toEqual({
      permitAutoConverge: false,
      permitPostCopy: false,
      tunnelled: false,
      nativeTls: false,
      parallelConnections: 1,
      bandwidth: 0,
      downtime: 500,
      downtimeSteps: 10,
      downtimeDelay: 75,
      completionTimeout: 800,
      timeoutAction: 'abort',
      migrationScheme: '',
      migrationUri: '',
      inboundAddress: '',
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown key', { permitPostcopy: true }, 'permitPostcopy'],
    ['a string boolean', { permitPostCopy: 'true' }, 'live_migration_permit_post_copy'],
    ['a float', { downtime: 500.5 }, 'live_migration_downtime'],
    ['NaN', { bandwidth: Number.NaN }, 'live_migration_bandwidth'],
    ['a negative bandwidth', { bandwidth: -1 }, 'live_migration_bandwidth'],
    ['a bad action', { timeoutAction: 'pause' }, 'live_migration_timeout_action'],
  ])('refuses %s', (_name, partial, key) => {
    const error = expectPolicyError(() => resolveHostConfig(partial), 'INVALID_HOST_CONFIG');
    expect(error.key).toBe(key);
    expect(error.message).toContain(Object.keys(partial)[0]);
  });
});

describe('host config', () => {
  it('returns its own defaults as they are', () => {
    expect(resolveHostConfig(DEFAULT_HOST_CONFIG)).toBe(DEFAULT_HOST_CONFIG);
    expect(planMigration({ host: DEFAULT_HOST_CONFIG }).host).toBe(DEFAULT_HOST_CONFIG);
  });

  it('takes an option set to undefined as left out', () => {
    expect(resolveHostConfig({ permitPostCopy: undefined, downtime: undefined })).toEqual(
      DEFAULT_HOST_CONFIG,
    );
  });

  it('follows a literal whose last option was deleted', () => {
    const host: Record<string, unknown> = { permitPostCopy: false, permitAutoConverge: true };
    expect(planMigration({ host }).autoConverge).toBe(true);
    delete host.permitAutoConverge;
    expect(planMigration({ host }).autoConverge).toBe(false);
  });

  it('does not take an option from a polluted Object.prototype, even for a literal resolved before', () => {
    const host: Record<string, unknown> = { permitPostCopy: true };
    expect(resolveHostConfig(host).permitPostCopy).toBe(true);
    delete host.permitPostCopy;
    const proto = Object.prototype as Record<string, unknown>;
    proto.permitPostCopy = true;
    try {
      expect(resolveHostConfig(host).permitPostCopy).toBe(false);
    } finally {
      delete proto.permitPostCopy;
    }
  });

  it.each<[Record<string, unknown>, string, string, unknown]>([
    [
      { foo: 1 },
      'foo',
      'foo is 1: use one of: permitAutoConverge, permitPostCopy, tunnelled, nativeTls, parallelConnections, ' +
        'bandwidth, downtime, downtimeSteps, downtimeDelay, completionTimeout, timeoutAction, migrationScheme, ' +
        'migrationUri, inboundAddress',
      1,
    ],
    [
      { tunnelled: 'x' },
      'live_migration_tunnelled',
      '[libvirt] live_migration_tunnelled (tunnelled) is "x": use true or false',
      'x',
    ],
    [
      { timeoutAction: 'pause' },
      'live_migration_timeout_action',
      '[libvirt] live_migration_timeout_action (timeoutAction) is "pause": use one of: abort, force_complete',
      'pause',
    ],
    [
      { tunnelled: true, nativeTls: true },
      'live_migration_tunnelled',
      '[libvirt] live_migration_tunnelled and [libvirt] live_migration_with_native_tls are both true, which ' +
        "Nova refuses: a tunnelled stream goes through libvirtd's own connection, so QEMU's native TLS has no " +
        'stream of its own to encrypt (libvirt 9.0 fails the pair with an internal error); native TLS replaces ' +
        'the tunnel; set live_migration_tunnelled = false',
      true,
    ],
  ])('%o is refused with its fix', (host, key, message, value) => {
    const error = expectPolicyError(() => resolveHostConfig(host as never), 'INVALID_HOST_CONFIG');
    expect(error.key).toBe(key);
    expect(error.value).toBe(value);
    expect(error.message).toBe(message);
  });
});

describe('integer options: bounds and the whole-number pattern', () => {
  it.each([
    ['bandwidth', 2 ** 31 - 1, true],
    ['bandwidth', 2 ** 31, false],
    ['downtime', 2 ** 31 - 1, true],
    ['downtime', 2 ** 31, false],
    ['downtime', 100, true],
    ['downtime', 99, false],
    ['downtimeSteps', 2 ** 31 - 1, true],
    ['downtimeSteps', 2 ** 31, false],
    ['downtimeSteps', 3, true],
    ['downtimeDelay', 2 ** 31 - 1, true],
    ['downtimeDelay', 2 ** 31, false],
    ['completionTimeout', 2 ** 31 - 1, true],
    ['completionTimeout', 2 ** 31, false],
    ['completionTimeout', 0, true],
    ['parallelConnections', 255, true],
    ['parallelConnections', 1, true],
  ])('%s = %d is accepted: %s', (key, value, ok) => {
    if (ok) expect(resolveHostConfig({ [key]: value })[key as 'bandwidth']).toBe(value);
    else {
      const error = expectPolicyError(() => resolveHostConfig({ [key]: value }), 'INVALID_HOST_CONFIG');
      expect(error.message).toContain(`(${key})`);
      expect(error.message).toMatch(/use a whole number from \d+ to \d+/);
    }
  });

  it.each([
    ['a number', 42],
    ['an array', []],
    ['a string', 'permitPostCopy'],
    ['true', true],
  ])('resolveHostConfig refuses %s instead of silently returning the defaults', (_name, host) => {
    const error = expectPolicyError(() => resolveHostConfig(host as never), 'INVALID_HOST_CONFIG');
    expect(error.key).toBe('host');
    expect(error.message).toContain('pass ');
  });

  it('lists every option when the key is unknown', () => {
    const error = expectPolicyError(
      () => resolveHostConfig({ permitPostcopy: true } as never),
      'INVALID_HOST_CONFIG',
    );
    for (const key of Object.keys(DEFAULT_HOST_CONFIG)) expect(error.message).toContain(key);
  });

  it('re-checks a literal that changed since the last call', () => {
    const host: Record<string, unknown> = { permitPostCopy: true };
    expect(planMigration({ host }).postCopy).toBe(true);
    host.permitPostCopy = false;
    expect(planMigration({ host }).postCopy).toBe(false);
    host.permitPostCopy = 'yes';
    expectPolicyError(() => planMigration({ host }), 'INVALID_HOST_CONFIG');
    host.permitPostCopy = true;
    host.tunnelled = true;
    expect(planMigration({ host }).postCopy).toBe(false);
    delete host.tunnelled;
    host.bogus = 1;
    expectPolicyError(() => planMigration({ host }), 'INVALID_HOST_CONFIG');
  });

  it('returns a frozen config, and a config it returned as it is', () => {
    const first = resolveHostConfig({ permitAutoConverge: true });
    expect(Object.isFrozen(first)).toBe(true);
    expect(resolveHostConfig(first)).toBe(first);
  });
});

describe('a host literal changed between two calls is read as it is at each', () => {
  it('refuses it once its prototype was replaced', () => {
    const host: Record<string, unknown> = { permitPostCopy: true };
    expect(planMigration({ host }).postCopy).toBe(true);
    Object.setPrototypeOf(host, Map.prototype);
    const error = expectPolicyError(() => planMigration({ host }), 'INVALID_HOST_CONFIG');
    expect(error.key).toBe('host');
    Object.setPrototypeOf(host, null);
    expect(resolveHostConfig(host).permitPostCopy).toBe(true);
  });

  it('refuses a value changed to an invalid one, and follows a valid change', () => {
    const host: Record<string, unknown> = { permitPostCopy: true, permitAutoConverge: true };
    expect(planMigration({ host }).postCopy).toBe(true);
    host.permitPostCopy = false;
    const plan = planMigration({ host });
    expect([plan.postCopy, plan.autoConverge]).toEqual([false, true]);
    host.permitPostCopy = 'True';
    expectPolicyError(() => planMigration({ host }), 'INVALID_HOST_CONFIG');
  });

  it('refuses a key that became inherited: only own keys are options', () => {
    const host: Record<string, unknown> = { permitPostCopy: true };
    expect(resolveHostConfig(host).permitPostCopy).toBe(true);
    delete host.permitPostCopy;
    Object.setPrototypeOf(host, { permitPostCopy: true });
    expectPolicyError(() => resolveHostConfig(host), 'INVALID_HOST_CONFIG');
  });
});

describe('host literals written afresh for each call', () => {
  it('give equal configs for the same options, and a changed one its own', () => {
    const first = resolveHostConfig({ permitPostCopy: true, downtime: 300 });
    expect(resolveHostConfig({ permitPostCopy: true, downtime: 300 })).toEqual(first);
    const changed = resolveHostConfig({ permitPostCopy: true, downtime: 400 });
    expect(changed).not.toEqual(first);
    expect(changed.downtime).toBe(400);
    // Same values under keys in another order: a literal of its own, resolved to the same options.
    const reordered = resolveHostConfig({ downtime: 400, permitPostCopy: true });
    expect(reordered).toEqual(changed);
  });

  it('are refused when the prototype is not plain or an option is inherited, after a valid one', () => {
    resolveHostConfig({ permitPostCopy: true });
    const notPlain = Object.assign(Object.create(Map.prototype), { permitPostCopy: true });
    expect(expectPolicyError(() => resolveHostConfig(notPlain), 'INVALID_HOST_CONFIG').key).toBe('host');
    resolveHostConfig({ permitPostCopy: true });
    const inherited = Object.create({ permitPostCopy: true });
    expectPolicyError(() => resolveHostConfig(inherited), 'INVALID_HOST_CONFIG');
  });

  it('are refused for a wrong value after the right one', () => {
    resolveHostConfig({ permitPostCopy: true });
    const wrongType: Record<string, unknown> = { permitPostCopy: 'true' };
    expectPolicyError(() => resolveHostConfig(wrongType), 'INVALID_HOST_CONFIG');
  });
});

describe('what escapes from caller code is described, briefly', () => {
  it('names the error type and cuts a long message', () => {
    const host = Object.defineProperty({}, 'permitPostCopy', {
      enumerable: true,
      get() {
        throw new RangeError('r'.repeat(500));
      },
    });
    const error = expectPolicyError(() => resolveHostConfig(host), 'INVALID_ARGUMENT');
    expect(error.message).toBe(
      `reading the host config threw (RangeError: ${'r'.repeat(108)}…): pass plain data — no getters that throw, no revoked proxies`,
    );
    expect(error.key).toBe('host');
  });

  it('names the type of a thrown non-error', () => {
    const host = Object.defineProperty({}, 'permitPostCopy', {
      enumerable: true,
      get() {
        throw 'oops';
      },
    });
    expect(expectPolicyError(() => resolveHostConfig(host), 'INVALID_ARGUMENT').message).toContain(
      'threw (string)',
    );
  });
});

describe('where each option was set', () => {
  const conf = parseNovaConf([
    { name: '/etc/nova/nova.conf', text: '[libvirt]\nlive_migration_downtime = 300\n' },
    { name: '/etc/nova/nova.conf.d/50.conf', text: '[libvirt]\n\nlive_migration_permit_post_copy = True\n' },
  ]);

  it('is carried by the parsed config, through resolveHostConfig and planMigration', () => {
    expect(originOf(conf, 'downtime')).toBe('/etc/nova/nova.conf line 2');
    expect(originOf(conf, 'permitPostCopy')).toBe('/etc/nova/nova.conf.d/50.conf line 3');
    expect(originOf(conf, 'bandwidth')).toBeUndefined();
    expect(resolveHostConfig(conf)).toBe(conf);
    const plan = planMigration({ host: conf });
    expect(originOf(plan.host, 'downtime')).toBe('/etc/nova/nova.conf line 2');
    expect(plan.reasons[0]).toBe(
      'post-copy on: [libvirt] live_migration_permit_post_copy = True (/etc/nova/nova.conf.d/50.conf line 3) and the instance has no opinion',
    );
  });

  it('is no option: spreading, JSON and the keys see only the options', () => {
    expect(Object.keys(conf)).toEqual(Object.keys(DEFAULT_HOST_CONFIG));
    expect(JSON.parse(JSON.stringify(conf))).toEqual({
      ...DEFAULT_HOST_CONFIG,
      downtime: 300,
      permitPostCopy: true,
    });
    expect(Object.getOwnPropertySymbols(conf)).toEqual([]);
  });

  it('is not claimed by a config derived from a parsed one, nor by a literal', () => {
    const derived = resolveHostConfig({ ...conf, bandwidth: 10 });
    expect(derived.downtime).toBe(300);
    expect(originOf(derived, 'downtime')).toBeUndefined();
    expect(originOf(resolveHostConfig({ downtime: 300 }), 'downtime')).toBeUndefined();
    expect(originOf({ ...conf }, 'downtime')).toBeUndefined();
    expect(planMigration({ host: { ...conf } }).reasons[0]).toBe(
      'post-copy on: [libvirt] live_migration_permit_post_copy = True and the instance has no opinion',
    );
  });

  it('is undefined for what is not a config at all', () => {
    expect(originOf(null as never, 'downtime')).toBeUndefined();
    expect(originOf(5 as never, 'downtime')).toBeUndefined();
  });
});

describe('a config made here comes back as it is', () => {
  it('for the defaults, a parsed config and a resolved literal', () => {
    const literal = resolveHostConfig({ downtime: 300 });
    for (const config of [
      DEFAULT_HOST_CONFIG,
      parseNovaConf('[libvirt]\nlive_migration_downtime = 300\n'),
      literal,
    ]) {
      expect(resolveHostConfig(config)).toBe(config);
      expect(planMigration({ host: config }).host).toBe(config);
      expect(Object.isFrozen(config)).toBe(true);
    }
  });

  it('and only such a config: a look-alike is read as a literal, checked and not taken', () => {
    const conf = parseNovaConf('[libvirt]\nlive_migration_downtime = 300\n');
    const lookAlike = Object.freeze(Object.assign({}, conf, { downtime: 50 }));
    expect(Object.isFrozen(lookAlike)).toBe(true);
    const error = expectPolicyError(() => resolveHostConfig(lookAlike), 'INVALID_HOST_CONFIG');
    expect(error.key).toBe(HOST_OPTIONS.downtime.option);
    const valid = Object.freeze({ ...conf });
    expect(resolveHostConfig(valid)).not.toBe(valid);
    expect(resolveHostConfig(valid)).toEqual(conf);
  });
});
