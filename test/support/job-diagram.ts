/**
 * Draws docs/job-machine.md from the job's tables (src/migration/job-machine.ts) and a walk of the machine
 * (job-walk.ts): a Mermaid diagram of the phases and one of the poll loop, every row as a table, and what
 * the walk reached and checked. `npm run docs:machine` writes the file; a unit test fails when the
 * committed one differs.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  EVENTS,
  POLLING,
  type Row,
  type SkipReason,
  type StateRows,
  TRANSITIONS,
} from '../../src/migration/job-machine.js';
import { TERMINAL } from '../../src/migration/job-states.js';
import { ENTRIES, INVARIANTS, rowKey, type Walk, walkMachine } from './job-walk.js';

export const DOC_PATH = fileURLToPath(new URL('../../docs/job-machine.md', import.meta.url));

const SKIPS: Record<SkipReason, string> = {
  cannot: 'nothing in flight in this phase answers with it',
  late: 'the answer of a call made, or a timer set, in an earlier phase: it changes nothing now',
  refused:
    'a request this phase refuses (`abort()` and `recover()` throw here; one queued just before the phase changed is answered by the outcome)',
  rest: 'the monitor does not steer here',
  over: 'the outcome is out: from here on only answers',
};

/** A Mermaid state id (no hyphens). */
function id(state: string): string {
  return state.replaceAll('-', '_');
}

/** The edges of a table between different states, one per pair, labelled with their events in table order. */
function edges(tables: Readonly<Record<string, StateRows<never, string>>>): string[] {
  const lines: string[] = [];
  for (const [from, table] of Object.entries(tables)) {
    const byTarget = new Map<string, string[]>();
    for (const [event, rows] of Object.entries(table.on) as [string, readonly Row[]][]) {
      for (const row of rows) {
        if (row.to === undefined || row.to === from) continue;
        const events = byTarget.get(row.to) ?? [];
        if (!events.includes(event)) events.push(event);
        byTarget.set(row.to, events);
      }
    }
    for (const [to, events] of byTarget) lines.push(`  ${id(from)} --> ${id(to)} : ${events.join(', ')}`);
  }
  return lines;
}

function declarations(states: readonly string[]): string[] {
  return states.filter((s) => s.includes('-')).map((s) => `  state "${s}" as ${id(s)}`);
}

function phaseDiagram(): string[] {
  const phases = Object.keys(TRANSITIONS);
  return [
    '```mermaid',
    'stateDiagram-v2',
    ...declarations(phases),
    '  [*] --> queued',
    ...edges(TRANSITIONS as never),
    ...phases.filter((p) => TERMINAL.has(p as never)).map((p) => `  ${id(p)} --> [*]`),
    '```',
  ];
}

function pollDiagram(): string[] {
  return ['```mermaid', 'stateDiagram-v2', '  [*] --> off', ...edges(POLLING as never), '```'];
}

/** Whether the walk took a row; the end's rows are shared by every terminal phase, and counted together. */
function taken(walk: Walk, table: 'phase' | 'polling', state: string, event: string, row: number): boolean {
  const states = table === 'phase' && TERMINAL.has(state as never) ? [...TERMINAL] : [state];
  return states.some((s) => walk.rows.has(rowKey({ table, state: s, event: event as never, row })));
}

