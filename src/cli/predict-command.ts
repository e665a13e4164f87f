/**
 * `predict`: before migrating, what this instance's own policy will do on this link and what each other way
 * would cost — from the guest's memory (libvirt), its dirty rate (QEMU measures it now, `measureDirtyRate`)
 * and the link's bandwidth (`--bandwidth`, or `live_migration_bandwidth`). The forecast is the library's
 * `forecastMigration`; this module gathers its inputs and says where each came from.
 */

import {
  forecastMigration,
  type MigrationForecast,
  type ModeForecast,
  measureDirtyRate,
  planMigration,
} from '../index.js';
import type { LibvirtBackend, LibvirtConnection } from '../libvirt/index.js';
import { openConnection } from '../libvirt/index.js';
import { CliError } from './cli-error.js';
import { bytes, rate, seconds } from './format.js';
import { type ConfPaths, domainRef, readHostConfig, readInstanceFiles } from './inputs.js';

/** The command line of `predict`, parsed. */
export interface PredictInput extends ConfPaths {
  domain: string;
  connect: string;
  flavor?: string;
  image?: string;
  /** The link's bandwidth in MiB/s. */
  bandwidth?: number;
  /** How long QEMU measures the dirty rate, in seconds. */
  seconds?: number;
}

/** One input of the forecast, and where it came from. */
export interface Sourced {
  value: number;
  source: string;
}

/** What `predict` prints; `--json` prints it as it is (an endless total is `null`). */
export interface PredictReport {
  uri: string;
  domain: string;
  memoryBytes: Sourced;
  dirtyRateBytesPerSecond: Sourced;
  bandwidthBytesPerSecond: Sourced;
  /** The mode this instance's policy runs, named as in the forecast. */
  policy: {
    mode: 'pre-copy' | 'auto-converge';
    /** Post-copy is effective: a force-complete (by hand, or the timeout's action) switches to it. */
    postCopy: boolean;
    flags: string;
    reasons: string[];
  };
  /** The forecast of the instance's own policy: `forecast[policy.mode]`. */
  own: ModeForecast;
  forecast: MigrationForecast;
}

const MiB = 1024 * 1024;

/** Reads the files, asks libvirt and QEMU, and forecasts. */
export async function predictReport(input: PredictInput, backend?: LibvirtBackend): Promise<PredictReport> {
  const host = readHostConfig(input);
  const { metadata } = readInstanceFiles(input);
  const bandwidth = bandwidthOf(input, host?.bandwidth);
  const conn = await (backend ? backend.open(input.connect) : openConnection(input.connect));
  try {
    const domain = await lookup(conn, input.domain);
    const [info, libvirtVersion, qemuVersion] = await Promise.all([
      domain.info(),
      conn.libVersion(),
      conn.hypervisorVersion(),
    ]);
    const plan = planMigration({
      instance: metadata,
      ...(host === undefined ? {} : { host }),
      libvirtVersion,
      qemuVersion,
    });
    const measured = await measureDirtyRate(domain, { seconds: input.seconds ?? 3 });
    const memoryBytes = info.memoryKiB * 1024;
    const forecast = forecastMigration({
      memoryBytes,
      dirtyRateBytesPerSecond: measured.bytesPerSecond,
      bandwidthBytesPerSecond: bandwidth.value,
      plan,
    });
    const mode = plan.autoConverge ? 'auto-converge' : 'pre-copy';
    return {
      uri: input.connect,
      domain: input.domain,
      memoryBytes: { value: memoryBytes, source: "libvirt: the domain's current memory" },
      dirtyRateBytesPerSecond: {
        value: measured.bytesPerSecond,
        source: `QEMU measured it now: ${measured.mode} over ${measured.seconds} s`,
      },
      bandwidthBytesPerSecond: bandwidth,
      policy: { mode, postCopy: plan.postCopy, flags: plan.flagNames.join('|'), reasons: plan.reasons },
      own: mode === 'auto-converge' ? forecast.autoConverge : forecast.preCopy,
      forecast,
    };
  } finally {
    await conn.close();
  }
}

