/**
 * `npm run bench:agent` (root, lab up): one agent process steering 8 concurrent long migrations through
 * migrate(). Measures this process's event-loop delay and the latency of a small fs.readFile while they run,
 * and again while the source libvirtd is stopped (SIGSTOP) for 10 s. In the same run, with the same
 * migrations in flight, the same kind of libvirt polling is made the naive ways — synchronously on the main
 * thread, and with koffi's async calls on libuv's pool — under the same hang. Prints a table and writes
 * bench/results/agent.json. Targets: p99 loop delay ≤ 20 ms and file read ≤ 50 ms, also while the daemon hangs.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { removeGuestEverywhere, requireLab, stackLabel, startGuest, waitForConsole } from '../lab/domain.js';
import { type MigrationJob, migrate } from '../src/index.js';
import { openNaive } from './naive-bindings.js';
import { machine, writeResults } from './record.js';
import { renderReport } from './report.js';

const lab = requireLab();
const GUESTS = Number(process.env.BENCH_GUESTS ?? 8);
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 10_000);
const HANG_MS = 10_000;
const names = Array.from({ length: GUESTS }, (_, i) => `agentbench-${process.pid}-${i}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const libvirtdPid = () => Number(readFileSync(join(lab.stateDir, 'src', 'pids', 'libvirtd.pid'), 'utf8'));

interface Figures {
  loopP50: number;
  loopP99: number;
  loopMax: number;
  readP50: number;
  readP99: number;
  readMax: number;
}

/** Loop delay and fs.readFile latency while `during` runs for `ms`. */
async function measure(ms: number, during?: () => Promise<void>): Promise<Figures> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  const reads: number[] = [];
  let stop = false;
  loop.enable();
  const reader = (async () => {
    while (!stop) {
      const t = performance.now();
      await readFile(import.meta.filename);
      reads.push(performance.now() - t);
      await sleep(20);
    }
  })();
  const work = during?.();
  await sleep(ms);
  stop = true;
  await reader;
  await work;
  loop.disable();
  reads.sort((a, b) => a - b);
  const q = (p: number) => reads[Math.min(reads.length - 1, Math.floor(p * reads.length))] ?? Number.NaN;
  return {
    loopP50: loop.percentile(50) / 1e6,
    loopP99: loop.percentile(99) / 1e6,
    loopMax: loop.max / 1e6,
    readP50: q(0.5),
    readP99: q(0.99),
    readMax: reads.at(-1) ?? Number.NaN,
  };
}

/**
 * Stops the source libvirtd for HANG_MS, then continues it — from a separate process: a naive synchronous
 * call blocks this process's main thread for as long as the daemon is stopped, so a timer here could never
 * send the SIGCONT.
 */
async function hang(): Promise<void> {
  const pid = libvirtdPid();
  const child = spawn('sh', ['-c', `kill -STOP ${pid}; sleep ${HANG_MS / 1000}; kill -CONT ${pid}`], {
    stdio: 'ignore',
  });
  await new Promise((r) => child.once('exit', r));
}

process.on('exit', () => {
  try {
    process.kill(libvirtdPid(), 'SIGCONT');
  } catch {
    // Not there.
  }
});
const results: Record<string, Figures> = {};
const jobs: MigrationJob[] = [];
try {
  for (const name of names) startGuest(lab, 'src', { name, memoryMiB: 192, bufferMiB: 96, mode: 'idle' });
  for (const name of names) await waitForConsole(lab.hosts.src, name, (l) => l.kind === 'stats', 180_000);
  for (const name of names) {
    jobs.push(
      await migrate({
        source: { uri: lab.hosts.src.uri },
        domain: { name },
        destination: { uri: lab.hosts.dst.uri, migrateUri: `tcp://${lab.migrateAddress}` },
        providers: { instanceMetadata: () => ({}), hostConfig: () => ({}) },
        bandwidth: 1,
        pollIntervalMs: 250,
      }),
    );
  }
  await sleep(2_000);
  results['library, 8 migrations'] = await measure(PHASE_MS);
  results['library, daemon stopped 10 s'] = await measure(HANG_MS + 1_000, hang);

  const naive = openNaive(lab.hosts.src.uri, names);
  const pollEvery = (fn: () => unknown) => {
    let on = true;
    const loop = (async () => {
      while (on) {
        await fn();
        await sleep(250);
      }
    })();
    return async () => {
      on = false;
      await loop;
    };
  };
  let done = pollEvery(() => naive.pollSync());
  results['naive sync on the main thread'] = await measure(PHASE_MS);
  results['naive sync, daemon stopped 10 s'] = await measure(HANG_MS + 1_000, hang);
  await done();
  done = pollEvery(() => naive.pollAsync());
  results["naive koffi async (libuv's pool)"] = await measure(PHASE_MS);
  results['naive koffi async, daemon stopped 10 s'] = await measure(HANG_MS + 1_000, hang);
  await done();
  naive.close();
} finally {
  for (const job of jobs) {
    try {
      job.abort();
    } catch {
      // Already ended.
    }
  }
  await Promise.all(jobs.map((j) => j.outcome));
  for (const name of names) removeGuestEverywhere(lab, name);
}

const fmt = (n: number) => n.toFixed(1).padStart(8);
console.log(`\nbench:agent — ${GUESTS} migrations in flight; ${stackLabel(lab)}; ${cpus().length} cores`);
console.log(`${'case'.padEnd(42)} loop p50  loop p99  loop max  read p50  read p99  read max (ms)`);
for (const [name, f] of Object.entries(results)) {
  console.log(
    `${name.padEnd(42)}${fmt(f.loopP50)}  ${fmt(f.loopP99)}  ${fmt(f.loopMax)}  ${fmt(f.readP50)}  ${fmt(f.readP99)}  ${fmt(f.readMax)}`,
  );
}
const lib = [results['library, 8 migrations'], results['library, daemon stopped 10 s']];
const met = lib.every((f) => f !== undefined && f.loopP99 <= 20 && f.readP99 <= 50);
console.log(
  `targets (library: p99 loop ≤ 20 ms, file read ≤ 50 ms, also while the daemon hangs): ${met ? 'met' : 'MISSED'}`,
);
writeResults('agent.json', {
  machine: machine(),
  stack: { ...lab.stack, label: stackLabel(lab) },
  date: new Date().toISOString(),
  guests: GUESTS,
  phaseMs: PHASE_MS,
  hangMs: HANG_MS,
  results,
  targetsMet: met,
});
await renderReport();
