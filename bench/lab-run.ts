/**
 * One measured migration of `npm run bench:lab`: boot the lab's busy guest on `src`, watch its work rate,
 * migrate it through migrate() in one of the modes, then record what libvirt and the guest say. The guest is
 * removed from both hosts afterwards, whatever happened.
 */
import { type LabInfo, removeGuestEverywhere, startGuest } from '../lab/domain.js';
import { forecastMigration, type MigrationOutcome, type MigrationPlan, migrate } from '../src/index.js';
import { type GuestRate, GuestRateSampler, guestRate, rateBetween, rateSteps } from './guest-rate.js';
import type { LabMode, LabModeId } from './lab-modes.js';

/** The busy guest every run migrates: 384 MiB of RAM, a 192 MiB buffer rewritten by a CPU-bound writer. */
export const BUSY_GUEST = { memoryMiB: 384, bufferMiB: 192, mode: 'cpu' } as const;

/** A point of the memory-remaining curve, `t` seconds after migrate() was called. */
export interface ProgressPoint {
  t: number;
  remainingMiB: number;
  iteration: number;
  throttle: number;
  mode: string;
}

/** A point of the guest's work-rate curve, as a fraction of its rate before the migration. */
export interface RatePoint {
  t: number;
  ratio: number;
}

/** What one run measured. */
export interface LabRun {
  mode: LabModeId;
  linkMiBps: number;
  status: MigrationOutcome['status'];
  guest: MigrationOutcome['guest'];
  flagNames: string[];
  totalMs: number;
  downtimeMs: number | null;
  iterations: number;
  maxThrottle: number;
  postCopyRequests: number;
  bytes: number;
  /** Bytes sent by the first pass: the memory the guest touches, the numerator of the physical bound. */
  firstPassBytes: number | null;
  /** Work rate in pages/s, and as a ratio to the rate before the migration. */
  guestRate: GuestRate;
  guestRatio: { during: number; after: number };
  /** Pages the guest found corrupt (its own verifier): 0 when memory arrived intact. */
  corrupt: number;
  steering: string[];
  /** When the first switch, pause or abort libvirt accepted was made, ms after migrate() (null: none). */
  steeredAtMs: number | null;
  /** What `forecastMigration` said of this mode before the migration, from the guest's rate then (null: no model of this mode). */
  forecast: RunForecast | null;
  error?: string;
  progress: ProgressPoint[];
  rate: RatePoint[];
}

/** The forecast of one run's mode, made before its migration. */
export interface RunForecast {
  converges: boolean;
  outcome: string;
  totalMs: number | null;
  downtimeMs: number | null;
  /** Its inputs: the guest's own write rate just before, and the link. */
  dirtyMiBps: number;
  linkMiBps: number;
}

/**
 * Which of `forecastMigration`'s modes a bench mode is. The monitor's timeout switch has no model of its own
 * (the forecast's post-copy switches after the first pass).
 */
const FORECAST_OF: Record<LabModeId, 'preCopy' | 'autoConverge' | 'postCopy' | 'adaptive' | null> = {
  'pre-copy': 'preCopy',
  'auto-converge': 'autoConverge',
  'auto-converge tuned': 'autoConverge',
  'post-copy, force-complete': 'postCopy',
  'post-copy, timeout': null,
  'adaptive, post-copy allowed': 'adaptive',
  'adaptive, both forbidden': 'adaptive',
};

/**
 * The first pass sends the pages the guest touched (its buffer, its kernel, page tables; untouched pages are
 * zero and cost a header each): 1.2–1.4× the buffer measured here, so the forecast is told 1.3×.
 */
const FIRST_PASS_OF_BUFFER = 1.3;
const DATA_GB = 2;

