/**
 * Faults a migration meets, each through the public API, with the guest's memory verified wherever it ends
 * up: a hung source libvirtd (long, past keepalive; and short), a destination libvirtd killed during
 * pre-copy, and the agent process killed mid-migration (pre-copy and post-copy) with a new process taking
 * over through attachMigration(). See docs/reliability.md for the results.
 */
import { afterEach, expect, it } from 'vitest';
import { listGuests, qemuPids, virsh } from '../../lab/domain.js';
import { attachMigration, LibvirtError } from '../../src/index.js';
import {
  loopDelayDuring,
  restartDownHosts,
  restartLibvirtd,
  signalDaemon,
  startAgent,
} from './lab-control.js';
import { describeLab } from './lab-gate.js';
import {
  bootGuest,
  domainState,
  expectIntact,
  labMigrate,
  progressWhere,
  removeGuest,
} from './migration-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** An event-loop stall this long means the loop waited on the hung daemon (the hangs last 10 s and more). */
const HUNG_LOOP_MS = 2_000;
let counter = 0;

/** Where the one running copy of the guest is, once libvirt has settled: exactly one host runs it. */
async function settledHost(lab: Parameters<typeof domainState>[0], name: string): Promise<'src' | 'dst'> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const src = domainState(lab, 'src', name);
    const dst = domainState(lab, 'dst', name);
    const running = (['src', 'dst'] as const).filter((h) => (h === 'src' ? src : dst).startsWith('running'));
    if (running.length === 1 && !/post-copy|migrat/.test(`${src} ${dst}`)) return running[0] as 'src' | 'dst';
    if (Date.now() > deadline)
      throw new Error(`the guest did not settle on one host: src ${src}; dst ${dst}`);
    await sleep(500);
  }
}

