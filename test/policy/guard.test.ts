/** The guards every reader of caller data shares: bounded keys in errors, and the frozen tables. */
import { describe, expect, it } from 'vitest';
import { boundKey, frozenDeep } from '../../src/policy/guard.js';
import {
  DEFAULT_FORECAST_OPTIONS,
  DEFAULT_HOST_CONFIG,
  DEFAULT_RECOVERY,
  FORECAST_START,
  HOST_OPTIONS,
  LIBVIRT_PKIPATH_FILES,
  METADATA_KEYS,
  MIGRATION_STATUSES,
  MigrateFlags,
  QEMU_AUTO_CONVERGE,
  QEMU_TLS_FILES,
  RESUME_CRASHING_LIBVIRT,
  Traits,
  WATCHDOG_FIXED_MS,
  WATCHED_STEPS,
  WINDOW_START,
} from '../../src/policy/index.js';
import { MIN_VERSIONS } from '../../src/policy/versions.js';

describe('boundKey', () => {
  it('keeps a key of exactly 200 characters whole and cuts a longer one', () => {
    expect(boundKey('k'.repeat(200))).toBe('k'.repeat(200));
    expect(boundKey('k'.repeat(201))).toBe(`${'k'.repeat(200)}…`);
  });
});

describe('frozenDeep', () => {
  it('freezes the value and every object in it, and returns it', () => {
    const table = { a: { b: [1, { c: 2 }] }, d: 'x' };
    expect(frozenDeep(table)).toBe(table);
    expect(Object.isFrozen(table)).toBe(true);
    expect(Object.isFrozen(table.a)).toBe(true);
    expect(Object.isFrozen(table.a.b)).toBe(true);
    expect(Object.isFrozen(table.a.b[1])).toBe(true);
    expect(frozenDeep('text')).toBe('text');
    expect(frozenDeep(null)).toBeNull();
  });
});

describe('the tables the policy exports cannot be changed under it', () => {
  it.each<[string, unknown]>([
    ['HOST_OPTIONS', HOST_OPTIONS],
    ['HOST_OPTIONS.downtime', HOST_OPTIONS.downtime],
    ['HOST_OPTIONS.timeoutAction.choices', (HOST_OPTIONS.timeoutAction as { choices: unknown }).choices],
    ['METADATA_KEYS.postCopy', METADATA_KEYS.postCopy],
    ['MigrateFlags', MigrateFlags],
    ['Traits', Traits],
    ['MIN_VERSIONS.postCopy', MIN_VERSIONS.postCopy],
    ['MIGRATION_STATUSES', MIGRATION_STATUSES],
    ['RESUME_CRASHING_LIBVIRT[0]', RESUME_CRASHING_LIBVIRT[0]],
    ['DEFAULT_HOST_CONFIG', DEFAULT_HOST_CONFIG],
    ['DEFAULT_RECOVERY', DEFAULT_RECOVERY],
    ['HOST_OPTIONS.migrationUri', HOST_OPTIONS.migrationUri],
    ['QEMU_TLS_FILES', QEMU_TLS_FILES],
    ['QEMU_TLS_FILES.destination', QEMU_TLS_FILES.destination],
    ['LIBVIRT_PKIPATH_FILES', LIBVIRT_PKIPATH_FILES],
    ['DEFAULT_FORECAST_OPTIONS', DEFAULT_FORECAST_OPTIONS],
    ['QEMU_AUTO_CONVERGE', QEMU_AUTO_CONVERGE],
    ['FORECAST_START', FORECAST_START],
    ['WINDOW_START', WINDOW_START],
    ['WATCHED_STEPS', WATCHED_STEPS],
    ['WATCHDOG_FIXED_MS', WATCHDOG_FIXED_MS],
  ])('%s is frozen', (_name, table) => {
    expect(Object.isFrozen(table)).toBe(true);
  });

  it('throws on a write instead of changing a decision', () => {
    expect(() => {
      (HOST_OPTIONS.downtime as { min: number }).min = 0;
    }).toThrow(TypeError);
    expect(HOST_OPTIONS.downtime).toMatchObject({ min: 100 });
  });
});
