/**
 * `explain`: the decision for one instance on one host, with where each part of it came from. The decision
 * itself is the library's (`planMigration` and friends); this module only gathers the facts around it.
 */
import {
  type DecisionSource,
  type ForceCompleteAction,
  forceCompleteAction,
  type GuestDescription,
  type HostConfig,
  type InstanceMetadata,
  type MigrationPlan,
  MigrationPolicyError,
  type NovaDestinationUris,
  novaDestinationUris,
  originOf,
  parseDomainXml,
  planMigration,
  requiredTraits,
  resolveHostConfig,
  type TimeoutAction,
  type Trait,
} from '../index.js';
import {
  completionTimeoutSeconds,
  downtimeSchedule,
  encodeVersion,
  HOST_OPTIONS,
  migrationDataGb,
  postCopyGuestCautions,
  type TlsRequirements,
  tlsRequirements,
} from '../policy/index.js';
import { CliError } from './cli-error.js';
import { grouped } from './format.js';
import {
  type ConfPaths,
  readDestinationConf,
  readHostConfig,
  readInstanceFiles,
  readText,
} from './inputs.js';

/** The command line of `explain`, parsed. */
export interface ExplainInput extends ConfPaths {
  flavor?: string;
  image?: string;
  /** The destination host for the URIs; `DEST` stands in for it when left out. */
  dest?: string;
  /** The destination's nova.conf files, for its `live_migration_inbound_addr`. */
  destConf?: readonly string[];
  /** The guest's domain XML (`virsh dumpxml`): its devices may rule post-copy out. */
  domainXml?: string;
  paused: boolean;
  block: boolean;
  qemuVersion?: string;
  libvirtVersion?: string;
  memoryMiB?: number;
}

/** One feature's outcome, and who decided it. */
export interface FeatureExplanation {
  enabled: boolean;
  source: DecisionSource;
  /** The flavor or image file, the nova.conf file and line, or "Nova's default". */
  from: string;
  /** The sentence that explains it, stated with Nova's rule for a paused guest. */
  reason: string;
  /** Set when the feature was wanted (by the instance or the host) but is not used, with why. */
  dropped?: string;
}

/** The completion timeout and how it was computed. */
export interface TimeoutExplanation {
  /** `live_migration_completion_timeout`, s/GiB; 0 disables. */
  perGiB: number;
  /** GiB counted (Nova: RAM with a 2 GiB minimum); undefined when the guest's size is unknown. */
  dataGb: number | undefined;
  seconds: number | undefined;
  /** `800 s/GiB × 64 GiB = 51,200 s`, or why there is no figure. */
  arithmetic: string;
  action: TimeoutAction;
  /** Where the two options were set. */
  from: { completionTimeout: string; timeoutAction: string };
}

/** Everything `explain` prints; `--json` prints it as it is. */
export interface Explanation {
  inputs: {
    flavor?: string;
    image?: string;
    domainXml?: string;
    conf: readonly string[];
    confDirs: readonly string[];
  };
  /** The guest's description, when its domain XML was given. */
  guest?: GuestDescription;
  instance: InstanceMetadata;
  paused: boolean;
  blockMigration: boolean;
  features: { postCopy: FeatureExplanation; autoConverge: FeatureExplanation };
  requiredTraits: Trait[];
  flags: { value: number; names: string[] };
  forceComplete: { action: ForceCompleteAction; description: string };
  completionTimeout: TimeoutExplanation;
  downtime: { maxMs: number; steps: number; stepDelaySeconds: number | undefined; arithmetic: string };
  /** The destination's URIs as Nova builds them, with where each came from. */
  destination: { host: string } & NovaDestinationUris;
  /** Host options that were set in a file, with where: `{ permitPostCopy: "nova.conf line 8" }`. */
  hostOrigins: Partial<Record<keyof HostConfig, string>>;
  notes: string[];
  /** The plan exactly as `planMigration` returned it. */
  plan: MigrationPlan;
  /** Whether native TLS encrypts the stream, and what every host needs for it. */
  tls: TlsRequirements;
}

const NOVA_DEFAULT = "Nova's default";

