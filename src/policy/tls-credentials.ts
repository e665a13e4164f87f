/**
 * Whether a host's certificates can carry a migration with native TLS, decided from the files' contents as
 * the shell read them: present and readable, real PEM, within their dates, issued by the CA the host trusts,
 * each key the key of its certificate, made for their use (client or server), and — for the destination —
 * naming the host the source verifies. The same checks QEMU makes when libvirt adds its `tls-creds-x509`
 * object, and the one the source's QEMU makes in the handshake, so a refusal here is a migration that would
 * have failed. Pure: parsing a certificate is computation (`node:crypto`), and the time is an argument.
 */
import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { MigrationTlsError, type TlsErrorCode } from '../errors.js';
import { frozenDeep } from './guard.js';

/** A file as the shell read it: its text, or why it could not (`ENOENT: no such file or directory`). */
export type ReadFile = { path: string; text: string } | { path: string; error: string };

/** Which end of the migration a host's files serve: the source's QEMU is the TLS client, the destination's the server. */
export type TlsRole = 'source' | 'destination';

/** QEMU's file names in `migrate_tls_x509_cert_dir` (libvirt's `qemu.conf`), by role. */
export const QEMU_TLS_FILES = frozenDeep({
  ca: 'ca-cert.pem',
  source: { cert: 'client-cert.pem', key: 'client-key.pem' },
  destination: { cert: 'server-cert.pem', key: 'server-key.pem' },
} as const);

/** libvirt's file names under a client's `pkipath=` (the agent's or the source libvirtd's `qemu+tls://` connection). */
export const LIBVIRT_PKIPATH_FILES = Object.freeze({
  ca: 'cacert.pem',
  cert: 'clientcert.pem',
  key: 'clientkey.pem',
} as const);

/**
 * The three files a role reads: QEMU's names in its migration directory, or a libvirt client's under `pkipath=`.
 *
 * @example
 * ```ts
 * tlsFileNames('qemu', 'destination'); // { ca: 'ca-cert.pem', cert: 'server-cert.pem', key: 'server-key.pem' }
 * tlsFileNames('libvirt', 'source'); // { ca: 'cacert.pem', cert: 'clientcert.pem', key: 'clientkey.pem' }
 * ```
 */
export function tlsFileNames(
  kind: 'qemu' | 'libvirt',
  role: TlsRole,
): { ca: string; cert: string; key: string } {
  return kind === 'libvirt'
    ? { ...LIBVIRT_PKIPATH_FILES }
    : { ca: QEMU_TLS_FILES.ca, ...QEMU_TLS_FILES[role] };
}

/** Input of {@link checkTlsCredentials}. */
export interface TlsCredentialsInput {
  /** How messages name the host: `the source (compute-1)`. */
  host: string;
  role: TlsRole;
  /** `qemu`: QEMU's migration certificates (default); `libvirt`: a libvirt client's `pkipath=` set. */
  kind?: 'qemu' | 'libvirt';
  /** The CA bundle the host trusts, its own certificate and its key. */
  files: { ca: ReadFile; cert: ReadFile; key: ReadFile };
  /** The time to judge the dates by, in ms since the epoch. */
  now: number;
  /** For the destination: the name the source verifies in its certificate (`tls.destination` or the migrate URI's host). */
  name?: string;
  /**
   * The other end's CA bundle, when known: it must trust this host's certificate too (the source verifies the
   * destination's server certificate against its own CA, the destination the source's client certificate).
   */
  peer?: { host: string; ca: ReadFile };
}

/** What was read from one certificate. */
export interface CertificateFacts {
  file: string;
  subject: string;
  issuer: string;
  /** ISO dates. */
  validFrom: string;
  validTo: string;
  /** The subjectAltNames, `DNS:dst.lab`, `IP Address:169.254.77.2`. */
  names: string[];
}

