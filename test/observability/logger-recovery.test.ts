import { describe, expect, it } from 'vitest';
import { logMigration, type MigrationLogger } from '../../src/index.js';
import { destinationOf, FakeDomain, fakeBackend, libvirtError, until } from '../migration/fake-libvirt.js';
import { PC, startJob } from '../migration/helpers.js';

interface Entry {
  level: string;
  record: Record<string, unknown>;
  message: string;
}

function recorder(): MigrationLogger & { entries: Entry[] } {
  const entries: Entry[] = [];
  const at = (level: string) => (record: object, message: string) => {
    entries.push({ level, record: record as Record<string, unknown>, message });
  };
  return { entries, info: at('info'), warn: at('warn'), error: at('error') };
}

const linkLost = () =>
  libvirtError(1, "operation failed: job 'migration in' failed in post-copy phase", 'virDomainMigrateToURI3');

/** A post-copy migration switched to post-copy whose link then breaks; the destination runs libvirt 9.0. */
async function brokenPostCopy(recovery: object) {
  const domain = new FakeDomain();
  const job = await startJob(
    domain,
    { backend: fakeBackend(destinationOf(domain, 9_000_000)), postCopyRecovery: recovery },
    { flavorExtraSpecs: { [PC]: 'true' } },
  );
  const log = recorder();
  logMigration(job, log, { domain: 'instance-0001' });
  await until(() => domain.migrating);
  await job.forceComplete();
  return { domain, job, log };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('logMigration: the recovery of a broken post-copy', () => {
  it('logs each step, and an outcome that keeps split, recovery and the advice', async () => {
    const { domain, job, log } = await brokenPostCopy({ firstDelayMs: 10, maxDelayMs: 10, windowMs: 60 });
    for (let i = 0; i < 20; i++)
      domain.script('migrateToURI3', { error: libvirtError(38, 'Network is unreachable') });
    domain.fail(linkLost());
    const outcome = await job.outcome;
    await settle();

    const steps = log.entries.filter((e) => e.record.event === 'migration.recovery');
    expect(steps[0]).toMatchObject({
      level: 'warn',
      record: { kind: 'stopped', cause: 'failed', domain: 'instance-0001' },
      message: expect.stringMatching(
        /^migration recovery: post-copy broke, resuming it with POSTCOPY_RESUME: /,
      ),
    });
    expect(steps.map((e) => e.record.kind)).toContain('attempt');
    expect(steps.find((e) => e.record.kind === 'attempt')?.level).toBe('info');
    expect(steps.find((e) => e.record.kind === 'attempt-failed')).toMatchObject({
      level: 'warn',
      record: { err: expect.any(Error) },
    });
    expect(steps.at(-1)?.record.kind).toBe('given-up');

    const [end] = log.entries.filter((e) => e.record.event === 'migration.outcome');
    expect(end?.level).toBe('error');
    expect(end?.record).toMatchObject({
      status: 'failed',
      guest: 'destination',
      postCopyFailed: true,
      recovery: { recovered: false, attempts: outcome.recovery?.attempts },
      split: { source: 'post-copy-failed', destination: 'post-copy-failed', authoritative: 'destination' },
      advice: outcome.split?.advice,
    });
    // Which copy holds the guest, and what to do, reach the message too: a log line is what an operator greps.
    expect(end?.message).toContain('holds the guest: destination');
    expect(end?.message).toContain(`next: ${outcome.split?.advice}`);
  });

  it('a recovered post-copy logs its success, and the completed outcome keeps the recovery', async () => {
    const { domain, job, log } = await brokenPostCopy({ firstDelayMs: 20, maxDelayMs: 40 });
    domain.fail(linkLost());
    await until(() => log.entries.some((e) => e.record.kind === 'attempt'));
    domain.complete();
    await job.outcome;
    await settle();
    expect(log.entries.find((e) => e.record.kind === 'recovered')).toMatchObject({
      level: 'info',
      message: 'migration recovery: post-copy resumed at attempt 1',
    });
    const [end] = log.entries.filter((e) => e.record.event === 'migration.outcome');
    expect(end).toMatchObject({
      level: 'info',
      record: { status: 'completed', recovery: { recovered: true, attempts: 1 } },
      message:
        'migration completed: the guest runs on the destination (post-copy resumed after 1 attempt(s))',
    });
  });
});
