/**
 * A scripted stand-in for the asynchronous libvirt binding, to drive MigrationJob through each row of its
 * state machine: every call is a promise that can be delayed, left hanging or failed on demand.
 * It proves nothing about libvirt: the lab's end-to-end tests do that with real QEMU guests.
 */
import { EventEmitter } from 'node:events';
import { LibvirtError } from '../../src/errors.js';
import type { DomainState } from '../../src/libvirt/constants.js';
import type {
  BlockInfo,
  CallOptions,
  ConnectionClosed,
  DirtyRateCalcOptions,
  DirtyRateStats,
  DomainEventStream,
  DomainInfo,
  JobStats,
  LibvirtBackend,
  LibvirtConnection,
  LibvirtDomain,
  MigrateParams,
} from '../../src/libvirt/types.js';

export interface MigrateCall {
  destUri: string;
  params: MigrateParams;
  flags: number;
}

/** What one call does instead of answering at once. */
export interface Behaviour {
  delayMs?: number;
  /** Never settles. */
  hang?: boolean;
  error?: Error;
}

let fakes = 0;

export const PAUSED_USER = 1;
export const PAUSED_POSTCOPY = 12;
export const PAUSED_POSTCOPY_FAILED = 13;

export function libvirtError(libvirtCode: number, message: string, call = 'virDomainCall'): LibvirtError {
  return new LibvirtError(call, libvirtCode, 10, message);
}

export const noDomain = () => libvirtError(42, 'Domain not found');

export class FakeDomain implements LibvirtDomain {
  readonly connection: FakeConnection;
  current: { state: DomainState; reason: number } = { state: 'running', reason: 1 };
  stats: JobStats = { type: 'none', raw: {} };
  /** What `jobStats({ completed: true })` answers; rejects when undefined. */
  completedStats: JobStats | undefined;
  maxMemoryKiB = 524288;
  blocks: Record<string, BlockInfo | Error> = {};
  /** What `dirtyRateStats()` answers; `startDirtyRateCalc()` sets it measuring (set it measured by hand). */
  dirtyRate: DirtyRateStats = { status: 'unstarted', raw: {} };
  domainXml = '<domain><devices></devices></domain>';
  /** libvirt's job shows up in the stats as soon as the migrate call is made (set false to start it by hand). */
  jobOnMigrate = true;
  /** The domain left this host: every call rejects with VIR_ERR_NO_DOMAIN. */
  gone = false;
  readonly calls: string[] = [];
  jobStatsCalls = 0;
  readonly migrations: MigrateCall[] = [];
  /** The deadline each call was given (`timeoutMs`), by method. */
  readonly deadlines: [method: string, timeoutMs: number | undefined][] = [];
  downtimes: number[] = [];
  events = new FakeEvents();
  readonly #scripts = new Map<string, Behaviour[]>();
  #settle: { resolve: () => void; reject: (e: Error) => void } | undefined;

  /** Each fake has its own UUID, so one test's unfinished job never holds another test's registry slot. */
  constructor(
    readonly name = 'guest',
    readonly uuid = `11111111-2222-3333-4444-${String(++fakes).padStart(12, '0')}`,
  ) {
    this.connection = new FakeConnection(this);
  }

  /** The next calls of `method` behave like this, one behaviour per call, then normally again. */
  script(method: string, ...behaviours: Behaviour[]): this {
    this.#scripts.set(method, [...(this.#scripts.get(method) ?? []), ...behaviours]);
    return this;
  }

  async #op<T>(method: string, answer: () => T, record = method, options?: CallOptions): Promise<T> {
    if (record) this.calls.push(record);
    this.deadlines.push([method, options?.timeoutMs]);
    const behaviour = this.#scripts.get(method)?.shift();
    if (behaviour?.delayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
    if (behaviour?.hang) return new Promise<T>(() => undefined);
    if (behaviour?.error) throw behaviour.error;
    if (this.gone) throw noDomain();
    return answer();
  }

