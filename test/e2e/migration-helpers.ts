/**
 * What the end-to-end suites share: booting a lab guest, migrating it through the public migrate() API
 * with lab URIs, watching QEMU's own view of the migration, and proving the guest's memory intact.
 */
import { expect } from 'vitest';
import {
  type ConsoleLine,
  consoleLines,
  diagnoseGuest,
  type HostName,
  type LabInfo,
  migrationCapabilities,
  startGuest,
  virsh,
  waitForConsole,
} from '../../lab/domain.js';
import {
  type HostConfig,
  type InstanceMetadata,
  type MigrateOptions,
  type MigrationJob,
  type MigrationProgress,
  migrate,
} from '../../src/index.js';

type Stats = Extract<ConsoleLine, { kind: 'stats' }>;

/** Boots a busy guest on `host` and waits until it reports its first stats line. */
export async function bootGuest(lab: LabInfo, name: string, host: HostName = 'src'): Promise<void> {
  startGuest(lab, host, { name, memoryMiB: 384, bufferMiB: 192, mode: 'cpu' });
  await waitForConsole(lab.hosts[host], name, (l) => l.kind === 'stats', 120_000);
}

/**
 * A migration bandwidth (MiB/s) three quarters of what guest `name` dirties, from its own `pages_per_s`, at
 * most 64 and at least 4: the copy cannot keep up, whatever else loads the machine.
 */
export async function busyLinkMiBps(lab: LabInfo, name: string, host: HostName = 'src'): Promise<number> {
  const first = (await waitForConsole(lab.hosts[host], name, (l) => l.kind === 'stats', 60_000)) as Stats;
  const rate = (await waitForConsole(
    lab.hosts[host],
    name,
    (l) => l.kind === 'stats' && l.t > first.t,
    60_000,
  )) as Stats;
  const dirtyMiBps = (rate.pagesPerS * 4096) / (1024 * 1024);
  const cap = Math.max(4, Math.min(64, Math.floor(dirtyMiBps * 0.75)));
  console.log(
    `[e2e] ${name} dirties ${dirtyMiBps.toFixed(1)} MiB/s (${rate.pagesPerS} pages/s): link ${cap} MiB/s`,
  );
  return cap;
}

/** Removes the guest from both hosts, whatever state the test left it in (persistent on dst after a move). */
export function removeGuest(lab: LabInfo, name: string): void {
  for (const host of Object.values(lab.hosts)) {
    for (const command of ['destroy', 'undefine']) {
      try {
        virsh(host.uri, command, name);
      } catch {
        // Not there, or already transient and gone.
      }
    }
  }
}

/** Options of {@link labMigrate}. */
export interface LabMigration extends Partial<Omit<MigrateOptions, 'providers'>> {
  instance?: InstanceMetadata | (() => InstanceMetadata);
  host?: Partial<HostConfig> | (() => Partial<HostConfig>);
}

/** migrate() from the lab's src to its dst, with the given metadata and host config as providers. */
export function labMigrate(lab: LabInfo, name: string, options: LabMigration = {}): Promise<MigrationJob> {
  return hostMigrate(lab, 'src', 'dst', name, options);
}

/** migrate() from lab host `from` to `to` (the way back too), over the lab's link to `to`'s address. */
export function hostMigrate(
  lab: LabInfo,
  from: HostName,
  to: HostName,
  name: string,
  options: LabMigration = {},
): Promise<MigrationJob> {
  const { instance = {}, host = {}, ...rest } = options;
  return migrate({
    source: { uri: lab.hosts[from].uri },
    domain: { name },
    destination: { uri: lab.hosts[to].uri, migrateUri: `tcp://${lab.hosts[to].address}` },
    providers: {
      instanceMetadata: typeof instance === 'function' ? instance : () => instance,
      hostConfig: typeof host === 'function' ? host : () => host,
    },
    pollIntervalMs: 250,
    ...rest,
  });
}

