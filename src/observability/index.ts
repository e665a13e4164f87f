/**
 * Metrics and logs for the agent that embeds migrations: Prometheus gauges and counters (with `prom-client`,
 * an optional peer dependency loaded only when asked for) and structured log records for a pino-style logger.
 *
 * @module
 */
export { type LogMigrationOptions, logMigration, type MigrationLogger } from './logger.js';
export {
  createMigrationMetrics,
  type MigrationMetrics,
  type MigrationMetricsOptions,
  type ObserveOptions,
  observeMigration,
} from './metrics.js';
export type {
  CounterLike,
  GaugeLike,
  HistogramLike,
  MetricConfig,
  MetricsRegistry,
  PromClientModule,
} from './prom-client.js';
export { redactingLogger } from './redacting-logger.js';
