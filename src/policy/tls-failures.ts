/**
 * libvirt's and QEMU's own words for a migration that failed over native TLS, turned into a
 * {@link MigrationTlsError} that names the host, the file or the name, and the fix. Each pattern below is a
 * message libvirt 9.0 with QEMU 10.0 returned in the lab for one broken set-up (docs/security.md lists them);
 * anything else is left as libvirt said it. Pure.
 */
import { MigrationTlsError, type TlsErrorCode } from '../errors.js';

/** What the caller knew about the migration when it failed. */
export interface TlsFailureContext {
  /** How messages name the hosts: `the source (qemu+unix:///system)`, `the destination (dst.lab)`. */
  source: string;
  destination: string;
  /** The name the source's QEMU verifies in the destination's certificate. */
  name?: string;
  /** The source's own files passed the pre-flight: a CA certificate missing is then the destination's. */
  sourceChecked: boolean;
  /** The migration stream carried guest memory before it failed: a later failure is the link, not a handshake. */
  streamStarted: boolean;
  /** The guest's name, for the source QEMU's log. */
  domain?: string;
}

interface Rule {
  pattern: RegExp;
  build(
    m: RegExpExecArray,
    c: TlsFailureContext,
  ): [TlsErrorCode, string, { host: string; file?: string; name?: string; fix: string }];
}

/** `/etc/pki/qemu/server-cert.pem` is the destination's, `client-*` the source's; a CA either's. */
function ownerOf(file: string, c: TlsFailureContext): string {
  if (/server-(cert|key)\.pem$/.test(file)) return c.destination;
  if (/client-(cert|key)\.pem$/.test(file)) return c.source;
  return c.sourceChecked ? c.destination : `${c.source} or ${c.destination}`;
}

const qemuLog = (c: TlsFailureContext) =>
  `the source QEMU's log (/var/log/libvirt/qemu/${c.domain ?? '<domain>'}.log) names the exact reason`;

/** Messages that name a file: unambiguous, whenever they come. */
const FILE_RULES: Rule[] = [
  {
    // QEMU's tls-creds-x509 object: "Unable to access credentials /etc/pki/qemu/ca-cert.pem: No such file or directory"
    pattern: /Unable to access credentials (\S+?):\s*([^\n]+)/,
    build: (m, c) => {
      const file = m[1] ?? '';
      const host = ownerOf(file, c);
      return [
        'TLS_CERTIFICATE_MISSING',
        `${host} has no ${file} (${(m[2] ?? '').trim()}), which QEMU needs for native TLS`,
        {
          host,
          file,
          fix: `install it on ${host}: every host needs ca-cert.pem, server-cert.pem, server-key.pem, client-cert.pem and client-key.pem from one CA in qemu.conf's migrate_tls_x509_cert_dir`,
        },
      ];
    },
  },
  {
    // "The server certificate /etc/pki/qemu/server-cert.pem has expired", "… is not yet active", "The CA certificate … has expired"
    pattern: /The (server|client|CA) certificate (\S+) (has expired|is not yet active)/,
    build: (m, c) => {
      const file = m[2] ?? '';
      const host = m[1] === 'server' ? c.destination : m[1] === 'client' ? c.source : ownerOf(file, c);
      const when = m[3] === 'has expired' ? 'has expired' : 'is not valid yet';
      return [
        'TLS_CERTIFICATE_EXPIRED',
        `${host}: ${file} ${when}`,
        {
          host,
          file,
          fix: `issue a new certificate from the CA and install it as ${file} on ${host}; QEMU reads it at the next migration`,
        },
      ];
    },
  },
  {
    // "Our own certificate /etc/pki/qemu/client-cert.pem failed validation against /etc/pki/qemu/ca-cert.pem: The certificate hasn't got a known issuer"
    pattern: /Our own certificate (\S+) failed validation against (\S+?):\s*([^\n]+)/,
    build: (m, c) => {
      const file = m[1] ?? '';
      const host = ownerOf(file, c);
      return [
        'TLS_CERTIFICATE_UNTRUSTED',
        `${host}: ${file} is not issued by the CA in ${m[2]} (${(m[3] ?? '').trim()})`,
        {
          host,
          file,
          fix: `issue ${file} from the CA every host trusts, or install that CA's certificate as ${m[2]} — all hosts' certificates must come from one CA`,
        },
      ];
    },
  },
  {
    // libvirt's own client: "Cannot access CA certificate '/etc/pki/CA/cacert.pem': No such file or directory"
    pattern: /Cannot (?:access|read) (CA certificate|certificate|private key) '([^']+)':\s*([^\n]+)/,
    build: (m, c) => {
      const file = m[2] ?? '';
      return [
        'TLS_CERTIFICATE_MISSING',
        `${c.source} has no ${m[1]} ${file} (${(m[3] ?? '').trim()}) for its qemu+tls:// connection to ${c.destination}`,
        {
          host: c.source,
          file,
          fix: `install it: a libvirt TLS client needs cacert.pem, clientcert.pem and clientkey.pem (under pkipath=, or /etc/pki/CA and /etc/pki/libvirt)`,
        },
      ];
    },
  },
];

