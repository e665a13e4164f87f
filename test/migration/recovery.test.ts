/**
 * Recovery of a broken post-copy, row by row against the scripted libvirt: when it starts, what is sent,
 * when it stops. The lab's e2e suite (test/e2e/recovery.test.ts) proves it with real QEMU guests.
 */
import { describe, expect, it } from 'vitest';
import { MigrateFlags, type MigrateOptions, type MigrationJob, type RecoveryEvent } from '../../src/index.js';
import {
  destinationOf,
  FakeDomain,
  fakeBackend,
  libvirtError,
  PAUSED_POSTCOPY,
  PAUSED_POSTCOPY_FAILED,
  until,
} from '../support/fake-libvirt.js';
import { attachJob, PC, runningMigration, startJob } from '../support/migration.js';

const RESUME = MigrateFlags.POSTCOPY | MigrateFlags.POSTCOPY_RESUME;
const FAST = { firstDelayMs: 20, maxDelayMs: 40 };
const linkLost = () =>
  libvirtError(1, "operation failed: job 'migration in' failed in post-copy phase", 'virDomainMigrateToURI3');

/** A post-copy migration of a fake guest, switched to post-copy; the destination answers as `destination`. */
async function inPostCopy(
  overrides: Partial<MigrateOptions> = {},
  destinationLibvirt = 9_000_000,
): Promise<{ domain: FakeDomain; destination: FakeDomain; job: MigrationJob; events: RecoveryEvent[] }> {
  const domain = new FakeDomain();
  const destination = destinationOf(domain, destinationLibvirt);
  const job = await startJob(
    domain,
    { backend: fakeBackend(destination), ...overrides },
    { flavorExtraSpecs: { [PC]: 'true' } },
  );
  const events: RecoveryEvent[] = [];
  job.on('recovery', (e) => events.push(e));
  await until(() => domain.migrating);
  await job.forceComplete();
  return { domain, destination, job, events };
}

function resumes(domain: FakeDomain): number[] {
  return domain.migrations.filter((m) => (m.flags & RESUME) === RESUME).map((m) => m.flags);
}

