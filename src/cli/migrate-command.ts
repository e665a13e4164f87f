/**
 * `migrate`: a real migration through the library's `migrate()`, drawn live, steerable from the keyboard
 * (Ctrl-C asks to abort) and by `--force-complete-after`. Everything it decides is the library's: this
 * module wires the job's events to the screen.
 */
import { resolve } from 'node:path';
import {
  type Destination,
  type MigrateOptions,
  type MigrationJob,
  type MigrationOutcome,
  MigrationPolicyError,
  migrate,
  planMigration,
  type RecoveryEvent,
  resolveInstancePolicy,
} from '../index.js';
import type { LibvirtBackend } from '../libvirt/index.js';
import { CliError } from './cli-error.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { bytes, grouped, seconds } from './format.js';
import {
  type ConfPaths,
  domainRef,
  readDestinationConf,
  readHostConfig,
  readInstanceFiles,
} from './inputs.js';
import { type OutputStream, progressDisplay } from './progress.js';

/** The command line of `migrate`, parsed. */
export interface MigrateInput extends ConfPaths {
  domain: string;
  destination: string;
  connect: string;
  flavor?: string;
  image?: string;
  migrateUri?: string;
  /** The destination's nova.conf files: its `live_migration_inbound_addr`. */
  destConf?: readonly string[];
  bandwidth?: number;
  forceCompleteAfter?: number;
  block: boolean;
  autoConvergeInitial?: number;
  pollMs?: number;
  /** With native TLS: this host's QEMU certificate directory for the pre-flight (as `migrate_tls_x509_cert_dir`). */
  tlsCertDir?: string;
  /** `adaptive`: the convergence forecast switches, pauses or aborts (default: Nova's fixed timeout). */
  switchover?: 'fixed' | 'adaptive';
}

/** What the command needs from its surroundings; the tests pass their own. */
export interface MigrateEnvironment {
  stdout: OutputStream;
  /** Registers a Ctrl-C handler; returns its removal. */
  onInterrupt(handler: () => void): () => void;
  /** The libvirt binding (koffi's by default). */
  backend?: LibvirtBackend;
}

