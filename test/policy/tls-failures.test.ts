import { describe, expect, it } from 'vitest';
import { LibvirtError, MigrationTlsError } from '../../src/index.js';
import { type TlsFailureContext, tlsFailure } from '../../src/policy/index.js';

const CONTEXT: TlsFailureContext = {
  source: 'the source (compute-1)',
  destination: 'the destination (compute-2)',
  name: 'compute-2.example.org',
  sourceChecked: true,
  streamStarted: false,
  domain: 'instance-0001',
};
/** A LibvirtError as the binding makes it for virDomainMigrateToURI3 (code and domain as libvirt 9.0 gave them). */
const libvirt = (message: string, code = 1) => new LibvirtError('virDomainMigrateToURI3', code, 10, message);

// Each message is what libvirt 9.0 with QEMU 10.0.2 returned in the lab for the set-up named (docs/security.md).
const REAL: [string, string, string, string, string | undefined][] = [
  [
    'the source without any certificate',
    "internal error: unable to execute QEMU command 'object-add': Unable to access credentials /etc/pki/qemu/ca-cert.pem: No such file or directory",
    'TLS_CERTIFICATE_MISSING',
    'the destination (compute-2)',
    '/etc/pki/qemu/ca-cert.pem',
  ],
  [
    'the destination without its server certificate',
    "internal error: unable to execute QEMU command 'object-add': Unable to access credentials /etc/pki/qemu/server-cert.pem: No such file or directory",
    'TLS_CERTIFICATE_MISSING',
    'the destination (compute-2)',
    '/etc/pki/qemu/server-cert.pem',
  ],
  [
    "the destination's server certificate expired",
    "internal error: unable to execute QEMU command 'object-add': The server certificate /etc/pki/qemu/server-cert.pem has expired",
    'TLS_CERTIFICATE_EXPIRED',
    'the destination (compute-2)',
    '/etc/pki/qemu/server-cert.pem',
  ],
  [
    "the source's client certificate expired",
    "internal error: unable to execute QEMU command 'object-add': The client certificate /etc/pki/qemu/client-cert.pem has expired",
    'TLS_CERTIFICATE_EXPIRED',
    'the source (compute-1)',
    '/etc/pki/qemu/client-cert.pem',
  ],
  [
    "the destination's server certificate from another CA than its ca-cert.pem",
    "internal error: unable to execute QEMU command 'object-add': Our own certificate /etc/pki/qemu/server-cert.pem failed validation against /etc/pki/qemu/ca-cert.pem: The certificate hasn't got a known issuer",
    'TLS_CERTIFICATE_UNTRUSTED',
    'the destination (compute-2)',
    '/etc/pki/qemu/server-cert.pem',
  ],
  [
    'the destination wholly from another CA than the source trusts',
    "operation failed: job 'migration out' failed: The certificate hasn't got a known issuer",
    'TLS_CERTIFICATE_UNTRUSTED',
    'the destination (compute-2)',
    undefined,
  ],
  [
    "a name the destination's certificate does not carry, when the source's error comes back",
    "operation failed: job 'migration out' failed: Certificate does not match the hostname wrong.lab",
    'TLS_NAME_MISMATCH',
    'the destination (compute-2)',
    undefined,
  ],
  [
    "a name the destination's certificate does not carry, when the destination's error comes back",
    'internal error: qemu unexpectedly closed the monitor: 2026-12-01T19:53:41.821007Z qemu-system-x86_64: Not a migration stream\n2026-12-01T19:53:41.821334Z qemu-system-x86_64: load of migration failed: Invalid argument',
    'TLS_HANDSHAKE_FAILED',
    'the source (compute-1) and the destination (compute-2)',
    undefined,
  ],
  [
    'the source without a client certificate, the destination verifying (migrate_tls_x509_verify = 1)',
    "operation failed: job 'migration out' failed: Cannot read from TLS channel: The TLS connection was non-properly terminated.",
    'TLS_HANDSHAKE_FAILED',
    'the source (compute-1) and the destination (compute-2)',
    undefined,
  ],
  [
    "the source libvirtd's client certificate refused by the destination libvirtd (qemu+tls://)",
    'Unable to read TLS confirmation: Input/output error',
    'TLS_HANDSHAKE_FAILED',
    'the destination (compute-2)',
    undefined,
  ],
];

describe('tlsFailure: libvirt and QEMU refusals as typed errors', () => {
  it.each(REAL)('%s', (_what, message, code, host, file) => {
    const cause = libvirt(message);
    const mapped = tlsFailure(cause, CONTEXT);
    expect(mapped).toBeInstanceOf(MigrationTlsError);
    expect(mapped).toMatchObject({ code, host, file, cause });
    expect(mapped?.fix.length).toBeGreaterThan(20);
    expect(mapped?.message).toContain(host);
    if (file !== undefined) expect(mapped?.message).toContain(file);
  });

  it('names the name the source verified in a failed handshake, and the source QEMU log with the exact reason', () => {
    const mapped = tlsFailure(libvirt(REAL[7]?.[1] ?? ''), CONTEXT);
    expect(mapped?.tlsName).toBe('compute-2.example.org');
    expect(mapped?.message).toContain('/var/log/libvirt/qemu/instance-0001.log');
    const named = tlsFailure(libvirt(REAL[6]?.[1] ?? ''), CONTEXT);
    expect(named?.tlsName).toBe('wrong.lab');
  });

  it("keeps libvirt's own words in the message, without the binding's call and codes around them", () => {
    const mapped = tlsFailure(libvirt(REAL[0]?.[1] ?? ''), CONTEXT);
    expect(mapped?.message).toContain('(No such file or directory)');
    expect(mapped?.message).not.toContain('libvirt error 1');
  });

  it('says a missing CA may be on either host when the source was not checked', () => {
    const mapped = tlsFailure(libvirt(REAL[0]?.[1] ?? ''), { ...CONTEXT, sourceChecked: false });
    expect(mapped?.host).toBe('the source (compute-1) or the destination (compute-2)');
  });

  it('leaves a broken link alone once memory has crossed, but not a file QEMU could not load', () => {
    const linkLost = libvirt(REAL[8]?.[1] ?? '');
    expect(tlsFailure(linkLost, { ...CONTEXT, streamStarted: true })).toBeUndefined();
    expect(tlsFailure(libvirt(REAL[2]?.[1] ?? ''), { ...CONTEXT, streamStarted: true })?.code).toBe(
      'TLS_CERTIFICATE_EXPIRED',
    );
  });

  it("leaves errors that are not TLS's as libvirt said them", () => {
    expect(
      tlsFailure(
        libvirt(
          "operation failed: job 'migration out' failed: Unable to write to socket: Connection reset by peer",
        ),
        CONTEXT,
      ),
    ).toBeUndefined();
    expect(tlsFailure(new Error('Domain not found'), CONTEXT)).toBeUndefined();
  });
});
