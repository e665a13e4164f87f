/**
 * `npm run bench:lag` (root, lab up): how long after libvirt's migrate call returns does `job.outcome`
 * resolve? A compute agent waits on that outcome to update its database and free the source. Migrates one
 * small idle guest back and forth `BENCH_RUNS` times (default 20) through migrate(), with the koffi backend
 * wrapped so that the moment `migrateToURI3` resolves is recorded, and prints p50 / p99 / max of the lag.
 * Writes bench/results/outcome-lag.json. Target: within 100 ms of libvirt's return.
 */
import { cpus } from 'node:os';
import {
  type HostName,
  removeGuestEverywhere,
  requireLab,
  stackLabel,
  startGuest,
  waitForConsole,
} from '../lab/domain.js';
import { migrate } from '../src/index.js';
import { writeResults } from './record.js';
import { type CallTimes, timedBackend } from './timed-backend.js';

const lab = requireLab();
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const name = `lagbench-${process.pid}`;

const tenth = (ms: number) => Math.round(ms * 10) / 10;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const lags: number[] = [];
startGuest(lab, 'src', { name, memoryMiB: 256, bufferMiB: 64, mode: 'idle' });
try {
  await waitForConsole(lab.hosts.src, name, (l) => l.kind === 'stats', 180_000);
  let here: HostName = 'src';
  for (let i = 0; i < RUNS; i++) {
    const there: HostName = here === 'src' ? 'dst' : 'src';
    const times: CallTimes = { calls: [], returns: [] };
    const job = await migrate({
      source: { uri: lab.hosts[here].uri },
      domain: { name },
      destination: { uri: lab.hosts[there].uri, migrateUri: `tcp://${lab.hosts[there].address}` },
      providers: { instanceMetadata: () => ({}), hostConfig: () => ({}) },
      backend: timedBackend(times),
    });
    const outcome = await job.outcome;
    const resolvedAt = performance.now();
    const returned = times.returns[0];
    if (outcome.status !== 'completed' || returned === undefined)
      throw new Error(`migration ${i + 1} ${outcome.status}: ${outcome.error?.message}`);
    lags.push(resolvedAt - returned);
    here = there;
  }
} finally {
  removeGuestEverywhere(lab, name);
}

const sorted = [...lags].sort((a, b) => a - b);
const figures = {
  p50: tenth(percentile(sorted, 50)),
  p99: tenth(percentile(sorted, 99)),
  max: tenth(sorted.at(-1) ?? Number.NaN),
};
console.log(
  `\nbench:lag — ${RUNS} migrations of an idle 256 MiB guest; ${stackLabel(lab)}; ${cpus().length} cores`,
);
console.log(
  `outcome after libvirt's return: p50 ${figures.p50.toFixed(1)} ms, p99 ${figures.p99.toFixed(1)} ms, max ${figures.max.toFixed(1)} ms`,
);
console.log(`target (within 100 ms of libvirt's return): ${figures.max <= 100 ? 'met' : 'NOT met'}`);
writeResults('outcome-lag.json', {
  stack: lab.stack,
  cores: cpus().length,
  runs: RUNS,
  lagMs: figures,
  samplesMs: lags.map(tenth),
});
