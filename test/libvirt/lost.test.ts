import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibvirtError } from '../../src/errors.js';
import type { KoffiConnection } from '../../src/libvirt/connection.js';
import { type LifecycleEvent, openConnection } from '../../src/libvirt/index.js';
import { type PrivateDaemon, startPrivateDaemon } from './daemon.js';
import { rejection, timed } from './helpers.js';

// A real libvirtd (test driver behind RPC) that the tests hang with SIGSTOP, as a deadlocked daemon hangs.
// keepalive 1 s × 2: libvirt declares the daemon dead after about interval × (count + 1) = 3 s of silence.
const KEEPALIVE = { intervalSeconds: 1, count: 2 };
const DEAD_AFTER_MS = 3000;

let daemon: PrivateDaemon;
beforeAll(async () => {
  daemon = await startPrivateDaemon();
}, 30_000);
afterAll(async () => {
  await daemon?.stop();
});

/** Runs `fn` with the daemon stopped, resuming it whatever happens. */
async function whilePaused<T>(fn: () => Promise<T>): Promise<T> {
  daemon.pause();
  try {
    return await fn();
  } finally {
    daemon.resume();
  }
}

describe('a daemon that stops answering', () => {
  it('keepalive runs on a daemon connection', async () => {
    const conn = (await openConnection(daemon.uri, { keepAlive: KEEPALIVE })) as KoffiConnection;
    expect(conn.keepAliveState).toBe('on');
    expect(await conn.hostname()).toMatch(/\S/);
    await conn.close();
  });

  it('ends a pending call with LIBVIRT_CONNECTION_LOST once keepalive expires, without blocking the main thread', async () => {
    const conn = await openConnection(daemon.uri, { keepAlive: KEEPALIVE });
    const dom = await conn.lookupDomainByName('test');
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    const { ms, error } = await whilePaused(() => timed(dom.state())).finally(() => clearInterval(interval));
    expect(error).toBeInstanceOf(LibvirtError);
    expect(error).toMatchObject({ code: 'LIBVIRT_CONNECTION_LOST', call: 'virDomainGetState' });
    // libvirt's message names the cause; its number and domain are kept.
    expect((error as LibvirtError).libvirtMessage).toMatch(/keepalive/);
    expect((error as LibvirtError).libvirtCode).toBeGreaterThan(0);
    expect(ms).toBeGreaterThan(DEAD_AFTER_MS - 1000);
    expect(ms).toBeLessThan(DEAD_AFTER_MS + 3000);
    expect(ticks).toBeGreaterThan(ms / 10 / 4);
    // Whoever sees the rejection already sees the connection gone.
    expect(conn.open).toBe(false);
    expect(await conn.closed).toMatchObject({ reason: 'lost', error: { code: 'LIBVIRT_CONNECTION_LOST' } });
    const later = await timed(conn.libVersion());
    expect(later.error).toMatchObject({ code: 'LIBVIRT_CONNECTION_LOST', call: 'virConnectGetLibVersion' });
    expect(later.ms).toBeLessThan(50);
    await conn.close();
    expect(await conn.closed).toMatchObject({ reason: 'lost' });
  }, 20_000);

  it('a deadline shorter than keepalive ends the call first with LIBVIRT_TIMEOUT; keepalive then closes the connection', async () => {
    const conn = await openConnection(daemon.uri, { keepAlive: KEEPALIVE });
    const result = await whilePaused(async () => {
      const call = await timed(conn.libVersion({ timeoutMs: 300 }));
      const closed = await timed(conn.closed);
      return { call, closed };
    });
    expect(result.call.error).toMatchObject({ code: 'LIBVIRT_TIMEOUT', call: 'virConnectGetLibVersion' });
    expect(result.call.ms).toBeLessThan(1500);
    expect(result.closed.value).toMatchObject({ reason: 'lost' });
    expect(result.call.ms + result.closed.ms).toBeLessThan(DEAD_AFTER_MS + 3000);
  }, 20_000);

  it('an idle connection notices the loss by itself: `closed` resolves, `open` turns false', async () => {
    const conn = await openConnection(daemon.uri, { keepAlive: KEEPALIVE });
    const { ms, value } = await whilePaused(() => timed(conn.closed));
    expect(value).toMatchObject({ reason: 'lost', error: { code: 'LIBVIRT_CONNECTION_LOST' } });
    expect(ms).toBeLessThan(DEAD_AFTER_MS + 3000);
    expect(conn.open).toBe(false);
  }, 20_000);

  it('an event stream reports its lost connection as an error', async () => {
    const conn = await openConnection(daemon.uri, { keepAlive: KEEPALIVE });
    const errors: Error[] = [];
    const stream = conn.events().on('error', (e) => errors.push(e));
    await stream.ready;
    const start = performance.now();
    await whilePaused(async () => {
      while (errors.length === 0 && performance.now() - start < DEAD_AFTER_MS + 4000) {
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    expect(errors[0]).toMatchObject({ code: 'LIBVIRT_CONNECTION_LOST' });
    await stream.close();
    await conn.close();
  }, 20_000);

  // The loop thread makes no RPC: a stream opening on a hung daemon waits in its own connection worker,
  // while the loop goes on dispatching every other stream's events (and running keepalive).
  it('a stream opening on a hung daemon does not hold up other streams’ events', async () => {
    const local = await openConnection('test:///default');
    const seen: string[] = [];
    const other = local.events().on('lifecycle', (e) => seen.push(e.eventName));
    await other.ready;
    const remote = await openConnection(daemon.uri, { keepAlive: KEEPALIVE, callTimeoutMs: 2000 });
    const errors: Error[] = [];
    const { hungReady, eventsMs } = await whilePaused(async () => {
      const hung = remote.events().on('error', (e) => errors.push(e));
      const hungReady = timed(hung.ready);
      await new Promise((r) => setTimeout(r, 200));
      const dom = await local.lookupDomainByName('test');
      const start = performance.now();
      await dom.suspend();
      await dom.resume();
      while (seen.length < 2 && performance.now() - start < 5000) await new Promise((r) => setTimeout(r, 10));
      const eventsMs = performance.now() - start;
      return { hungReady: await hungReady, eventsMs };
    });
    expect(seen).toEqual(['suspended', 'resumed']);
    expect(eventsMs).toBeLessThan(1000);
    expect(hungReady.error).toBeInstanceOf(LibvirtError);
    expect(['LIBVIRT_TIMEOUT', 'LIBVIRT_CONNECTION_LOST']).toContain((hungReady.error as LibvirtError).code);
    expect(hungReady.ms).toBeLessThan(DEAD_AFTER_MS + 3000);
    expect(errors[0]).toBe(hungReady.error);
    await other.close();
    await local.close();
    await remote.close();
  }, 20_000);

  // libvirt has no timeout for virConnectOpen and keepalive starts after it: without a deadline on the
  // migration's own connection, a hung daemon would hold migrateToURI3 forever.
  it('migrateToURI3 on a hung daemon ends LIBVIRT_TIMEOUT when its own connection cannot open in time', async () => {
    const conn = await openConnection(daemon.uri, { keepAlive: KEEPALIVE, callTimeoutMs: 1500 });
    const dom = await conn.lookupDomainByName('test');
    const { ms, error } = await whilePaused(() => timed(dom.migrateToURI3('test:///default', {}, 1 | 2)));
    expect(error).toBeInstanceOf(LibvirtError);
    expect(error).toMatchObject({ code: 'LIBVIRT_TIMEOUT', call: 'virDomainMigrateToURI3' });
    expect((error as Error).message).toMatch(/1500 ms deadline.*not started/);
    expect(ms).toBeLessThan(6000);
    await conn.close();
  }, 20_000);

  it('after SIGCONT the daemon serves new connections and events again', async () => {
    const conn = await openConnection(daemon.uri, { keepAlive: KEEPALIVE });
    const seen: LifecycleEvent[] = [];
    const stream = conn.events().on('lifecycle', (e) => seen.push(e));
    await stream.ready;
    const dom = await conn.lookupDomainByName('test');
    await dom.suspend();
    await dom.resume();
    const start = performance.now();
    while (seen.length < 2 && performance.now() - start < 5000) await new Promise((r) => setTimeout(r, 20));
    expect(seen.map((e) => e.eventName)).toEqual(['suspended', 'resumed']);
    await stream.close();
    await conn.close();
  }, 20_000);

  it('a killed daemon fails the next call at once with LIBVIRT_CONNECTION_LOST', async () => {
    const conn = await openConnection(daemon.uri, { keepAlive: KEEPALIVE });
    await conn.libVersion();
    await daemon.stop();
    const { ms, error } = await timed(conn.hostname());
    expect(error).toMatchObject({ code: 'LIBVIRT_CONNECTION_LOST' });
    expect(ms).toBeLessThan(1500);
    expect(await conn.closed).toMatchObject({ reason: 'lost' });
    expect(await rejection(openConnection(daemon.uri))).toMatchObject({ code: 'LIBVIRT_ERROR' });
  }, 20_000);
});
