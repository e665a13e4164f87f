/**
 * `candidates`: the hosts Placement offers an instance, from its flavor (and image), with why the others
 * were left out. The query is the library's `schedulingRequest`, the answer `candidateProviders`.
 */
import type { Command } from 'commander';
import { type CandidateAnswer, candidateProviders, schedulingRequest } from '../index.js';
import { CliError } from './cli-error.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { grouped } from './format.js';
import { readInstanceFiles, readJsonFile } from './inputs.js';
import { type PlacementAccessOptions, placementClient, traitList } from './placement-access.js';

/** The command line of `candidates`, parsed. */
export interface CandidatesOptions extends PlacementAccessOptions {
  flavor?: string;
  image?: string;
  exclude?: string[];
  volumeBacked?: boolean;
  json?: boolean;
}

/** Registers `candidates` on the program. */
export function addCandidatesCommand(
  program: Command,
  print: (lines: string[]) => void,
  setCode: (code: ExitCodeValue) => void,
): void {
  program
    .command('candidates')
    .summary('the hosts Placement offers an instance, and why the others were left out')
    .description(
      "Ask Placement for the hosts that satisfy an instance's flavor (VCPU, MEMORY_MB, DISK_GB) and the traits " +
        'its live-migration policy requires, and say why every other host was left out.',
    )
    .option(
      '--flavor <file>',
      '`openstack flavor show -f json`, or the embedded flavor of `openstack server show -f json`',
    )
    .option('--image <file>', 'the image: `openstack image show -f json` or a Glance v2 image')
    .option('--placement <url>', "Placement's endpoint, e.g. http://controller:8778")
    .option('--token <token>', 'a Keystone token (default: $OS_TOKEN, then $OS_AUTH_TOKEN)')
    .option('--exclude <uuid>', "leave this host out, e.g. the instance's current one (repeat)", collect)
    .option('--volume-backed', 'the instance boots from a volume: no root disk on the host')
    .option('--json', 'print the answer as JSON')
    .addHelpText('after', EXAMPLE)
    .action(async (opts: CandidatesOptions) => {
      const { answer, lines } = await runCandidates(opts);
      print(opts.json ? [JSON.stringify(answer, null, 2)] : lines);
      setCode(answer.candidates.length > 0 ? ExitCode.OK : ExitCode.NO_CANDIDATES);
    });
}

/** Asks Placement; the answer and its text. */
export async function runCandidates(
  opts: CandidatesOptions,
): Promise<{ answer: CandidateAnswer; lines: string[] }> {
  if (opts.flavor === undefined) {
    throw new CliError(
      'candidates needs --flavor FILE: `openstack flavor show NAME -f json` (vcpus, ram, disk)',
    );
  }
  const placement = placementClient(opts, 'candidates');
  const { metadata } = readInstanceFiles(opts);
  const flavor = readJsonFile(opts.flavor, 'flavor') as Record<string, unknown>;
  const request = schedulingRequest(metadata, flavor, { volumeBacked: opts.volumeBacked === true });
  const answer = await candidateProviders(placement, request, { exclude: opts.exclude ?? [] });
  return { answer, lines: candidatesText(answer, placement.endpoint) };
}

function candidatesText(answer: CandidateAnswer, endpoint: string): string[] {
  const host = (c: { uuid: string; name?: string }) => `${c.name ?? '(unnamed)'}  ${c.uuid}`;
  const lines = [
    `Request    ${answer.request.query.replace('&', ' ')}`,
    `Required   ${traitList(answer.request.required)}${answer.request.required.length === 0 ? ' (the instance can land on any host)' : ''}`,
    `Placement  ${endpoint} (microversion ${answer.microversion})`,
    '',
    `Candidates (${answer.candidates.length})`,
  ];
  for (const c of answer.candidates) {
    const use = Object.entries(c.resources)
      .map(([rc, u]) => `${rc} ${grouped(u.used)}/${grouped(u.capacity)}`)
      .join(', ');
    lines.push(`  ${host(c)}`, `      used ${use}; traits ${traitList(c.traits)}`);
  }
  lines.push('', `Left out (${answer.leftOut.length})`);
  for (const l of answer.leftOut) lines.push(`  ${host(l)}`, `      ${l.message}`);
  lines.push('', answer.summary);
  return lines;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const EXAMPLE = `
Example:
  openstack flavor show m1.pc -f json > flavor.json
  export OS_TOKEN=$(openstack token issue -f value -c id)
  libvirt-migration-policy candidates --flavor flavor.json --placement http://controller:8778 \\
    --exclude "$(openstack resource provider list --name compute-1 -f value -c uuid)"`;