describe('post-copy recovery: automatic', () => {
  it('resumes a broken post-copy with the original call plus POSTCOPY and POSTCOPY_RESUME, and completes', async () => {
    const { domain, job, events } = await inPostCopy({ postCopyRecovery: FAST });
    const original = domain.migrations[0];
    domain.fail(linkLost());
    await until(() => job.status === 'recovering (post-copy)');
    await until(() => resumes(domain).length === 1);
    const resume = domain.migrations[1];
    expect(resume?.destUri).toBe(original?.destUri);
    expect(resume?.params).toEqual(original?.params);
    expect(resume?.flags).toBe(((original?.flags ?? 0) | RESUME) >>> 0);
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({
      status: 'completed',
      guest: 'destination',
      postCopyFailed: false,
      recovery: { cause: 'failed', attempts: 1, recovered: true },
    });
    expect(outcome.recovery?.durationMs).toBeGreaterThanOrEqual(FAST.firstDelayMs - 5);
    expect(events.map((e) => e.kind)).toEqual(['stopped', 'attempt', 'recovered']);
    expect(events[0]?.error?.message).toContain('failed in post-copy phase');
    expect(outcome.steering.map((s) => s.action)).toContain('resume-post-copy');
    expect(domain.calls).not.toContain('resume');
  });

  it('retries failed attempts with growing waits until one goes through', async () => {
    const { domain, job, events } = await inPostCopy({ postCopyRecovery: FAST });
    domain.script(
      'migrateToURI3',
      { error: libvirtError(38, 'unable to connect to server: Network is unreachable') },
      { error: libvirtError(38, 'unable to connect to server: Network is unreachable') },
    );
    domain.fail(linkLost());
    await until(() => resumes(domain).length === 3);
    domain.complete();
    expect(await job.outcome).toMatchObject({
      status: 'completed',
      recovery: { attempts: 3, recovered: true },
    });
    const failed = events.filter((e) => e.kind === 'attempt-failed');
    expect(failed.map((e) => e.attempt)).toEqual([1, 2]);
    expect(failed[0]?.error?.message).toContain('Network is unreachable');
    // 20 ms, then 40 (doubled), then capped at 40: each failure says when the next attempt comes.
    expect(failed.map((e) => e.nextAttemptInMs)).toEqual([expect.any(Number), expect.any(Number)]);
    for (const e of failed) expect(e.nextAttemptInMs).toBeLessThanOrEqual(FAST.maxDelayMs);
  });

  it('a resume attempt that moves nothing is given up by the watchdog, and the next attempt recovers', async () => {
    const { domain, job, events } = await inPostCopy({
      postCopyRecovery: FAST,
      watchdog: { resumeAttemptMs: 1_000 },
    });
    const warnings: string[] = [];
    job.on('warning', (w) => warnings.push(w.message));
    domain.fail(linkLost());
    // Attempt 1's call never returns, and libvirt's job shows nothing moving.
    await until(() => resumes(domain).length === 1);
    const startedAt = performance.now();
    await until(() => resumes(domain).length === 2, 5_000);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(1_000);
    const stalled = events.find((e) => e.kind === 'attempt-failed');
    expect(stalled).toMatchObject({ attempt: 1, error: { code: 'RESUME_STALLED' } });
    // libvirt was asked to end it (here it refuses, as for a guest no longer in post-copy): a warning.
    expect(domain.calls).toContain('abortJob');
    expect(warnings).toContain('ending the stalled resume attempt: libvirt refused the post-copy pause');
    domain.complete();
    expect(await job.outcome).toMatchObject({
      status: 'completed',
      recovery: { attempts: 2, recovered: true },
    });
  });

  it('follows the source when the post-copy breaks before libvirt returns, and waits for the call before resuming', async () => {
    const { domain, job } = await inPostCopy({ postCopyRecovery: FAST });
    domain.current = { state: 'paused', reason: PAUSED_POSTCOPY_FAILED };
    await until(() => job.status === 'recovering (post-copy)');
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(resumes(domain)).toEqual([]);
    domain.fail(linkLost());
    await until(() => resumes(domain).length === 1);
    domain.complete();
    expect(await job.outcome).toMatchObject({ status: 'completed', recovery: { attempts: 1 } });
  });

  it('a migration call that completes after the source reported the break is a completion, with no resume sent', async () => {
    const { domain, job } = await inPostCopy({ postCopyRecovery: FAST });
    domain.current = { state: 'paused', reason: PAUSED_POSTCOPY_FAILED };
    await until(() => job.status === 'recovering (post-copy)');
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'completed', recovery: { attempts: 0, recovered: true } });
    expect(outcome.steering.map((s) => s.action)).toEqual(['switch-to-post-copy']);
    expect(resumes(domain)).toEqual([]);
  });

  it('gives up when the window closes, and says where each copy is: never resumes the source', async () => {
    const { domain, job, events } = await inPostCopy({
      postCopyRecovery: { firstDelayMs: 10, maxDelayMs: 10, windowMs: 60 },
    });
    for (let i = 0; i < 20; i++)
      domain.script('migrateToURI3', { error: libvirtError(38, 'Network is unreachable') });
    domain.fail(linkLost());
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({
      status: 'failed',
      guest: 'destination',
      postCopyFailed: true,
      recovery: { recovered: false },
      split: {
        source: 'post-copy-failed',
        destination: 'post-copy-failed',
        authoritative: 'destination',
      },
    });
    expect(outcome.split).not.toHaveProperty('destroy');
    expect(outcome.split?.advice).toContain('never resume or destroy the source');
    expect(outcome.recovery?.attempts).toBeGreaterThanOrEqual(2);
    expect(outcome.error?.message).toContain('Network is unreachable');
    expect(events.at(-1)?.kind).toBe('given-up');
    expect(domain.calls).not.toContain('resume');
    expect(domain.current).toEqual({ state: 'paused', reason: PAUSED_POSTCOPY_FAILED });
  });

  it('stops after maxAttempts', async () => {
    const { domain, job } = await inPostCopy({ postCopyRecovery: { ...FAST, maxAttempts: 2 } });
    for (let i = 0; i < 5; i++)
      domain.script('migrateToURI3', { error: libvirtError(38, 'Network is unreachable') });
    domain.fail(linkLost());
    expect(await job.outcome).toMatchObject({
      status: 'failed',
      recovery: { attempts: 2, recovered: false },
    });
    expect(resumes(domain)).toHaveLength(2);
  });

  it('never sends POSTCOPY_RESUME to a libvirt 11.3 destination: its daemon would crash', async () => {
    const { domain, job, events } = await inPostCopy({ postCopyRecovery: FAST }, 11_003_000);
    domain.fail(linkLost());
    const outcome = await job.outcome;
    expect(resumes(domain)).toEqual([]);
    expect(outcome).toMatchObject({ status: 'failed', postCopyFailed: true, recovery: { attempts: 1 } });
    expect(outcome.recovery?.refused).toContain('libvirt 11.3.0, whose libvirtd crashes on POSTCOPY_RESUME');
    expect(events.map((e) => e.kind)).toEqual(['stopped', 'attempt', 'refused']);
    expect(outcome.split?.authoritative).toBe('destination');
    expect(outcome.split?.advice).toContain('first run a libvirt that resumes on the destination');
  });

  it('refuses the releases an operator adds', async () => {
    const { domain, job } = await inPostCopy({
      postCopyRecovery: { ...FAST, refuseDestination: (v) => v === 9_000_000 },
    });
    domain.fail(linkLost());
    expect((await job.outcome).recovery?.refused).toContain('libvirt 9.0.0');
    expect(resumes(domain)).toEqual([]);
  });

  it('tries again when the destination cannot be asked its version (the link may be down)', async () => {
    const { domain, destination, job } = await inPostCopy({ postCopyRecovery: FAST });
    let asks = 0;
    destination.connection.libVersion = async () => {
      asks++;
      if (asks === 1) throw libvirtError(38, 'unable to connect to server');
      return 9_000_000;
    };
    domain.fail(linkLost());
    await until(() => resumes(domain).length === 1);
    domain.complete();
    expect(await job.outcome).toMatchObject({ status: 'completed', recovery: { attempts: 2 } });
  });

  it('a resume whose answer is lost, with the guest gone from the source, is a completion', async () => {
    const { domain, job } = await inPostCopy({ postCopyRecovery: FAST });
    domain.fail(linkLost());
    // The resume went through, but its answer was lost with the connection.
    domain.migrateToURI3 = async () => {
      domain.gone = true;
      throw libvirtError(1, 'connection reset by peer');
    };
    expect(await job.outcome).toMatchObject({ status: 'completed', guest: 'destination' });
  });
});

