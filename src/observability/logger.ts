/**
 * A migration job's decisions, steering and warnings as structured log records, for any logger with pino's
 * calling convention (`logger.info(object, message)`): pino itself, bunyan, or a child logger of either.
 */
import type { MigrationJob } from '../migration/job.js';
import type {
  JobWarning,
  MigrationOutcome,
  MigrationProgress,
  RecoveryEvent,
  SteeringEvent,
} from '../migration/types.js';
import type { MigrationPlan } from '../policy/plan.js';
import { redactingLogger } from './redacting-logger.js';

/** What {@link logMigration} writes to: pino's `info`/`warn`/`error` (`debug` used when present). */
export interface MigrationLogger {
  /** Decisions, status changes, accepted steering, a completed outcome. */
  info(record: object, message: string): void;
  /** Steering libvirt refused, the job's warnings, a post-copy that broke and each failed step of its recovery. */
  warn(record: object, message: string): void;
  /** An outcome other than completed. */
  error(record: object, message: string): void;
  /** Progress reports, with `progress: true`. */
  debug?(record: object, message: string): void;
}

/** Options of {@link logMigration}. */
export interface LogMigrationOptions {
  /** The `domain` field of every record. Default: the job's domain UUID. */
  domain?: string;
  /** Log every progress report at `debug` (when the logger has it). Default false: they come every second. */
  progress?: boolean;
}

/**
 * Logs one job until it ends, one record per event, each with an `event` field (`migration.plan`,
 * `migration.status`, `migration.steering`, `migration.warning`, `migration.recovery`, `migration.outcome`,
 * `migration.progress`) and the `domain`. Errors go in `err`, where pino's serializer looks for them. A broken
 * post-copy's recovery is told step by step, and an outcome that leaves two copies of the guest carries
 * `split` (where each copy is, which one holds the guest, which one to destroy) and its `advice`, in the record
 * and in the message. Returns a function that stops logging earlier.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * import { logMigration, migrate } from 'libvirt-migration-policy';
 *
 * const job = await migrate(options);
 * logMigration(job, pino().child({ component: 'migration' }), { domain: 'instance-0001' });
 * // {"event":"migration.plan","domain":"instance-0001","flags":8219,"reasons":[…],"msg":"migration plan: …"}
 * ```
 */
export function logMigration(
  job: MigrationJob,
  logger: MigrationLogger,
  options: LogMigrationOptions = {},
): () => void {
  // Every record leaves without credentials, whatever an error or a reason carried (src/redact.ts).
  logger = redactingLogger(logger);
  const domain = options.domain ?? job.domainUuid;
  const onPlan = (plan: MigrationPlan) =>
    logger.info(
      {
        event: 'migration.plan',
        domain,
        flags: plan.flags,
        flagNames: plan.flagNames,
        postCopy: plan.decisions.postCopy,
        autoConverge: plan.decisions.autoConverge,
        reasons: plan.reasons,
      },
      `migration plan: ${plan.flagNames.join('|')}; ${plan.reasons.join('; ')}`,
    );
  const onStatus = (status: string) =>
    logger.info({ event: 'migration.status', domain, status }, `migration ${status}`);
  const onSteering = (e: SteeringEvent) => {
    const record = {
      event: 'migration.steering',
      domain,
      action: e.action,
      reason: e.reason,
      elapsedMs: e.elapsedMs,
    };
    if (e.error === undefined) logger.info(record, `migration steering: ${e.action} (${e.reason})`);
    else
      logger.warn(
        { ...record, err: e.error },
        `migration steering refused by libvirt: ${e.action} (${e.reason})`,
      );
  };
  const onWarning = (w: JobWarning) =>
    logger.warn(
      { event: 'migration.warning', domain, source: w.source, elapsedMs: w.elapsedMs, err: w.error },
      `migration warning: ${w.message}`,
    );
  const onRecovery = (r: RecoveryEvent) => {
    const record = {
      event: 'migration.recovery',
      domain,
      kind: r.kind,
      cause: r.cause,
      attempt: r.attempt,
      elapsedMs: r.elapsedMs,
      ...(r.nextAttemptInMs === undefined ? {} : { nextAttemptInMs: r.nextAttemptInMs }),
      ...(r.reason === undefined ? {} : { reason: r.reason }),
      ...(r.error === undefined ? {} : { err: r.error }),
    };
    const message = `migration recovery: ${recoveryText(r)}`;
    if (r.kind === 'attempt' || r.kind === 'recovered') logger.info(record, message);
    else logger.warn(record, message);
  };
  const onProgress = options.progress
    ? (p: MigrationProgress) =>
        logger.debug?.(
          {
            event: 'migration.progress',
            domain,
            status: p.status,
            mode: p.mode,
            elapsedMs: p.elapsedMs,
            memoryRemaining: p.memoryRemaining,
            iteration: p.iteration,
            dirtyRate: p.dirtyRate,
            bandwidth: p.bandwidth,
            throttle: p.throttle,
            postCopyRequests: p.postCopyRequests,
          },
          'migration progress',
        )
    : undefined;
  job.on('plan', onPlan);
  job.on('status', onStatus);
  job.on('steering', onSteering);
  job.on('warning', onWarning);
  job.on('recovery', onRecovery);
  if (onProgress) job.on('progress', onProgress);
  let following = true;
  const stop = () => {
    following = false;
    job.off('plan', onPlan);
    job.off('status', onStatus);
    job.off('steering', onSteering);
    job.off('warning', onWarning);
    job.off('recovery', onRecovery);
    if (onProgress) job.off('progress', onProgress);
  };
  void job.outcome.then((outcome) => {
    if (!following) return;
    stop();
    logOutcome(logger, domain, outcome);
  });
  return stop;
}

