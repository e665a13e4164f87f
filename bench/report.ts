/**
 * Regenerates docs/performance.md's tables and docs/img's charts from bench/results/*.json — the numbers in
 * the docs are the ones the benchmarks wrote. `npm run bench:report` runs it alone; bench:lab, bench:agent and
 * `npm run bench` (policy and wrapper) run it after writing their results. A result file not there yet leaves its section as it is.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decisionMapChart,
  forecastChart,
  guestRateChart,
  loopDelayChart,
  memoryRemainingChart,
  renderSvg,
} from './charts.js';
import { formatRange, RESULTS_DIR, seconds } from './record.js';

const ROOT = join(import.meta.dirname, '..');
const IMG = join(ROOT, 'docs', 'img');
const DOC = join(ROOT, 'docs', 'performance.md');

// biome-ignore lint/suspicious/noExplicitAny: the results' shape is the writers' (bench/*.bench.ts)
type Json = any;

const read = (file: string): Json | undefined =>
  existsSync(join(RESULTS_DIR, file)) ? JSON.parse(readFileSync(join(RESULTS_DIR, file), 'utf8')) : undefined;
const pct = (n: number) => `${Math.round(n * 100)} %`;
const whole = (n: number) => String(Math.round(n));
/** Seconds of the guest's own work a migration cost it: its time at a reduced rate, as time at full rate. */
const lost = (totalMs: number, duringRatio: number) =>
  ((Math.max(0, 1 - duringRatio) * totalMs) / 1000).toFixed(1); // a rate above before's is noise, not a gain
const machineLine = (r: Json) =>
  `${r.stack.label}; ${r.machine.cores} cores (${r.machine.model}), ${r.machine.memoryGiB} GiB; ${r.date.slice(0, 10)}`;

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function labSection(r: Json): string {
  const rows = r.modes.map((m: Json) => [
    m.mode,
    formatRange(m.totalMs, seconds),
    m.downtimeMs ? formatRange(m.downtimeMs, whole) : '—',
    formatRange(m.iterations, whole),
    m.maxThrottle?.median ? `${m.maxThrottle.median} %` : '—',
    m.postCopyRequests?.median ? whole(m.postCopyRequests.median) : '—',
    formatRange(m.bytes, (n) => whole(n / 2 ** 20)),
    formatRange(m.guestRate.duringRatio, pct),
    formatRange(m.guestRate.afterRatio, pct),
    lost(m.totalMs.median, m.guestRate.duringRatio.median),
    [...new Set(m.outcomes as string[])].join(', '),
  ]);
  const t = r.targets;
  return [
    `${machineLine(r)}. Guest: ${r.guest.memoryMiB} MiB RAM, ${r.guest.bufferMiB} MiB rewritten at ${r.guest.dirtyMiBps} MiB/s before the migrations; link ${r.link.MiBps} MiB/s (${r.link.shaping}); medians of ${r.runs} runs per mode (min–max). The guest's work is its own pages/s as a share of its rate before the migration; work lost is (1 − the median share during) × the median total time, in seconds at full rate.`,
    '',
    table(
      [
        'mode',
        'total s',
        'downtime ms',
        'passes',
        'peak throttle',
        'post-copy requests',
        'MiB sent',
        'guest work during',
        'guest work after',
        'guest work lost s',
        'outcome',
      ],
      rows,
    ),
    '',
    `Physical bound (memory the guest touches, measured as the first pass's bytes, ÷ the link): **${seconds(r.boundMs)} s**.`,
    '',
    '| target | figure | met |',
    '| --- | --- | --- |',
    `| post-copy (force-complete after the first pass) within 2× the bound | ${seconds(r.modes.find((m: Json) => m.mode === 'post-copy, force-complete')?.totalMs?.median)} s vs ${seconds(2 * r.boundMs)} s | ${t.postCopyWithin2xBound ? 'yes' : 'no'} |`,
    `| post-copy downtime under 100 ms | ${r.modes.find((m: Json) => m.mode === 'post-copy, force-complete')?.downtimeMs?.median ?? '—'} ms | ${t.postCopyDowntimeUnder100Ms ? 'yes' : 'no'} |`,
    `| tuned auto-converge ≥ 1.3× faster than QEMU's defaults | ${t.tunedAutoConvergeSpeedup ?? '—'}× | ${(t.tunedAutoConvergeSpeedup ?? 0) >= 1.3 ? 'yes' : 'no'} |`,
  ].join('\n');
}

