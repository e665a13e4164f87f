/**
 * migrate() through the real binding against libvirt's built-in test driver: every step up to libvirt's
 * answer is real. The test driver cannot migrate, so the outcome must be a failure that leaves the guest
 * running on the source — the lab's end-to-end tests prove real migrations.
 */
import { describe, expect, it } from 'vitest';
import { LibvirtError, MigrationJobError, migrate } from '../../src/index.js';
import { openConnection } from '../../src/libvirt/index.js';

// Each connection and migrate call starts a worker thread (seconds on a loaded 2-core machine).
describe('migrate() on test:///default', { timeout: 20_000 }, () => {
  it('plans from the providers, calls libvirt, and reports its refusal with the guest still on the source', async () => {
    const connection = await openConnection('test:///default');
    try {
      let providerCalls = 0;
      const job = await migrate({
        source: { connection },
        domain: { name: 'test' },
        destination: { host: 'compute-2' },
        providers: {
          instanceMetadata: () => {
            providerCalls++;
            return { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'false' } };
          },
          hostConfig: () => ({ bandwidth: 64, permitAutoConverge: true }),
        },
        autoConvergeInitial: 30,
      });
      const outcome = await job.outcome;
      expect(providerCalls).toBe(1);
      // The test driver reports hypervisor version 0.0.2: the host's auto-converge is dropped, with the reason.
      expect(job.plan?.autoConverge).toBe(false);
      expect(job.plan?.reasons[1]).toBe(
        'auto-converge dropped: [libvirt] live_migration_permit_auto_converge = True, but QEMU 0.0.2 is older than 1.6.0',
      );
      expect(job.call).toEqual({
        destinationUri: 'qemu+tcp://compute-2/system',
        params: { bandwidth: 64 },
        flags: 27,
        notes: ['auto_converge.initial/increment not sent: auto-converge is off for this migration'],
      });
      expect(outcome.status).toBe('failed');
      expect(outcome.error).toBeInstanceOf(LibvirtError);
      // VIR_ERR_ARGUMENT_UNSUPPORTED: the test driver has no migration.
      expect((outcome.error as LibvirtError).code).toBe('LIBVIRT_ERROR');
      expect((outcome.error as LibvirtError).libvirtCode).toBe(74);
      expect(outcome.guest).toBe('source');
      expect((await (await connection.lookupDomainByName('test')).state()).state).toBe('running');
    } finally {
      await connection.close();
    }
  });

  it('refuses an explicit auto-converge request the hypervisor cannot honour, before calling libvirt', async () => {
    const job = await migrate({
      source: { uri: 'test:///default' },
      domain: { name: 'test' },
      destination: { host: 'compute-2' },
      providers: {
        instanceMetadata: () => ({ imageProperties: { compute_live_migration_auto_converge: 'true' } }),
        hostConfig: () => ({}),
      },
    });
    const outcome = await job.outcome;
    expect(outcome.status).toBe('error');
    expect(outcome.error).toMatchObject({
      code: 'AUTO_CONVERGE_UNAVAILABLE',
      key: 'compute_live_migration_auto_converge',
    });
    expect(job.call).toBeUndefined();
    expect(outcome.guest).toBe('source');
  });

  it('rejects with LibvirtError 42 at once for a domain that does not exist', async () => {
    await expect(
      migrate({
        source: { uri: 'test:///default' },
        domain: { name: 'no-such-guest' },
        destination: { host: 'compute-2' },
        providers: { instanceMetadata: () => ({}), hostConfig: () => ({}) },
      }),
    ).rejects.toThrow(expect.objectContaining({ code: 'LIBVIRT_ERROR', libvirtCode: 42 }));
  });

  it('refuses a second job for the same guest while the first runs', async () => {
    const connection = await openConnection('test:///default');
    try {
      const opts = {
        source: { connection },
        domain: { name: 'test' },
        destination: { host: 'compute-2' },
        providers: { instanceMetadata: () => ({}), hostConfig: () => ({}) },
      };
      const first = await migrate(opts);
      await expect(migrate(opts)).rejects.toThrow(MigrationJobError);
      await first.outcome;
    } finally {
      await connection.close();
    }
  });
});
