/**
 * The `libvirt-migration-policy` command line: argument parsing (commander), the three commands, and the
 * one place where every error becomes a message and an exit code. `main.ts` runs it on the real process;
 * the tests run it in-process with their own streams and libvirt backend.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  LibvirtError,
  LibvirtMigrationError,
  LibvirtUnavailableError,
  MigrationJobError,
  MigrationPolicyError,
  PlacementError,
} from '../index.js';
import type { LibvirtBackend } from '../libvirt/index.js';
import { addCandidatesCommand } from './candidates-command.js';
import { CliError } from './cli-error.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { type ExplainInput, explain, parseMemoryMiB } from './explain.js';
import { explanationText } from './explain-text.js';
import { type ConfPaths, readConfWarnings } from './inputs.js';
import { type MigrateInput, runMigrate } from './migrate-command.js';
import { type PredictInput, predictReport, predictText } from './predict-command.js';
import type { OutputStream } from './progress.js';
import { commandLineSecrets, redactingStream } from './redacting-stream.js';
import { type TraitsInput, traitsReport } from './traits-command.js';
import { type TraitsReportOptions, traitsOutput } from './traits-report.js';

/** Where the CLI reads and writes; `main.ts` passes the process's. */
export interface CliEnvironment {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Registers a Ctrl-C handler; returns its removal. */
  onInterrupt(handler: () => void): () => void;
  /** The libvirt binding; koffi's by default. */
  backend?: LibvirtBackend;
}

const NAME = 'libvirt-migration-policy';

/** Runs one command line (without `node` and the script) and resolves its exit code. Never rejects. */
export async function runCli(argv: readonly string[], given: CliEnvironment): Promise<ExitCodeValue> {
  // Nothing the CLI prints carries a credential: a URI's password, a token (src/redact.ts).
  const secrets = commandLineSecrets(argv);
  const env = {
    ...given,
    stdout: redactingStream(given.stdout, secrets),
    stderr: redactingStream(given.stderr, secrets),
  };
  let code: ExitCodeValue = ExitCode.OK;
  const program = buildProgram(env, (c) => {
    code = c;
  });
  const json = argv.includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    return report(err, env.stderr, json);
  }
}

/** nova.conf's ignored keys, one line each on stderr (a JSON object each with `--json`); never fatal. */
function warn(stderr: OutputStream, paths: ConfPaths, json: boolean): void {
  for (const w of readConfWarnings(paths)) {
    stderr.write(json ? `${JSON.stringify({ warning: w })}\n` : `${NAME}: warning: ${w.message}\n`);
  }
}

