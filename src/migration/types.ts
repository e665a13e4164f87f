import type { JobStats, LibvirtBackend, LibvirtConnection } from '../libvirt/types.js';
import type { Forecast } from '../policy/forecast.js';
import type { HostConfig } from '../policy/host-config.js';
import type { InstanceMetadata } from '../policy/metadata.js';
import type { MigrationPlan } from '../policy/plan.js';
import type { GuestSplit, RecoveryOptions } from '../policy/recovery.js';
import type { MigrationStatus } from '../policy/status.js';
import type { WatchdogBounds } from '../policy/watchdog.js';
import type { Destination, MigrationTuning } from './params.js';

/** A value, or a promise of it. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Where the inputs of the decision come from. Both are called immediately before libvirt is called, so a
 * resize or a `nova.conf` reload between scheduling and migration is honoured.
 */
export interface MigrationProviders {
  /** The instance's current flavor extra specs and image properties. */
  instanceMetadata: () => Awaitable<InstanceMetadata | null | undefined>;
  /** The source host's current `[libvirt]` options, e.g. `() => parseNovaConf(readFileSync(path, 'utf8'))`. */
  hostConfig: () => Awaitable<Partial<HostConfig> | null | undefined>;
}

/** Options of {@link migrate}. */
export interface MigrateOptions extends MigrationTuning {
  /** The source libvirtd: an open connection (left open) or a URI (opened and closed by the job). */
  source: { connection: LibvirtConnection } | { uri: string };
  /** The guest, by name or UUID. */
  domain: { name: string } | { uuid: string };
  /** The destination libvirtd, or the destination host from which Nova-style URIs are built. */
  destination: Destination;
  /** Read just before the libvirt call. */
  providers: MigrationProviders;
  /** Copy the disks too (`NON_SHARED_INC`). */
  blockMigration?: boolean;
  /**
   * GiB moved, for the downtime steps and the completion timeout; greater than 0. Default: Nova's
   * `_live_migration_data_gb` from libvirt's answers: the guest's maximum memory (`virDomainGetInfo`, at
   * least 2 GiB) plus, for a block migration, each copied disk's allocation (`virDomainGetBlockInfo`, at
   * least 2 GiB each). The copied disks are `migrateDisks`, or when left out the disks libvirt copies by
   * itself: `<disk type='file'|'block'>` with a source, not `<readonly/>`, not `<shareable/>`.
   */
  dataGb?: number;
  /** How often job stats are read and the monitor runs. Default 1000 ms. */
  pollIntervalMs?: number;
  /** The libvirt binding to use; the koffi binding by default. */
  backend?: LibvirtBackend;
  /**
   * What the job does when the post-copy phase breaks (the link failed): by default it resumes the migration
   * by itself with `POSTCOPY_RESUME`, first after 1 s, then with doubling waits up to 30 s, for 10 minutes
   * or 30 attempts. `false`: it waits for `job.recover()` for that window instead. Never on a destination
   * whose libvirt crashes on resume (see `resumeBlocker`).
   */
  postCopyRecovery?: boolean | Partial<RecoveryOptions>;
  /**
   * The check of the certificates before a migration with native TLS (`live_migration_with_native_tls`, the
   * plan sends `VIR_MIGRATE_TLS`) or to a `qemu+tls://` destination: the source's QEMU directory
   * (`ca-cert.pem`, `client-cert.pem`, `client-key.pem`), the destination's when it is readable here (its
   * `server-cert.pem` must name the host the source verifies), and the libvirt client set under the
   * destination URI's `pkipath=`. A problem ends the job before libvirt is called, the guest untouched, with a
   * `MigrationTlsError` as the outcome's error. Default: `{ certDir: '/etc/pki/qemu' }` (an agent runs on the
   * source host); `false` skips it, e.g. when the agent cannot read the host's files.
   */
  tlsPreflight?: false | TlsPreflightOptions;
  /**
   * When a pre-copy that cannot converge is switched, paused or aborted. `fixed` (the default, Nova's): at
   * the monitor's completion timeout (`live_migration_completion_timeout` per GiB). `adaptive`: as soon as
   * the convergence forecast (`forecastStep`) says `will-not-converge`, at an iteration boundary and a local
   * minimum of the remaining bytes, inside the instance's own policy (`adaptiveSwitchover`): post-copy when
   * it is effective and the instance did not ask for auto-converge; auto-converge left to throttle until its
   * ceiling; otherwise the host's `live_migration_timeout_action` (abort, or pause). The fixed timeout
   * still applies in both modes.
   */
  switchover?: 'fixed' | 'adaptive';
  /**
   * How long a step libvirt holds may move nothing before the job calls it stalled, in ms (each from 1,000 to
   * 86,400,000). Today the job watches its `POSTCOPY_RESUME` attempts: one whose job, bytes and the source's
   * state stay the same for `resumeAttemptMs` is given up (a post-copy pause is sent to end it in libvirt)
   * and the recovery goes on as after a failed attempt, so a hung attempt cannot hold the job past the
   * recovery window. Default (`watchdogBounds`): 60 s — libvirt's own 30 s wait for its job lock on each
   * host and the handshake — plus 4 × the time to send the received-pages bitmap at the link's bandwidth.
   */
  watchdog?: Partial<WatchdogBounds>;
  /**
   * Aborts the migration when it fires, with the guards of `job.abort()`: an abort refused then (in
   * post-copy, or after the end) is reported as a `warning`, and the migration goes on.
   */
  signal?: AbortSignal;
}