function sweepSection(r: Json): string {
  const ratios = [...new Set<number>(r.sweep.map((p: Json) => p.linkMiBps))].sort((a, b) => b - a);
  const modes = [...new Set<string>(r.sweep.map((p: Json) => p.mode))];
  const rows = ratios.map((link) => {
    const at = r.sweep.filter((p: Json) => p.linkMiBps === link);
    const ratio = at.reduce((n: number, p: Json) => n + p.dirtyPerLink, 0) / at.length;
    return [
      `${ratio.toFixed(2)} (link ${link} MiB/s)`,
      ...modes.map((mode) => {
        const p = at.find((q: Json) => q.mode === mode);
        if (!p) return '—';
        const ended = p.status === 'completed' ? '' : ` **${p.status}**`;
        return `${seconds(p.totalMs)} s, guest ${pct(p.duringRatio)}, ${lost(p.totalMs, p.duringRatio)} s lost${ended}`;
      }),
    ];
  });
  return [
    `${machineLine(r)}. One run per mode and point; each cell: total time, the guest's work rate during the migration as a share of before, the guest's work lost (seconds at its full rate: (1 − that share) × total time, 0 when the share is above 100 %), and how it ended when it did not complete.`,
    '',
    table(['dirty rate ÷ link', ...modes], rows),
  ].join('\n');
}

function forecastSection(r: Json): string {
  const a = r.targets.adaptive;
  const yes = (met: boolean | null) => (met === null ? 'not measured' : met ? 'yes' : 'no');
  const rows = r.forecasts.map((c: Json) => [
    c.mode,
    `${c.dirtyPerLink} (link ${c.linkMiBps} MiB/s)`,
    `${c.forecastConverges ? 'converges' : 'does not'} (${c.forecastOutcome}), ${c.forecastTotalMs === null ? 'never ends' : `${seconds(c.forecastTotalMs)} s`}`,
    `${c.measuredOutcome}, ${c.measuredTotalMs === null ? '—' : `${seconds(c.measuredTotalMs)} s`}${c.runs > 1 ? ` (median of ${c.runs})` : ''}`,
    c.verdictRight ? 'right' : '**wrong**',
    c.error === null ? '—' : pct(c.error),
  ]);
  const worstForce = Math.max(...a.postCopyVsForceComplete.points.map((p: Json) => p.ratio ?? Number.NaN));
  const worstAbort = Math.max(...a.abortWithin2xBound.runs.map((p: Json) => p.ofBound ?? Number.NaN));
  return [
    `${machineLine(r)}. The forecast is \`forecastMigration()\`, made from the guest's own write rate just before each migration and the link; "error" is |forecast − measured| ÷ measured for a cell that completed.`,
    '',
    table(['mode', 'dirty rate ÷ link', 'forecast before', 'measured', 'verdict', 'error'], rows),
    '',
    '| target | figure | met |',
    '| --- | --- | --- |',
    `| adaptive (post-copy allowed) ≤ 1.1× force-complete after the first pass, dirty ÷ link ≥ 0.9 | worst ${Number.isFinite(worstForce) ? `${worstForce}×` : '—'} | ${yes(a.postCopyVsForceComplete.met)} |`,
    `| adaptive (post-copy allowed) ≤ 0.5× the monitor's timeout switch | ${a.postCopyVsTimeout.ratio === null ? '—' : `${a.postCopyVsTimeout.ratio}×`} | ${yes(a.postCopyVsTimeout.met)} |`,
    `| adaptive (both forbidden) aborts within 2× the physical bound, dirty ÷ link ≥ 0.9 | worst ${Number.isFinite(worstAbort) ? `${worstAbort}×` : '—'} | ${yes(a.abortWithin2xBound.met)} |`,
    `| no false positive where pre-copy converges | ${a.noFalsePositive.runs.length} runs | ${yes(a.noFalsePositive.met)} |`,
    `| forecast's converges / does-not verdict right in every cell | ${a.forecastVerdicts.right} of ${a.forecastVerdicts.of} | ${yes(a.forecastVerdicts.met)} |`,
    `| forecast within ±25 % of the measured median, every completed cell | worst ${a.forecastWithin25Percent.worst === null ? '—' : pct(a.forecastWithin25Percent.worst)} | ${yes(a.forecastWithin25Percent.met)} |`,
  ].join('\n');
}

