/**
 * Native TLS refusals that say why, each reproduced on the lab: a host without certificates, an expired
 * certificate, a certificate from another CA, a destination name its certificate does not carry. Each once
 * caught by the pre-flight before anything reaches libvirt (nothing crosses the link, the guest untouched),
 * and once with the pre-flight unable to see it, where libvirt's and QEMU's real error is mapped to the same
 * kind of typed error while the guest keeps running on the source. Tunnelled with native TLS stays refused.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGuest, waitForConsole } from '../../lab/domain.js';
import {
  type LibvirtError,
  type MigrateOptions,
  MigrationPolicyError,
  MigrationTlsError,
  type MigrationTuning,
  type TlsErrorCode,
} from '../../src/index.js';
import { describeTlsLab } from './lab-gate.js';
import { domainState, expectIntact, hostMigrate, removeGuest } from './migration-helpers.js';
import {
  issueCertificates,
  migrationConnections,
  onTheWire,
  type TlsHost,
  tlsDestination,
  withCertificates,
} from './tls-helpers.js';

const SERVER = ['server-cert.pem', 'server-key.pem'];
const ALL = ['ca-cert.pem', 'server-cert.pem', 'server-key.pem', 'client-cert.pem', 'client-key.pem'];

describeTlsLab('native TLS refusals: the host, the file or the name, and the fix', (lab) => {
  const name = `tls-refused-${process.pid}`;
  const src = lab.hosts.src as TlsHost;
  const dst = lab.hosts.dst as TlsHost;
  let expired = '';
  let otherCa = '';

  beforeAll(async () => {
    startGuest(lab, 'src', { name, memoryMiB: 256, bufferMiB: 64, mode: 'cpu' });
    expired = issueCertificates(lab, dst.tls.name, dst.address, { expired: true });
    otherCa = issueCertificates(lab, dst.tls.name, dst.address, { otherCa: true });
    await waitForConsole(lab.hosts.src, name, (l) => l.kind === 'stats', 120_000);
  }, 180_000);
  afterAll(() => {
    removeGuest(lab, name);
    for (const dir of [expired, otherCa]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * One TLS migration src → dst that must be refused: the outcome's typed error, the guest running on the
   * source, and what crossed the link.
   */
  async function refused(
    label: string,
    code: TlsErrorCode | readonly TlsErrorCode[],
    options: { tlsPreflight: MigrateOptions['tlsPreflight'] } & MigrationTuning,
  ) {
    const wire = await onTheWire(lab, 'src', label, async () => {
      const job = await hostMigrate(lab, 'src', 'dst', name, {
        host: { nativeTls: true },
        destination: tlsDestination(src, dst),
        ...options,
      } as never);
      return job.outcome;
    });
    const outcome = wire.result;
    const error = outcome.error;
    const cause = (error as { cause?: LibvirtError } | undefined)?.cause;
    console.log(
      `[e2e] ${label}: ${outcome.status}, guest on the ${outcome.guest}: ${error?.name} ${(error as MigrationTlsError | undefined)?.code}: ${error?.message}` +
        (cause === undefined ? ' (before libvirt)' : `\n       libvirt said: ${cause.message}`),
    );
    expect(error).toBeInstanceOf(MigrationTlsError);
    expect([code].flat()).toContain((error as MigrationTlsError).code);
    expect(outcome.guest).toBe('source');
    expect(domainState(lab, 'src', name)).toMatch(/^running/);
    expect(domainState(lab, 'dst', name)).toBe('absent');
    return { outcome, error: error as MigrationTlsError, cause, wire };
  }

  /** The pre-flight refused: libvirt never called, nothing on the link. */
  function beforeLibvirt(r: Awaited<ReturnType<typeof refused>>): void {
    expect(r.outcome.plan).toBeUndefined();
    expect(r.cause).toBeUndefined();
    expect(r.wire.connections).toEqual([]);
  }

  /** libvirt or QEMU refused: its own error is the cause, and the migration never streamed memory. */
  function fromLibvirt(r: Awaited<ReturnType<typeof refused>>): void {
    expect(r.cause?.name).toBe('LibvirtError');
    expect(r.outcome.plan).toBeDefined();
  }

  it('a source without certificates: refused before libvirt naming the file; without the pre-flight, QEMU\'s "Unable to access credentials" as TLS_CERTIFICATE_MISSING', async () => {
    await withCertificates(src.tls.qemuCertDir, Object.fromEntries(ALL.map((f) => [f, null])), async () => {
      const early = await refused('no certificates (pre-flight)', 'TLS_CERTIFICATE_MISSING', {
        tlsPreflight: { certDir: src.tls.qemuCertDir },
      });
      beforeLibvirt(early);
      expect(early.error.file).toBe(`${src.tls.qemuCertDir}/ca-cert.pem`);
      expect(early.error.host).toMatch(/^the source/);
      expect(early.error.message).toMatch(/ca-cert\.pem is missing: install it as/);
      const late = await refused('no certificates (libvirt)', 'TLS_CERTIFICATE_MISSING', {
        tlsPreflight: false,
      });
      fromLibvirt(late);
      expect(late.cause?.message).toMatch(/Unable to access credentials \/etc\/pki\/qemu\/ca-cert\.pem/);
      expect(late.error.file).toBe('/etc/pki/qemu/ca-cert.pem');
    });
    await expectIntact(lab, 'src', name);
  });

  it('an expired destination certificate: TLS_CERTIFICATE_EXPIRED from the pre-flight, and from QEMU\'s "has expired"', async () => {
    await withCertificates(
      dst.tls.qemuCertDir,
      Object.fromEntries(SERVER.map((f) => [f, expired])),
      async () => {
        const early = await refused('expired (pre-flight)', 'TLS_CERTIFICATE_EXPIRED', {
          tlsPreflight: { certDir: src.tls.qemuCertDir, destinationCertDir: dst.tls.qemuCertDir },
        });
        beforeLibvirt(early);
        expect(early.error.file).toBe(`${dst.tls.qemuCertDir}/server-cert.pem`);
        expect(early.error.message).toMatch(
          /the destination \(dst\.lab\).*has expired: it was valid until 2020-01-02/,
        );
        const late = await refused('expired (libvirt)', 'TLS_CERTIFICATE_EXPIRED', {
          tlsPreflight: { certDir: src.tls.qemuCertDir },
        });
        fromLibvirt(late);
        expect(late.cause?.message).toMatch(
          /The server certificate \/etc\/pki\/qemu\/server-cert\.pem has expired/,
        );
        expect(late.error.host).toBe('the destination (dst.lab)');
      },
    );
    await expectIntact(lab, 'src', name);
  });

  it('a destination whose certificates come from another CA: TLS_CERTIFICATE_UNTRUSTED from the pre-flight, and from the handshake\'s "hasn\'t got a known issuer"', async () => {
    await withCertificates(
      dst.tls.qemuCertDir,
      Object.fromEntries(ALL.map((f) => [f, otherCa])),
      async () => {
        const early = await refused('other CA (pre-flight)', 'TLS_CERTIFICATE_UNTRUSTED', {
          tlsPreflight: { certDir: src.tls.qemuCertDir, destinationCertDir: dst.tls.qemuCertDir },
        });
        beforeLibvirt(early);
        expect(early.error.message).toMatch(
          /does not trust .*the destination \(dst\.lab\)|the destination \(dst\.lab\) does not trust/,
        );
        const late = await refused(
          'other CA (libvirt)',
          ['TLS_CERTIFICATE_UNTRUSTED', 'TLS_HANDSHAKE_FAILED'],
          {
            tlsPreflight: { certDir: src.tls.qemuCertDir },
          },
        );
        fromLibvirt(late);
        expect(late.error.host).toMatch(/the destination \(dst\.lab\)/);
      },
    );
    await expectIntact(lab, 'src', name);
  });

  it("a destination name its certificate does not carry: TLS_NAME_MISMATCH from the pre-flight; QEMU's handshake failure names it too", async () => {
    const early = await refused('wrong name (pre-flight)', 'TLS_NAME_MISMATCH', {
      tlsPreflight: { certDir: src.tls.qemuCertDir, destinationCertDir: dst.tls.qemuCertDir },
      tlsDestination: 'compute-9.lab',
    });
    beforeLibvirt(early);
    expect(early.error.tlsName).toBe('compute-9.lab');
    expect(early.error.message).toMatch(
      /does not name compute-9\.lab.*DNS:dst\.lab, IP Address:169\.254\.77\.2/,
    );
    const late = await refused('wrong name (libvirt)', ['TLS_NAME_MISMATCH', 'TLS_HANDSHAKE_FAILED'], {
      tlsPreflight: { certDir: src.tls.qemuCertDir },
      tlsDestination: 'compute-9.lab',
    });
    fromLibvirt(late);
    expect(late.error.message).toContain('compute-9.lab');
    expect(migrationConnections(late.wire.connections).length).toBeGreaterThan(0);
    await expectIntact(lab, 'src', name);
  });

  it('tunnelled together with native TLS stays refused before libvirt, with the reason', async () => {
    const job = await hostMigrate(lab, 'src', 'dst', name, {
      host: { nativeTls: true, tunnelled: true },
      destination: tlsDestination(src, dst),
    } as never);
    const outcome = await job.outcome;
    console.log(`[e2e] tunnelled + native TLS: ${outcome.status}: ${outcome.error?.message}`);
    expect(outcome.error).toBeInstanceOf(MigrationPolicyError);
    expect(outcome.error).toMatchObject({ code: 'INVALID_HOST_CONFIG', key: 'live_migration_tunnelled' });
    expect(outcome.error?.message).toMatch(
      /which Nova refuses: a tunnelled stream goes through libvirtd's own connection/,
    );
    expect(outcome.guest).toBe('source');
    expect(domainState(lab, 'src', name)).toMatch(/^running/);
  });
});
