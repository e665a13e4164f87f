import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LibvirtError } from '../../src/errors.js';
import { activeEventLoopWorkers } from '../../src/libvirt/events.js';
import {
  DomainEvent,
  DomainEventResumedDetail,
  DomainEventSuspendedDetail,
  type LibvirtConnection,
  LibvirtErrorCode,
  type LifecycleEvent,
  openConnection,
} from '../../src/libvirt/index.js';
import { TEST_URI, testDomainXml, waitFor } from './helpers.js';

// Opening a connection starts worker threads, which load TypeScript through tsx here: a second or more on a
// loaded machine, beyond vitest's default 5 s once several open at once.
vi.setConfig({ testTimeout: 30_000, hookTimeout: 30_000 });

let conn: LibvirtConnection;
beforeAll(async () => {
  conn = await openConnection(TEST_URI);
});
afterAll(() => conn.close());

const VIR_MIGRATE_LIVE = 1;
const VIR_MIGRATE_PEER2PEER = 2;

describe('migrateToURI3 in a worker', () => {
  // Observed with libvirt 9.0: the test driver rejects migration with VIR_ERR_ARGUMENT_UNSUPPORTED (74),
  // "p2p migration is not supported by the source host" (VIR_FROM_DOMAIN, 20). Getting that message means the
  // worker opened its own connection, found the domain by UUID and reached virDomainMigrateToURI3.
  it('rejects with the LibvirtError libvirt raised in the worker', async () => {
    const dom = await conn.lookupDomainByName('test');
    const err = await dom
      .migrateToURI3(
        'test:///default',
        { bandwidth: 10, migrateDisks: ['vda'] },
        VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER,
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({
      call: 'virDomainMigrateToURI3',
      code: 'LIBVIRT_ERROR',
      libvirtCode: LibvirtErrorCode.ARGUMENT_UNSUPPORTED,
      libvirtDomain: 20,
    });
    expect((err as Error).message).toContain('p2p migration is not supported');
  });

  it('reports invalid params raised inside the worker', async () => {
    const dom = await conn.lookupDomainByName('test');
    await expect(dom.migrateToURI3('test:///default', { parallelConnections: 1.5 }, 0)).rejects.toThrow(
      /32-bit integer/,
    );
  });
});

describe('domain event stream', () => {
  it('delivers lifecycle events for changes made on another connection, then closes', async () => {
    const seen: LifecycleEvent[] = [];
    const errors: Error[] = [];
    const stream = conn
      .events()
      .on('lifecycle', (e) => seen.push(e))
      .on('error', (e) => errors.push(e));
    await stream.ready;

    const other = await openConnection(TEST_URI);
    const dom = await other.lookupDomainByName('test');
    await dom.suspend();
    await dom.resume();
    await waitFor(() => seen.length >= 2);
    expect(seen.slice(0, 2)).toEqual([
      {
        domainUuid: dom.uuid,
        domainName: 'test',
        event: DomainEvent.SUSPENDED,
        eventName: 'suspended',
        detail: DomainEventSuspendedDetail.PAUSED,
      },
      {
        domainUuid: dom.uuid,
        domainName: 'test',
        event: DomainEvent.RESUMED,
        eventName: 'resumed',
        detail: DomainEventResumedDetail.UNPAUSED,
      },
    ]);

    expect(activeEventLoopWorkers()).toBe(1);
    await stream.close();
    await stream.close();
    // Still 1: `conn` keeps leasing the loop for its keepalive (threading.test.ts checks it ends with the last user).
    expect(activeEventLoopWorkers()).toBe(1);
    const count = seen.length;
    await (await other.defineDomainXML(testDomainXml('after-close'))).undefine();
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.length).toBe(count);
    expect(errors).toEqual([]);
    await other.close();
  });

  it('reports defined/undefined events', async () => {
    const names: string[] = [];
    const stream = conn.events().on('lifecycle', (e) => names.push(`${e.domainName}:${e.eventName}`));
    await stream.ready;
    await (await conn.defineDomainXML(testDomainXml('evt-defined'))).undefine();
    await waitFor(() => names.length >= 2);
    await stream.close();
    expect(names).toEqual(['evt-defined:defined', 'evt-defined:undefined']);
  });

  // libvirt's event loop is process-wide; two loops on two threads deadlocked, hence one shared loop worker.
  it('serves concurrent streams from one loop worker, each closing independently', async () => {
    const a: string[] = [];
    const b: string[] = [];
    const sa = conn.events().on('lifecycle', (e) => a.push(e.eventName));
    const readOnly = await openConnection(TEST_URI, { readOnly: true });
    const sb = readOnly.events().on('lifecycle', (e) => b.push(e.eventName));
    await Promise.all([sa.ready, sb.ready]);
    expect(activeEventLoopWorkers()).toBe(1);
    const dom = await conn.lookupDomainByName('test');
    await dom.suspend();
    await dom.resume();
    await waitFor(() => a.length >= 2 && b.length >= 2);
    await sa.close();
    expect(activeEventLoopWorkers()).toBe(1);
    await dom.suspend();
    await dom.resume();
    await waitFor(() => b.length >= 4);
    await sb.close();
    await readOnly.close();
    // The loop worker stays while `conn` is open: its keepalive needs the loop.
    expect(activeEventLoopWorkers()).toBe(1);
    expect(a).toEqual(['suspended', 'resumed']);
    expect(b).toEqual(['suspended', 'resumed', 'suspended', 'resumed']);
  });

  it('keeps the main thread responsive while the worker blocks in the event loop', async () => {
    const stream = conn.events();
    await stream.ready;
    const start = performance.now();
    await new Promise((r) => setTimeout(r, 50));
    const waited = performance.now() - start;
    await stream.close();
    expect(waited).toBeGreaterThanOrEqual(45);
    expect(waited).toBeLessThan(250);
  });

  it('rejects ready and emits error when the worker cannot connect', async () => {
    const errors: Error[] = [];
    const bad = await openConnection(TEST_URI);
    // The stream reuses its connection's URI; make that one no driver accepts so only the worker's open fails.
    Object.defineProperty(bad, 'uri', { value: 'bogus-driver:///nothing' });
    const stream = bad.events().on('error', (e) => errors.push(e));
    await expect(stream.ready).rejects.toBeInstanceOf(LibvirtError);
    await stream.close();
    await bad.close();
    expect(errors[0]).toMatchObject({ call: 'virConnectOpen' });
  });
});