/** Messages of a failed handshake: only before any guest memory crossed (later it is the link that broke). */
const HANDSHAKE_RULES: Rule[] = [
  {
    // The source's QEMU: "Certificate does not match the hostname wrong.lab"; libvirt's client: "Certificate's owner does not match the hostname …"
    pattern: /(?:Certificate does not match the hostname|owner does not match the hostname) (\S+)/,
    build: (m, c) => {
      const name = m[1] ?? c.name ?? '';
      return [
        'TLS_NAME_MISMATCH',
        `${c.destination}'s certificate does not name ${name}, the name the source verifies`,
        {
          host: c.destination,
          name,
          fix: `give tlsDestination (tls.destination) a name the destination's certificate carries, or make it the migrate URI's host, or reissue that certificate with ${name} as a subjectAltName`,
        },
      ];
    },
  },
  {
    // The source's QEMU verifying the destination's certificate: "The certificate hasn't got a known issuer"
    pattern:
      /(?:job '[^']+' failed: )?(The certificate hasn't got a known issuer|The certificate is NOT trusted|The certificate has been revoked)/,
    build: (m, c) => [
      'TLS_CERTIFICATE_UNTRUSTED',
      `${c.source} does not trust ${c.destination}'s certificate (${m[1]})`,
      {
        host: c.destination,
        fix: `issue ${c.destination}'s server-cert.pem from the CA in the source's ca-cert.pem — every host's certificates must come from the one CA all hosts trust`,
      },
    ],
  },
  {
    // The destination's QEMU when the source's handshake stopped: "Not a migration stream", "load of migration failed"
    pattern:
      /Not a migration stream|Cannot read from TLS channel|TLS handshake failed|non-properly terminated|Verify failed/,
    build: (m, c) => [
      'TLS_HANDSHAKE_FAILED',
      `the TLS handshake between ${c.source} and ${c.destination} failed (libvirt: "${m[0]}")` +
        (c.name === undefined ? '' : `; the source verifies the name ${c.name}`),
      {
        host: `${c.source} and ${c.destination}`,
        ...(c.name === undefined ? {} : { name: c.name }),
        fix:
          `check that ${c.destination}'s server-cert.pem names ${c.name ?? 'the migrate URI host'} and that both hosts' certificates come from one CA, ` +
          `and that the source has client-cert.pem and client-key.pem (a destination with migrate_tls_x509_verify = 1 requires them); ${qemuLog(c)}`,
      },
    ],
  },
  {
    // libvirt's RPC: the destination libvirtd refused this client's certificate ("Unable to read TLS confirmation")
    pattern:
      /Unable to read TLS confirmation|Failed to verify peer's certificate|Certificate failed validation: ([^\n]+)/,
    build: (m, c) => [
      'TLS_HANDSHAKE_FAILED',
      `${c.destination}'s libvirtd refused the qemu+tls:// connection from ${c.source} (libvirt: "${m[0]}")`,
      {
        host: c.destination,
        fix:
          `give the source a client certificate from the CA ${c.destination} trusts (clientcert.pem and clientkey.pem under the URI's pkipath=, or /etc/pki/libvirt), ` +
          `with a distinguished name in ${c.destination}'s tls_allowed_dn_list (virt-pki-query-dn clientcert.pem prints it); the destination's libvirtd log says which`,
      },
    ],
  },
];

/**
 * The typed error for a migration that failed on native TLS, from libvirt's error message; `undefined` when
 * the message is not one of TLS's (the caller keeps libvirt's error). The returned error's `cause` is
 * `error`, so libvirt's code and message stay reachable.
 *
 * @example
 * ```ts
 * const mapped = tlsFailure(
 *   new Error("internal error: unable to execute QEMU command 'object-add': The server certificate /etc/pki/qemu/server-cert.pem has expired"),
 *   { source: 'the source (compute-1)', destination: 'the destination (compute-2)', sourceChecked: true, streamStarted: false },
 * );
 * mapped?.code; // 'TLS_CERTIFICATE_EXPIRED', naming compute-2 and /etc/pki/qemu/server-cert.pem
 * ```
 */
export function tlsFailure(error: Error, context: TlsFailureContext): MigrationTlsError | undefined {
  // libvirt's own words, without the call and codes a LibvirtError's message adds around them.
  const message = (error as { libvirtMessage?: unknown }).libvirtMessage;
  const text = typeof message === 'string' ? message : error.message;
  const rules = context.streamStarted ? FILE_RULES : [...FILE_RULES, ...HANDSHAKE_RULES];
  for (const rule of rules) {
    const m = rule.pattern.exec(text);
    if (m === null) continue;
    const [code, problem, details] = rule.build(m, context);
    return new MigrationTlsError(code, problem, { ...details, cause: error });
  }
  return undefined;
}
