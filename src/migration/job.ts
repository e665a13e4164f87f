import { EventEmitter } from 'node:events';
import { MigrationPolicyError } from '../errors.js';
import type { DomainEventStream, JobStats, LibvirtDomain } from '../libvirt/types.js';
import { migrationDataGb } from '../policy/downtime.js';
import {
  type MonitorAction,
  type MonitorSettings,
  type MonitorState,
  monitorSettings,
  monitorTick,
} from '../policy/monitor.js';
import { type MigrationPlan, planMigration } from '../policy/plan.js';
import {
  assertAbortAllowed,
  type ForceCompleteAction,
  forceCompleteAction,
  isActiveStatus,
  type MigrationStatus,
} from '../policy/status.js';
import { memoryMiBFromXml, type SourcePhase, sourcePhase, statusForPhase } from './domain-state.js';
import { buildMigrationCall, type MigrationCall } from './params.js';
import type {
  GuestLocation,
  MigrateOptions,
  MigrationOutcome,
  MigrationProgress,
  SteeringEvent,
} from './types.js';

const DEFAULT_POLL_MS = 1000;
/** How long to wait for libvirt's job-completed event after the migrate call returned. */
const COMPLETED_EVENT_GRACE_MS = 2000;

/** What a {@link MigrationJob} needs from its caller: a looked-up domain and a way to let go of it. */
export interface JobContext {
  domain: LibvirtDomain;
  options: MigrateOptions;
  /** Called once when the job ends (closes a connection the job opened, frees the registry slot). */
  release: () => void;
  /**
   * `start` calls libvirt; `attach` follows a migration that is already running (started by an agent that
   * has since restarted): it steers and reports it, and learns its end from libvirt's job state.
   */
  mode?: 'start' | 'attach';
}

/** The events a {@link MigrationJob} emits, with their arguments. */
export interface MigrationJobEvents {
  status: [status: MigrationStatus];
  plan: [plan: MigrationPlan];
  progress: [progress: MigrationProgress];
  steering: [event: SteeringEvent];
}

/**
 * One live migration, started by {@link migrate}: its plan, its status, progress events, and the steering
 * calls. `outcome` resolves (never rejects) when it ends.
 *
 * @example
 * ```ts
 * const job = migrate({ ... });
 * job.on('progress', (p) => console.log(p.status, p.memoryRemaining));
 * const outcome = await job.outcome;
 * console.log(outcome.status, outcome.guest, outcome.stats?.downtime);
 * ```
 */
export class MigrationJob extends EventEmitter<MigrationJobEvents> {
  /** The domain's UUID. */
  readonly domainUuid: string;
  /** Resolves when the migration ended, whatever the way. */
  readonly outcome: Promise<MigrationOutcome>;

