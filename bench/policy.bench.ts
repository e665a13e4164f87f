/**
 * `npm run bench`: throughput of the pure policy core. The targets, per decision on one core:
 * `planMigration` ≤ 150 ns with a plain host literal and ≤ 100 ns with a config from `parseNovaConf`, and
 * ≥ 10× a Nova-style Python implementation of the same decisions (bench/nova_peer.py, run here too when
 * python3 is installed). Every check stays on: the metadata is read and validated on every call.
 * ops/s are derived from the mean time per operation.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import {
  type InstanceMetadata,
  type MonitorState,
  monitorSettings,
  monitorTick,
  parseNovaConf,
  planMigration,
  requiredTraits,
} from '../src/index.js';
import { BENCH_INSTANCES, BENCH_NOVA_CONF } from './fixtures.js';

const instances: InstanceMetadata[] = BENCH_INSTANCES;
const hostLiteral = { permitPostCopy: true, permitAutoConverge: true };
const parsedHost = parseNovaConf(BENCH_NOVA_CONF);

const bench = new Bench({ time: 1500, warmup: true, warmupTime: 300 });
let sink = 0;
const PER_DECISION = new Map<string, number>();

function planFour(host: typeof hostLiteral | typeof parsedHost): void {
  for (let i = 0; i < 4; i++) sink += planMigration({ instance: instances[i], host }).flags;
}
PER_DECISION.set('planMigration, host literal (per decision)', 4);
PER_DECISION.set('planMigration, parseNovaConf config (per decision)', 4);
PER_DECISION.set('requiredTraits (per instance)', 4);

/** Each task's function, for the CPU-time measurement after tinybench's run. */
const FNS = new Map<string, () => void>();
function task(name: string, fn: () => void): [string, () => void] {
  FNS.set(name, fn);
  return [name, fn];
}

const settings = monitorSettings(planMigration({ host: parsedHost }), 8);
let state: MonitorState = {};
let elapsed = 0;

bench
  .add(...task('planMigration, host literal (per decision)', () => planFour(hostLiteral)))
  .add(...task('planMigration, parseNovaConf config (per decision)', () => planFour(parsedHost)))
  .add(
    ...task('parseNovaConf (a 60-line nova.conf)', () => {
      sink += parseNovaConf(BENCH_NOVA_CONF).downtime;
    }),
  )
  .add(
    ...task('requiredTraits (per instance)', () => {
      for (let i = 0; i < 4; i++) sink += requiredTraits(instances[i]).length;
    }),
  )
  .add(
    ...task('monitorTick (running, one tick)', () => {
      elapsed = elapsed >= 7000 ? 0 : elapsed + 5;
      if (elapsed === 0) state = {};
      const result = monitorTick(settings, state, { elapsedSeconds: elapsed, status: 'running' });
      state = result.state;
      sink += result.actions.length;
    }),
  );

await bench.run();

/**
 * CPU time per operation (user + system time of this process over a timed loop): on a machine shared with
 * other work the wall-clock mean counts the time this process waited for a core; CPU time does not.
 */
function cpuNsPerOp(fn: () => void, per: number): number {
  let iterations = 0;
  const start = process.cpuUsage();
  const wallStart = performance.now();
  while (performance.now() - wallStart < 1000 || iterations < 1000) {
    for (let i = 0; i < 100; i++) fn();
    iterations += 100;
  }
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / (iterations * per);
}

const rows = bench.tasks.map((task) => {
  const result = task.result as { latency?: { mean: number; p99?: number } } | undefined;
  const per = PER_DECISION.get(task.name) ?? 1;
  const meanNs = ((result?.latency?.mean ?? Number.NaN) * 1e6) / per;
  const cpuNs = cpuNsPerOp(FNS.get(task.name) as () => void, per);
  return {
    task: task.name,
    'ns/op (mean, wall)': Math.round(meanNs),
    'ops/s (1e9 / mean)': Math.round(1e9 / meanNs),
    'ns/op (CPU time)': Math.round(cpuNs),
  };
});
console.table(rows);
const load = (await import('node:os')).loadavg()[0];
console.log(`load average ${load?.toFixed(1)} on ${(await import('node:os')).availableParallelism()} cores`);

const ns = (name: string) => {
  const row = rows.find((r) => r.task === name);
  return { wall: row?.['ns/op (mean, wall)'] ?? Number.NaN, cpu: row?.['ns/op (CPU time)'] ?? Number.NaN };
};
const literal = ns('planMigration, host literal (per decision)');
const parsed = ns('planMigration, parseNovaConf config (per decision)');
const verdict = (value: { wall: number; cpu: number }, target: number) =>
  `${value.wall} ns/decision wall-clock (${value.wall <= target ? 'met' : 'MISSED'}), ${value.cpu} ns CPU time ` +
  `(${value.cpu <= target ? 'met' : 'MISSED'}) — target ≤ ${target} ns`;
console.log(`planMigration, host literal: ${verdict(literal, 150)}`);
console.log(`planMigration, parsed config: ${verdict(parsed, 100)}`);

const peer = spawnSync('python3', [fileURLToPath(new URL('./nova_peer.py', import.meta.url))], {
  encoding: 'utf8',
  timeout: 120_000,
});
const peerWall = peer.status === 0 ? Number(/([\d.]+) ns\/decision wall/.exec(peer.stdout)?.[1]) : Number.NaN;
const peerCpu = peer.status === 0 ? Number(/([\d.]+) ns CPU/.exec(peer.stdout)?.[1]) : Number.NaN;
if (Number.isFinite(peerWall)) {
  const ratio = peerCpu / literal.cpu;
  console.log(
    `Nova-style Python peer (bench/nova_peer.py): ${peer.stdout.trim()}\n` +
      `  planMigration is ${(peerWall / literal.wall).toFixed(1)}× (wall) / ${ratio.toFixed(1)}× (CPU) faster with a ` +
      `host literal, ${(peerWall / parsed.wall).toFixed(1)}× / ${(peerCpu / parsed.cpu).toFixed(1)}× with a parsed ` +
      `config — target ≥ 10×: ${ratio >= 10 ? 'met' : 'MISSED'} (CPU time)`,
  );
} else {
  console.log('Nova-style Python peer: python3 not available, skipped');
}
console.log(`node ${process.version}`);
if (sink === -1) console.log('unreachable');