function agentSection(r: Json): string {
  const f = (n: number) => n.toFixed(1);
  const rows = Object.entries(r.results as Record<string, Json>).map(([name, v]) => [
    name,
    f(v.loopP50),
    f(v.loopP99),
    f(v.loopMax),
    f(v.readP50),
    f(v.readP99),
    f(v.readMax),
  ]);
  return [
    `${machineLine(r)}. ${r.guests} migrations in flight; each phase ${r.phaseMs / 1000} s, the daemon stopped ${r.hangMs / 1000} s.`,
    '',
    table(
      ['case', 'loop p50 ms', 'loop p99 ms', 'loop max ms', 'read p50 ms', 'read p99 ms', 'read max ms'],
      rows,
    ),
    '',
    `Targets (library: p99 loop delay ≤ 20 ms, file read ≤ 50 ms, also while the daemon hangs): ${r.targetsMet ? 'met' : 'missed'}.`,
  ].join('\n');
}

const row = (label: string, q: Json, f: (n: number) => string) => [label, f(q.median), f(q.min), f(q.max)];

function wrapperSection(r: Json): string {
  return [
    `${machineLine(r)}. ${r.runs} migrations with each tool of an idle ${r.guest.memoryMiB} MiB guest, alternating which tool goes first; flags ${r.flagNames.join(' | ')}.`,
    '',
    table(
      ['', 'median ms', 'min ms', 'max ms'],
      [
        row('`virsh migrate` (same flags)', r.virshMs, whole),
        row('`migrate()` until its outcome', r.libraryMs, whole),
        row("… of which before libvirt's call", r.beforeCallMs, whole),
        row("… of which libvirt's call", r.callMs, whole),
        row('providers read → libvirt call', r.providersToCallMs, (n) => n.toFixed(1)),
      ],
    ),
    '',
    `Ratio of the medians: **${r.ratio.toFixed(2)}×** (target ≤ 1.1×: ${r.ratio <= 1.1 ? 'met' : 'missed'}). ` +
      `What migrate() steered in its last run: ${r.steering.length > 0 ? r.steering.join('; ') : 'nothing'}.`,
  ].join('\n');
}

const ns = (n: number) => Math.round(n).toLocaleString('en-US');

function policySection(r: Json): string {
  const d = r.decision;
  const peer = r.peer
    ? `Nova-style Python peer (\`bench/nova_peer.py\`, Python ${r.peer.python}), the same decisions on dicts made for the call: **${ns(r.peer.cpuNs)} ns** (${ns(r.peer.sameCpuNs)} ns on the same dicts again).`
    : 'Nova-style Python peer: python3 was not installed, not run.';
  return [
    `Node ${r.node}; ${r.machine.cores} cores (${r.machine.model}), ${r.machine.memoryGiB} GiB, load average ${r.loadAverage}; ${r.date.slice(0, 10)}. CPU time per operation; the wall-clock mean also counts waiting for a core.`,
    '',
    table(
      ['case', 'ns per op (CPU)', 'ns per op (wall)'],
      r.rows.map((row: Json) => [row.task, ns(row['ns/op (CPU time)']), ns(row['ns/op (mean, wall)'])]),
    ),
    '',
    `\`planMigration\` per decision on fresh objects, making them taken off: **${ns(d.cpuNs)} ns** CPU time (${ns(d.wallNs)} ns wall-clock); target ≤ ${ns(r.targetNs)} ns: ${r.met ? 'met' : 'missed'}.`,
    '',
    peer,
  ].join('\n');
}

function tlsSection(r: Json): string {
  const f1 = (n: number) => n.toFixed(1);
  const f2 = (n: number) => n.toFixed(2);
  const rows = r.workloads.flatMap((w: Json) =>
    (['plain', 'tls'] as const).map((mode) => {
      const m = w[mode];
      return [
        `${w.workload} (${w.guest.memoryMiB} MiB, ${w.guest.bufferMiB} MiB ${w.guest.mode === 'idle' ? 'written once' : 'rewritten'})`,
        mode === 'tls' ? 'native TLS' : 'plain TCP',
        formatRange(m.totalMs, seconds),
        formatRange(m.downtimeMs, whole),
        formatRange(m.MiB, whole),
        formatRange(m.MiBps, whole),
        formatRange(m.migrationCpuS, f2),
      ];
    }),
  );
  const ratios = r.workloads.map(
    (w: Json) =>
      `${w.workload}: **${f2(w.tlsOverPlain.totalMs)}×** the time, ${f2(w.tlsOverPlain.MiBps)}× the rate, ` +
      `${w.tlsOverPlain.migrationCpuS === null ? '—' : f1(w.tlsOverPlain.migrationCpuS)}× the migration thread's CPU`,
  );
  return [
    `${machineLine(r)}. \`${r.command}\`: ${r.runs} migrations per workload and mode, back and forth between the hosts, the modes alternating which goes first; both over \`qemu+tls://\` to the other libvirtd, so the only difference is QEMU's stream encryption; the link unshaped. Medians (min–max).`,
    '',
    table(['guest', 'stream', 'total s', 'downtime ms', 'MiB sent', 'MiB/s', 'migration thread CPU s'], rows),
    '',
    `TLS against plain, medians: ${ratios.join('; ')}.`,
  ].join('\n');
}

