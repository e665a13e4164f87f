/**
 * The policy remembers what it learnt about the caller's objects (the scan of a bag's keys, the resolution of
 * a host literal) to decide faster the next time, but every call still reads and checks them: an object that
 * was valid when it was seen may have been changed since, and must then be refused exactly as a fresh one.
 */
import { describe, expect, it } from 'vitest';
import { planMigration, resolveHostConfig, resolveInstancePolicy } from '../../src/index.js';
import { AC_IMAGE, expectPolicyError, PC_FLAVOR, PC_IMAGE } from './helpers.js';

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

describe('a fresh host literal with the same options as the last one', () => {
  it('gets the config resolved before, and a changed one its own', () => {
    const first = resolveHostConfig({ permitPostCopy: true, downtime: 300 });
    expect(resolveHostConfig({ permitPostCopy: true, downtime: 300 })).toBe(first);
    const changed = resolveHostConfig({ permitPostCopy: true, downtime: 400 });
    expect(changed).not.toBe(first);
    expect(changed.downtime).toBe(400);
    // Same values under keys in another order: a literal of its own, resolved to the same options.
    const reordered = resolveHostConfig({ downtime: 400, permitPostCopy: true });
    expect(reordered).toEqual(changed);
  });

  it('is refused when its prototype is not plain or a value is inherited, as a new literal would be', () => {
    resolveHostConfig({ permitPostCopy: true });
    const notPlain = Object.assign(Object.create(Map.prototype), { permitPostCopy: true });
    expect(expectPolicyError(() => resolveHostConfig(notPlain), 'INVALID_HOST_CONFIG').key).toBe('host');
    resolveHostConfig({ permitPostCopy: true });
    const inherited = Object.create({ permitPostCopy: true });
    expectPolicyError(() => resolveHostConfig(inherited), 'INVALID_HOST_CONFIG');
  });

  it('is checked again when a value turned invalid', () => {
    resolveHostConfig({ permitPostCopy: true });
    const wrongType: Record<string, unknown> = { permitPostCopy: 'true' };
    expectPolicyError(() => resolveHostConfig(wrongType), 'INVALID_HOST_CONFIG');
  });
});

describe('many bags, and bags read afresh', () => {
  /** More bags than the policy keeps scans of, so the first ones are scanned again when they come back. */
  const MANY = 40;

  it('refuses a misspelt key added to any of many bags seen before', () => {
    const bags = Array.from(
      { length: MANY },
      (_, i) => ({ 'hw:numa_nodes': String(i) }) as Record<string, unknown>,
    );
    for (const bag of bags) expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({});
    for (const at of [0, MANY - 1]) {
      const bag = bags[at] as Record<string, unknown>;
      bag['hw:live_migration_post_copy'] = 'false';
      const error = expectPolicyError(
        () => resolveInstancePolicy({ flavorExtraSpecs: bag }),
        'INVALID_ARGUMENT',
      );
      expect(error.key).toBe('hw:live_migration_post_copy');
      delete bag['hw:live_migration_post_copy'];
      bag[PC_FLAVOR] = 'false';
      expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({ postCopy: false });
    }
  });

  it('reads our key from a bag whose keys changed while it was among the last seen', () => {
    const bag: Record<string, unknown> = { 'hw:cpu_policy': 'dedicated' };
    expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({});
    bag[PC_FLAVOR] = 'false';
    expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({ postCopy: false });
    delete bag[PC_FLAVOR];
    expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({});
  });

  it('judges a key name the same way however many other names came before it', () => {
    // Enough distinct names to fill the policy's memory of key names more than once.
    for (let i = 0; i < 10_000; i++) resolveInstancePolicy({ imageProperties: { [`os_tag_${i}`]: 'x' } });
    const misspelt = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { compute_live_migration_postcopy: 'true' } }),
      'INVALID_ARGUMENT',
    );
    expect(misspelt.message).toMatch(
      /^image property "compute_live_migration_postcopy" is not a live-migration key/,
    );
    expect(misspelt.message).toContain(`did you mean "${PC_IMAGE}"`);
    expect(misspelt.message).toContain(`Known image property keys: "${AC_IMAGE}", "${PC_IMAGE}"`);
    const nested = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: { properties: {} } }),
      'INVALID_ARGUMENT',
    );
    expect(nested.key).toBe('imageProperties.properties');
    expect(resolveInstancePolicy({ imageProperties: { os_tag_1: 'x', [PC_IMAGE]: 'yes' } })).toEqual({
      postCopy: true,
    });
  });
});

describe('one object passed as a flavor’s extra specs and then as image properties', () => {
  it('is read with the image’s keys the second time, however often it was planned as a flavor', () => {
    const bag: Record<string, unknown> = { 'hw:cpu_policy': 'dedicated', [PC_FLAVOR]: 'true' };
    for (let i = 0; i < 3; i++)
      expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({ postCopy: true });
    const error = expectPolicyError(
      () => resolveInstancePolicy({ imageProperties: bag }),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe(PC_FLAVOR);
    expect(error.message).toContain(`did you mean "${PC_IMAGE}"`);
    expect(resolveInstancePolicy({ flavorExtraSpecs: bag })).toEqual({ postCopy: true });
  });
});
