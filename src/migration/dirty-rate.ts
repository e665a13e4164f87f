/**
 * How fast a running guest dirties its memory, measured by QEMU before a migration: one
 * `virDomainStartDirtyRateCalc`, then the domain's `dirtyrate.*` stats read until that calculation is done.
 * The wait is timers on this side; every libvirt call is the binding's, off the main thread with its
 * deadline. What libvirt and QEMU answer (busy, idle, a mode the guest cannot do, a migration running) is in
 * docs/threading.md, "Dirty rate".
 *
 * @module
 */
import { LibvirtError } from '../errors.js';
import type { DirtyRateMode } from '../libvirt/constants.js';
import type { LibvirtDomain } from '../libvirt/types.js';
import { checkNumber, checkOptional, checkOptions } from '../policy/numbers.js';

/** Options of {@link measureDirtyRate}. */
export interface MeasureDirtyRateOptions {
  /** How long QEMU measures, in whole seconds, 1..60 (libvirt's range). Default 3. */
  seconds?: number;
  /** QEMU's method; default `page-sampling`, the one that works under TCG and KVM alike. */
  mode?: DirtyRateMode;
  /** How often the stats are read once `seconds` have passed. Default 250 ms. */
  pollIntervalMs?: number;
  /** How long after `seconds` the result may take before giving up. Default 15,000 ms. */
  graceMs?: number;
  /** Stops waiting (the calculation in QEMU ends by itself). */
  signal?: AbortSignal;
}

/** What QEMU measured. */
export interface DirtyRateMeasurement {
  /** The rate, in bytes per second (libvirt reports whole MiB/s). */
  bytesPerSecond: number;
  /** The rate as libvirt reported it, in MiB/s. */
  mibPerSecond: number;
  /** How long QEMU measured, in seconds. */
  seconds: number;
  mode: DirtyRateMode;
  /** When the calculation started, in seconds since the Unix epoch (QEMU's clock, on the guest's host). */
  startTimeSeconds: number | undefined;
  /** Per-vCPU rates in bytes/s (dirty-ring mode only). */
  vcpuBytesPerSecond?: number[];
}

const MiB = 1024 * 1024;
const OPTIONS = ['seconds', 'mode', 'pollIntervalMs', 'graceMs', 'signal'];

/**
 * Measures the domain's dirty rate: starts QEMU's calculation for `seconds`, then waits for its result.
 * Rejects with the binding's typed errors — `LIBVIRT_UNSUPPORTED` (libvirt older than 7.2.0, a driver or
 * mode that cannot measure) and `LIBVIRT_DOMAIN_BUSY` (a migration or another job is running: measure
 * before migrating) — and with `LIBVIRT_TIMEOUT` when no result arrives `graceMs` after `seconds`.
 *
 * @example
 * ```ts host
 * import { measureDirtyRate } from 'libvirt-migration-policy';
 * import { openConnection } from 'libvirt-migration-policy/libvirt';
 *
 * const conn = await openConnection('qemu:///system');
 * const rate = await measureDirtyRate(await conn.lookupDomainByName('db-1'), { seconds: 3 });
 * console.log(`${rate.mibPerSecond} MiB/s over ${rate.seconds} s (${rate.mode})`);
 * await conn.close();
 * ```
 */
export async function measureDirtyRate(
  domain: Pick<LibvirtDomain, 'name' | 'startDirtyRateCalc' | 'dirtyRateStats'>,
  options: MeasureDirtyRateOptions = {},
): Promise<DirtyRateMeasurement> {
  const given = checkOptions('measureDirtyRate', options, OPTIONS);
  const seconds =
    checkOptional('seconds', given.seconds, { min: 1, max: 60, integer: true, unit: 'seconds' }) ?? 3;
  const pollMs =
    checkOptional('pollIntervalMs', given.pollIntervalMs, { min: 10, max: 60_000, unit: 'ms' }) ?? 250;
  const graceMs = checkOptional('graceMs', given.graceMs, { min: 0, max: 600_000, unit: 'ms' }) ?? 15_000;
  const mode = options.mode ?? 'page-sampling';
  const signal = options.signal;
  signal?.throwIfAborted();
  // A finished calculation's stats stay; the new one is told apart by its start time.
  const before = await domain.dirtyRateStats();
  await domain.startDirtyRateCalc({ seconds, mode });
  await sleep(seconds * 1000, signal);
  const deadline = Date.now() + graceMs;
  for (;;) {
    const stats = await domain.dirtyRateStats();
    const fresh =
      stats.status === 'measured' &&
      (before.status !== 'measured' || stats.startTimeSeconds !== before.startTimeSeconds);
    if (fresh && stats.mibPerSecond !== undefined) {
      const rate = checkNumber('dirtyrate.megabytes_per_second', stats.mibPerSecond, {
        min: 0,
        max: 2 ** 40,
        unit: 'MiB/s',
      });
      return {
        bytesPerSecond: rate * MiB,
        mibPerSecond: rate,
        seconds: stats.periodSeconds ?? seconds,
        mode: stats.mode ?? mode,
        startTimeSeconds: stats.startTimeSeconds,
        ...(stats.vcpuMibPerSecond === undefined
          ? {}
          : { vcpuBytesPerSecond: stats.vcpuMibPerSecond.map((v) => v * MiB) }),
      };
    }
    if (Date.now() >= deadline) {
      throw new LibvirtError(
        'virDomainListGetStats',
        0,
        0,
        `the dirty-rate calculation of domain ${domain.name} started for ${seconds} s had no result ${graceMs} ms ` +
          `after it should have ended (last status: ${stats.status}); the host may be overloaded: measure again, or give a longer graceMs`,
        'LIBVIRT_TIMEOUT',
      );
    }
    await sleep(pollMs, signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
    };
    const stop = () => {
      done();
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });
}
