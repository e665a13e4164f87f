import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LibvirtError } from '../../src/errors.js';
import { type DebugConnection, openDebugConnection } from './debug-connection.js';
import { rejection, TEST_URI, timed, waitFor } from './helpers.js';

// Opening a connection starts worker threads, which load TypeScript through tsx here: a second or more on a
// loaded machine, beyond vitest's default 5 s once several open at once.
vi.setConfig({ testTimeout: 30_000, hookTimeout: 30_000 });

// debugBlock(ms) parks the connection's worker inside a C call (libc usleep), exactly where a call to a hung
// daemon would park it, so these tests need no daemon.
const opened: DebugConnection[] = [];
async function connect(callTimeoutMs?: number): Promise<DebugConnection> {
  const conn = await openDebugConnection(TEST_URI, callTimeoutMs ? { callTimeoutMs } : {});
  opened.push(conn);
  return conn;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

describe('deadlines', () => {
  it('a call still inside libvirt at its deadline rejects LIBVIRT_TIMEOUT, naming the call and the deadline', async () => {
    const conn = await connect();
    const { ms, error } = await timed(conn.call('debugBlock', [1500], { timeoutMs: 100 }));
    expect(error).toBeInstanceOf(LibvirtError);
    expect(error).toMatchObject({ code: 'LIBVIRT_TIMEOUT', call: 'debugBlock', libvirtCode: 0 });
    expect((error as Error).message).toMatch(/100 ms deadline.*started and may still complete/);
    expect(ms).toBeGreaterThanOrEqual(95);
    expect(ms).toBeLessThan(1000);
    // The connection stays usable once libvirt returns: a timeout alone is no proof the daemon is gone.
    expect(conn.open).toBe(true);
    expect(await conn.libVersion({ timeoutMs: 10_000 })).toBeGreaterThan(0);
  });

  it('a call queued behind a stuck one gets its own deadline and, once expired, never runs', async () => {
    const conn = await connect();
    const dom = await conn.lookupDomainByName('test');
    const block = conn.call('debugBlock', [1500], { timeoutMs: 5000 });
    const { ms, error } = await timed(dom.suspend({ timeoutMs: 100 }));
    expect(error).toMatchObject({ code: 'LIBVIRT_TIMEOUT', call: 'virDomainSuspend' });
    expect((error as Error).message).toMatch(/never started.*queued behind debugBlock/);
    expect(ms).toBeLessThan(1000);
    await block;
    // Had the expired suspend run after the block, the guest would now be paused behind the caller's back.
    expect((await dom.state()).state).toBe('running');
  });

  it('the connection’s callTimeoutMs applies unless the call gives its own', async () => {
    const conn = await connect(150);
    const blocked = timed(conn.call('debugBlock', [1500]));
    const patient = timed(conn.libVersion({ timeoutMs: 10_000 }));
    const [b, p] = await Promise.all([blocked, patient]);
    expect(b.error).toMatchObject({ code: 'LIBVIRT_TIMEOUT' });
    expect((b.error as Error).message).toContain('150 ms');
    expect(b.ms).toBeLessThan(1000);
    expect(p.value).toBeGreaterThan(0);
    expect(p.ms).toBeGreaterThanOrEqual(1400);
  });

  it('the main thread keeps running while the worker is stuck in C', async () => {
    const conn = await connect();
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    try {
      await conn.call('debugBlock', [400]);
    } finally {
      clearInterval(interval);
    }
    // A synchronous call on the main thread would give 0 ticks; timers on a busy CI box still give dozens.
    expect(ticks).toBeGreaterThanOrEqual(15);
  });
});

describe('close', () => {
  it('is idempotent, resolves `closed` with reason closed, and later calls reject LIBVIRT_CONNECTION_LOST', async () => {
    const conn = await connect();
    expect(conn.open).toBe(true);
    const first = conn.close();
    expect(conn.close()).toBe(first);
    expect(conn.open).toBe(false);
    await first;
    expect(await conn.closed).toEqual({ reason: 'closed' });
    const err = await rejection(conn.hostname());
    expect(err).toMatchObject({ code: 'LIBVIRT_CONNECTION_LOST', call: 'virConnectGetHostname' });
    expect(await conn.isAlive()).toBe(false);
    expect(() => conn.events()).toThrow(LibvirtError);
  });

  it('lets calls queued before close() finish, then ends the worker', async () => {
    const conn = await connect();
    const version = conn.libVersion();
    const dom = conn.lookupDomainByName('test');
    await conn.close();
    expect(await version).toBeGreaterThan(0);
    expect((await dom).name).toBe('test');
    await expect((await dom).state()).rejects.toMatchObject({ code: 'LIBVIRT_CONNECTION_LOST' });
  });

  it('does not wait for a worker stuck in libvirt longer than the connection’s deadline', async () => {
    // test:///default's state lives while any connection to it is open: `other` keeps it for the check below.
    const other = await connect();
    const conn = await connect(200);
    const dom = await conn.lookupDomainByName('test');
    const stuck = rejection(conn.call('debugBlock', [2000], { timeoutMs: 10_000 }));
    const queued = rejection(dom.suspend({ timeoutMs: 10_000 }));
    await new Promise((r) => setTimeout(r, 20));
    const { ms } = await timed(conn.close());
    expect(ms).toBeLessThan(1500);
    expect(await conn.closed).toEqual({ reason: 'closed' });
    expect(await stuck).toMatchObject({ code: 'LIBVIRT_CONNECTION_LOST', call: 'debugBlock' });
    expect(await queued).toMatchObject({ code: 'LIBVIRT_CONNECTION_LOST', call: 'virDomainSuspend' });
    // Once the worker gets out of C it finishes its queue: the suspend its caller was told failed must not run.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await (await other.lookupDomainByName('test')).state()).state).toBe('running');
  });
});

describe('domain handles', () => {
  it('the worker frees a domain’s libvirt reference once the domain object is garbage-collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const conn = await connect();
    const base = await conn.call('debugHandleCount', []);
    let dom: unknown = await conn.lookupDomainByName('test');
    expect(await conn.call('debugHandleCount', [])).toBe(base + 1);
    expect(dom).toBeDefined();
    dom = undefined;
    let count = base + 1;
    await waitFor(() => {
      gc();
      void conn.call('debugHandleCount', []).then((n) => {
        count = n;
      });
      return count === base;
    }, 5000);
  });
});
