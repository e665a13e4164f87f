/**
 * The destination's URIs as Nova's libvirt driver builds them (`LibvirtDriver._live_migration_uri` and
 * `_migrate_uri` in nova/virt/libvirt/driver.py, the options' help in nova/conf/libvirt.py):
 *
 * - the libvirtd URI: the source's deprecated `live_migration_uri` with `%s` replaced by the destination, when
 *   set; otherwise `qemu+<live_migration_scheme, default tcp>://<destination>/system`;
 * - the destination is the destination host's `live_migration_inbound_addr` when that host sets it, otherwise
 *   its host name; an IPv6 address in brackets (oslo's `escape_ipv6`);
 * - QEMU's stream (`migrate_uri`) is `tcp://<inbound address>` only when the destination sets
 *   `live_migration_inbound_addr` and the migration is not tunnelled; otherwise Nova sends none and libvirt
 *   streams to the destination's own host name;
 * - `live_migration_with_native_tls` changes neither URI: it adds `VIR_MIGRATE_TLS`, and QEMU encrypts the
 *   stream it opens to the same address.
 */
import { MigrationPolicyError } from '../errors.js';
import type { HostConfig } from './host-config.js';
import { quote } from './quote.js';

/** The URIs of a migration to one destination, and the sentence that explains each. */
export interface NovaDestinationUris {
  /** The destination libvirtd, e.g. `qemu+tcp://compute-2/system`. */
  destinationUri: string;
  /** QEMU's stream (`migrate_uri`), when Nova sends one. */
  migrateUri?: string;
  /** Where each URI came from, for `explain` and logs. */
  reasons: string[];
}

/** What {@link novaDestinationUris} reads. */
export interface NovaDestinationInput {
  /** The destination compute host's name, as the scheduler gives it. */
  host: string;
  /** The source's `[libvirt]` options: `live_migration_scheme`, `live_migration_uri`, tunnelled, native TLS. */
  source: Pick<HostConfig, 'migrationScheme' | 'migrationUri' | 'tunnelled' | 'nativeTls'>;
  /** The destination's `live_migration_inbound_addr`, when it sets one. */
  inboundAddress?: string;
}

/**
 * The libvirtd URI and QEMU stream URI Nova uses for a migration to `host`, with the reasons.
 *
 * @throws {@link MigrationPolicyError} `INVALID_HOST_CONFIG` for a `live_migration_uri` without exactly one
 * `%s` (Python's `uri % dest` would fail), `INVALID_ARGUMENT` for an empty host.
 *
 * @example
 * ```ts
 * import { DEFAULT_HOST_CONFIG, novaDestinationUris } from 'libvirt-migration-policy/policy';
 * novaDestinationUris({ host: 'compute-2', source: DEFAULT_HOST_CONFIG });
 * // { destinationUri: 'qemu+tcp://compute-2/system', reasons: [...] } — no migrate_uri: libvirt picks
 * novaDestinationUris({ host: 'compute-2', source: { ...DEFAULT_HOST_CONFIG, migrationScheme: 'tls' }, inboundAddress: 'fd00::7' });
 * // { destinationUri: 'qemu+tls://[fd00::7]/system', migrateUri: 'tcp://[fd00::7]', reasons: [...] }
 * ```
 */
export function novaDestinationUris(input: NovaDestinationInput): NovaDestinationUris {
  const { host, source, inboundAddress } = input;
  if (typeof host !== 'string' || host.trim() === '') {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `the destination host is ${quote(host)}: give its name`,
      {
        key: 'host',
        value: host,
      },
    );
  }
  const inbound = inboundAddress === undefined || inboundAddress === '' ? undefined : inboundAddress;
  const dest = escapeIpv6(inbound ?? host);
  const target =
    inbound === undefined
      ? `the destination's host name ${host} (it sets no live_migration_inbound_addr)`
      : `the destination's [libvirt] live_migration_inbound_addr = ${inbound}`;
  const reasons: string[] = [];
  let destinationUri: string;
  if (source.migrationUri !== '') {
    const problem = uriTemplateProblem(source.migrationUri);
    if (problem !== undefined) throw badTemplate(source.migrationUri, problem);
    destinationUri = source.migrationUri.replace(/%(%|s)/g, (_m, c: string) => (c === 's' ? dest : '%'));
    reasons.push(
      `libvirtd URI ${destinationUri}: the deprecated [libvirt] live_migration_uri = ${source.migrationUri} with %s = ${target}`,
    );
  } else {
    const scheme = source.migrationScheme === '' ? 'tcp' : source.migrationScheme;
    destinationUri = `qemu+${scheme}://${dest}/system`;
    const from =
      source.migrationScheme === ''
        ? "live_migration_scheme not set: Nova's default tcp"
        : `[libvirt] live_migration_scheme = ${source.migrationScheme}`;
    reasons.push(`libvirtd URI ${destinationUri}: ${from}, to ${target}`);
  }
  let migrateUri: string | undefined;
  if (inbound === undefined) {
    reasons.push(
      "stream: no migrate_uri sent, as Nova sends none without the destination's live_migration_inbound_addr: " +
        "libvirt streams to the destination's own host name",
    );
  } else if (source.tunnelled) {
    reasons.push(
      'stream: no migrate_uri sent: a tunnelled migration streams through the libvirtd connection',
    );
  } else {
    migrateUri = `tcp://${dest}`;
    reasons.push(`stream ${migrateUri}: ${target}`);
  }
  if (source.nativeTls) {
    reasons.push(
      '[libvirt] live_migration_with_native_tls = True: QEMU encrypts the stream (VIR_MIGRATE_TLS); it changes ' +
        'neither URI (the libvirtd connection is encrypted only by a tls scheme)',
    );
  }
  return migrateUri === undefined ? { destinationUri, reasons } : { destinationUri, migrateUri, reasons };
}

