import { describe, expect, it } from 'vitest';
import { LibvirtError } from '../../src/errors.js';
import { activeEventLoopWorkers } from '../../src/libvirt/events.js';
import { LibvirtErrorCode } from '../../src/libvirt/index.js';
import { fileConnection, waitFor } from './helpers.js';

const file = fileConnection();

const VIR_MIGRATE_LIVE = 1;
const VIR_MIGRATE_PEER2PEER = 2;

describe('migrateToURI3 on a connection of its own', () => {
  // Observed with libvirt 9.0: the test driver rejects migration with VIR_ERR_ARGUMENT_UNSUPPORTED (74),
  // "p2p migration is not supported by the source host" (VIR_FROM_DOMAIN, 20). Getting that message means the
  // migration opened its own connection, found the domain by UUID and reached virDomainMigrateToURI3.
  it('rejects with the LibvirtError libvirt raised in the worker', async () => {
    const dom = await file.conn.lookupDomainByName('test');
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
    const dom = await file.conn.lookupDomainByName('test');
    await expect(dom.migrateToURI3('test:///default', { parallelConnections: 1.5 }, 0)).rejects.toThrow(
      /32-bit integer/,
    );
  });

  // Last: it closes the file's connection. Each connection holds a lease on the loop worker until its thread
  // ended, so the loop ending proves the migration's own connection was closed too.
  it('closes its own connection once libvirt answered: no thread is left behind', async () => {
    const dom = await file.conn.lookupDomainByName('test');
    await expect(
      dom.migrateToURI3('test:///default', {}, VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER),
    ).rejects.toThrow(LibvirtError);
    expect(file.conn.open).toBe(true);
    await file.conn.close();
    await waitFor(() => activeEventLoopWorkers() === 0, 10_000);
  });
});