function bandwidthOf(input: PredictInput, configured: number | undefined): Sourced {
  if (input.bandwidth !== undefined) return { value: input.bandwidth * MiB, source: '--bandwidth' };
  if (configured !== undefined && configured > 0) {
    return { value: configured * MiB, source: 'nova.conf: [libvirt] live_migration_bandwidth' };
  }
  throw new CliError(
    "predict needs the link's bandwidth: pass --bandwidth MiB/s (what the migration stream gets between " +
      'the hosts), or set [libvirt] live_migration_bandwidth in the nova.conf given with --conf ' +
      `(${configured === undefined ? 'none given' : 'it is 0, unlimited, which says nothing about the link'})`,
  );
}

function lookup(conn: LibvirtConnection, domain: string) {
  const ref = domainRef(domain);
  return 'uuid' in ref ? conn.lookupDomainByUUID(ref.uuid) : conn.lookupDomainByName(ref.name);
}

const LABELS: Record<ModeForecast['mode'], string> = {
  'pre-copy': 'pre-copy',
  'auto-converge': 'auto-converge',
  'post-copy': 'post-copy after the first pass',
  adaptive: 'adaptive switchover',
};

/** The lines `predict` prints without `--json`. */
export function predictText(report: PredictReport): string[] {
  const { own, forecast } = report;
  const lines = [
    `Domain      ${report.domain} on ${report.uri}`,
    `Memory      ${bytes(report.memoryBytes.value)} (${report.memoryBytes.source})`,
    `Dirty rate  ${rate(report.dirtyRateBytesPerSecond.value)} (${report.dirtyRateBytesPerSecond.source})`,
    `Link        ${rate(report.bandwidthBytesPerSecond.value)} (${report.bandwidthBytesPerSecond.source})`,
    `Policy      ${report.policy.mode}: ${report.policy.flags}`,
    ...report.policy.reasons.map((reason) => `  - ${reason}`),
    '',
    `This instance's policy (${LABELS[own.mode]}${report.policy.postCopy ? ', post-copy when force-completed' : ''}): ${verdict(own)}`,
    `  ${own.reason}`,
    '',
    'Each way, on this link:',
  ];
  for (const mode of [forecast.preCopy, forecast.autoConverge, forecast.postCopy, forecast.adaptive]) {
    lines.push(`  ${LABELS[mode.mode].padEnd(31)} ${verdict(mode)}; ${cost(mode)}`);
  }
  if (forecast.throttleNeededPercent > 0) {
    lines.push(
      '',
      `The passes shrink only with the guest throttled to ${forecast.throttleNeededPercent} % or more ` +
        '(1 − link ÷ dirty rate).',
    );
  }
  lines.push(
    '',
    'A forecast, not a promise: it assumes the guest keeps dirtying memory at the measured rate and the link ' +
      'gives the stream its bandwidth (docs/live-migration.md).',
  );
  return lines;
}

function verdict(mode: ModeForecast): string {
  const total = Number.isFinite(mode.totalMs) ? seconds(mode.totalMs) : 'never';
  const pause = mode.downtimeMs === undefined ? '' : `, paused ${Math.round(mode.downtimeMs)} ms`;
  return `${mode.converges ? 'moves' : 'does not move'} (${mode.outcome}), total ${total}${pause}`;
}

function cost(mode: ModeForecast): string {
  const parts: string[] = [];
  if (mode.throttlePercent > 0) {
    parts.push(`throttled up to ${mode.throttlePercent} % for ${seconds(mode.throttledMs)}`);
  }
  if (mode.postCopyMs > 0) {
    parts.push(
      `${seconds(mode.postCopyMs)} on the destination with pages missing (up to ${seconds(mode.faultStallMs)} waiting on them)`,
    );
  }
  if (parts.length > 0) return parts.join(', ');
  return mode.converges ? 'no cost to the guest beyond the pause' : 'the guest stays on the source';
}
