import koffi from 'koffi';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LibvirtError } from '../../src/errors.js';
import { LibvirtErrorCode } from '../../src/libvirt/constants.js';
import {
  DIRTY_RATE_SINCE,
  decodeDirtyRate,
  dirtyRateBesideJob,
  dirtyRateRefusal,
  dirtyRateStatsRefusal,
  formatVersion,
} from '../../src/libvirt/dirty-rate.js';
import { type LibvirtConnection, openConnection } from '../../src/libvirt/index.js';
import { optionalFunc } from '../../src/libvirt/symbols.js';
import { openDebugConnection } from './debug-connection.js';
import { rejection, TEST_URI } from './helpers.js';

// Opening a connection starts worker threads, which load TypeScript through tsx here.
vi.setConfig({ testTimeout: 30_000, hookTimeout: 30_000 });

const CALL = 'virDomainStartDirtyRateCalc';
const LAB = 'qemu+unix:///system?socket=/var/tmp/lmp-lab/lb/src/sock/libvirt-sock';
const at = { domain: 'dr-busy', uri: LAB, mode: 'page-sampling' as const, libVersion: 9_000_000 };

// Records of libvirt 9.0 + QEMU 10 on the lab (virDomainListGetStats, VIR_DOMAIN_STATS_DIRTYRATE).
describe('the dirtyrate stats group, decoded', () => {
  it('before any calculation: unstarted, no rate', () => {
    const record = {
      'dirtyrate.calc_status': 0,
      'dirtyrate.calc_start_time': 0,
      'dirtyrate.calc_period': 0,
      'dirtyrate.calc_mode': 'page-sampling',
    };
    expect(decodeDirtyRate(record)).toEqual({
      status: 'unstarted',
      startTimeSeconds: 0,
      periodSeconds: 0,
      mode: 'page-sampling',
      raw: record,
    });
  });

  it('measuring, then measured with the rate in MiB/s', () => {
    const measuring = {
      'dirtyrate.calc_status': 1,
      'dirtyrate.calc_start_time': 1796156139,
      'dirtyrate.calc_period': 3,
      'dirtyrate.calc_mode': 'page-sampling',
    };
    expect(decodeDirtyRate(measuring)).toMatchObject({ status: 'measuring', periodSeconds: 3 });
    expect(decodeDirtyRate(measuring).mibPerSecond).toBeUndefined();
    const measured = { ...measuring, 'dirtyrate.calc_status': 2, 'dirtyrate.megabytes_per_second': 12 };
    expect(decodeDirtyRate(measured)).toMatchObject({
      status: 'measured',
      startTimeSeconds: 1796156139,
      mibPerSecond: 12,
    });
  });

  it('per-vCPU rates by vCPU number (dirty-ring mode); fields of other groups are left out', () => {
    const stats = decodeDirtyRate({
      'state.state': 1,
      'dirtyrate.calc_status': 2,
      'dirtyrate.calc_mode': 'dirty-ring',
      'dirtyrate.megabytes_per_second': 4,
      'dirtyrate.vcpu.1.megabytes_per_second': 3,
      'dirtyrate.vcpu.0.megabytes_per_second': 1,
    });
    expect(stats.vcpuMibPerSecond).toEqual([1, 3]);
    expect(stats.mode).toBe('dirty-ring');
    expect(Object.keys(stats.raw).every((k) => k.startsWith('dirtyrate.'))).toBe(true);
  });

  it('an inactive domain (no fields) or a status this binding does not know: unknown', () => {
    expect(decodeDirtyRate({})).toEqual({ status: 'unknown', raw: {} });
    expect(decodeDirtyRate({ 'dirtyrate.calc_status': 7, 'dirtyrate.calc_mode': 'future' })).toEqual({
      status: 'unknown',
      raw: { 'dirtyrate.calc_status': 7, 'dirtyrate.calc_mode': 'future' },
    });
  });
});

