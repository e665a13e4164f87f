/**
 * The dirty-rate binding against real QEMU: a calculation on a busy guest measures about what the guest
 * says it writes (its console's `pages_per_s` × 4 KiB over the same seconds), an idle guest measures
 * nothing, and a calculation asked for while the guest migrates is refused at once with a typed error
 * (libvirt itself would hold the call 30 s on the domain's job lock), the migration unharmed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ConsoleLine, consoleLines, startGuest, waitForConsole } from '../../lab/domain.js';
import { LibvirtError } from '../../src/errors.js';
import { type LibvirtConnection, type LibvirtDomain, openConnection } from '../../src/libvirt/index.js';
import type { DirtyRateStats } from '../../src/libvirt/types.js';
import { cli } from '../cli/run.js';
import { describeLab } from './lab-gate.js';
import { bootGuest, domainState, expectIntact, removeGuest } from './migration-helpers.js';

type Stats = Extract<ConsoleLine, { kind: 'stats' }>;
const MiB = 1024 * 1024;
const VIR_MIGRATE_LIVE = 1;
const VIR_MIGRATE_PEER2PEER = 2;

/** Starts a calculation and polls the stats until it is measured; the guest's own rate over those seconds. */
async function measure(
  dom: LibvirtDomain,
  consoleOf: () => ConsoleLine[],
  seconds: number,
): Promise<{ stats: DirtyRateStats; guestMiBps: number; startedAt: number }> {
  const before = consoleOf().length;
  const startedAt = Math.floor(Date.now() / 1000);
  await dom.startDirtyRateCalc({ seconds });
  const first = await dom.dirtyRateStats();
  expect(first).toMatchObject({ status: 'measuring', periodSeconds: seconds, mode: 'page-sampling' });
  let stats = first;
  const deadline = Date.now() + (seconds + 15) * 1000;
  while (stats.status !== 'measured' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    stats = await dom.dirtyRateStats();
  }
  const lines = consoleOf()
    .slice(before)
    .filter((l): l is Stats => l.kind === 'stats');
  expect(lines.length).toBeGreaterThan(0);
  const guestMiBps = (lines.reduce((sum, l) => sum + l.pagesPerS, 0) / lines.length) * (4096 / MiB);
  return { stats, guestMiBps, startedAt };
}