/** One recovery step in words: what happened, why, and when the next attempt is. */
function recoveryText(r: RecoveryEvent): string {
  const cause = r.cause === 'paused' ? 'paused on request' : 'broke';
  const what = {
    stopped: `post-copy ${cause}, resuming it with POSTCOPY_RESUME`,
    attempt: `attempt ${r.attempt}`,
    'attempt-failed': `attempt ${r.attempt} failed`,
    recovered: `post-copy resumed at attempt ${r.attempt}`,
    refused: 'not attempted',
    'given-up': `given up after ${r.attempt} attempt(s)`,
  }[r.kind];
  const why = r.error ? `: ${r.error.message}` : r.reason ? `: ${r.reason}` : '';
  const next = r.nextAttemptInMs === undefined ? '' : `; next attempt in ${r.nextAttemptInMs} ms`;
  return `${what}${why}${next}`;
}

function logOutcome(logger: MigrationLogger, domain: string, outcome: MigrationOutcome): void {
  const record = {
    event: 'migration.outcome',
    domain,
    status: outcome.status,
    guest: outcome.guest,
    postCopyFailed: outcome.postCopyFailed,
    downtimeMs: outcome.stats?.downtime,
    timeElapsedMs: outcome.stats?.timeElapsed,
    dataProcessed: outcome.stats?.dataProcessed,
    steering: outcome.steering.length,
    warnings: outcome.warnings.length,
    ...(outcome.recovery === undefined ? {} : { recovery: outcome.recovery }),
    ...(outcome.split === undefined ? {} : { split: outcome.split, advice: outcome.split.advice }),
  };
  const recovered = outcome.recovery?.recovered
    ? ` (post-copy resumed after ${outcome.recovery.attempts} attempt(s))`
    : '';
  if (outcome.status === 'completed') {
    logger.info(record, `migration completed: the guest runs on the destination${recovered}`);
    return;
  }
  const split = outcome.split;
  const copies =
    split === undefined
      ? ''
      : `; copies: source ${split.source}, destination ${split.destination}; holds the guest: ${split.authoritative}${split.destroy ? `, destroy the ${split.destroy}'s` : ''}; next: ${split.advice}`;
  logger.error(
    { ...record, err: outcome.error },
    `migration ${outcome.status}: the guest runs on the ${outcome.guest === 'unknown' ? 'source or the destination (unknown)' : outcome.guest}${outcome.error ? `: ${outcome.error.message}` : ''}${copies}`,
  );
}