/** What {@link checkTlsCredentials} found. */
export interface TlsCredentialsReport {
  /** Every problem, most basic first (a missing file before a date); empty when the host is ready. */
  problems: MigrationTlsError[];
  /** The host's own certificate, when it could be read. */
  certificate?: CertificateFacts;
}

const EKU = { source: '1.3.6.1.5.5.7.3.2', destination: '1.3.6.1.5.5.7.3.1' } as const;
const USE = { source: 'TLS client (clientAuth)', destination: 'TLS server (serverAuth)' } as const;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Checks one host's certificate set for its role in a migration with native TLS: the CA bundle, the
 * certificate (client for the source, server for the destination) and its key. Each problem is a
 * {@link MigrationTlsError} naming the host, the file or the name, and the fix.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const read = (path: string) => ({ path, text: readFileSync(path, 'utf8') });
 * const report = checkTlsCredentials({
 *   host: 'the destination (compute-2)',
 *   role: 'destination',
 *   files: { ca: read('/etc/pki/qemu/ca-cert.pem'), cert: read('/etc/pki/qemu/server-cert.pem'), key: read('/etc/pki/qemu/server-key.pem') },
 *   now: Date.now(),
 *   name: 'compute-2.example.org',
 * });
 * if (report.problems.length > 0) throw report.problems[0]; // e.g. TLS_NAME_MISMATCH naming the certificate's names
 * ```
 */
export function checkTlsCredentials(input: TlsCredentialsInput): TlsCredentialsReport {
  const { host, role, files, now } = input;
  const kind = input.kind ?? 'qemu';
  const problems: MigrationTlsError[] = [];
  const fail = (code: TlsErrorCode, problem: string, file: string | undefined, fix: string, name?: string) =>
    problems.push(
      new MigrationTlsError(code, problem, {
        host,
        fix,
        ...(file === undefined ? {} : { file }),
        ...(name === undefined ? {} : { name }),
      }),
    );

  for (const [what, file] of [
    ['CA certificate', files.ca],
    [`${role === 'source' ? 'client' : 'server'} certificate`, files.cert],
    [`${role === 'source' ? 'client' : 'server'} key`, files.key],
  ] as const) {
    if ('error' in file)
      fail('TLS_CERTIFICATE_MISSING', missing(host, what, file), file.path, installFix(kind, file.path));
  }
  if (problems.length > 0) return { problems };

  const text = (f: ReadFile) => ('text' in f ? f.text : '');
  const cas = parseCertificates(text(files.ca));
  const certs = parseCertificates(text(files.cert));
  const own = certs[0];
  if (cas.length === 0)
    fail(
      'TLS_CERTIFICATE_INVALID',
      `${host}: ${files.ca.path} holds no PEM certificate`,
      files.ca.path,
      installFix(kind, files.ca.path),
    );
  if (own === undefined)
    fail(
      'TLS_CERTIFICATE_INVALID',
      `${host}: ${files.cert.path} holds no PEM certificate`,
      files.cert.path,
      installFix(kind, files.cert.path),
    );
  const key = privateKey(text(files.key));
  if (key === undefined)
    fail(
      'TLS_CERTIFICATE_INVALID',
      `${host}: ${files.key.path} holds no private key in PEM`,
      files.key.path,
      installFix(kind, files.key.path),
    );
  if (own === undefined || cas.length === 0) return { problems };
  const certificate = facts(files.cert.path, own);

  for (const ca of cas) {
    const dates = outOfDate(ca, now);
    if (dates !== undefined)
      fail(
        'TLS_CERTIFICATE_EXPIRED',
        `${host}: the CA certificate ${files.ca.path} (${oneLine(ca.subject)}) ${dates}`,
        files.ca.path,
        `install the CA's renewed certificate as ${files.ca.path} on every host, then reissue the hosts' certificates from it`,
      );
  }
  const dates = outOfDate(own, now);
  if (dates !== undefined)
    fail(
      'TLS_CERTIFICATE_EXPIRED',
      `${host}: ${files.cert.path} (${oneLine(own.subject)}) ${dates}`,
      files.cert.path,
      `issue a new ${USE[role]} certificate for this host from the CA and install it as ${files.cert.path}; QEMU reads it at the next migration`,
    );
  const issuer = cas.find((ca) => issues(ca, own));
  if (issuer === undefined)
    fail(
      'TLS_CERTIFICATE_UNTRUSTED',
      `${host}: ${files.cert.path} is issued by ${oneLine(own.issuer)}, which is not the CA in ${files.ca.path} (${cas.map((c) => oneLine(c.subject)).join('; ')})`,
      files.cert.path,
      `issue ${files.cert.path} from the CA in ${files.ca.path} — every host's certificates must come from the one CA all hosts trust — or install that CA's certificate as ${files.ca.path} on every host`,
    );
  const peer = input.peer;
  const peerCas = peer === undefined ? [] : parseCertificates('text' in peer.ca ? peer.ca.text : '');
  if (
    peer !== undefined &&
    issuer !== undefined &&
    peerCas.length > 0 &&
    !peerCas.some((ca) => issues(ca, own))
  )
    fail(
      'TLS_CERTIFICATE_UNTRUSTED',
      `${peer.host} does not trust ${host}'s ${files.cert.path}: it is issued by ${oneLine(own.issuer)}, and ${peer.host}'s ${peer.ca.path} holds ${peerCas.map((c) => oneLine(c.subject)).join('; ')}`,
      files.cert.path,
      `issue every host's certificates from the one CA all hosts trust, and install that CA's certificate as ca-cert.pem on every host`,
    );
  if (key !== undefined && !samePublicKey(own.publicKey, key))
    fail(
      'TLS_CERTIFICATE_INVALID',
      `${host}: ${files.key.path} is not the key of ${files.cert.path}`,
      files.key.path,
      `install the key ${files.cert.path} was issued for as ${files.key.path}, or issue a new certificate for this key`,
    );
  const usages = own.keyUsage;
  if (
    Array.isArray(usages) &&
    usages.length > 0 &&
    !usages.includes(EKU[role]) &&
    !usages.includes('2.5.29.37.0')
  )
    fail(
      'TLS_CERTIFICATE_INVALID',
      `${host}: ${files.cert.path} is not made for a ${USE[role]} (its extended key usage: ${usages.join(', ')})`,
      files.cert.path,
      `issue it with the ${USE[role]} purpose (certtool: ${role === 'source' ? 'tls_www_client' : 'tls_www_server'})`,
    );

  const name = input.name;
  if (role === 'destination' && name !== undefined && !namesHost(own, name)) {
    const carried =
      certificate.names.length > 0 ? certificate.names.join(', ') : `only ${oneLine(own.subject)}`;
    fail(
      'TLS_NAME_MISMATCH',
      `${host}: ${files.cert.path} does not name ${name}, the name the source verifies (it names ${carried})`,
      files.cert.path,
      `give tlsDestination (libvirt's tls.destination) a name the certificate carries, or make it the migrate URI's host, or reissue the certificate with ${name} as a subjectAltName`,
      name,
    );
  }
  return { problems, certificate };
}

/** The certificates of a PEM bundle that parse. */
function parseCertificates(text: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const block of text.match(PEM_CERT) ?? []) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      // A damaged block is skipped; a bundle of nothing but damaged blocks is "no PEM certificate".
    }
  }
  return out;
}

function issues(ca: X509Certificate, cert: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

function privateKey(text: string): KeyObject | undefined {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) return undefined;
  try {
    return createPrivateKey(text);
  } catch {
    return undefined;
  }
}

function samePublicKey(certificateKey: KeyObject, key: KeyObject): boolean {
  const der = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  return der(certificateKey).equals(der(createPublicKey(key)));
}

/** `has expired (valid until …)`, `is not valid yet (from …)`, or undefined when `now` is within its dates. */
function outOfDate(cert: X509Certificate, now: number): string | undefined {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (Number.isFinite(to) && now > to) return `has expired: it was valid until ${iso(to)}`;
  if (Number.isFinite(from) && now < from) return `is not valid yet: it is valid from ${iso(from)}`;
  return undefined;
}

/** Does the certificate name `name` (a DNS name, or an IP address matched against its IP SANs)? */
function namesHost(cert: X509Certificate, name: string): boolean {
  const bare = name.replace(/^\[(.*)\]$/, '$1');
  return isIP(bare) ? cert.checkIP(bare) !== undefined : cert.checkHost(bare) !== undefined;
}

function facts(file: string, cert: X509Certificate): CertificateFacts {
  return {
    file,
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    validFrom: iso(Date.parse(cert.validFrom)),
    validTo: iso(Date.parse(cert.validTo)),
    names: (cert.subjectAltName ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

function missing(host: string, what: string, file: { path: string; error: string }): string {
  const why = /EACCES|EPERM/.test(file.error)
    ? 'cannot be read by this agent'
    : /ENOENT/.test(file.error)
      ? 'is missing'
      : `cannot be read (${file.error})`;
  return `${host} has no usable ${what}: ${file.path} ${why}`;
}

function installFix(kind: 'qemu' | 'libvirt', path: string): string {
  return kind === 'qemu'
    ? `install it as ${path}: every host that migrates with live_migration_with_native_tls needs ca-cert.pem, ` +
        'server-cert.pem, server-key.pem, client-cert.pem and client-key.pem, from one CA, in the directory ' +
        "qemu.conf's migrate_tls_x509_cert_dir names (default /etc/pki/qemu); if that is not the directory " +
        'checked here, give tlsPreflight.certDir'
    : `install it as ${path}: a libvirt client's pkipath= directory holds cacert.pem, clientcert.pem and clientkey.pem`;
}