/** Where {@link MigrateOptions.tlsPreflight} finds the certificates, as this process sees them. */
export interface TlsPreflightOptions {
  /** The source's `migrate_tls_x509_cert_dir` (qemu.conf). Default `/etc/pki/qemu`. */
  certDir?: string;
  /** The destination's, when readable from here (a shared inventory, or a check on the destination host). */
  destinationCertDir?: string;
}

/** One progress report, from the source's job stats. */
export interface MigrationProgress {
  status: MigrationStatus;
  /**
   * What the guest is doing: `pre-copy` (runs on the source while memory is copied), `post-copy` (runs on
   * the destination, pages fetched on demand), `paused-by-force-complete` (paused on the source so the copy
   * catches up).
   */
  mode: 'pre-copy' | 'post-copy' | 'paused-by-force-complete';
  /** Since the libvirt call started. */
  elapsedMs: number;
  memoryTotal?: number;
  memoryProcessed?: number;
  memoryRemaining?: number;
  dataRemaining?: number;
  /** Pre-copy pass, from 1. */
  iteration?: number;
  /** Pages per second the guest dirties. */
  dirtyRate?: number;
  /** Bytes per second the copy moves. */
  bandwidth?: number;
  /** Auto-converge's current CPU throttle, in percent. */
  throttle?: number;
  /** Pages the destination fetched on demand during post-copy. */
  postCopyRequests?: number;
  /** The maximum downtime the monitor has set, in ms. */
  downtimeMs?: number;
  /** With `switchover: 'adaptive'`: the convergence forecast after this report's stats. */
  forecast?: Forecast;
  /** Everything libvirt reported. */
  stats: JobStats;
}

/**
 * A steering call a job makes.
 *
 * @example
 * ```ts
 * const paused = outcome.steering.some((s) => s.action === ('pause' satisfies SteeringAction) && !s.error);
 * ```
 */
export type SteeringAction =
  | 'set-downtime'
  | 'abort'
  | 'switch-to-post-copy'
  | 'pause'
  | 'resume'
  | 'pause-post-copy'
  | 'resume-post-copy';

/** Something the job did, or tried, to steer the migration, for logs and progress bars. */
export interface SteeringEvent {
  action: SteeringAction;
  /** Why (a monitor rule or a caller's request). */
  reason: string;
  elapsedMs: number;
  /** libvirt refused the call (usually a `LibvirtError`): it did not happen. */
  error?: Error;
  /** The forecast that made the adaptive switchover take this action (its numbers are in `reason` too). */
  forecast?: Forecast;
}

/**
 * Something that went wrong without changing the migration: a steering call libvirt refused, a listener
 * that threw, an event stream that could not start, a size libvirt could not tell, an abort signal refused.
 *
 * @example
 * ```ts
 * job.on('warning', (w) => log.warn(`${w.source}: ${w.message}`, w.error)); // e.g. steering: set-downtime refused by libvirt …
 * ```
 */
