/**
 * `npm run bench:lab` (root, lab up): what each per-instance choice costs, on the lab's real QEMU guests.
 *
 * The same busy guest (lab/guest/init.c: a CPU-bound page writer) is migrated in each of five modes — chosen
 * through metadata, nova.conf and migrate()'s options, never by hand-made flags — `BENCH_REPEATS` times
 * (default 3) on a link shaped (tc tbf on the lab's veth pair) to half the guest's dirty rate. Then a sweep
 * moves the link's bandwidth so that the guest dirties `BENCH_SWEEP` times (default 0.5,1,2,4) what the link
 * carries, one run per mode and point. Prints tables, writes bench/results/lab.json, and regenerates
 * docs/performance.md's tables and docs/img's charts (bench/report.ts).
 *
 * Targets reported against: post-copy's total time within 2× the physical bound (memory the guest touches ÷
 * bandwidth) with downtime under 100 ms; tuned auto-converge at least 1.3× faster than QEMU's defaults; and
 * the adaptive switchover's (bench/adaptive-targets.ts): against force-complete and the monitor's timeout,
 * its abort against the bound, no false positive where pre-copy converges, and the forecast made before
 * each migration against what was measured.
 */
import { cpus } from 'node:os';
import { labDomainType, removeGuestEverywhere, requireLab, shapeLink, stackLabel } from '../lab/domain.js';
import { adaptiveTargets, forecastCells } from './adaptive-targets.js';
import { rateBetween } from './guest-rate.js';
import { type LabMode, type LabModeId, labModes } from './lab-modes.js';
import { BUSY_GUEST, bootBusyGuest, type LabRun, runMode } from './lab-run.js';
import { formatRange, machine, quantiles, seconds, writeResults } from './record.js';
import { renderReport } from './report.js';

const lab = requireLab();
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const SWEEP = (process.env.BENCH_SWEEP ?? '0.5,1,2,4').split(',').map(Number);
const MAIN_RATIO = 2;
const DATA_GB = 2; // Nova counts at least 2 GiB of data for a guest this small
const MiB = 1024 * 1024;
const PAGE = 4096;
if (!Number.isInteger(REPEATS) || REPEATS < 1)
  throw new Error(`BENCH_REPEATS is "${REPEATS}": use 1 or more`);
if (SWEEP.some((r) => !(r > 0)))
  throw new Error(`BENCH_SWEEP is "${process.env.BENCH_SWEEP}": use ratios > 0`);

/**
 * Before the first run, the bound is guessed from the buffer plus what the first pass also sends (kernel, page
 * tables: the measured first pass is 1.2–1.4× the buffer); the guess only sizes the modes' timeouts.
 */
const boundGuessS = (linkMiBps: number) => (BUSY_GUEST.bufferMiB * 1.15) / linkMiBps;

const mbit = (miBps: number) => Math.max(1, Math.round((miBps * MiB * 8) / 1e6));
const dirtyMiBps = (pagesPerS: number) => (pagesPerS * PAGE) / MiB;

/** The same guest's dirty rate (MiB/s) before its migration, and each run's own ratio of it to the link. */
const ratioOf = (run: LabRun) => dirtyMiBps(run.guestRate.before) / run.linkMiBps;

async function runAll(modes: LabMode[], linkMiBps: number, label: string, into: LabRun[]): Promise<void> {
  shapeLink(lab, mbit(linkMiBps));
  for (const mode of modes) {
    const booted = await bootBusyGuest(lab, 6);
    const run = await runMode(lab, booted, mode, linkMiBps);
    into.push(run);
    console.log(
      `[${label}] ${mode.id.padEnd(26)} ${run.status.padEnd(9)} guest ${run.guest.padEnd(11)} ` +
        `${(run.totalMs / 1000).toFixed(1).padStart(6)} s  downtime ${String(run.downtimeMs ?? '—').padStart(5)} ms  ` +
        `passes ${run.iterations}  throttle ${run.maxThrottle}%  requests ${run.postCopyRequests}  ` +
        `guest ${(run.guestRatio.during * 100).toFixed(0)}% during  dirty/link ${ratioOf(run).toFixed(2)}` +
        `${run.corrupt > 0 ? `  CORRUPT ${run.corrupt}` : ''}`,
    );
  }
}