describe('post-copy recovery: on demand', () => {
  it('with postCopyRecovery false the job waits for recover(), which resumes', async () => {
    const { domain, job, events } = await inPostCopy({ postCopyRecovery: false });
    domain.fail(linkLost());
    await until(() => job.status === 'recovering (post-copy)');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(resumes(domain)).toEqual([]);
    job.recover();
    job.recover(); // one attempt in flight is not repeated
    await until(() => resumes(domain).length === 1);
    domain.complete();
    expect(await job.outcome).toMatchObject({
      status: 'completed',
      recovery: { attempts: 1, recovered: true },
    });
    expect(events.filter((e) => e.kind === 'attempt')).toHaveLength(1);
  });

  it('recover() outside a broken post-copy is refused with a code', async () => {
    const { domain, job } = await inPostCopy();
    expect(() => job.recover()).toThrow(expect.objectContaining({ code: 'NOT_RECOVERING' }));
    domain.complete();
    await job.outcome;
    expect(() => job.recover()).toThrow(expect.objectContaining({ code: 'NOT_RECOVERING' }));
  });

  it('a deliberate pause is reported as such, waits even with automatic recovery on, and resumes on recover()', async () => {
    const { domain, job, events } = await inPostCopy({ postCopyRecovery: FAST });
    await job.pausePostCopy();
    expect(domain.calls).toContain('abortJob');
    await until(() => job.status === 'recovering (post-copy)');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(resumes(domain)).toEqual([]);
    expect(events[0]).toMatchObject({ kind: 'stopped', cause: 'paused' });
    job.recover();
    await until(() => resumes(domain).length === 1);
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'completed', recovery: { cause: 'paused', recovered: true } });
    expect(outcome.steering.map((s) => s.action)).toEqual([
      'switch-to-post-copy',
      'pause-post-copy',
      'resume-post-copy',
    ]);
  });

  it('pausePostCopy() outside post-copy is refused with a code', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain, {}, { flavorExtraSpecs: { [PC]: 'true' } });
    await until(() => job.status === 'running');
    expect(() => job.pausePostCopy()).toThrow(expect.objectContaining({ code: 'NOT_IN_POST_COPY' }));
    domain.complete();
    await job.outcome;
  });

  it('a paused post-copy still waits only for the window', async () => {
    const { domain, job } = await inPostCopy({ postCopyRecovery: { windowMs: 50 } });
    await job.pausePostCopy();
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({
      status: 'failed',
      postCopyFailed: true,
      recovery: { cause: 'paused', attempts: 0 },
    });
    expect(resumes(domain)).toEqual([]);
  });
});

