import { MigrationJobError } from '../errors.js';
import { MigrateFlags } from '../policy/flags.js';
import type { MigrationPlan } from '../policy/plan.js';
import { quote } from '../policy/quote.js';
import { checkTlsCredentials, tlsFileNames } from '../policy/tls-credentials.js';
import { type TlsFailureContext, tlsFailure } from '../policy/tls-failures.js';
import { redactUri } from '../redact.js';
import { DEFAULT_QEMU_TLS_DIR, readTlsCredentials } from '../tls-files.js';
import type { MigrationCall } from './params.js';
import type { MigrateOptions, MigrationProgress, TlsPreflightOptions } from './types.js';

/**
 * Before a migration with native TLS (or to a `qemu+tls://` destination) is started: checks the certificates
 * this agent can read — the source's QEMU directory, the destination's when given, the libvirt client set
 * under the destination URI's `pkipath=` — and throws the first problem as a `MigrationTlsError`, so the
 * guest is never touched by a migration that cannot run. Returns what a later failure is mapped with.
 */
export async function preflightTls(
  plan: MigrationPlan,
  call: MigrationCall,
  options: MigrateOptions,
  sourceUri: string,
): Promise<TlsFailureContext | undefined> {
  const nativeTls = (plan.flags & MigrateFlags.TLS) !== 0;
  const uri = parseUri(call.destinationUri);
  const tlsTransport = uri?.protocol.endsWith('+tls:') === true;
  if (!nativeTls && !tlsTransport) return undefined;
  const destinationHost = uri?.hostname || hostOf(call.params.migrateUri) || redactUri(call.destinationUri);
  // Without a migrate URI libvirt streams to the name the destination gives itself, which for a
  // destination reached by its host name is that name: the best the agent can check before the call.
  const name = call.params.tlsDestination ?? hostOf(call.params.migrateUri) ?? hostOf(call.destinationUri);
  const context: TlsFailureContext = {
    source: `the source (${redactUri(sourceUri)})`,
    destination: `the destination (${destinationHost})`,
    ...(name === undefined ? {} : { name }),
    sourceChecked: false,
    streamStarted: false,
  };
  const preflight = checkPreflightOption(options.tlsPreflight);
  if (preflight === false) return context;
  const now = Date.now();
  const pkipath = uri?.searchParams.get('pkipath');
  const destinationDir = nativeTls ? preflight.destinationCertDir : undefined;
  const [source, destination, client] = await Promise.all([
    nativeTls
      ? readTlsCredentials(preflight.certDir ?? DEFAULT_QEMU_TLS_DIR, tlsFileNames('qemu', 'source'))
      : undefined,
    destinationDir === undefined
      ? undefined
      : readTlsCredentials(destinationDir, tlsFileNames('qemu', 'destination')),
    tlsTransport && pkipath ? readTlsCredentials(pkipath, tlsFileNames('libvirt', 'source')) : undefined,
  ]);
  const problems = [
    ...(source === undefined
      ? []
      : checkTlsCredentials({
          host: context.source,
          role: 'source',
          files: source,
          now,
          ...(destination === undefined ? {} : { peer: { host: context.destination, ca: destination.ca } }),
        }).problems),
    ...(destination === undefined
      ? []
      : checkTlsCredentials({
          host: context.destination,
          role: 'destination',
          files: destination,
          now,
          ...(name === undefined ? {} : { name }),
          ...(source === undefined ? {} : { peer: { host: context.source, ca: source.ca } }),
        }).problems),
    ...(client === undefined
      ? []
      : checkTlsCredentials({ host: context.source, role: 'source', kind: 'libvirt', files: client, now })
          .problems),
  ];
  if (problems[0] !== undefined) throw problems[0];
  return { ...context, sourceChecked: nativeTls };
}

/**
 * libvirt's error for a migration call that failed, as a `MigrationTlsError` when it is one of native TLS's
 * failures (see `tlsFailure`), else unchanged. Whether guest memory had crossed tells a handshake from a
 * link that broke later.
 */
export function explainTlsFailure(
  error: Error,
  call: MigrationCall | undefined,
  progress: MigrationProgress | undefined,
  domain?: string,
): Error {
  const context = call?.tls;
  if (context === undefined) return error;
  const streamStarted = (progress?.memoryProcessed ?? 0) > 0;
  return (
    tlsFailure(error, { ...context, streamStarted, ...(domain === undefined ? {} : { domain }) }) ?? error
  );
}

/** `tlsPreflight`: `false`, or absolute directories; for `checkOptions` too. */
export function checkPreflightOption(value: MigrateOptions['tlsPreflight']): false | TlsPreflightOptions {
  if (value === undefined) return {};
  if (value === false) return false;
  const refuse = (key: string, bad: unknown, fix: string) =>
    new MigrationJobError('INVALID_OPTIONS', `${key} is ${quote(bad)}: ${fix}`, { key, value: bad });
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw refuse('tlsPreflight', value, 'give false, or { certDir?, destinationCertDir? }');
  for (const [key, dir] of Object.entries(value)) {
    if (key !== 'certDir' && key !== 'destinationCertDir')
      throw refuse(
        `tlsPreflight.${key}`,
        dir,
        'leave it out: the options are certDir and destinationCertDir',
      );
    if (dir !== undefined && (typeof dir !== 'string' || !dir.startsWith('/')))
      throw refuse(`tlsPreflight.${key}`, dir, 'give an absolute directory, as this agent sees it');
  }
  return value;
}

function parseUri(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

function hostOf(uri: string | undefined): string | undefined {
  if (uri === undefined) return undefined;
  const host = parseUri(uri)?.hostname;
  return host ? host.replace(/^\[(.*)\]$/, '$1') : undefined;
}
