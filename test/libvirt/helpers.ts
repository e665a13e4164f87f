import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, vi } from 'vitest';
import { type LibvirtConnection, openConnection } from '../../src/libvirt/index.js';

/** libvirt's built-in test driver: no daemon, one running domain called `test`, state shared per process. */
export const TEST_URI = 'test:///default';

/**
 * One connection to `uri` for the whole test file (opened before its first test, closed after its last),
 * read as `file.conn`. Raises the file's timeouts: opening a connection starts worker threads, which load
 * TypeScript through tsx here, a second or more on a loaded machine, beyond vitest's default 5 s once
 * several open at once.
 */
export function fileConnection(uri = TEST_URI): { readonly conn: LibvirtConnection } {
  vi.setConfig({ testTimeout: 30_000, hookTimeout: 30_000 });
  const file: { conn?: LibvirtConnection } = {};
  beforeAll(async () => {
    file.conn = await openConnection(uri);
  });
  afterAll(() => file.conn?.close());
  return {
    get conn(): LibvirtConnection {
      if (!file.conn) throw new Error('the file connection is not open yet (used outside a test?)');
      return file.conn;
    },
  };
}

/** Whether libvirt.so.0 is mapped into this process right now. */
export function libvirtMapped(): boolean {
  return readFileSync('/proc/self/maps', 'utf8').includes('libvirt.so.0');
}

/** `virsh version` lines, or undefined when virsh is not installed. */
export function virshVersion(): { library: number; hypervisor: number } | undefined {
  let out: string;
  try {
    out = execFileSync('virsh', ['-c', TEST_URI, 'version'], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
  const encode = (m: RegExpMatchArray | null): number =>
    m ? Number(m[1]) * 1e6 + Number(m[2]) * 1e3 + Number(m[3]) : Number.NaN;
  return {
    library: encode(out.match(/Using library: libvirt (\d+)\.(\d+)\.(\d+)/)),
    hypervisor: encode(out.match(/Running hypervisor: \S+ (\d+)\.(\d+)\.(\d+)/)),
  };
}

/** `virsh <args…>` on the test driver, as `Field: value` pairs (dominfo, domblkinfo). */
export function virshFields(...args: string[]): Record<string, string> {
  const out = execFileSync('virsh', ['-c', TEST_URI, ...args], { encoding: 'utf8' });
  const fields: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^([^:]+):\s+(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) fields[m[1].trim()] = m[2].trim();
  }
  return fields;
}

/** Minimal domain the test driver accepts. */
export function testDomainXml(name: string): string {
  return `<domain type='test'><name>${name}</name><memory>1024</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`;
}

/** Resolves when `predicate` holds, polling; rejects after `ms`. */
export async function waitFor(predicate: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Milliseconds `promise` took to settle, and how it settled. */
export async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await promise;
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}
