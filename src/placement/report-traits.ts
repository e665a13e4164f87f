/**
 * `reportHostTraits`: the compute agent's half of the spec, what Nova's `update_provider_tree` would do for
 * these traits. Read the provider's traits and generation, add ours that hold, remove ours that no longer
 * hold, leave everyone else's alone, write with the generation; on a 409 read again and merge again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MigrationPolicyError, PlacementError } from '../errors.js';
import { TRAIT_NAME } from './answers.js';
import type { PlacementCallOptions, PlacementClient } from './client.js';
import { isNoSuchTrait, unknownTraitsError } from './unknown-traits.js';

/** Options of {@link reportHostTraits}. */
export interface ReportHostTraitsOptions extends PlacementCallOptions {
  placement: PlacementClient;
  /** The compute node's resource provider UUID (Nova's compute node UUID). */
  provider: string;
  /**
   * Our traits: `true` for each the host has (added when missing), `false` for each it has not (removed
   * when present). Exactly what `hostTraits()` returns. Traits not named here are someone else's and are
   * never touched.
   */
  traits: Readonly<Record<string, boolean>>;
  /** Further attempts after a generation conflict (409), default 5. */
  maxRetries?: number;
  /** Back-off base: retry n waits a random 0 … base × 2ⁿ ms (full jitter), at most 2 s; default 50. */
  retryDelayMs?: number;
}

/** What {@link reportHostTraits} did. */
export interface TraitReport {
  provider: string;
  /** The provider's traits as read before the write that landed (or as found, when nothing had to change). */
  before: string[];
  /** Its traits now. */
  after: string[];
  /** Ours that were missing and are now set. */
  added: string[];
  /** Ours that no longer hold and were removed. */
  removed: string[];
  /** Ours that were already right. */
  unchanged: string[];
  /** Everyone else's traits, as they were. */
  others: string[];
  /** How many times a 409 (`placement.concurrent_update`) made us read and merge again. */
  retries: number;
  /** Whether anything was written (`false` when the provider already had it right). */
  written: boolean;
  /** The provider's generation now. */
  generation: number;
}

const DEFAULT_RETRIES = 5;
const DEFAULT_DELAY_MS = 50;
const MAX_DELAY_MS = 2_000;

/**
 * Reports this host's traits to Placement on its resource provider: adds ours that hold, removes ours that no
 * longer hold, keeps every other trait (other agents', the operator's `CUSTOM_` ones), writes with the
 * generation it read and, when another writer got there first (409 `placement.concurrent_update`), reads
 * again and merges again, a bounded number of times with jittered back-off. A trait this Placement does not
 * know is a `PLACEMENT_UNKNOWN_TRAIT` error naming the fix (for the spec's traits: os-traits ≥ 0.16.0 on
 * the Placement server), never dropped silently.
 *
 * @throws {@link PlacementError} (`PLACEMENT_UNKNOWN_TRAIT`, `PLACEMENT_NOT_FOUND` for no such provider,
 * `PLACEMENT_CONFLICT` when the retries run out, and the client's own); {@link MigrationPolicyError}
 * `INVALID_ARGUMENT` for a malformed provider or traits.
 *
 * @example
 * ```ts
 * import { hostTraits, openConnection, PlacementClient, reportHostTraits } from 'libvirt-migration-policy';
 *
 * const conn = await openConnection('qemu:///system');
 * const traits = hostTraits({
 *   libvirtVersion: await conn.libVersion(),
 *   qemuVersion: await conn.hypervisorVersion(),
 *   config: hostConfig, // parseNovaConf(…) of this host's nova.conf
 * });
 * const placement = new PlacementClient({ endpoint: 'http://controller:8778', token: () => session.token() });
 * const report = await reportHostTraits({ placement, provider: computeNodeUuid, traits });
 * report.added; // e.g. ['COMPUTE_MIGRATE_AUTO_CONVERGE', 'COMPUTE_MIGRATE_POST_COPY'] on the first report
 * ```
 */
