/**
 * Turning `virDomainGetJobStats` typed parameters into {@link JobStats}.
 *
 * @module
 */
import type { TypedParam } from './typed-params.js';
import type { JobStats, JobType } from './types.js';

const JOB_TYPES: readonly JobType[] = ['none', 'bounded', 'unbounded', 'completed', 'failed', 'cancelled'];

/** JobStats key → libvirt field name (`VIR_DOMAIN_JOB_*` macros). */
const NUMERIC_FIELDS = {
  operation: 'operation',
  timeElapsed: 'time_elapsed',
  timeRemaining: 'time_remaining',
  downtime: 'downtime',
  setupTime: 'setup_time',
  dataTotal: 'data_total',
  dataProcessed: 'data_processed',
  dataRemaining: 'data_remaining',
  memoryTotal: 'memory_total',
  memoryProcessed: 'memory_processed',
  memoryRemaining: 'memory_remaining',
  memoryConstant: 'memory_constant',
  memoryNormal: 'memory_normal',
  memoryBps: 'memory_bps',
  memoryDirtyRate: 'memory_dirty_rate',
  memoryIteration: 'memory_iteration',
  memoryPostcopyRequests: 'memory_postcopy_requests',
  memoryPageSize: 'memory_page_size',
  autoConvergeThrottle: 'auto_converge_throttle',
  diskTotal: 'disk_total',
  diskProcessed: 'disk_processed',
  diskRemaining: 'disk_remaining',
} as const satisfies Partial<Record<keyof JobStats, string>>;

/**
 * Maps a `virDomainJobType` number and the decoded parameters to {@link JobStats}.
 *
 * @example
 * ```ts
 * decodeJobStats(2, [{ field: 'memory_iteration', type: 4, value: 3 }]).memoryIteration; // 3
 * ```
 */
export function decodeJobStats(type: number, params: readonly TypedParam[]): JobStats {
  const raw: Record<string, number | string | boolean> = {};
  for (const p of params) raw[p.field] = p.value;
  const stats: JobStats = { type: JOB_TYPES[type] ?? 'none', raw };
  for (const [key, field] of Object.entries(NUMERIC_FIELDS) as [keyof typeof NUMERIC_FIELDS, string][]) {
    const v = raw[field];
    if (typeof v === 'number') stats[key] = v;
  }
  if (typeof raw.errmsg === 'string') stats.errorMessage = raw.errmsg;
  return stats;
}
