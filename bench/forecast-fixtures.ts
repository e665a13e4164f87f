/**
 * `LAB_NAME=… heavy npx tsx bench/forecast-fixtures.ts` (root, lab up): records the job-stats sequences the
 * convergence forecast is tested on (test/policy/fixtures/*.json), from real migrations through the public
 * migrate() and its `progress` events: a busy guest on a link about half its dirty rate with plain pre-copy
 * (stopped by the completion timeout), the same with auto-converge, the same switched to post-copy after a
 * few passes, an idle guest, and a lightly writing guest. Each fixture keeps only the fields the forecast
 * reads, plus what the guest's own console said of its write rate (`pages_per_s`) beside libvirt's
 * `memory_dirty_rate`. `FIXTURES=busy-pre-copy,idle` records only those.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type GuestMode,
  removeGuestEverywhere,
  requireLab,
  shapeLink,
  stackLabel,
  startGuest,
} from '../lab/domain.js';
import { type HostConfig, type InstanceMetadata, type MigrationProgress, migrate } from '../src/index.js';
import { GuestRateSampler, rateBetween } from './guest-rate.js';

const lab = requireLab();
const MiB = 1024 * 1024;
const PAGE = 4096;
const DATA_GB = 2; // Nova counts at least 2 GiB for a guest this small
const OUT = join(import.meta.dirname, '..', 'test', 'policy', 'fixtures');

interface Scenario {
  name: string;
  guest: { mode: GuestMode; work?: number };
  instance: InstanceMetadata;
  host: Partial<HostConfig>;
  /**
   * How often the job polls. The idle guest's last passes last tens of ms, so it is polled every 20 ms and the
   * samples kept are those a 250 ms poller would have seen (`keepEveryMs`): the file stays small.
   */
  pollIntervalMs?: number;
  keepEveryMs?: number;
  /** Ask for force-complete (the post-copy switch) once this pass has begun. */
  forceCompleteAtIteration?: number;
  why: string;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'busy-pre-copy',
    guest: { mode: 'cpu' },
    instance: {},
    host: { completionTimeout: 38 }, // × 2 GiB: stopped (abort) after 76 s
    why: 'plain pre-copy that never converges: the completion timeout aborts it',
  },
  {
    name: 'busy-auto-converge',
    guest: { mode: 'cpu' },
    instance: { flavorExtraSpecs: { 'compute:live_migration_auto_converge': 'true' } },
    host: { completionTimeout: 75 },
    why: "auto-converge with QEMU's defaults (initial 20 %, increment 10 %)",
  },
  {
    name: 'busy-post-copy',
    guest: { mode: 'cpu' },
    instance: { imageProperties: { compute_live_migration_post_copy: 'true' } },
    host: { completionTimeout: 75 },
    forceCompleteAtIteration: 5,
    why: 'pre-copy for four passes, then force-complete switches to post-copy',
  },
  {
    name: 'idle',
    guest: { mode: 'idle' },
    instance: {},
    pollIntervalMs: 20,
    keepEveryMs: 250,
    host: { completionTimeout: 75 },
    why: 'a guest that filled its buffer once and then only sleeps',
  },
  {
    name: 'light',
    guest: { mode: 'cpu', work: 400_000 },
    instance: {},
    host: { completionTimeout: 75 },
    why: 'a guest writing a fraction of what the link carries: pre-copy converges over a few passes',
  },
];

/** One progress report, reduced to what the forecast reads (units in the names). */
export interface FixtureSample {
  atMs: number;
  mode: MigrationProgress['mode'];
  remainingBytes: number;
  processedBytes: number;
  bandwidthBytesPerSecond: number;
  dirtyPagesPerSecond: number;
  pageSizeBytes: number;
  iteration: number;
  throttlePercent: number;
  downtimeMs: number | null;
}

const sampleOf = (p: MigrationProgress): FixtureSample => ({
  atMs: p.elapsedMs,
  mode: p.mode,
  remainingBytes: p.memoryRemaining ?? 0,
  processedBytes: p.memoryProcessed ?? 0,
  bandwidthBytesPerSecond: p.bandwidth ?? 0,
  dirtyPagesPerSecond: p.dirtyRate ?? 0,
  pageSizeBytes: p.stats.memoryPageSize ?? PAGE,
  iteration: p.iteration ?? 0,
  throttlePercent: p.throttle ?? 0,
  downtimeMs: p.downtimeMs ?? null,
});

