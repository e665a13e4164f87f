import { EventEmitter } from 'node:events';
import { MigrationJobError } from '../errors.js';
import { koffiBackend } from '../libvirt/connection.js';
import type { DomainEventStream, JobStats, LibvirtDomain } from '../libvirt/types.js';
import type { MigrationPlan } from '../policy/plan.js';
import { resolveRecovery, resumeBlocker, resumeFlags } from '../policy/recovery.js';
import type { ForceCompleteAction, MigrationStatus } from '../policy/status.js';
import { DestinationProbe } from './destination.js';
import { isNoDomain, readSourcePhase } from './domain-state.js';
import {
  assertCanAbort,
  initialState,
  type JobAction,
  type JobEvent,
  type JobState,
  progressMode,
  type TickFacts,
  transition,
  type Verdict,
} from './job-machine.js';
import type { MigrationCall } from './params.js';
import { prepareMigration } from './prepare.js';
import { explainTlsFailure } from './tls-preflight.js';
import type {
  JobWarning,
  MigrateOptions,
  MigrationOutcome,
  MigrationProgress,
  RecoveryEvent,
  SteeringEvent,
} from './types.js';

const DEFAULT_POLL_MS = 1000;
/** How long the event stream may take to start before the job goes on without it (polling suffices). */
const EVENTS_READY_TIMEOUT_MS = 5000;
/** How long the completed job's stats may take once libvirt said the migration ended (item 18). */
const COMPLETED_STATS_TIMEOUT_MS = 100;
/** Deadline of the state reads and steering calls the job makes. */
const CALL_TIMEOUT_MS = 10_000;

/** What a {@link MigrationJob} needs from its caller: a looked-up domain and a way to let go of it. */
export interface JobContext {
  domain: LibvirtDomain;
  options: MigrateOptions;
  /** Called once when the job ends, before the terminal `status` event: frees the registry slot. */
  release: () => void;
  /** Closes a connection the job opened; run in the background after the end. */
  close?: () => Promise<void>;
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
  warning: [warning: JobWarning];
  recovery: [event: RecoveryEvent];
}

/**
 * One live migration, started by {@link migrate}: its plan, its status, progress events, and the steering
 * calls. `outcome` resolves (never rejects) when it ends. Its lifecycle is the table in `job-machine.ts`;
 * this class runs the libvirt calls that table asks for and feeds their results back. A listener that throws
 * changes nothing: its error becomes a `warning`.
 *
 * @example
 * ```ts
 * const job = await migrate({ ... });
 * job.on('progress', (p) => console.log(p.status, p.mode, p.memoryRemaining));
 * job.on('warning', (w) => log.warn(w.message, w.error));
 * const outcome = await job.outcome;
 * console.log(outcome.status, outcome.guest, outcome.stats?.downtime);
 * ```
 */
export class MigrationJob extends EventEmitter<MigrationJobEvents> {
  /** The domain's UUID. */
  readonly domainUuid: string;
  /** Resolves when the migration ended, whatever the way. Never rejects. */
  readonly outcome: Promise<MigrationOutcome>;

  #state: JobState;
  readonly #domain: LibvirtDomain;
  readonly #options: MigrateOptions;
  readonly #context: JobContext;
  #resolve: (outcome: MigrationOutcome) => void = () => undefined;
  #plan: MigrationPlan | undefined;
  #call: MigrationCall | undefined;
  #dataGb: number | undefined;
  #progress: MigrationProgress | undefined;
  readonly #steering: SteeringEvent[] = [];
  readonly #warnings: JobWarning[] = [];
  #waiters: { resolve: (a: ForceCompleteAction) => void; reject: (e: Error) => void }[] = [];
  #events: DomainEventStream | undefined;
  #completedStats: JobStats | undefined;
  #completedArrived: () => void = () => undefined;
  #startedAt = 0;
  #sleep: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  readonly #queue: JobEvent[] = [];
  #dispatching = false;
  #ended = false;
  #monitoring = false;
  #pauseWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** When the post-copy broke (performance.now()): the recovery's schedule counts from here. */
  #failedAt: number | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  #probe: DestinationProbe | undefined;
  #sourceLibvirt = 0;

