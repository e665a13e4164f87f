/**
 * The vocabulary of the job's state machine (job-machine.ts): its phases, its state, the events it takes
 * and the actions it asks for.
 *
 * @module
 */

import type { JobStats } from '../libvirt/types.js';
import type { MonitorSettings, MonitorState } from '../policy/monitor.js';
import type { CopyPhase, GuestSplit, RecoveryOptions } from '../policy/recovery.js';
import type { ForceCompleteAction, MigrationStatus } from '../policy/status.js';
import type { SourcePhase } from './domain-state.js';
import type { GuestLocation, RecoveryEvent, RecoveryOutcome, SteeringAction } from './types.js';

/**
 * Where a job is. `starting`: the migrate call is made, libvirt's job not yet seen (libvirt refuses steering
 * until it exists). `pausing` / `switching`: a force-complete call is in flight. `ending`: libvirt said the
 * migration ended; the job reads how. `resuming`: undoing our own pause after a failure. `recovering`: the
 * post-copy broke (or was paused on request) and the job resumes it with `POSTCOPY_RESUME`;
 * `postcopy-failed`: it ended without recovering, the guest split between the hosts.
 */
export type Phase =
  | 'queued'
  | 'preparing'
  | 'starting'
  | 'pre-copy'
  | 'pausing'
  | 'paused'
  | 'switching'
  | 'post-copy'
  | 'ending'
  | 'resuming'
  | 'postcopy-failed'
  | 'recovering'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'error';

/** How the migration ended, as far as the job knows when it enters `ending`. */
export interface EndCause {
  /** `returned`: the migrate call succeeded; `failed`: it failed; `job-gone`: attach mode saw libvirt's job end; `error`: the job could not start. */
  how: 'returned' | 'failed' | 'job-gone' | 'error';
  error?: Error;
}

/** The outcome the shell reports once the job ends. */
export interface Verdict {
  status: 'completed' | 'failed' | 'cancelled' | 'error';
  guest: GuestLocation;
  error?: Error;
  stats?: JobStats;
  postCopyFailed?: boolean;
  recovery?: RecoveryOutcome;
  split?: GuestSplit;
}

/** The recovery of a broken post-copy, while the job is in (or has left) `recovering`. */
export interface RecoveryState {
  /** Attempts are made by themselves; otherwise only `recover()` starts one. */
  automatic: boolean;
  cause: 'failed' | 'paused';
  /** Attempts started so far. */
  attempts: number;
  /** When the last attempt was due, in ms after the failure. */
  lastAt: number;
  inFlight: boolean;
  /** The original migrate call has not returned yet (libvirt still finishes it): no attempt before it does. */
  callInFlight: boolean;
  /** `recover()` was called while an attempt could not start: it starts as soon as it can. */
  wanted: boolean;
  /** Why recovery stopped, once it did: the versions refuse it, the window or the attempts ran out. */
  over: 'refused' | 'window' | 'attempts' | undefined;
  refused: string | undefined;
  lastError: Error | undefined;
  recovered: boolean;
}

/** Everything the machine knows. Plain data: the shell keeps the current value and replaces it on each event. */
export interface JobState {
  phase: Phase;
  status: MigrationStatus;
  mode: 'start' | 'attach';
  /** `wanted`: requested, not yet sent (libvirt's job not running yet, or libvirt refused it: retried per tick). */
  abort: 'none' | 'wanted' | 'sending' | 'sent';
  abortReason: string;
  /** A force-complete waiting for libvirt's job to exist. */
  forceComplete: { reason: string } | undefined;
  /** Post-copy is effective for this migration (from the plan). */
  postCopy: boolean;
  /** The guest was paused by someone else (seen before the migration or on a tick): never ours to undo. */
  pausedByOthers: boolean;
  monitor: MonitorSettings | undefined;
  monitorState: MonitorState;
  /** The downtime being set right now, so a slow call is not repeated by the next tick. */
  downtimeInFlight: number | undefined;
  /** Set on entering `ending`. */
  end: (EndCause & { pausedByUs: boolean }) | undefined;
  /** Set on entering `resuming`: the outcome to report once the guest is resumed. */
  verdict: Verdict | undefined;
  /** The guest has run on the destination: libvirt switched to post-copy. */
  postCopyStarted: boolean;
  /** A deliberate post-copy pause (`abortJob` with the post-copy flag). */
  pausePostCopy: 'none' | 'sending' | 'sent';
  /** From the `postCopyRecovery` option, set when prepared. */
  recoveryOptions: RecoveryOptions | undefined;
  recovery: RecoveryState | undefined;
}

