/** How a tick's job stats are read: a running copy, a job that ended, or nothing to tell yet. */
import { describe, expect, it } from 'vitest';
import { tickFacts } from '../../src/migration/tick-facts.js';

describe('tickFacts', () => {
  it('a bounded or unbounded job with memory (or disks) to copy runs, and is worth a progress report', () => {
    for (const type of ['bounded', 'unbounded'] as const) {
      const stats = { type, memoryTotal: 1000, raw: {} };
      expect(tickFacts(stats)).toEqual({ job: 'running', progress: stats });
    }
    const disksOnly = { type: 'unbounded' as const, memoryTotal: 0, diskTotal: 5, raw: {} };
    expect(tickFacts(disksOnly)).toEqual({ job: 'running', progress: disksOnly });
    // libvirt before its stats carry totals: running all the same.
    const bare = { type: 'unbounded' as const, raw: {} };
    expect(tickFacts(bare)).toEqual({ job: 'running', progress: bare });
  });

  it('a job still in its setup (nothing to copy reported yet) is unknown: QEMU refuses steering then', () => {
    expect(tickFacts({ type: 'unbounded', memoryTotal: 0, raw: {} })).toEqual({
      job: 'unknown',
      progress: undefined,
    });
    expect(tickFacts({ type: 'bounded', memoryTotal: 0, diskTotal: 0, raw: {} })).toEqual({
      job: 'unknown',
      progress: undefined,
    });
  });

  it('no job, a completed one, or no such domain is the end; any other failed read tells nothing', () => {
    for (const type of ['none', 'completed', 'failed', 'cancelled'] as const) {
      expect(tickFacts({ type, raw: {} })).toEqual({ job: 'ended', progress: undefined });
    }
    expect(tickFacts({ unreadable: 'no-domain' })).toEqual({ job: 'ended', progress: undefined });
    expect(tickFacts({ unreadable: 'error' })).toEqual({ job: 'unknown', progress: undefined });
  });
});
