import type {
  InstanceMetadata,
  MigrateOptions,
  MigrationJob,
  MigrationOutcome,
  MigrationStatus,
} from '../../src/index.js';
import { attachMigration, migrate } from '../../src/index.js';
import type { FakeDomain } from './fake-libvirt.js';

export const PC = 'compute:live_migration_post_copy';
export const AC = 'compute:live_migration_auto_converge';

/** Options of a migration of the fake domain, polled every 10 ms. */
export function optionsFor(
  domain: FakeDomain,
  overrides: Partial<MigrateOptions> = {},
  meta: InstanceMetadata = {},
  host: object = {},
): MigrateOptions {
  return {
    source: { connection: domain.connection },
    domain: { name: domain.name },
    destination: { uri: 'qemu+tcp://dest/system', migrateUri: 'tcp://192.0.2.7' },
    providers: { instanceMetadata: () => meta, hostConfig: () => host },
    pollIntervalMs: 10,
    ...overrides,
  };
}

export function startJob(
  domain: FakeDomain,
  overrides: Partial<MigrateOptions> = {},
  meta: InstanceMetadata = {},
  host: object = {},
): Promise<MigrationJob> {
  return migrate(optionsFor(domain, overrides, meta, host));
}

/** Attaches to the fake domain's running migration; its plan would use post-copy. */
export function attachJob(
  domain: FakeDomain,
  overrides: Partial<MigrateOptions> = {},
): Promise<MigrationJob> {
  return attachMigration(
    optionsFor(
      domain,
      { domain: { uuid: domain.uuid }, ...overrides },
      { flavorExtraSpecs: { [PC]: 'true' } },
    ),
  );
}

/** A fake domain's migration is running (operation 5: outgoing), as attach finds it after a restart. */
export function runningMigration(domain: FakeDomain, timeElapsed = 1000): void {
  domain.stats = { type: 'unbounded', operation: 5, timeElapsed, memoryRemaining: 123, raw: {} };
}

/** Ends a fake domain's migration as attach sees it: no job any more, and the guest gone or still here. */
export function endMigration(domain: FakeDomain, how: 'completed' | 'failed' | 'cancelled'): void {
  domain.stats = { type: 'none', raw: {} };
  if (how === 'completed') {
    domain.current = { state: 'shutoff', reason: 3 };
    domain.completedStats = { type: 'completed', downtime: 12, raw: {} };
  } else {
    domain.completedStats = {
      type: how,
      errorMessage: how === 'failed' ? 'migration failed: connection reset' : 'operation aborted',
      raw: {},
    };
  }
}

/** A job of the fake domain, with every status it announced from the start. */
export async function startRecorded(
  domain: FakeDomain,
  overrides: Partial<MigrateOptions> = {},
  meta: InstanceMetadata = {},
  host: object = {},
): Promise<{ job: MigrationJob; statuses: MigrationStatus[] }> {
  const job = await startJob(domain, overrides, meta, host);
  const statuses: MigrationStatus[] = [job.status];
  job.on('status', (s) => statuses.push(s));
  return { job, statuses };
}

/** Completes the fake migration if it still runs, and waits for the outcome. */
export async function settle(job: MigrationJob, domain: FakeDomain): Promise<MigrationOutcome> {
  if (domain.migrating) domain.complete();
  return job.outcome;
}
