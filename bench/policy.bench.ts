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

const settings = monitorSettings(planMigration({ host: parsedHost }), 8);
let state: MonitorState = {};
let elapsed = 0;

bench
  .add('planMigration, host literal (per decision)', () => planFour(hostLiteral))
  .add('planMigration, parseNovaConf config (per decision)', () => planFour(parsedHost))
  .add('parseNovaConf (a 60-line nova.conf)', () => {
    sink += parseNovaConf(BENCH_NOVA_CONF).downtime;
  })
  .add('requiredTraits (per instance)', () => {
    for (let i = 0; i < 4; i++) sink += requiredTraits(instances[i]).length;
  })
  .add('monitorTick (running, one tick)', () => {
    elapsed = elapsed >= 7000 ? 0 : elapsed + 5;
    if (elapsed === 0) state = {};
    const result = monitorTick(settings, state, { elapsedSeconds: elapsed, status: 'running' });
    state = result.state;
    sink += result.actions.length;
  });

await bench.run();

const rows = bench.tasks.map((task) => {
  const result = task.result as { latency?: { mean: number; p99?: number } } | undefined;
  const per = PER_DECISION.get(task.name) ?? 1;
  const meanNs = ((result?.latency?.mean ?? Number.NaN) * 1e6) / per;
  return {
    task: task.name,
    'ns/op (mean)': Math.round(meanNs),
    'ops/s (1e9 / mean)': Math.round(1e9 / meanNs),
  };
});
console.table(rows);

const ns = (name: string) => rows.find((row) => row.task === name)?.['ns/op (mean)'] ?? Number.NaN;
const literal = ns('planMigration, host literal (per decision)');
const parsed = ns('planMigration, parseNovaConf config (per decision)');
console.log(
  `planMigration, host literal: ${literal} ns/decision — target ≤ 150 ns: ${literal <= 150 ? 'met' : 'MISSED'}`,
);
console.log(
  `planMigration, parsed config: ${parsed} ns/decision — target ≤ 100 ns: ${parsed <= 100 ? 'met' : 'MISSED'}`,
);

const peer = spawnSync('python3', [fileURLToPath(new URL('./nova_peer.py', import.meta.url))], {
  encoding: 'utf8',
  timeout: 120_000,
});
const peerNs = peer.status === 0 ? Number(/([\d.]+) ns\/decision/.exec(peer.stdout)?.[1]) : Number.NaN;
if (Number.isFinite(peerNs)) {
  console.log(
    `Nova-style Python peer (bench/nova_peer.py, ${peer.stdout.trim().split('\n').at(-1)?.replace(/.*python /, 'python ')}): ` +
      `${Math.round(peerNs)} ns/decision — planMigration is ${(peerNs / literal).toFixed(1)}× faster with a host literal, ` +
      `${(peerNs / parsed).toFixed(1)}× with a parsed config (target ≥ 10×: ${peerNs / literal >= 10 ? 'met' : 'MISSED'})`,
  );
} else {
  console.log('Nova-style Python peer: python3 not available, skipped');
}
console.log(`node ${process.version}`);
if (sink === -1) console.log('unreachable');