  /** @internal Use {@link migrate} or {@link attachMigration}. */
  constructor(context: JobContext) {
    super();
    this.#context = context;
    this.#domain = context.domain;
    this.#options = context.options;
    this.#state = initialState(context.mode ?? 'start');
    this.domainUuid = context.domain.uuid;
    this.outcome = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    const signal = this.#options.signal;
    signal?.addEventListener('abort', this.#onSignal, { once: true });
    // Deferred so that listeners attached right after `await migrate()` see every status change.
    setImmediate(() => {
      if (signal?.aborted) this.#abortFromSignal();
      this.#dispatch({ type: 'run' });
    });
  }

  /** Nova's migration status, as last observed. */
  get status(): MigrationStatus {
    return this.#state.status;
  }

  /** The plan sent to libvirt: flags and the reason for each decision. Undefined until computed. */
  get plan(): MigrationPlan | undefined {
    return this.#plan;
  }

  /** The `virDomainMigrateToURI3` arguments sent, with notes on tuning that was not sent. */
  get call(): MigrationCall | undefined {
    return this.#call;
  }

  /**
   * The GiB counted for the downtime steps and the completion timeout: `dataGb` when given, else Nova's
   * count from libvirt's answers. Undefined until prepared.
   */
  get dataGb(): number | undefined {
    return this.#dataGb;
  }

  /** The latest progress report. */
  get progress(): MigrationProgress | undefined {
    return this.#progress;
  }

  /**
   * Force the migration to finish: switch to post-copy when post-copy is effective for this instance,
   * otherwise pause the guest (resumed if the migration then fails; a guest paused by someone else is left
   * alone and the answer is `none`). Before libvirt's job runs, the request waits for it; once in post-copy,
   * being aborted, or finished, nothing happens.
   *
   * @returns The action taken. Rejects with the `LibvirtError` when libvirt refused the call.
   */
  forceComplete(): Promise<ForceCompleteAction> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#dispatch({ type: 'force-complete', reason: 'force-complete requested' });
    });
  }

  /**
   * Abort the migration. Refused once in post-copy (the guest already runs on the destination) and after
   * the end. Before the libvirt call, the call is simply never made; before libvirt's job exists (or while
   * libvirt refuses), the abort is retried on each poll. The outcome becomes `cancelled` once libvirt
   * accepted it.
   *
   * @throws {@link MigrationPolicyError} `ABORT_IN_POST_COPY` or `MIGRATION_NOT_ACTIVE`.
   */
  abort(): void {
    assertCanAbort(this.#state);
    this.#dispatch({ type: 'abort', reason: 'abort requested' });
  }

  /**
   * Pause a running post-copy on purpose (`virDomainAbortJobFlags` with `VIR_DOMAIN_ABORT_JOB_POSTCOPY`,
   * libvirt ≥ 8.5): the guest stays on the destination, its missing pages on the source, and the job waits
   * in `recovering (post-copy)` for {@link recover} — for the recovery window, then it ends `failed` with
   * `postCopyFailed`.
   *
   * @throws {@link MigrationJobError} `NOT_IN_POST_COPY` when the migration is not in post-copy. Rejects
   * with the `LibvirtError` when libvirt refused.
   *
   * @example
   * ```ts
   * await job.pausePostCopy(); // e.g. before maintenance on the migration network
   * job.recover(); // afterwards: resume it
   * ```
   */
  pausePostCopy(): Promise<void> {
    if (this.#state.phase !== 'post-copy') {
      throw new MigrationJobError(
        'NOT_IN_POST_COPY',
        `the migration's status is "${this.#state.status}": only a migration in post-copy can be paused (pausePostCopy)`,
        { key: 'status', value: this.#state.status },
      );
    }
    return new Promise((resolve, reject) => {
      this.#pauseWaiters.push({ resolve, reject });
      this.#dispatch({ type: 'pause-post-copy' });
    });
  }

  /**
   * Resume a broken or paused post-copy now (`POSTCOPY_RESUME`), without waiting for the next automatic
   * attempt. Only while the status is `recovering (post-copy)`; an attempt already running is not repeated.
   * The outcome tells how it ended.
   *
   * @throws {@link MigrationJobError} `NOT_RECOVERING` in any other status.
   *
   * @example
   * ```ts
   * job.on('recovery', (r) => { if (r.kind === 'stopped') waitForLink().then(() => job.recover()); });
   * ```
   */
  recover(): void {
    if (this.#state.phase !== 'recovering') {
      throw new MigrationJobError(
        'NOT_RECOVERING',
        `the migration's status is "${this.#state.status}": recover() resumes only a broken or paused post-copy (status "recovering (post-copy)")`,
        { key: 'status', value: this.#state.status },
      );
    }
    this.#dispatch({ type: 'recover' });
  }

  /** Bound once, so that the job can stop listening when it ends (a long-lived signal must not keep it). */
  readonly #onSignal = (): void => this.#abortFromSignal();

  #abortFromSignal(): void {
    try {
      assertCanAbort(this.#state);
      this.#dispatch({ type: 'abort', reason: 'abort signal' });
    } catch (error) {
      this.#warn('signal', 'the abort signal fired but the migration cannot be aborted now', error);
    }
  }

  // ---- The interpreter ---------------------------------------------------------------------------------

  /** Events are handled one at a time, in order, even when a listener reacts by calling the job. */
  #dispatch(event: JobEvent): void {
    this.#queue.push(event);
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) this.#step(next);
    } finally {
      this.#dispatching = false;
    }
  }

  #step(event: JobEvent): void {
    const before = this.#state.status;
    const { state, actions } = transition(this.#state, event);
    this.#state = state;
    const end = actions.find((a): a is Extract<JobAction, { type: 'finish' }> => a.type === 'finish');
    if (end === undefined && state.status !== before) this.#emit('status', state.status);
    for (const action of actions) if (action.type !== 'finish') this.#run(action);
    if (end === undefined) return;
    // Item 9: the slot is free before the terminal status is announced.
    this.#finish();
    if (state.status !== before) this.#emit('status', state.status);
    this.#resolve(this.#outcomeOf(end.verdict));
  }

  #run(action: Exclude<JobAction, { type: 'finish' }>): void {
    const d = this.#domain;
    const t = { timeoutMs: CALL_TIMEOUT_MS };
    switch (action.type) {
      case 'prepare':
        this.#prepare();
        break;
      case 'call-migrate':
        this.#callMigrate();
        break;
      case 'start-monitor':
        void this.#monitor();
        break;
      case 'abort-job':
        this.#call2(d.abortJob(t), { type: 'abort-accepted' }, (error) => ({ type: 'abort-refused', error }));
        break;
      case 'start-post-copy':
        this.#call2(d.startPostCopy(t), { type: 'switched' }, (error) => ({ type: 'switch-failed', error }));
        break;
      case 'suspend':
        this.#call2(d.suspend(t), { type: 'suspended' }, (error) => ({ type: 'suspend-failed', error }));
        break;
      case 'resume':
        this.#call2(d.resume(t), { type: 'resumed' }, (error) => ({ type: 'resume-failed', error }));
        break;
      case 'set-downtime': {
        const { downtimeMs } = action;
        this.#call2(d.setMaxDowntime(downtimeMs, t), { type: 'downtime-set', downtimeMs }, (error) => ({
          type: 'downtime-failed',
          downtimeMs,
          error,
        }));
        break;
      }
      case 'conclude':
        void this.#conclude(action.destination);
        break;
      case 'pause-post-copy':
        this.#call2(d.abortJob({ postcopy: true, ...t }), { type: 'postcopy-paused' }, (error) => ({
          type: 'postcopy-pause-failed',
          error,
        }));
        break;
      case 'answer-pause':
        for (const waiter of this.#pauseWaiters.splice(0)) {
          if (action.error) waiter.reject(action.error);
          else waiter.resolve();
        }
        break;
      case 'recovery-started':
        this.#failedAt = performance.now();
        break;
      case 'schedule-resume':
        this.#after(action.atMs, { type: 'resume-due', attempt: action.attempt });
        break;
      case 'schedule-expiry':
        this.#after(action.atMs, { type: 'recovery-expired' });
        break;
      case 'attempt-resume':
        void this.#attemptResume(action.refuseDestination);
        break;
      case 'report-recovery':
        this.#emit('recovery', { ...action.event, elapsedMs: this.#elapsedMs() });
        break;
      case 'record':
        this.#record(action);
        break;
      case 'answer-force-complete':
        for (const waiter of this.#waiters.splice(0)) {
          if (action.result instanceof Error) waiter.reject(action.result);
          else waiter.resolve(action.result);
        }
        break;
    }
  }

  /** A libvirt call whose result is an event. */
  #call2(call: Promise<void>, ok: JobEvent, failed: (error: Error) => JobEvent): void {
    call.then(
      () => this.#dispatch(ok),
      (error: unknown) => this.#dispatch(failed(asError(error))),
    );
  }

  #prepare(): void {
    const run = async () => {
      await this.#subscribe();
      return prepareMigration(this.#domain, this.#options, this.#state.mode, (disk, error) =>
        this.#warn('size', `the size of disk ${disk} is unknown: it counts 2 GiB`, error),
      );
    };
    run().then(
      (prepared) => {
        if (this.#state.phase !== 'preparing') return;
        this.#plan = prepared.plan;
        this.#call = prepared.call;
        this.#dataGb = prepared.dataGb;
        this.#sourceLibvirt = prepared.libvirtVersion;
        this.#startedAt = performance.now() - prepared.elapsedMs;
        this.#emit('plan', prepared.plan);
        this.#dispatch({
          type: 'prepared',
          postCopy: prepared.plan.postCopy,
          monitor: prepared.monitor,
          source: prepared.source,
          recovery: resolveRecovery(this.#options.postCopyRecovery),
        });
      },
      (error: unknown) => this.#dispatch({ type: 'prepare-failed', error: asError(error) }),
    );
  }

  #callMigrate(): void {
    const call = this.#call;
    if (call === undefined) return;
    this.#startedAt = performance.now();
    this.#call2(
      this.#domain.migrateToURI3(call.destinationUri, call.params, call.flags),
      { type: 'migrate-returned' },
      (error) => ({
        type: 'migrate-failed',
        error: explainTlsFailure(error, call, this.#progress, this.#domain.name),
      }),
    );
  }

  /** libvirt's own events hand over the completed job's stats; the job works without them (by polling). */
  async #subscribe(): Promise<void> {
    let events: DomainEventStream | undefined;
    try {
      events = this.#domain.connection.events();
      this.#events = events;
      events.on('jobCompleted', (event) => {
        if (event.domainUuid !== this.domainUuid) return;
        this.#completedStats = event.stats;
        this.#completedArrived();
      });
      events.on('error', (error) => this.#warn('events', 'the event stream failed', error));
      await withDeadline(events.ready, EVENTS_READY_TIMEOUT_MS, 'the event stream did not start');
    } catch (error) {
      this.#warn('events', 'no event stream: the job polls only', error);
      this.#events = undefined;
      events?.close().catch(() => undefined);
    }
  }

  /** Polls libvirt every `pollIntervalMs` while the migration runs; a ref'd timer keeps the process alive. */
  async #monitor(): Promise<void> {
    if (this.#monitoring) return;
    this.#monitoring = true;
    try {
      await this.#poll();
    } finally {
      this.#monitoring = false;
    }
  }

  async #poll(): Promise<void> {
    const interval = this.#options.pollIntervalMs ?? DEFAULT_POLL_MS;
    while (this.#polling()) {
      await new Promise<void>((wake) => {
        this.#sleep = { timer: setTimeout(wake, interval), wake };
      });
      if (!this.#polling()) return;
      const [facts, stats] = await this.#readTick();
      if (!this.#polling()) return;
      this.#dispatch({ type: 'tick', ...facts });
      if (stats !== undefined) this.#report(stats);
    }
  }

  #polling(): boolean {
    const { phase } = this.#state;
    return phase !== 'ending' && phase !== 'resuming' && !this.#ended;
  }

  async #readTick(): Promise<[TickFacts, JobStats | undefined]> {
    const t = { timeoutMs: CALL_TIMEOUT_MS };
    const [stats, source] = await Promise.all([
      this.#domain.jobStats(t).catch((error: unknown) => asError(error)),
      readSourcePhase(this.#domain, t),
    ]);
    const elapsedSeconds = this.#elapsedMs() / 1000;
    if (stats instanceof Error) {
      // Item 5: one failed read is not the end; only libvirt saying the domain left is.
      return [{ elapsedSeconds, job: isNoDomain(stats) ? 'ended' : 'unknown', source }, undefined];
    }
    // libvirt's job exists from its setup on, but QEMU's migration starts later: until QEMU reports memory
    // (or disks) to copy, steering is refused ("Enable postcopy … before the start of migration").
    const running = stats.type === 'bounded' || stats.type === 'unbounded';
    if (running && stats.memoryTotal === 0 && !(stats.diskTotal ?? 0)) {
      return [{ elapsedSeconds, job: 'unknown', source }, undefined];
    }
    return [{ elapsedSeconds, job: running ? 'running' : 'ended', source }, running ? stats : undefined];
  }

  /** Item 18: once libvirt said the migration ended, read how with a short deadline, and go. */
  async #conclude(askDestination: boolean): Promise<void> {
    const returned = this.#state.end?.how === 'returned';
    const [stats, source, destination] = await Promise.all([
      this.#completedJobStats(),
      returned ? Promise.resolve(undefined) : readSourcePhase(this.#domain, { timeoutMs: CALL_TIMEOUT_MS }),
      askDestination && !returned ? this.#destination()?.phase(this.domainUuid) : undefined,
    ]);
    this.#dispatch({ type: 'concluded', source, stats, ...(destination ? { destination } : {}) });
  }

  #destination(): DestinationProbe | undefined {
    const uri = this.#call?.destinationUri;
    if (uri === undefined) return undefined;
    this.#probe ??= new DestinationProbe(this.#options.backend ?? koffiBackend(), uri, CALL_TIMEOUT_MS);
    return this.#probe;
  }

  /** An event `atMs` after the post-copy broke (at once when that is past); cleared when the job ends. */
  #after(atMs: number, event: JobEvent): void {
    const delay = Math.max(0, (this.#failedAt ?? performance.now()) + atMs - performance.now());
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#dispatch(event);
    }, delay);
    this.#timers.add(timer);
  }

  /**
   * One resume attempt: the destination's libvirt version first (never resume where its daemon crashes on
   * it), then the original call with `POSTCOPY_RESUME`. A failure reports the source's state with it.
   */
  async #attemptResume(refuseDestination?: (libvirtVersion: number) => boolean): Promise<void> {
    const call = this.#call;
    const probe = this.#destination();
    try {
      if (call === undefined || probe === undefined)
        throw new Error('the migration call is unknown: nothing to resume');
      const blocker = resumeBlocker({
        sourceLibvirt: this.#sourceLibvirt,
        destinationLibvirt: await probe.libVersion(),
        ...(refuseDestination ? { refuseDestination } : {}),
      });
      if (blocker !== undefined) {
        this.#dispatch({ type: 'resume-refused', reason: blocker });
        return;
      }
      await this.#domain.migrateToURI3(call.destinationUri, call.params, resumeFlags(call.flags));
      this.#dispatch({ type: 'resume-returned' });
    } catch (error) {
      const source = await readSourcePhase(this.#domain, { timeoutMs: CALL_TIMEOUT_MS });
      const sinceFailureMs = Math.round(performance.now() - (this.#failedAt ?? performance.now()));
      this.#dispatch({ type: 'resume-attempt-failed', error: asError(error), source, sinceFailureMs });
    }
  }

  async #completedJobStats(): Promise<JobStats | undefined> {
    if (this.#completedStats !== undefined) return this.#completedStats;
    const fromEvent = new Promise<JobStats | undefined>((resolve) => {
      this.#completedArrived = () => resolve(this.#completedStats);
    });
    const read = this.#domain
      .jobStats({ completed: true, timeoutMs: COMPLETED_STATS_TIMEOUT_MS })
      .catch(() => fromEvent);
    const stats = await withDeadline(Promise.race([read, fromEvent]), COMPLETED_STATS_TIMEOUT_MS, '').catch(
      () => undefined,
    );
    this.#completedArrived = () => undefined;
    return stats;
  }

  #finish(): void {
    this.#ended = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#probe?.close();
    this.#options.signal?.removeEventListener('abort', this.#onSignal);
    if (this.#sleep !== undefined) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.wake();
    }
    try {
      this.#context.release();
    } finally {
      // Closing may hang with the daemon: nothing waits for it (item 4).
      this.#closeEvents();
      this.#context.close?.().catch(() => undefined);
    }
  }

  #closeEvents(): void {
    this.#events?.close().catch(() => undefined);
    this.#events = undefined;
  }

  #outcomeOf(verdict: Verdict): MigrationOutcome {
    const recovery =
      verdict.recovery && this.#failedAt !== undefined
        ? { recovery: { ...verdict.recovery, durationMs: Math.round(performance.now() - this.#failedAt) } }
        : {};
    const { error, ...base } = {
      postCopyFailed: false,
      ...verdict,
      ...recovery,
      ...(this.#plan ? { plan: this.#plan } : {}),
      steering: [...this.#steering],
      warnings: [...this.#warnings],
    };
    // The outcome's type promises stats (possibly empty) on completion and an error otherwise.
    if (verdict.status === 'completed' && this.#plan !== undefined) {
      return {
        ...base,
        status: 'completed',
        plan: this.#plan,
        stats: verdict.stats ?? { type: 'completed', raw: {} },
      };
    }
    const status = verdict.status === 'completed' ? 'error' : verdict.status;
    const why =
      status === 'cancelled'
        ? 'the migration was cancelled before libvirt was asked to migrate'
        : `the migration ended (${status}) without an error from libvirt`;
    return { ...base, status, error: error ?? new Error(why) };
  }

  #report(stats: JobStats): void {
    const progress: MigrationProgress = {
      status: this.#state.status,
      mode: progressMode(this.#state),
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
        downtimeMs: this.#state.monitorState.downtimeMs,
      }),
      stats,
    };
    this.#progress = progress;
    this.#emit('progress', progress);
  }

  #record(action: Extract<JobAction, { type: 'record' }>): void {
    const event: SteeringEvent = {
      action: action.action,
      reason: action.reason,
      elapsedMs: this.#elapsedMs(),
      ...(action.error ? { error: action.error } : {}),
    };
    this.#steering.push(event);
    this.#emit('steering', event);
    if (action.error)
      this.#warn('steering', `${action.action} refused by libvirt (${action.reason})`, action.error);
  }

  #warn(source: JobWarning['source'], message: string, error: unknown): void {
    const warning: JobWarning = { source, message, error: asError(error), elapsedMs: this.#elapsedMs() };
    this.#warnings.push(warning);
    this.#emit('warning', warning);
  }

  /**
   * Item 8: every listener is called, and one that throws changes nothing: its error becomes a warning
   * (a throwing `warning` listener's error is kept in the outcome only, so nothing loops).
   */
  #emit<K extends keyof MigrationJobEvents>(name: K, ...args: MigrationJobEvents[K]): void {
    for (const listener of this.rawListeners(name as never) as ((...a: unknown[]) => unknown)[]) {
      try {
        listener.apply(this, args);
      } catch (error) {
        const message = `a '${name}' listener threw`;
        if (name === 'warning')
          this.#warnings.push({
            source: 'listener',
            message,
            error: asError(error),
            elapsedMs: this.#elapsedMs(),
          });
        else this.#warn('listener', message, error);
      }
    }
  }

  #elapsedMs(): number {
    return this.#startedAt === 0 ? 0 : Math.round(performance.now() - this.#startedAt);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function defined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
