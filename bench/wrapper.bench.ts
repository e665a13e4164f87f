/**
 * The wrapper's cost, part of `npm run bench` (needs the lab: root, `npm run lab:up`; without it this part says
 * so and stops). An idle guest migrates back and forth `BENCH_RUNS` times (default 5) with `virsh migrate` and
 * as many times with migrate(), the same flags (the ones the library computes for an instance with no opinion
 * on a default host), alternating which tool goes first. Reports the ratio of the medians (target ≤ 1.1×) and
 * the time from the providers' read to libvirt's call — the "just before" of the design. Writes
 * bench/results/wrapper.json and regenerates docs/performance.md's section.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  type HostName,
  type LabInfo,
  readLab,
  removeGuestEverywhere,
  stackLabel,
  startGuest,
  waitForConsole,
} from '../lab/domain.js';
import { migrate, planMigration } from '../src/index.js';
import { machine, type Quantiles, quantiles, writeResults } from './record.js';
import { renderReport } from './report.js';
import { type CallTimes, timedBackend } from './timed-backend.js';

const found = readLab();
if (!found) {
  console.log('the wrapper benchmark needs the lab (sudo npm run lab:up, docs/lab.md): not run');
  process.exit(0);
}
const lab: LabInfo = found;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const GUEST = { memoryMiB: 256, bufferMiB: 64, mode: 'idle' } as const;
const name = `wrapbench-${process.pid}`;
const run = promisify(execFile);

/** `virsh migrate`'s option for each flag the library sets for a default instance on a default host. */
const VIRSH_OPTION: Record<string, string> = {
  LIVE: '--live',
  PEER2PEER: '--p2p',
  PERSIST_DEST: '--persistent',
  UNDEFINE_SOURCE: '--undefinesource',
};
const flagNames = [...planMigration({ host: {} }).flagNames];
const options = flagNames.map((flag) => {
  const option = VIRSH_OPTION[flag];
  if (option === undefined) throw new Error(`no virsh option for ${flag}: add it to VIRSH_OPTION`);
  return option;
});

async function byVirsh(from: HostName, to: HostName): Promise<number> {
  const t = performance.now();
  await run('virsh', [
    '-c',
    lab.hosts[from].uri,
    'migrate',
    ...options,
    name,
    lab.hosts[to].uri,
    `tcp://${lab.hosts[to].address}`,
  ]);
  return performance.now() - t;
}

/** One migrate() run, and where its time went. */
interface LibraryRun {
  ms: number;
  providersToCallMs: number;
  beforeCallMs: number;
  callMs: number;
  steering: string[];
}

/**
 * The first of Nova's downtime steps is `downtime ÷ steps`: 3000 ÷ 10 starts at QEMU's own 300 ms, the
 * maximum downtime virsh leaves in place, so both tools ask QEMU for the same copy. (With nova.conf's
 * defaults the library starts at 50 ms, which makes QEMU copy more passes: Nova's choice, not overhead.)
 */
const SAME_DOWNTIME_AS_VIRSH = { downtime: 3000, downtimeSteps: 10 };

/** Like a compute agent, migrate() gets a connection opened once, not one per migration. */
const times: CallTimes = { calls: [], returns: [] };
const connections = {
  src: await timedBackend(times).open(lab.hosts.src.uri),
  dst: await timedBackend(times).open(lab.hosts.dst.uri),
};

async function byLibrary(from: HostName, to: HostName): Promise<LibraryRun> {
  times.calls.length = 0;
  times.returns.length = 0;
  let readAt = Number.NaN;
  const t = performance.now();
  const job = await migrate({
    source: { connection: connections[from] },
    domain: { name },
    destination: { uri: lab.hosts[to].uri, migrateUri: `tcp://${lab.hosts[to].address}` },
    providers: {
      instanceMetadata: () => ({}),
      hostConfig: () => {
        readAt = performance.now();
        return SAME_DOWNTIME_AS_VIRSH;
      },
    },
  });
  const outcome = await job.outcome;
  const ms = performance.now() - t;
  if (outcome.status !== 'completed')
    throw new Error(`migrate() ${outcome.status}: ${outcome.error?.message}`);
  if (job.plan?.flagNames.join() !== flagNames.join())
    throw new Error(`migrate() used ${job.plan?.flagNames.join('|')}, virsh ${flagNames.join('|')}`);
  const called = times.calls[0] ?? Number.NaN;
  return {
    ms,
    providersToCallMs: called - readAt,
    beforeCallMs: called - t,
    callMs: (times.returns[0] ?? Number.NaN) - called,
    steering: outcome.steering.map((s) => `${s.action} at ${Math.round(s.elapsedMs)} ms: ${s.reason}`),
  };
}

const virshMs: number[] = [];
const libraryMs: number[] = [];
const providersToCallMs: number[] = [];
const beforeCallMs: number[] = [];
const callMs: number[] = [];
let steering: string[] = [];
startGuest(lab, 'src', { name, ...GUEST });
try {
  await waitForConsole(lab.hosts.src, name, (l) => l.kind === 'stats', 180_000);
  let here: HostName = 'src';
  const hop = async (tool: 'virsh' | 'library') => {
    const there: HostName = here === 'src' ? 'dst' : 'src';
    if (tool === 'virsh') virshMs.push(await byVirsh(here, there));
    else {
      const r = await byLibrary(here, there);
      libraryMs.push(r.ms);
      providersToCallMs.push(r.providersToCallMs);
      beforeCallMs.push(r.beforeCallMs);
      callMs.push(r.callMs);
      steering = r.steering;
    }
    here = there;
  };
  for (let i = 0; i < RUNS; i++) {
    for (const tool of i % 2 === 0 ? (['library', 'virsh'] as const) : (['virsh', 'library'] as const))
      await hop(tool);
  }
} finally {
  removeGuestEverywhere(lab, name);
  await Promise.all(Object.values(connections).map((c) => c.close()));
}

/** Every list holds one sample per run: an empty one would be this bench's bug. */
function spread(values: number[]): Quantiles {
  const q = quantiles(values);
  if (q === null) throw new Error(`no samples (BENCH_RUNS is ${RUNS}: use 1 or more)`);
  return q;
}
const virsh = spread(virshMs);
const library = spread(libraryMs);
const result = {
  machine: machine(),
  stack: { ...lab.stack, label: stackLabel(lab) },
  date: new Date().toISOString(),
  runs: RUNS,
  guest: GUEST,
  flagNames,
  virshMs: virsh,
  libraryMs: library,
  providersToCallMs: spread(providersToCallMs),
  beforeCallMs: spread(beforeCallMs),
  callMs: spread(callMs),
  steering,
  ratio: library.median / virsh.median,
  samples: { virshMs, libraryMs, providersToCallMs, beforeCallMs, callMs },
};
console.log(
  `\nwrapper cost — ${RUNS} migrations each of an idle ${GUEST.memoryMiB} MiB guest; ${stackLabel(lab)}`,
);
console.log(`virsh migrate ${options.join(' ')}: median ${result.virshMs.median.toFixed(0)} ms`);
console.log(`migrate() to its outcome:     median ${result.libraryMs.median.toFixed(0)} ms`);
console.log(`ratio ${result.ratio.toFixed(2)}× (target ≤ 1.1×: ${result.ratio <= 1.1 ? 'met' : 'MISSED'})`);
console.log(
  `providers read → libvirt call: median ${result.providersToCallMs.median.toFixed(1)} ms (max ${result.providersToCallMs.max.toFixed(1)} ms)`,
);
writeResults('wrapper.json', result);
await renderReport();
