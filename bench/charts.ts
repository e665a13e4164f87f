/**
 * The benchmarks' charts as Vega-Lite specifications, rendered to SVG in Node by `vega` (no browser, no
 * hand-drawn SVG). Each takes the data the results JSON carries.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return `${svg}\n`;
}

const base = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  background: 'white',
  config: { font: 'sans-serif', view: { stroke: null }, legend: { labelLimit: 320 } },
} as const;

type Row = Record<string, string | number | null>;

/** Facet rows titled above each panel, not beside it, so long mode names do not collide with the axis. */
const ROW_HEADER = {
  labelAngle: 0,
  labelOrient: 'top',
  labelAnchor: 'start',
  labelFontWeight: 'bold',
  labelFontSize: 12,
} as const;

/** A log scale that starts and ends at the data, with room for the points at its edges. */
const LOG_SCALE = { type: 'log', nice: false, padding: 12 } as const;

/** A quantitative axis on {@link LOG_SCALE}. */
const logAxis = (field: string, title: string) => ({
  field,
  type: 'quantitative' as const,
  title,
  scale: LOG_SCALE,
});

/** Seconds since migrate() on the x axis of the timelines. */
const TIME_AXIS = { field: 't', type: 'quantitative', title: 'seconds since migrate()' } as const;

/** One panel per mode, stacked, each `panel` drawn over that mode's rows. */
function perModePanels(text: string, subtitle: string, rows: Row[], panel: PanelSpec): TopLevelSpec {
  return {
    ...base,
    title: { text, subtitle },
    data: { values: rows },
    facet: { row: { field: 'mode', type: 'nominal', title: null, header: ROW_HEADER } },
    spec: { width: 560, height: 70, ...panel },
  };
}

/** What one panel of a faceted chart draws. */
type PanelSpec = Extract<TopLevelSpec, { facet: unknown }>['spec'];

/** Memory left to copy over time, one panel per mode. */
export function memoryRemainingChart(rows: Row[], subtitle: string): TopLevelSpec {
  return perModePanels('Memory left to copy', subtitle, rows, {
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: TIME_AXIS,
      y: { field: 'remainingMiB', type: 'quantitative', title: 'MiB left' },
      color: { field: 'mode', type: 'nominal', legend: null },
    },
  });
}

/** The guest's work rate as a share of its rate before the migration, one panel per mode. */
export function guestRateChart(rows: Row[], subtitle: string): TopLevelSpec {
  return perModePanels("The guest's own work rate during its migration", subtitle, rows, {
    layer: [
      {
        mark: { type: 'line', interpolate: 'step-before', point: { size: 12 } },
        encoding: {
          x: TIME_AXIS,
          y: { field: 'percent', type: 'quantitative', title: '% of before', scale: { domain: [0, 120] } },
          color: { field: 'mode', type: 'nominal', legend: null },
        },
      },
      {
        mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
        encoding: { x: { field: 'end', type: 'quantitative' } },
      },
    ],
  });
}

/** The decision map: total time and the guest's slowdown against dirty rate ÷ link bandwidth, per mode. */
export function decisionMapChart(rows: Row[], subtitle: string): TopLevelSpec {
  const panel = (field: string, title: string, log: boolean) => ({
    width: 300,
    height: 240,
    layer: [
      { mark: { type: 'line' as const } },
      {
        mark: { type: 'point' as const, filled: true, size: 70 },
        encoding: { shape: { field: 'outcome', type: 'nominal' as const, title: 'outcome' } },
      },
    ],
    encoding: {
      x: logAxis('dirtyPerLink', 'guest dirty rate ÷ link bandwidth'),
      y: log
        ? logAxis(field, title)
        : { field, type: 'quantitative' as const, title, scale: { domain: [0, 110] } },
      color: { field: 'mode', type: 'nominal' as const, title: 'mode' },
    },
  });
  return {
    ...base,
    title: { text: 'Which mode, for which guest: total time and what the guest pays', subtitle },
    data: { values: rows },
    hconcat: [
      panel('totalS', 'total time (s, log)', true),
      panel('duringPercent', 'guest work rate during (% of before)', false),
    ],
  };
}

/** Event-loop delay and file-read latency of one agent process, with the library and with the naive bindings. */
export function loopDelayChart(rows: Row[], subtitle: string): TopLevelSpec {
  return {
    ...base,
    title: { text: 'An agent steering 8 migrations: event-loop delay and a file read', subtitle },
    width: 420,
    height: 220,
    data: { values: rows },
    mark: { type: 'point', filled: true, size: 90 },
    encoding: {
      y: { field: 'case', type: 'nominal', title: null, sort: null, axis: { labelLimit: 320 } },
      x: { field: 'ms', type: 'quantitative', title: 'ms (log scale)', scale: { type: 'log' } },
      shape: { field: 'figure', type: 'nominal', title: null },
      color: { field: 'figure', type: 'nominal', title: null },
    },
  };
}

/** The forecast made before each migration against the total time measured, one point per mode and link. */
export function forecastChart(rows: Row[], subtitle: string): TopLevelSpec {
  return {
    ...base,
    title: { text: 'Forecast before the migration against the measured total time', subtitle },
    width: 420,
    height: 320,
    data: { values: rows },
    layer: [
      {
        mark: { type: 'line', strokeDash: [4, 4], color: 'gray' },
        encoding: {
          x: logAxis('diagonal', 'measured total (s, log)'),
          y: logAxis('diagonal', 'forecast total (s, log)'),
        },
      },
      {
        mark: { type: 'point', filled: true, size: 80 },
        encoding: {
          x: logAxis('measuredS', 'measured total (s, log)'),
          y: logAxis('forecastS', 'forecast total (s, log)'),
          color: { field: 'mode', type: 'nominal', title: 'mode' },
          shape: { field: 'dirtyPerLink', type: 'nominal', title: 'dirty rate ÷ link' },
        },
      },
    ],
  };
}