describeLab('faults: hung and killed daemons, a killed agent', (lab) => {
  let name = '';
  const fresh = async () => {
    name = `fault-${process.pid}-${++counter}`;
    await bootGuest(lab, name);
    return name;
  };
  afterEach(() => {
    for (const host of ['src', 'dst'] as const) {
      try {
        signalDaemon(lab, host, 'SIGCONT');
      } catch {
        // Not there: restartDownHosts() below brings it back.
      }
    }
    restartDownHosts(lab);
    removeGuest(lab, name);
  });

  it('a source libvirtd hung past keepalive: the loop stays free, the job ends typed with a stated guest, nothing is lost', async () => {
    await fresh();
    const job = await labMigrate(lab, name, { bandwidth: 8 });
    await progressWhere(job, (p) => (p.memoryProcessed ?? 0) > 0);
    signalDaemon(lab, 'src', 'SIGSTOP');
    const stoppedAt = Date.now();
    const { result: outcome, p99, max } = await loopDelayDuring(() => job.outcome);
    const endedAfterMs = Date.now() - stoppedAt;
    signalDaemon(lab, 'src', 'SIGCONT');
    console.log(
      `[e2e] source libvirtd stopped: job ended after ${endedAfterMs} ms (${outcome.status}, guest ${outcome.guest}, ${(outcome.error as LibvirtError | undefined)?.code}); event-loop delay p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
    );
    expect(outcome.status).not.toBe('completed');
    expect(outcome.error).toBeInstanceOf(LibvirtError);
    expect(['LIBVIRT_CONNECTION_LOST', 'LIBVIRT_TIMEOUT']).toContain((outcome.error as LibvirtError).code);
    expect(['source', 'destination', 'unknown']).toContain(outcome.guest);
    // libvirt's default keepalive: 5 probes 5 s apart, then a few seconds for the job to conclude.
    expect(endedAfterMs).toBeLessThan(25_000 + 15_000);
    // A libvirt call on the main thread would stall the loop for the whole hang (≥ 30 s here). The p99 figure
    // itself is a benchmark (bench:agent), printed above, not a timing assertion on a shared machine.
    expect(max).toBeLessThan(HUNG_LOOP_MS);
    const host = await settledHost(lab, name);
    await expectIntact(lab, host, name);
  });

  it('a source libvirtd hung ~10 s: the job keeps the migration, and abort() afterwards leaves no libvirt job', async () => {
    await fresh();
    const job = await labMigrate(lab, name, { bandwidth: 8 });
    await progressWhere(job, (p) => (p.memoryProcessed ?? 0) > 0);
    const { p99, max } = await loopDelayDuring(async () => {
      signalDaemon(lab, 'src', 'SIGSTOP');
      await sleep(10_000);
      signalDaemon(lab, 'src', 'SIGCONT');
    });
    console.log(
      `[e2e] source libvirtd stopped 10 s: event-loop delay p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
    );
    expect(max).toBeLessThan(HUNG_LOOP_MS);
    const after = await progressWhere(job, (p) => p.elapsedMs > 0, 60_000);
    expect(after.status).toBe('running');
    job.abort();
    const outcome = await job.outcome;
    expect(outcome.status).toBe('cancelled');
    expect(outcome.guest).toBe('source');
    expect(virsh(lab.hosts.src.uri, 'domjobinfo', name)).toMatch(/Job type:\s+None/);
    await expectIntact(lab, 'src', name);
  });

  it('a destination libvirtd killed during pre-copy: typed error, guest intact on the source, nothing left on the destination', async () => {
    await fresh();
    const job = await labMigrate(lab, name, { bandwidth: 8 });
    await progressWhere(job, (p) => (p.memoryProcessed ?? 0) > 0);
    signalDaemon(lab, 'dst', 'SIGKILL');
    const outcome = await job.outcome;
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toBeInstanceOf(LibvirtError);
    expect(outcome.guest).toBe('source');
    expect(domainState(lab, 'src', name)).toMatch(/^running/);
    await expectIntact(lab, 'src', name);
    await restartLibvirtd(lab, 'dst');
    // The restarted daemon finds the incoming QEMU of the failed migration and kills it.
    const deadline = Date.now() + 30_000;
    while (
      (listGuests(lab, 'dst').includes(name) || qemuPids(lab, 'dst', name).length > 0) &&
      Date.now() < deadline
    )
      await sleep(500);
    expect(listGuests(lab, 'dst')).not.toContain(name);
    expect(virsh(lab.hosts.dst.uri, 'list', '--all', '--name')).not.toContain(name);
    // Asked of the kernel too: no QEMU of this guest runs on the destination unseen by libvirt.
    expect(qemuPids(lab, 'dst', name)).toEqual([]);
    console.log(`[e2e] destination killed in pre-copy: ${(outcome.error as Error).message}`);
  });

  for (const phase of ['pre-copy', 'post-copy'] as const) {
    it(`the agent killed during ${phase}: a new process attaches, follows, steers and ends with the right outcome`, async () => {
      await fresh();
      const agent = startAgent({
        stateDir: lab.stateDir,
        name,
        bandwidth: 8,
        postCopyBandwidth: 8,
        instance: { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'true' } },
        ...(phase === 'post-copy' ? { forceCompleteAfterBytes: 16 * 1024 * 1024 } : {}),
      });
      await agent.waitFor((l) => l.kind === 'progress' && l.mode === phase && Number(l.processed) > 0);
      agent.child.kill('SIGKILL');
      await new Promise((r) => agent.child.once('exit', r));
      const job = await attachMigration({
        source: { uri: lab.hosts.src.uri },
        domain: { name },
        destination: { uri: lab.hosts.dst.uri, migrateUri: `tcp://${lab.migrateAddress}` },
        providers: {
          instanceMetadata: () => ({ flavorExtraSpecs: { 'compute:live_migration_post_copy': 'true' } }),
          hostConfig: () => ({}),
        },
        pollIntervalMs: 250,
      });
      if (phase === 'pre-copy') {
        expect(await job.forceComplete()).toBe('switch-to-post-copy');
      } else {
        await progressWhere(job, (p) => p.mode === 'post-copy');
        expect(() => job.abort()).toThrow(/post-copy/);
      }
      const outcome = await job.outcome;
      expect(outcome.status).toBe('completed');
      expect(outcome.guest).toBe('destination');
      expect(domainState(lab, 'dst', name)).toMatch(/^running/);
      await expectIntact(lab, 'dst', name);
      console.log(
        `[e2e] agent killed in ${phase}: attached job ended ${outcome.status}, guest on ${outcome.guest}`,
      );
    });
  }
});
