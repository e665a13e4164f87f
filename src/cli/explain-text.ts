/** The text form of an {@link Explanation}: one labelled line per fact, reasons in full. */
import type { HostConfig } from '../index.js';
import { HOST_OPTIONS, type TlsRequirements } from '../policy/index.js';
import type { Explanation, FeatureExplanation } from './explain.js';

const LABEL = 20;

/** The lines `explain` prints without `--json`. */
export function explanationText(e: Explanation): string[] {
  const line = (label: string, text: string) => `${`${label}`.padEnd(LABEL)}${text}`;
  const lines: string[] = [];
  const instance = [
    e.inputs.flavor === undefined ? 'no flavor' : `flavor ${e.inputs.flavor}`,
    e.inputs.image === undefined ? 'no image' : `image ${e.inputs.image}`,
  ].join(', ');
  const state = [e.paused ? 'paused' : 'running', e.blockMigration ? 'block migration' : undefined]
    .filter(Boolean)
    .join(', ');
  lines.push(line('Instance', `${instance} (${state})`));
  if (e.guest !== undefined) {
    const devices = e.guest.hostDevices.map(
      (d) => `${d.vfio ? 'VFIO ' : ''}${d.type}${d.address ? ` ${d.address}` : ''}`,
    );
    lines.push(
      line(
        'Guest',
        `${e.inputs.domainXml}: ${e.guest.disks.length} disk(s), ${devices.length === 0 ? 'no host device' : `host devices: ${devices.join(', ')}`}`,
      ),
    );
  }
  const confs = [...e.inputs.conf, ...e.inputs.confDirs.map((dir) => `${dir}/*.conf`)];
  lines.push(line('Host', confs.length === 0 ? "no nova.conf: Nova's defaults" : confs.join(', ')));
  lines.push('');
  lines.push(feature('post-copy', e.features.postCopy));
  lines.push(feature('auto-converge', e.features.autoConverge));
  lines.push('');
  lines.push('Why');
  for (const reason of [e.features.postCopy.reason, e.features.autoConverge.reason, ...e.notes]) {
    lines.push(`  - ${reason}`);
  }
  const dropped = (
    [
      ['post-copy', e.features.postCopy],
      ['auto-converge', e.features.autoConverge],
    ] as const
  ).filter(([, f]) => f.dropped !== undefined);
  if (dropped.length > 0) {
    lines.push('');
    lines.push('Dropped');
    for (const [name, f] of dropped) lines.push(`  - ${name}: ${f.dropped}`);
  }
  lines.push('');
  lines.push(
    line(
      'Required traits',
      e.requiredTraits.length === 0
        ? '(none: the instance can land on any host)'
        : `${e.requiredTraits.join(', ')} (the scheduler requires them on the destination)`,
    ),
  );
  lines.push(line('Flags', `${e.flags.names.join('|')} = ${e.flags.value}`));
  lines.push(line('Force-complete', e.forceComplete.description));
  const t = e.completionTimeout;
  const action = t.action === 'abort' ? 'abort' : `force-complete (${e.forceComplete.description})`;
  lines.push(line('Completion timeout', t.arithmetic));
  if (t.perGiB > 0) {
    lines.push(line('', `then ${action}`));
  }
  lines.push(
    line(
      '',
      `live_migration_completion_timeout: ${t.from.completionTimeout}; live_migration_timeout_action = ` +
        `${t.action}: ${t.from.timeoutAction}`,
    ),
  );
  lines.push(line('Downtime', e.downtime.arithmetic));
  const d = e.destination;
  lines.push(
    line('Destination', `${d.destinationUri}, stream ${d.migrateUri ?? "libvirt's choice (no migrate_uri)"}`),
  );
  for (const reason of d.reasons) lines.push(line('', reason));
  lines.push(...tlsLines(e.tls, line));
  const set = Object.entries(e.hostOrigins);
  if (set.length > 0) {
    lines.push('');
    lines.push('Set in nova.conf');
    for (const [key, origin] of set) {
      const value = e.plan.host[key as keyof HostConfig];
      const shown = typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value);
      lines.push(`  ${HOST_OPTIONS[key as keyof HostConfig].option} = ${shown}  (${origin})`);
    }
  }
  return lines;
}

/** The stream's protection and native TLS's needs, for `explain` and `traits` alike. */
export function tlsLines(tls: TlsRequirements, line: (label: string, text: string) => string): string[] {
  const lines = [line('Migration stream', tls.stream)];
  if (tls.needs.length > 0) {
    lines.push(line('Native TLS needs', tls.needs[0] ?? ''));
    for (const need of tls.needs.slice(1)) lines.push(line('', need));
  }
  return lines;
}

function feature(name: string, f: FeatureExplanation): string {
  const state = f.enabled ? 'on ' : 'off';
  return f.dropped === undefined
    ? `${name.padEnd(LABEL)}${state}  from ${f.from}`
    : `${name.padEnd(LABEL)}${state}  dropped (see below); wanted by ${f.from}`;
}
