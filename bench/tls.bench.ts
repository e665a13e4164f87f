/**
 * `npm run bench:tls` (root, the lab up with TLS: `LAB_TLS=1 bash lab/up.sh`): what QEMU's native TLS costs a
 * migration, against a plain one in the same run. One guest per workload moves back and forth between the
 * hosts `BENCH_RUNS` times (default 5) in each mode, alternating which mode goes first; both modes reach the
 * other libvirtd over `qemu+tls://`, so the only difference is `live_migration_with_native_tls` (the
 * stream's encryption). Workloads: an idle guest (its buffer written once: the copy's own speed) and the
 * busy guest of bench:lab (a CPU-bound page writer), both on an unshaped link. Figures: libvirt's total time
 * and downtime, the bytes QEMU moved and its rate, and the CPU time of the source QEMU's migration thread
 * (where the encryption runs). Writes bench/results/tls.json and regenerates docs/performance.md's section.
 */
import { readdirSync, readFileSync } from 'node:fs';
import {
  type HostName,
  type LabHostTls,
  type LabInfo,
  qemuPids,
  readLab,
  removeGuestEverywhere,
  stackLabel,
  startGuest,
  waitForConsole,
} from '../lab/domain.js';
import { MigrateFlags, migrate } from '../src/index.js';
import { machine, type Quantiles, quantiles, writeResults } from './record.js';
import { renderReport } from './report.js';

const found = readLab();
if (!found?.tls?.enabled) {
  console.log(
    'the TLS benchmark needs the lab with TLS (sudo LAB_TLS=1 bash lab/up.sh, docs/security.md): not run',
  );
  process.exit(0);
}
const lab: LabInfo = found;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
if (!Number.isInteger(RUNS) || RUNS < 1)
  throw new Error(`BENCH_RUNS is "${process.env.BENCH_RUNS}": use 1 or more`);
const WORKLOADS = {
  idle: { memoryMiB: 384, bufferMiB: 256, mode: 'idle' },
  busy: { memoryMiB: 384, bufferMiB: 192, mode: 'cpu' },
} as const;
type Workload = keyof typeof WORKLOADS;
type Mode = 'plain' | 'tls';
const TICKS = 100; // USER_HZ: /proc's clock ticks per second on Linux
const tlsOf = (h: HostName) => lab.hosts[h].tls as LabHostTls;
const other = (h: HostName): HostName => (h === 'src' ? 'dst' : 'src');

interface Run {
  workload: Workload;
  mode: Mode;
  from: HostName;
  status: string;
  flags: number;
  totalMs: number;
  downtimeMs: number | null;
  bytes: number;
  /** Bytes QEMU moved per second of libvirt's total time, MiB/s. */
  MiBps: number;
  /** CPU seconds of the source QEMU's migration thread (`mig/src/main` in QEMU 10, `live_migration` in older QEMUs). */
  migrationCpuS: number | null;
}

/** The CPU seconds (user + system) of guest `name`'s QEMU migration thread on `host`, or null while there is none. */
function migrationThreadCpu(host: HostName, name: string): number | null {
  const pid = qemuPids(lab, host, name)[0];
  if (pid === undefined) return null;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // QEMU 10 (the lab) names the outgoing migration thread mig/src/main; older QEMUs live_migration.
      if (comm !== 'mig/src/main' && comm !== 'live_migration') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / TICKS;
    }
  } catch {
    // The thread or the process ended between the reads.
  }
  return null;
}

async function once(workload: Workload, name: string, mode: Mode, from: HostName): Promise<Run> {
  const to = other(from);
  let cpu: number | null = null;
  const sampler = setInterval(() => {
    cpu = migrationThreadCpu(from, name) ?? cpu;
  }, 100);
  try {
    const job = await migrate({
      source: { uri: lab.hosts[from].uri },
      domain: { name },
      destination: {
        uri: `${tlsOf(to).uri}?pkipath=${tlsOf(from).agentPkiPath}`,
        migrateUri: `tcp://${tlsOf(to).name}`,
      },
      providers: { instanceMetadata: () => ({}), hostConfig: () => ({ nativeTls: mode === 'tls' }) },
      tlsPreflight: { certDir: tlsOf(from).qemuCertDir, destinationCertDir: tlsOf(to).qemuCertDir },
      pollIntervalMs: 250,
    });
    const outcome = await job.outcome;
    const s = outcome.stats;
    const bytes = s?.memoryProcessed ?? s?.dataProcessed ?? 0;
    const totalMs = s?.timeElapsed ?? Number.NaN;
    return {
      workload,
      mode,
      from,
      status: outcome.status,
      flags: outcome.plan?.flags ?? 0,
      totalMs,
      downtimeMs: s?.downtime ?? null,
      bytes,
      MiBps: bytes / 2 ** 20 / (totalMs / 1000),
      migrationCpuS: cpu,
    };
  } finally {
    clearInterval(sampler);
  }
}