describe('libvirt refusing a calculation, typed', () => {
  // Recorded on the lab: the raw call while the domain migrated waited 30,040 ms, then this.
  it('the job lock held by a migration: LIBVIRT_DOMAIN_BUSY, libvirt’s code and message kept', () => {
    const err = dirtyRateRefusal(
      new LibvirtError(
        CALL,
        68,
        0,
        'Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainMigratePerform3Params)',
      ),
      at,
    );
    expect(err).toMatchObject({ code: 'LIBVIRT_DOMAIN_BUSY', call: CALL, libvirtCode: 68, libvirtDomain: 0 });
    expect((err as Error).message).toMatch(/dr-busy has a migration running.*measure before migrating/);
    expect((err as LibvirtError).libvirtMessage).toContain('remoteDispatchDomainMigratePerform3Params');
    const other = dirtyRateRefusal(
      new LibvirtError(
        CALL,
        68,
        0,
        'Timed out during operation: cannot acquire state change lock (held by agent=x)',
      ),
      at,
    );
    expect((other as Error).message).toMatch(/has another job running/);
    // A timeout of another kind is not a busy domain.
    const plain = new LibvirtError(CALL, 68, 0, 'Timed out during operation: monitor did not answer');
    expect(dirtyRateRefusal(plain, at)).toBe(plain);
  });

  it('a job seen in the job stats first: LIBVIRT_DOMAIN_BUSY naming the operation, without libvirt’s numbers', () => {
    const err = dirtyRateBesideJob('dr-busy', { type: 'unbounded', operation: 5, raw: {} });
    expect(err).toMatchObject({ code: 'LIBVIRT_DOMAIN_BUSY', call: CALL, libvirtCode: 0 });
    expect(err.message).toMatch(/dr-busy has a job running \(outgoing migration, unbounded\)/);
  });

  it('no calculation in the host’s libvirt: LIBVIRT_UNSUPPORTED naming the version needed, or the driver', () => {
    const noSupport = new LibvirtError(CALL, 3, 6, 'this function is not supported by the connection driver');
    const old = dirtyRateRefusal(noSupport, { ...at, libVersion: 7_001_000 });
    expect(old).toMatchObject({ code: 'LIBVIRT_UNSUPPORTED', libvirtCode: 3 });
    expect((old as Error).message).toMatch(/libvirt 7\.1\.0 on .* needs libvirt >= 7\.2\.0: upgrade libvirt/);
    const driver = dirtyRateRefusal(noSupport, { ...at, uri: TEST_URI });
    expect((driver as Error).message).toMatch(
      /libvirt 9\.0\.0 on test:\/\/\/default is recent enough, but this connection's driver/,
    );
    const unknown = dirtyRateRefusal(noSupport, { ...at, libVersion: undefined });
    expect((unknown as Error).message).toMatch(/version unknown.*needs libvirt >= 7\.2\.0/);
  });

  it('a mode the host cannot do: LIBVIRT_UNSUPPORTED with the fix, page-sampling as the way out', () => {
    // libvirt 7.2–8.0 refuses any flag.
    const flags = new LibvirtError(
      CALL,
      8,
      10,
      'unsupported flags (0x1) in function qemuDomainStartDirtyRateCalc',
    );
    const early = dirtyRateRefusal(flags, { ...at, mode: 'dirty-bitmap', libVersion: 8_000_000 });
    expect((early as Error).message).toMatch(
      /mode 'dirty-bitmap', which needs libvirt >= 8\.1\.0.*'page-sampling'/,
    );
    expect(dirtyRateRefusal(flags, at)).toBe(flags);
    // Recorded on the lab (a TCG guest).
    const ring = dirtyRateRefusal(
      new LibvirtError(
        CALL,
        84,
        10,
        'Operation not supported: dirty-ring calculation mode requires dirty-ring feature enabled.',
      ),
      { ...at, mode: 'dirty-ring' },
    );
    expect(ring).toMatchObject({ code: 'LIBVIRT_UNSUPPORTED', libvirtCode: 84 });
    expect((ring as Error).message).toMatch(/dirty-ring state='on'.*use mode 'page-sampling'/);
  });

  it('other refusals stay libvirt’s: seconds out of range (recorded), an error that is not libvirt’s', () => {
    const seconds = new LibvirtError(
      CALL,
      LibvirtErrorCode.CONFIG_UNSUPPORTED,
      10,
      'unsupported configuration: seconds=61 is invalid, please choose value within [1, 60].',
    );
    expect(dirtyRateRefusal(seconds, at)).toBe(seconds);
    const plain = new Error('boom');
    expect(dirtyRateRefusal(plain, at)).toBe(plain);
  });

  it('the stats group refused by an old daemon or a driver: LIBVIRT_UNSUPPORTED', () => {
    const bits = new LibvirtError(
      'virDomainListGetStats',
      74,
      10,
      'Stats types bits 0x200 are not supported by this daemon',
    );
    expect((dirtyRateStatsRefusal(bits, { uri: LAB, libVersion: 7_000_000 }) as Error).message).toMatch(
      /libvirt 7\.0\.0 .* needs libvirt >= 7\.2\.0/,
    );
    expect(dirtyRateStatsRefusal(bits, { uri: TEST_URI, libVersion: 9_000_000 })).toMatchObject({
      code: 'LIBVIRT_UNSUPPORTED',
      libvirtCode: 74,
    });
    const other = new LibvirtError('virDomainListGetStats', 42, 10, 'Domain not found');
    expect(dirtyRateStatsRefusal(other, { uri: LAB, libVersion: 9_000_000 })).toBe(other);
  });

  it('versions read as libvirt writes them', () => {
    expect(formatVersion(DIRTY_RATE_SINCE)).toBe('7.2.0');
    expect(formatVersion(11_003_012)).toBe('11.3.12');
  });
});

