/**
 * Loads `prom-client`, an optional peer dependency, the first time metrics are asked for: importing this
 * package never needs it. Only the few constructors used are typed here, so that the package's declarations
 * compile for a consumer who has not installed it.
 */
import { createRequire } from 'node:module';
import { MigrationJobError } from '../errors.js';

/** The part of a `prom-client` `Registry` this module uses; pass your registry (`register` or your own). */
export interface MetricsRegistry {
  /** Called by each metric's constructor (`registers: [registry]`). */
  registerMetric(metric: never): void;
  /** Looked up by `prom-client` to refuse a name registered twice. */
  getSingleMetric(name: string): unknown;
}

/** A labelled gauge, as much of `prom-client`'s as is used. */
export interface GaugeLike {
  /** Sets the series with these labels. */
  set(labels: Record<string, string>, value: number): void;
  /** Drops the series with these labels. */
  remove(labels: Record<string, string>): void;
}

/** A labelled counter, as much of `prom-client`'s as is used. */
export interface CounterLike {
  /** Adds `value` (default 1) to the series with these labels. */
  inc(labels: Record<string, string>, value?: number): void;
  /** Drops the series with these labels. */
  remove(labels: Record<string, string>): void;
}

/** A labelled histogram, as much of `prom-client`'s as is used. */
export interface HistogramLike {
  /** Counts `value` in the buckets of the series with these labels. */
  observe(labels: Record<string, string>, value: number): void;
}

/** What this package passes to the constructors. */
export interface MetricConfig {
  name: string;
  help: string;
  labelNames: readonly string[];
  registers: MetricsRegistry[];
  /** Histograms only: the upper bounds of the buckets. */
  buckets?: readonly number[];
}

/**
 * The constructors of `prom-client` this package uses: `import * as promClient from 'prom-client'` fits. Their
 * parameter is left open (`never`) so that prom-client's own, stricter configuration types are accepted.
 */
export interface PromClientModule {
  Gauge: new (config: never) => GaugeLike;
  Counter: new (config: never) => CounterLike;
  Histogram: new (config: never) => HistogramLike;
}

let loaded: PromClientModule | undefined;

/**
 * `prom-client`, resolved from this package's location (the integrator's copy, as a peer).
 *
 * @throws {@link MigrationJobError} `INVALID_OPTIONS` when it is not installed, saying how to install it.
 */
export function loadPromClient(): PromClientModule {
  if (loaded !== undefined) return loaded;
  try {
    loaded = createRequire(import.meta.url)('prom-client') as PromClientModule;
    return loaded;
  } catch (cause) {
    throw new MigrationJobError(
      'INVALID_OPTIONS',
      'migration metrics need prom-client, an optional peer dependency of libvirt-migration-policy: ' +
        '`npm i prom-client` (version 15), then pass your registry',
      { cause },
    );
  }
}