  state(options?: CallOptions) {
    return this.#op('state', () => ({ ...this.current }), 'state', options);
  }
  info(): Promise<DomainInfo> {
    return this.#op('info', () => ({
      state: this.current.state,
      maxMemoryKiB: this.maxMemoryKiB,
      memoryKiB: this.maxMemoryKiB,
      vcpus: 1,
      cpuTimeNs: 0,
    }));
  }
  blockInfo(disk: string): Promise<BlockInfo> {
    return this.#op(
      'blockInfo',
      () => {
        const block = this.blocks[disk];
        if (block instanceof Error) throw block;
        if (block === undefined) throw libvirtError(1, `no disk ${disk}`);
        return block;
      },
      `blockInfo:${disk}`,
    );
  }
  xml(): Promise<string> {
    return this.#op('xml', () => this.domainXml);
  }
  isActive(): Promise<boolean> {
    return this.#op('isActive', () => true);
  }
  jobStats(options?: { completed?: boolean } & CallOptions): Promise<JobStats> {
    if (!options?.completed) this.jobStatsCalls++;
    return this.#op(
      options?.completed ? 'completedStats' : 'jobStats',
      () => {
        if (!options?.completed) return this.stats;
        if (this.completedStats === undefined) throw libvirtError(55, 'no completed job');
        return this.completedStats;
      },
      '',
      options,
    );
  }
  startPostCopy(options?: CallOptions): Promise<void> {
    return this.#op(
      'startPostCopy',
      () => {
        this.current = { state: 'paused', reason: PAUSED_POSTCOPY };
      },
      'startPostCopy',
      options,
    );
  }
  abortJob(options?: { postcopy?: boolean } & CallOptions): Promise<void> {
    return this.#op(
      'abortJob',
      () => {
        const inPostCopy = this.current.reason === PAUSED_POSTCOPY && this.current.state === 'paused';
        if (options?.postcopy) {
          if (!inPostCopy) throw libvirtError(55, 'current job is not in post-copy phase');
          this.fail(libvirtError(1, 'operation aborted: migration out job: post-copy paused by client'));
          return;
        }
        if (inPostCopy) throw libvirtError(55, 'cannot abort in post-copy');
        if (!this.#settle && this.stats.type === 'none')
          throw libvirtError(55, 'no job is active on the domain');
        this.stats = { type: 'none', raw: {} };
        this.completedStats = { type: 'cancelled', errorMessage: 'operation aborted', raw: {} };
        this.fail(libvirtError(78, 'operation aborted: migration out job: canceled by client'));
      },
      'abortJob',
      options,
    );
  }
  setMaxDowntime(ms: number, options?: CallOptions): Promise<void> {
    return this.#op(
      'setMaxDowntime',
      () => {
        this.downtimes.push(ms);
      },
      `setMaxDowntime:${ms}`,
      options,
    );
  }
  setMaxSpeed(): Promise<void> {
    return this.#op('setMaxSpeed', () => undefined);
  }
  suspend(options?: CallOptions): Promise<void> {
    return this.#op(
      'suspend',
      () => {
        this.current = { state: 'paused', reason: PAUSED_USER };
      },
      'suspend',
      options,
    );
  }
  resume(options?: CallOptions): Promise<void> {
    return this.#op(
      'resume',
      () => {
        this.current = { state: 'running', reason: 5 };
      },
      'resume',
      options,
    );
  }
  destroy(): Promise<void> {
    return this.#op('destroy', () => undefined);
  }
  undefine(): Promise<void> {
    return this.#op('undefine', () => undefined);
  }
  migrateToURI3(destUri: string, params: MigrateParams, flags: number): Promise<void> {
    this.calls.push('migrateToURI3');
    this.migrations.push({ destUri, params, flags });
    const behaviour = this.#scripts.get('migrateToURI3')?.shift();
    if (behaviour?.error) return Promise.reject(behaviour.error);
    if (this.jobOnMigrate) this.startJob();
    return new Promise((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
  }

  startDirtyRateCalc(options: DirtyRateCalcOptions & CallOptions): Promise<void> {
    return this.#op(
      'startDirtyRateCalc',
      () => {
        // As the binding answers beside a job (docs/threading.md, "Dirty rate").
        if (this.stats.type === 'unbounded' || this.stats.type === 'bounded') {
          throw new LibvirtError('virDomainStartDirtyRateCalc', 0, 0, 'job running', 'LIBVIRT_DOMAIN_BUSY');
        }
        const mode = options.mode ?? 'page-sampling';
        this.dirtyRate = { status: 'measuring', periodSeconds: options.seconds, mode, raw: {} };
      },
      `startDirtyRateCalc:${options.seconds}`,
      options,
    );
  }
  dirtyRateStats(options?: CallOptions): Promise<DirtyRateStats> {
    return this.#op('dirtyRateStats', () => ({ ...this.dirtyRate }), 'dirtyRateStats', options);
  }

  /** libvirt's migration job exists and runs pre-copy. */
  startJob(): void {
    this.stats = {
      type: 'unbounded',
      operation: 5,
      memoryTotal: 1000,
      memoryRemaining: 600,
      memoryIteration: 1,
      raw: {},
    };
  }

  /** The migration finishes: the guest leaves the source. */
  complete(
    stats: JobStats = { type: 'completed', downtime: 23, timeElapsed: 4000, raw: {} },
    { event = true } = {},
  ): void {
    if (event) this.events.emit('jobCompleted', { domainUuid: this.uuid, domainName: this.name, stats });
    this.current = { state: 'shutoff', reason: 3 };
    this.stats = { type: 'none', raw: {} };
    this.#settle?.resolve();
    this.#settle = undefined;
  }

  fail(error: Error = libvirtError(1, 'internal error: migration failed', 'virDomainMigrateToURI3')): void {
    if (this.current.reason === PAUSED_POSTCOPY && this.current.state === 'paused')
      this.current = { state: 'paused', reason: PAUSED_POSTCOPY_FAILED };
    this.stats = { type: 'none', raw: {} };
    this.#settle?.reject(error);
    this.#settle = undefined;
  }

  get migrating(): boolean {
    return this.#settle !== undefined;
  }
}