const median = (values: number[]): number | null => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** The samples a poller every `everyMs` would have seen: the first at least `everyMs` after the last kept. */
function thin(samples: FixtureSample[], everyMs: number | undefined): FixtureSample[] {
  if (everyMs === undefined) return samples;
  const kept: FixtureSample[] = [];
  for (const s of samples)
    if (kept.length === 0 || s.atMs - (kept.at(-1) as FixtureSample).atMs >= everyMs) kept.push(s);
  return kept;
}

/** JSON with one sample (and one console report) per line: small, and readable in a diff. */
export function formatFixture(fixture: Record<string, unknown>): string {
  const lines = Object.entries(fixture).map(([key, value]) => {
    if (!Array.isArray(value)) return `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`;
    const rows = value.map((row) => `    ${JSON.stringify(row)}`).join(',\n');
    return `  ${JSON.stringify(key)}: [\n${rows}\n  ]`;
  });
  return `{\n${lines.join(',\n')}\n}\n`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wanted = process.env.FIXTURES?.split(',');

/** The busy guest's own write rate today (pages/s), which sizes the link: half of it. */
async function calibrate(): Promise<number> {
  const name = `lf-probe-${process.pid}`;
  startGuest(lab, 'src', { name, memoryMiB: 384, bufferMiB: 192, mode: 'cpu' });
  const sampler = new GuestRateSampler(lab, name);
  try {
    await sampler.reports(1, 180_000);
    await sampler.reports(6);
    const recent = sampler.samples.slice(-6);
    return rateBetween(recent[0], recent.at(-1));
  } finally {
    sampler.stop();
    removeGuestEverywhere(lab, name);
  }
}

/** The guest every scenario boots: its buffer sized so that one pass lasts about 6 s on the link. */
interface GuestSize {
  memoryMiB: number;
  bufferMiB: number;
}

const mbit = (miBps: number) => Math.max(1, Math.round((miBps * MiB * 8) / 1e6));

/**
 * Records one scenario. A busy guest's link is half its own write rate, measured on its console just before
 * the migration (the machine is shared: the rate moves with its load); the others keep the last busy link.
 */
async function record(scenario: Scenario, size: GuestSize, lastLink: number): Promise<number> {
  const name = `lf-${scenario.name}-${process.pid}`;
  startGuest(lab, 'src', { name, ...size, ...scenario.guest });
  const sampler = new GuestRateSampler(lab, name);
  try {
    await sampler.reports(1, 180_000);
    await sampler.reports(6);
    const recent = sampler.samples.slice(-6);
    const ownMiBps = (rateBetween(recent[0], recent.at(-1)) * PAGE) / MiB;
    const linkMiBps =
      scenario.guest.mode === 'cpu' && scenario.guest.work === undefined
        ? Math.max(2, Math.round(ownMiBps / 2))
        : lastLink;
    shapeLink(lab, mbit(linkMiBps));
    const t0 = performance.now();
    const samples: FixtureSample[] = [];
    const job = await migrate({
      source: { uri: lab.hosts.src.uri },
      domain: { name },
      destination: { uri: lab.hosts.dst.uri, migrateUri: `tcp://${lab.hosts.dst.address}` },
      providers: { instanceMetadata: () => scenario.instance, hostConfig: () => scenario.host },
      pollIntervalMs: scenario.pollIntervalMs ?? 250,
      dataGb: DATA_GB,
    });
    let forced = false;
    job.on('progress', (p) => {
      samples.push(sampleOf(p));
      const at = scenario.forceCompleteAtIteration;
      if (at !== undefined && !forced && (p.iteration ?? 0) >= at) {
        forced = true;
        job.forceComplete().catch(() => undefined);
      }
    });
    const outcome = await job.outcome;
    const t1 = performance.now();
    await sleep(3_000);
    const consoleRate = sampler
      .stop()
      .map((s) => ({ atMs: Math.round(s.atMs - t0), pagesPerS: s.pagesPerS, host: s.host }));
    const before = consoleRate.filter((s) => s.atMs < 0 && s.atMs > -6_000).map((s) => s.pagesPerS);
    const duringPreCopy = consoleRate
      .filter((s) => s.atMs > 0 && s.atMs < (samples.filter((x) => x.mode === 'pre-copy').at(-1)?.atMs ?? 0))
      .map((s) => s.pagesPerS);
    const libvirtRate = samples
      .filter((s) => s.mode === 'pre-copy' && s.iteration >= 3 && s.dirtyPagesPerSecond > 0)
      .map((s) => s.dirtyPagesPerSecond);
    const fixture = {
      name: scenario.name,
      why: scenario.why,
      recorded: new Date().toISOString(),
      stack: stackLabel(lab),
      command: 'LAB_NAME=lf heavy npx tsx bench/forecast-fixtures.ts',
      guest: { ...size, ...scenario.guest },
      linkMiBps,
      pollIntervalMs: scenario.pollIntervalMs ?? 250,
      dataGb: DATA_GB,
      instance: scenario.instance,
      host: scenario.host,
      plan: {
        flagNames: outcome.plan?.flagNames ?? [],
        autoConverge: outcome.plan?.autoConverge ?? false,
        postCopy: outcome.plan?.postCopy ?? false,
      },
      outcome: {
        status: outcome.status,
        guest: outcome.guest,
        totalMs: Math.round(t1 - t0),
        downtimeMs: outcome.stats?.downtime ?? null,
        steering: outcome.steering.map((s) => ({
          action: s.action,
          atMs: s.elapsedMs,
          failed: s.error !== undefined,
        })),
      },
      dirtyRate: {
        consolePagesPerSecondBefore: median(before),
        consolePagesPerSecondDuringPreCopy: median(duringPreCopy),
        libvirtPagesPerSecondFromIteration3: median(libvirtRate),
      },
      console: consoleRate,
      samples,
    };
    const file = join(OUT, `${scenario.name}.json`);
    writeFileSync(file, formatFixture({ ...fixture, samples: thin(samples, scenario.keepEveryMs) }));
    const r = fixture.dirtyRate;
    console.log(
      `[${scenario.name}] ${outcome.status} (guest ${outcome.guest}) ${(fixture.outcome.totalMs / 1000).toFixed(1)} s, ` +
        `${samples.length} samples, passes ${Math.max(0, ...samples.map((s) => s.iteration))}, ` +
        `console ${r.consolePagesPerSecondBefore} pages/s before (${(((r.consolePagesPerSecondBefore ?? 0) * PAGE) / MiB).toFixed(1)} MiB/s), ` +
        `${r.consolePagesPerSecondDuringPreCopy} during pre-copy; libvirt memory_dirty_rate ${r.libvirtPagesPerSecondFromIteration3} pages/s ` +
        `(${(((r.libvirtPagesPerSecondFromIteration3 ?? 0) * PAGE) / MiB).toFixed(1)} MiB/s) → ${file}`,
    );
    return linkMiBps;
  } finally {
    sampler.stop();
    removeGuestEverywhere(lab, name);
  }
}

try {
  const pagesPerS = await calibrate();
  const dirtyMiBps = (pagesPerS * PAGE) / MiB;
  const bufferMiB = Math.min(192, Math.max(16, Math.round(((dirtyMiBps / 2) * 6) / 16) * 16));
  const size = { memoryMiB: Math.max(256, 2 * bufferMiB), bufferMiB };
  console.log(
    `forecast fixtures — ${stackLabel(lab)}; the busy guest writes ${Math.round(pagesPerS)} pages/s = ${dirtyMiBps.toFixed(1)} MiB/s today: ` +
      `guests of ${size.memoryMiB} MiB with a ${size.bufferMiB} MiB buffer`,
  );
  let link = Math.max(2, Math.round(dirtyMiBps / 2));
  for (const scenario of SCENARIOS) {
    if (wanted && !wanted.includes(scenario.name)) continue;
    link = await record(scenario, size, link);
  }
} finally {
  shapeLink(lab, undefined);
}
