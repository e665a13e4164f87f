/**
 * The job's effects: each action the machine asks for, run against libvirt, its result fed back as an
 * event. An effect reads only its action's payload and the job's resolved options — never the job's state
 * — and holds only libvirt-side handles: the event stream, the connection to the destination, the timers.
 *
 * @module
 */
import type { DomainEventStream, JobStats, LibvirtDomain } from '../libvirt/types.js';
import { resumeBlocker, resumeFlags } from '../policy/recovery.js';
import { DestinationProbe } from './destination.js';
import { isNoDomain, readSourcePhase } from './domain-state.js';
import type { EffectAction, TimerName, UnstampedEvent } from './job-states.js';
import type { JobOptions } from './options.js';
import { prepareMigration } from './prepare.js';
import type { JobWarning } from './types.js';

/** How long the event stream may take to start before the job goes on without it (polling suffices). */
const EVENTS_READY_TIMEOUT_MS = 5000;
/**
 * How long the completed job's stats may take once libvirt said the migration ended: the outcome must not
 * wait for an event that may never come (the migrate call's return is the news).
 */
const COMPLETED_STATS_TIMEOUT_MS = 100;
/** Deadline of the state reads and steering calls the job makes. */
export const CALL_TIMEOUT_MS = 10_000;

/** Where the effects send what they learn. */
export interface EffectSink {
  dispatch(event: UnstampedEvent): void;
  warn(source: JobWarning['source'], message: string, error: unknown): void;
}

/**
 * Runs the machine's effect actions for one job.
 *
 * @example
 * ```ts
 * const effects = new JobEffects(domain, resolveOptions(options), { dispatch, warn });
 * effects.run({ type: 'abort-job' }); // later: dispatch({ type: 'abort-accepted' }) or abort-refused
 * effects.close(); // at the end: timers, the destination's connection, the event stream
 * ```
 */
export class JobEffects {
  readonly #domain: LibvirtDomain;
  readonly #options: JobOptions;
  readonly #sink: EffectSink;
  readonly #timers = new Map<TimerName, NodeJS.Timeout>();
  #events: DomainEventStream | undefined;
  /** libvirt's own events hand over the completed job's stats; the job works without them (by polling). */
  #completedStats: JobStats | undefined;
  #completedArrived: () => void = () => undefined;
  #probe: DestinationProbe | undefined;

  constructor(domain: LibvirtDomain, options: JobOptions, sink: EffectSink) {
    this.#domain = domain;
    this.#options = options;
    this.#sink = sink;
  }

