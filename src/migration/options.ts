import { MigrationJobError } from '../errors.js';
import { quote } from '../policy/quote.js';
import { resolveRecovery } from '../policy/recovery.js';
import { checkTuning, destinationUris } from './params.js';
import { checkPreflightOption } from './tls-preflight.js';
import type { MigrateOptions } from './types.js';

/**
 * Refuses incomplete or ill-typed options of `migrate()` / `attachMigration()` before anything reaches
 * libvirt, naming the option and the fix.
 *
 * @throws {@link MigrationJobError} `INVALID_OPTIONS` with the option as `key`.
 *
 * @example
 * ```ts
 * checkOptions({ ...options, domain: { name: 'guest', uuid: 5 } }); // throws: give exactly one of name and uuid
 * ```
 */
export function checkOptions(options: MigrateOptions): void {
  need(isObject(options), 'options', options, 'pass an options object');
  checkSource(options.source);
  checkDomain(options.domain);
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
  checkTuning(options);
  const { blockMigration, migrateDisks, pollIntervalMs, dataGb, backend, signal } = options;
  need(
    blockMigration === undefined || typeof blockMigration === 'boolean',
    'blockMigration',
    blockMigration,
    'use true or false',
  );
  need(
    migrateDisks === undefined ||
      (Array.isArray(migrateDisks) && migrateDisks.every((d) => typeof d === 'string' && /^\S+$/.test(d))),
    'migrateDisks',
    migrateDisks,
    'give disk target names such as ["vda"]',
  );
  need(
    pollIntervalMs === undefined ||
      (Number.isInteger(pollIntervalMs) && pollIntervalMs >= 10 && pollIntervalMs <= 2 ** 31 - 1),
    'pollIntervalMs',
    pollIntervalMs,
    'use a whole number of ms from 10 to 2147483647',
  );
  // 0 GiB would make every timeout 0 s: the first poll would abort the migration.
  need(
    dataGb === undefined || (typeof dataGb === 'number' && Number.isFinite(dataGb) && dataGb > 0),
    'dataGb',
    dataGb,
    'use a finite number of GiB > 0, or leave it out to ask libvirt',
  );
  need(
    backend === undefined || (isObject(backend) && typeof backend.open === 'function'),
    'backend',
    backend,
    'give a LibvirtBackend',
  );
  checkRecovery(options.postCopyRecovery);
  checkPreflightOption(options.tlsPreflight);
  need(
    signal === undefined || (isObject(signal) && typeof signal.addEventListener === 'function'),
    'signal',
    signal,
    'give an AbortSignal',
  );
}

/** The recovery options' own checks (policy/recovery.ts) throw a `MigrationPolicyError`; here it is an option. */
function checkRecovery(recovery: unknown): void {
  try {
    resolveRecovery(recovery as Parameters<typeof resolveRecovery>[0]);
  } catch (error) {
    const { key = 'postCopyRecovery', value = recovery } = error as { key?: string; value?: unknown };
    throw new MigrationJobError('INVALID_OPTIONS', (error as Error).message, { key, value });
  }
}

function checkSource(source: unknown): void {
  const fix = 'give { uri } or an open { connection }';
  need(isObject(source), 'source', source, fix);
  const { connection, uri } = source as { connection?: unknown; uri?: unknown };
  if ('connection' in (source as object)) {
    need(
      isObject(connection) &&
        typeof (connection as { lookupDomainByUUID?: unknown }).lookupDomainByUUID === 'function',
      'source.connection',
      connection,
      fix,
    );
  } else {
    need(typeof uri === 'string' && uri.trim() !== '', 'source.uri', uri, fix);
  }
}

function checkDomain(domain: unknown): void {
  const fix = 'give exactly one of { name } and { uuid }, a non-empty string';
  need(isObject(domain), 'domain', domain, fix);
  const keys = ['name', 'uuid'].filter((key) => (domain as Record<string, unknown>)[key] !== undefined);
  const value = keys.length === 1 ? (domain as Record<string, unknown>)[keys[0] as string] : undefined;
  need(typeof value === 'string' && value.trim() !== '', 'domain', domain, fix);
}

function need(ok: boolean, key: string, value: unknown, fix: string): void {
  if (!ok)
    throw new MigrationJobError('INVALID_OPTIONS', `${key} is ${quote(value)}: ${fix}`, { key, value });
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
