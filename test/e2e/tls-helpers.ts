/**
 * What the TLS suites share: the destination of a TLS lab host (its name, its libvirtd over qemu+tls:// with
 * the source's agent certificate), the migration flags libvirtd itself holds, a capture of the lab link read
 * as TLS, and certificates broken on purpose and put back.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { HostName, LabHost, LabHostTls, LabInfo } from '../../lab/domain.js';
import { captureLink, notTlsBecause, readCapture, type TcpConnection } from '../../lab/wire.js';
import type { MigrateOptions } from '../../src/index.js';
import { libvirtdPid } from './lab-control.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** A lab host of a TLS lab. */
export type TlsHost = LabHost & { tls: LabHostTls };

/** The first port QEMU's incoming migration listens on (libvirt's `migration_port_min`). */
export const MIGRATION_PORT_MIN = 49152;

/**
 * `migrate()`'s destination for `to`, reached from `from` as in production: libvirtd over
 * `qemu+tls://<name>/system` with `from`'s agent certificate (`pkipath=`), QEMU's stream to `tcp://<name>`,
 * so the name QEMU verifies is the DNS name in the certificate's SANs.
 */
export function tlsDestination(from: TlsHost, to: TlsHost): { uri: string; migrateUri: string } {
  return { uri: `${to.tls.uri}?pkipath=${from.tls.agentPkiPath}`, migrateUri: `tcp://${to.tls.name}` };
}

/** The certificate checks' directories for a migration from `from` to `to`, as lab.json names them. */
export function tlsPreflight(from: TlsHost, to: TlsHost): NonNullable<MigrateOptions['tlsPreflight']> {
  return { certDir: from.tls.qemuCertDir, destinationCertDir: to.tls.qemuCertDir };
}

/**
 * The migration flags of guest `name`'s outgoing migration as the source's libvirtd holds them: the `flags`
 * of the `<job async='migration out'>` in its status XML (`/run/libvirt/qemu/<name>.xml` in the host's
 * private /run), read through the daemon's own root. `undefined` while no outgoing migration is recorded.
 */
export function libvirtdJobFlags(lab: LabInfo, host: HostName, name: string): number | undefined {
  const file = `/proc/${libvirtdPid(lab, host)}/root/run/libvirt/qemu/${name}.xml`;
  if (!existsSync(file)) return undefined;
  const job = /<job\b[^>]*\basync='migration out'[^>]*>/.exec(readFileSync(file, 'utf8'))?.[0];
  const flags = job === undefined ? undefined : /\bflags='(0x[0-9a-f]+|\d+)'/.exec(job)?.[1];
  return flags === undefined ? undefined : Number(flags);
}

/**
 * Polls {@link libvirtdJobFlags} until the job is recorded with its flags: libvirt may write the job's first
 * record before its flags (seen as `flags='0x0'` once in a while); no migration is made with no flag.
 */
export async function waitJobFlags(
  lab: LabInfo,
  host: HostName,
  name: string,
  timeoutMs = 30_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const flags = libvirtdJobFlags(lab, host, name);
    if (flags !== undefined && flags !== 0) return flags;
    if (Date.now() > deadline) throw new Error(`${host}'s libvirtd recorded no migration job for ${name}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The TCP connections that crossed the lab link while `fn` ran, each parsed as TLS (tcpdump on `host`'s end). */
export async function onTheWire<T>(
  lab: LabInfo,
  host: HostName,
  label: string,
  fn: () => Promise<T>,
): Promise<{ result: T; connections: TcpConnection[]; dropped: number }> {
  const dir = join(lab.stateDir, 'captures');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${label}-${process.pid}.pcap`);
  const capture = await captureLink(lab.hosts[host], file);
  let result: T;
  let dropped = Number.NaN;
  try {
    result = await fn();
  } finally {
    // The last segments (FINs) are on the wire a moment after libvirt returns.
    await new Promise((r) => setTimeout(r, 500));
    ({ dropped } = await capture.stop());
  }
  const connections = await readCapture(file);
  // Hundreds of MB each: kept only on request (LMP_KEEP_CAPTURES=1), e.g. to read one with tshark.
  if (process.env.LMP_KEEP_CAPTURES === '1') console.log(`[e2e] capture kept: ${file}`);
  else rmSync(file, { force: true });
  return { result, connections, dropped };
}

