/**
 * {@link LibvirtDomain}: a handle on a `virDomainPtr` that lives in its connection's worker thread. Calls
 * are posted there; see docs/threading.md.
 *
 * @module
 */
import { LibvirtError } from '../errors.js';
import type { KoffiConnection } from './connection.js';
import { Cell } from './connection-protocol.js';
import {
  type DomainState,
  VIR_DOMAIN_JOB_STATS_COMPLETED,
  VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED,
  VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY,
} from './constants.js';
import { leaseEventLoop } from './events.js';
import type { MigrateWorkerData, MigrateWorkerMessage } from './migrate-worker.js';
import { fromWireError, spawnWorker } from './spawn-worker.js';
import { loadLibvirt } from './symbols.js';
import type {
  BlockInfo,
  CallOptions,
  DomainInfo,
  JobStats,
  JobStatsOptions,
  LibvirtDomain,
  MigrateParams,
} from './types.js';

// The worker holds a libvirt reference per handle; give it back when the JS wrapper is collected. The held
// value must not reference the domain itself, or it would never be collected.
const released = new FinalizationRegistry<{ connection: KoffiConnection; handle: number }>(
  ({ connection, handle }) => connection.releaseHandle(handle),
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
  /** @internal Created by the connection from a lookup's result. */
  constructor(
    readonly connection: KoffiConnection,
    private readonly handle: number,
    readonly name: string,
    readonly uuid: string,
  ) {
    released.register(this, { connection, handle });
  }

  private call<T>(method: string, args: unknown[], options?: CallOptions): Promise<T> {
    return this.connection.call<T>(method, this.handle, args, options);
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
    const conn = this.connection;
    if (!conn.open) {
      throw new LibvirtError(
        'virDomainMigrateToURI3',
        0,
        0,
        `connection to ${conn.uri} is closed`,
        'LIBVIRT_CONNECTION_LOST',
      );
    }
    const sym = loadLibvirt(conn.libraryPath);
    // The worker's own connection needs the event loop registered first, for keepalive to work.
    const release = await leaseEventLoop(sym);
    const control = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(control, 0, Cell.QUEUED);
    const data: MigrateWorkerData = {
      libraryPath: conn.libraryPath,
      uri: conn.uri,
      readOnly: conn.readOnly,
      keepAlive: conn.keepAlive,
      domainUuid: this.uuid,
      destUri,
      params,
      flags,
      control: control.buffer as SharedArrayBuffer,
    };
    let worker: ReturnType<typeof spawnWorker>;
    try {
      worker = spawnWorker('migrate-worker', data);
    } catch (err) {
      await release();
      throw err;
    }
    // The loop lease ends with the thread (it may still be closing its connection after reporting), but
    // the caller does not wait for that.
    worker.once('exit', () => void release());
    const deadlineMs = conn.callTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      worker.on('message', (msg: MigrateWorkerMessage) => {
        if (msg.kind === 'opening') {
          timer = setTimeout(() => {
            // Claim the cell first: if the worker already started the migration, it runs to its end.
            if (Atomics.compareExchange(control, 0, Cell.QUEUED, Cell.CANCELLED) !== Cell.QUEUED) return;
            worker.unref();
            settle(
              new LibvirtError(
                'virDomainMigrateToURI3',
                0,
                0,
                `the migration's own connection to ${conn.uri} was not ready within the ${deadlineMs} ms deadline (the daemon may be hung); the migration was not started and will not be`,
                'LIBVIRT_TIMEOUT',
              ),
            );
          }, deadlineMs);
        } else if (msg.kind === 'migrating') clearTimeout(timer);
        else if (msg.ok) settle();
        else settle(fromWireError(msg.error));
      });
      worker.once('error', (err) => settle(err));
      worker.once('exit', (code) =>
        settle(new Error(`migration worker exited with code ${code} without a result`)),
      );
    });
  }
}

function unsignedError(name: string, value: number): RangeError | undefined {
  if (!Number.isSafeInteger(value) || value < 0) {
    return new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
  return undefined;
}
