/**
 * Reads the certificate sets native TLS uses, for `checkTlsCredentials`: QEMU's migration directory
 * (`migrate_tls_x509_cert_dir`) and a libvirt client's `pkipath=`. The checks themselves are pure
 * (`src/policy/tls-credentials.ts`); this is the one place that reads those files.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReadFile } from './policy/tls-credentials.js';

/** Where QEMU's migration certificates are when qemu.conf names no other directory. */
export const DEFAULT_QEMU_TLS_DIR = '/etc/pki/qemu';

/** A read's deadline: a certificate on a hung network mount must not hold the migration's start. */
const READ_TIMEOUT_MS = 10_000;

/** A certificate file's size limit: a real one is a few KiB, a bundle of a big CA tens. */
const MAX_PEM_BYTES = 1024 * 1024;

/**
 * Reads one file for a check: its text, or the error that stopped it (`ENOENT: …`), never a throw.
 *
 * @example
 * ```ts
 * await readTlsFile('/etc/pki/qemu/ca-cert.pem'); // { path, text } or { path, error: 'ENOENT: no such file or directory' }
 * ```
 */
export async function readTlsFile(path: string): Promise<ReadFile> {
  try {
    const bytes = await readFile(path, { signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
    if (bytes.length > MAX_PEM_BYTES)
      return { path, error: `larger than ${MAX_PEM_BYTES} bytes: not a PEM file` };
    return { path, text: bytes.toString('utf8') };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      return { path, error: `not read within ${READ_TIMEOUT_MS / 1000} s (a hung file system?)` };
    return {
      path,
      error: e.code === undefined ? String(e.message) : `${e.code}: ${e.message.replace(/^\w+: /, '')}`,
    };
  }
}

/**
 * The CA bundle, certificate and key of a certificate set under `dir`, by their names
 * (`tlsFileNames('qemu', 'source')`: `ca-cert.pem`, `client-cert.pem`, `client-key.pem`).
 *
 * @example
 * ```ts
 * import { tlsFileNames } from 'libvirt-migration-policy';
 * const files = await readTlsCredentials('/etc/pki/qemu', tlsFileNames('qemu', 'source'));
 * ```
 */
export async function readTlsCredentials(
  dir: string,
  names: { ca: string; cert: string; key: string },
): Promise<{ ca: ReadFile; cert: ReadFile; key: ReadFile }> {
  const [ca, cert, key] = await Promise.all(
    [names.ca, names.cert, names.key].map((n) => readTlsFile(join(dir, n))),
  );
  return { ca: ca as ReadFile, cert: cert as ReadFile, key: key as ReadFile };
}