describe('dirty rate through a real worker (test:///default)', () => {
  let conn: LibvirtConnection;
  beforeAll(async () => {
    conn = await openConnection(TEST_URI);
  });
  afterAll(() => conn.close());

  // libvirt 9.0's test driver implements neither: its answer goes through the worker to a typed error.
  it('the test driver cannot measure: LIBVIRT_UNSUPPORTED, naming the driver, not the version', async () => {
    const dom = await conn.lookupDomainByName('test');
    const start = await rejection(dom.startDirtyRateCalc({ seconds: 1 }));
    expect(start).toMatchObject({
      code: 'LIBVIRT_UNSUPPORTED',
      call: CALL,
      libvirtCode: LibvirtErrorCode.NO_SUPPORT,
    });
    expect((start as Error).message).toMatch(/is recent enough, but this connection's driver/);
    const stats = await rejection(dom.dirtyRateStats());
    expect(stats).toMatchObject({
      code: 'LIBVIRT_UNSUPPORTED',
      call: 'virDomainListGetStats',
      libvirtCode: LibvirtErrorCode.ARGUMENT_UNSUPPORTED,
    });
  });

  it('refuses bad options before calling libvirt', async () => {
    const dom = await conn.lookupDomainByName('test');
    for (const seconds of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      await expect(dom.startDirtyRateCalc({ seconds })).rejects.toThrow(
        /seconds must be a whole number.*1\.\.60/,
      );
    }
    await expect(dom.startDirtyRateCalc({ seconds: 1, mode: 'fast' as 'dirty-ring' })).rejects.toThrow(
      /mode must be one of page-sampling, dirty-bitmap, dirty-ring, got fast/,
    );
    await expect(dom.startDirtyRateCalc({ seconds: 1, mode: 'toString' as 'dirty-ring' })).rejects.toThrow(
      TypeError,
    );
  });

  it('a libvirt without virDomainStartDirtyRateCalc: LIBVIRT_UNSUPPORTED naming 7.2.0 and the library', async () => {
    const debug = await openDebugConnection();
    try {
      await debug.call('debugHideSymbol', ['virDomainStartDirtyRateCalc']);
      const dom = await debug.lookupDomainByName('test');
      const err = await rejection(dom.startDirtyRateCalc({ seconds: 1 }));
      expect(err).toMatchObject({ code: 'LIBVIRT_UNSUPPORTED', call: CALL });
      expect((err as Error).message).toMatch(
        /client library libvirt\.so\.0 has no virDomainStartDirtyRateCalc, which needs libvirt >= 7\.2\.0: upgrade/,
      );
      // The connection goes on.
      expect((await dom.state()).state).toBe('running');
    } finally {
      await debug.close();
    }
  });

  it('a function the library lacks is undefined when loading, not a crash', () => {
    const libc = koffi.load('libc.so.6');
    expect(
      optionalFunc(libc, 'int virDomainStartDirtyRateCalc(void *dom, int seconds, unsigned int flags)'),
    ).toBeUndefined();
    expect(optionalFunc(libc, 'int abs(int j)')?.(-3 as never)).toBe(3);
  });
});
