/**
 * {@link LibvirtDomain}: a handle on a `virDomainPtr` that lives in its connection's worker thread. Calls
 * are posted there through the {@link DomainChannel} the connection implements; see docs/threading.md.
 *
 * @module
 */
import { LibvirtError } from '../errors.js';
import type { ChannelCallOptions, ConnectionChannel, DomainChannel } from './channel.js';
import {
  DirtyRateModeFlag,
  type DomainState,
  VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS,
  VIR_DOMAIN_JOB_STATS_COMPLETED,
  VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED,
  VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY,
  VIR_DOMAIN_STATS_DIRTYRATE,
} from './constants.js';
import { decodeDirtyRate } from './dirty-rate.js';
import type { DomainMethodName, DomainMethods, DomainRef } from './protocol.js';
import type {
  BlockInfo,
  CallOptions,
  DirtyRateCalcOptions,
  DirtyRateStats,
  DomainInfo,
  JobStats,
  JobStatsOptions,
  LibvirtConnection,
  LibvirtDomain,
  MigrateParams,
} from './types.js';

// The worker holds a libvirt reference per handle; give it back when the JS wrapper is collected. The held
// value must not reference the domain itself, or it would never be collected.
const released = new FinalizationRegistry<{ channel: DomainChannel; handle: number }>(({ channel, handle }) =>
  channel.releaseHandle(handle),
);

/**
 * koffi-backed domain; obtain one from a {@link LibvirtConnection} lookup.
 *
 * @example
 * ```ts
 * const dom = await conn.lookupDomainByName('test');
 * console.log(dom.name, (await dom.info()).maxMemoryKiB);
 * ```
 */
export class KoffiDomain implements LibvirtDomain {
  readonly name: string;
  readonly uuid: string;
  private readonly handle: number;

  /**
   * @internal Created by the connection from a lookup's result: `channel` carries the calls, `connection` is
   * what {@link LibvirtDomain.connection} shows (the same object, seen through its public type).
   */
  constructor(
    private readonly channel: DomainChannel,
    readonly connection: LibvirtConnection,
    ref: DomainRef,
  ) {
    this.handle = ref.handle;
    this.name = ref.name;
    this.uuid = ref.uuid;
    released.register(this, { channel, handle: ref.handle });
  }

  private call<K extends DomainMethodName>(
    method: K,
    args: DomainMethods[K]['args'],
    options?: ChannelCallOptions,
  ): Promise<DomainMethods[K]['result']> {
    return this.channel.callDomain(this.handle, method, args, options);
  }

  state(options?: CallOptions): Promise<{ state: DomainState; reason: number }> {
    return this.call('virDomainGetState', [], options);
  }

  info(options?: CallOptions): Promise<DomainInfo> {
    return this.call('virDomainGetInfo', [], options);
  }

  blockInfo(disk: string, options?: CallOptions): Promise<BlockInfo> {
    if (typeof disk !== 'string' || disk === '') {
      return Promise.reject(new TypeError(`disk must be a non-empty string, got ${String(disk)}`));
    }
    return this.call('virDomainGetBlockInfo', [disk], options);
  }

  xml(flags = 0, options?: CallOptions): Promise<string> {
    return this.call('virDomainGetXMLDesc', [flags], options);
  }

  isActive(options?: CallOptions): Promise<boolean> {
    return this.call('virDomainIsActive', [], options);
  }

  jobStats(options: JobStatsOptions & CallOptions = {}): Promise<JobStats> {
    const flags =
      (options.completed ? VIR_DOMAIN_JOB_STATS_COMPLETED : 0) |
      (options.keepCompleted ? VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED : 0);
    return this.call('virDomainGetJobStats', [flags], options);
  }

  startPostCopy(options?: CallOptions): Promise<void> {
    return this.call('virDomainMigrateStartPostCopy', [], options);
  }

  abortJob(options: { postcopy?: boolean } & CallOptions = {}): Promise<void> {
    return this.call(options.postcopy ? 'virDomainAbortJobFlags' : 'virDomainAbortJob', [], options);
  }