/** Resolves with the first progress report that satisfies `predicate` (the copy is under way in QEMU). */
export function progressWhere(
  job: MigrationJob,
  predicate: (p: MigrationProgress) => boolean,
  timeoutMs = 120_000,
): Promise<MigrationProgress> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no matching progress within ${timeoutMs} ms (status ${job.status})`)),
      timeoutMs,
    );
    const listener = (p: MigrationProgress) => {
      if (!predicate(p)) return;
      clearTimeout(timer);
      job.off('progress', listener);
      resolve(p);
    };
    job.on('progress', listener);
    void job.outcome.then(() => {
      clearTimeout(timer);
      reject(new Error(`the job ended (${job.status}) before the expected progress`));
    });
  });
}

/** QEMU's `auto-converge` and `postcopy-ram` capabilities on the source, read while the migration runs. */
export function qemuFeatures(lab: LabInfo, name: string): { autoConverge: boolean; postCopy: boolean } {
  const caps = migrationCapabilities(lab, 'src', name);
  expect(caps).toHaveProperty('auto-converge');
  expect(caps).toHaveProperty('postcopy-ram');
  return { autoConverge: caps['auto-converge'] === true, postCopy: caps['postcopy-ram'] === true };
}

/** Where the guest's domain runs, by `virsh domstate`. */
export function domainState(lab: LabInfo, host: HostName, name: string): string {
  try {
    return virsh(lab.hosts[host].uri, 'domstate', name, '--reason').trim();
  } catch {
    return 'absent';
  }
}

/**
 * The guest is alive and its memory intact on `host`: it keeps working (page generation rising) and
 * completes a full verification sweep of its whole buffer, after `since` (guest uptime ms), with no
 * corrupt page anywhere in its console. An idle guest (`writing: false`, lab mode `idle`) writes its buffer
 * once: only its verification is asked to go on.
 */
export async function expectIntact(
  lab: LabInfo,
  host: HostName,
  name: string,
  { writing = true }: { writing?: boolean } = {},
): Promise<Stats> {
  const h = lab.hosts[host];
  const statsOf = () => consoleLines(h, name).filter((l): l is Stats => l.kind === 'stats');
  const start = statsOf().at(-1);
  const diagnosed = (err: unknown): Error =>
    new Error(
      `${diagnoseGuest(lab, host, name).report}\n(${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
    );
  let first: Stats;
  let last: Stats;
  try {
    first = (await waitForConsole(
      h,
      name,
      (l) => l.kind === 'stats' && (start === undefined || l.t > start.t),
      60_000,
    )) as Stats;
    last = (await waitForConsole(
      h,
      name,
      (l) => l.kind === 'stats' && l.sweeps >= first.sweeps + 1 && l.t > first.t,
      120_000,
    )) as Stats;
  } catch (err) {
    throw diagnosed(err);
  }
  const corrupt = consoleLines(h, name).filter(
    (l) => l.kind === 'corrupt' || (l.kind === 'stats' && l.corrupt > 0),
  );
  if (corrupt.length > 0)
    throw diagnosed(new Error(`${corrupt.length} corrupt report(s): ${corrupt[0]?.raw}`));
  if (writing) expect(last.gen).toBeGreaterThan(first.gen);
  expect(last.verified).toBeGreaterThan(first.verified);
  return last;
}

/** QEMU's migration parameters on the source (`info migrate_parameters`), as numbers where they are. */
export function qemuParameters(
  lab: LabInfo,
  name: string,
  host: HostName = 'src',
): Record<string, number | string> {
  const out = virsh(lab.hosts[host].uri, 'qemu-monitor-command', name, '--hmp', 'info migrate_parameters');
  const params: Record<string, number | string> = {};
  for (const line of out.split('\n')) {
    const m = /^\s*([\w-]+):\s*(\S+)/.exec(line);
    if (m?.[1] && m[2] !== undefined) params[m[1]] = /^\d+$/.test(m[2]) ? Number(m[2]) : m[2];
  }
  return params;
}

/** Collects every progress report of a job, for maxima after the fact. */
export function recordProgress(job: MigrationJob): MigrationProgress[] {
  const seen: MigrationProgress[] = [];
  job.on('progress', (p) => seen.push(p));
  return seen;
}
