/**
 * Prometheus metrics of live migrations, in the spirit of KubeVirt's `kubevirt_vmi_migration_*`, fed from
 * a {@link MigrationJob}'s events. Names follow Prometheus' conventions: base units (bytes, seconds), `_total`
 * for counters, `_ratio` for fractions, rates as `_bytes_per_second` gauges because libvirt reports them as
 * instantaneous rates. What a fleet aggregates (durations, downtimes, outcomes) has no per-guest label; the
 * per-guest gauges exist while the migration runs and are removed when it ends, so a long-lived agent's
 * series do not grow with every guest it ever moved.
 */

import { MigrationJobError } from '../errors.js';
import type { MigrationJob } from '../migration/job.js';
import type {
  MigrationOutcome,
  MigrationProgress,
  RecoveryEvent,
  SteeringEvent,
} from '../migration/types.js';
import {
  type CounterLike,
  type GaugeLike,
  type HistogramLike,
  loadPromClient,
  type MetricConfig,
  type MetricsRegistry,
  type PromClientModule,
} from './prom-client.js';

/** Options of {@link createMigrationMetrics}. */
export interface MigrationMetricsOptions {
  /** The `prom-client` registry to register the metrics in. */
  registry: MetricsRegistry;
  /** Prefix of every metric name. Default `libvirt_`. */
  prefix?: string;
  /** The `prom-client` module to use instead of the one this package resolves (bundlers, several copies). */
  promClient?: PromClientModule;
}

/** Options of {@link MigrationMetrics.observe} and {@link observeMigration}. */
export interface ObserveOptions {
  /** The `domain` label's value. Default: the job's domain UUID. */
  domain?: string;
  /**
   * Keep the per-domain series (their last values, `active` 0, the end time) after the migration ends, until
   * {@link MigrationMetrics.forget}. Default false: they are removed when it ends.
   */
  keepFinished?: boolean;
}

/** The migration metrics of one registry. */
export interface MigrationMetrics {
  /**
   * Follows one job until it ends: its progress sets the per-domain gauges, its steering and its outcome
   * count, its duration and downtime go into the histograms. Returns a function that stops following it
   * earlier.
   */
  observe(job: MigrationJob, options?: ObserveOptions): () => void;
  /** Removes one domain's per-migration series (kept after the end only with `keepFinished`). */
  forget(domain: string): void;
}

/** The mode label of a migration that ended before libvirt was called: there was no copy to speak of. */
const NOT_STARTED = 'not-started';

const GAUGES = {
  dataTotal: [
    'migration_data_total_bytes',
    'Bytes the migration has to move in all (memory and copied disks).',
  ],
  dataProcessed: ['migration_data_processed_bytes', 'Bytes the migration has moved so far.'],
  dataRemaining: ['migration_data_remaining_bytes', 'Bytes the migration still has to move.'],
  dirtyRate: [
    'migration_dirty_memory_rate_bytes_per_second',
    'How fast the guest dirties memory (libvirt reports pages per second; times the page size).',
  ],
  transferRate: ['migration_memory_transfer_rate_bytes_per_second', 'How fast memory is being copied.'],
  iteration: ['migration_memory_iteration', 'The pre-copy pass, from 1.'],
  throttle: ['migration_auto_converge_throttle_ratio', "Auto-converge's current vCPU throttle, 0 to 1."],
  allowedDowntime: [
    'migration_allowed_downtime_seconds',
    "The maximum downtime the monitor set last (Nova's downtime steps).",
  ],
  expectedDowntime: [
    'migration_expected_downtime_seconds',
    "With switchover 'adaptive': the pause a switch-over now would take (remaining bytes ÷ the smoothed bandwidth), from the convergence forecast.",
  ],
  active: [
    'migration_active',
    '1 while a migration of the domain runs, 0 after (kept only with keepFinished).',
  ],
  postCopy: ['migration_post_copy', '1 while the guest runs on the destination in post-copy.'],
  startTime: ['migration_start_time_seconds', 'When the migration started, in Unix seconds.'],
  endTime: [
    'migration_end_time_seconds',
    'When the migration ended, in Unix seconds (kept only with keepFinished).',
  ],
} as const;

const COUNTERS = {
  postCopyRequests: [
    'migration_postcopy_requests_total',
    'Pages the destination fetched on demand during post-copy, while the migration runs.',
    ['domain'],
  ],
  outcomes: [
    'migrations_total',
    'Migrations ended, by outcome status (completed, failed, cancelled, error) and the mode they ended in (pre-copy, post-copy, paused-by-force-complete, not-started).',
    ['status', 'mode'],
  ],
  steering: [
    'migration_steering_actions_total',
    'Steering calls made (set-downtime, switch-to-post-copy, pause, resume, abort, pause-post-copy, resume-post-copy), by whether libvirt accepted them.',
    ['action', 'result'],
  ],
  recovery: [
    'migration_postcopy_recovery_events_total',
    'Steps of the recovery of broken post-copies (stopped, attempt, attempt-failed, recovered, refused, given-up), by cause (failed, paused).',
    ['kind', 'cause'],
  ],
} as const;

