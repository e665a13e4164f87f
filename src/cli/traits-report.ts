/**
 * `traits --report`: the traits `traits` computes for this host (from a live libvirtd or versions given),
 * written to the host's resource provider in Placement with the library's `reportHostTraits`, and the
 * provider's traits before and after.
 */
import { reportHostTraits, type TraitReport } from '../index.js';
import { CliError } from './cli-error.js';
import { type PlacementAccessOptions, placementClient, traitList } from './placement-access.js';
import { type TraitsReport, traitsText } from './traits-command.js';

/** The options `--report` adds to `traits`. */
export interface TraitsReportOptions extends PlacementAccessOptions {
  report?: boolean;
  provider?: string;
  json?: boolean;
}

/** What `traits --report` prints with `--json`: the host's report and what Placement now has. */
export interface PlacedTraitsReport extends TraitsReport {
  placement: TraitReport & { endpoint: string; microversion: string };
}

/**
 * The output of `traits`: the host's report, and with `--report` the provider's traits before and after
 * writing it. `--placement`, `--provider` or `--token` without `--report` is a usage error (nothing is
 * written unless asked).
 */
export async function traitsOutput(report: TraitsReport, opts: TraitsReportOptions): Promise<string[]> {
  if (opts.report !== true) {
    const stray = (['placement', 'provider', 'token'] as const).filter((k) => opts[k] !== undefined);
    if (stray.length > 0) {
      throw new CliError(
        `${stray.map((k) => `--${k}`).join(', ')} only go with --report (write the traits to Placement)`,
      );
    }
    return opts.json ? [JSON.stringify(report, null, 2)] : traitsText(report);
  }
  const placement = placementClient(opts, 'traits --report');
  if (opts.provider === undefined) {
    throw new CliError(
      "--report needs --provider UUID: the host's resource provider (its compute node UUID, " +
        '`openstack resource provider list --name HOST`)',
    );
  }
  const written = await reportHostTraits({ placement, provider: opts.provider, traits: report.traits });
  const placed: PlacedTraitsReport = {
    ...report,
    placement: {
      ...written,
      endpoint: placement.endpoint,
      microversion: (await placement.microversion()).version,
    },
  };
  return opts.json
    ? [JSON.stringify(placed, null, 2)]
    : [...traitsText(report), '', ...placedText(placed.placement)];
}

function placedText(p: PlacedTraitsReport['placement']): string[] {
  const retries =
    p.retries === 0
      ? ''
      : `, after ${p.retries} ${p.retries === 1 ? 'retry' : 'retries'} (another writer changed the provider)`;
  return [
    `Placement ${p.endpoint} (microversion ${p.microversion}), provider ${p.provider}`,
    `  before     ${traitList(p.before)}`,
    `  after      ${traitList(p.after)}`,
    `  added      ${traitList(p.added)}`,
    `  removed    ${traitList(p.removed)}`,
    `  unchanged  ${traitList(p.unchanged)}`,
    `  others     ${traitList(p.others)}${p.others.length === 0 ? '' : ' (not ours: left as they were)'}`,
    p.written
      ? `Written at generation ${p.generation}${retries}`
      : `Nothing to write: the provider already had it right (generation ${p.generation})`,
  ];
}
