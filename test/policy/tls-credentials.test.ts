import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkTlsCredentials,
  MigrationTlsError,
  type ReadFile,
  type TlsCredentialsInput,
  tlsFileNames,
  tlsRequirements,
} from '../../src/policy/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'tls');
/** A time within the fixtures' validity (made 2026, valid 10 years; the expired set 2020-01-01 to 02). */
const NOW = Date.parse('2027-06-01T00:00:00Z');
const read = (set: string, name: string): ReadFile => {
  const path = join(FIXTURES, set, name);
  return { path, text: readFileSync(path, 'utf8') };
};
const files = (set: string, role: 'source' | 'destination', ca = set) => {
  const names = tlsFileNames('qemu', role);
  return { ca: read(ca, names.ca), cert: read(set, names.cert), key: read(set, names.key) };
};
const check = (input: Partial<TlsCredentialsInput> & Pick<TlsCredentialsInput, 'files' | 'role'>) =>
  checkTlsCredentials({ host: 'the destination (compute-2)', now: NOW, ...input });

describe('checkTlsCredentials: a host ready for native TLS, and each way it is not', () => {
  it('passes a sound set for either role and reports the certificate it read', () => {
    const source = check({ role: 'source', files: files('good', 'source') });
    expect(source.problems).toEqual([]);
    const destination = check({
      role: 'destination',
      files: files('good', 'destination'),
      name: 'dst.example.org',
    });
    expect(destination.problems).toEqual([]);
    expect(destination.certificate).toMatchObject({
      subject: expect.stringContaining('CN=dst.example.org'),
      names: ['DNS:dst.example.org', 'IP Address:192.0.2.7'],
    });
  });

  it('names a missing or unreadable file, with the set every host needs as the fix', () => {
    const gone: ReadFile = {
      path: '/etc/pki/qemu/client-cert.pem',
      error: 'ENOENT: no such file or directory',
    };
    const locked: ReadFile = { path: '/etc/pki/qemu/client-key.pem', error: 'EACCES: permission denied' };
    const { problems } = check({
      host: 'the source (compute-1)',
      role: 'source',
      files: { ...files('good', 'source'), cert: gone, key: locked },
    });
    expect(problems.map((p) => [p.code, p.file])).toEqual([
      ['TLS_CERTIFICATE_MISSING', '/etc/pki/qemu/client-cert.pem'],
      ['TLS_CERTIFICATE_MISSING', '/etc/pki/qemu/client-key.pem'],
    ]);
    expect(problems[0]?.message).toBe(
      'the source (compute-1) has no usable client certificate: /etc/pki/qemu/client-cert.pem is missing: install it ' +
        'as /etc/pki/qemu/client-cert.pem: every host that migrates with live_migration_with_native_tls needs ' +
        'ca-cert.pem, server-cert.pem, server-key.pem, client-cert.pem and client-key.pem, from one CA, in the ' +
        "directory qemu.conf's migrate_tls_x509_cert_dir names (default /etc/pki/qemu); if that is not the " +
        'directory checked here, give tlsPreflight.certDir',
    );
    expect(problems[1]?.message).toContain('client-key.pem cannot be read by this agent');
    expect(problems[0]).toBeInstanceOf(MigrationTlsError);
    expect(problems[0]?.host).toBe('the source (compute-1)');
  });

  it('refuses an expired certificate with its end date, and one not valid yet with its start', () => {
    const expired = check({ role: 'destination', files: files('expired', 'destination') });
    expect(expired.problems.map((p) => p.code)).toEqual(['TLS_CERTIFICATE_EXPIRED']);
    expect(expired.problems[0]?.message).toMatch(
      /^the destination \(compute-2\): .*expired\/server-cert\.pem \(O=lmp lab fixtures, CN=dst\.example\.org\) has expired: it was valid until 2020-01-02T00:00:00\.000Z: issue a new TLS server \(serverAuth\) certificate/,
    );
    const early = check({
      role: 'destination',
      files: files('good', 'destination'),
      now: Date.parse('2001-01-01'),
    });
    expect(early.problems.map((p) => p.code)).toContain('TLS_CERTIFICATE_EXPIRED');
    expect(early.problems[0]?.message).toMatch(/is not valid yet: it is valid from 20\d\d-/);
  });

  it("refuses a certificate that is not from the host's CA, naming both", () => {
    const { problems } = check({ role: 'source', files: files('other', 'source', 'ca') });
    expect(problems.map((p) => p.code)).toEqual(['TLS_CERTIFICATE_UNTRUSTED']);
    expect(problems[0]?.message).toMatch(
      /other\/client-cert\.pem is issued by O=lmp fixtures \(other\), CN=lmp fixtures \(other\) CA, which is not the CA in .*ca\/ca-cert\.pem \(O=lmp fixtures, CN=lmp fixtures CA\)/,
    );
  });

  it("refuses a sound set the other end does not trust (the hosts' CAs differ)", () => {
    const { problems } = check({
      role: 'destination',
      files: files('other', 'destination'),
      peer: { host: 'the source (compute-1)', ca: read('ca', 'ca-cert.pem') },
    });
    expect(problems.map((p) => p.code)).toEqual(['TLS_CERTIFICATE_UNTRUSTED']);
    expect(problems[0]?.message).toMatch(
      /^the source \(compute-1\) does not trust the destination \(compute-2\)'s /,
    );
  });

  it('refuses a key that is not the key of its certificate, and a file that is not PEM', () => {
    const wrongKey = check({
      role: 'source',
      files: { ...files('good', 'source'), key: read('other', 'client-key.pem') },
    });
    expect(wrongKey.problems.map((p) => p.code)).toEqual(['TLS_CERTIFICATE_INVALID']);
    expect(wrongKey.problems[0]?.message).toMatch(
      /other\/client-key\.pem is not the key of .*good\/client-cert\.pem/,
    );
    const junk: ReadFile = { path: '/etc/pki/qemu/ca-cert.pem', text: 'not a certificate\n' };
    const notPem = check({ role: 'source', files: { ...files('good', 'source'), ca: junk } });
    expect(notPem.problems.map((p) => [p.code, p.file])).toEqual([['TLS_CERTIFICATE_INVALID', junk.path]]);
  });

  it('refuses a client certificate where a server certificate is needed (extended key usage)', () => {
    const swapped = check({
      role: 'destination',
      files: {
        ...files('good', 'destination'),
        cert: read('good', 'client-cert.pem'),
        key: read('good', 'client-key.pem'),
      },
    });
    expect(swapped.problems.map((p) => p.code)).toEqual(['TLS_CERTIFICATE_INVALID']);
    expect(swapped.problems[0]?.message).toContain('is not made for a TLS server (serverAuth)');
  });

  it('refuses a destination certificate that does not name the host the source verifies, listing the names it has', () => {
    const input = { role: 'destination' as const, files: files('good', 'destination') };
    expect(check({ ...input, name: 'dst.example.org' }).problems).toEqual([]);
    expect(check({ ...input, name: '192.0.2.7' }).problems).toEqual([]);
    const wrong = check({ ...input, name: 'compute-9.example.org' }).problems;
    expect(wrong.map((p) => [p.code, p.tlsName, p.key])).toEqual([
      ['TLS_NAME_MISMATCH', 'compute-9.example.org', wrong[0]?.file],
    ]);
    expect(wrong[0]?.message).toContain(
      'does not name compute-9.example.org, the name the source verifies (it names DNS:dst.example.org, IP Address:192.0.2.7)',
    );
    expect(check({ ...input, name: '192.0.2.8' }).problems.map((p) => p.code)).toEqual(['TLS_NAME_MISMATCH']);
  });

  it('serialises each problem with the host, the file and the fix', () => {
    const [problem] = check({ role: 'destination', files: files('expired', 'destination') }).problems;
    expect(JSON.parse(JSON.stringify(problem))).toMatchObject({
      name: 'MigrationTlsError',
      code: 'TLS_CERTIFICATE_EXPIRED',
      host: 'the destination (compute-2)',
      file: expect.stringMatching(/server-cert\.pem$/),
      fix: expect.stringMatching(/^issue a new TLS server/),
    });
  });
});

describe('tlsRequirements: what native TLS asks of the hosts', () => {
  it('lists the files, the names and the verification with native TLS on; says how the stream goes otherwise', () => {
    const on = tlsRequirements({ nativeTls: true, tunnelled: false });
    expect(on.nativeTls).toBe(true);
    expect(on.needs.join('\n')).toMatch(
      /ca-cert\.pem, server-cert\.pem, server-key\.pem, client-cert\.pem and client-key\.pem/,
    );
    expect(on.needs.join('\n')).toMatch(/migrate_tls_x509_verify = 1/);
    expect(tlsRequirements({ nativeTls: false, tunnelled: false })).toMatchObject({
      nativeTls: false,
      needs: [],
      stream: expect.stringMatching(/^plain TCP/),
    });
    expect(tlsRequirements({ nativeTls: false, tunnelled: true }).stream).toMatch(
      /^tunnelled .*qemu\+tls:\/\//,
    );
  });
});
