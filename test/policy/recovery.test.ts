import { describe, expect, it } from 'vitest';
import { MigrationPolicyError } from '../../src/errors.js';
import { flagNames, MigrateFlags } from '../../src/policy/flags.js';
import {
  type CopyPhase,
  DEFAULT_RECOVERY,
  type GuestSplit,
  guestSplit,
  nextAttemptAt,
  type RecoveryOptions,
  resolveRecovery,
  resumeBlocker,
  resumeFlags,
} from '../../src/policy/recovery.js';

describe('resumeBlocker', () => {
  it('lets libvirt 9.0 resume on both sides', () => {
    expect(resumeBlocker({ sourceLibvirt: '9.0.0', destinationLibvirt: 9_000_000 })).toBeUndefined();
  });

  it('refuses a destination on libvirt 11.3.x, whose daemon crashes on POSTCOPY_RESUME', () => {
    for (const v of ['11.3.0', '11.3.9']) {
      expect(resumeBlocker({ sourceLibvirt: '9.0.0', destinationLibvirt: v })).toMatch(
        new RegExp(
          `destination runs libvirt ${v.replace(/\./g, '\\.')}, whose libvirtd crashes on POSTCOPY_RESUME`,
        ),
      );
    }
  });

  it('leaves the releases around 11.3 alone (not tried here), and a crashing release only matters on the destination', () => {
    expect(resumeBlocker({ sourceLibvirt: '9.0.0', destinationLibvirt: '11.2.999' })).toBeUndefined();
    expect(resumeBlocker({ sourceLibvirt: '9.0.0', destinationLibvirt: '11.4.0' })).toBeUndefined();
    expect(resumeBlocker({ sourceLibvirt: '11.3.0', destinationLibvirt: '9.0.0' })).toBeUndefined();
  });

  it('needs libvirt 8.5.0 on each side', () => {
    expect(resumeBlocker({ sourceLibvirt: '8.4.999', destinationLibvirt: '9.0.0' })).toMatch(
      /^the source runs libvirt 8\.4\.999, older than 8\.5\.0/,
    );
    expect(resumeBlocker({ sourceLibvirt: '9.0.0', destinationLibvirt: '8.4.0' })).toMatch(
      /^the destination runs libvirt 8\.4\.0, older than 8\.5\.0/,
    );
    expect(resumeBlocker({ sourceLibvirt: '8.5.0', destinationLibvirt: '8.5.0' })).toBeUndefined();
  });

  it("adds the operator's own refusals", () => {
    const refuseDestination = (v: number) => v === 10_000_000;
    expect(
      resumeBlocker({ sourceLibvirt: '9.0.0', destinationLibvirt: '10.0.0', refuseDestination }),
    ).toMatch(/crashes on POSTCOPY_RESUME/);
    expect(
      resumeBlocker({ sourceLibvirt: '9.0.0', destinationLibvirt: '10.0.1', refuseDestination }),
    ).toBeUndefined();
  });

  it('refuses a malformed version with a typed error', () => {
    expect(() => resumeBlocker({ sourceLibvirt: 'nine', destinationLibvirt: '9.0.0' })).toThrow(
      MigrationPolicyError,
    );
  });
});

describe('resolveRecovery', () => {
  it('fills the defaults, and false turns automatic recovery off', () => {
    expect(resolveRecovery(undefined)).toEqual(DEFAULT_RECOVERY);
    expect(resolveRecovery(true)).toEqual(DEFAULT_RECOVERY);
    expect(DEFAULT_RECOVERY.automatic).toBe(true);
    expect(resolveRecovery(false)).toEqual({ ...DEFAULT_RECOVERY, automatic: false });
    expect(resolveRecovery({ automatic: false, maxAttempts: 3 })).toEqual({
      ...DEFAULT_RECOVERY,
      automatic: false,
      maxAttempts: 3,
    });
    expect(resolveRecovery({ windowMs: 60_000 })).toEqual({ ...DEFAULT_RECOVERY, windowMs: 60_000 });
  });

  it('refuses values out of range, wrong types and unknown keys, naming the key', () => {
    const bad: [unknown, string][] = [
      [{ windowMs: -1 }, 'postCopyRecovery.windowMs'],
      [{ maxAttempts: 1.5 }, 'postCopyRecovery.maxAttempts'],
      [{ firstDelayMs: '1000' }, 'postCopyRecovery.firstDelayMs'],
      [{ maxDelayMs: 3_600_001 }, 'postCopyRecovery.maxDelayMs'],
      [{ refuseDestination: 'x' }, 'postCopyRecovery.refuseDestination'],
      [{ automatic: 'yes' }, 'postCopyRecovery.automatic'],
      [{ window: 5 }, 'postCopyRecovery.window'],
      ['on', 'postCopyRecovery'],
      [[], 'postCopyRecovery'],
    ];
    for (const [value, key] of bad) {
      let caught: unknown;
      try {
        resolveRecovery(value as Partial<RecoveryOptions>);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(value)).toBeInstanceOf(MigrationPolicyError);
      expect(caught).toMatchObject({ code: 'INVALID_ARGUMENT', key });
    }
  });

  it('accepts the bounds themselves', () => {
    expect(resolveRecovery({ windowMs: 0, maxAttempts: 10_000, maxDelayMs: 3_600_000 })).toMatchObject({
      windowMs: 0,
      maxAttempts: 10_000,
      maxDelayMs: 3_600_000,
    });
  });
});

