/**
 * Issue 8 §2 (the guest's size from libvirt, counted like Nova) and §4 (an AbortSignal, the mode in
 * progress reports).
 */
import { describe, expect, it } from 'vitest';
import { MigrateFlags as F, MigrationJobError, migrate } from '../../src/index.js';
import { copiedDisks } from '../../src/migration/index.js';
import { FakeDomain, libvirtError, sleep, until } from './fake-libvirt.js';
import { AC, optionsFor, PC, startJob } from './helpers.js';

const GIB = 1024 ** 3;
const XML = `<domain type='qemu'><memory dumpCore='on' unit='KiB'>67108864</memory><devices>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
  <disk device="disk" type="block"><source dev="/dev/sdb"/><target bus="virtio" dev="vdb"/></disk>
  <disk type='file' device='cdrom'><source file='/x.iso'/><target dev='sda'/><readonly/></disk>
  <disk type='file' device='disk'><source file='/shared.img'/><target dev='vdc'/><shareable/></disk>
  <disk type='network' device='disk'><source protocol='rbd' name='pool/vol'/><target dev='vdd'/></disk>
  <disk type='file' device='cdrom'><target dev='sdb'/></disk>
  <disk type='volume' device='disk'><source pool='p' volume='v'/><target dev='vde'/></disk>
</devices></domain>`;

describe('issue 8 §2: the data size comes from libvirt and counts like Nova', () => {
  it('reads the memory from virDomainGetInfo, whatever the XML says', async () => {
    const domain = new FakeDomain();
    domain.maxMemoryKiB = 64 * 1024 * 1024;
    domain.domainXml = XML;
    const job = await startJob(domain);
    await until(() => domain.migrating);
    expect(job.dataGb).toBe(64);
    expect(domain.calls).toContain('info');
    // Read once, before planning, for the guest's devices; never for its size.
    expect(domain.calls.filter((c) => c === 'xml')).toHaveLength(1);
    domain.complete();
    await job.outcome;
  });

  it('counts at least 2 GiB of memory', async () => {
    const domain = new FakeDomain();
    domain.maxMemoryKiB = 256 * 1024;
    const job = await startJob(domain);
    await until(() => domain.migrating);
    expect(job.dataGb).toBe(2);
    domain.complete();
    await job.outcome;
  });

  it('adds each copied disk’s allocation, at least 2 GiB each, and sends the disks to libvirt', async () => {
    const domain = new FakeDomain();
    domain.maxMemoryKiB = 8 * 1024 * 1024;
    domain.blocks = {
      vda: { capacity: 40 * GIB, allocation: 10 * GIB, physical: 11 * GIB },
      vdb: { capacity: 40 * GIB, allocation: GIB, physical: GIB },
    };
    const job = await startJob(domain, { blockMigration: true, migrateDisks: ['vda', 'vdb'] });
    await until(() => domain.migrating);
    expect(job.dataGb).toBe(8 + 10 + 2);
    expect(domain.migrations[0]?.flags).toBe(
      F.LIVE | F.PEER2PEER | F.PERSIST_DEST | F.UNDEFINE_SOURCE | F.NON_SHARED_INC,
    );
    expect(domain.migrations[0]?.params.migrateDisks).toEqual(['vda', 'vdb']);
    domain.complete();
    await job.outcome;
  });

  it('finds the copied disks in the domain XML when migrateDisks is left out', async () => {
    const domain = new FakeDomain();
    domain.domainXml = XML;
    domain.blocks = {
      vda: { capacity: 0, allocation: 5 * GIB, physical: 0 },
      vdb: { capacity: 0, allocation: 3 * GIB, physical: 0 },
    };
    const job = await startJob(domain, { blockMigration: true });
    await until(() => domain.migrating);
    expect(domain.calls.filter((c) => c.startsWith('blockInfo'))).toEqual(['blockInfo:vda', 'blockInfo:vdb']);
    expect(job.dataGb).toBe(2 + 5 + 3);
    expect(domain.migrations[0]?.params.migrateDisks).toBeUndefined();
    expect(domain.migrations[0]?.flags).toBe(
      F.LIVE | F.PEER2PEER | F.PERSIST_DEST | F.UNDEFINE_SOURCE | F.NON_SHARED_INC,
    );
    domain.complete();
    await job.outcome;
  });

  it('counts a disk libvirt cannot size as 2 GiB, with a warning', async () => {
    const domain = new FakeDomain();
    domain.blocks = { vda: libvirtError(1, 'cannot stat') };
    const job = await startJob(domain, { blockMigration: true, migrateDisks: ['vda'] });
    await until(() => domain.migrating);
    expect(job.dataGb).toBe(4);
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome.warnings).toEqual([
      expect.objectContaining({ source: 'size', message: expect.stringContaining('vda') }),
    ]);
  });

  it('counts no disk without block migration, and takes dataGb as given', async () => {
    const domain = new FakeDomain();
    domain.domainXml = XML;
    const job = await startJob(domain, { migrateDisks: ['vda'] });
    await until(() => domain.migrating);
    expect(job.dataGb).toBe(2);
    expect(domain.calls.some((c) => c.startsWith('blockInfo'))).toBe(false);
    domain.complete();
    await job.outcome;
    const given = await startJob(domain, { dataGb: 7.5 });
    await until(() => domain.migrating);
    expect(given.dataGb).toBe(7.5);
    expect(domain.calls.filter((c) => c === 'info')).toHaveLength(1);
    domain.complete();
    await given.outcome;
  });

  it('ends in error when libvirt cannot tell the memory', async () => {
    const domain = new FakeDomain();
    domain.script('info', { error: libvirtError(1, 'info failed') });
    const outcome = await (await startJob(domain)).outcome;
    expect(outcome).toMatchObject({ status: 'error', guest: 'source' });
    expect(domain.calls).not.toContain('migrateToURI3');
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses dataGb %s', async (dataGb) => {
    const domain = new FakeDomain();
    await expect(startJob(domain, { dataGb })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      key: 'dataGb',
    });
  });

  it('copiedDisks: file and block disks with a source, neither read-only nor shareable', () => {
    expect(copiedDisks(XML)).toEqual(['vda', 'vdb']);
    expect(copiedDisks('<domain><devices><disk type="file"/></devices></domain>')).toEqual([]);
    expect(
      copiedDisks(
        "<domain><devices><disk typex='file'><source file='/a'/><target dev='vda'/></disk></devices></domain>",
      ),
    ).toEqual([]);
    // Not a domain: a typed error now, where the regular expressions it replaced read it as no disk.
    expect(() => copiedDisks("<disk type='file'><source file='/a'/></disk>")).toThrow(/root is <disk>/);
  });
});

