/**
 * Native TLS on the lab's link: with `live_migration_with_native_tls = True`, pre-copy, auto-converge and a
 * force-completed post-copy complete with the guest intact, libvirtd holds `VIR_MIGRATE_TLS`, QEMU uses its
 * x509 credentials, and a capture of the link shows every connection — QEMU's stream and libvirtd's
 * `qemu+tls://` — open with a TLS handshake and carry nothing but TLS records. A broken post-copy is resumed
 * over TLS by an agent on the source host that reaches the destination as `qemu+tls://` with its client
 * certificate. A plain migration's capture is read the same way and is not TLS: the check can fail.
 * One guest moves back and forth; docs/security.md has the figures.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type HostName,
  killMigrationConnections,
  setLink,
  startGuest,
  waitForConsole,
} from '../../lab/domain.js';
import { notTlsBecause } from '../../lab/wire.js';
import { MigrateFlags, type MigrationProgress } from '../../src/index.js';
import { startAgent } from './lab-control.js';
import { describeTlsLab } from './lab-gate.js';
import {
  busyLinkMiBps,
  domainState,
  expectIntact,
  hostMigrate,
  type LabMigration,
  progressWhere,
  qemuParameters,
  recordProgress,
  removeGuest,
} from './migration-helpers.js';
import {
  expectOnlyTls,
  migrationConnections,
  onTheWire,
  type TlsHost,
  tlsDestination,
  tlsPreflight,
  waitJobFlags,
} from './tls-helpers.js';

const NATIVE_TLS = { nativeTls: true } as const;
const other = (h: HostName): HostName => (h === 'src' ? 'dst' : 'src');

describeTlsLab('native TLS: encrypted migrations, proven on the wire', (lab) => {
  const name = `tls-${process.pid}`;
  const hosts = lab.hosts as Record<HostName, TlsHost>;

  beforeAll(async () => {
    // Smaller than the other suites' guests: every byte of every migration is captured and read.
    startGuest(lab, 'src', { name, memoryMiB: 192, bufferMiB: 96, mode: 'cpu' });
    await waitForConsole(lab.hosts.src, name, (l) => l.kind === 'stats', 120_000);
  }, 180_000);
  afterAll(() => {
    setLink(lab, 'up');
    removeGuest(lab, name);
  });

  /**
   * A TLS migration `from` → `to` under a capture of the link; while it runs, the flags libvirtd holds and
   * QEMU's TLS parameters are read on the source. Ends with the guest intact on `to`.
   */
  async function tlsMigration(
    from: HostName,
    label: string,
    options: LabMigration,
    steer?: (job: Awaited<ReturnType<typeof hostMigrate>>) => Promise<void>,
  ) {
    const to = other(from);
    const wire = await onTheWire(lab, from, label, async () => {
      const job = await hostMigrate(lab, from, to, name, {
        ...options,
        destination: tlsDestination(hosts[from], hosts[to]),
        tlsPreflight: tlsPreflight(hosts[from], hosts[to]),
      } as LabMigration);
      const seen = recordProgress(job);
      const flags = await waitJobFlags(lab, from, name);
      await progressWhere(job, (p) => (p.memoryProcessed ?? 0) > 0);
      const qemu = qemuParameters(lab, name, from);
      await steer?.(job);
      const outcome = await job.outcome;
      return { outcome, flags, qemu, seen, plan: job.plan };
    });
    const { outcome, flags, qemu, plan } = wire.result;
    console.log(
      `[e2e] ${label} ${from} → ${to} over native TLS: ${outcome.status} in ${outcome.stats?.timeElapsed} ms, ` +
        `downtime ${outcome.stats?.downtime} ms; libvirtd's job flags ${flags} (0x${flags.toString(16)}), ` +
        `QEMU tls-creds ${qemu['tls-creds']}, tls-hostname ${qemu['tls-hostname']}`,
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome).toMatchObject({ status: 'completed', guest: 'destination' });
    expect(plan?.flags ?? 0).toSatisfy((f: number) => (f & MigrateFlags.TLS) !== 0);
    // libvirtd's own record of the call: VIR_MIGRATE_TLS among the flags it received.
    expect(flags & MigrateFlags.TLS).toBe(MigrateFlags.TLS);
    expect(flags).toBe(plan?.flags);
    expect(String(qemu['tls-creds'])).toMatch(/objlibvirt_migrate_tls/);
    expect(String(qemu['tls-hostname'])).toBe(`'${hosts[to].tls.name}'`);
    expectOnlyTls(label, wire);
    expect(domainState(lab, from, name)).toBe('absent');
    await expectIntact(lab, to, name);
    return wire.result;
  }

  it('pre-copy with native TLS completes, libvirtd gets VIR_MIGRATE_TLS, and every connection on the link is TLS from its first byte', async () => {
    await tlsMigration('src', 'pre-copy', { host: NATIVE_TLS });
  });

  it('auto-converge with native TLS converges under a capped link, throttling the guest, all of it TLS on the wire', async () => {
    const cap = await busyLinkMiBps(lab, name, 'dst');
    const { outcome, seen } = await tlsMigration('dst', 'auto-converge', {
      host: { ...NATIVE_TLS, permitAutoConverge: true },
      bandwidth: cap,
    });
    expect(outcome.plan?.autoConverge).toBe(true);
    expect(Math.max(0, ...seen.map((p: MigrationProgress) => p.throttle ?? 0))).toBeGreaterThan(0);
  });

  it('post-copy with native TLS, force-completed, completes with post-copy page requests over TLS', async () => {
    const { outcome, seen } = await tlsMigration(
      'src',
      'post-copy',
      { host: { ...NATIVE_TLS, permitPostCopy: true }, bandwidth: 16 },
      async (job) => {
        await progressWhere(job, (p) => (p.memoryProcessed ?? 0) > 16 * 1024 * 1024);
        expect(await job.forceComplete()).toBe('switch-to-post-copy');
      },
    );
    expect(outcome.plan?.postCopy).toBe(true);
    expect(outcome.steering.map((s) => s.action)).toContain('switch-to-post-copy');
    // The destination fetched pages on demand: the return path, over the same TLS connection, was used.
    const requests = Math.max(
      ...seen.map((p: MigrationProgress) => p.postCopyRequests ?? 0),
      outcome.stats?.memoryPostcopyRequests ?? 0,
    );
    expect(requests).toBeGreaterThan(0);
  });

  it('a post-copy over TLS broken by a pulled link is resumed over TLS by an agent on the source host that reaches the destination as qemu+tls:// with its client certificate', async () => {
    // The guest is on dst now: the agent runs there and moves it to src.
    const [from, to] = ['dst', 'src'] as const;
    const destination = tlsDestination(hosts[from], hosts[to]);
    const wire = await onTheWire(lab, from, 'post-copy-recovery', async () => {
      const agent = startAgent(
        {
          stateDir: lab.stateDir,
          name,
          sourceUri: lab.hosts[from].uri,
          destinationUri: destination.uri,
          migrateUri: destination.migrateUri,
          instance: { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'true' } },
          host: { ...NATIVE_TLS, permitPostCopy: true },
          bandwidth: 16,
          postCopyBandwidth: 8,
          forceCompleteAfterBytes: 16 * 1024 * 1024,
          tlsPreflight: tlsPreflight(hosts[from], hosts[to]),
          postCopyRecovery: { firstDelayMs: 1_000, maxDelayMs: 4_000, windowMs: 300_000 },
        },
        { lab, host: from },
      );
      await agent.waitFor((l) => l.kind === 'forceComplete' && l.action === 'switch-to-post-copy');
      await new Promise((r) => setTimeout(r, 1_500));
      setLink(lab, 'down');
      await agent.waitFor((l) => l.kind === 'recovery' && l.event === 'stopped');
      // The destination QEMU waits for pages and sends nothing: resetting its end is how it learns.
      const reset = killMigrationConnections(lab, [to]);
      await agent.waitFor((l) => l.kind === 'recovery' && l.event === 'attempt-failed');
      setLink(lab, 'up');
      const outcome = await agent.waitFor((l) => l.kind === 'outcome', 300_000);
      return { outcome, reset, lines: agent.lines };
    });
    const { outcome, lines } = wire.result;
    const attempts = lines.filter((l) => l.kind === 'recovery' && l.event === 'attempt').length;
    console.log(
      `[e2e] post-copy over TLS, link pulled: ${outcome.status} after ${attempts} resume attempt(s), ` +
        `${migrationConnections(wire.connections).length} migration connection(s) on the link (the first and the resume's)`,
    );
    expect(outcome).toMatchObject({
      status: 'completed',
      guest: 'destination',
      recovery: { recovered: true },
    });
    expect(Number(outcome.flags) & MigrateFlags.TLS).toBe(MigrateFlags.TLS);
    // The cut connection ends unclosed; the resume opened a new one, and both are TLS from their first byte.
    expect(migrationConnections(wire.connections).length).toBeGreaterThanOrEqual(2);
    // To the destination's libvirtd: the first call's, the agent's own (asking the destination's version
    // before it resumes: its qemu+tls:// connection with its client certificate), and the resume's.
    const libvirtd = wire.connections.filter((c) => c.serverPort === lab.tls?.port && c.toServer.bytes > 0);
    expect(libvirtd.length).toBeGreaterThanOrEqual(3);
    expectOnlyTls('post-copy recovery', wire);
    await expectIntact(lab, to, name);
  });

  it('a plain migration read the same way is not TLS: the capture check tells the two apart', async () => {
    const wire = await onTheWire(lab, 'src', 'plain', async () => {
      const job = await hostMigrate(lab, 'src', 'dst', name, { host: {} });
      return job.outcome;
    });
    expect(wire.result).toMatchObject({ status: 'completed' });
    expect(wire.result.plan?.flags ?? 0).toSatisfy((f: number) => (f & MigrateFlags.TLS) === 0);
    const stream = migrationConnections(wire.connections);
    expect(stream.length).toBeGreaterThan(0);
    for (const c of stream) {
      console.log(
        `[e2e] plain: ${c.client} → ${c.server}: first bytes ${c.toServer.firstBytes}; ${notTlsBecause(c)}`,
      );
      expect(notTlsBecause(c)).toMatch(/not a TLS (record header|handshake)/);
    }
    await expectIntact(lab, 'dst', name);
  });
});
