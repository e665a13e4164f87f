import { isIPv6 } from 'node:net';
import { MigrationJobError } from '../errors.js';
import type { MigrateParams } from '../libvirt/types.js';
import { type NovaDestinationInput, novaDestinationUris } from '../policy/destination-uris.js';
import { MigrateFlags } from '../policy/flags.js';
import { DEFAULT_HOST_CONFIG } from '../policy/host-config.js';
import type { MigrationPlan } from '../policy/plan.js';
import { quote } from '../policy/quote.js';
import type { TlsFailureContext } from '../policy/tls-failures.js';

/** Where a migration goes. */
export type Destination =
  | {
      /** The destination libvirtd, e.g. `qemu+tcp://compute-2/system`. */
      uri: string;
      /** Where QEMU's stream goes, e.g. `tcp://192.0.2.7`; libvirt picks when left out. */
      migrateUri?: string;
    }
  | {
      /** The destination host's name or address: the URIs are built from it the way Nova does. */
      host: string;
      /**
       * Transport of the libvirtd connection. Default: the source's `live_migration_scheme` (or its deprecated
       * `live_migration_uri`) from the host config, as Nova does; given here, it wins over both.
       */
      scheme?: 'tcp' | 'tls' | 'ssh';
      /**
       * The destination's `live_migration_inbound_addr`: both URIs go to it, and QEMU's stream is sent there
       * (`migrate_uri tcp://ADDR`, unless tunnelled). Without it, as in Nova, no `migrate_uri` is sent and
       * libvirt streams to the destination's own host name.
       */
      inboundAddress?: string;
    };

/** Tuning a caller can add to a migration; sent only where the plan makes libvirt accept it. */
export interface MigrationTuning {
  /** `bandwidth` in MiB/s; the host's `live_migration_bandwidth` when left out (0 = unlimited). */
  bandwidth?: number;
  /** `auto_converge.initial`: the first throttle, in percent (QEMU's default is 20). */
  autoConvergeInitial?: number;
  /** `auto_converge.increment`: added per iteration that does not converge, in percent (QEMU's default 10). */
  autoConvergeIncrement?: number;
  /** `bandwidth.postcopy` in MiB/s: the limit once switched to post-copy. */
  postCopyBandwidth?: number;
  /** `destination_xml` and `persistent_xml`: the guest's XML on the destination. */
  destinationXml?: string;
  /** Disks to copy with block migration (`migrate_disks`), by target name (`vda`). */
  migrateDisks?: readonly string[];
  /** `tls.destination`: the name to verify in the destination's certificate, with native TLS. */
  tlsDestination?: string;
}

/** The `virDomainMigrateToURI3` call a job makes: the URI, the typed params and the flags, with the tuning it did not send. */
export interface MigrationCall {
  destinationUri: string;
  params: MigrateParams;
  flags: number;
  /** Tuning that was given but not sent, and why. */
  notes: string[];
  /** With native TLS or a `qemu+tls://` destination: the hosts and the name a TLS failure is told with. */
  tls?: TlsFailureContext;
}

/**
 * The arguments of `virDomainMigrateToURI3` for a plan, with Nova's parameter rules: bandwidth always sent,
 * the new XML as both destination and persistent XML, the disks for block migration, parallel connections
 * when more than one; and the tuning no peer offers (`auto_converge.*`, `bandwidth.postcopy`) only when the
 * plan uses the feature, since libvirt refuses them otherwise.
 *
 * @example
 * ```ts
 * const call = buildMigrationCall(planMigration({ host: { permitAutoConverge: true } }), { host: 'compute-2' }, {
 *   autoConvergeInitial: 30,
 * });
 * call.destinationUri; // 'qemu+tcp://compute-2/system'
 * call.params; // { bandwidth: 0, autoConvergeInitial: 30 }: no migrate_uri without an inbound address, as Nova
 * ```
 */
export function buildMigrationCall(
  plan: MigrationPlan,
  destination: Destination,
  tuning: MigrationTuning = {},
): MigrationCall {
  const notes: string[] = [];
  const { destinationUri, migrateUri } = destinationUris(destination, plan.host);
  const params: MigrateParams = {};
  if (migrateUri !== undefined) params.migrateUri = migrateUri;
  params.bandwidth =
    tuning.bandwidth === undefined
      ? plan.host.bandwidth
      : checkInt('bandwidth', tuning.bandwidth, 0, 2 ** 40);
  if (tuning.destinationXml !== undefined) {
    params.destinationXml = tuning.destinationXml;
    params.persistentXml = tuning.destinationXml;
  }
  if (tuning.migrateDisks !== undefined) {
    if (plan.flags & MigrateFlags.NON_SHARED_INC) params.migrateDisks = [...tuning.migrateDisks];
    else if (tuning.migrateDisks.length > 0)
      notes.push('migrateDisks not sent: this is not a block migration');
  }
  if (plan.host.parallelConnections > 1) params.parallelConnections = plan.host.parallelConnections;

  const { initial, increment, postCopyBandwidth } = checkTuning(tuning);
  if (initial !== undefined || increment !== undefined) {
    if (plan.autoConverge) {
      if (initial !== undefined) params.autoConvergeInitial = initial;
      if (increment !== undefined) params.autoConvergeIncrement = increment;
    } else {
      notes.push('auto_converge.initial/increment not sent: auto-converge is off for this migration');
    }
  }
  if (postCopyBandwidth !== undefined) {
    if (plan.postCopy) params.bandwidthPostcopy = postCopyBandwidth;
    else notes.push('bandwidth.postcopy not sent: post-copy is off for this migration');
  }
  if (tuning.tlsDestination !== undefined) {
    if (plan.flags & MigrateFlags.TLS) params.tlsDestination = tuning.tlsDestination;
    else notes.push('tls.destination not sent: native TLS is off on this host');
  }
  return { destinationUri, params, flags: plan.flags, notes };
}