const oneLine = (dn: string) => dn.split('\n').filter(Boolean).join(', ');
const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : 'an unreadable date');

/** What native TLS means for a host's migrations, for `explain` and `traits`. */
export interface TlsRequirements {
  /** `live_migration_with_native_tls`: QEMU encrypts the stream itself (`VIR_MIGRATE_TLS`). */
  nativeTls: boolean;
  /** How the guest's memory crosses the network with this conf. */
  stream: string;
  /** What every host needs for it (empty when native TLS is off). */
  needs: string[];
}

/**
 * How a host's `[libvirt]` options protect the migration stream, and what the hosts need for native TLS.
 *
 * @example
 * ```ts
 * tlsRequirements({ nativeTls: true, tunnelled: false }).needs[0];
 * // 'in the directory qemu.conf's migrate_tls_x509_cert_dir names (default /etc/pki/qemu): ca-cert.pem, …'
 * ```
 */
export function tlsRequirements(config: { nativeTls: boolean; tunnelled: boolean }): TlsRequirements {
  if (config.nativeTls) {
    return {
      nativeTls: true,
      stream:
        "encrypted by QEMU's native TLS (VIR_MIGRATE_TLS): the source verifies the destination's certificate, " +
        "and the destination the source's when its qemu.conf says migrate_tls_x509_verify = 1",
      needs: [
        "in the directory qemu.conf's migrate_tls_x509_cert_dir names (default /etc/pki/qemu): ca-cert.pem, " +
          "server-cert.pem, server-key.pem, client-cert.pem and client-key.pem, every host's from the one CA",
        "each host's server-cert.pem naming the host as sources reach it (the migrate URI's host or " +
          'tls.destination) as a subjectAltName',
        'qemu.conf migrate_tls_x509_verify = 1 on every host, so a destination accepts only sources with a client certificate of that CA',
      ],
    };
  }
  return {
    nativeTls: false,
    stream: config.tunnelled
      ? "tunnelled through libvirtd's connection (VIR_MIGRATE_TUNNELLED): encrypted only when the destination URI is qemu+tls://"
      : "plain TCP: whoever reaches the migration network reads the guest's memory; live_migration_with_native_tls = True encrypts it",
    needs: [],
  };
}