describe('issue 8 §4: an AbortSignal, and the mode in progress', () => {
  it('aborts through the signal like abort()', async () => {
    const domain = new FakeDomain();
    const controller = new AbortController();
    const job = await startJob(domain, { signal: controller.signal });
    await until(() => domain.migrating);
    controller.abort();
    const outcome = await job.outcome;
    expect(outcome).toMatchObject({ status: 'cancelled', guest: 'source' });
    expect(outcome.steering).toEqual([expect.objectContaining({ action: 'abort', reason: 'abort signal' })]);
  });

  it('a signal aborted before the job runs means libvirt is never asked to migrate', async () => {
    const domain = new FakeDomain();
    const job = await startJob(domain, { signal: AbortSignal.abort() });
    expect((await job.outcome).status).toBe('cancelled');
    expect(domain.calls).not.toContain('migrateToURI3');
  });

  it('a signal in post-copy is refused like abort(): a warning, and the migration goes on', async () => {
    const domain = new FakeDomain();
    const controller = new AbortController();
    const job = await startJob(domain, { signal: controller.signal }, { flavorExtraSpecs: { [PC]: 'true' } });
    await until(() => domain.migrating);
    await job.forceComplete();
    controller.abort();
    expect(domain.calls).not.toContain('abortJob');
    domain.complete();
    const outcome = await job.outcome;
    expect(outcome.status).toBe('completed');
    expect(outcome.warnings).toEqual([
      expect.objectContaining({
        source: 'signal',
        error: expect.objectContaining({ code: 'ABORT_IN_POST_COPY' }),
      }),
    ]);
  });

  it('stops listening to the signal when the job ends', async () => {
    const domain = new FakeDomain();
    const controller = new AbortController();
    const job = await startJob(domain, { signal: controller.signal });
    await until(() => domain.migrating);
    domain.complete();
    await job.outcome;
    // Were the job still listening, this abort would be refused (MIGRATION_NOT_ACTIVE) as a warning.
    const warnings: unknown[] = [];
    job.on('warning', (w) => warnings.push(w));
    controller.abort();
    expect(warnings).toEqual([]);
  });

  it('refuses a signal that is not an AbortSignal', async () => {
    const domain = new FakeDomain();
    await expect(startJob(domain, { signal: {} as AbortSignal })).rejects.toBeInstanceOf(MigrationJobError);
  });

  it('progress names the mode: pre-copy, paused by force-complete, post-copy', async () => {
    const domain = new FakeDomain();
    const paused = await startJob(domain, {}, { flavorExtraSpecs: { [AC]: 'true' } });
    await until(() => paused.progress !== undefined);
    expect(paused.progress?.mode).toBe('pre-copy');
    expect(await paused.forceComplete()).toBe('pause');
    await until(() => paused.progress?.mode === 'paused-by-force-complete');
    expect(paused.progress?.status).toBe('running');
    domain.complete();
    await paused.outcome;

    const other = new FakeDomain();
    const post = await startJob(other, {}, { flavorExtraSpecs: { [PC]: 'true' } });
    await until(() => other.migrating);
    await post.forceComplete();
    await until(() => post.progress?.mode === 'post-copy');
    expect(post.progress?.status).toBe('running (post-copy)');
    other.complete();
    await post.outcome;
  });
});

describe('the poll interval', () => {
  it('polls every pollIntervalMs, not sooner', async () => {
    const domain = new FakeDomain();
    const job = await migrate(optionsFor(domain, { pollIntervalMs: 300 }));
    await until(() => domain.migrating);
    await sleep(150);
    expect(domain.jobStatsCalls).toBe(0);
    await until(() => domain.jobStatsCalls > 0, 800);
    domain.complete();
    await job.outcome;
  });
});