/**
 * Why a `live_migration_uri` cannot be used, or `undefined`: Nova formats it with Python's `uri % dest`,
 * which needs exactly one `%s`, and `%%` for a literal `%`.
 */
export function uriTemplateProblem(template: string): string | undefined {
  const conversions = template.match(/%./g) ?? [];
  const s = conversions.filter((c) => c === '%s').length;
  const other = conversions.filter((c) => c !== '%s' && c !== '%%');
  if (other.length > 0 || /%$/.test(template.replace(/%[s%]/g, ''))) {
    return `it has ${quote(other[0] ?? '%')}, which Python's "uri % dest" cannot format (write a literal % as %%)`;
  }
  if (s !== 1)
    return `it has ${s} "%s" where Nova puts the destination: write exactly one, e.g. qemu+tcp://%s/system`;
  return undefined;
}

function badTemplate(template: string, problem: string): MigrationPolicyError {
  return new MigrationPolicyError(
    'INVALID_HOST_CONFIG',
    `[libvirt] live_migration_uri is ${quote(template)}: ${problem}; or leave it out and set live_migration_scheme`,
    { key: 'live_migration_uri', value: template },
  );
}

/**
 * oslo's `netutils.escape_ipv6`: an IPv6 literal in brackets, anything else as it is. A name, an IPv4 address
 * and `host:port` (one colon) are not IPv6; an address already in brackets is kept.
 */
export function escapeIpv6(address: string): string {
  return isIpv6(address) ? `[${address}]` : address;
}

function isIpv6(address: string): boolean {
  const [ip = '', zone] = address.split('%', 2);
  if (zone !== undefined && !/^[\w.-]+$/.test(zone)) return false;
  if (!/^[0-9a-f:.]+$/i.test(ip) || (ip.match(/:/g) ?? []).length < 2) return false;
  const halves = ip.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  const last = groups.at(-1) ?? '';
  const v4 = last.includes('.');
  if (v4 && !/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(last)) return false;
  const words = groups.length + (v4 ? 1 : 0);
  if (!groups.slice(0, v4 ? -1 : undefined).every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return false;
  return halves.length === 2 ? words < 8 : words === 8;
}

/** The shapes of the text options of {@link HostConfig}. */
export type TextFormat = 'scheme' | 'address' | 'uri-template';

/**
 * What is wrong with a text option's value, as the fix to print, or `undefined` when it is fine. An empty
 * string means "not set", as Nova treats an empty option.
 */
export function textOptionProblem(format: TextFormat, value: string): string | undefined {
  if (value === '') return undefined;
  switch (format) {
    case 'scheme':
      return /^[a-z][a-z0-9+.-]*$/i.test(value)
        ? undefined
        : 'use a libvirt transport such as tcp, tls or ssh (letters, digits, + . -)';
    case 'address':
      // A name, an IPv4 or IPv6 address, or either with a port ([::1]:4444), as Nova's own tests pass them.
      return /^(?:\[[0-9a-f:.]+(?:%[\w.-]+)?\](?::\d+)?|[\w.:%-]+)$/i.test(value)
        ? undefined
        : 'use an IP address or a host name (a port may follow), without a scheme, user, path or blanks';
    case 'uri-template':
      return uriTemplateProblem(value);
  }
}
