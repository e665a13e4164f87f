/**
 * One measured migration of `npm run bench:lab`: boot the lab's busy guest on `src`, watch its work rate,
 * migrate it through migrate() in one of the modes, then record what libvirt and the guest say. The guest is
 * removed from both hosts afterwards, whatever happened.
 */
import { type LabInfo, removeGuestEverywhere, startGuest } from '../lab/domain.js';
import { type MigrationOutcome, migrate } from '../src/index.js';
import { type GuestRate, GuestRateSampler, guestRate, rateSteps } from './guest-rate.js';
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
  error?: string;
  progress: ProgressPoint[];
  rate: RatePoint[];
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
  try {
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