/** The migration stream's connections: to QEMU's incoming ports. */
export function migrationConnections(connections: readonly TcpConnection[]): TcpConnection[] {
  return connections.filter((c) => c.serverPort >= MIGRATION_PORT_MIN);
}

/**
 * Every connection of the capture opened with a TLS handshake and carried only TLS records, and at least one
 * was the migration stream; prints the evidence (the first bytes each way, the record counts).
 */
export function expectOnlyTls(label: string, wire: { connections: TcpConnection[]; dropped: number }): void {
  expect(wire.dropped, 'tcpdump dropped packets: the record sequence cannot be followed').toBe(0);
  const stream = migrationConnections(wire.connections);
  expect(stream.length, 'no migration connection crossed the link').toBeGreaterThan(0);
  for (const c of wire.connections) {
    // A connect attempt while the link was down carried nothing either way: nothing to prove of it.
    if (c.toServer.bytes === 0 && c.toClient.bytes === 0) {
      console.log(`[e2e] ${label}: ${c.client} → ${c.server}: a connect attempt that carried no byte`);
      continue;
    }
    const r = c.toServer.records;
    console.log(
      `[e2e] ${label}: ${c.client} → ${c.server} ${c.serverPort >= MIGRATION_PORT_MIN ? 'migration stream' : 'libvirtd'}: ` +
        `first bytes ${c.toServer.firstBytes} / ${c.toClient.firstBytes}; ${c.toServer.bytes + c.toClient.bytes} bytes in ` +
        `${(r[22] ?? 0) + (c.toClient.records[22] ?? 0)} handshake, ${(r[23] ?? 0) + (c.toClient.records[23] ?? 0)} ` +
        `application-data records; ${notTlsBecause(c) ?? 'TLS only'}`,
    );
    expect(notTlsBecause(c), `${c.client} → ${c.server}`).toBeUndefined();
  }
}

/** Runs `bash lab/tls.sh issue` (certtool): a certificate set for `name`, expired or from another CA on request. */
export function issueCertificates(
  lab: LabInfo,
  name: string,
  address: string,
  options: { expired?: boolean; otherCa?: boolean } = {},
): string {
  const out = mkdtempSync(join(lab.stateDir, 'pki-test-'));
  rmSync(out, { recursive: true });
  const args = [join(ROOT, 'lab', 'tls.sh'), 'issue', out, name, address];
  if (options.expired) args.push('--expired');
  if (options.otherCa) args.push('--ca', join(lab.stateDir, 'pki', 'other-ca'));
  execFileSync('bash', args, {
    env: { ...process.env, LAB_NAME: lab.name },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return out;
}

/**
 * Runs `fn` with files of a certificate directory replaced (`source` dir's file of the same name) or removed
 * (`null`), and puts every original back afterwards, whatever happened.
 */
export async function withCertificates<T>(
  dir: string,
  changes: Record<string, string | null>,
  fn: () => Promise<T>,
): Promise<T> {
  const keep = mkdtempSync(join(dir, '..', 'kept-'));
  const names = Object.keys(changes);
  for (const name of names) if (existsSync(join(dir, name))) renameSync(join(dir, name), join(keep, name));
  try {
    for (const [name, from] of Object.entries(changes))
      if (from !== null) copyFileSync(join(from, name), join(dir, name));
    return await fn();
  } finally {
    for (const name of names) {
      rmSync(join(dir, name), { force: true });
      if (existsSync(join(keep, name))) renameSync(join(keep, name), join(dir, name));
    }
    rmSync(keep, { recursive: true, force: true });
  }
}