/** Libvirt's view of the migration on one monitor tick. */
export interface TickFacts {
  elapsedSeconds: number;
  /** libvirt's current job: `running` (bounded/unbounded), `ended` (none, or the domain is gone), `unknown` (unreadable). */
  job: 'running' | 'ended' | 'unknown';
  /** The source domain's phase; `undefined` when its state could not be read. */
  source: SourcePhase | undefined;
}

/** What happened: requests from the caller, and results of the actions the shell ran. */
export type JobEvent =
  | { type: 'run' }
  | { type: 'abort'; reason: string }
  | { type: 'force-complete'; reason: string }
  | {
      type: 'prepared';
      postCopy: boolean;
      monitor: MonitorSettings;
      source: SourcePhase | undefined;
      recovery: RecoveryOptions;
    }
  | { type: 'prepare-failed'; error: Error }
  | ({ type: 'tick' } & TickFacts)
  | { type: 'migrate-returned' }
  | { type: 'migrate-failed'; error: Error }
  | { type: 'abort-accepted' }
  | { type: 'abort-refused'; error: Error }
  | { type: 'switched' }
  | { type: 'switch-failed'; error: Error }
  | { type: 'suspended' }
  | { type: 'suspend-failed'; error: Error }
  | { type: 'downtime-set'; downtimeMs: number }
  | { type: 'downtime-failed'; downtimeMs: number; error: Error }
  | {
      type: 'concluded';
      source: SourcePhase | undefined;
      stats: JobStats | undefined;
      destination?: CopyPhase;
    }
  | { type: 'resumed' }
  | { type: 'resume-failed'; error: Error }
  | { type: 'pause-post-copy' }
  | { type: 'postcopy-paused' }
  | { type: 'postcopy-pause-failed'; error: Error }
  | { type: 'recover' }
  | { type: 'resume-due'; attempt: number }
  | { type: 'recovery-expired' }
  | { type: 'resume-refused'; reason: string }
  | { type: 'resume-returned' }
  | { type: 'resume-attempt-failed'; error: Error; source: SourcePhase | undefined; sinceFailureMs: number };

/** What the shell must do. Actions that call libvirt answer with the events named beside them. */
export type JobAction =
  /** Subscribe to events, read providers, state, versions, size (attach: and libvirt's job) → prepared | prepare-failed. */
  | { type: 'prepare' }
  /** `virDomainMigrateToURI3` → migrate-returned | migrate-failed. */
  | { type: 'call-migrate' }
  /** Poll job stats and state every `pollIntervalMs` → tick. */
  | { type: 'start-monitor' }
  /** `virDomainAbortJob` → abort-accepted | abort-refused. */
  | { type: 'abort-job' }
  /** `virDomainMigrateStartPostCopy` → switched | switch-failed. */
  | { type: 'start-post-copy' }
  /** `virDomainSuspend` → suspended | suspend-failed. */
  | { type: 'suspend' }
  /** `virDomainResume` → resumed | resume-failed. */
  | { type: 'resume' }
  /** `virDomainMigrateSetMaxDowntime` → downtime-set | downtime-failed. */
  | { type: 'set-downtime'; downtimeMs: number }
  /** Read the completed job's stats (short deadline), the source's state (and the destination's) → concluded. */
  | { type: 'conclude'; destination: boolean }
  /** `virDomainAbortJobFlags(POSTCOPY)` → postcopy-paused | postcopy-pause-failed. */
  | { type: 'pause-post-copy' }
  /** Settle every pending `pausePostCopy()`. */
  | { type: 'answer-pause'; error?: Error }
  /** The post-copy broke: the recovery clock starts now (ms in the actions below count from here). */
  | { type: 'recovery-started' }
  /** A `resume-due` for attempt `attempt` at `atMs` after the failure (at once if past). */
  | { type: 'schedule-resume'; attempt: number; atMs: number }
  /** A `recovery-expired` at `atMs` after the failure. */
  | { type: 'schedule-expiry'; atMs: number }
  /** Ask the destination's libvirt version, then `virDomainMigrateToURI3` with `POSTCOPY_RESUME` → resume-refused | resume-returned | resume-attempt-failed. */
  | { type: 'attempt-resume'; refuseDestination?: (libvirtVersion: number) => boolean }
  /** Emit a `recovery` event. */
  | { type: 'report-recovery'; event: Omit<RecoveryEvent, 'elapsedMs'> }
  /** Something libvirt accepted, for `outcome.steering`; with `error`, something it refused (also a warning). */
  | { type: 'record'; action: SteeringAction; reason: string; error?: Error }
  /** Settle every pending `forceComplete()`. */
  | { type: 'answer-force-complete'; result: ForceCompleteAction | Error }
  /** The job is over: free the slot, report the outcome. */
  | { type: 'finish'; verdict: Verdict };

/** The next state and the actions to run, in order. */
export interface Transition {
  state: JobState;
  actions: JobAction[];
}