export interface JobWarning {
  source: 'steering' | 'listener' | 'events' | 'size' | 'signal';
  message: string;
  error: Error;
  elapsedMs: number;
}

/**
 * A step of the recovery of a broken post-copy: `stopped` (the post-copy broke, or was paused on request),
 * `attempt` (a `POSTCOPY_RESUME` call starts), `attempt-failed`, `recovered`, `refused` (the versions forbid
 * resuming), `given-up` (the window or the attempts ran out).
 *
 * @example
 * ```ts
 * job.on('recovery', (r) => log.warn(`post-copy ${r.kind} (attempt ${r.attempt}) ${r.error?.message ?? ''}`));
 * ```
 */
export interface RecoveryEvent {
  kind: 'stopped' | 'attempt' | 'attempt-failed' | 'recovered' | 'refused' | 'given-up';
  /** `failed`: the link or a host broke it; `paused`: `pausePostCopy()` paused it. */
  cause: 'failed' | 'paused';
  /** The attempt this event is about (0 before the first). */
  attempt: number;
  /** When the next attempt is due, in ms from now, when one is scheduled. */
  nextAttemptInMs?: number;
  /** Why the post-copy stopped, or why the attempt failed or was refused. */
  error?: Error;
  /** For `refused`: why resuming is not sent. */
  reason?: string;
  elapsedMs: number;
}

/** How the recovery of a broken post-copy went, in the outcome. */
export interface RecoveryOutcome {
  cause: 'failed' | 'paused';
  /** `POSTCOPY_RESUME` calls made. */
  attempts: number;
  recovered: boolean;
  /** Why no resume was sent, when the versions forbid it. */
  refused?: string;
  /** From the failure to the end, in ms. */
  durationMs: number;
}

/** Where the guest runs after the job ended. */
export type GuestLocation = 'destination' | 'source' | 'unknown';

/** What every {@link MigrationOutcome} says, whatever its status. */
export interface OutcomeBase {
  /** The plan actually sent to libvirt; absent when the job ended before the call. */
  plan?: MigrationPlan;
  /** Where the guest runs now. */
  guest: GuestLocation;
  /**
   * The post-copy phase failed (link lost): the guest is paused on the source and runs, degraded, on the
   * destination; recover it with `POSTCOPY_RESUME`, never by resuming the source.
   */
  postCopyFailed: boolean;
  /** The recovery of a broken post-copy, when there was one. */
  recovery?: RecoveryOutcome;
  /**
   * Set when a post-copy did not complete: each host's copy of the guest, which one holds it, which must
   * be destroyed, and what the operator should do.
   */
  split?: GuestSplit;
  /** Everything the job did, or tried, to steer it, in order. */
  steering: SteeringEvent[];
  /** Every warning the job emitted, in order. */
  warnings: JobWarning[];
}

/** A migration that completed: the guest runs on the destination. */
export interface CompletedMigration extends OutcomeBase {
  status: 'completed';
  plan: MigrationPlan;
  /**
   * libvirt's completed-job stats (downtime, total time, data moved); each figure is undefined when libvirt
   * reported none.
   */
  stats: JobStats;
  error?: undefined;
}

/** A migration that did not complete: `failed`, `cancelled` (an abort libvirt accepted) or `error`. */
export interface UnfinishedMigration extends OutcomeBase {
  status: 'failed' | 'cancelled' | 'error';
  /** Why it did not complete. */
  error: Error;
  /** libvirt's job stats at the end, when it reported them. */
  stats?: JobStats;
}

/**
 * How a job ended, discriminated by `status`: `stats` is there when it completed, `error` when it did not.
 * The promise of it never rejects: failures are outcomes too.
 *
 * @example
 * ```ts
 * const outcome = await job.outcome;
 * if (outcome.status === 'completed') console.log(outcome.stats.downtime, outcome.plan.flagNames);
 * else console.error(outcome.status, outcome.error.message, outcome.split?.advice);
 * ```
 */
export type MigrationOutcome = CompletedMigration | UnfinishedMigration;