  setMaxDowntime(ms: number, options?: CallOptions): Promise<void> {
    const bad = unsignedError('ms', ms);
    return bad ? Promise.reject(bad) : this.call('virDomainMigrateSetMaxDowntime', [ms], options);
  }

  setMaxSpeed(mibps: number, options: { postcopy?: boolean } & CallOptions = {}): Promise<void> {
    const bad = unsignedError('mibps', mibps);
    const flags = options.postcopy ? VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY : 0;
    return bad ? Promise.reject(bad) : this.call('virDomainMigrateSetMaxSpeed', [mibps, flags], options);
  }

  suspend(options?: CallOptions): Promise<void> {
    return this.call('virDomainSuspend', [], options);
  }

  resume(options?: CallOptions): Promise<void> {
    return this.call('virDomainResume', [], options);
  }

  destroy(options?: CallOptions): Promise<void> {
    return this.call('virDomainDestroy', [], options);
  }

  undefine(options?: CallOptions): Promise<void> {
    return this.call('virDomainUndefine', [], options);
  }

  async migrateToURI3(destUri: string, params: MigrateParams, flags: number): Promise<void> {
    const { channel } = this;
    const call = 'virDomainMigrateToURI3';
    if (!channel.open) {
      throw new LibvirtError(call, 0, 0, `connection to ${channel.uri} is closed`, 'LIBVIRT_CONNECTION_LOST');
    }
    // A connection of its own: the call blocks its worker for the whole migration, and this connection's
    // calls (job stats, abort) must go on meanwhile. Opening it and finding the domain have deadlines.
    let own: ConnectionChannel | undefined;
    let target: number;
    try {
      own = await channel.reopen();
      target = (await own.call('virDomainLookupByUUIDString', [this.uuid])).handle;
    } catch (err) {
      void own?.close();
      if (err instanceof LibvirtError && err.code === 'LIBVIRT_TIMEOUT') {
        throw new LibvirtError(
          call,
          0,
          0,
          `the migration's own connection to ${channel.uri} was not ready within the ${channel.callTimeoutMs} ms deadline (the daemon may be hung); the migration was not started and will not be`,
          'LIBVIRT_TIMEOUT',
        );
      }
      throw err;
    }
    try {
      // No deadline: it may rightly take hours; keepalive ends it when the daemon stops answering.
      await own.callDomain(target, call, [destUri, params, flags], { noDeadline: true });
    } finally {
      // The caller learns the outcome without waiting for virConnectClose's round trip.
      void own.close();
    }
  }

  startDirtyRateCalc(options: DirtyRateCalcOptions & CallOptions): Promise<void> {
    const { seconds, mode = 'page-sampling' } = options ?? ({} as DirtyRateCalcOptions);
    if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > 2 ** 31 - 1) {
      return Promise.reject(
        new RangeError(
          `seconds must be a whole number of seconds of at least 1 (libvirt takes 1..60), got ${String(seconds)}`,
        ),
      );
    }
    if (typeof mode !== 'string' || !Object.hasOwn(DirtyRateModeFlag, mode)) {
      const modes = Object.keys(DirtyRateModeFlag).join(', ');
      return Promise.reject(new TypeError(`mode must be one of ${modes}, got ${String(mode)}`));
    }
    const flags = DirtyRateModeFlag[mode];
    return this.call('virDomainStartDirtyRateCalc', [seconds, flags], options);
  }

  async dirtyRateStats(options?: CallOptions): Promise<DirtyRateStats> {
    const stats = VIR_DOMAIN_STATS_DIRTYRATE;
    return decodeDirtyRate(
      await this.call(
        'virDomainListGetStats',
        [stats, VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS],
        options,
      ),
    );
  }
}

function unsignedError(name: string, value: number): RangeError | undefined {
  if (!Number.isSafeInteger(value) || value < 0) {
    return new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
  return undefined;
}