const runs: Run[] = [];
console.log(
  `bench:tls — ${stackLabel(lab)}; ${machine().cores} cores; ${RUNS} runs per mode and workload, modes alternating; unshaped link`,
);
for (const workload of Object.keys(WORKLOADS) as Workload[]) {
  const name = `tlsbench-${workload}-${process.pid}`;
  let at: HostName = 'src';
  try {
    startGuest(lab, at, { name, ...WORKLOADS[workload] });
    await waitForConsole(lab.hosts[at], name, (l) => l.kind === 'stats', 120_000);
    // The idle guest fills its buffer once: wait for the fill to be over (its first full sweep).
    await waitForConsole(lab.hosts[at], name, (l) => l.kind === 'stats' && l.sweeps >= 1, 180_000);
    for (let r = 0; r < RUNS; r++) {
      const order: Mode[] = r % 2 === 0 ? ['plain', 'tls'] : ['tls', 'plain'];
      for (const mode of order) {
        const run = await once(workload, name, mode, at);
        runs.push(run);
        if (run.status !== 'completed')
          throw new Error(`${workload} ${mode} ${at} → ${other(at)}: ${run.status}`);
        if (((run.flags & MigrateFlags.TLS) !== 0) !== (mode === 'tls'))
          throw new Error(`${mode} run sent flags ${run.flags}: the TLS flag is not as asked`);
        console.log(
          `[${workload} ${r + 1}/${RUNS}] ${mode.padEnd(5)} ${at} → ${other(at)} ${(run.totalMs / 1000).toFixed(2)} s, ` +
            `downtime ${run.downtimeMs} ms, ${(run.bytes / 2 ** 20).toFixed(0)} MiB at ${run.MiBps.toFixed(0)} MiB/s, ` +
            `migration thread ${run.migrationCpuS?.toFixed(2) ?? '—'} CPU s`,
        );
        at = other(at);
      }
    }
  } finally {
    removeGuestEverywhere(lab, name);
  }
}

const summary = (workload: Workload, mode: Mode) => {
  const of = (f: (r: Run) => number | null) =>
    quantiles(runs.filter((r) => r.workload === workload && r.mode === mode).map((r) => f(r) ?? Number.NaN));
  return {
    totalMs: of((r) => r.totalMs),
    downtimeMs: of((r) => r.downtimeMs),
    MiB: of((r) => r.bytes / 2 ** 20),
    MiBps: of((r) => r.MiBps),
    migrationCpuS: of((r) => r.migrationCpuS),
  };
};
const ratio = (a: Quantiles | null, b: Quantiles | null) => (a && b ? a.median / b.median : null);
const workloads = (Object.keys(WORKLOADS) as Workload[]).map((workload) => {
  const plain = summary(workload, 'plain');
  const tls = summary(workload, 'tls');
  return {
    workload,
    guest: WORKLOADS[workload],
    plain,
    tls,
    tlsOverPlain: {
      totalMs: ratio(tls.totalMs, plain.totalMs),
      MiBps: ratio(tls.MiBps, plain.MiBps),
      migrationCpuS: ratio(tls.migrationCpuS, plain.migrationCpuS),
    },
  };
});
for (const w of workloads) {
  const t = w.tlsOverPlain;
  console.log(
    `${w.workload}: TLS/plain total time ${t.totalMs?.toFixed(2)}×, rate ${t.MiBps?.toFixed(2)}×, migration thread CPU ${t.migrationCpuS?.toFixed(2)}×`,
  );
}
const path = writeResults('tls.json', {
  machine: machine(),
  stack: { ...lab.stack, label: stackLabel(lab) },
  date: new Date().toISOString(),
  runs: RUNS,
  command: 'sudo npm run bench:tls',
  workloads,
  all: runs,
});
console.log(`wrote ${path}`);
await renderReport();