/** Buckets from a second to two hours: a small guest on a fast link to a big one throttled for long. */
const DURATION_BUCKETS = [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200] as const;
/** Buckets from 1 ms to 10 s: the switch-over pause (Google's fleet: median 50 ms, p99 300 ms). */
const DOWNTIME_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const HISTOGRAMS = {
  duration: [
    'migration_duration_seconds',
    "From the start to the end of a migration (libvirt's total time when it reports one), by outcome status and the mode it ended in.",
    ['status', 'mode'],
    DURATION_BUCKETS,
  ],
  downtime: [
    'migration_downtime_seconds',
    "The guest's pause at the switch-over of a completed migration, from libvirt's completed-job stats, by the mode it ended in.",
    ['mode'],
    DOWNTIME_BUCKETS,
  ],
} as const;

type Gauges = Record<keyof typeof GAUGES, GaugeLike>;
type Counters = Record<keyof typeof COUNTERS, CounterLike>;
type Histograms = Record<keyof typeof HISTOGRAMS, HistogramLike>;

/**
 * The migration metrics of `registry`, registered there on first use and reused afterwards: creating them
 * twice for one registry and prefix gives the same metrics, never prom-client's "already registered" error.
 * Loads `prom-client` (an optional peer dependency) now, not when this package is imported.
 *
 * @throws {@link MigrationJobError} `INVALID_OPTIONS` when `prom-client` is not installed, or when the
 * registry holds a metric of one of these names that is not of the kind this package registers.
 *
 * @example
 * ```ts
 * import { register } from 'prom-client';
 * import { createMigrationMetrics, migrate } from 'libvirt-migration-policy';
 *
 * const metrics = createMigrationMetrics({ registry: register });
 * const job = await migrate(options);
 * metrics.observe(job, { domain: 'instance-0001' });
 * // libvirt_migration_data_remaining_bytes{domain="instance-0001"} 1.2e9 … while it runs, then
 * // libvirt_migration_duration_seconds_bucket{status="completed",mode="pre-copy",le="30"} 1 …
 * ```
 */
export function createMigrationMetrics(options: MigrationMetricsOptions): MigrationMetrics {
  const prom = (options.promClient ?? loadPromClient()) as unknown as {
    Gauge: new (config: MetricConfig) => GaugeLike;
    Counter: new (config: MetricConfig) => CounterLike;
    Histogram: new (config: MetricConfig) => HistogramLike;
  };
  const prefix = options.prefix ?? 'libvirt_';
  const { registry } = options;
  const registers = [registry];
  const metric = <T>(name: string, method: string, make: () => T): T => {
    const existing = registry.getSingleMetric(prefix + name) as Record<string, unknown> | undefined;
    if (existing === undefined) return make();
    if (typeof existing[method] !== 'function') {
      throw new MigrationJobError(
        'INVALID_OPTIONS',
        `the registry already holds a metric ${prefix + name} that has no ${method}(): another metric of that name was registered there; pass another prefix`,
        { key: 'prefix', value: prefix },
      );
    }
    return existing as T;
  };
  const gauges = {} as Gauges;
  for (const [key, [name, help]] of Object.entries(GAUGES)) {
    gauges[key as keyof Gauges] = metric(
      name,
      'set',
      () => new prom.Gauge({ name: prefix + name, help, labelNames: ['domain'], registers }),
    );
  }
  const counters = {} as Counters;
  for (const [key, [name, help, labelNames]] of Object.entries(COUNTERS)) {
    counters[key as keyof Counters] = metric(
      name,
      'inc',
      () => new prom.Counter({ name: prefix + name, help, labelNames, registers }),
    );
  }
  const histograms = {} as Histograms;
  for (const [key, [name, help, labelNames, buckets]] of Object.entries(HISTOGRAMS)) {
    histograms[key as keyof Histograms] = metric(
      name,
      'observe',
      () => new prom.Histogram({ name: prefix + name, help, labelNames, buckets, registers }),
    );
  }
  const forget = (domain: string) => {
    for (const gauge of Object.values(gauges)) gauge.remove({ domain });
    counters.postCopyRequests.remove({ domain });
  };
  return {
    observe: (job, observeOptions = {}) =>
      follow(
        job,
        observeOptions.domain ?? job.domainUuid,
        { gauges, counters, histograms, forget },
        observeOptions,
      ),
    forget,
  };
}

/**
 * Follows one migration job in `registry`'s migration metrics, registering them on first use for that
 * registry (and reusing them after). Returns a function that stops following it before it ends.
 *
 * @throws {@link MigrationJobError} `INVALID_OPTIONS` when `prom-client` is not installed.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { migrate, observeMigration } from 'libvirt-migration-policy';
 *
 * const registry = new Registry();
 * const job = await migrate(options);
 * observeMigration(job, { registry, domain: 'instance-0001' });
 * await job.outcome;
 * console.log(await registry.metrics()); // libvirt_migrations_total{status="completed",mode="post-copy"} 1 …
 * ```
 */