export class FakeEvents extends EventEmitter implements DomainEventStream {
  ready: Promise<void> = Promise.resolve();
  closed = false;
  /** `close()` never settles (a hung daemon). */
  closeHangs = false;
  close(): Promise<void> {
    this.closed = true;
    return this.closeHangs ? new Promise(() => undefined) : Promise.resolve();
  }
}

export class FakeConnection implements LibvirtConnection {
  readonly uri = 'fake:///source';
  open = true;
  closes = 0;
  readonly closed: Promise<ConnectionClosed>;
  #markClosed: (closed: ConnectionClosed) => void = () => undefined;
  /** What `events()` does: return the domain's stream, or throw. */
  eventsError: Error | undefined;

  constructor(readonly domain: FakeDomain) {
    this.closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
  }

  libVersion = async () => 9_000_000;
  hypervisorVersion = async () => 7_002_000;
  hostname = async () => 'source';
  capabilities = async () => '<capabilities/>';
  domainCapabilities = async () => '<domainCapabilities/>';
  lookupDomainByName = async (name: string) => {
    if (name !== this.domain.name) throw libvirtError(42, `Domain not found: no domain with name '${name}'`);
    return this.domain;
  };
  lookupDomainByUUID = async (uuid: string) => {
    if (uuid !== this.domain.uuid) throw libvirtError(42, `Domain not found: no domain with UUID '${uuid}'`);
    return this.domain;
  };
  createDomainXML = async () => this.domain;
  defineDomainXML = async () => this.domain;
  listDomainNames = async () => [this.domain.name];
  isAlive = async () => this.open;
  close = async () => {
    this.closes++;
    this.open = false;
    this.#markClosed({ reason: 'closed' });
  };
  events = (): DomainEventStream => {
    if (this.eventsError) throw this.eventsError;
    return this.domain.events;
  };
}

/**
 * The destination's copy of `source`'s guest: same name and UUID, on its own fake connection, running in
 * failed post-copy (libvirt's `running` with reason `POSTCOPY_FAILED`).
 */
export function destinationOf(source: FakeDomain, libVersion = 9_000_000): FakeDomain {
  const destination = new FakeDomain(source.name, source.uuid);
  destination.current = { state: 'running', reason: 11 };
  destination.connection.libVersion = async () => libVersion;
  return destination;
}

/** A backend whose `open()` hands out the domain's connection (and counts the opens). */
export function fakeBackend(domain: FakeDomain): LibvirtBackend & { opened: string[] } {
  const opened: string[] = [];
  return {
    opened,
    open: async (uri: string) => {
      opened.push(uri);
      return domain.connection;
    },
  };
}

/** Resolves when `predicate` holds, polling the event loop; fails the test after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
