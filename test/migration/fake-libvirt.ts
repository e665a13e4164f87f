/**
 * A scripted stand-in for a libvirt domain, to drive MigrationJob through each branch of its logic.
 * It proves nothing about libvirt: the lab's end-to-end tests do that with real QEMU guests.
 */
import { EventEmitter } from 'node:events';
import { LibvirtError } from '../../src/errors.js';
import type { DomainState } from '../../src/libvirt/constants.js';
import type {
  DomainEventStream,
  JobStats,
  LibvirtConnection,
  LibvirtDomain,
  MigrateParams,
} from '../../src/libvirt/types.js';

export interface MigrateCall {
  destUri: string;
  params: MigrateParams;
  flags: number;
}

const PAUSED_USER = 1;
const PAUSED_POSTCOPY = 12;
const PAUSED_POSTCOPY_FAILED = 13;

export class FakeDomain implements LibvirtDomain {
  readonly connection: LibvirtConnection;
  current: { state: DomainState; reason: number } = { state: 'running', reason: 1 };
  stats: JobStats = { type: 'none', raw: {} };
  readonly calls: string[] = [];
  readonly migrations: MigrateCall[] = [];
  downtimes: number[] = [];
  #settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  events = new FakeEvents();

  constructor(
    readonly domainName = 'guest',
    readonly domainUuid = '11111111-2222-3333-4444-555555555555',
  ) {
    this.connection = fakeConnection(this);
  }

  name(): string {
    return this.domainName;
  }
  uuid(): string {
    return this.domainUuid;
  }
  state() {
    this.calls.push('state');
    return { ...this.current };
  }
  xml(): string {
    return `<domain><name>${this.domainName}</name><memory unit='KiB'>524288</memory></domain>`;
  }
  isActive(): boolean {
    return true;
  }
  /** What `jobStats({ completed: true })` answers. */
  completedStats: JobStats | undefined;
  jobStats(options?: { completed?: boolean }): JobStats {
    if (options?.completed) {
      if (this.completedStats === undefined)
        throw new LibvirtError('virDomainGetJobStats', 55, 10, 'no completed job');
      return this.completedStats;
    }
    return this.stats;
  }
  startPostCopy(): void {
    this.calls.push('startPostCopy');
    this.current = { state: 'paused', reason: PAUSED_POSTCOPY };
  }
  abortJob(): void {
    this.calls.push('abortJob');
    if (this.current.reason === PAUSED_POSTCOPY)
      throw new LibvirtError('virDomainAbortJob', 55, 10, 'cannot abort in post-copy');
    if (!this.#settle) throw new LibvirtError('virDomainAbortJob', 55, 10, 'no job is active on the domain');
    this.fail(
      new LibvirtError(
        'virDomainMigrateToURI3',
        55,
        10,
        'operation aborted: migration out job: canceled by client',
      ),
    );
  }
  setMaxDowntime(ms: number): void {
    this.calls.push(`setMaxDowntime:${ms}`);
    this.downtimes.push(ms);
  }
  setMaxSpeed(): void {}
  suspend(): void {
    this.calls.push('suspend');
    this.current = { state: 'paused', reason: PAUSED_USER };
  }
  resume(): void {
    this.calls.push('resume');
    this.current = { state: 'running', reason: 5 };
  }
  destroy(): void {}
  undefine(): void {}
  migrateToURI3(destUri: string, params: MigrateParams, flags: number): Promise<void> {
    this.calls.push('migrateToURI3');
    this.migrations.push({ destUri, params, flags });
    this.stats = { type: 'unbounded', memoryTotal: 1000, memoryRemaining: 600, memoryIteration: 1, raw: {} };
    return new Promise((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
  }

  /** The migration finishes: the guest leaves the source. */
  complete(stats: JobStats = { type: 'completed', downtime: 23, timeElapsed: 4000, raw: {} }): void {
    this.events.emit('jobCompleted', { domainUuid: this.domainUuid, domainName: this.domainName, stats });
    this.current = { state: 'shutoff', reason: 3 };
    this.#settle?.resolve();
    this.#settle = undefined;
  }

  fail(error = new LibvirtError('virDomainMigrateToURI3', 1, 10, 'internal error: migration failed')): void {
    if (this.current.reason === PAUSED_POSTCOPY)
      this.current = { state: 'paused', reason: PAUSED_POSTCOPY_FAILED };
    this.#settle?.reject(error);
    this.#settle = undefined;
  }

  get migrating(): boolean {
    return this.#settle !== undefined;
  }
}

class FakeEvents extends EventEmitter implements DomainEventStream {
  ready = Promise.resolve();
  closed = false;
  async close(): Promise<void> {
    this.closed = true;
  }
}

function fakeConnection(domain: FakeDomain): LibvirtConnection {
  return {
    uri: 'fake:///source',
    libVersion: () => 9_000_000,
    hypervisorVersion: () => 7_002_000,
    hostname: () => 'source',
    capabilities: () => '<capabilities/>',
    domainCapabilities: () => '<domainCapabilities/>',
    lookupDomainByName: () => domain,
    lookupDomainByUUID: () => domain,
    createDomainXML: () => domain,
    defineDomainXML: () => domain,
    isAlive: () => true,
    close: () => undefined,
    events: () => domain.events,
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