/** Reads the files and explains the decision. Throws `CliError` or the library's errors for bad input. */
export function explain(input: ExplainInput): Explanation {
  const { metadata, flavorRamMiB } = readInstanceFiles(input);
  const host = resolveHostConfig(readHostConfig(input));
  const memoryMiB = input.memoryMiB ?? flavorRamMiB;
  const guest = input.domainXml === undefined ? undefined : readDomainXml(input.domainXml);
  const planInput = {
    instance: metadata,
    host,
    ...(guest === undefined ? {} : { guest }),
    blockMigration: input.block,
    paused: input.paused,
    // Encoded here so that a bad one is named by its flag, as the operator typed it.
    ...(input.libvirtVersion === undefined
      ? {}
      : { libvirtVersion: encodeVersion(input.libvirtVersion, '--libvirt-version') }),
    ...(input.qemuVersion === undefined
      ? {}
      : { qemuVersion: encodeVersion(input.qemuVersion, '--qemu-version') }),
  };
  const plan = planMigration(planInput);
  // The same instance running: tells whether the pause is what took post-copy away.
  const running = input.paused ? planMigration({ ...planInput, paused: false }) : plan;
  const pauseDroppedPostCopy = running.postCopy && !plan.postCopy;

  const where = (key: keyof HostConfig) => originOf(host, key) ?? NOVA_DEFAULT;
  const fromOf = (source: DecisionSource, key: keyof HostConfig): string => {
    if (source === 'flavor') return `flavor (${input.flavor})`;
    if (source === 'image') return `image (${input.image})`;
    if (source === 'flavor and image') return `flavor and image (${input.flavor}, ${input.image})`;
    return where(key);
  };

  const postCopy: FeatureExplanation = {
    enabled: plan.postCopy,
    source: plan.decisions.postCopy.source,
    from: fromOf(plan.decisions.postCopy.source, 'permitPostCopy'),
    reason: plan.decisions.postCopy.reason,
  };
  if (pauseDroppedPostCopy) {
    postCopy.dropped = 'the guest is paused: libvirt refuses post-copy for a paused guest (Nova removes it)';
  } else if (plan.decisions.postCopy.reason.startsWith('post-copy dropped')) {
    postCopy.dropped = plan.decisions.postCopy.reason.replace(/^post-copy dropped: /, '');
  }

  const autoConverge: FeatureExplanation = {
    enabled: plan.autoConverge,
    source: plan.decisions.autoConverge.source,
    from: fromOf(plan.decisions.autoConverge.source, 'permitAutoConverge'),
    reason: plan.decisions.autoConverge.reason,
  };
  if (
    pauseDroppedPostCopy &&
    !plan.autoConverge &&
    autoConverge.source === 'host' &&
    host.permitAutoConverge
  ) {
    // planMigration's sentence ("post-copy was chosen and wins") reads as a contradiction next to "post-copy
    // dropped"; this is the same decision told in the order Nova takes it.
    const by = {
      flavor: 'by the flavor',
      image: 'by the image',
      'flavor and image': 'by the flavor and the image',
      host: "by the host's nova.conf",
    }[running.decisions.postCopy.source];
    autoConverge.reason =
      `auto-converge off: ${optionText(host, 'permitAutoConverge')} permits it, but post-copy was chosen first ` +
      `(${by}) and the two never go together; Nova then drops post-copy alone, just before the call, because ` +
      'the guest is paused, and does not put auto-converge back. Nothing is lost: a paused guest dirties no ' +
      'memory, so the copy converges without throttling vCPUs that are not running';
  } else if (plan.decisions.autoConverge.reason.startsWith('auto-converge dropped')) {
    autoConverge.dropped = plan.decisions.autoConverge.reason.replace(/^auto-converge dropped: /, '');
  } else if (
    !plan.autoConverge &&
    autoConverge.source === 'host' &&
    host.permitAutoConverge &&
    plan.postCopy
  ) {
    // The line permits it: what turned it off is post-copy, which wins over auto-converge.
    autoConverge.from = `post-copy won (${optionText(host, 'permitAutoConverge')} permits it)`;
  }

  const action = forceCompleteAction(plan, 'running');
  const reasons = new Set([plan.decisions.postCopy.reason, plan.decisions.autoConverge.reason]);
  const notes = plan.reasons.filter((reason) => !reasons.has(reason));
  const dataGb = memoryMiB === undefined ? undefined : migrationDataGb({ memoryMiB });
  if (guest !== undefined) {
    for (const caution of postCopyGuestCautions(guest)) notes.push(`post-copy caution: ${caution}`);
  }
  if (memoryMiB !== undefined && memoryMiB < 2048) {
    notes.push(`the guest has ${grouped(memoryMiB)} MiB; Nova counts at least 2 GiB for its timeouts`);
  }
  if (input.block) {
    notes.push(
      "block migration: Nova adds each copied disk's allocation (at least 2 GiB each) to the size; only " +
        'libvirt knows it at migration time, so the figures here count memory alone',
    );
  }
  const hostOrigins: Partial<Record<keyof HostConfig, string>> = {};
  for (const key of Object.keys(HOST_OPTIONS) as (keyof HostConfig)[]) {
    const origin = originOf(host, key);
    if (origin !== undefined) hostOrigins[key] = origin;
  }

  return {
    inputs: {
      ...(input.flavor === undefined ? {} : { flavor: input.flavor }),
      ...(input.image === undefined ? {} : { image: input.image }),
      ...(input.domainXml === undefined ? {} : { domainXml: input.domainXml }),
      conf: input.files,
      confDirs: input.dirs,
    },
    instance: metadata,
    ...(guest === undefined ? {} : { guest }),
    paused: input.paused,
    blockMigration: input.block,
    features: { postCopy, autoConverge },
    requiredTraits: requiredTraits(metadata),
    flags: { value: plan.flags, names: plan.flagNames },
    forceComplete: { action, description: FORCE_COMPLETE[action] },
    completionTimeout: timeoutOf(host, dataGb, where),
    downtime: downtimeOf(host, dataGb),
    destination: destinationOf(input, host),
    hostOrigins,
    notes,
    plan,
    tls: tlsRequirements(host),
  };
}

