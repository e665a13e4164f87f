/**
 * The live view of a running migration: on a terminal, a block redrawn in place by `log-update`, with
 * events (steering, warnings) persisted above it; elsewhere (a pipe, a log file, CI), one plain line per
 * report, so that nothing but text reaches the file.
 */
import { createLogUpdate } from 'log-update';
import type { MigrationProgress } from '../index.js';
import { bytes, grouped, rate, seconds } from './format.js';

/** What the migrate command draws to. */
export interface ProgressDisplay {
  update(progress: MigrationProgress): void;
  /** A line that stays (an event), printed above the live block on a terminal. */
  log(line: string): void;
  /** Leaves the last block on screen; later output goes below it. */
  done(): void;
}

/** An output stream, as much of `tty.WriteStream` as the display uses. */
export interface OutputStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

/** A terminal gets the redrawn block, anything else plain lines. */
export function progressDisplay(stream: OutputStream, title: string): ProgressDisplay {
  if (stream.isTTY !== true) {
    return {
      update: (p) => stream.write(`${progressLine(p)}\n`),
      log: (line) => stream.write(`${line}\n`),
      done: () => undefined,
    };
  }
  // showCursor: hiding it would make log-update install its own exit-signal handlers, and the CLI owns Ctrl-C.
  const live = createLogUpdate(stream as NodeJS.WriteStream, { showCursor: true });
  let last = `${title}   starting…`;
  live(last);
  return {
    update: (p) => {
      last = progressBlock(title, p, stream.columns ?? 80).join('\n');
      live(last);
    },
    log: (line) => {
      live.persist(line);
      live(last);
    },
    done: () => live.done(),
  };
}

/** One plain line per report: every figure, labelled. */
export function progressLine(p: MigrationProgress): string {
  const parts = [
    `[${seconds(p.elapsedMs)}]`,
    p.status,
    p.mode,
    `pass ${p.iteration ?? '–'}`,
    `remaining ${bytes(p.memoryRemaining)} of ${bytes(p.memoryTotal)}`,
    `dirty ${dirtyRate(p)}`,
    `bandwidth ${rate(p.bandwidth)}`,
    `throttle ${p.throttle === undefined ? '–' : `${p.throttle}%`}`,
    `post-copy requests ${p.postCopyRequests === undefined ? '–' : grouped(p.postCopyRequests)}`,
  ];
  if (p.downtimeMs !== undefined) parts.push(`max downtime ${grouped(p.downtimeMs)} ms`);
  if (p.forecast !== undefined) parts.push(`forecast ${forecastText(p)}`);
  return parts.join('  ');
}

/** The terminal block: a bar of memory copied, then the figures, two to a line. */
export function progressBlock(title: string, p: MigrationProgress, columns: number): string[] {
  const width = Math.max(10, Math.min(40, columns - 50));
  const total = p.memoryTotal ?? 0;
  const done = total > 0 && p.memoryRemaining !== undefined ? 1 - p.memoryRemaining / total : 0;
  const filled = Math.round(Math.min(1, Math.max(0, done)) * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  return [
    `${title}   ${p.status} · ${p.mode} · ${seconds(p.elapsedMs)}`,
    `  memory    ${bar} ${bytes(p.memoryRemaining)} of ${bytes(p.memoryTotal)} remaining · pass ${p.iteration ?? '–'}`,
    `  dirty     ${dirtyRate(p).padEnd(16)}  bandwidth ${rate(p.bandwidth)}`,
    `  throttle  ${(p.throttle === undefined ? '–' : `${p.throttle}%`).padEnd(16)}  post-copy requests ${
      p.postCopyRequests === undefined ? '–' : grouped(p.postCopyRequests)
    }`,
    `  downtime  ${p.downtimeMs === undefined ? "libvirt's default" : `up to ${grouped(p.downtimeMs)} ms`}`,
    ...(p.forecast === undefined ? [] : [`  forecast  ${forecastText(p)}`]),
  ];
}

/** The adaptive switchover's verdict, and the pause a switch now would take. */
function forecastText(p: MigrationProgress): string {
  const f = p.forecast;
  if (f === undefined) return '–';
  const downtime =
    f.expectedDowntimeMs === undefined
      ? ''
      : ` · a switch now pauses ${grouped(Math.round(f.expectedDowntimeMs))} ms`;
  return `${f.verdict ?? 'no verdict yet'} (pass ${f.iteration})${downtime}`;
}

/** libvirt reports the dirty rate in pages per second: bytes when it also says the page size. */
function dirtyRate(p: MigrationProgress): string {
  if (p.dirtyRate === undefined) return '–';
  const page = p.stats.memoryPageSize;
  return page === undefined ? `${grouped(p.dirtyRate)} pages/s` : rate(p.dirtyRate * page);
}
