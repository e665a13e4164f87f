import { EventEmitter } from 'node:events';
import type { LibvirtDomain } from '../libvirt/types.js';
import type { Forecast } from '../policy/forecast.js';
import type { MigrationPlan } from '../policy/plan.js';
import type { ForceCompleteAction, MigrationStatus } from '../policy/status.js';
import { asError, JobEffects } from './job-effects.js';
import {
  assertCanAbort,
  initialState,
  type JobAction,
  type JobEvent,
  type JobState,
  pauseRefusal,
  recoverRefusal,
  transition,
  type UnstampedEvent,
  type Verdict,
} from './job-machine.js';
import type { JobOptions } from './options.js';
import type { MigrationCall } from './params.js';
import type {
  JobWarning,
  MigrationOutcome,
  MigrationProgress,
  RecoveryEvent,
  SteeringEvent,
} from './types.js';

/**
 * What a {@link MigrationJob} needs from its caller: a looked-up domain, the resolved options, and a way to
 * let go of them.
 *
 * @internal
 */
export interface JobContext {
  domain: LibvirtDomain;
  options: JobOptions;
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
  /** With `switchover: 'adaptive'`: the convergence forecast at each iteration boundary of the pre-copy. */
  forecast: [forecast: Forecast];
}

/** A `forceComplete()` or `pausePostCopy()` promise, waiting for the machine to answer it. */
interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