function buildProgram(env: CliEnvironment, setCode: (code: ExitCodeValue) => void): Command {
  const print = (lines: string[]) => env.stdout.write(`${lines.join('\n')}\n`);
  const program = new Command(NAME)
    .description(
      'Per-instance live-migration policy for libvirt/QEMU clouds: explain the decision for an instance, ' +
        "report a host's traits, run a migration.",
    )
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => env.stdout.write(text),
      writeErr: (text) => env.stderr.write(text),
      // Usage errors are reported by report(), in the one format every error has.
      outputError: () => undefined,
    })
    .addHelpText('after', EXIT_CODES_HELP);

  program
    .command('explain')
    .summary('why an instance migrates the way it does, from its flavor, image and nova.conf')
    .description(
      'Explain the migration decision for one instance on one host: the features and where each came from, ' +
        'what was dropped and why, required traits, flags, force-complete and the completion timeout.',
    )
    .option(
      '--flavor <file>',
      "the instance's flavor: best `openstack server show -f json` (compute API >= 2.47: the copy Nova " +
        'decides from); also `openstack flavor show -f json`, a Nova API flavor or os-extra_specs',
    )
    .option(
      '--image <file>',
      "the image: `openstack image show IMAGE -f json` of the server's image, or a Glance v2 image",
    )
    .option('--conf <file>', 'a nova.conf file, as --config-file (repeat: later files win)', collect)
    .option(
      '--conf-dir <dir>',
      "a nova.conf.d directory: its *.conf files, sorted, after the --conf's",
      collect,
    )
    .option(
      '--domain-xml <file>',
      "the guest's domain XML (`virsh dumpxml DOMAIN`): VFIO devices rule post-copy out",
    )
    .option('--dest <host>', 'the destination host, for the URIs (default: DEST as a placeholder)')
    .option(
      '--dest-conf <file>',
      "the destination's nova.conf, for its live_migration_inbound_addr (repeat: later files win)",
      collect,
    )
    .option('--paused', 'the guest is paused (libvirt refuses post-copy for it)')
    .option('--block', 'block migration: the disks are copied too')
    .option('--qemu-version <version>', 'check the features against this QEMU version, e.g. 7.2.0')
    .option('--libvirt-version <version>', 'check the features against this libvirt version, e.g. 9.0.0')
    .option(
      '--memory-mib <MiB>',
      "the guest's RAM for the timeouts (default: the flavor's ram)",
      cliParse(parseMemoryMiB),
    )
    .option('--json', 'print the explanation, the plan included, as JSON')
    .addHelpText('after', EXPLAIN_EXAMPLE)
    .action((opts: ExplainOptions) => {
      const input = explainInput(opts);
      warn(env.stderr, input, opts.json === true);
      const explanation = explain(input);
      if (opts.json) print([JSON.stringify(explanation, null, 2)]);
      else print(explanationText(explanation));
      setCode(ExitCode.OK);
    });

  program
    .command('traits')
    .summary("the host's placement traits, from versions given or a live libvirtd")
    .description(
      "Report the host's placement traits (COMPUTE_MIGRATE_AUTO_CONVERGE, COMPUTE_MIGRATE_POST_COPY) from its " +
        'versions and nova.conf, given or read from a live libvirtd.',
    )
    .option('--conf <file>', 'a nova.conf file (repeat: later files win)', collect)
    .option('--conf-dir <dir>', 'a nova.conf.d directory', collect)
    .option('--connect <uri>', 'ask this libvirtd for its versions, e.g. qemu:///system')
    .option('--libvirt-version <version>', "the host's libvirt version, e.g. 9.0.0")
    .option('--qemu-version <version>', "the host's QEMU version, e.g. 7.2.0")
    .option('--json', 'print the report as JSON')
    .option(
      '--report',
      "write the traits to the host's resource provider in Placement (--placement, --provider)",
    )
    .option('--placement <url>', "Placement's endpoint, e.g. http://controller:8778 (with --report)")
    .option('--provider <uuid>', "the host's resource provider: its compute node UUID (with --report)")
    .option('--token <token>', 'a Keystone token (default: $OS_TOKEN, then $OS_AUTH_TOKEN)')
    .action(async (opts: TraitsOptions & TraitsReportOptions) => {
      const input: TraitsInput = {
        files: opts.conf ?? [],
        dirs: opts.confDir ?? [],
        ...(opts.connect === undefined ? {} : { connect: opts.connect }),
        ...(opts.libvirtVersion === undefined ? {} : { libvirtVersion: opts.libvirtVersion }),
        ...(opts.qemuVersion === undefined ? {} : { qemuVersion: opts.qemuVersion }),
      };
      warn(env.stderr, input, opts.json === true);
      const report = await traitsReport(input, env.backend);
      print(await traitsOutput(report, opts));
      setCode(ExitCode.OK);
    });

  const migrateCommand = program
    .command('migrate')
    .summary('live-migrate a guest with the per-instance policy, progress drawn live')
    .description(
      'Live-migrate DOMAIN (name or UUID) to DEST (a host name, or a libvirt URI such as ' +
        'qemu+tcp://compute-2/system) with the flags decided from the flavor, image and nova.conf just before ' +
        'the call; progress is drawn live, Ctrl-C asks to abort.',
    )
    .argument('<domain>', "the guest's name or UUID on the source")
    .argument('<dest>', 'the destination host (URIs built as Nova does) or libvirt URI')
    .requiredOption('--connect <uri>', '(required) the source libvirtd, e.g. qemu:///system');
  withInstanceFiles(migrateCommand)
    .option(
      '--dest-conf <file>',
      "the destination's nova.conf, for its live_migration_inbound_addr (repeat: later files win)",
      collect,
    )
    .option('--migrate-uri <uri>', "where QEMU's stream goes, e.g. tcp://192.0.2.7 (DEST must be a URI)")
    .option(
      '--bandwidth <MiB/s>',
      "bandwidth limit (default: nova.conf's live_migration_bandwidth)",
      cliParse(wholeNumber('--bandwidth', 0)),
    )
    .option(
      '--force-complete-after <seconds>',
      'force-complete after this many seconds',
      cliParse(wholeNumber('--force-complete-after', 0)),
    )
    .option('--block', 'block migration: copy the disks too')
    .addOption(
      new Option(
        '--switchover <how>',
        "when a pre-copy that cannot converge is switched, paused or aborted: fixed (Nova's completion timeout) or adaptive (the convergence forecast)",
      )
        .choices(['fixed', 'adaptive'])
        .default('fixed'),
    )
    .option(
      '--tls-cert-dir <dir>',
      "with native TLS: this host's QEMU certificates, checked before libvirt is called (default /etc/pki/qemu, qemu.conf's migrate_tls_x509_cert_dir)",
    )
    .option(
      '--auto-converge-initial <percent>',
      "auto-converge's first throttle, 1-99 (sent only when it is on)",
      cliParse(wholeNumber('--auto-converge-initial', 1, 99)),
    )
    .addOption(
      new Option('--poll-ms <ms>', 'how often job stats are read')
        .argParser(cliParse(wholeNumber('--poll-ms', 10)))
        .hideHelp(),
    )
    .action(async (domain: string, dest: string, opts: MigrateOptionsCli) => {
      const input: MigrateInput = {
        domain,
        destination: dest,
        connect: opts.connect,
        files: opts.conf ?? [],
        dirs: opts.confDir ?? [],
        block: opts.block === true,
        ...(opts.flavor === undefined ? {} : { flavor: opts.flavor }),
        ...(opts.image === undefined ? {} : { image: opts.image }),
        ...(opts.migrateUri === undefined ? {} : { migrateUri: opts.migrateUri }),
        ...(opts.destConf === undefined ? {} : { destConf: opts.destConf }),
        ...(opts.bandwidth === undefined ? {} : { bandwidth: opts.bandwidth }),
        ...(opts.forceCompleteAfter === undefined ? {} : { forceCompleteAfter: opts.forceCompleteAfter }),
        ...(opts.autoConvergeInitial === undefined ? {} : { autoConvergeInitial: opts.autoConvergeInitial }),
        ...(opts.pollMs === undefined ? {} : { pollMs: opts.pollMs }),
        ...(opts.tlsCertDir === undefined ? {} : { tlsCertDir: opts.tlsCertDir }),
        ...(opts.switchover === 'adaptive' ? { switchover: 'adaptive' as const } : {}),
      };
      warn(env.stderr, input, false);
      setCode(
        await runMigrate(input, {
          stdout: env.stdout,
          onInterrupt: env.onInterrupt,
          ...(env.backend === undefined ? {} : { backend: env.backend }),
        }),
      );
    });
  const predictCommand = program
    .command('predict')
    .summary('before migrating: what the policy will do on this link, from the dirty rate QEMU measures now')
    .description(
      "Measure DOMAIN's dirty rate (QEMU, over --seconds), then forecast what this instance's own policy will " +
        'do on this link and what each other way would cost: pre-copy, auto-converge, post-copy after the ' +
        'first pass, the adaptive switchover. Says where each number came from.',
    )
    .argument('<domain>', "the guest's name or UUID")
    .requiredOption('--connect <uri>', "(required) the guest's libvirtd, e.g. qemu:///system");
  withInstanceFiles(predictCommand)
    .option(
      '--bandwidth <MiB/s>',
      "the link's bandwidth for the stream (default: nova.conf's live_migration_bandwidth when set)",
      cliParse(wholeNumber('--bandwidth', 1)),
    )
    .option(
      '--seconds <n>',
      'how long QEMU measures the dirty rate, 1-60 (default 3)',
      cliParse(wholeNumber('--seconds', 1, 60)),
    )
    .option('--json', 'print the measurement and the forecast as JSON')
    .action(async (domain: string, opts: PredictOptionsCli) => {
      const input: PredictInput = {
        domain,
        connect: opts.connect,
        files: opts.conf ?? [],
        dirs: opts.confDir ?? [],
        ...(opts.flavor === undefined ? {} : { flavor: opts.flavor }),
        ...(opts.image === undefined ? {} : { image: opts.image }),
        ...(opts.bandwidth === undefined ? {} : { bandwidth: opts.bandwidth }),
        ...(opts.seconds === undefined ? {} : { seconds: opts.seconds }),
      };
      warn(env.stderr, input, opts.json === true);
      const report = await predictReport(input, env.backend);
      print(opts.json ? [JSON.stringify(report, null, 2)] : predictText(report));
      setCode(ExitCode.OK);
    });
  addCandidatesCommand(program, print, setCode);
  return program;
}

