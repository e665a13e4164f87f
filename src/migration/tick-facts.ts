import type { JobStats } from '../libvirt/types.js';
import type { TickStats } from './job-states.js';

/** What one tick's job stats say about libvirt's migration job. */
export interface TickFacts {
  /** `running` (bounded/unbounded, the copy under way), `ended` (no job, or the domain is gone), `unknown` (unreadable, or still in its setup). */
  job: 'running' | 'ended' | 'unknown';
  /** The stats worth a progress report: those of a running copy. */
  progress: JobStats | undefined;
}

/**
 * Classifies a tick's job stats. One failed read is not the end: only libvirt saying the domain left is.
 * libvirt's job exists from its setup on, but QEMU's migration starts later: until QEMU reports memory (or
 * disks) to copy, the job counts as unknown, since steering is refused then ("Enable postcopy … before the
 * start of migration").
 *
 * @example
 * ```ts
 * tickFacts({ type: 'unbounded', memoryTotal: 1000, raw: {} }).job; // 'running'
 * tickFacts({ type: 'unbounded', memoryTotal: 0, raw: {} }).job; // 'unknown': QEMU has not started copying
 * tickFacts({ unreadable: 'no-domain' }).job; // 'ended'
 * ```
 */
export function tickFacts(stats: TickStats): TickFacts {
  if ('unreadable' in stats) {
    return { job: stats.unreadable === 'no-domain' ? 'ended' : 'unknown', progress: undefined };
  }
  const running = stats.type === 'bounded' || stats.type === 'unbounded';
  if (!running) return { job: 'ended', progress: undefined };
  if (stats.memoryTotal === 0 && !(stats.diskTotal ?? 0)) return { job: 'unknown', progress: undefined };
  return { job: 'running', progress: stats };
}