/** Median, min and max of each figure over a mode's repeats, as bench/results/lab.json carries them. */
function summarise(id: LabModeId, runs: LabRun[], boundMs: number) {
  const of = (f: (r: LabRun) => number | null) => quantiles(runs.map((r) => f(r) ?? Number.NaN));
  return {
    mode: id,
    flagNames: runs[0]?.flagNames ?? [],
    outcomes: runs.map((r) => `${r.status} (guest ${r.guest})`),
    totalMs: of((r) => r.totalMs),
    downtimeMs: of((r) => r.downtimeMs),
    iterations: of((r) => r.iterations),
    maxThrottle: of((r) => r.maxThrottle),
    postCopyRequests: of((r) => r.postCopyRequests),
    bytes: of((r) => r.bytes),
    guestRate: {
      before: of((r) => r.guestRate.before),
      during: of((r) => r.guestRate.during),
      after: of((r) => r.guestRate.after),
      duringRatio: of((r) => r.guestRatio.during),
      afterRatio: of((r) => r.guestRatio.after),
    },
    boundMs,
    corrupt: runs.reduce((n, r) => n + r.corrupt, 0),
  };
}

const main: LabRun[] = [];
const sweep: LabRun[] = [];
let linkMiBps = 0;
let dirty = 0;
try {
  // Calibration: the guest's own dirty rate on this machine today sets the link.
  const probe = await bootBusyGuest(lab, 6);
  const recent = probe.sampler.samples.slice(-6);
  dirty = dirtyMiBps(rateBetween(recent[0], recent.at(-1)));
  probe.sampler.stop();
  removeGuestEverywhere(lab, probe.name);
  linkMiBps = Math.max(2, Math.round(dirty / MAIN_RATIO));
  console.log(
    `bench:lab — ${stackLabel(lab)}; ${cpus().length} cores; guest ${BUSY_GUEST.memoryMiB} MiB RAM, ` +
      `${BUSY_GUEST.bufferMiB} MiB rewritten at ${dirty.toFixed(1)} MiB/s; link ${linkMiBps} MiB/s (tbf ${mbit(linkMiBps)} Mbit/s)`,
  );
  const modes = labModes(boundGuessS(linkMiBps), DATA_GB);
  for (let r = 1; r <= REPEATS; r++) await runAll(modes, linkMiBps, `repeat ${r}/${REPEATS}`, main);
  // The monitor's post-copy switch is left out of the sweep: it is post-copy again, later.
  const inSweep = (m: LabMode) => m.id !== 'post-copy, timeout';
  for (const ratio of SWEEP) {
    if (ratio === MAIN_RATIO) continue; // the first repeat above is this point
    const link = Math.max(2, Math.round(dirty / ratio));
    await runAll(labModes(boundGuessS(link), DATA_GB).filter(inSweep), link, `sweep ${ratio}×`, sweep);
  }
} finally {
  shapeLink(lab, undefined);
}

const firstPass = quantiles(main.map((r) => r.firstPassBytes ?? Number.NaN));
const boundMs = firstPass ? Math.round((firstPass.median / (linkMiBps * MiB)) * 1000) : Number.NaN;
const modeIds = [...new Set(main.map((r) => r.mode))];
const modes = modeIds.map((id) =>
  summarise(
    id,
    main.filter((r) => r.mode === id),
    boundMs,
  ),
);
const firstOf = (id: LabModeId) => main.find((r) => r.mode === id);
const sweepPoints = [
  ...modeIds.filter((id) => id !== 'post-copy, timeout').map((id) => firstOf(id) as LabRun),
  ...sweep,
].map((r) => ({
  mode: r.mode,
  linkMiBps: r.linkMiBps,
  dirtyPerLink: Math.round(ratioOf(r) * 100) / 100,
  status: r.status,
  guest: r.guest,
  totalMs: r.totalMs,
  downtimeMs: r.downtimeMs,
  maxThrottle: r.maxThrottle,
  duringRatio: Math.round(r.guestRatio.during * 1000) / 1000,
  steeredAtMs: r.steeredAtMs,
  forecast: r.forecast,
}));
const forecasts = forecastCells([...main, ...sweep], ratioOf);
const adaptive = adaptiveTargets([...main, ...sweep], ratioOf, linkMiBps);
console.log(`adaptive switchover and forecast: ${JSON.stringify(adaptive)}`);

