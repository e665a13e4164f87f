import { describe, expect, it } from 'vitest';
import {
  boundValue,
  LibvirtError,
  LibvirtMigrationError,
  LibvirtUnavailableError,
  MAX_ERROR_VALUE_CHARS,
  MigrationJobError,
  MigrationPolicyError,
  PlacementError,
} from '../src/errors.js';

describe('one error shape', () => {
  it('every error is a LibvirtMigrationError with a string code and a JSON form', () => {
    const errors = [
      new MigrationPolicyError('INVALID_BOOLEAN', 'bad', { key: 'k', value: 'v' }),
      new LibvirtError('virDomainLookupByName', 42, 10, 'Domain not found'),
      new LibvirtUnavailableError(new Error('dlopen')),
      new MigrationJobError('ALREADY_MIGRATING', 'busy'),
      new PlacementError('PLACEMENT_HTTP_ERROR', 'GET /: 500', { status: 500, requestId: 'req-1' }),
    ];
    for (const err of errors) {
      expect(err).toBeInstanceOf(LibvirtMigrationError);
      expect(typeof err.code).toBe('string');
      const json = JSON.parse(JSON.stringify(err)) as Record<string, unknown>;
      expect(json).toMatchObject({ name: err.name, code: err.code, message: err.message });
    }
  });

  it("LibvirtError keeps libvirt's numbers apart from its stable code, and in its JSON", () => {
    const err = new LibvirtError('virDomainLookupByName', 42, 10, 'Domain not found');
    expect(err).toMatchObject({
      code: 'LIBVIRT_ERROR',
      libvirtCode: 42,
      libvirtDomain: 10,
      libvirtMessage: 'Domain not found',
    });
    expect(err.message).toBe('virDomainLookupByName: Domain not found (libvirt error 42, domain 10)');
    expect(err.toJSON()).toMatchObject({ call: 'virDomainLookupByName', libvirtCode: 42, libvirtDomain: 10 });
  });

  it('withCode gives the same failure under another code, leaving the original as it was', () => {
    const err = new LibvirtError('virDomainGetJobStats', 1, 7, 'client socket is closed');
    const lost = err.withCode('LIBVIRT_CONNECTION_LOST');
    expect(lost).toBeInstanceOf(LibvirtError);
    expect(lost).toMatchObject({
      code: 'LIBVIRT_CONNECTION_LOST',
      call: err.call,
      libvirtCode: 1,
      libvirtDomain: 7,
    });
    expect(lost.message).toBe(err.message);
    expect(err.code).toBe('LIBVIRT_ERROR');
  });

  it('keeps a bounded copy of the value: long strings cut with their length, objects described', () => {
    const long = 'x'.repeat(10_000_000);
    const err = new MigrationPolicyError('INVALID_ARGUMENT', 'too long', { key: 'k', value: long });
    expect(err.value).toBe(`${'x'.repeat(MAX_ERROR_VALUE_CHARS)}…(10000000 chars)`);
    expect(JSON.stringify(err).length).toBeLessThan(1_000);
    expect(boundValue('x'.repeat(MAX_ERROR_VALUE_CHARS))).toHaveLength(MAX_ERROR_VALUE_CHARS);
    expect(boundValue(42)).toBe(42);
    expect(boundValue(null)).toBeNull();
    expect(boundValue([1, 2, 3])).toBe('array(3)');
    expect(boundValue(new Map())).toBe('[object Map]');
    expect(boundValue(Symbol('s'))).toBe('Symbol(s)');
    expect(boundValue(function named() {})).toBe('function named');
  });
});