interface ExplainOptions {
  flavor?: string;
  image?: string;
  dest?: string;
  destConf?: string[];
  domainXml?: string;
  conf?: string[];
  confDir?: string[];
  paused?: boolean;
  block?: boolean;
  qemuVersion?: string;
  libvirtVersion?: string;
  memoryMib?: number;
  json?: boolean;
}

interface TraitsOptions {
  conf?: string[];
  confDir?: string[];
  connect?: string;
  libvirtVersion?: string;
  qemuVersion?: string;
  json?: boolean;
}

interface PredictOptionsCli {
  connect: string;
  flavor?: string;
  image?: string;
  conf?: string[];
  confDir?: string[];
  bandwidth?: number;
  seconds?: number;
  json?: boolean;
}

interface MigrateOptionsCli {
  connect: string;
  flavor?: string;
  image?: string;
  conf?: string[];
  confDir?: string[];
  migrateUri?: string;
  destConf?: string[];
  bandwidth?: number;
  forceCompleteAfter?: number;
  block?: boolean;
  autoConvergeInitial?: number;
  pollMs?: number;
  tlsCertDir?: string;
  switchover?: 'fixed' | 'adaptive';
}

function explainInput(opts: ExplainOptions): ExplainInput {
  return {
    files: opts.conf ?? [],
    dirs: opts.confDir ?? [],
    paused: opts.paused === true,
    block: opts.block === true,
    ...(opts.flavor === undefined ? {} : { flavor: opts.flavor }),
    ...(opts.image === undefined ? {} : { image: opts.image }),
    ...(opts.dest === undefined ? {} : { dest: opts.dest }),
    ...(opts.domainXml === undefined ? {} : { domainXml: opts.domainXml }),
    ...(opts.destConf === undefined ? {} : { destConf: opts.destConf }),
    ...(opts.qemuVersion === undefined ? {} : { qemuVersion: opts.qemuVersion }),
    ...(opts.libvirtVersion === undefined ? {} : { libvirtVersion: opts.libvirtVersion }),
    ...(opts.memoryMib === undefined ? {} : { memoryMiB: opts.memoryMib }),
  };
}

