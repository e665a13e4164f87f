/**
 * The policy remembers what it learnt about the caller's objects (the scan of a bag's keys, the resolution of
 * a host literal) to decide faster the next time, but every call still reads and checks them: an object that
 * was valid when it was seen may have been changed since, and must then be refused exactly as a fresh one.
 */
import { describe, expect, it } from 'vitest';
import { planMigration, resolveHostConfig, resolveInstancePolicy } from '../../src/index.js';
import { expectPolicyError, PC_FLAVOR, PC_IMAGE } from './helpers.js';

describe('a bag seen before is checked again', () => {
  it('refuses a bag whose prototype was replaced since it was scanned', () => {
    const specs: Record<string, unknown> = { 'hw:cpu_policy': 'dedicated', [PC_FLAVOR]: 'false' };
    const instance = { flavorExtraSpecs: specs };
    expect(planMigration({ instance }).postCopy).toBe(false);
    Object.setPrototypeOf(specs, Map.prototype);
    const error = expectPolicyError(() => planMigration({ instance }), 'INVALID_ARGUMENT');
    expect(error.key).toBe('flavorExtraSpecs');
    expect(error.message).toContain('pass a plain object');
    // Back to a plain prototype, the same bag is accepted again.
    Object.setPrototypeOf(specs, Object.prototype);
    expect(resolveInstancePolicy(instance)).toEqual({ postCopy: false });
  });

  it('refuses image properties whose prototype was replaced since they were scanned', () => {
    const props: Record<string, unknown> = { os_distro: 'debian' };
    expect(resolveInstancePolicy({ imageProperties: props })).toEqual({});
    Object.setPrototypeOf(props, Array.prototype);
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: props }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('imageProperties');
  });

  it('refuses a nested flavor that replaced a plain value under the same key', () => {
    const specs: Record<string, unknown> = { 'hw:cpu_policy': 'dedicated', properties: 'none' };
    expect(resolveInstancePolicy({ flavorExtraSpecs: specs })).toEqual({});
    specs.properties = { [PC_FLAVOR]: 'true' };
    const error = expectPolicyError(
      () => resolveInstancePolicy({ flavorExtraSpecs: specs }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('flavorExtraSpecs.properties');
    expect(error.message).toContain('metadataFromFlavor(flavor)');
    // A plain value again: accepted, the key is plain data.
    specs.properties = 'none';
    expect(resolveInstancePolicy({ flavorExtraSpecs: specs })).toEqual({});
  });

  it('checks every nested-shape key of a bag seen before, not only the first', () => {
    const props: Record<string, unknown> = { image: 'x', properties: 'y', os_type: 'linux' };
    expect(resolveInstancePolicy({ imageProperties: props })).toEqual({});
    props.properties = {};
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: props }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('imageProperties.properties');
    expect(error.message).toContain('metadataFromImage(image)');
  });

  it('reads a getter of our key on every call', () => {
    let reads = 0;
    let value = 'true';
    const props = Object.defineProperty({ os_distro: 'debian' }, PC_IMAGE, {
      enumerable: true,
      get: () => {
        reads++;
        return value;
      },
    });
    const instance = { imageProperties: props };
    expect(planMigration({ instance }).postCopy).toBe(true);
    expect(planMigration({ instance }).postCopy).toBe(true);
    value = 'no';
    expect(planMigration({ instance }).postCopy).toBe(false);
    value = 'maybe';
    expectPolicyError(() => planMigration({ instance }), 'INVALID_BOOLEAN');
    expect(reads).toBe(4);
  });

  it('asks a Proxy for its keys on every call', () => {
    let keys = ['os_distro'];
    const props = new Proxy({ os_distro: 'debian', hw_live_migration_post_copy: 'true' } as object, {
      ownKeys: () => keys,
    });
    expect(resolveInstancePolicy({ imageProperties: props as never })).toEqual({});
    keys = ['os_distro', 'hw_live_migration_post_copy'];
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: props as never }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('hw_live_migration_post_copy');
  });
});

describe('a host literal resolved before is checked again', () => {
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