function replaceSection(doc: string, name: string, body: string): string {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/performance.md has no ${start} … ${end} section`);
  return `${doc.slice(0, from + start.length)}\n${body}\n${doc.slice(to)}`;
}

/** Writes the charts and the tables for every results file there is. */
export async function renderReport(): Promise<void> {
  mkdirSync(IMG, { recursive: true });
  let doc = readFileSync(DOC, 'utf8');
  const lab = read('lab.json');
  if (lab) {
    const subtitle = machineLine(lab);
    const progress = lab.timelines.flatMap((tl: Json) =>
      (tl.progress ?? []).map((p: Json) => ({ ...p, mode: tl.mode })),
    );
    writeFileSync(
      join(IMG, 'lab-memory-remaining.svg'),
      await renderSvg(memoryRemainingChart(progress, subtitle)),
    );
    const rate = lab.timelines.flatMap((tl: Json) => {
      const end = tl.progress?.at(-1)?.t ?? null;
      return (tl.rate ?? []).map((p: Json) => ({
        t: p.t,
        percent: Math.round(p.ratio * 1000) / 10,
        mode: tl.mode,
        end,
      }));
    });
    writeFileSync(join(IMG, 'lab-guest-rate.svg'), await renderSvg(guestRateChart(rate, subtitle)));
    const map = lab.sweep.map((p: Json) => ({
      mode: p.mode,
      dirtyPerLink: p.dirtyPerLink,
      totalS: p.totalMs / 1000,
      duringPercent: Math.round(p.duringRatio * 1000) / 10,
      outcome: p.status === 'completed' ? 'completed' : `${p.status} (guest stays on the source)`,
    }));
    writeFileSync(join(IMG, 'lab-decision-map.svg'), await renderSvg(decisionMapChart(map, subtitle)));
    doc = replaceSection(doc, 'lab', labSection(lab));
    doc = replaceSection(doc, 'sweep', sweepSection(lab));
    // Results written before the adaptive switchover have no forecasts: the section keeps its note.
    if (lab.forecasts && lab.targets.adaptive) {
      const points = lab.forecasts
        .filter((c: Json) => c.forecastTotalMs !== null && c.measuredTotalMs !== null)
        .map((c: Json) => ({
          mode: c.mode,
          dirtyPerLink: c.dirtyPerLink,
          forecastS: c.forecastTotalMs / 1000,
          measuredS: c.measuredTotalMs / 1000,
        }));
      const span = points.flatMap((p: Json) => [p.forecastS, p.measuredS]);
      const diagonal = span.length
        ? [Math.min(...span), Math.max(...span)].map((d) => ({ diagonal: d }))
        : [];
      writeFileSync(
        join(IMG, 'lab-forecast.svg'),
        await renderSvg(forecastChart([...points, ...diagonal], subtitle)),
      );
      doc = replaceSection(doc, 'forecast', forecastSection(lab));
    }
  }
  const agent = read('agent.json');
  if (agent) {
    const rows = Object.entries(agent.results as Record<string, Json>).flatMap(([name, v]) => [
      { case: name, figure: 'event-loop delay p99', ms: Math.max(0.1, v.loopP99) },
      { case: name, figure: 'event-loop delay max', ms: Math.max(0.1, v.loopMax) },
      // koffi's async calls leave the loop alone but take libuv's pool, where fs waits behind them
      { case: name, figure: 'fs.readFile max', ms: Math.max(0.1, v.readMax) },
    ]);
    writeFileSync(
      join(IMG, 'agent-loop-delay.svg'),
      await renderSvg(loopDelayChart(rows, machineLine(agent))),
    );
    doc = replaceSection(doc, 'agent', agentSection(agent));
  }
  const wrapper = read('wrapper.json');
  if (wrapper) doc = replaceSection(doc, 'wrapper', wrapperSection(wrapper));
  const policy = read('policy.json');
  if (policy) doc = replaceSection(doc, 'policy', policySection(policy));
  const tls = read('tls.json');
  if (tls) doc = replaceSection(doc, 'tls', tlsSection(tls));
  writeFileSync(DOC, doc);
  console.log(`regenerated docs/performance.md and docs/img/*.svg from bench/results`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) await renderReport();
