/**
 * A strict reader of Prometheus' text exposition format (version 0.0.4, "Text format details" in
 * prometheus.io/docs/instrumenting/exposition_formats), for the tests: prom-client has no parser, and
 * parse-prometheus-text-format (the registry's) drops the labels and the _sum/_count of a labelled histogram
 * whose `le` comes first, as prom-client writes it. Anything the format does not allow throws, naming the line.
 */

export interface Sample {
  /** The sample's own name: `x_bucket`, `x_sum`, `x_count` for a histogram's. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parseExposition(text: string): Family[] {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the exposition must end with a line feed');
  lines.forEach((line, index) => {
    const at = `line ${index + 1} ${JSON.stringify(line)}`;
    if (line === '') return;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name = '', rest = ''] = meta;
      if (!NAME.test(name)) throw new Error(`${at}: bad metric name`);
      let family = families.get(name);
      if (family === undefined) {
        family = { name, help: '', type: 'untyped', samples: [] };
        families.set(name, family);
      } else if (family !== current) throw new Error(`${at}: ${name} appears twice, not grouped`);
      if (kind === 'TYPE') {
        if (family.samples.length > 0) throw new Error(`${at}: TYPE after samples`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          throw new Error(`${at}: bad type`);
        family.type = rest as Family['type'];
      } else family.help = rest;
      current = family;
      return;
    }
    if (line.startsWith('#')) return;
    const sample = parseSample(line, at);
    if (current === undefined) throw new Error(`${at}: sample before any TYPE`);
    const suffixes =
      current.type === 'histogram'
        ? ['_bucket', '_sum', '_count']
        : current.type === 'summary'
          ? ['', '_sum', '_count']
          : [''];
    if (!suffixes.some((s) => sample.name === current?.name + s))
      throw new Error(`${at}: not a sample of ${current.name}`);
    current.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return [...families.values()];
}

function parseSample(line: string, at: string): Sample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!head) throw new Error(`${at}: bad sample name`);
  const name = head[1] as string;
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    while (line[pos] !== '}') {
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(pos));
      if (!label || !LABEL.test(label[1] as string)) throw new Error(`${at}: bad label at ${pos}`);
      pos += label[0].length;
      let value = '';
      for (;;) {
        const c = line[pos];
        if (c === undefined) throw new Error(`${at}: unterminated label value`);
        pos++;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[pos++];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new Error(`${at}: bad escape \\${e}`);
        } else value += c;
      }
      if (Object.hasOwn(labels, label[1] as string)) throw new Error(`${at}: label ${label[1]} twice`);
      labels[label[1] as string] = value;
      if (line[pos] === ',') pos++;
      else if (line[pos] !== '}') throw new Error(`${at}: expected , or } at ${pos}`);
    }
    pos++;
  }
  const rest = /^ (\S+)(?: (-?\d+))?$/.exec(line.slice(pos));
  if (!rest) throw new Error(`${at}: bad value`);
  const text = rest[1] as string;
  const value =
    text === '+Inf' ? Number.POSITIVE_INFINITY : text === '-Inf' ? Number.NEGATIVE_INFINITY : Number(text);
  if (text !== 'NaN' && Number.isNaN(value)) throw new Error(`${at}: bad value ${text}`);
  return { name, labels, value };
}

/** Per label set: buckets by increasing `le`, cumulative, ending at +Inf equal to _count, and a _sum. */
function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      entry.buckets.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), s.value]);
    } else if (s.name.endsWith('_sum')) entry.sum = s.value;
    else entry.count = s.value;
  }
  for (const [key, { buckets, sum, count }] of series) {
    const where = `${family.name}${key}`;
    if (sum === undefined || count === undefined) throw new Error(`${where}: no _sum or _count`);
    for (let i = 1; i < buckets.length; i++) {
      const [le, n] = buckets[i] as [number, number];
      const [prevLe, prevN] = buckets[i - 1] as [number, number];
      if (!(le > prevLe)) throw new Error(`${where}: buckets not in increasing le`);
      if (n < prevN) throw new Error(`${where}: buckets not cumulative`);
    }
    const last = buckets.at(-1);
    if (last?.[0] !== Number.POSITIVE_INFINITY || last[1] !== count)
      throw new Error(`${where}: +Inf bucket is not _count`);
  }
}

/** One histogram series of a family: its count, sum and cumulative buckets by `le`. */
export function histogramOf(
  families: Family[],
  name: string,
  labels: Record<string, string>,
): { count: number; sum: number; buckets: Record<string, number> } | undefined {
  const family = families.find((f) => f.name === name);
  const matches = (s: Sample) => Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  const samples = family?.samples.filter(matches) ?? [];
  if (samples.length === 0) return undefined;
  const buckets: Record<string, number> = {};
  let count = Number.NaN;
  let sum = Number.NaN;
  for (const s of samples) {
    if (s.name.endsWith('_bucket')) buckets[s.labels.le as string] = s.value;
    else if (s.name.endsWith('_sum')) sum = s.value;
    else count = s.value;
  }
  return { count, sum, buckets };
}