  run(action: EffectAction): void {
    const d = this.#domain;
    const t = { timeoutMs: CALL_TIMEOUT_MS };
    switch (action.type) {
      case 'prepare':
        this.#prepare(action.mode);
        break;
      case 'call-migrate': {
        const { destinationUri, params, flags } = action.call;
        this.#answer(
          d.migrateToURI3(destinationUri, params, flags),
          { type: 'migrate-returned' },
          (error) => ({
            type: 'migrate-failed',
            error,
          }),
        );
        break;
      }
      case 'read-tick':
        void this.#readTick();
        break;
      case 'abort-job':
        this.#answer(d.abortJob(t), { type: 'abort-accepted' }, (error) => ({
          type: 'abort-refused',
          error,
        }));
        break;
      case 'force-complete':
        if (action.how === 'pause')
          this.#answer(d.suspend(t), { type: 'suspended' }, (error) => ({ type: 'suspend-failed', error }));
        else
          this.#answer(d.startPostCopy(t), { type: 'switched' }, (error) => ({
            type: 'switch-failed',
            error,
          }));
        break;
      case 'resume':
        this.#answer(d.resume(t), { type: 'resumed' }, (error) => ({ type: 'resume-failed', error }));
        break;
      case 'set-downtime': {
        const { downtimeMs } = action;
        this.#answer(d.setMaxDowntime(downtimeMs, t), { type: 'downtime-set', downtimeMs }, (error) => ({
          type: 'downtime-failed',
          downtimeMs,
          error,
        }));
        break;
      }
      case 'conclude':
        void this.#conclude(action.readSource, action.askDestination);
        break;
      case 'pause-post-copy':
        this.#answer(d.abortJob({ postcopy: true, ...t }), { type: 'postcopy-paused' }, (error) => ({
          type: 'postcopy-pause-failed',
          error,
        }));
        break;
      case 'attempt-resume':
        void this.#attemptResume(action);
        break;
      case 'end-attempt':
        // libvirt 9.0, qemu_driver.c qemuDomainAbortJobFlags → qemuDomainAbortJobPostcopy: on the source's
        // outgoing job in post-copy (a failed one counts, virDomainObjIsFailedPostcopy) it flags the async job
        // aborted and sends QMP migrate-pause. QEMU takes that only in postcopy-active or postcopy-recover: a
        // resume stuck in QEMU's recovery handshake is kicked back to postcopy-paused and its call fails; one
        // stuck before (libvirt waiting on the destination's prepare, a remote call with no deadline) is not
        // woken, and the refusal is only a warning. Either way the job no longer waits for it.
        d.abortJob({ postcopy: true, ...t }).catch((error: unknown) =>
          this.#sink.warn(
            'steering',
            'ending the stalled resume attempt: libvirt refused the post-copy pause',
            error,
          ),
        );
        break;
      case 'schedule':
        this.#schedule(action.timer, action.inMs, action.event);
        break;
    }
  }

  /** The end: no timer fires any more; the connections close in the background (a hung daemon must not hold the job). */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#probe?.close();
    this.#events?.close().catch(() => undefined);
    this.#events = undefined;
  }

  /** A libvirt call whose settling is an event. */
  #answer(call: Promise<void>, ok: UnstampedEvent, failed: (error: Error) => UnstampedEvent): void {
    call.then(
      () => this.#sink.dispatch(ok),
      (error: unknown) => this.#sink.dispatch(failed(asError(error))),
    );
  }

  #prepare(mode: 'start' | 'attach'): void {
    const run = async () => {
      await this.#subscribe();
      return prepareMigration(this.#domain, this.#options, mode, (disk, error) =>
        this.#sink.warn('size', `the size of disk ${disk} is unknown: it counts 2 GiB`, error),
      );
    };
    run().then(
      (prepared) => this.#sink.dispatch({ type: 'prepared', ...prepared }),
      (error: unknown) => this.#sink.dispatch({ type: 'prepare-failed', error: asError(error) }),
    );
  }

  async #subscribe(): Promise<void> {
    let events: DomainEventStream | undefined;
    try {
      events = this.#domain.connection.events();
      this.#events = events;
      events.on('jobCompleted', (event) => {
        if (event.domainUuid !== this.#domain.uuid) return;
        this.#completedStats = event.stats;
        this.#completedArrived();
      });
      events.on('error', (error) => this.#sink.warn('events', 'the event stream failed', error));
      await withDeadline(events.ready, EVENTS_READY_TIMEOUT_MS, 'the event stream did not start');
    } catch (error) {
      this.#sink.warn('events', 'no event stream: the job polls only', error);
      this.#events = undefined;
      events?.close().catch(() => undefined);
    }
  }

  async #readTick(): Promise<void> {
    const t = { timeoutMs: CALL_TIMEOUT_MS };
    const [stats, source] = await Promise.all([
      this.#domain.jobStats(t).catch((error: unknown) => asError(error)),
      readSourcePhase(this.#domain, t),
    ]);
    this.#sink.dispatch({
      type: 'tick',
      stats: stats instanceof Error ? { unreadable: isNoDomain(stats) ? 'no-domain' : 'error' } : stats,
      source,
    });
  }

  /** Once libvirt said the migration ended, read how with a short deadline, and go. */
  async #conclude(readSource: boolean, askDestination: string | undefined): Promise<void> {
    const [stats, source, destination] = await Promise.all([
      this.#completedJobStats(),
      readSource ? readSourcePhase(this.#domain, { timeoutMs: CALL_TIMEOUT_MS }) : undefined,
      askDestination === undefined ? undefined : this.#destination(askDestination).phase(this.#domain.uuid),
    ]);
    this.#sink.dispatch({ type: 'concluded', source, stats, ...(destination ? { destination } : {}) });
  }

  /** The job's own connection to the destination, opened when a post-copy first needs it. */
  #destination(uri: string): DestinationProbe {
    this.#probe ??= new DestinationProbe(this.#options.backend, uri, CALL_TIMEOUT_MS);
    return this.#probe;
  }

  /**
   * One resume attempt: the destination's libvirt version first (never resume where its daemon crashes on
   * it), then the original call with `POSTCOPY_RESUME`. A failure reports the source's state with it.
   */
  async #attemptResume(action: Extract<EffectAction, { type: 'attempt-resume' }>): Promise<void> {
    const { attempt, call, sourceLibvirt, refuseDestination } = action;
    try {
      const blocker = resumeBlocker({
        sourceLibvirt,
        destinationLibvirt: await this.#destination(call.destinationUri).libVersion(),
        ...(refuseDestination ? { refuseDestination } : {}),
      });
      if (blocker !== undefined) {
        this.#sink.dispatch({ type: 'resume-refused', reason: blocker, attempt });
        return;
      }
      await this.#domain.migrateToURI3(call.destinationUri, call.params, resumeFlags(call.flags));
      this.#sink.dispatch({ type: 'resume-returned', attempt });
    } catch (error) {
      const source = await readSourcePhase(this.#domain, { timeoutMs: CALL_TIMEOUT_MS });
      this.#sink.dispatch({ type: 'resume-attempt-failed', error: asError(error), source, attempt });
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

  /** A ref'd timer: the process stays alive until the job is over. */
  #schedule(name: TimerName, inMs: number, event: UnstampedEvent): void {
    clearTimeout(this.#timers.get(name));
    const timer = setTimeout(() => {
      this.#timers.delete(name);
      this.#sink.dispatch(event);
    }, inMs);
    this.#timers.set(name, timer);
  }
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