function forecastFor(
  mode: LabMode,
  plan: MigrationPlan,
  dirtyMiBps: number,
  linkMiBps: number,
): RunForecast | null {
  const which = FORECAST_OF[mode.id];
  if (which === null || !(dirtyMiBps > 0)) return null;
  const f = forecastMigration({
    memoryBytes: BUSY_GUEST.memoryMiB * MiB,
    workingSetBytes: BUSY_GUEST.bufferMiB * MiB,
    firstPassBytes: BUSY_GUEST.bufferMiB * FIRST_PASS_OF_BUFFER * MiB,
    dirtyRateBytesPerSecond: dirtyMiBps * MiB,
    bandwidthBytesPerSecond: linkMiBps * MiB,
    dataGb: DATA_GB,
    plan,
    autoConverge: {
      ...(mode.options.autoConvergeInitial ? { initialPercent: mode.options.autoConvergeInitial } : {}),
      ...(mode.options.autoConvergeIncrement ? { incrementPercent: mode.options.autoConvergeIncrement } : {}),
    },
  })[which];
  return {
    converges: f.converges,
    outcome: f.outcome,
    totalMs: Number.isFinite(f.totalMs) ? Math.round(f.totalMs) : null,
    downtimeMs: f.downtimeMs === undefined ? null : Math.round(f.downtimeMs),
    dirtyMiBps: Math.round(dirtyMiBps * 10) / 10,
    linkMiBps,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;
let counter = 0;

/** Boots a busy guest and waits for `reports` seconds of its work (the first report comes after its fill). */
export async function bootBusyGuest(
  lab: LabInfo,
  reports: number,
): Promise<{ name: string; sampler: GuestRateSampler }> {
  const name = `labbench-${process.pid}-${++counter}`;
  startGuest(lab, 'src', { name, ...BUSY_GUEST });
  const sampler = new GuestRateSampler(lab, name);
  try {
    await sampler.reports(1, 180_000);
    await sampler.reports(reports);
  } catch (error) {
    sampler.stop();
    removeGuestEverywhere(lab, name);
    throw error;
  }
  return { name, sampler };
}

/** Migrates the booted guest `name` from src to dst in `mode`; the guest is gone from both hosts afterwards. */
export async function runMode(
  lab: LabInfo,
  booted: { name: string; sampler: GuestRateSampler },
  mode: LabMode,
  linkMiBps: number,
): Promise<LabRun> {
  const { name, sampler } = booted;
  const progress: ProgressPoint[] = [];
  let firstPassBytes: number | null = null;
  let maxThrottle = 0;
  let postCopyRequests = 0;
  let iterations = 0;
  let lastProcessed = 0;
  let forecast: RunForecast | null = null;
  try {
    const before = sampler.samples.slice(-6);
    const dirtyMiBps = (rateBetween(before[0], before.at(-1)) * 4096) / MiB;
    const t0 = performance.now();
    const job = await migrate({
      source: { uri: lab.hosts.src.uri },
      domain: { name },
      destination: { uri: lab.hosts.dst.uri, migrateUri: `tcp://${lab.hosts.dst.address}` },
      providers: { instanceMetadata: () => mode.instance, hostConfig: () => mode.host },
      pollIntervalMs: 250,
      ...mode.options,
    });
    let forced = false;
    job.on('plan', (plan) => {
      forecast = forecastFor(mode, plan, dirtyMiBps, linkMiBps);
    });
    job.on('progress', (p) => {
      const iteration = p.iteration ?? 0;
      if (iteration >= 2 && firstPassBytes === null && p.memoryProcessed !== undefined)
        firstPassBytes = p.memoryProcessed;
      iterations = Math.max(iterations, iteration);
      maxThrottle = Math.max(maxThrottle, p.throttle ?? 0);
      postCopyRequests = Math.max(postCopyRequests, p.postCopyRequests ?? 0);
      lastProcessed = Math.max(lastProcessed, p.memoryProcessed ?? 0);
      progress.push({
        t: (performance.now() - t0) / 1000,
        remainingMiB: (p.memoryRemaining ?? 0) / MiB,
        iteration,
        throttle: p.throttle ?? 0,
        mode: p.mode,
      });
      if (mode.forceCompleteAfterFirstPass && iteration >= 2 && !forced) {
        forced = true;
        job.forceComplete().catch(() => undefined); // refused once the copy is ending: the outcome says so
      }
    });
    const outcome = await job.outcome;
    const t1 = performance.now();
    await sleep(8_500); // the rate after the move, on the guest's new host
    const samples = sampler.stop();
    const stats = outcome.stats;
    const rate = guestRate(samples, t0, t1);
    return {
      mode: mode.id,
      linkMiBps,
      status: outcome.status,
      guest: outcome.guest,
      flagNames: [...(outcome.plan?.flagNames ?? [])],
      totalMs: Math.round(t1 - t0),
      downtimeMs: outcome.status === 'completed' ? (stats?.downtime ?? null) : null,
      iterations: Math.max(iterations, stats?.memoryIteration ?? 0),
      maxThrottle: Math.max(maxThrottle, stats?.autoConvergeThrottle ?? 0),
      postCopyRequests: Math.max(postCopyRequests, stats?.memoryPostcopyRequests ?? 0),
      bytes: stats?.dataProcessed ?? stats?.memoryProcessed ?? lastProcessed,
      firstPassBytes,
      guestRate: rate,
      guestRatio: { during: rate.during / rate.before, after: rate.after / rate.before },
      corrupt: Math.max(0, ...samples.map((s) => s.corrupt)),
      steering: outcome.steering.map((s) => `${s.action}${s.error ? ' (failed)' : ''}`),
      steeredAtMs:
        outcome.steering.find((s) => s.action !== 'set-downtime' && s.action !== 'resume' && !s.error)
          ?.elapsedMs ?? null,
      forecast,
      ...(outcome.error ? { error: outcome.error.message } : {}),
      progress,
      rate: rateSteps(samples)
        .filter((s) => s.atMs >= t0 - 5_000)
        .map((s) => ({ t: (s.atMs - t0) / 1000, ratio: s.pagesPerS / rate.before })),
    };
  } finally {
    sampler.stop();
    removeGuestEverywhere(lab, name);
  }
}