export async function reportHostTraits(options: ReportHostTraitsOptions): Promise<TraitReport> {
  const { placement, provider } = options;
  const ours = checkTraits(options.traits);
  const maxRetries = whole(options.maxRetries, 'maxRetries', DEFAULT_RETRIES);
  const baseDelay = whole(options.retryDelayMs, 'retryDelayMs', DEFAULT_DELAY_MS);
  const call: PlacementCallOptions = {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  };
  const purpose = `reporting traits of resource provider ${provider}`;
  const wanted = Object.keys(ours).filter((t) => ours[t]);
  const unwanted = new Set(Object.keys(ours).filter((t) => !ours[t]));
  await placement.require('traits', purpose, call);
  await refuseUnknown(placement, wanted, purpose, call);
  for (let retries = 0; ; retries++) {
    const { traits: current, generation } = await placement.providerTraits(provider, call);
    const has = new Set(current);
    const added = wanted.filter((t) => !has.has(t));
    const removed = current.filter((t) => unwanted.has(t));
    const unchanged = Object.keys(ours).filter((t) => ours[t] === has.has(t));
    const others = current.filter((t) => !(t in ours));
    const base = { provider, before: current, added, removed, unchanged, others, retries };
    if (added.length === 0 && removed.length === 0) {
      return { ...base, after: current, written: false, generation };
    }
    const next = [...current.filter((t) => !unwanted.has(t)), ...added];
    try {
      const written = await placement.setProviderTraits(provider, generation, next, call);
      return { ...base, after: written.traits, written: true, generation: written.generation };
    } catch (err) {
      if (isNoSuchTrait(err)) {
        await refuseUnknown(placement, wanted, purpose, call);
        throw err; // Placement refused a trait it says it knows: its own message is the best there is.
      }
      if (!isGenerationConflict(err)) throw err;
      if (retries >= maxRetries) {
        throw new PlacementError(
          'PLACEMENT_CONFLICT',
          `${purpose}: the provider's generation changed under us ${retries + 1} times in a row ` +
            `(409 placement.concurrent_update); another writer keeps changing it: try again later or raise maxRetries`,
          {
            status: 409,
            placementCode: 'placement.concurrent_update',
            ...((err as PlacementError).requestId === undefined
              ? {}
              : { requestId: (err as PlacementError).requestId as string }),
          },
        );
      }
      await backOff(retries, baseDelay, options.signal);
    }
  }
}

async function refuseUnknown(
  placement: PlacementClient,
  wanted: readonly string[],
  purpose: string,
  call: PlacementCallOptions,
): Promise<void> {
  const known = new Set(await placement.knownTraits(wanted, call));
  const unknown = wanted.filter((t) => !known.has(t));
  if (unknown.length > 0) throw unknownTraitsError(unknown, placement.endpoint, purpose);
}

/** A 409 about the generation (Placement ≥ 1.23 says `placement.concurrent_update`; older ones only the text). */
function isGenerationConflict(err: unknown): boolean {
  if (!(err instanceof PlacementError) || err.status !== 409) return false;
  if (err.placementCode === 'placement.concurrent_update') return true;
  return (
    (err.placementCode === undefined || err.placementCode === 'placement.undefined_code') &&
    /generation/i.test(err.message)
  );
}

async function backOff(retry: number, baseDelay: number, signal: AbortSignal | undefined): Promise<void> {
  const delay = Math.random() * Math.min(MAX_DELAY_MS, baseDelay * 2 ** retry);
  try {
    await sleep(delay, undefined, signal === undefined ? {} : { signal });
  } catch {
    throw new PlacementError(
      'PLACEMENT_ABORTED',
      'reporting traits: aborted by the caller while waiting to retry',
    );
  }
}

function checkTraits(traits: unknown): Record<string, boolean> {
  if (typeof traits !== 'object' || traits === null || Array.isArray(traits)) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      'traits must be an object of trait name → boolean, e.g. hostTraits(…)',
      { key: 'traits', value: traits },
    );
  }
  const out: Record<string, boolean> = {};
  for (const [name, holds] of Object.entries(traits)) {
    if (!TRAIT_NAME.test(name)) {
      throw new MigrationPolicyError(
        'INVALID_ARGUMENT',
        `traits has the key ${JSON.stringify(name.slice(0, 64))}, which is not a trait name (upper case, digits, _)`,
        { key: `traits.${name.slice(0, 64)}` },
      );
    }
    if (typeof holds !== 'boolean') {
      throw new MigrationPolicyError(
        'INVALID_ARGUMENT',
        `traits.${name} is ${typeof holds}: use true (the host has it) or false (it has not)`,
        { key: `traits.${name}`, value: holds },
      );
    }
    out[name] = holds;
  }
  return out;
}

function whole(value: unknown, key: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new MigrationPolicyError('INVALID_ARGUMENT', `${key} must be a whole number ≥ 0`, { key, value });
  }
  return value;
}
