import { afterAll, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { connectionCalls, domainCalls } from '../../src/libvirt/connection-calls.js';
import type { ConnectionHandlers, DomainHandlers } from '../../src/libvirt/connection-service.js';
import type { ConnectionMethods, DomainRef } from '../../src/libvirt/protocol.js';
import type { JobStats } from '../../src/libvirt/types.js';
import { type DebugConnection, openDebugConnection } from './debug-connection.js';

// Opening a connection starts worker threads, which load TypeScript through tsx here.
vi.setConfig({ testTimeout: 30_000, hookTimeout: 30_000 });

// Never called: `npm run typecheck` (tsc over test/) proves each line below does not compile. Were the
// protocol stringly typed again, the `@ts-expect-error` directives would be unused, which tsc reports.
function misuses(conn: DebugConnection, target: number): void {
  // @ts-expect-error a misspelt connection call
  void conn.call('virDomainLookupByNmae', ['test']);
  // @ts-expect-error a wrong argument type
  void conn.call('virDomainLookupByName', [42]);
  // @ts-expect-error a missing argument
  void conn.call('virDomainLookupByName', []);
  // @ts-expect-error a domain call sent as a connection call
  void conn.call('virDomainGetState', []);
  // @ts-expect-error a misspelt domain call
  void conn.callDomain(target, 'virDomainSuspnd', []);
  // @ts-expect-error a wrong argument type on a domain call
  void conn.callDomain(target, 'virDomainMigrateSetMaxSpeed', ['100', 0]);
  // @ts-expect-error a test hook on a connection without the test worker
  void (conn as unknown as import('../../src/libvirt/connection.js').KoffiConnection).call('debugBlock', [1]);

  // Results carry their method's type: no cast at the call site.
  expectTypeOf(conn.call('virDomainLookupByName', ['test'])).resolves.toEqualTypeOf<DomainRef>();
  expectTypeOf(conn.callDomain(target, 'virDomainGetJobStats', [0])).resolves.toEqualTypeOf<JobStats>();
  expectTypeOf(conn.call('debugHandleCount', [])).resolves.toEqualTypeOf<number>();
}

// The worker side is typed by the same maps.
const worker: ConnectionHandlers<ConnectionMethods> = {
  ...connectionCalls,
  // @ts-expect-error a handler taking what its call does not send
  virDomainLookupByName: (_s, name: number) => ({ handle: name, name: '', uuid: '' }),
};
const workerResult: ConnectionHandlers<ConnectionMethods> = {
  ...connectionCalls,
  // @ts-expect-error a handler answering what its call does not return
  virConnectGetHostname: () => 42,
};
// @ts-expect-error a table missing a call
const incomplete: DomainHandlers = { virDomainGetState: domainCalls.virDomainGetState };
const extra: DomainHandlers = {
  ...domainCalls,
  // @ts-expect-error a call the map does not have
  virDomainSuspnd: domainCalls.virDomainSuspend,
};

let conn: DebugConnection;
beforeAll(async () => {
  conn = await openDebugConnection();
});
afterAll(() => conn.close());

describe('the typed protocol', () => {
  it('the production tables answer every call of the maps, and nothing else', () => {
    expect(Object.keys(connectionCalls).sort()).toEqual(
      [
        'registerDomainEvents',
        'virConnectGetCapabilities',
        'virConnectGetDomainCapabilities',
        'virConnectGetHostname',
        'virConnectGetLibVersion',
        'virConnectGetVersion',
        'virConnectIsAlive',
        'virConnectListAllDomains',
        'virDomainCreateXML',
        'virDomainDefineXML',
        'virDomainLookupByName',
        'virDomainLookupByUUIDString',
      ].sort(),
    );
    expect(Object.keys(domainCalls).sort()).toEqual(
      [
        'virDomainAbortJob',
        'virDomainAbortJobFlags',
        'virDomainDestroy',
        'virDomainGetBlockInfo',
        'virDomainGetInfo',
        'virDomainGetJobStats',
        'virDomainGetState',
        'virDomainGetXMLDesc',
        'virDomainIsActive',
        'virDomainListGetStats',
        'virDomainMigrateSetMaxDowntime',
        'virDomainMigrateSetMaxSpeed',
        'virDomainMigrateStartPostCopy',
        'virDomainMigrateToURI3',
        'virDomainResume',
        'virDomainStartDirtyRateCalc',
        'virDomainSuspend',
        'virDomainUndefine',
      ].sort(),
    );
    // The misuse tables above are whole tables all the same: only their one wrong entry is refused.
    for (const table of [worker, workerResult, extra]) expect(Object.keys(table).length).toBeGreaterThan(10);
    expect(Object.keys(incomplete)).toEqual(['virDomainGetState']);
    expect(typeof misuses).toBe('function');
  });

  // Types do not reach JavaScript callers or a stale worker: the worker refuses a name it has no call for.
  it('a call the worker does not know is refused by the worker, by name, and the connection goes on', async () => {
    const unknown = 'virDomainLookupByNmae' as 'virDomainLookupByName';
    await expect(conn.call(unknown, ['test'])).rejects.toThrow(
      'unknown connection call virDomainLookupByNmae',
    );
    const ref = await conn.call('virDomainLookupByName', ['test']);
    const misspelt = 'virDomainSuspnd' as 'virDomainSuspend';
    await expect(conn.callDomain(ref.handle, misspelt, [])).rejects.toThrow(
      'unknown domain call virDomainSuspnd',
    );
    expect((await conn.callDomain(ref.handle, 'virDomainGetState', [])).state).toBe('running');
    conn.releaseHandle(ref.handle);
  });
});
