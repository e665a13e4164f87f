/**
 * What the policy benchmarks share: a task registry that remembers each task's function and how many
 * decisions one call makes, and the table of wall-clock and CPU time per operation after tinybench's run.
 */
import type { Bench } from 'tinybench';

export interface PolicyRow {
  task: string;
  'ns/op (mean, wall)': number;
  'ops/s (1e9 / mean)': number;
  'ns/op (CPU time)': number;
}

export class PolicyTasks {
  private readonly fns = new Map<string, () => void>();
  private readonly per = new Map<string, number>();

  /** Adds `fn` to `bench`; `per` is how many operations (decisions, instances) one call of it makes. */
  add(bench: Bench, name: string, fn: () => void, per = 1): void {
    this.fns.set(name, fn);
    this.per.set(name, per);
    bench.add(name, fn);
  }

  /** One row per task: tinybench's mean, ops/s derived from it, and the CPU time of {@link cpuNsPerOp}. */
  rows(bench: Bench): PolicyRow[] {
    return bench.tasks.map((task) => {
      const result = task.result as { latency?: { mean: number } } | undefined;
      const per = this.per.get(task.name) ?? 1;
      const meanNs = ((result?.latency?.mean ?? Number.NaN) * 1e6) / per;
      return {
        task: task.name,
        'ns/op (mean, wall)': Math.round(meanNs),
        'ops/s (1e9 / mean)': Math.round(1e9 / meanNs),
        'ns/op (CPU time)': Math.round(cpuNsPerOp(this.fns.get(task.name) as () => void, per)),
      };
    });
  }
}

/**
 * CPU time per operation (user + system time of this process), the least of {@link WINDOWS} windows of about
 * 100 ms: on a machine shared with other work the wall-clock mean counts the time this process waited for a
 * core, and a window's CPU time the caches and cores other processes took from it; the best window is the
 * closest to the code's own cost. bench/nova_peer.py measures the same way.
 */
function cpuNsPerOp(fn: () => void, per: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let window = 0; window < WINDOWS; window++) {
    let iterations = 0;
    const start = process.cpuUsage();
    const wallStart = performance.now();
    while (performance.now() - wallStart < 100 || iterations < 100) {
      for (let i = 0; i < 100; i++) fn();
      iterations += 100;
    }
    const used = process.cpuUsage(start);
    best = Math.min(best, ((used.user + used.system) * 1000) / (iterations * per));
  }
  return best;
}

const WINDOWS = 20;
