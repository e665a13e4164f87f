import { MigrationJobError } from '../errors.js';
import type { LibvirtConnection, LibvirtDomain } from '../libvirt/types.js';
import { quote } from '../policy/quote.js';
import { MigrationJob } from './job.js';
import { type JobOptions, resolveOptions } from './options.js';
import { claim, registryKey, release } from './registry.js';
import type { MigrateOptions } from './types.js';

/**
 * Starts a live migration whose flags are decided from the instance's metadata and the host's config *as
 * they are at the moment of the libvirt call*: the providers are called, the guest's state, size and the
 * hypervisor's versions read, the plan made and `virDomainMigrateToURI3` called, in that order, with nothing
 * cached from earlier. The job reports progress, runs Nova's monitor (downtime steps, completion timeout)
 * and can be force-completed or aborted (also through `signal`). Every libvirt call is asynchronous.
 *
 * Rejects — before anything reaches libvirt's migration — when the options are incomplete, the domain
 * cannot be found, or this process is already migrating that domain. Everything later (a refused policy, a
 * libvirt failure) is reported through `job.outcome`, which never rejects.
 *
 * @throws {@link MigrationJobError} `INVALID_OPTIONS` or `ALREADY_MIGRATING`; `LibvirtError` when the
 * connection cannot be opened or the domain found.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { migrate, parseNovaConf } from 'libvirt-migration-policy';
 *
 * const job = await migrate({
 *   source: { uri: 'qemu:///system' },
 *   domain: { uuid: instance.uuid },
 *   destination: { host: 'compute-2' },
 *   providers: {
 *     instanceMetadata: () => ({ flavorExtraSpecs: flavor.extraSpecs, imageProperties: image.properties }),
 *     hostConfig: () => parseNovaConf(readFileSync('/etc/nova/nova.conf', 'utf8')),
 *   },
 *   signal: AbortSignal.timeout(3_600_000),
 * });
 * job.on('progress', (p) => console.log(`${p.status} ${p.mode} ${p.memoryRemaining} bytes left`));
 * const outcome = await job.outcome; // { status: 'completed', guest: 'destination', stats: { downtime: 23, ... } }
 * ```
 */
export function migrate(options: MigrateOptions): Promise<MigrationJob> {
  return openJob(options, 'start');
}

/**
 * Follows a migration that is already running — typically one started by this agent before it restarted.
 * The job checks that the source runs an outgoing migration, reads the providers and plans as
 * {@link migrate} would (a running migration keeps the flags it started with, so the plan only steers
 * force-complete), then reports progress, runs the monitor with libvirt's elapsed time, and resolves its
 * outcome when libvirt's job ends. The `destination` option is not used to call libvirt; it documents where
 * the guest goes.
 *
 * @throws {@link MigrationJobError} like {@link migrate}. The outcome is `error` with `MIGRATION_NOT_ACTIVE`
 * when no outgoing migration is running.
 *
 * @example
 * ```ts
 * // After a restart, for every instance the database says was migrating:
 * const job = await attachMigration({ source: { uri: 'qemu:///system' }, domain: { uuid }, destination: { host }, providers });
 * job.on('progress', report);
 * await job.outcome;
 * ```
 */
export function attachMigration(options: MigrateOptions): Promise<MigrationJob> {
  return openJob(options, 'attach');
}

async function openJob(given: MigrateOptions, mode: 'start' | 'attach'): Promise<MigrationJob> {
  const options = resolveOptions(given);
  const { connection, owned } = await sourceConnection(options);
  const close = owned ? () => connection.close() : undefined;
  let domain: LibvirtDomain;
  try {
    domain =
      'uuid' in options.domain
        ? await connection.lookupDomainByUUID(options.domain.uuid)
        : await connection.lookupDomainByName(options.domain.name);
  } catch (error) {
    close?.().catch(() => undefined);
    throw error;
  }
  const key = registryKey(connection.uri, domain.uuid);
  if (!claim(key)) {
    close?.().catch(() => undefined);
    throw new MigrationJobError(
      'ALREADY_MIGRATING',
      `domain ${quote(domain.name)} (${domain.uuid}) is already being migrated by this process: wait for that job's outcome, or abort it`,
      { key: 'domain', value: given.domain },
    );
  }
  return new MigrationJob({
    domain,
    options,
    mode,
    release: () => release(key),
    ...(close ? { close } : {}),
  });
}

async function sourceConnection(
  options: JobOptions,
): Promise<{ connection: LibvirtConnection; owned: boolean }> {
  if ('connection' in options.source) return { connection: options.source.connection, owned: false };
  return { connection: await options.backend.open(options.source.uri), owned: true };
}