function rowTable(
  walk: Walk,
  table: 'phase' | 'polling',
  state: string,
  rows: StateRows<never, string>,
): string[] {
  const lines = ['| event | if | then | steps |', '| --- | --- | --- | --- |'];
  for (const [event, alternatives] of Object.entries(rows.on) as [string, readonly Row[]][]) {
    alternatives.forEach((row, i) => {
      const guards = (row.if ?? []).join(' ∧ ');
      const then = row.to === undefined || row.to === state ? 'stays' : `→ ${row.to}`;
      const steps = (row.do ?? []).join(', ') || '—';
      const mark = taken(walk, table, state, event, i) ? '' : ' (never taken by the walk)';
      lines.push(`| ${i === 0 ? `\`${event}\`` : ''} | ${guards} | ${then}${mark} | ${steps} |`);
    });
  }
  const skipped = Object.entries(rows.skip) as [SkipReason, readonly string[]][];
  if (skipped.length > 0) {
    lines.push('');
    for (const [reason, events] of skipped)
      lines.push(`Skipped, *${reason}*: ${events.map((e) => `\`${e}\``).join(', ')}.`);
  }
  return lines;
}

function rowsSection(walk: Walk): string[] {
  const lines: string[] = [];
  const seen = new Set<StateRows<never, string>>();
  for (const [phase, rows] of Object.entries(TRANSITIONS) as [string, StateRows<never, string>][]) {
    if (seen.has(rows)) continue;
    seen.add(rows);
    const sharing = Object.entries(TRANSITIONS)
      .filter(([, r]) => r === rows)
      .map(([p]) => `\`${p}\``);
    lines.push(`### ${sharing.join(', ')}`, '', ...rowTable(walk, 'phase', phase, rows), '');
  }
  return lines;
}

/** The rows no path of the walk takes. */
export function rowsNeverTaken(walk: Walk): string[] {
  const missing: string[] = [];
  for (const [table, tables] of [
    ['phase', TRANSITIONS],
    ['polling', POLLING],
  ] as const) {
    for (const [state, rows] of Object.entries(tables)) {
      for (const [event, alternatives] of Object.entries(rows.on) as [string, readonly Row[]][]) {
        alternatives.forEach((_, i) => {
          if (!taken(walk, table, state, event, i)) missing.push(`${state} / ${event} / row ${i + 1}`);
        });
      }
    }
  }
  return missing;
}

/** The whole document, from the tables and a walk of them. */
export function machineDoc(walk: Walk): string {
  const never = rowsNeverTaken(walk);
  const alphabet = Object.entries(EVENTS)
    .filter(([kind]) => kind !== 'raised')
    .flatMap(([, events]) => events)
    .filter((e) => e !== 'start-polling');
  return [
    '---',
    'title: The job’s state machine',
    '---',
    '',
    '# The job’s state machine',
    '',
    'Generated by `npm run docs:machine` from the tables of [`src/migration/job-machine.ts`](../src/migration/job-machine.ts)',
    '(`TRANSITIONS`, the phase, and `POLLING`, the poll loop beside it) and a walk of the machine',
    '([`test/support/job-walk.ts`](../test/support/job-walk.ts)). `test/migration/job-machine.walk.test.ts` fails when',
    'this file differs from what the code gives: change the tables, then run the script.',
    '',
    'A row reads: on *event*, *if* its guards all hold (the first matching row wins), run the *steps* in order',
    '(`src/migration/job-steps.ts`: they change the state and ask for actions), *then* move to the phase. The',
    'steps ask the effects (`job-effects.ts`) for libvirt calls and the job (`job.ts`) for reports and',
    'answers; `force` and `steer` are events the rows raise themselves, handled within the same transition.',
    'Every (phase, event) pair is listed: a pair without rows is skipped for one of the reasons at the end.',
    '',
    '## What the walk checks',
    '',
    `From ${ENTRIES.length} entries (${ENTRIES.map((e) => e.name).join('; ')}), under all ${alphabet.length} kinds of`,
    'outside event — the caller’s requests, every answer of every libvirt call, the timers — with their',
    'variants (sources, stats, plans, errors, times), the walk reaches',
    `**${walk.states} states** over ${walk.edges} transitions, none more than ${walk.depth} events from an`,
    'entry. States are told apart by what the rows of their phase and the later phases read (not by clocks,',
    'reasons or errors). On every transition it checks:',
    '',
    ...Object.entries(INVARIANTS).map(([name, what]) => `- **${name}**: ${what}.`),
    '',
    never.length === 0
      ? 'Every row is taken by some path of the walk.'
      : `Rows never taken: ${never.join('; ')}.`,
    '',
    '## The phases',
    '',
    'Rows that keep the phase are in the tables below, not drawn.',
    '',
    ...phaseDiagram(),
    '',
    '## The poll loop',
    '',
    'Started by the rows that enter a phase following libvirt’s job; it reacts to a tick after the phase did,',
    'so that a progress report describes the state the tick led to.',
    '',
    ...pollDiagram(),
    '',
    ...(['off', 'waiting', 'reading'] as const).flatMap((state) => [
      `### \`${state}\``,
      '',
      ...rowTable(walk, 'polling', state, POLLING[state] as never),
      '',
    ]),
    '## The rows of each phase',
    '',
    ...rowsSection(walk),
    '## Why a pair is skipped',
    '',
    ...(Object.entries(SKIPS) as [SkipReason, string][]).map(([reason, why]) => `- *${reason}*: ${why}.`),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(DOC_PATH, machineDoc(walkMachine()));
  console.log(`wrote ${DOC_PATH}`);
}
