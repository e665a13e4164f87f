import { MigrationJobError } from '../errors.js';
import { koffiBackend } from '../libvirt/connection.js';
import type { LibvirtConnection, LibvirtDomain } from '../libvirt/types.js';
import { quote } from '../policy/quote.js';
import { MigrationJob } from './job.js';
import { destinationUris } from './params.js';
import { claim, registryKey, release } from './registry.js';
import type { MigrateOptions } from './types.js';

/**
 * Starts a live migration whose flags are decided from the instance's metadata and the host's config *as
 * they are at the moment of the libvirt call*: the providers are called, the guest's state and the
 * hypervisor's versions read, the plan made and `virDomainMigrateToURI3` called, in that order, with nothing
 * cached from earlier. The returned job reports progress, runs Nova's monitor (downtime steps, completion
 * timeout) and can be force-completed or aborted.
 *
 * Throws at once — before anything reaches libvirt — when the options are incomplete, the domain does not
 * exist, or this process is already migrating that domain. Everything later (a refused policy, a libvirt
 * failure) is reported through `job.outcome`.
 *
 * @throws {@link MigrationJobError} `INVALID_OPTIONS` or `ALREADY_MIGRATING`; `LibvirtError` when the
 * domain cannot be found.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { migrate, parseNovaConf } from 'libvirt-migration-policy';
 *
 * const job = migrate({
 *   source: { uri: 'qemu:///system' },
 *   domain: { uuid: instance.uuid },
 *   destination: { host: 'compute-2' },
 *   providers: {
 *     instanceMetadata: () => ({ flavorExtraSpecs: flavor.extraSpecs, imageProperties: image.properties }),
 *     hostConfig: () => parseNovaConf(readFileSync('/etc/nova/nova.conf', 'utf8')),
 *   },
 * });
 * job.on('progress', (p) => console.log(`${p.status} ${p.memoryRemaining} bytes left`));
 * const outcome = await job.outcome; // { status: 'completed', guest: 'destination', stats: { downtime: 23, ... } }
 * ```
 */
export function migrate(options: MigrateOptions): MigrationJob {
  return openJob(options, 'start');
}

/**
 * Follows a migration that is already running — typically one started by this agent before it restarted.
 * The job reads the providers and plans as {@link migrate} would (a running migration keeps the flags it
 * started with, so the plan only steers force-complete), then reports progress, runs the monitor with
 * libvirt's elapsed time, and resolves its outcome when libvirt's job ends. The `destination` option is
 * not used to call libvirt; it documents where the guest goes.
 *
 * @throws {@link MigrationJobError} like {@link migrate}. The outcome is `error` with `MIGRATION_NOT_ACTIVE`
 * when no migration is running.
 *
 * @example
 * ```ts
 * // After a restart, for every instance the database says was migrating:
 * const job = attachMigration({ source: { uri: 'qemu:///system' }, domain: { uuid }, destination: { host }, providers });
 * job.on('progress', report);
 * await job.outcome;
 * ```
 */
export function attachMigration(options: MigrateOptions): MigrationJob {
  return openJob(options, 'attach');
}

function openJob(options: MigrateOptions, mode: 'start' | 'attach'): MigrationJob {
  checkOptions(options);
  const { connection, owned } = sourceConnection(options);
  let domain: LibvirtDomain;
  try {
    domain =
      'uuid' in options.domain
        ? connection.lookupDomainByUUID(options.domain.uuid)
        : connection.lookupDomainByName(options.domain.name);
  } catch (error) {
    if (owned) connection.close();
    throw error;
  }
  const key = registryKey(connection.uri, domain.uuid());
  if (!claim(key)) {
    if (owned) connection.close();
    throw new MigrationJobError(
      'ALREADY_MIGRATING',
      `domain ${quote(domain.name())} (${domain.uuid()}) is already being migrated by this process: wait for that job's outcome, or abort it`,
      { key: 'domain', value: options.domain },
    );
  }
  return new MigrationJob({
    domain,
    options,
    mode,
    release: () => {
      release(key);
      if (owned) connection.close();
    },
  });
}

function sourceConnection(options: MigrateOptions): { connection: LibvirtConnection; owned: boolean } {
  if ('connection' in options.source) return { connection: options.source.connection, owned: false };
  return { connection: (options.backend ?? koffiBackend()).open(options.source.uri), owned: true };
}

function checkOptions(options: MigrateOptions): void {
  const need = (ok: boolean, key: string, value: unknown, fix: string) => {
    if (!ok)
      throw new MigrationJobError('INVALID_OPTIONS', `${key} is ${quote(value)}: ${fix}`, { key, value });
  };
  need(typeof options === 'object' && options !== null, 'options', options, 'pass an options object');
  need(
    isObject(options.source) &&
      ('connection' in options.source || typeof (options.source as { uri?: unknown }).uri === 'string'),
    'source',
    options.source,
    'give { uri } or { connection }',
  );
  need(
    isObject(options.domain) &&
      (typeof (options.domain as { name?: unknown }).name === 'string' ||
        typeof (options.domain as { uuid?: unknown }).uuid === 'string'),
    'domain',
    options.domain,
    'give { name } or { uuid }',
  );
  need(isObject(options.destination), 'destination', options.destination, 'give { uri } or { host }');
  destinationUris(options.destination);
  need(
    isObject(options.providers) &&
      typeof options.providers.instanceMetadata === 'function' &&
      typeof options.providers.hostConfig === 'function',
    'providers',
    options.providers,
    'give { instanceMetadata: () => metadata, hostConfig: () => config }: they are read just before the migration',
  );
  if (options.pollIntervalMs !== undefined) {
    need(
      Number.isInteger(options.pollIntervalMs) && options.pollIntervalMs >= 10,
      'pollIntervalMs',
      options.pollIntervalMs,
      'use a whole number of ms ≥ 10',
    );
  }
  if (options.dataGb !== undefined) {
    need(
      Number.isFinite(options.dataGb) && options.dataGb >= 0,
      'dataGb',
      options.dataGb,
      'use a finite number ≥ 0',
    );
  }
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
