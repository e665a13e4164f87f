import { MigrationPolicyError } from '../errors.js';
import type { JobStats, LibvirtDomain } from '../libvirt/types.js';
import { MigrateFlags } from '../policy/flags.js';
import { copiedDisksOf, parseDomainXml } from '../policy/guest.js';
import { type MonitorSettings, monitorSettings } from '../policy/monitor.js';
import { type MigrationPlan, planMigration } from '../policy/plan.js';
import { guestDataGb } from './data-size.js';
import { type SourcePhase, sourcePhase } from './domain-state.js';
import { buildMigrationCall, type MigrationCall } from './params.js';
import { preflightTls } from './tls-preflight.js';
import type { MigrateOptions } from './types.js';

/** libvirt's `VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT`. */
const MIGRATION_OUT = 5;

/** Everything read at the last moment before the libvirt call. */
export interface Prepared {
  plan: MigrationPlan;
  call: MigrationCall;
  monitor: MonitorSettings;
  /** The GiB the monitor counts with. */
  dataGb: number;
  source: SourcePhase;
  /** Attach mode: libvirt's time elapsed so far, in ms. */
  elapsedMs: number;
  /** The source's libvirt version, encoded. */
  libvirtVersion: number;
}

/**
 * Reads the providers, the guest's state, the versions and the guest's size, then plans; in attach mode
 * first checks that the source runs an outgoing migration (item 12: never a dump or a backup).
 *
 * @throws {@link MigrationPolicyError} for a refused plan, or `MIGRATION_NOT_ACTIVE` in attach mode.
 */
export async function prepareMigration(
  domain: LibvirtDomain,
  options: MigrateOptions,
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
    blockMigration: options.blockMigration ?? false,
    ...(options.migrateDisks === undefined ? {} : { migrateDisks: options.migrateDisks }),
    paused: source === 'paused',
    libvirtVersion,
    qemuVersion,
    guest,
  });
  const call = buildMigrationCall(plan, options.destination, options);
  const tls = await preflightTls(plan, call, options, connection.uri);
  if (tls !== undefined) call.tls = tls;
  const block = (plan.flags & MigrateFlags.NON_SHARED_INC) !== 0;
  const dataGb =
    options.dataGb ??
    (await guestDataGb(domain, { block, disks: options.migrateDisks ?? copiedDisksOf(guest) }, onDiskError));
  return { plan, call, monitor: monitorSettings(plan, dataGb), dataGb, source, elapsedMs, libvirtVersion };
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
