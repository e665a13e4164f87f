import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import {
  FORECAST_START,
  type Forecast,
  type ForecastContext,
  type ForecastSample,
  type ForecastSettings,
  type ForecastState,
  forecastStep,
  resolveForecastOptions,
} from '../../src/policy/index.js';

import { expectPolicyError } from './helpers.js';

export const MiB = 1024 * 1024;

/** `fn` throws `INVALID_ARGUMENT` naming `key` (and, when given, with exactly `message`). */
export function expectInvalid(fn: () => unknown, key: string, message?: string): void {
  const error = expectPolicyError(fn, 'INVALID_ARGUMENT');
  expect(error.key).toBe(key);
  if (message !== undefined) expect(error.message).toBe(message);
}

/** Settings without a schedule or a timeout: only the downtime given now counts. */
export function bareSettings(extra: Partial<ForecastSettings> = {}): ForecastSettings {
  return { options: resolveForecastOptions(), ...extra };
}

/**
 * Samples of a pre-copy whose pass i leaves `left[i]` MiB, at `bandwidthMiBps`: one sample mid-way through the
 * first pass, then one right at each boundary (the pass before fully sent), with libvirt's dirty rate
 * `dirtyMiBps` (default what each pass left ÷ its duration) and the throttle `throttle[i]`.
 */
export function passes(
  left: readonly number[],
  options: {
    bandwidthMiBps?: number;
    firstPassMiB?: number;
    dirtyMiBps?: number;
    throttle?: readonly number[];
  } = {},
): ForecastSample[] {
  const bw = (options.bandwidthMiBps ?? 40) * MiB;
  const first = (options.firstPassMiB ?? 300) * MiB;
  const samples: ForecastSample[] = [
    {
      atMs: 500,
      remainingBytes: first - bw / 2,
      processedBytes: bw / 2,
      iteration: 1,
      bandwidthBytesPerSecond: bw,
    },
  ];
  let atMs = (first / bw) * 1000;
  let processed = first;
  let previous = first;
  left.forEach((mibLeft, i) => {
    const bytes = mibLeft * MiB;
    const passMs = (previous / bw) * 1000;
    const dirty = options.dirtyMiBps === undefined ? bytes / (passMs / 1000) : options.dirtyMiBps * MiB;
    samples.push({
      atMs,
      remainingBytes: bytes,
      processedBytes: processed,
      iteration: i + 2,
      bandwidthBytesPerSecond: bw,
      dirtyPagesPerSecond: dirty / 4096,
      pageSizeBytes: 4096,
      throttlePercent: options.throttle?.[i] ?? 0,
    });
    atMs += (bytes / bw) * 1000;
    processed += bytes;
    previous = bytes;
  });
  return samples;
}

/** Every forecast of a run of samples, the downtime per sample from `downtimeMs`. */
export function run(
  samples: readonly ForecastSample[],
  settings: ForecastSettings,
  downtimeMs: number | ((s: ForecastSample) => number | undefined) = 50,
  from: ForecastState = FORECAST_START,
): { forecasts: Forecast[]; state: ForecastState } {
  let state = from;
  const forecasts: Forecast[] = [];
  for (const s of samples) {
    const context: ForecastContext = { settings };
    const d = typeof downtimeMs === 'function' ? downtimeMs(s) : downtimeMs;
    if (d !== undefined) context.downtimeMs = d;
    const step = forecastStep(state, s, context);
    state = step.state;
    forecasts.push(step.forecast);
  }
  return { forecasts, state };
}

/** The verdicts at the boundaries, by iteration. */
export const verdicts = (forecasts: readonly Forecast[]) =>
  forecasts.filter((f) => f.atIterationBoundary).map((f) => [f.iteration, f.verdict] as const);

/** A recorded migration (test/policy/fixtures, made by bench/forecast-fixtures.ts). */
export interface Fixture {
  name: string;
  linkMiBps: number;
  dataGb: number;
  host: { completionTimeout?: number };
  plan: { autoConverge: boolean; postCopy: boolean; flagNames: string[] };
  outcome: { status: string; guest: string; totalMs: number; steering: { action: string; atMs: number }[] };
  dirtyRate: {
    consolePagesPerSecondBefore: number | null;
    consolePagesPerSecondDuringPreCopy: number | null;
    libvirtPagesPerSecondFromIteration3: number | null;
  };
  samples: (ForecastSample & { downtimeMs: number | null })[];
}

export function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', `${name}.json`), 'utf8')) as Fixture;
}

/** What a poller every `everyMs` would have seen of the recorded samples. */
export function every<T extends { atMs: number }>(samples: readonly T[], everyMs: number): T[] {
  const kept: T[] = [];
  for (const s of samples) if (kept.length === 0 || s.atMs - (kept.at(-1) as T).atMs >= everyMs) kept.push(s);
  return kept;
}