/**
 * One live migration, started by {@link migrate}: its plan, its status, progress events, and the steering
 * calls. `outcome` resolves (never rejects) when it ends. Its lifecycle is the table in `job-machine.ts`;
 * this class stamps each event with the time, hands the table's libvirt calls to `job-effects.ts` and runs
 * its reports and answers. A listener that throws changes nothing: its error becomes a `warning`.
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

  /** Everything the job knows (job-states.ts): replaced, never changed, on each event. */
  #state: JobState;
  readonly #context: JobContext;
  readonly #effects: JobEffects;
  readonly #settle: (outcome: MigrationOutcome) => void;
  /** Events are handled one at a time, in order, even when a listener reacts by calling the job. */
  readonly #queue: JobEvent[] = [];
  /** The promises the state counts in `waiting`, oldest first. */
  readonly #waiters = { forceComplete: [] as Waiter<ForceCompleteAction>[], pause: [] as Waiter<void>[] };
  /** What was reported, for the getters and the outcome. */
  readonly #reports = {
    progress: undefined as MigrationProgress | undefined,
    steering: [] as SteeringEvent[],
    warnings: [] as JobWarning[],
  };

  /** @internal Use {@link migrate} or {@link attachMigration}. */
  constructor(context: JobContext) {
    super();
    this.#context = context;
    const { options } = context;
    this.#state = initialState({
      mode: context.mode ?? 'start',
      pollIntervalMs: options.pollIntervalMs,
      recovery: options.recovery,
      switchover: options.switchover,
    });
    this.domainUuid = context.domain.uuid;
    let settle: (outcome: MigrationOutcome) => void = () => undefined;
    this.outcome = new Promise((resolve) => {
      settle = resolve;
    });
    this.#settle = settle;
    this.#effects = new JobEffects(context.domain, options, {
      dispatch: (event) => this.#dispatch(event),
      warn: (source, message, error) => this.#warn(source, message, error),
    });
    options.signal?.addEventListener('abort', this.#onSignal, { once: true });
    // Deferred so that listeners attached right after `await migrate()` see every status change.
    setImmediate(() => {
      if (options.signal?.aborted) this.#abortFromSignal();
      this.#dispatch({ type: 'run' });
    });
  }

  /** Nova's migration status, as last observed. */
  get status(): MigrationStatus {
    return this.#state.status;
  }

  /** The plan sent to libvirt: flags and the reason for each decision. Undefined until computed. */
  get plan(): MigrationPlan | undefined {
    return this.#state.prepared?.plan;
  }

  /** The `virDomainMigrateToURI3` arguments sent, with notes on tuning that was not sent. */
  get call(): MigrationCall | undefined {
    return this.#state.prepared?.call;
  }

  /**
   * The GiB counted for the downtime steps and the completion timeout: `dataGb` when given, else Nova's
   * count from libvirt's answers. Undefined until prepared.
   */
  get dataGb(): number | undefined {
    return this.#state.prepared?.dataGb;
  }

  /** The latest progress report. */
  get progress(): MigrationProgress | undefined {
    return this.#reports.progress;
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
      this.#waiters.forceComplete.push({ resolve, reject });
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
    const refusal = pauseRefusal(this.#state);
    if (refusal) throw refusal;
    return new Promise((resolve, reject) => {
      this.#waiters.pause.push({ resolve, reject });
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
    const refusal = recoverRefusal(this.#state);
    if (refusal) throw refusal;
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

  // ---- Dispatch -----------------------------------------------------------------------------------------

  /** The one place the clock is read: events are stamped with it, and warnings. */
  #now(): number {
    return performance.now();
  }

  /** Stamps the event and handles it — after the ones before it, when one is being handled. */
  #dispatch(event: UnstampedEvent): void {
    const queue = this.#queue;
    queue.push({ ...event, atMs: this.#now() } as JobEvent);
    if (queue.length > 1) return;
    try {
      for (let next = queue[0]; next !== undefined; queue.shift(), next = queue[0]) this.#step(next);
    } finally {
      queue.length = 0;
    }
  }

  #step(event: JobEvent): void {
    const before = this.#state;
    const { state, actions } = transition(before, event);
    this.#state = state;
    if (state.prepared !== undefined && before.prepared === undefined)
      this.#emit('plan', state.prepared.plan);
    const end = actions.find((a): a is Extract<JobAction, { type: 'finish' }> => a.type === 'finish');
    if (end === undefined && state.status !== before.status) this.#emit('status', state.status);
    for (const action of actions) if (action.type !== 'finish') this.#run(action);
    if (end !== undefined) this.#finish(end.verdict, before.status);
  }

  #run(action: Exclude<JobAction, { type: 'finish' }>): void {
    switch (action.type) {
      case 'record':
        this.#record(action);
        break;
      case 'report-recovery':
        this.#emit('recovery', action.event);
        break;
      case 'report-forecast':
        this.#emit('forecast', action.forecast);
        break;
      case 'report-progress':
        this.#reports.progress = action.progress;
        this.#emit('progress', action.progress);
        break;
      case 'answer-force-complete':
        for (const waiter of this.#waiters.forceComplete.splice(0, action.count)) {
          if (action.result instanceof Error) waiter.reject(action.result);
          else waiter.resolve(action.result);
        }
        break;
      case 'answer-pause':
        for (const waiter of this.#waiters.pause.splice(0, action.count)) {
          if (action.error) waiter.reject(action.error);
          else waiter.resolve();
        }
        break;
      default:
        this.#effects.run(action);
    }
  }

  /** The slot is free before the terminal status is announced, so that a listener may start a retry. */
  #finish(verdict: Verdict, statusBefore: MigrationStatus): void {
    this.#context.options.signal?.removeEventListener('abort', this.#onSignal);
    try {
      this.#context.release();
    } finally {
      // Closing may hang with the daemon: nothing waits for it.
      this.#effects.close();
      this.#context.close?.().catch(() => undefined);
    }
    if (this.#state.status !== statusBefore) this.#emit('status', this.#state.status);
    this.#settle({
      ...verdict,
      steering: [...this.#reports.steering],
      warnings: [...this.#reports.warnings],
    });
  }

  // ---- Reports ------------------------------------------------------------------------------------------

  #record(action: Extract<JobAction, { type: 'record' }>): void {
    const { type: _, ...event } = action;
    this.#reports.steering.push(event);
    this.#emit('steering', event);
    if (action.error)
      this.#warn('steering', `${action.action} refused by libvirt (${action.reason})`, action.error);
  }

  #warn(source: JobWarning['source'], message: string, error: unknown): void {
    const warning: JobWarning = { source, message, error: asError(error), elapsedMs: this.#elapsedMs() };
    this.#reports.warnings.push(warning);
    this.#emit('warning', warning);
  }

  /**
   * Every listener is called, and one that throws changes nothing: its error becomes a warning (a throwing
   * `warning` listener's error is kept in the outcome only, so nothing loops).
   */
  #emit<K extends keyof MigrationJobEvents>(name: K, ...args: MigrationJobEvents[K]): void {
    for (const listener of this.rawListeners(name as never) as ((...a: unknown[]) => unknown)[]) {
      try {
        listener.apply(this, args);
      } catch (error) {
        const message = `a '${name}' listener threw`;
        if (name === 'warning')
          this.#reports.warnings.push({
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
    const { startedAtMs } = this.#state;
    return startedAtMs === undefined ? 0 : Math.round(this.#now() - startedAtMs);
  }
}
