/** Builders for the job's state machine, without libvirt or timers: settings, events, runs of events. */
import {
  initialState,
  type JobEvent,
  type JobState,
  transition,
  type UnstampedEvent,
} from '../../src/migration/job-machine.js';
import type { JobSettings, TickStats } from '../../src/migration/job-states.js';
import { buildMigrationCall } from '../../src/migration/params.js';
import { type MonitorSettings, monitorSettings } from '../../src/policy/monitor.js';
import { planMigration } from '../../src/policy/plan.js';
import { DEFAULT_RECOVERY, type RecoveryOptions } from '../../src/policy/recovery.js';

export const DESTINATION_URI = 'qemu+tcp://dest/system';
/** The completion timeout after 10 s, for 1 GiB. */
export const MONITOR = monitorSettings(planMigration({ host: { completionTimeout: 10 } }), 1);

export function settings(
  mode: 'start' | 'attach' = 'start',
  recovery: RecoveryOptions = DEFAULT_RECOVERY,
): JobSettings {
  return { mode, pollIntervalMs: 1000, recovery, switchover: 'fixed' };
}

export function started(recovery?: RecoveryOptions): JobState {
  return initialState(settings('start', recovery));
}

export function attached(recovery?: RecoveryOptions): JobState {
  return initialState(settings('attach', recovery));
}

/** An event at `atMs` (0 unless given). */
export function at<E extends UnstampedEvent>(event: E, atMs = 0): E & { atMs: number } {
  return { ...event, atMs };
}

/** What the preparation found: a plan with post-copy on or off, the guest in `source`, libvirt 9.0. */
export function prepared(
  postCopy = false,
  source: 'running' | 'paused' | 'post-copy' | 'post-copy-failed' = 'running',
  monitor: MonitorSettings = MONITOR,
): UnstampedEvent {
  const plan = { ...planMigration(), postCopy };
  return {
    type: 'prepared',
    plan,
    call: buildMigrationCall(plan, { uri: DESTINATION_URI }),
    dataGb: 1,
    monitor,
    sourceLibvirt: 9_000_000,
    source,
    elapsedMs: 0,
  };
}

/** libvirt's job stats as a tick reads them: a running copy, no job, or unreadable. */
export function statsOf(job: 'running' | 'ended' | 'unknown'): TickStats {
  if (job === 'running') return { type: 'unbounded', operation: 5, memoryTotal: 1000, raw: {} };
  if (job === 'ended') return { type: 'none', raw: {} };
  return { unreadable: 'error' };
}

/** A tick `elapsedSeconds` after the migration started (it starts at 0 in these runs). */
export function tick(
  elapsedSeconds: number,
  job: 'running' | 'ended' | 'unknown' = 'running',
  source?: 'running' | 'paused' | 'post-copy' | 'post-copy-failed' | 'gone',
): JobEvent {
  return at({ type: 'tick', stats: statsOf(job), source }, elapsedSeconds * 1000);
}

/** Runs events in order (unstamped ones at 0): the last state and every action. */
export function run(state: JobState, ...events: (UnstampedEvent | JobEvent)[]) {
  let current = state;
  const actions = [];
  for (const event of events) {
    const next = transition(current, 'atMs' in event ? event : at(event));
    current = next.state;
    actions.push(...next.actions);
  }
  return { state: current, actions };
}

export function types(actions: { type: string }[]): string[] {
  return actions.map((a) => a.type);
}
