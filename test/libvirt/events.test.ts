import { describe, expect, it } from 'vitest';
import { LibvirtError } from '../../src/errors.js';
import { activeEventLoopWorkers } from '../../src/libvirt/events.js';
import {
  DomainEvent,
  DomainEventResumedDetail,
  DomainEventSuspendedDetail,
  type LifecycleEvent,
  openConnection,
} from '../../src/libvirt/index.js';
import { fileConnection, TEST_URI, testDomainXml, waitFor } from './helpers.js';

const file = fileConnection();

describe('domain event stream', () => {
  it('delivers lifecycle events for changes made on another connection, then closes', async () => {
    const seen: LifecycleEvent[] = [];
    const errors: Error[] = [];
    const stream = file.conn
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
    // Still 1: `file.conn` keeps leasing the loop for its keepalive (threading.test.ts checks it ends with the last user).
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
    const stream = file.conn.events().on('lifecycle', (e) => names.push(`${e.domainName}:${e.eventName}`));
    await stream.ready;
    await (await file.conn.defineDomainXML(testDomainXml('evt-defined'))).undefine();
    await waitFor(() => names.length >= 2);
    await stream.close();
    expect(names).toEqual(['evt-defined:defined', 'evt-defined:undefined']);
  });

  // libvirt's event loop is process-wide; two loops on two threads deadlocked, hence one shared loop worker.
  it('serves concurrent streams from one loop worker, each closing independently', async () => {
    const a: string[] = [];
    const b: string[] = [];
    const sa = file.conn.events().on('lifecycle', (e) => a.push(e.eventName));
    const readOnly = await openConnection(TEST_URI, { readOnly: true });
    const sb = readOnly.events().on('lifecycle', (e) => b.push(e.eventName));
    await Promise.all([sa.ready, sb.ready]);
    expect(activeEventLoopWorkers()).toBe(1);
    const dom = await file.conn.lookupDomainByName('test');
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
    // The loop worker stays while `file.conn` is open: its keepalive needs the loop.
    expect(activeEventLoopWorkers()).toBe(1);
    expect(a).toEqual(['suspended', 'resumed']);
    expect(b).toEqual(['suspended', 'resumed', 'suspended', 'resumed']);
  });

  it('keeps the main thread responsive while the worker blocks in the event loop', async () => {
    const stream = file.conn.events();
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
