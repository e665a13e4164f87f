/** What every benchmark's results file shares: the machine it ran on, its figures' spread, and how it is written. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

/** Where the results files are: bench/results. */
export const RESULTS_DIR = join(import.meta.dirname, 'results');

/** The machine, as every results file records it. */
export function machine(): { cores: number; model: string | undefined; memoryGiB: number } {
  return { cores: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) };
}

/** Median, min and max of a figure over repeated runs. */
export interface Quantiles {
  median: number;
  min: number;
  max: number;
}

/** The spread of the finite values (a run that has no such figure gives NaN); `null` when there are none. */
export function quantiles(values: readonly number[]): Quantiles | null {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  const median = v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
  return { median, min: v[0] as number, max: v.at(-1) as number };
}

/** `median (min–max)`, each figure written by `format`; `—` when there is none. */
export function formatRange(q: Quantiles | null, format: (n: number) => string): string {
  return q ? `${format(q.median)} (${format(q.min)}–${format(q.max)})` : '—';
}

/** Milliseconds as seconds with one decimal; `—` when there is no figure. */
export function seconds(ms: number | undefined | null): string {
  return ms === undefined || ms === null ? '—' : (ms / 1000).toFixed(1);
}

/** Writes `bench/results/<file>` as JSON (`indent` spaces; lab.json uses 1, its timelines are long) and returns its path. */
export function writeResults(file: string, data: unknown, indent = 2): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, file);
  writeFileSync(path, `${JSON.stringify(data, null, indent)}\n`);
  return path;
}
