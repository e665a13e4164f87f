/**
 * attachMigration() on a migration this process did not start — what an agent does after a restart:
 * another client (virsh, standing in for the agent's previous life) starts a post-copy-capable migration;
 * the new job follows it, force-completes it into post-copy and sees it complete, guest intact.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { attachMigration, MigrationPolicyError } from '../../src/index.js';
import { describeLab } from './lab-gate.js';
import {
  bootGuest,
  expectIntact,
  progressWhere,
  qemuFeatures,
  recordProgress,
  removeGuest,
} from './migration-helpers.js';

const run = promisify(execFile);

describeLab('attachMigration() to a running migration', (lab) => {
  const name = `attach-${process.pid}`;
  afterAll(() => removeGuest(lab, name));

  it('follows, force-completes and reports a migration started by another client', async () => {
    await bootGuest(lab, name);
    const previousAgent = run(
      'virsh',
      [
        '-c',
        lab.hosts.src.uri,
        'migrate',
        '--live',
        '--p2p',
        '--persistent',
        '--undefinesource',
        '--postcopy',
        '--bandwidth',
        '64',
        name,
        lab.hosts.dst.uri,
        `tcp://${lab.migrateAddress}`,
      ],
      { timeout: 300_000 },
    );
    // Wait until libvirt's job is there to attach to.
    for (let i = 0; i < 100 && !qemuFeatures(lab, name).postCopy; i++)
      await new Promise((r) => setTimeout(r, 100));
    const job = await attachMigration({
      source: { uri: lab.hosts.src.uri },
      domain: { name },
      destination: { uri: lab.hosts.dst.uri },
      providers: {
        instanceMetadata: () => ({ flavorExtraSpecs: { 'compute:live_migration_post_copy': 'true' } }),
        hostConfig: () => ({}),
      },
      pollIntervalMs: 250,
    });
    const progress = recordProgress(job);
    const first = await progressWhere(job, (p) => (p.iteration ?? 0) >= 2);
    expect(first.status).toBe('running');
    // The clock is libvirt's: it counts from the start of the migration, not from the attach.
    expect(first.elapsedMs).toBeGreaterThan(1000);
    expect(await job.forceComplete()).toBe('switch-to-post-copy');
    expect(() => job.abort()).toThrow(MigrationPolicyError);
    const outcome = await job.outcome;
    await previousAgent;
    expect(outcome.status).toBe('completed');
    expect(outcome.guest).toBe('destination');
    expect(
      Math.max(
        0,
        ...progress.map((p) => p.postCopyRequests ?? 0),
        outcome.stats?.memoryPostcopyRequests ?? 0,
      ),
    ).toBeGreaterThan(0);
    const after = await expectIntact(lab, 'dst', name);
    console.log(
      `[e2e] attach: followed from ${first.elapsedMs} ms, completed in ${outcome.stats?.timeElapsed} ms; guest on dst: ${after.raw}`,
    );
  });
});