function destinationOf(input: ExplainInput, host: HostConfig): Explanation['destination'] {
  const name = input.dest ?? 'DEST';
  const inboundAddress = readDestinationConf(input.destConf);
  return {
    host: name,
    ...novaDestinationUris({
      host: name,
      source: host,
      ...(inboundAddress === undefined ? {} : { inboundAddress }),
    }),
  };
}

const FORCE_COMPLETE: Record<ForceCompleteAction, string> = {
  'switch-to-post-copy': 'switch to post-copy: the guest goes on running on the destination at once',
  pause:
    'pause the guest on the source until the copy catches up (resumed there if the migration then fails)',
  none: 'nothing',
};

function optionText(host: HostConfig, key: keyof HostConfig): string {
  const value = host[key];
  const shown = typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value);
  const origin = originOf(host, key);
  return `[libvirt] ${HOST_OPTIONS[key].option} = ${shown}${origin === undefined ? ` (${NOVA_DEFAULT})` : ` (${origin})`}`;
}

function timeoutOf(
  host: HostConfig,
  dataGb: number | undefined,
  where: (key: keyof HostConfig) => string,
): TimeoutExplanation {
  const perGiB = host.completionTimeout;
  const from = { completionTimeout: where('completionTimeout'), timeoutAction: where('timeoutAction') };
  const base = { perGiB, dataGb, action: host.timeoutAction, from };
  if (perGiB === 0) {
    return { ...base, seconds: undefined, arithmetic: 'disabled (live_migration_completion_timeout = 0)' };
  }
  if (dataGb === undefined) {
    return {
      ...base,
      seconds: undefined,
      arithmetic: `${grouped(perGiB)} s/GiB × the guest's GiB (unknown: pass a flavor with "ram" or --memory-mib)`,
    };
  }
  const total = completionTimeoutSeconds(dataGb, host);
  return {
    ...base,
    seconds: total,
    arithmetic: `${grouped(perGiB)} s/GiB × ${grouped(dataGb)} GiB = ${grouped(total ?? 0)} s`,
  };
}

function downtimeOf(host: HostConfig, dataGb: number | undefined): Explanation['downtime'] {
  const base = { maxMs: host.downtime, steps: host.downtimeSteps };
  if (dataGb === undefined) {
    return {
      ...base,
      stepDelaySeconds: undefined,
      arithmetic: `${grouped(host.downtimeSteps)} steps up to ${grouped(host.downtime)} ms, one every ${grouped(host.downtimeDelay)} s/GiB × the guest's GiB`,
    };
  }
  const schedule = downtimeSchedule(dataGb, host);
  return {
    ...base,
    stepDelaySeconds: schedule.delaySeconds,
    arithmetic:
      `${grouped(host.downtimeSteps)} steps up to ${grouped(host.downtime)} ms, one every ` +
      `${grouped(host.downtimeDelay)} s/GiB × ${grouped(dataGb)} GiB = ${grouped(schedule.delaySeconds)} s`,
  };
}

/** The domain XML file, parsed; its errors name the file. */
function readDomainXml(path: string) {
  const xml = readText(path, 'domain XML file');
  try {
    return parseDomainXml(xml);
  } catch (err) {
    if (err instanceof MigrationPolicyError) {
      throw new MigrationPolicyError(err.code, `${path}: ${err.message}`, { key: err.key });
    }
    throw err;
  }
}

/** `--memory-mib`: a whole number of MiB greater than 0. */
export function parseMemoryMiB(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !(value > 0)) {
    throw new CliError(`--memory-mib is "${text}": give the guest's RAM in MiB, a whole number above 0`);
  }
  return value;
}
