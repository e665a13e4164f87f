/**
 * The guest's own work rate, read from its console (`LMP t=… gen=…`, about once a second) on whichever host
 * runs it: the cost the application pays for a migration. Lines are stamped with the bench's clock when they
 * are read (every 250 ms), so source and destination consoles share one time axis.
 *
 * Rates come from `gen`, the guest's count of page writes since boot, over its own uptime — not from the
 * `pages_per_s` it prints: a guest stalled by post-copy's page faults prints nothing for seconds, and an average
 * of the lines it did print would leave those seconds out.
 */
import { consoleLines, type HostName, type LabInfo } from '../lab/domain.js';

/** One console report, at `atMs` on the bench's clock (`performance.now()`). */
export interface RateSample {
  atMs: number;
  /** Guest uptime (ms): the same line read twice, from either host, is one sample. */
  uptimeMs: number;
  /** Page writes since boot. */
  gen: number;
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
          gen: line.gen,
          pagesPerS: line.pagesPerS,
          host,
          corrupt: line.corrupt,
        });
      }
    }
  }
}

/** Page writes per second of guest uptime between two reports. */
export const rateBetween = (a: RateSample | undefined, b: RateSample | undefined): number =>
  a === undefined || b === undefined || b.uptimeMs <= a.uptimeMs
    ? Number.NaN
    : ((b.gen - a.gen) * 1000) / (b.uptimeMs - a.uptimeMs);

/** The two consoles' reports in the guest's own order. */
const byUptime = (samples: readonly RateSample[]): RateSample[] =>
  [...samples].sort((a, b) => a.uptimeMs - b.uptimeMs);

/** Work rate before, during and after a migration that ran from `startMs` to `endMs`, in pages/s. */
export interface GuestRate {
  before: number;
  during: number;
  after: number;
}

/**
 * The rate over the 5 s before the migration, over the migration (from the last report before it to the first
 * after it: every stalled or throttled second counts), and over 2–8 s after it, on the guest's new host.
 */
export function guestRate(samples: readonly RateSample[], startMs: number, endMs: number): GuestRate {
  const sorted = byUptime(samples);
  const lastBy = (ms: number) => sorted.filter((s) => s.atMs <= ms).at(-1);
  const firstFrom = (ms: number) => sorted.find((s) => s.atMs >= ms);
  return {
    before: rateBetween(lastBy(startMs - 5_000), lastBy(startMs)),
    during: rateBetween(lastBy(startMs), firstFrom(endMs)),
    after: rateBetween(firstFrom(endMs + 2_000), lastBy(endMs + 8_000)),
  };
}

/** The rate between each report and the one before it, placed at the later one's time. */
export function rateSteps(samples: readonly RateSample[]): { atMs: number; pagesPerS: number }[] {
  const sorted = byUptime(samples);
  return sorted.slice(1).map((s, i) => ({ atMs: s.atMs, pagesPerS: rateBetween(sorted[i], s) }));
}
