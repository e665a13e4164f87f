/**
 * A compute agent in its own process, for the "agent killed mid-migration" faults: it starts one migration
 * of a lab guest through the public migrate() and prints one JSON line per event on stdout, so the test can
 * kill it at a chosen moment and take over with attachMigration() from its own process.
 *
 * Argument: JSON `{ stateDir, name, bandwidth?, postCopyBandwidth?, instance?, host?, forceCompleteAfterBytes?,
 * sourceUri?, destinationUri?, migrateUri?, tlsPreflight?, postCopyRecovery? }` (the destination defaults to the lab's dst
 * over its socket). Run through lab/in-host.sh it is an agent on a lab host, reaching the other over the link.
 */
import { readLab } from '../../lab/domain.js';
import { type MigrateOptions, migrate } from '../../src/index.js';

const options = JSON.parse(process.argv[2] ?? '{}') as {
  stateDir: string;
  name: string;
  bandwidth?: number;
  postCopyBandwidth?: number;
  instance?: Record<string, unknown>;
  host?: Record<string, unknown>;
  /** Ask for force-complete once QEMU has copied this many bytes. */
  forceCompleteAfterBytes?: number;
  sourceUri?: string;
  destinationUri?: string;
  migrateUri?: string;
  tlsPreflight?: MigrateOptions['tlsPreflight'];
  postCopyRecovery?: MigrateOptions['postCopyRecovery'];
};
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

const lab = readLab(options.stateDir);
if (!lab) throw new Error(`no lab in ${options.stateDir}`);
const job = await migrate({
  source: { uri: options.sourceUri ?? lab.hosts.src.uri },
  domain: { name: options.name },
  destination: {
    uri: options.destinationUri ?? lab.hosts.dst.uri,
    migrateUri: options.migrateUri ?? `tcp://${lab.migrateAddress}`,
  },
  providers: { instanceMetadata: () => options.instance ?? {}, hostConfig: () => options.host ?? {} },
  pollIntervalMs: 250,
  ...(options.bandwidth === undefined ? {} : { bandwidth: options.bandwidth }),
  ...(options.postCopyBandwidth === undefined ? {} : { postCopyBandwidth: options.postCopyBandwidth }),
  ...(options.tlsPreflight === undefined ? {} : { tlsPreflight: options.tlsPreflight }),
  ...(options.postCopyRecovery === undefined ? {} : { postCopyRecovery: options.postCopyRecovery }),
});
job.on('recovery', (r) =>
  say({ kind: 'recovery', event: r.kind, attempt: r.attempt, error: r.error?.message }),
);
job.on('status', (status) => say({ kind: 'status', status }));
let asked = false;
job.on('progress', (p) => {
  say({ kind: 'progress', mode: p.mode, processed: p.memoryProcessed ?? 0 });
  const after = options.forceCompleteAfterBytes;
  if (after === undefined || asked || (p.memoryProcessed ?? 0) < after) return;
  asked = true;
  job.forceComplete().then(
    (action) => say({ kind: 'forceComplete', action }),
    (err: unknown) => say({ kind: 'forceCompleteRefused', error: String(err) }),
  );
});
const outcome = await job.outcome;
say({
  kind: 'outcome',
  status: outcome.status,
  guest: outcome.guest,
  flags: outcome.plan?.flags,
  recovery: outcome.recovery,
  error: outcome.error?.message,
});
