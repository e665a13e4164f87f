/**
 * The guest's own work rate, read from its console (`LMP t=… pages_per_s=…`, once a second) on whichever host
 * runs it: the cost the application pays for a migration. Lines are stamped with the bench's clock when they
 * are read (every 250 ms), so source and destination consoles share one time axis.
 */
import { consoleLines, type HostName, type LabInfo } from '../lab/domain.js';

/** One console report, at `atMs` on the bench's clock (`performance.now()`). */
export interface RateSample {
  atMs: number;
  /** Guest uptime (ms): the same line read twice, from either host, is one sample. */
  uptimeMs: number;
  pagesPerS: number;
  host: HostName;
  corrupt: number;
}

/** Reads guest `name`'s consoles on both hosts until stopped. */
export class GuestRateSampler {
  readonly samples: RateSample[] = [];
  readonly #seen = new Set<number>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly lab: LabInfo,
    private readonly name: string,
  ) {
    this.#read();
    this.#timer = setInterval(() => this.#read(), 250);
  }

  stop(): RateSample[] {
    clearInterval(this.#timer);
    this.#read();
    return this.samples;
  }

  /** Resolves once `count` reports arrived after now (the guest is working, not only booted). */
  async reports(count: number, timeoutMs = 60_000): Promise<void> {
    const from = this.samples.length;
    const deadline = performance.now() + timeoutMs;
    while (this.samples.length - from < count) {
      if (performance.now() > deadline)
        throw new Error(`guest ${this.name} printed no work report for ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  #read(): void {
    const now = performance.now();
    for (const host of ['src', 'dst'] as const) {
      for (const line of consoleLines(this.lab.hosts[host], this.name)) {
        // A line read while the guest writes it, or split between the hosts' consoles at the switch-over,
        // lacks its last field: read it again when whole, or never.
        if (line.kind !== 'stats' || !Number.isFinite(line.sweeps) || this.#seen.has(line.t)) continue;
        this.#seen.add(line.t);
        this.samples.push({
          atMs: now,
          uptimeMs: line.t,
          pagesPerS: line.pagesPerS,
          host,
          corrupt: line.corrupt,
        });
      }
    }
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const mean = (values: number[]): number =>
  values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;

/** Work rate before, during and after a migration that ran from `startMs` to `endMs`, in pages/s. */
export interface GuestRate {
  before: number;
  during: number;
  after: number;
}

/**
 * The median rate over the 5 s before the migration, the mean over the migration (every second counts: a
 * paused or throttled second is the cost), and the median of 2–8 s after it (the guest settled on its host).
 */
export function guestRate(samples: readonly RateSample[], startMs: number, endMs: number): GuestRate {
  const between = (from: number, to: number) =>
    samples.filter((s) => s.atMs > from && s.atMs <= to).map((s) => s.pagesPerS);
  return {
    before: median(between(startMs - 5_000, startMs)),
    during: mean(between(startMs, endMs)),
    after: median(between(endMs + 2_000, endMs + 8_000)),
  };
}
