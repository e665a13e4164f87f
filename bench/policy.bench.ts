/**
 * `npm run bench`: throughput of the pure policy core. The targets, per decision on one core:
 * `planMigration` ≤ 150 ns with a plain host literal and ≤ 100 ns with a config from `parseNovaConf`, and
 * ≥ 10× a Nova-style Python implementation of the same decisions (bench/nova_peer.py, run here too when
 * python3 is installed). Every check stays on: the metadata is read and validated on every call.
 * ops/s are derived from the mean time per operation.
 *
 * These rows plan the same four objects again and again, which the policy remembers;
 * bench/policy-afresh.bench.ts, run next in a process of its own, shows what an agent pays that reads its
 * inputs afresh for every migration.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { type InstanceMetadata, parseNovaConf, planMigration, requiredTraits } from '../src/index.js';
import { type MonitorState, monitorSettings, monitorTick } from '../src/policy/index.js';
import { BENCH_INSTANCES, BENCH_NOVA_CONF } from './fixtures.js';
import { PolicyTasks } from './policy-table.js';

const instances: InstanceMetadata[] = BENCH_INSTANCES;
const hostLiteral = { permitPostCopy: true, permitAutoConverge: true };
const parsedHost = parseNovaConf(BENCH_NOVA_CONF);

const bench = new Bench({ time: 1500, warmup: true, warmupTime: 300 });
const tasks = new PolicyTasks();
let sink = 0;

function planFour(host: typeof hostLiteral | typeof parsedHost): void {
  for (let i = 0; i < 4; i++) sink += planMigration({ instance: instances[i], host }).flags;
}

const settings = monitorSettings(planMigration({ host: parsedHost }), 8);
let state: MonitorState = {};
let elapsed = 0;

const LITERAL = 'planMigration, host literal (per decision)';
const PARSED = 'planMigration, parseNovaConf config (per decision)';
tasks.add(bench, LITERAL, () => planFour(hostLiteral), 4);
tasks.add(bench, PARSED, () => planFour(parsedHost), 4);
tasks.add(bench, 'parseNovaConf (a 60-line nova.conf)', () => {
  sink += parseNovaConf(BENCH_NOVA_CONF).downtime;
});
tasks.add(
  bench,
  'requiredTraits (per instance)',
  () => {
    for (let i = 0; i < 4; i++) sink += requiredTraits(instances[i]).length;
  },
  4,
);
tasks.add(bench, 'monitorTick (running, one tick)', () => {
  elapsed = elapsed >= 7000 ? 0 : elapsed + 5;
  if (elapsed === 0) state = {};
  const result = monitorTick(settings, state, { elapsedSeconds: elapsed, status: 'running' });
  state = result.state;
  sink += result.actions.length;
});

await bench.run();

const rows = tasks.rows(bench);
console.table(rows);
const load = (await import('node:os')).loadavg()[0];
console.log(`load average ${load?.toFixed(1)} on ${(await import('node:os')).availableParallelism()} cores`);

const ns = (name: string) => {
  const row = rows.find((r) => r.task === name);
  return { wall: row?.['ns/op (mean, wall)'] ?? Number.NaN, cpu: row?.['ns/op (CPU time)'] ?? Number.NaN };
};
const literal = ns(LITERAL);
const parsed = ns(PARSED);
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
