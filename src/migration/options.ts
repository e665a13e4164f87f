import { MigrationJobError } from '../errors.js';
import { koffiBackend } from '../libvirt/connection.js';
import type { LibvirtBackend, LibvirtConnection } from '../libvirt/types.js';
import { quote } from '../policy/quote.js';
import { type RecoveryOptions, resolveRecovery } from '../policy/recovery.js';
import { type WatchdogBounds, watchdogBounds } from '../policy/watchdog.js';
import { type CallTuning, type CheckedDestination, callTuning, checkDestination } from './params.js';
import { checkPreflightOption } from './tls-preflight.js';
import type { MigrateOptions, MigrationProviders, TlsPreflightOptions } from './types.js';

const DEFAULT_POLL_MS = 1000;

/**
 * The options of `migrate()` / `attachMigration()` once checked, with their defaults: what the job, the
 * migration call and the effects share, parsed once.
 */
export interface JobOptions {
  source: { connection: LibvirtConnection } | { uri: string };
  domain: { name: string } | { uuid: string };
  destination: CheckedDestination;
  providers: MigrationProviders;
  blockMigration: boolean;
  migrateDisks: readonly string[] | undefined;
  tuning: CallTuning;
  /** As given; `undefined`: counted from libvirt's answers. */
  dataGb: number | undefined;
  pollIntervalMs: number;
  backend: LibvirtBackend;
  recovery: RecoveryOptions;
  /** `false`: no certificate check before a TLS migration; otherwise where to find them. */
  tlsPreflight: false | TlsPreflightOptions;
  signal: AbortSignal | undefined;
  /** `adaptive`: the forecast may switch, pause or abort before the completion timeout. */
  switchover: 'fixed' | 'adaptive';
  /** The bounds as given (checked); sized with the guest and the link at the preparation. */
  watchdog: Partial<WatchdogBounds> | undefined;
}

/**
 * Checks the options of `migrate()` / `attachMigration()` before anything reaches libvirt, naming the
 * option and the fix, and resolves them into the one value the job works with.
 *
 * @throws {@link MigrationJobError} `INVALID_OPTIONS` with the option as `key`.
 *
 * @example
 * ```ts
 * resolveOptions({ ...options, domain: { name: 'guest', uuid: 5 } }); // throws: give exactly one of name and uuid
 * resolveOptions(options).pollIntervalMs; // 1000 when left out
 * ```
 */
export function resolveOptions(options: MigrateOptions): JobOptions {
  need(isObject(options), 'options', options, 'pass an options object');
  checkSource(options.source);
  const domain = checkDomain(options.domain);
  need(isObject(options.destination), 'destination', options.destination, 'give { uri } or { host }');
  const destination = checkDestination(options.destination);
  need(
    isObject(options.providers) &&
      typeof options.providers.instanceMetadata === 'function' &&
      typeof options.providers.hostConfig === 'function',
    'providers',
    options.providers,
    'give { instanceMetadata: () => metadata, hostConfig: () => config }: they are read just before the migration',
  );
  const tuning = callTuning(options);
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
  const recovery = checkRecovery(options.postCopyRecovery);
  const watchdog = checkWatchdog(options.watchdog);
  const { switchover } = options;
  need(
    switchover === undefined || switchover === 'fixed' || switchover === 'adaptive',
    'switchover',
    switchover,
    "use 'fixed' (Nova's completion timeout, the default) or 'adaptive' (the convergence forecast)",
  );
  const tlsPreflight = checkPreflightOption(options.tlsPreflight);
  need(
    signal === undefined || (isObject(signal) && typeof signal.addEventListener === 'function'),
    'signal',
    signal,
    'give an AbortSignal',
  );
  return {
    source: options.source,
    domain,
    destination,
    providers: options.providers,
    blockMigration: blockMigration ?? false,
    migrateDisks,
    tuning,
    dataGb,
    pollIntervalMs: pollIntervalMs ?? DEFAULT_POLL_MS,
    backend: backend ?? koffiBackend(),
    recovery,
    tlsPreflight,
    signal,
    switchover: switchover ?? 'fixed',
    watchdog,
  };
}

/** The recovery options' own checks (policy/recovery.ts) throw a `MigrationPolicyError`; here it is an option. */
function checkRecovery(recovery: unknown): RecoveryOptions {
  try {
    return resolveRecovery(recovery as Parameters<typeof resolveRecovery>[0]);
  } catch (error) {
    const { key = 'postCopyRecovery', value = recovery } = error as { key?: string; value?: unknown };
    throw new MigrationJobError('INVALID_OPTIONS', (error as Error).message, { key, value });
  }
}

/** The watchdog's bounds are checked by the policy (policy/watchdog.ts); here a bad one is an option. */
function checkWatchdog(watchdog: unknown): Partial<WatchdogBounds> | undefined {
  if (watchdog === undefined) return undefined;
  try {
    watchdogBounds(watchdog as Partial<WatchdogBounds>);
  } catch (error) {
    const { key = 'watchdog', value = watchdog } = error as { key?: string; value?: unknown };
    throw new MigrationJobError('INVALID_OPTIONS', (error as Error).message, { key, value });
  }
  return { ...(watchdog as Partial<WatchdogBounds>) };
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

function checkDomain(domain: unknown): { name: string } | { uuid: string } {
  const fix = 'give exactly one of { name } and { uuid }, a non-empty string';
  need(isObject(domain), 'domain', domain, fix);
  const keys = ['name', 'uuid'].filter((key) => (domain as Record<string, unknown>)[key] !== undefined);
  const value = keys.length === 1 ? (domain as Record<string, unknown>)[keys[0] as string] : undefined;
  need(typeof value === 'string' && value.trim() !== '', 'domain', domain, fix);
  return keys[0] === 'uuid' ? { uuid: value as string } : { name: value as string };
}

function need(ok: boolean, key: string, value: unknown, fix: string): void {
  if (!ok)
    throw new MigrationJobError('INVALID_OPTIONS', `${key} is ${quote(value)}: ${fix}`, { key, value });
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
