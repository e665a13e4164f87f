/**
 * Soak: one busy guest migrated back and forth between the hosts through migrate(), cycling through every
 * mode, with its whole memory verified after each move. Zero lost, zero corrupted. `SOAK_COUNT` sets how
 * many migrations (default 20); every result line carries the stack.
 */
import { afterAll, expect, it } from 'vitest';
import { type HostName, killMigrationConnections, type LabInfo } from '../../lab/domain.js';
import type { MigrationJob } from '../../src/index.js';
import { resumeBlocker } from '../../src/policy/index.js';
import { describeLab } from './lab-gate.js';
import {
  bootGuest,
  busyLinkMiBps,
  domainState,
  expectIntact,
  hostMigrate,
  type LabMigration,
  progressWhere,
  removeGuest,
} from './migration-helpers.js';

const COUNT = Number(process.env.SOAK_COUNT ?? 20);
/** What one migration and its memory check may take on a loaded 2-core machine under TCG. */
const PER_MIGRATION_MS = 240_000;
const PC = 'compute:live_migration_post_copy';
const AC = 'compute:live_migration_auto_converge';

interface Mode {
  name: string;
  options(cap: number): LabMigration;
  /** What the test does while the migration runs, and what it expects the job to have done. */
  steer?(job: MigrationJob, lab: LabInfo): Promise<void>;
}

const forceCompleteOnceCopying = async (job: MigrationJob, expected: string) => {
  await progressWhere(job, (p) => (p.memoryProcessed ?? 0) > 16 * 1024 * 1024);
  expect(await job.forceComplete()).toBe(expected);
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ALL_MODES: Mode[] = [
  // Unlimited bandwidth: the busy guest converges by plain pre-copy.
  { name: 'pre-copy', options: () => ({ instance: { flavorExtraSpecs: { [PC]: 'false', [AC]: 'false' } } }) },
  {
    name: 'auto-converge',
    options: (cap) => ({
      bandwidth: cap,
      instance: { flavorExtraSpecs: { [AC]: 'true' } },
      // The soak proves integrity, not convergence: throttle hard at once so this mode does not dominate its time.
      autoConvergeInitial: 60,
      autoConvergeIncrement: 20,
    }),
  },
  {
    name: 'post-copy',
    options: (cap) => ({
      bandwidth: cap,
      instance: { imageProperties: { compute_live_migration_post_copy: 'true' } },
    }),
    steer: (job) => forceCompleteOnceCopying(job, 'switch-to-post-copy'),
  },
  {
    name: 'force-complete by pause',
    options: (cap) => ({ bandwidth: cap, instance: { flavorExtraSpecs: { [AC]: 'true' } } }),
    steer: (job) => forceCompleteOnceCopying(job, 'pause'),
  },
  {
    // The connections reset on both hosts 1 s into post-copy: the job must resume it by itself.
    name: 'post-copy with a cut and recovery',
    options: (cap) => ({
      bandwidth: cap,
      postCopyBandwidth: 8,
      instance: { flavorExtraSpecs: { [PC]: 'true' } },
      postCopyRecovery: { firstDelayMs: 500, maxDelayMs: 2_000 },
    }),
    steer: async (job, lab) => {
      await forceCompleteOnceCopying(job, 'switch-to-post-copy');
      await sleep(1_000);
      killMigrationConnections(lab, ['src', 'dst']);
    },
  },
];

describeLab(`soak: ${COUNT} migrations back and forth, every mode`, (lab) => {
  const name = `soak-${process.pid}`;
  // A libvirt whose destination crashes on POSTCOPY_RESUME cannot recover: recovery.test.ts asserts the refusal there.
  const blocker = resumeBlocker({ sourceLibvirt: lab.stack.libvirt, destinationLibvirt: lab.stack.libvirt });
  const MODES = blocker ? ALL_MODES.filter((m) => !m.name.includes('recovery')) : ALL_MODES;
  if (blocker) console.log(`[e2e] soak without the cut-and-recovery mode on this stack: ${blocker}`);
  afterAll(() => removeGuest(lab, name));

  it(
    `moves the guest ${COUNT} times and finds its memory intact after each`,
    async () => {
      await bootGuest(lab, name);
      const cap = await busyLinkMiBps(lab, name);
      let here: HostName = 'src';
      const tally: Record<string, { runs: number; totalMs: number; maxDowntimeMs: number }> = {};
      for (let i = 0; i < COUNT; i++) {
        const mode = MODES[i % MODES.length] as Mode;
        const there: HostName = here === 'src' ? 'dst' : 'src';
        const started = Date.now();
        const job = await hostMigrate(lab, here, there, name, mode.options(cap));
        await mode.steer?.(job, lab);
        const outcome = await job.outcome;
        const recovery = outcome.recovery
          ? `, recovered after ${outcome.recovery.attempts} attempt(s) in ${outcome.recovery.durationMs} ms`
          : '';
        const label = `#${i + 1} ${mode.name} ${here}→${there}`;
        expect(outcome.status, `${label}: ${outcome.error?.message}`).toBe('completed');
        if (mode.name.includes('recovery')) expect(outcome.recovery?.recovered, label).toBe(true);
        expect(outcome.guest).toBe('destination');
        expect(domainState(lab, there, name)).toMatch(/^running/);
        expect(domainState(lab, here, name)).toBe('absent');
        const after = await expectIntact(lab, there, name);
        const t = tally[mode.name] ?? { runs: 0, totalMs: 0, maxDowntimeMs: 0 };
        tally[mode.name] = t;
        t.runs++;
        t.totalMs += Date.now() - started;
        t.maxDowntimeMs = Math.max(t.maxDowntimeMs, outcome.stats?.downtime ?? 0);
        console.log(
          `[e2e] soak ${label}: ${Date.now() - started} ms, downtime ${outcome.stats?.downtime} ms${recovery}; ${after.raw}`,
        );
        here = there;
      }
      for (const [mode, t] of Object.entries(tally)) {
        console.log(
          `[e2e] soak ${mode}: ${t.runs} runs, mean ${Math.round(t.totalMs / t.runs)} ms, max downtime ${t.maxDowntimeMs} ms, 0 lost, 0 corrupted`,
        );
      }
    },
    60_000 + COUNT * PER_MIGRATION_MS,
  );
});
