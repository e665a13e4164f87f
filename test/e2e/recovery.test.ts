/**
 * A broken post-copy, recovered: the migration link pulled during post-copy (and kept down past the
 * recovery window), and a post-copy paused on purpose — each through the public API, with the guest's
 * memory verified where it ends up. On a libvirt whose destination daemon crashes on POSTCOPY_RESUME
 * (11.3, the `backports` stack) the suite asserts the refusal and that the destination daemon survived.
 * See docs/reliability.md for the results.
 */
import { afterEach, expect, it } from 'vitest';
import { killMigrationConnections, type LabInfo, setLink } from '../../lab/domain.js';
import {
  attachMigration,
  type MigrationJob,
  type MigrationOutcome,
  type RecoveryEvent,
  type RecoveryOptions,
} from '../../src/index.js';
import { resumeBlocker } from '../../src/policy/index.js';
import { describeLab } from './lab-gate.js';
import {
  bootGuest,
  domainState,
  expectIntact,
  type LabMigration,
  labMigrate,
  progressWhere,
  removeGuest,
} from './migration-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const POST_COPY: LabMigration = {
  instance: { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'true' } },
  host: { permitPostCopy: true },
  bandwidth: 16,
  // Slow enough that the post-copy is still running when the link goes.
  postCopyBandwidth: 8,
};
const RETRY: Partial<RecoveryOptions> = { firstDelayMs: 1_000, maxDelayMs: 4_000 };
let counter = 0;