  #status: MigrationStatus = 'queued';
  #plan: MigrationPlan | undefined;
  #call: MigrationCall | undefined;
  readonly #domain: LibvirtDomain;
  readonly #options: MigrateOptions;
  readonly #release: () => void;
  readonly #mode: 'start' | 'attach';
  #attachedEnd: (() => void) | undefined;
  #startedAt = 0;
  #monitor: MonitorSettings | undefined;
  #monitorState: MonitorState = {};
  #timer: NodeJS.Timeout | undefined;
  #events: DomainEventStream | undefined;
  #completedStats: JobStats | undefined;
  #completedStatsArrived: (() => void) | undefined;
  #abortRequested = false;
  #abortPending = false;
  #abortReason = '';
  #pausedByUs = false;
  #copyStarted = false;
  #pendingForceComplete: {
    resolve: (action: ForceCompleteAction) => void;
    reject: (error: unknown) => void;
  }[] = [];
  readonly #steering: SteeringEvent[] = [];
  #lastProgress: MigrationProgress | undefined;

  /** @internal Use {@link migrate}. */
  constructor(context: JobContext) {
    super();
    this.#domain = context.domain;
    this.#options = context.options;
    this.#release = context.release;
    this.#mode = context.mode ?? 'start';
    this.domainUuid = context.domain.uuid();
    // Deferred so that listeners attached right after migrate() returns see every status change.
    this.outcome = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#run());
  }

  /** Nova's migration status, as last observed. */
  get status(): MigrationStatus {
    return this.#status;
  }

  /** The plan sent to libvirt: flags and the reason for each decision. Undefined until computed. */
  get plan(): MigrationPlan | undefined {
    return this.#plan;
  }

  /** The `virDomainMigrateToURI3` arguments sent, with notes on tuning that was not sent. */
  get call(): MigrationCall | undefined {
    return this.#call;
  }

  /** The latest progress report. */
  get progress(): MigrationProgress | undefined {
    return this.#lastProgress;
  }

  /**
   * Force the migration to finish: switch to post-copy when post-copy is effective for this instance,
   * otherwise pause the guest (resumed if the migration then fails). Before the copy runs, the request waits
   * for it; once in post-copy or finished, nothing happens.
   *
   * @returns The action taken.
   */
  forceComplete(): Promise<ForceCompleteAction> {
    // libvirt refuses to switch or steer before its job exists, which lags our 'running' by the worker's
    // start-up: until the first job stats show the copy, the request waits for it.
    if (
      this.#status === 'queued' ||
      this.#status === 'preparing' ||
      (this.#status === 'running' && !this.#copyStarted)
    ) {
      return new Promise((resolve, reject) => this.#pendingForceComplete.push({ resolve, reject }));
    }
    return new Promise((resolve) => resolve(this.#forceCompleteNow('force-complete requested')));
  }

  /**
   * Abort the migration. Refused once in post-copy (the guest already runs on the destination) and after
   * the end. Before the libvirt call, the call is simply never made. The outcome becomes `cancelled`.
   *
   * @throws {@link MigrationPolicyError} `ABORT_IN_POST_COPY` or `MIGRATION_NOT_ACTIVE`.
   */
  abort(): void {
    this.#refreshStatus();
    assertAbortAllowed(this.#status);
    this.#abortRequested = true;
    if (this.#status === 'running') this.#tryAbort('abort requested');
  }

  /**
   * libvirt refuses an abort until its job exists, which can lag our 'running' by the worker's start-up;
   * a refused abort stays pending and the monitor retries it on every tick.
   */
  #tryAbort(reason: string): void {
    try {
      this.#domain.abortJob();
      this.#abortPending = false;
      this.#record({ action: 'abort', reason });
    } catch {
      this.#abortPending = true;
      this.#abortReason = reason;
    }
  }

  async #run(): Promise<MigrationOutcome> {
    try {
      this.#setStatus('preparing');
      // Subscribing spawns a worker: done first, so nothing slow sits between the plan and the libvirt call.
      await this.#subscribe();
      const prepared = await this.#prepare();
      if (this.#abortRequested) return this.#finish({ status: 'cancelled', guest: 'source' });
      return this.#mode === 'start' ? await this.#execute(prepared) : await this.#follow();
    } catch (error) {
      return this.#finish({ status: 'error', error: asError(error), guest: this.#locateGuest().guest });
    } finally {
      this.#stopMonitor();
      await this.#events?.close().catch(() => undefined);
      this.#release();
    }
  }

  /** Everything that must be read at the last moment: the providers, the guest's state, the versions. */
  async #prepare(): Promise<MigrationCall> {
    const { providers } = this.#options;
    const [instance, host] = await Promise.all([providers.instanceMetadata(), providers.hostConfig()]);
    const connection = this.#domain.connection;
    const plan = planMigration({
      instance,
      host,
      blockMigration: this.#options.blockMigration ?? false,
      ...(this.#options.migrateDisks === undefined ? {} : { migrateDisks: this.#options.migrateDisks }),
      paused: sourcePhase(this.#readState()) === 'paused',
      libvirtVersion: connection.libVersion(),
      qemuVersion: connection.hypervisorVersion(),
    });
    const call = buildMigrationCall(plan, this.#options.destination, this.#options);
    this.#monitor = monitorSettings(plan, this.#dataGb());
    this.#plan = plan;
    this.#call = call;
    this.emit('plan', plan);
    return call;
  }

  #dataGb(): number {
    if (this.#options.dataGb !== undefined) return this.#options.dataGb;
    const memoryMiB = memoryMiBFromXml(this.#domain.xml()) ?? 0;
    const diskBytes = (this.#options.blockMigration ? (this.#options.migrateDisks ?? []) : []).map(() => 0);
    return migrationDataGb({ memoryMiB, diskBytes });
  }

  async #execute(call: MigrationCall): Promise<MigrationOutcome> {
    this.#startedAt = performance.now();
    this.#setStatus('running');
    const migration = this.#domain.migrateToURI3(call.destinationUri, call.params, call.flags);
    this.#startMonitor();
    try {
      await migration;
    } catch (error) {
      this.#stopMonitor();
      return this.#afterFailure(asError(error));
    }
    this.#stopMonitor();
    const stats = await this.#completedJobStats();
    return this.#finish({ status: 'completed', guest: 'destination', ...(stats ? { stats } : {}) });
  }

  /**
   * Attach mode: the migration runs already. Its clock is libvirt's (time elapsed so far), its end is
   * libvirt's job going away, and how it ended is read from the source afterwards.
   */
  async #follow(): Promise<MigrationOutcome> {
    const stats = this.#readJobStats();
    if (stats === undefined || stats.type === 'none') {
      throw new MigrationPolicyError(
        'MIGRATION_NOT_ACTIVE',
        `domain ${this.domainUuid} has no migration running on the source: nothing to attach to`,
        { key: 'domain', value: this.domainUuid },
      );
    }
    this.#startedAt = performance.now() - (stats.timeElapsed ?? 0);
    this.#copyStarted = true;
    this.#setStatus(statusForPhase('running', sourcePhase(this.#readState())));
    const ended = new Promise<void>((resolve) => {
      this.#attachedEnd = resolve;
    });
    this.#startMonitor();
    await ended;
    this.#stopMonitor();
    const { phase } = this.#locateGuest();
    if (phase === 'gone') {
      const completed = await this.#completedJobStats();
      return this.#finish({
        status: 'completed',
        guest: 'destination',
        ...(completed ? { stats: completed } : {}),
      });
    }
    const completed = this.#readCompletedStats();
    const error = new Error(
      completed?.errorMessage ??
        `the migration ended with the guest still on the source (job ${completed?.type ?? 'unknown'})`,
    );
    return this.#afterFailure(error, completed?.type === 'cancelled');
  }

  #readCompletedStats(): JobStats | undefined {
    try {
      return this.#domain.jobStats({ completed: true });
    } catch {
      return undefined;
    }
  }

  /** libvirt's own events say when post-copy starts and hand over the completed job's stats. */
  async #subscribe(): Promise<void> {
    try {
      const events = this.#domain.connection.events();
      this.#events = events;
      events.on('lifecycle', (event) => {
        if (event.domainUuid === this.domainUuid) this.#refreshStatus();
      });
      events.on('jobCompleted', (event) => {
        if (event.domainUuid !== this.domainUuid) return;
        this.#completedStats = event.stats;
        this.#completedStatsArrived?.();
      });
      events.on('error', () => undefined);
      await events.ready;
    } catch {
      // Events only sharpen the picture; polling alone still steers the migration correctly.
      await this.#events?.close().catch(() => undefined);
      this.#events = undefined;
    }
  }

  async #completedJobStats(): Promise<JobStats | undefined> {
    if (this.#completedStats === undefined && this.#events !== undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, COMPLETED_EVENT_GRACE_MS);
        this.#completedStatsArrived = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.#completedStats ?? this.#readCompletedStats();
  }

  /** The guest must keep running somewhere: resume it if we paused it, never if post-copy failed. */
  #afterFailure(error: Error, cancelledElsewhere = false): MigrationOutcome {
    const { guest, phase } = this.#locateGuest();
    if (phase === 'post-copy-failed') {
      return this.#finish({ status: 'failed', error, guest: 'destination', postCopyFailed: true });
    }
    if (phase === 'paused' && this.#pausedByUs) {
      try {
        this.#domain.resume();
        this.#pausedByUs = false;
        this.#record({
          action: 'resume',
          reason: 'the migration failed after force-complete paused the guest',
        });
      } catch (resumeError) {
        error = new AggregateError([error, resumeError], `${error.message}; resuming the guest failed too`);
      }
    }
    const cancelled = this.#abortRequested || cancelledElsewhere;
    return this.#finish({ status: cancelled ? 'cancelled' : 'failed', error, guest });
  }

  #locateGuest(): { guest: GuestLocation; phase: SourcePhase } {
    const phase = sourcePhase(this.#readState());
    const guest: GuestLocation =
      phase === 'running' || phase === 'paused' ? 'source' : phase === 'gone' ? 'unknown' : 'destination';
    return { guest, phase };
  }

  #readState(): ReturnType<LibvirtDomain['state']> | undefined {
    try {
      return this.#domain.state();
    } catch {
      return undefined;
    }
  }

  #finish(
    outcome: Omit<MigrationOutcome, 'steering' | 'postCopyFailed'> & { postCopyFailed?: boolean },
  ): MigrationOutcome {
    this.#setStatus(outcome.status);
    for (const pending of this.#pendingForceComplete.splice(0)) pending.resolve('none');
    return {
      postCopyFailed: false,
      ...outcome,
      ...(this.#plan ? { plan: this.#plan } : {}),
      steering: [...this.#steering],
    };
  }

  #startMonitor(): void {
    const interval = this.#options.pollIntervalMs ?? DEFAULT_POLL_MS;
    this.#timer = setInterval(() => this.#tick(), interval);
    this.#timer.unref?.();
  }

  #stopMonitor(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    if (!isActiveStatus(this.#status)) return;
    this.#refreshStatus();
    if (this.#abortPending && this.#status === 'running') this.#tryAbort(this.#abortReason);
    const stats = this.#readJobStats();
    if (this.#attachedEnd !== undefined && (stats === undefined || stats.type === 'none')) {
      this.#attachedEnd();
      return;
    }
    if (stats !== undefined) {
      this.#report(stats);
      if (!this.#copyStarted && (stats.type === 'unbounded' || stats.type === 'bounded')) {
        this.#copyStarted = true;
        this.#flushPendingForceComplete('force-complete requested before the copy started');
      }
    }
    if (this.#monitor === undefined) return;
    const elapsedSeconds = this.#elapsedMs() / 1000;
    const { state, actions } = monitorTick(this.#monitor, this.#monitorState, {
      elapsedSeconds,
      status: this.#status,
    });
    this.#monitorState = state;
    for (const action of actions) this.#apply(action);
  }

  #readJobStats(): JobStats | undefined {
    try {
      return this.#domain.jobStats();
    } catch {
      // The domain leaves the source the instant the migration completes; the outcome tells the rest.
      return undefined;
    }
  }

  #report(stats: JobStats): void {
    const progress: MigrationProgress = {
      status: this.#status,
      elapsedMs: this.#elapsedMs(),
      ...defined({
        memoryTotal: stats.memoryTotal,
        memoryProcessed: stats.memoryProcessed,
        memoryRemaining: stats.memoryRemaining,
        dataRemaining: stats.dataRemaining,
        iteration: stats.memoryIteration,
        dirtyRate: stats.memoryDirtyRate,
        bandwidth: stats.memoryBps,
        throttle: stats.autoConvergeThrottle,
        postCopyRequests: stats.memoryPostcopyRequests,
        downtimeMs: this.#monitorState.downtimeMs,
      }),
      stats,
    };
    this.#lastProgress = progress;
    this.emit('progress', progress);
  }

  #apply(action: MonitorAction): void {
    try {
      switch (action.type) {
        case 'set-downtime':
          this.#domain.setMaxDowntime(action.downtimeMs);
          this.#record({ action: 'set-downtime', reason: `downtime step: ${action.downtimeMs} ms` });
          return;
        case 'abort':
          this.#abortRequested = true;
          this.#tryAbort(action.reason);
          return;
        case 'switch-to-post-copy':
        case 'pause':
          this.#forceCompleteNow(action.reason);
          return;
      }
    } catch {
      // The job may have ended between the stats read and this call; the outcome reports what happened.
    }
  }

  #flushPendingForceComplete(reason: string): void {
    for (const pending of this.#pendingForceComplete.splice(0)) {
      try {
        pending.resolve(this.#forceCompleteNow(reason));
      } catch (error) {
        pending.reject(error);
      }
    }
  }

  #forceCompleteNow(reason: string): ForceCompleteAction {
    this.#refreshStatus();
    if (this.#plan === undefined) return 'none';
    const action = forceCompleteAction(this.#plan, this.#status);
    if (action === 'switch-to-post-copy') {
      this.#domain.startPostCopy();
      this.#setStatus('running (post-copy)');
    } else if (action === 'pause') {
      if (this.#pausedByUs) return 'pause';
      this.#domain.suspend();
      this.#pausedByUs = true;
    }
    if (action !== 'none') this.#record({ action, reason });
    return action;
  }

  /** The source's state is the truth about post-copy: libvirt may switch without us (its own timeout). */
  #refreshStatus(): void {
    if (this.#status !== 'running') return;
    const next = statusForPhase(this.#status, sourcePhase(this.#readState()));
    if (next !== this.#status) this.#setStatus(next);
  }

  #setStatus(status: MigrationStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.emit('status', status);
  }

  #record(event: Omit<SteeringEvent, 'elapsedMs'>): void {
    const full = { ...event, elapsedMs: this.#elapsedMs() };
    this.#steering.push(full);
    this.emit('steering', full);
  }

  #elapsedMs(): number {
    return this.#startedAt === 0 ? 0 : Math.round(performance.now() - this.#startedAt);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function defined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
