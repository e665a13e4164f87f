import { describe, expect, it } from 'vitest';
import {
  completionTimeoutSeconds,
  downtimeAt,
  downtimeSteps,
  migrationDataGb,
} from '../../src/policy/index.js';
import { expectPolicyError } from './helpers.js';

describe('downtimeSteps', () => {
  it("matches Nova's schedule for 2 GiB with the defaults", () => {
    // Nova: delay=int(75*2)=150, base=50, offset=45.
    expect(downtimeSteps(2)).toEqual([
      [0, 50],
      [150, 95],
      [300, 140],
      [450, 185],
      [600, 230],
      [750, 275],
      [900, 320],
      [1050, 365],
      [1200, 410],
      [1350, 455],
      [1500, 500],
    ]);
  });

  it('truncates like Python int() for fractional sizes and uneven divisions', () => {
    // delay=int(10*2.5)=25, base=400/3=133.33, offset=(400-133.33)/3=88.88
    expect(downtimeSteps(2.5, { downtime: 400, downtimeSteps: 3, downtimeDelay: 10 })).toEqual([
      [0, 133],
      [25, 222],
      [50, 311],
      [75, 400],
    ]);
  });

  it('has steps + 1 entries ending at the configured downtime', () => {
    const steps = downtimeSteps(8, { downtime: 1000, downtimeSteps: 7 });
    expect(steps).toHaveLength(8);
    expect(steps.at(-1)?.[1]).toBe(1000);
  });

  it('refuses a bad size and a bad config', () => {
    expectPolicyError(() => downtimeSteps(Number.NaN), 'INVALID_ARGUMENT');
    expectPolicyError(() => downtimeSteps(-1), 'INVALID_ARGUMENT');
    expectPolicyError(() => downtimeSteps(2, { downtimeSteps: 2 }), 'INVALID_HOST_CONFIG');
  });
});

describe('downtimeAt', () => {
  const steps = downtimeSteps(2);
  it.each([
    [0, undefined],
    [0.5, 50],
    [150, 50],
    [150.1, 95],
    [1501, 500],
    [99999, 500],
  ])('at %d s allows %s ms (strictly after each step)', (elapsed, expected) => {
    expect(downtimeAt(steps, elapsed)).toBe(expected);
  });
});

describe('completion timeout and data size', () => {
  it('is completionTimeout × GiB, truncated, or undefined when disabled', () => {
    expect(completionTimeoutSeconds(2)).toBe(1600);
    expect(completionTimeoutSeconds(2.5, { completionTimeout: 3 })).toBe(7);
    expect(completionTimeoutSeconds(2, { completionTimeout: 0 })).toBeUndefined();
  });

  it('counts RAM and disks with a 2 GiB floor each', () => {
    expect(migrationDataGb({ memoryMiB: 512 })).toBe(2);
    expect(migrationDataGb({ memoryMiB: 4096 })).toBe(4);
    expect(migrationDataGb({ memoryMiB: 8192, diskBytes: [10 * 1024 ** 3, 1024] })).toBe(20);
  });

  it('refuses negative or non-finite sizes', () => {
    expectPolicyError(() => migrationDataGb({ memoryMiB: -1 }), 'INVALID_ARGUMENT');
    expectPolicyError(
      () => migrationDataGb({ memoryMiB: 1, diskBytes: [Number.POSITIVE_INFINITY] }),
      'INVALID_ARGUMENT',
    );
  });
});
