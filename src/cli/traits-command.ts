/**
 * `traits`: the placement traits this host reports, from versions given on the command line or read from a
 * live libvirtd. The report itself is the library's `hostTraits`.
 */
import {
  DEFAULT_HOST_CONFIG,
  type HostConfig,
  hostTraits,
  MigrationPolicyError,
  planMigration,
  type Trait,
  Traits,
} from '../index.js';
import type { LibvirtBackend } from '../libvirt/index.js';
import { openConnection } from '../libvirt/index.js';
import { encodeVersion, formatVersion, type TlsRequirements, tlsRequirements } from '../policy/index.js';
import { CliError } from './cli-error.js';
import { tlsLines } from './explain-text.js';
import { type ConfPaths, readHostConfig } from './inputs.js';

/** The command line of `traits`, parsed. */
export interface TraitsInput extends ConfPaths {
  connect?: string;
  libvirtVersion?: string;
  qemuVersion?: string;
}

/** What `traits` prints; `--json` prints it as it is. */
export interface TraitsReport {
  /** The libvirtd asked, when `--connect` was given. */
  uri?: string;
  /** The nova.conf files and directories read, in oslo's order; empty: Nova's defaults. */
  conf: string[];
  libvirtVersion: string;
  qemuVersion: string;
  traits: Record<Trait, boolean>;
  /** Why a trait is not reported: what an instance requiring it would be told. */
  missing: Partial<Record<Trait, string>>;
  /** Whether this host's conf encrypts the stream with native TLS, and what the hosts need for it. */
  tls: TlsRequirements;
}

const ASKS = {
  [Traits.AUTO_CONVERGE]: 'compute:live_migration_auto_converge',
  [Traits.POST_COPY]: 'compute:live_migration_post_copy',
} as const;

/** Builds the report, asking libvirtd for its versions when `--connect` is given. */
export async function traitsReport(input: TraitsInput, backend?: LibvirtBackend): Promise<TraitsReport> {
  const config = readHostConfig(input);
  const versions = await versionsOf(input, backend);
  const traits = hostTraits({ ...versions, ...(config === undefined ? {} : { config }) });
  const missing: Partial<Record<Trait, string>> = {};
  for (const trait of Object.keys(traits) as Trait[]) {
    if (!traits[trait]) missing[trait] = refusal(trait, versions, config);
  }
  return {
    ...(input.connect === undefined ? {} : { uri: input.connect }),
    conf: [...input.files, ...input.dirs.map((dir) => `${dir}/*.conf`)],
    libvirtVersion: formatVersion(versions.libvirtVersion),
    qemuVersion: formatVersion(versions.qemuVersion),
    traits,
    missing,
    tls: tlsRequirements(config ?? DEFAULT_HOST_CONFIG),
  };
}

async function versionsOf(
  input: TraitsInput,
  backend: LibvirtBackend | undefined,
): Promise<{ libvirtVersion: number; qemuVersion: number }> {
  const given = input.libvirtVersion !== undefined || input.qemuVersion !== undefined;
  if (input.connect !== undefined) {
    if (given) {
      throw new CliError(
        '--connect reads the versions from libvirtd: leave out --libvirt-version and --qemu-version',
      );
    }
    const conn = await (backend ? backend.open(input.connect) : openConnection(input.connect));
    try {
      return { libvirtVersion: await conn.libVersion(), qemuVersion: await conn.hypervisorVersion() };
    } finally {
      await conn.close();
    }
  }
  if (input.libvirtVersion === undefined || input.qemuVersion === undefined) {
    throw new CliError(
      'traits needs the host\'s versions: pass --libvirt-version and --qemu-version (e.g. "9.0.0" and "7.2.0"), ' +
        'or --connect URI to ask libvirtd',
    );
  }
  return {
    libvirtVersion: encodeVersion(input.libvirtVersion, '--libvirt-version'),
    qemuVersion: encodeVersion(input.qemuVersion, '--qemu-version'),
  };
}

/** What the policy tells an instance that requires the feature here: the reason the trait is absent. */
function refusal(
  trait: Trait,
  versions: { libvirtVersion: number; qemuVersion: number },
  config: HostConfig | undefined,
): string {
  try {
    planMigration({
      instance: { flavorExtraSpecs: { [ASKS[trait]]: 'true' } },
      ...(config === undefined ? {} : { host: config }),
      ...versions,
    });
  } catch (err) {
    if (err instanceof MigrationPolicyError) return err.message;
    throw err;
  }
  // hostTraits also withholds post-copy without userfaultfd, which planMigration does not know about.
  return 'this host cannot run it';
}

/** The lines `traits` prints without `--json`. */
export function traitsText(report: TraitsReport): string[] {
  // Only a qemu:// driver's hypervisor is QEMU (test:///default reports its own, 0.0.2).
  const hypervisor = report.uri === undefined || report.uri.startsWith('qemu') ? 'QEMU' : 'hypervisor';
  const lines = [
    `Host      ${report.uri === undefined ? 'versions given' : report.uri}: libvirt ${report.libvirtVersion}, ${hypervisor} ${report.qemuVersion}`,
    `Config    ${report.conf.length === 0 ? "no nova.conf given: Nova's defaults" : report.conf.join(', ')}`,
    '',
  ];
  for (const [trait, on] of Object.entries(report.traits)) {
    lines.push(`${trait.padEnd(31)} ${on ? 'yes' : 'no'}`);
    const why = report.missing[trait as Trait];
    if (why !== undefined) lines.push(`  an instance requiring it is refused here: ${why}`);
  }
  lines.push(
    '',
    'The [libvirt] live_migration_permit_* options do not change the traits: they only set the default for ' +
      'instances with no opinion.',
    '',
    ...tlsLines(report.tls, (label, text) => `${label.padEnd(18)}${text}`),
  );
  return lines;
}
