import type { JobStats, LibvirtBackend, LibvirtConnection } from '../libvirt/types.js';
import type { HostConfig } from '../policy/host-config.js';
import type { InstanceMetadata } from '../policy/metadata.js';
import type { MigrationPlan } from '../policy/plan.js';
import type { MigrationStatus } from '../policy/status.js';
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
   * GiB moved, for the downtime steps and the completion timeout. Default: Nova's count from the domain's
   * memory (at least 2 GiB), plus 2 GiB per disk in `migrateDisks`.
   */
  dataGb?: number;
  /** How often job stats are read and the monitor runs. Default 1000 ms. */
  pollIntervalMs?: number;
  /** The libvirt binding to use; the koffi binding by default. */
  backend?: LibvirtBackend;
}

/** One progress report, from the source's job stats. */
export interface MigrationProgress {
  status: MigrationStatus;
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
  /** Everything libvirt reported. */
  stats: JobStats;
}

/** Something the job did to steer the migration, for logs and progress bars. */
export interface SteeringEvent {
  action: 'set-downtime' | 'abort' | 'switch-to-post-copy' | 'pause' | 'resume';
  /** Why (a monitor rule or a caller's request). */
  reason: string;
  elapsedMs: number;
}

/** Where the guest runs after the job ended. */
export type GuestLocation = 'destination' | 'source' | 'unknown';

/** How a job ended. The promise of it never rejects: failures are outcomes too. */
export interface MigrationOutcome {
  status: 'completed' | 'failed' | 'cancelled' | 'error';
  /** The plan actually sent to libvirt; absent when the job ended before the call. */
  plan?: MigrationPlan;
  /** Why it did not complete. */
  error?: Error;
  /** libvirt's completed-job stats (downtime, total time, data moved), when libvirt reported them. */
  stats?: JobStats;
  /** Where the guest runs now. */
  guest: GuestLocation;
  /**
   * The post-copy phase failed (link lost): the guest is paused on the source and runs, degraded, on the
   * destination; recover it with `POSTCOPY_RESUME`, never by resuming the source.
   */
  postCopyFailed: boolean;
  /** Everything the job did to steer it, in order. */
  steering: SteeringEvent[];
}