describe('post-copy recovery: attach and split guests', () => {
  it('attachMigration() finds a post-copy that broke while no agent watched, and recovers it', async () => {
    const domain = new FakeDomain();
    domain.current = { state: 'paused', reason: PAUSED_POSTCOPY_FAILED };
    const destination = destinationOf(domain);
    const job = await attachJob(domain, { backend: fakeBackend(destination), postCopyRecovery: FAST });
    await until(() => resumes(domain).length === 1);
    expect(job.status).toBe('recovering (post-copy)');
    domain.complete();
    expect(await job.outcome).toMatchObject({
      status: 'completed',
      recovery: { attempts: 1, recovered: true },
    });
  });

  it('QEMU resumed the guest on the source while the destination holds a copy: the outcome says which to destroy', async () => {
    const { domain, job } = await inPostCopy({ postCopyRecovery: { windowMs: 0 } });
    domain.current = { state: 'running', reason: 5 };
    domain.fail(linkLost());
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({
      status: 'failed',
      guest: 'source',
      postCopyFailed: true,
      split: {
        source: 'running',
        destination: 'post-copy-failed',
        authoritative: 'source',
        destroy: 'destination',
      },
    });
    expect(outcome.split?.advice).toContain('destroy the copy on the destination');
  });

  it('a destination that is gone after the switch leaves no whole copy, and the outcome says so', async () => {
    const { domain, destination, job } = await inPostCopy({ postCopyRecovery: { windowMs: 0 } });
    destination.gone = true;
    domain.fail(linkLost());
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({
      status: 'failed',
      guest: 'unknown',
      split: { source: 'post-copy-failed', destination: 'gone', authoritative: 'none' },
    });
  });

  it('an attach to a running migration still requires an outgoing one', async () => {
    const domain = new FakeDomain();
    runningMigration(domain);
    domain.current = { state: 'paused', reason: PAUSED_POSTCOPY };
    const job = await attachJob(domain, { backend: fakeBackend(destinationOf(domain)) });
    await until(() => job.status === 'running (post-copy)');
    domain.stats = { type: 'none', raw: {} };
    domain.gone = true;
    expect(await job.outcome).toMatchObject({ status: 'completed' });
  });
});