/** Resolves with the first recovery event of `kind`. */
function recoveryEvent(
  job: MigrationJob,
  kind: RecoveryEvent['kind'],
  timeoutMs = 120_000,
): Promise<RecoveryEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no '${kind}' recovery event within ${timeoutMs} ms`)),
      timeoutMs,
    );
    job.on('recovery', (e) => {
      if (e.kind !== kind) return;
      clearTimeout(timer);
      resolve(e);
    });
  });
}

/** Switches a post-copy migration of `name` to post-copy once the copy is under way. */
async function startPostCopy(lab: LabInfo, name: string, options: LabMigration): Promise<MigrationJob> {
  const job = await labMigrate(lab, name, { ...POST_COPY, ...options });
  await progressWhere(job, (p) => (p.memoryProcessed ?? 0) > 16 * 1024 * 1024);
  expect(await job.forceComplete()).toBe('switch-to-post-copy');
  await sleep(1_500);
  return job;
}

/**
 * Pulls the link. The destination QEMU waits for a page it asked for and has nothing else to send, so TCP
 * never tells it the link died: resetting its end of the stale connection is what a real destination
 * learns only when it next sends (see docs/reliability.md).
 */
function pullLink(lab: LabInfo): void {
  setLink(lab, 'down');
}

function destinationNotices(lab: LabInfo): number {
  return killMigrationConnections(lab, ['dst']);
}

function libvirtdAlive(lab: LabInfo): boolean {
  try {
    process.kill(lab.hosts.dst.pids.libvirtd, 0);
    return true;
  } catch {
    return false;
  }
}

describeLab('post-copy recovery: a pulled link, a window that runs out, a deliberate pause', (lab) => {
  const blocker = resumeBlocker({ sourceLibvirt: lab.stack.libvirt, destinationLibvirt: lab.stack.libvirt });
  let name = '';
  const fresh = async () => {
    name = `recover-${process.pid}-${++counter}`;
    await bootGuest(lab, name);
    return name;
  };
  afterEach(() => {
    setLink(lab, 'up');
    removeGuest(lab, name);
  });

  /** After a refused resume: nothing was sent, the destination daemon lives, the copies are stated. */
  function expectRefused(outcome: MigrationOutcome): void {
    expect(outcome).toMatchObject({ status: 'failed', postCopyFailed: true, recovery: { recovered: false } });
    expect(outcome.recovery?.refused).toContain('crashes on POSTCOPY_RESUME');
    expect(libvirtdAlive(lab)).toBe(true);
    expect(outcome.split?.authoritative).toBe('destination');
    expect(domainState(lab, 'src', name)).toBe('paused (post-copy failed)');
  }

  it('the link pulled during post-copy: the job reports it without hanging, and resumes by itself when the link is back (or refuses where resume crashes the destination)', async () => {
    await fresh();
    const job = await startPostCopy(lab, name, { postCopyRecovery: { ...RETRY, windowMs: 300_000 } });
    const stopped = recoveryEvent(job, 'stopped');
    pullLink(lab);
    const pulledAt = Date.now();
    await stopped;
    const noticedMs = Date.now() - pulledAt;
    expect(job.status).toBe('recovering (post-copy)');
    const reset = destinationNotices(lab);
    // Attempts fail while the link is down (the stream cannot connect); the job keeps trying.
    const failedAttempt = recoveryEvent(job, 'attempt-failed');
    const refusedOrFailed = blocker === undefined ? failedAttempt : recoveryEvent(job, 'refused');
    await refusedOrFailed;
    let resumedAt = 0;
    job.on('recovery', (e) => {
      if (e.kind === 'attempt') resumedAt = Date.now();
    });
    setLink(lab, 'up');
    const upAt = Date.now();
    const outcome = await job.outcome;
    const afterUpMs = Date.now() - upAt;
    console.log(
      `[e2e] link pulled 1.5 s into post-copy: source noticed after ${noticedMs} ms, ${reset} destination connection(s) reset; ` +
        `first attempt after the link came back ${resumedAt ? resumedAt - upAt : '-'} ms later; ${outcome.status} ${afterUpMs} ms after it came back, ${outcome.recovery?.attempts} attempt(s), recovery ${outcome.recovery?.durationMs} ms` +
        (blocker ? `; refused: ${outcome.recovery?.refused}` : ''),
    );
    if (blocker !== undefined) {
      expectRefused(outcome);
      return;
    }
    expect(outcome).toMatchObject({
      status: 'completed',
      guest: 'destination',
      postCopyFailed: false,
      recovery: { cause: 'failed', recovered: true },
    });
    expect(outcome.recovery?.attempts).toBeGreaterThanOrEqual(2);
    expect(domainState(lab, 'src', name)).toBe('absent');
    await expectIntact(lab, 'dst', name);
  });

  it('the link down longer than the window: the outcome states both copies, the source is never resumed, and attachMigration() recovers later (or refuses)', async () => {
    await fresh();
    const job = await startPostCopy(lab, name, { postCopyRecovery: { ...RETRY, windowMs: 15_000 } });
    const stopped = recoveryEvent(job, 'stopped');
    pullLink(lab);
    await stopped;
    destinationNotices(lab);
    const outcome = await job.outcome;
    console.log(
      `[e2e] link down past a 15 s window: ${outcome.status}, ${outcome.recovery?.attempts} attempt(s) in ${outcome.recovery?.durationMs} ms; ` +
        `split: source ${outcome.split?.source}, destination ${outcome.split?.destination}, authoritative ${outcome.split?.authoritative}`,
    );
    if (blocker !== undefined) {
      expectRefused(outcome);
      return;
    }
    expect(outcome).toMatchObject({
      status: 'failed',
      guest: 'destination',
      postCopyFailed: true,
      recovery: { recovered: false },
      split: { source: 'post-copy-failed', destination: 'post-copy-failed', authoritative: 'destination' },
    });
    expect(outcome.split?.destroy).toBeUndefined();
    expect(outcome.recovery?.attempts).toBeGreaterThanOrEqual(1);
    await sleep(3_000);
    expect(domainState(lab, 'src', name)).toBe('paused (post-copy failed)');
    expect(domainState(lab, 'dst', name)).toMatch(/^running \(post-copy failed\)/);

    setLink(lab, 'up');
    const upAt = Date.now();
    const again = await attachMigration({
      source: { uri: lab.hosts.src.uri },
      domain: { name },
      destination: { uri: lab.hosts.dst.uri, migrateUri: `tcp://${lab.hosts.dst.address}` },
      providers: {
        instanceMetadata: () => POST_COPY.instance as object,
        hostConfig: () => ({ permitPostCopy: true }),
      },
      postCopyBandwidth: 64,
      pollIntervalMs: 250,
      postCopyRecovery: RETRY,
    });
    const recovered = await again.outcome;
    console.log(
      `[e2e] attachMigration() after the link came back: ${recovered.status} in ${Date.now() - upAt} ms, ${recovered.recovery?.attempts} attempt(s)`,
    );
    expect(recovered).toMatchObject({
      status: 'completed',
      guest: 'destination',
      recovery: { recovered: true },
    });
    expect(domainState(lab, 'src', name)).toBe('absent');
    await expectIntact(lab, 'dst', name);
  });

  it('a post-copy paused on purpose is reported as paused, waits for recover(), and completes (or refuses)', async () => {
    await fresh();
    const job = await startPostCopy(lab, name, { postCopyRecovery: RETRY });
    const stopped = recoveryEvent(job, 'stopped');
    await job.pausePostCopy();
    expect(await stopped).toMatchObject({ cause: 'paused' });
    expect(job.status).toBe('recovering (post-copy)');
    await sleep(3_000);
    expect(domainState(lab, 'src', name)).toBe('paused (post-copy failed)');
    const recoverAt = Date.now();
    job.recover();
    const outcome = await job.outcome;
    console.log(
      `[e2e] deliberate post-copy pause: ${outcome.status} ${Date.now() - recoverAt} ms after recover(), steering ${outcome.steering.map((s) => s.action).join(',')}`,
    );
    if (blocker !== undefined) {
      expectRefused(outcome);
      return;
    }
    expect(outcome).toMatchObject({
      status: 'completed',
      recovery: { cause: 'paused', attempts: 1, recovered: true },
    });
    // The monitor's downtime steps may come first: the post-copy steps are these, in this order.
    expect(outcome.steering.map((s) => s.action).filter((a) => a !== 'set-downtime')).toEqual([
      'switch-to-post-copy',
      'pause-post-copy',
      'resume-post-copy',
    ]);
    await expectIntact(lab, 'dst', name);
  });
});