export function observeMigration(
  job: MigrationJob,
  options: ObserveOptions & { registry: MetricsRegistry },
): () => void {
  const { registry, ...observe } = options;
  return createMigrationMetrics({ registry }).observe(job, observe);
}

interface Instruments {
  gauges: Gauges;
  counters: Counters;
  histograms: Histograms;
  forget: (domain: string) => void;
}

function follow(job: MigrationJob, domain: string, m: Instruments, options: ObserveOptions): () => void {
  const { gauges: g, counters: c, histograms: h } = m;
  const labels = { domain };
  let mode: MigrationProgress['mode'] = 'pre-copy';
  let requestsSeen = 0;
  const startedAt = performance.now();
  g.active.set(labels, 1);
  g.postCopy.set(labels, 0);
  g.startTime.set(labels, Date.now() / 1000);
  g.endTime.remove(labels);

  const onProgress = (p: MigrationProgress) => {
    mode = p.mode;
    const s = p.stats;
    setIf(g.dataTotal, labels, s.dataTotal ?? p.memoryTotal);
    setIf(g.dataProcessed, labels, s.dataProcessed ?? p.memoryProcessed);
    setIf(g.dataRemaining, labels, p.dataRemaining ?? p.memoryRemaining);
    // libvirt gives pages per second; without the page size there is no honest byte figure.
    if (p.dirtyRate !== undefined && s.memoryPageSize !== undefined) {
      g.dirtyRate.set(labels, p.dirtyRate * s.memoryPageSize);
    }
    setIf(g.transferRate, labels, p.bandwidth);
    setIf(g.iteration, labels, p.iteration);
    setIf(g.throttle, labels, p.throttle === undefined ? undefined : p.throttle / 100);
    setIf(g.allowedDowntime, labels, p.downtimeMs === undefined ? undefined : p.downtimeMs / 1000);
    const expected = p.forecast?.expectedDowntimeMs;
    setIf(g.expectedDowntime, labels, expected === undefined ? undefined : expected / 1000);
    g.postCopy.set(labels, p.mode === 'post-copy' ? 1 : 0);
    // libvirt's figure is cumulative for this migration: the counter moves by what is new.
    if (p.postCopyRequests !== undefined && p.postCopyRequests > requestsSeen) {
      c.postCopyRequests.inc(labels, p.postCopyRequests - requestsSeen);
      requestsSeen = p.postCopyRequests;
    }
  };
  const onStatus = (status: string) => {
    if (status === 'running (post-copy)') {
      mode = 'post-copy';
      g.postCopy.set(labels, 1);
    }
  };
  const onSteering = (e: SteeringEvent) => {
    c.steering.inc({ action: e.action, result: e.error === undefined ? 'accepted' : 'refused' });
  };
  const onRecovery = (e: RecoveryEvent) => {
    c.recovery.inc({ kind: e.kind, cause: e.cause });
  };
  job.on('progress', onProgress);
  job.on('status', onStatus);
  job.on('steering', onSteering);
  job.on('recovery', onRecovery);
  let following = true;
  const stop = () => {
    following = false;
    job.off('progress', onProgress);
    job.off('status', onStatus);
    job.off('steering', onSteering);
    job.off('recovery', onRecovery);
  };
  void job.outcome.then((outcome: MigrationOutcome) => {
    if (!following) return;
    stop();
    const s = outcome.stats;
    const ended = outcome.plan === undefined ? NOT_STARTED : mode;
    const elapsedMs = s?.timeElapsed ?? performance.now() - startedAt;
    h.duration.observe({ status: outcome.status, mode: ended }, elapsedMs / 1000);
    if (outcome.status === 'completed' && s?.downtime !== undefined) {
      h.downtime.observe({ mode: ended }, s.downtime / 1000);
    }
    c.outcomes.inc({ status: outcome.status, mode: ended });
    if (!options.keepFinished) {
      m.forget(domain);
      return;
    }
    if (s !== undefined) {
      setIf(g.dataTotal, labels, s.dataTotal);
      setIf(g.dataProcessed, labels, s.dataProcessed);
      setIf(g.dataRemaining, labels, s.dataRemaining);
      if (s.memoryPostcopyRequests !== undefined && s.memoryPostcopyRequests > requestsSeen) {
        c.postCopyRequests.inc(labels, s.memoryPostcopyRequests - requestsSeen);
      }
    }
    g.active.set(labels, 0);
    g.postCopy.set(labels, 0);
    g.endTime.set(labels, Date.now() / 1000);
  });
  return stop;
}

function setIf(gauge: GaugeLike, labels: Record<string, string>, value: number | undefined): void {
  if (value !== undefined) gauge.set(labels, value);
}