describe('nextAttemptAt', () => {
  const options: RecoveryOptions = {
    automatic: true,
    windowMs: 20_000,
    maxAttempts: 5,
    firstDelayMs: 1_000,
    maxDelayMs: 4_000,
  };

  it('doubles the wait up to the cap', () => {
    const times: number[] = [];
    let last = 0;
    for (let attempt = 1; ; attempt++) {
      const at = nextAttemptAt(attempt, last, options);
      if (at === undefined) break;
      times.push(at);
      last = at;
    }
    expect(times).toEqual([1_000, 3_000, 7_000, 11_000, 15_000]);
  });

  it('stops at the attempt limit and at the window', () => {
    expect(nextAttemptAt(6, 0, options)).toBeUndefined();
    expect(nextAttemptAt(5, 16_001, options)).toBeUndefined();
  });

  it('keeps an attempt that lands exactly on the window', () => {
    expect(nextAttemptAt(3, 16_000, options)).toBe(20_000);
    expect(nextAttemptAt(3, 16_001, options)).toBeUndefined();
  });
});

describe('resumeFlags', () => {
  it('adds POSTCOPY and POSTCOPY_RESUME to the original flags, and keeps the rest', () => {
    const original = MigrateFlags.LIVE | MigrateFlags.PEER2PEER | MigrateFlags.PERSIST_DEST;
    expect(flagNames(resumeFlags(original))).toEqual([
      'LIVE',
      'PEER2PEER',
      'PERSIST_DEST',
      'POSTCOPY',
      'POSTCOPY_RESUME',
    ]);
    expect(resumeFlags(resumeFlags(original))).toBe(resumeFlags(original));
    expect(resumeFlags(0)).toBe(MigrateFlags.POSTCOPY + MigrateFlags.POSTCOPY_RESUME);
  });
});

describe('guestSplit', () => {
  const cases: [CopyPhase, CopyPhase, GuestSplit['authoritative'], GuestSplit['destroy'], string][] = [
    ['post-copy-failed', 'post-copy-failed', 'destination', undefined, 'never resume or destroy the source'],
    ['post-copy-failed', 'post-copy', 'destination', undefined, 'attachMigration() then job.recover()'],
    ['post-copy-failed', 'running', 'destination', undefined, '--postcopy-resume'],
    ['running', 'post-copy-failed', 'source', 'destination', 'destroy the copy on the destination'],
    ['running', 'paused', 'source', 'destination', 'must never run'],
    ['post-copy-failed', 'gone', 'none', undefined, 'restart the guest from its disks'],
    ['post-copy-failed', 'unknown', 'unknown', undefined, 'virsh domstate --reason'],
    ['unknown', 'post-copy-failed', 'unknown', undefined, 'source unknown, destination post-copy-failed'],
    ['running', 'gone', 'unknown', undefined, 'never resume a source paused'],
  ];
  it.each(cases)(
    'source %s, destination %s: %s holds the guest',
    (source, destination, authoritative, destroy, advice) => {
      const split = guestSplit({ source, destination });
      expect(split).toMatchObject({ source, destination, authoritative });
      expect(split.destroy).toBe(destroy);
      expect(split.advice).toContain(advice);
    },
  );
});

describe('guestSplit after a refused resume', () => {
  it('starts the advice with what unblocks the resume, and leaves the other cases alone', () => {
    const refused = 'the destination runs libvirt 11.3.0, whose libvirtd crashes on POSTCOPY_RESUME';
    const split = guestSplit({ source: 'post-copy-failed', destination: 'post-copy-failed', refused });
    expect(split.advice).toMatch(/^resuming is not sent here \(the destination runs libvirt 11\.3\.0/);
    expect(split.advice).toContain('first run a libvirt that resumes on the destination');
    expect(split.advice).toContain('never resume or destroy the source');
    expect(split).not.toHaveProperty('refused');
    const gone = guestSplit({ source: 'post-copy-failed', destination: 'gone', refused });
    expect(gone.advice).toBe(guestSplit({ source: 'post-copy-failed', destination: 'gone' }).advice);
  });
});