describeLab('dirty rate through the binding', (lab) => {
  const busy = `dirty-busy-${process.pid}`;
  const idle = `dirty-idle-${process.pid}`;
  let conn: LibvirtConnection;

  beforeAll(async () => {
    startGuest(lab, 'src', { name: idle, memoryMiB: 256, bufferMiB: 64, mode: 'idle' });
    await bootGuest(lab, busy);
    await waitForConsole(lab.hosts.src, idle, (l) => l.kind === 'stats' && l.sweeps >= 1, 120_000);
    conn = await openConnection(lab.hosts.src.uri);
  });

  afterAll(async () => {
    await conn?.close();
    removeGuest(lab, busy);
    removeGuest(lab, idle);
  });

  it('a busy guest measures about its own write rate; an idle one about nothing', async () => {
    const dom = await conn.lookupDomainByName(busy);
    const hot = await measure(dom, () => consoleLines(lab.hosts.src, busy), 5);
    console.log(
      `[e2e] ${busy}: measured ${hot.stats.mibPerSecond} MiB/s (page-sampling, 5 s), the guest wrote ` +
        `${hot.guestMiBps.toFixed(1)} MiB/s: ratio ${((hot.stats.mibPerSecond ?? 0) / hot.guestMiBps).toFixed(2)}`,
    );
    expect(hot.stats.status).toBe('measured');
    // QEMU's realtime clock: seconds since the epoch, this calculation's and not a stale one.
    expect(hot.stats.startTimeSeconds).toBeGreaterThanOrEqual(hot.startedAt - 1);
    expect(hot.stats.startTimeSeconds).toBeLessThanOrEqual(hot.startedAt + 2);
    expect(hot.guestMiBps).toBeGreaterThan(1);
    // Page sampling hashes 512 pages per GiB: measured here within 0.56–1.13× of the guest's own figure.
    expect(hot.stats.mibPerSecond).toBeGreaterThanOrEqual(hot.guestMiBps / 3);
    expect(hot.stats.mibPerSecond).toBeLessThanOrEqual(hot.guestMiBps * 3);

    const calm = await measure(
      await conn.lookupDomainByName(idle),
      () => consoleLines(lab.hosts.src, idle),
      3,
    );
    expect(calm.stats.status).toBe('measured');
    expect(calm.guestMiBps).toBe(0);
    expect(calm.stats.mibPerSecond).toBeLessThanOrEqual(1);
  });

  it('predict: the busy guest on a link a third of its rate — pre-copy aborted at the timeout, adaptive aborting early, post-copy moving it; the idle one moved by pre-copy', async () => {
    const recent = consoleLines(lab.hosts.src, busy)
      .filter((l): l is Stats => l.kind === 'stats')
      .slice(-3);
    const guestMiBps = (recent.reduce((sum, l) => sum + l.pagesPerS, 0) / recent.length) * (4096 / MiB);
    const link = Math.max(1, Math.floor(guestMiBps / 3));
    const hot = await cli([
      'predict',
      busy,
      '--connect',
      lab.hosts.src.uri,
      '--bandwidth',
      `${link}`,
      '--seconds',
      '3',
      '--json',
    ]);
    expect(hot.stderr).toBe('');
    expect(hot.code).toBe(0);
    const report = JSON.parse(hot.stdout);
    console.log(
      `[e2e] predict ${busy}: measured ${(report.dirtyRateBytesPerSecond.value / MiB).toFixed(1)} MiB/s (guest ${guestMiBps.toFixed(1)}), link ${link} MiB/s: ` +
        `pre-copy ${report.forecast.preCopy.outcome}, post-copy ${report.forecast.postCopy.totalMs} ms, adaptive ${report.forecast.adaptive.outcome}`,
    );
    expect(report.dirtyRateBytesPerSecond.value).toBeGreaterThan(link * MiB);
    expect(report.memoryBytes).toEqual({ value: 384 * MiB, source: "libvirt: the domain's current memory" });
    expect(report.own).toMatchObject({ mode: 'pre-copy', converges: false, outcome: 'aborted' });
    expect(report.forecast.postCopy.converges).toBe(true);
    // Nova's defaults permit neither feature: adaptive has nothing but the timeout action (abort), early.
    expect(report.forecast.adaptive).toMatchObject({ converges: false, outcome: 'aborted' });
    expect(report.forecast.adaptive.totalMs).toBeLessThan(report.forecast.preCopy.totalMs);

    const calm = await cli([
      'predict',
      idle,
      '--connect',
      lab.hosts.src.uri,
      '--bandwidth',
      '10',
      '--seconds',
      '2',
    ]);
    expect(calm.code).toBe(0);
    expect(calm.stdout).toMatch(
      /^Dirty rate {2}[01](\.0)? (B|MiB)\/s \(QEMU measured it now: page-sampling over 2 s\)$/m,
    );
    expect(calm.stdout).toMatch(/^This instance's policy \(pre-copy\): moves \(completed\)/m);
  });

  it('a mode this guest cannot do is LIBVIRT_UNSUPPORTED with libvirt’s answer kept', async () => {
    const dom = await conn.lookupDomainByName(busy);
    const err = await dom.startDirtyRateCalc({ seconds: 1, mode: 'dirty-ring' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ code: 'LIBVIRT_UNSUPPORTED', libvirtCode: 84, libvirtDomain: 10 });
    expect((err as LibvirtError).libvirtMessage).toMatch(/dirty-ring feature enabled/);
  });

  it('while the guest migrates: refused at once LIBVIRT_DOMAIN_BUSY, stats still readable, migration unharmed', async () => {
    const dom = await conn.lookupDomainByName(busy);
    const migration = dom
      .migrateToURI3(
        lab.hosts.dst.uri,
        { migrateUri: `tcp://${lab.hosts.dst.address}`, bandwidth: 4 },
        VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER,
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const deadline = Date.now() + 60_000;
    while ((await dom.jobStats()).type !== 'unbounded' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await dom.jobStats()).type).toBe('unbounded');
    const t = performance.now();
    const err = await dom.startDirtyRateCalc({ seconds: 2 }).catch((e: unknown) => e);
    const ms = performance.now() - t;
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ code: 'LIBVIRT_DOMAIN_BUSY', call: 'virDomainStartDirtyRateCalc' });
    expect((err as Error).message).toMatch(/has a job running \(outgoing migration, unbounded\)/);
    expect(ms).toBeLessThan(5000);
    expect((await dom.dirtyRateStats()).status).toBe('measured');
    // The migration went on meanwhile; stopped here, it leaves the guest running on the source.
    expect((await dom.jobStats()).type).toBe('unbounded');
    await dom.abortJob();
    const ended = await migration;
    expect(ended).toMatchObject({ code: 'LIBVIRT_ERROR', call: 'virDomainMigrateToURI3', libvirtCode: 78 });
    expect(domainState(lab, 'src', busy)).toMatch(/^running/);
    await expectIntact(lab, 'src', busy);
  });
});
