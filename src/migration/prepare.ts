import { MigrationPolicyError } from '../errors.js';
import type { JobStats, LibvirtDomain } from '../libvirt/types.js';
import { MigrateFlags } from '../policy/flags.js';
import { forecastSettings } from '../policy/forecast-settings.js';
import { copiedDisksOf, parseDomainXml } from '../policy/guest.js';
import { monitorSettings } from '../policy/monitor.js';
import { planMigration } from '../policy/plan.js';
import { watchdogBounds } from '../policy/watchdog.js';
import { guestDataGb } from './data-size.js';
import { type SourcePhase, sourcePhase } from './domain-state.js';
import type { Preparation } from './job-states.js';
import type { JobOptions } from './options.js';
import { migrationCall } from './params.js';
import { preflightTls } from './tls-preflight.js';

/** libvirt's `VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT`. */
const MIGRATION_OUT = 5;

/** Everything read at the last moment before the libvirt call. */
export interface Prepared extends Preparation {
  source: SourcePhase;
  /** Attach mode: libvirt's time elapsed so far, in ms. */
  elapsedMs: number;
}

/**
 * Reads the providers, the guest's state, the versions and the guest's size, then plans; in attach mode
 * first checks that the source runs an outgoing migration: a dump or a backup is never followed, nor
 * aborted.
 *
 * @throws {@link MigrationPolicyError} for a refused plan, or `MIGRATION_NOT_ACTIVE` in attach mode.
 */
export async function prepareMigration(
  domain: LibvirtDomain,
  options: JobOptions,
  mode: 'start' | 'attach',
  onDiskError: (disk: string, error: unknown) => void,
): Promise<Prepared> {
  // A post-copy that broke while no agent watched has nothing running any more: it is there to recover.
  const broken = mode === 'attach' && sourcePhase(await domain.state()) === 'post-copy-failed';
  const elapsedMs =
    mode === 'attach' && !broken ? outgoingMigration(domain.uuid, await domain.jobStats()) : 0;
  const { providers } = options;
  const [instance, host] = await Promise.all([providers.instanceMetadata(), providers.hostConfig()]);
  const connection = domain.connection;
  const [state, libvirtVersion, qemuVersion, xml] = await Promise.all([
    domain.state(),
    connection.libVersion(),
    connection.hypervisorVersion(),
    domain.xml(),
  ]);
  // The guest's devices rule post-copy in or out; its disks are what a block migration copies.
  const guest = parseDomainXml(xml);
  const source = sourcePhase(state);
  const plan = planMigration({
    instance,
    host,
    blockMigration: options.blockMigration,
    ...(options.migrateDisks === undefined ? {} : { migrateDisks: options.migrateDisks }),
    paused: source === 'paused',
    libvirtVersion,
    qemuVersion,
    guest,
  });
  const call = migrationCall(plan, options.destination, options.tuning);
  const tls = await preflightTls(plan, call, options.tlsPreflight, {
    uri: connection.uri,
    domain: domain.name,
  });
  if (tls !== undefined) call.tls = tls;
  const block = (plan.flags & MigrateFlags.NON_SHARED_INC) !== 0;
  const disks = options.migrateDisks ?? copiedDisksOf(guest);
  const dataGb = options.dataGb ?? (await guestDataGb(domain, { block, disks }, onDiskError));
  const { autoConvergeInitial, autoConvergeIncrement } = options.tuning;
  return {
    plan,
    call,
    monitor: monitorSettings(plan, dataGb),
    // The resume's received-pages bitmap grows with the memory; libvirt's bandwidth is MiB/s (0: unlimited).
    watchdog: watchdogBounds(options.watchdog, {
      memoryBytes: dataGb * 1024 ** 3,
      bandwidthBytesPerSecond: (call.params.bandwidth ?? 0) * 1024 ** 2,
    }),
    ...(options.switchover === 'adaptive'
      ? { forecast: forecastSettings(plan, dataGb, { autoConvergeInitial, autoConvergeIncrement }) }
      : {}),
    dataGb,
    source,
    elapsedMs,
    sourceLibvirt: libvirtVersion,
  };
}

function outgoingMigration(uuid: string, stats: JobStats): number {
  const running = stats.type === 'bounded' || stats.type === 'unbounded';
  // libvirt before 3.3 reports no operation; from then on an outgoing migration says so.
  if (!running || (stats.operation !== undefined && stats.operation !== MIGRATION_OUT)) {
    const what = running ? `a job of operation ${stats.operation}, not an outgoing migration` : 'no job';
    throw new MigrationPolicyError(
      'MIGRATION_NOT_ACTIVE',
      `domain ${uuid} has ${what} running on the source: nothing to attach to`,
      { key: 'domain', value: uuid },
    );
  }
  return stats.timeElapsed ?? 0;
}
