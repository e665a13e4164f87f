import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LibvirtError, MigrationPolicyError, measureDirtyRate } from '../../src/index.js';
import { openConnection } from '../../src/libvirt/index.js';
import type { DirtyRateStats } from '../../src/libvirt/types.js';
import { FakeDomain } from './fake-libvirt.js';

const MiB = 1024 * 1024;
const measured = (startTimeSeconds: number, mibPerSecond: number, extra: Partial<DirtyRateStats> = {}) =>
  ({
    status: 'measured',
    startTimeSeconds,
    periodSeconds: 2,
    mode: 'page-sampling',
    mibPerSecond,
    raw: {},
    ...extra,
  }) as DirtyRateStats;

describe('measureDirtyRate', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts one calculation and answers its result in bytes/s, not the one measured before it', async () => {
    const dom = new FakeDomain();
    dom.dirtyRate = measured(100, 99);
    const result = measureDirtyRate(dom, { seconds: 2, pollIntervalMs: 100 });
    await vi.advanceTimersByTimeAsync(2000);
    // Still measuring at the end of the seconds, and an older result still readable: neither is answered.
    expect(dom.calls.filter((c) => c.startsWith('startDirtyRateCalc'))).toEqual(['startDirtyRateCalc:2']);
    dom.dirtyRate = measured(100, 99);
    await vi.advanceTimersByTimeAsync(300);
    dom.dirtyRate = measured(200, 12);
    await vi.advanceTimersByTimeAsync(100);
    await expect(result).resolves.toEqual({
      bytesPerSecond: 12 * MiB,
      mibPerSecond: 12,
      seconds: 2,
      mode: 'page-sampling',
      startTimeSeconds: 200,
    });
  });

  it('gives per-vCPU rates in bytes/s when the mode has them, and passes the mode to libvirt', async () => {
    const dom = new FakeDomain();
    const result = measureDirtyRate(dom, { seconds: 1, mode: 'dirty-ring' });
    await vi.advanceTimersByTimeAsync(0);
    expect(dom.dirtyRate).toMatchObject({ status: 'measuring', mode: 'dirty-ring' });
    dom.dirtyRate = measured(5, 3, { mode: 'dirty-ring', periodSeconds: 1, vcpuMibPerSecond: [1, 2] });
    await vi.advanceTimersByTimeAsync(1000);
    await expect(result).resolves.toMatchObject({
      mode: 'dirty-ring',
      bytesPerSecond: 3 * MiB,
      vcpuBytesPerSecond: [MiB, 2 * MiB],
    });
  });

  it('no result within the grace after the seconds: LIBVIRT_TIMEOUT naming the domain and the last status', async () => {
    const dom = new FakeDomain('db-1');
    const result = measureDirtyRate(dom, { seconds: 1, graceMs: 1000 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(2500);
    const err = await result;
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ code: 'LIBVIRT_TIMEOUT' });
    expect((err as Error).message).toMatch(
      /domain db-1 started for 1 s had no result 1000 ms .*last status: measuring/,
    );
  });

  it("the binding's refusal (a migration running) is answered as it is, without waiting", async () => {
    const dom = new FakeDomain();
    dom.startJob();
    const err = await measureDirtyRate(dom, { seconds: 5 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LIBVIRT_DOMAIN_BUSY' });
  });

  it('an aborted signal stops the wait with its reason', async () => {
    const dom = new FakeDomain();
    const controller = new AbortController();
    const result = measureDirtyRate(dom, { seconds: 3, signal: controller.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(500);
    controller.abort(new Error('agent shutting down'));
    expect(await result).toMatchObject({ message: 'agent shutting down' });
  });

  it.each([
    [{ seconds: 0 }, 'seconds'],
    [{ seconds: 61 }, 'seconds'],
    [{ seconds: 1.5 }, 'seconds'],
    [{ pollIntervalMs: 0 }, 'pollIntervalMs'],
    [{ graceMs: -1 }, 'graceMs'],
    [{ second: 3 }, 'measureDirtyRate.second'],
  ])('%j is INVALID_ARGUMENT naming %s, before libvirt is asked', async (options, key) => {
    const dom = new FakeDomain();
    const err = await measureDirtyRate(dom, options as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationPolicyError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', key });
    expect(dom.calls).toEqual([]);
  });

  it('a rate libvirt reports out of range is refused, not passed on', async () => {
    const dom = new FakeDomain();
    const result = measureDirtyRate(dom, { seconds: 1 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    dom.dirtyRate = measured(1, -4);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await result).toMatchObject({ code: 'INVALID_ARGUMENT', key: 'dirtyrate.megabytes_per_second' });
  });
});

describe('measureDirtyRate on a real libvirt', () => {
  it('test:///default cannot measure: LIBVIRT_UNSUPPORTED naming the driver', async () => {
    const conn = await openConnection('test:///default');
    try {
      const err = await measureDirtyRate(await conn.lookupDomainByName('test'), { seconds: 1 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LibvirtError);
      expect(err).toMatchObject({ code: 'LIBVIRT_UNSUPPORTED' });
    } finally {
      await conn.close();
    }
  });
});
