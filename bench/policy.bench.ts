/**
 * `npm run bench`, first part: what the pure policy core costs. The target: `planMigration` ≤ 2 µs per
 * decision for realistic metadata — the four instances of bench/fixtures.ts (flavors of 12 extra specs, images
 * of 15 properties) with a config from `parseNovaConf` — on objects made for each call, as an agent has them
 * that reads its inputs afresh for every migration. Making those objects is timed on its own and taken off.
 * Beside it, the same decisions by a Nova-style Python peer (bench/nova_peer.py, when python3 is installed),
 * on dicts made for each call too.
 *
 * The policy remembers nothing between calls, so the same objects planned again cost what fresh ones do (a
 * row shows it). Figures are CPU time per operation: on a shared machine the wall-clock mean also counts the
 * time this process waited for a core. Writes bench/results/policy.json and regenerates docs/performance.md's
 * section from it.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import {
  type HostConfig,
  type InstanceMetadata,
  parseNovaConf,
  planMigration,
  requiredTraits,
} from '../src/index.js';
import { type MonitorState, monitorSettings, monitorTick } from '../src/policy/index.js';
import { BENCH_INSTANCES, BENCH_NOVA_CONF } from './fixtures.js';
import { type PolicyRow, PolicyTasks } from './policy-table.js';
import { machine, writeResults } from './record.js';
import { renderReport } from './report.js';

/** The target, per decision, CPU time. */
const TARGET_NS = 2000;

const instances: readonly InstanceMetadata[] = BENCH_INSTANCES;
const parsedHost = parseNovaConf(BENCH_NOVA_CONF);
/** Parsed configs, each an object of its own, taken in turn: no call gets the object the one before had. */
const PARSED_CONFIGS = 64;
const parsedHosts: readonly HostConfig[] = Array.from({ length: PARSED_CONFIGS }, () =>
  parseNovaConf(BENCH_NOVA_CONF),
);
let nextHost = 0;
let sink = 0;

function copyOf({ flavorExtraSpecs, imageProperties }: InstanceMetadata): InstanceMetadata {
  return { flavorExtraSpecs: { ...flavorExtraSpecs }, imageProperties: { ...imageProperties } };
}

function freshHost(): HostConfig {
  nextHost = (nextHost + 1) % PARSED_CONFIGS;
  return parsedHosts[nextHost] as HostConfig;
}

const FRESH = 'planMigration, fresh metadata and parsed config (per decision, making them included)';
const MAKING = "… making the call's objects alone (per decision)";
const SAME = 'planMigration, the same objects every call (per decision)';
const LITERAL = 'planMigration, host literal written in each call (per decision)';

const bench = new Bench({ time: 1500, warmup: true, warmupTime: 300 });
const tasks = new PolicyTasks();
tasks.add(
  bench,
  FRESH,
  () => {
    for (let i = 0; i < 4; i++) {
      sink += planMigration({ instance: copyOf(instances[i] as InstanceMetadata), host: freshHost() }).flags;
    }
  },
  4,
);
tasks.add(
  bench,
  MAKING,
  () => {
    for (let i = 0; i < 4; i++) {
      const input = { instance: copyOf(instances[i] as InstanceMetadata), host: freshHost() };
      sink += input.instance.flavorExtraSpecs ? 1 : 0;
    }
  },
  4,
);
tasks.add(
  bench,
  SAME,
  () => {
    for (let i = 0; i < 4; i++) sink += planMigration({ instance: instances[i], host: parsedHost }).flags;
  },
  4,
);
tasks.add(
  bench,
  LITERAL,
  () => {
    for (let i = 0; i < 4; i++) {
      sink += planMigration({
        instance: instances[i],
        host: { permitPostCopy: true, permitAutoConverge: true },
      }).flags;
    }
  },
  4,
);
const asJson = instances.map((instance) => JSON.stringify(instance));
tasks.add(
  bench,
  "JSON.parse of one instance's metadata (for scale)",
  () => {
    for (let i = 0; i < 4; i++) sink += JSON.parse(asJson[i] as string) === null ? 0 : 1;
  },
  4,
);
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
const settings = monitorSettings(planMigration({ host: parsedHost }), 8);
let state: MonitorState = {};
let elapsed = 0;
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

const find = (name: string) => rows.find((r) => r.task === name) as PolicyRow;
const decision = {
  cpuNs: find(FRESH)['ns/op (CPU time)'] - find(MAKING)['ns/op (CPU time)'],
  wallNs: find(FRESH)['ns/op (mean, wall)'] - find(MAKING)['ns/op (mean, wall)'],
};
const met = decision.cpuNs <= TARGET_NS;
console.log(
  `planMigration on fresh objects: ${decision.cpuNs} ns CPU time per decision (${decision.wallNs} ns wall-clock), ` +
    `making the objects taken off — target ≤ ${TARGET_NS} ns: ${met ? 'met' : 'MISSED'}`,
);

const peer = runPeer();
if (peer) {
  console.log(
    `Nova-style Python peer (bench/nova_peer.py, Python ${peer.python}): ${peer.cpuNs} ns CPU time per decision ` +
      `on dicts made for the call (making them taken off), ${peer.sameCpuNs} ns on the same dicts`,
  );
} else {
  console.log('Nova-style Python peer: python3 not available, skipped');
}
const load = loadavg()[0] ?? Number.NaN;
console.log(`load average ${load.toFixed(1)} on ${availableParallelism()} cores, node ${process.version}`);

console.log(
  `wrote ${writeResults('policy.json', {
    date: new Date().toISOString(),
    node: process.version,
    machine: machine(),
    loadAverage: Math.round(load * 10) / 10,
    targetNs: TARGET_NS,
    decision,
    met,
    peer: peer ?? null,
    rows,
  })}`,
);
await renderReport();
if (sink === -1) console.log('unreachable');

/** The peer's figures, or `undefined` without python3. */
function runPeer(): { cpuNs: number; sameCpuNs: number; python: string } | undefined {
  const run = spawnSync('python3', [fileURLToPath(new URL('./nova_peer.py', import.meta.url))], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (run.status !== 0) return undefined;
  const out = JSON.parse(run.stdout) as {
    freshCpuNs: number;
    makingCpuNs: number;
    sameCpuNs: number;
    python: string;
  };
  return {
    cpuNs: Math.round(out.freshCpuNs - out.makingCpuNs),
    sameCpuNs: Math.round(out.sameCpuNs),
    python: out.python,
  };
}
