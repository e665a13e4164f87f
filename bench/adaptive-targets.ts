/**
 * The adaptive switchover's targets and the forecast's accuracy, from bench:lab's runs.
 * A point is one link speed; at the main point each mode ran several times and its median
 * counts. The bound of a run is the memory its first pass sent ÷ its link.
 */
import type { LabModeId } from './lab-modes.js';
import type { LabRun } from './lab-run.js';

const MiB = 1024 * 1024;
/** From this dirty rate ÷ link on, pre-copy is not expected to converge (the targets' "≥ 0.9"). */
const BUSY = 0.9;

const median = (values: number[]): number | null => {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
};

/** The runs of each point, by link. */
function points(runs: LabRun[]): Map<number, LabRun[]> {
  const by = new Map<number, LabRun[]>();
  for (const r of runs) by.set(r.linkMiBps, [...(by.get(r.linkMiBps) ?? []), r]);
  return by;
}

const of = (at: LabRun[], mode: LabModeId) => at.filter((r) => r.mode === mode);
const totalOf = (at: LabRun[], mode: LabModeId) => median(of(at, mode).map((r) => r.totalMs));
const round2 = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100);

/** One cell of the forecast's table: a mode at a point, forecast before and measured. */
export interface ForecastCell {
  mode: LabModeId;
  linkMiBps: number;
  dirtyPerLink: number;
  forecastConverges: boolean;
  forecastOutcome: string;
  forecastTotalMs: number | null;
  measuredOutcome: string;
  measuredTotalMs: number | null;
  runs: number;
  verdictRight: boolean;
  /** |forecast − measured median| ÷ measured median, for a cell that completed. */
  error: number | null;
}

export function forecastCells(runs: LabRun[], ratioOf: (r: LabRun) => number): ForecastCell[] {
  const cells: ForecastCell[] = [];
  for (const [link, at] of points(runs)) {
    for (const mode of [...new Set(at.map((r) => r.mode))]) {
      const mine = of(at, mode).filter((r) => r.forecast !== null);
      const f = mine[0]?.forecast;
      if (f === undefined || f === null) continue;
      const completed = mine.filter((r) => r.status === 'completed');
      const measured = median(completed.map((r) => r.totalMs));
      const forecastMedian = median(mine.map((r) => r.forecast?.totalMs ?? Number.NaN));
      const majorityCompleted = completed.length * 2 > mine.length;
      cells.push({
        mode,
        linkMiBps: link,
        dirtyPerLink: round2(median(mine.map(ratioOf))) ?? 0,
        forecastConverges: f.converges,
        forecastOutcome: f.outcome,
        forecastTotalMs: forecastMedian,
        measuredOutcome: [...new Set(mine.map((r) => r.status))].join(', '),
        measuredTotalMs: majorityCompleted ? measured : median(mine.map((r) => r.totalMs)),
        runs: mine.length,
        verdictRight: f.converges === majorityCompleted,
        error:
          majorityCompleted && measured !== null && forecastMedian !== null
            ? round2(Math.abs(forecastMedian - measured) / measured)
            : null,
      });
    }
  }
  return cells;
}

/** The adaptive switchover's targets, each with its figure and whether it was met (null: no run to judge it by). */
export function adaptiveTargets(runs: LabRun[], ratioOf: (r: LabRun) => number, mainLinkMiBps: number) {
  const byLink = points(runs);
  const busy = [...byLink].filter(([, at]) => (median(at.map(ratioOf)) ?? 0) >= BUSY);
  const calm = [...byLink].filter(([, at]) => (median(at.map(ratioOf)) ?? 0) < BUSY);

  const vsForce = busy.map(([link, at]) => ({
    linkMiBps: link,
    ratio: round2(
      ratioOrNull(totalOf(at, 'adaptive, post-copy allowed'), totalOf(at, 'post-copy, force-complete')),
    ),
  }));
  const main = byLink.get(mainLinkMiBps) ?? [];
  const vsTimeout = round2(
    ratioOrNull(totalOf(main, 'adaptive, post-copy allowed'), totalOf(main, 'post-copy, timeout')),
  );
  const aborts = busy.flatMap(([, at]) =>
    of(at, 'adaptive, both forbidden').map((r) => {
      const boundMs = r.firstPassBytes === null ? null : (r.firstPassBytes / (r.linkMiBps * MiB)) * 1000;
      return {
        linkMiBps: r.linkMiBps,
        status: r.status,
        abortedAtMs: r.steeredAtMs,
        boundMs: boundMs === null ? null : Math.round(boundMs),
        ofBound: round2(ratioOrNull(r.steeredAtMs, boundMs)),
      };
    }),
  );
  const falsePositives = calm.flatMap(([link, at]) => {
    const plain = of(at, 'pre-copy')[0];
    if (plain === undefined || plain.status !== 'completed') return [];
    return (['adaptive, post-copy allowed', 'adaptive, both forbidden'] as const).flatMap((mode) =>
      of(at, mode).map((r) => ({
        linkMiBps: link,
        mode,
        status: r.status,
        steered: r.steeredAtMs !== null,
        ofPreCopy: round2(r.totalMs / plain.totalMs),
      })),
    );
  });
  const cells = forecastCells(runs, ratioOf);
  const met = (values: (number | null)[], limit: number) =>
    values.length === 0 || values.some((v) => v === null)
      ? null
      : values.every((v) => (v as number) <= limit);
  return {
    postCopyVsForceComplete: {
      points: vsForce,
      met: met(
        vsForce.map((p) => p.ratio),
        1.1,
      ),
    },
    postCopyVsTimeout: { ratio: vsTimeout, met: vsTimeout === null ? null : vsTimeout <= 0.5 },
    abortWithin2xBound: {
      runs: aborts,
      met:
        aborts.length === 0
          ? null
          : aborts.every((a) => a.status === 'cancelled' && (a.ofBound ?? Infinity) <= 2),
    },
    noFalsePositive: {
      runs: falsePositives,
      met:
        falsePositives.length === 0
          ? null
          : falsePositives.every(
              (p) => p.status === 'completed' && !p.steered && (p.ofPreCopy ?? Infinity) <= 1.25,
            ),
    },
    forecastVerdicts: {
      right: cells.filter((c) => c.verdictRight).length,
      of: cells.length,
      met: cells.length === 0 ? null : cells.every((c) => c.verdictRight),
    },
    forecastWithin25Percent: {
      worst: cells.reduce<number | null>((w, c) => (c.error === null ? w : Math.max(w ?? 0, c.error)), null),
      met: cells.every((c) => c.error === null || c.error <= 0.25),
    },
  };
}

function ratioOrNull(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : a / b;
}