/** Runs the migration to its end; the exit code says how it ended. */
export async function runMigrate(input: MigrateInput, env: MigrateEnvironment): Promise<ExitCodeValue> {
  // Checked once now, so that a typo or a refusal is reported before anything touches libvirt; read again
  // by the providers just before the call, as the library intends (an edit in between is honoured).
  checkBeforeLibvirt(input);
  const out = (line: string) => env.stdout.write(`${line}\n`);
  const controller = new AbortController();
  let job: MigrationJob | undefined;
  let display: ReturnType<typeof progressDisplay> | undefined;
  let interrupts = 0;
  const stopListening = env.onInterrupt(() => {
    interrupts++;
    if (job === undefined) {
      // Before the job exists, the signal is the only way to reach it: migrate() honours it on start.
      out('Ctrl-C: aborting before the migration starts');
      controller.abort();
      return;
    }
    requestAbort(job, interrupts, (line) => display?.log(line) ?? out(line));
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const options: MigrateOptions = {
      source: { uri: input.connect },
      domain: domainRef(input.domain),
      destination: destinationOf(input, readDestinationConf(input.destConf)),
      providers: {
        instanceMetadata: () => readInstanceFiles(input).metadata,
        hostConfig: () => readHostConfig(input),
      },
      blockMigration: input.block,
      signal: controller.signal,
      ...(input.bandwidth === undefined ? {} : { bandwidth: input.bandwidth }),
      ...(input.autoConvergeInitial === undefined ? {} : { autoConvergeInitial: input.autoConvergeInitial }),
      ...(input.pollMs === undefined ? {} : { pollIntervalMs: input.pollMs }),
      ...(input.switchover === undefined ? {} : { switchover: input.switchover }),
      ...(input.tlsCertDir === undefined ? {} : { tlsPreflight: { certDir: resolve(input.tlsCertDir) } }),
      ...(env.backend === undefined ? {} : { backend: env.backend }),
    };
    job = await migrate(options);
    const title = `${input.domain} → ${input.destination}`;
    display = progressDisplay(env.stdout, title);
    const show = display;
    job.on('plan', (plan) => {
      show.log(`Plan: ${plan.flagNames.join('|')} = ${plan.flags}`);
      for (const reason of plan.reasons) show.log(`  - ${reason}`);
    });
    job.on('status', (status) => show.log(`Status: ${status}`));
    job.on('progress', (progress) => show.update(progress));
    job.on('steering', (event) =>
      show.log(
        `Steering: ${event.action} (${event.reason})${event.error ? ` refused by libvirt: ${event.error.message}` : ''}`,
      ),
    );
    job.on('warning', (warning) => show.log(`Warning: ${warning.message}: ${warning.error.message}`));
    job.on('recovery', (event) => show.log(recoveryLine(event)));
    job.on('forecast', (forecast) =>
      show.log(
        `Forecast at pass ${forecast.iteration}: ${forecast.verdict ?? 'no verdict yet'} (${forecast.reason})`,
      ),
    );
    if (input.forceCompleteAfter !== undefined) {
      const running = job;
      timer = setTimeout(() => {
        running.forceComplete().then(
          (action) => show.log(`Force-complete after ${grouped(input.forceCompleteAfter ?? 0)} s: ${action}`),
          (error: Error) => show.log(`Force-complete refused: ${error.message}`),
        );
      }, input.forceCompleteAfter * 1000);
    }
    const outcome = await job.outcome;
    display.done();
    for (const line of outcomeText(outcome)) out(line);
    return outcome.status === 'completed' ? ExitCode.OK : ExitCode.MIGRATION_FAILED;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    stopListening();
  }
}

/**
 * The whole instance policy with what is known before libvirt is asked anything: the files' shapes, the
 * metadata's keys and booleans, a flavor/image conflict, both features asked for, and a feature this host's
 * nova.conf cannot run. Throws what `explain` throws for the same files, so the exit codes are the same (2
 * for bad input, 4 for a refusal). The guest's state and the versions are checked again at call time.
 */
export function checkBeforeLibvirt(input: MigrateInput): void {
  const { metadata } = readInstanceFiles(input);
  const host = readHostConfig(input);
  resolveInstancePolicy(metadata);
  planMigration({ instance: metadata, ...(host === undefined ? {} : { host }), blockMigration: input.block });
}

/** One step of a broken post-copy's recovery, for the log. */
export function recoveryLine(event: RecoveryEvent): string {
  const cause = event.cause === 'paused' ? 'paused on request' : 'broke';
  const why = event.error ? `: ${event.error.message}` : event.reason ? `: ${event.reason}` : '';
  const next =
    event.nextAttemptInMs === undefined ? '' : `; next attempt in ${seconds(event.nextAttemptInMs)}`;
  const what = {
    stopped: `Post-copy ${cause}: resuming it (POSTCOPY_RESUME)`,
    attempt: `Recovery: attempt ${event.attempt}`,
    'attempt-failed': `Recovery: attempt ${event.attempt} failed`,
    recovered: `Recovery: post-copy resumed at attempt ${event.attempt}`,
    refused: 'Recovery: not attempted',
    'given-up': `Recovery: given up after ${event.attempt} attempt(s)`,
  }[event.kind];
  return `${what}${why}${next}`;
}

/** Ctrl-C during the migration: abort when allowed, otherwise say why not and carry on. */
function requestAbort(job: MigrationJob, interrupts: number, say: (line: string) => void): void {
  if (interrupts > 1 && job.status !== 'running (post-copy)' && job.status !== 'recovering (post-copy)') {
    say('Ctrl-C: the abort was already requested; waiting for libvirt to cancel the migration');
    return;
  }
  try {
    job.abort();
    say('Ctrl-C: abort requested; the guest stays on the source');
  } catch (err) {
    if (err instanceof MigrationPolicyError) {
      say(`Ctrl-C: abort refused (${err.code}): ${err.message}. The migration goes on.`);
      return;
    }
    throw err;
  }
}

function destinationOf(input: MigrateInput, inboundAddress: string | undefined): Destination {
  const isUri = input.destination.includes('://');
  if (isUri && input.destConf !== undefined && input.destConf.length > 0) {
    throw new CliError(
      "--dest-conf needs DEST as a host name: the URIs are built from it and the destination's " +
        'live_migration_inbound_addr, as Nova does; with a libvirt URI as DEST, pass --migrate-uri instead',
    );
  }
  if (isUri) {
    return input.migrateUri === undefined
      ? { uri: input.destination }
      : { uri: input.destination, migrateUri: input.migrateUri };
  }
  if (input.migrateUri !== undefined) {
    throw new CliError(
      `--migrate-uri needs DEST as a libvirt URI (e.g. qemu+tcp://${input.destination}/system); with a host ` +
        "name the URIs are built as Nova does (pass the destination's nova.conf with --dest-conf for its " +
        'live_migration_inbound_addr)',
    );
  }
  return inboundAddress === undefined
    ? { host: input.destination }
    : { host: input.destination, inboundAddress };
}

/** The ending, with the completed job's stats. */
export function outcomeText(outcome: MigrationOutcome): string[] {
  const where = {
    destination: 'the guest runs on the destination',
    source: 'the guest runs on the source',
    unknown: 'where the guest runs is unknown: check both hosts',
  }[outcome.guest];
  const lines = [`Outcome: ${outcome.status}: ${where}`];
  if (outcome.error !== undefined) lines.push(`  error: ${outcome.error.message}`);
  const r = outcome.recovery;
  if (r !== undefined) {
    const how = r.recovered ? 'recovered' : r.refused ? `not attempted: ${r.refused}` : 'not recovered';
    lines.push(
      `  post-copy ${r.cause === 'paused' ? 'paused' : 'broke'}: ${how} (${r.attempts} attempt(s), ${seconds(r.durationMs)})`,
    );
  }
  if (outcome.split !== undefined) {
    const { source, destination, authoritative, destroy, advice } = outcome.split;
    lines.push(
      `  copies: source ${source}, destination ${destination}; holds the guest: ${authoritative}${destroy ? `; destroy: ${destroy}` : ''}`,
    );
    lines.push(`  next: ${advice}`);
  } else if (outcome.postCopyFailed) {
    lines.push(
      '  post-copy failed: the guest is paused on the source and runs degraded on the destination; recover it ' +
        'with a POSTCOPY_RESUME migration, never by resuming the source',
    );
  }
  const s = outcome.stats;
  if (s !== undefined) {
    if (s.downtime !== undefined) lines.push(`  downtime: ${grouped(s.downtime)} ms`);
    if (s.timeElapsed !== undefined) lines.push(`  total time: ${seconds(s.timeElapsed)}`);
    if (s.dataProcessed !== undefined) lines.push(`  data moved: ${bytes(s.dataProcessed)}`);
    if (s.memoryProcessed !== undefined) lines.push(`  memory moved: ${bytes(s.memoryProcessed)}`);
    if (s.memoryIteration !== undefined) lines.push(`  passes: ${s.memoryIteration}`);
    if (s.memoryPostcopyRequests !== undefined)
      lines.push(`  post-copy requests: ${grouped(s.memoryPostcopyRequests)}`);
    if (s.autoConvergeThrottle !== undefined) lines.push(`  last throttle: ${s.autoConvergeThrottle}%`);
  }
  if (outcome.plan !== undefined)
    lines.push(`  flags: ${outcome.plan.flagNames.join('|')} = ${outcome.plan.flags}`);
  for (const step of outcome.steering) {
    lines.push(
      `  steering at ${seconds(step.elapsedMs)}: ${step.action} (${step.reason})${step.error ? ' — refused' : ''}`,
    );
  }
  if (outcome.warnings.length > 0) lines.push(`  warnings: ${outcome.warnings.length} (printed above)`);
  return lines;
}