/** The instance's flavor and image files and the host's nova.conf, as `migrate` and `predict` read them. */
function withInstanceFiles(command: Command): Command {
  return command
    .option(
      '--flavor <file>',
      "the instance's flavor: `openstack server show -f json` (API >= 2.47), or `openstack flavor show -f json`",
    )
    .option('--image <file>', "`openstack image show IMAGE -f json` of the server's image")
    .option('--conf <file>', 'a nova.conf file (repeat: later files win)', collect)
    .option('--conf-dir <dir>', 'a nova.conf.d directory', collect);
}

/** Repeatable options; no default given to commander, so that its help does not print "(default: [])". */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A commander argument parser from one of ours: its message becomes commander's usage error. */
function cliParse<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

function wholeNumber(option: string, min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
      throw new CliError(
        `${option} is "${text}": use a whole number${max === Number.MAX_SAFE_INTEGER ? ` of at least ${min}` : ` from ${min} to ${max}`}`,
      );
    }
    return value;
  };
}

/**
 * Prints one error and picks its exit code. Every error has one format — `libvirt-migration-policy: CODE:
 * message` on one line (a stack only for what must be a bug) — or, with `--json`, one JSON object
 * `{ "error": { code, message, exitCode, key?, value? } }`.
 */
function report(err: unknown, stderr: OutputStream, json: boolean): ExitCodeValue {
  const fail = (exit: ExitCodeValue, code: string, message: string, extra: object = {}) => {
    stderr.write(
      json
        ? `${JSON.stringify({ error: { code, message, exitCode: exit, ...extra } })}\n`
        : `${NAME}: ${code}: ${message}\n`,
    );
    return exit;
  };
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return ExitCode.OK; // --help, --version
    const message = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    return fail(ExitCode.USAGE, USAGE, `${message} (add --help for usage)`);
  }
  if (err instanceof CliError) return fail(err.exitCode, USAGE, err.message);
  const details = (e: LibvirtMigrationError) => {
    const { key, value } = e.toJSON();
    return { ...(key === undefined ? {} : { key }), ...(value === undefined ? {} : { value }) };
  };
  if (err instanceof MigrationPolicyError) {
    const refused = POLICY_REFUSALS.has(err.code);
    return fail(refused ? ExitCode.POLICY_REFUSED : ExitCode.USAGE, err.code, err.message, details(err));
  }
  if (err instanceof MigrationJobError) {
    const exit = err.code === 'INVALID_OPTIONS' ? ExitCode.USAGE : ExitCode.MIGRATION_FAILED;
    return fail(exit, err.code, err.message, details(err));
  }
  if (err instanceof LibvirtUnavailableError || err instanceof LibvirtError) {
    return fail(ExitCode.LIBVIRT, err.code, err.message);
  }
  if (err instanceof PlacementError) return fail(ExitCode.PLACEMENT, err.code, err.message);
  if (err instanceof LibvirtMigrationError) return fail(ExitCode.INTERNAL, err.code, err.message);
  return fail(
    ExitCode.INTERNAL,
    'INTERNAL_ERROR',
    `a bug in this program: please report it with this message at ${BUGS_URL}\n` +
      `${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
  );
}

/** The code of the command line's own errors: an unknown option, a missing file, a bad number. */
const USAGE = 'INVALID_INPUT';

/** Well-formed input the policy refuses for this instance on this host. */
const POLICY_REFUSALS = new Set<string>([
  'FLAVOR_IMAGE_CONFLICT',
  'CONFLICTING_FEATURES',
  'POST_COPY_UNAVAILABLE',
  'AUTO_CONVERGE_UNAVAILABLE',
]);

/** Where bugs are reported: package.json's `bugs.url`. */
const BUGS_URL = (createRequire(import.meta.url)('../../package.json') as { bugs: { url: string } }).bugs.url;

function packageVersion(): string {
  // ../../package.json from both src/cli and dist/cli.
  const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
  return pkg.version;
}

const EXIT_CODES_HELP = `
Exit codes:
  0   done (explanation or report printed, migration completed)
  1   the migration did not complete (failed, cancelled, error)
  2   bad input: options, missing file, wrong JSON shape, invalid nova.conf (file and line given)
  3   libvirt unavailable, connection failed or lost, domain not found
  4   the policy refuses the instance on this host (e.g. it requires post-copy the host cannot do)
  5   Placement unreachable, refused the request or the token, too old, or answered nonsense
  6   candidates: no host satisfies the request (the output says why)
  70  internal error (a bug: report it, the message says where)

Documentation: docs/cli.md`;

const EXPLAIN_EXAMPLE = `
Example:
  # the instance's own copy of its flavor (what Nova decides from), and the image it names
  openstack --os-compute-api-version 2.47 server show db-1 -f json > server.json
  openstack image show IMAGE_ID -f json > image.json    # IMAGE_ID: the id in server.json's "image"
  ${NAME} explain --flavor server.json --image image.json \\
    --conf /etc/nova/nova.conf --conf-dir /etc/nova/nova.conf.d`;