/**
 * Checks the numbers of a tuning: bandwidths whole MiB/s, and `auto_converge.*` within QEMU's 1–99 %
 * (`cpu-throttle-initial` / `cpu-throttle-increment`: QEMU refuses 0 and 100, and libvirt only says so
 * once the migration started).
 *
 * @throws {@link MigrationJobError} `INVALID_OPTIONS` naming the option.
 *
 * @example
 * ```ts
 * checkTuning({ autoConvergeInitial: 30 }); // { initial: 30, increment: undefined, postCopyBandwidth: undefined }
 * checkTuning({ autoConvergeIncrement: 100 }); // throws INVALID_OPTIONS
 * ```
 */
export function checkTuning(tuning: MigrationTuning): {
  initial: number | undefined;
  increment: number | undefined;
  postCopyBandwidth: number | undefined;
} {
  if (tuning.bandwidth !== undefined) checkInt('bandwidth', tuning.bandwidth, 0, 2 ** 40);
  return {
    initial: optionalInt('autoConvergeInitial', tuning.autoConvergeInitial, 1, 99),
    increment: optionalInt('autoConvergeIncrement', tuning.autoConvergeIncrement, 1, 99),
    postCopyBandwidth: optionalInt('postCopyBandwidth', tuning.postCopyBandwidth, 0, 2 ** 40),
  };
}

/**
 * The libvirtd URI and QEMU stream URI of a destination. From a bare host, as Nova builds them from the
 * source's `nova.conf` (`host`: `live_migration_scheme`, the deprecated `live_migration_uri`, tunnelled) and the
 * destination's `live_migration_inbound_addr` (see `novaDestinationUris`): `qemu+<scheme>://<host>/system`, and
 * `tcp://<inbound address>` only when there is one (IPv6 in brackets). A host or address
 * carrying URI syntax (`/ ? # @ % \\`, brackets around anything but an IPv6 address, blanks, control
 * characters) is refused, so nothing can be smuggled into a libvirt URI; `host:port` passes as written.
 *
 * @throws {@link MigrationJobError} `INVALID_OPTIONS` naming the field.
 *
 * @example
 * ```ts
 * destinationUris({ host: 'compute-2' }); // { destinationUri: 'qemu+tcp://compute-2/system' }: libvirt picks the stream
 * destinationUris({ host: 'c2', inboundAddress: 'fd00::7' }); // { destinationUri: 'qemu+tcp://[fd00::7]/system', migrateUri: 'tcp://[fd00::7]' }
 * destinationUris({ host: 'compute-2:16509' }).destinationUri; // 'qemu+tcp://compute-2:16509/system'
 * ```
 */
export function destinationUris(
  destination: Destination,
  host: NovaDestinationInput['source'] = DEFAULT_HOST_CONFIG,
): { destinationUri: string; migrateUri?: string } {
  if ('uri' in destination) {
    const uri = nonEmpty('destination.uri', destination.uri);
    return destination.migrateUri === undefined
      ? { destinationUri: uri }
      : { destinationUri: uri, migrateUri: nonEmpty('destination.migrateUri', destination.migrateUri) };
  }
  const name = hostPart('destination.host', destination.host);
  const { scheme } = destination;
  if (scheme !== undefined && !['tcp', 'tls', 'ssh'].includes(scheme)) {
    throw invalid('destination.scheme', scheme, 'use "tcp", "tls" or "ssh"');
  }
  const inbound =
    destination.inboundAddress === undefined
      ? undefined
      : hostPart('destination.inboundAddress', destination.inboundAddress);
  const uris = novaDestinationUris({
    host: name,
    source: scheme === undefined ? host : { ...host, migrationScheme: scheme, migrationUri: '' },
    ...(inbound === undefined ? {} : { inboundAddress: inbound }),
  });
  return uris.migrateUri === undefined
    ? { destinationUri: uris.destinationUri }
    : { destinationUri: uris.destinationUri, migrateUri: uris.migrateUri };
}

/** Characters that would end or change the authority part of a URI. */
const URI_SYNTAX = /[/?#@%\\[\]\s\p{Cc}]/u;

function hostPart(key: string, value: unknown): string {
  const host = nonEmpty(key, value);
  const bracketed = /^\[(.*)\]$/.exec(host);
  if (bracketed ? !isIPv6(bracketed[1] ?? '') : URI_SYNTAX.test(host)) {
    throw invalid(key, value, 'give a host name or an IP address, without URI syntax (/ ? # @ % \\ [ ])');
  }
  return host;
}

function nonEmpty(key: string, value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.trim() === '' ||
    /\s/.test(value) ||
    value.includes(String.fromCharCode(0))
  ) {
    throw invalid(key, value, 'give a non-empty string without blanks');
  }
  return value;
}

function optionalInt(key: string, value: unknown, min: number, max: number): number | undefined {
  return value === undefined ? undefined : checkInt(key, value, min, max);
}

function checkInt(key: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(key, value, `use a whole number from ${min} to ${max}`);
  }
  return value;
}

function invalid(key: string, value: unknown, fix: string): MigrationJobError {
  return new MigrationJobError('INVALID_OPTIONS', `${key} is ${quote(value)}: ${fix}`, { key, value });
}
