/** Starts a migration of a fake domain for the observability tests, and feeds it realistic job stats. */
import type { MigrationJob } from '../../src/index.js';
import type { JobStats } from '../../src/libvirt/index.js';
import type { FakeDomain } from '../migration/fake-libvirt.js';
import { startJob } from '../migration/helpers.js';

export const GiB = 1024 ** 3;

/** A migration whose host permits post-copy and auto-converge: post-copy wins, force-complete switches. */
export function migratePostCopyHost(domain: FakeDomain): Promise<MigrationJob> {
  return startJob(domain, {}, {}, { permitPostCopy: true, permitAutoConverge: true });
}

/** A migration with the host's defaults: neither feature, force-complete pauses. */
export function migratePlain(domain: FakeDomain): Promise<MigrationJob> {
  return startJob(domain);
}

/** Pre-copy, third pass. */
export const PRECOPY: JobStats = {
  type: 'unbounded',
  operation: 5,
  dataTotal: 4 * GiB,
  dataProcessed: 3 * GiB,
  dataRemaining: GiB,
  memoryTotal: 4 * GiB,
  memoryProcessed: 3 * GiB,
  memoryRemaining: GiB,
  memoryIteration: 3,
  memoryBps: 100 * 1024 ** 2,
  memoryDirtyRate: 25_600,
  memoryPageSize: 4096,
  autoConvergeThrottle: 20,
  raw: {},
};