console.log(`\nmedians over ${REPEATS} runs (min–max); physical bound ${seconds(boundMs)} s`);
console.log(
  `${'mode'.padEnd(26)} ${'total s'.padStart(16)} ${'downtime ms'.padStart(12)} passes throttle requests  MiB sent  guest during/after`,
);
for (const m of modes) {
  console.log(
    `${m.mode.padEnd(26)} ${formatRange(m.totalMs, seconds).padStart(16)} ${String(m.downtimeMs?.median ?? '—').padStart(12)} ` +
      `${String(m.iterations?.median ?? '—').padStart(6)} ${`${m.maxThrottle?.median ?? 0}%`.padStart(8)} ` +
      `${String(m.postCopyRequests?.median ?? 0).padStart(8)} ${String(Math.round((m.bytes?.median ?? 0) / MiB)).padStart(9)}  ` +
      `${((m.guestRate.duringRatio?.median ?? Number.NaN) * 100).toFixed(0)}% / ${((m.guestRate.afterRatio?.median ?? Number.NaN) * 100).toFixed(0)}%`,
  );
}
const med = (id: LabModeId) => modes.find((m) => m.mode === id);
const postCopy = med('post-copy, force-complete');
const tuned = med('auto-converge tuned')?.totalMs?.median;
const untuned = med('auto-converge')?.totalMs?.median;
const targets = {
  postCopyWithin2xBound:
    postCopy?.totalMs !== null && postCopy?.totalMs !== undefined && postCopy.totalMs.median <= 2 * boundMs,
  postCopyDowntimeUnder100Ms: (postCopy?.downtimeMs?.median ?? Number.POSITIVE_INFINITY) < 100,
  tunedAutoConvergeSpeedup: tuned && untuned ? Math.round((untuned / tuned) * 100) / 100 : null,
};
console.log(
  `targets: post-copy ${seconds(postCopy?.totalMs?.median)} s vs 2× bound ${seconds(2 * boundMs)} s: ` +
    `${targets.postCopyWithin2xBound ? 'met' : 'MISSED'}; downtime ${postCopy?.downtimeMs?.median ?? '—'} ms < 100: ` +
    `${targets.postCopyDowntimeUnder100Ms ? 'met' : 'MISSED'}; tuned auto-converge ${targets.tunedAutoConvergeSpeedup}× ` +
    `faster than QEMU's defaults (≥ 1.3): ${(targets.tunedAutoConvergeSpeedup ?? 0) >= 1.3 ? 'met' : 'MISSED'}`,
);

const written = writeResults(
  'lab.json',
  {
    machine: machine(),
    stack: {
      qemu: lab.stack.qemu,
      libvirt: lab.stack.libvirt,
      accel: labDomainType() === 'kvm' ? 'KVM' : 'TCG',
      name: lab.stack.name,
      label: stackLabel(lab),
    },
    date: new Date().toISOString(),
    runs: REPEATS,
    guest: { ...BUSY_GUEST, dirtyMiBps: Math.round(dirty * 10) / 10 },
    link: { MiBps: linkMiBps, shaping: 'tc tbf on the lab veth pair, both directions' },
    boundMs,
    modes,
    targets: { ...targets, adaptive },
    sweep: sweepPoints,
    forecasts,
    timelines: modeIds.map((id) => ({
      mode: id,
      progress: firstOf(id)?.progress,
      rate: firstOf(id)?.rate,
    })),
  },
  1,
);
console.log(`wrote ${written}`);
await renderReport();
