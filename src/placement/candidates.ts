/**
 * `candidateProviders`: the hosts Placement offers for a {@link SchedulingRequest}, and — because an empty
 * list is the trap of this spec (no Nova driver reports its traits, so requiring one finds nothing) — why
 * the others were left out, as far as Placement lets us tell.
 */
import { MigrationPolicyError } from '../errors.js';
import {
  type AllocationCandidates,
  type AnswerContext,
  RESOURCE_CLASS,
  type ResourceProvider,
  type ResourceUsage,
  readAllocationCandidates,
  UUID,
} from './answers.js';
import { type PlacementCallOptions, type PlacementClient, traitNames } from './client.js';
import { hasFeature } from './microversions.js';
import { candidatesQuery, type SchedulingRequest } from './scheduling-request.js';
import { isNoSuchTrait, unknownTraitsError } from './unknown-traits.js';

/** Options of {@link candidateProviders}. */
export interface CandidateOptions extends PlacementCallOptions {
  /**
   * Hosts (root provider UUIDs) to leave out, e.g. the instance's current host for a live migration, as
   * Nova's scheduler ignores it.
   */
  exclude?: readonly string[];
  /**
   * Ask Placement why hosts were left out (a few more requests: every provider, and who holds each trait).
   * Default `true`; `false` makes one request when there are candidates, as a scheduler's hot path wants,
   * and still says which required traits no host reports when there are none.
   */
  explain?: boolean;
  /** Placement's `limit`: at most this many allocation requests. */
  limit?: number;
}

/** A host that satisfies the request. */
export interface Candidate {
  /** The host's root resource provider (the compute node). */
  uuid: string;
  /** Its name, when the answer was explained. */
  name?: string;
  /** The root provider's traits. */
  traits: string[];
  /** The root provider's capacity and usage of each resource class. */
  resources: Record<string, ResourceUsage>;
  /** What Placement would allocate: provider UUID → resource class → amount. */
  allocation: Record<string, Record<string, number>>;
}

/** Why a host is not a candidate. */
export type LeftOutReason = 'excluded' | 'missing-traits' | 'forbidden-traits' | 'resources';

/** A host left out, and why. */
export interface LeftOut {
  uuid: string;
  name?: string;
  reason: LeftOutReason;
  /** For `missing-traits` (and `resources`, when known): the required traits it lacks. */
  missingTraits?: string[];
  /** For `forbidden-traits`: the forbidden traits it has. */
  forbiddenTraits?: string[];
  /** For `resources`: the resource classes it has too little of free, when Placement tells. */
  short?: string[];
  /** One sentence, for people. */
  message: string;
}

/** What {@link candidateProviders} found. */
export interface CandidateAnswer {
  request: SchedulingRequest;
  /** The hosts that satisfy the request, in Placement's order. */
  candidates: Candidate[];
  /** The hosts left out, with the reason. */
  leftOut: LeftOut[];
  /** Required traits that no host reports at all: nothing will ever match until one does. */
  unreported: string[];
  /** Whether {@link LeftOut} covers every host Placement has (`explain`), or only the excluded ones. */
  explained: boolean;
  /** The answer in one sentence: who satisfies it, or why nobody does and what to do. */
  summary: string;
  /** The microversion the answer was asked at. */
  microversion: string;
}

/**
 * The hosts that satisfy `request` (`GET /allocation_candidates`), with why the others were left out: lacking
 * a required trait, having a forbidden one, not enough free resources, or excluded by the caller. Before
 * relying on a required trait it is checked: unknown to this Placement → `PLACEMENT_UNKNOWN_TRAIT`; known but
 * reported by no host → an answer whose `unreported` and `summary` say so ("no host reports
 * COMPUTE_MIGRATE_POST_COPY; report traits with …"), never a bare empty list.
 *
 * @throws {@link PlacementError} `PLACEMENT_UNKNOWN_TRAIT`, `PLACEMENT_MICROVERSION` (before 1.17, or 1.22
 * with forbidden traits), and the client's own.
 *
 * @example
 * ```ts
 * import { candidateProviders, PlacementClient, schedulingRequest } from 'libvirt-migration-policy';
 *
 * const placement = new PlacementClient({ endpoint: 'http://controller:8778', token });
 * const request = schedulingRequest(instanceMetadata, server.flavor);
 * const answer = await candidateProviders(placement, request, { exclude: [currentHostUuid] });
 * if (answer.candidates.length === 0) throw new Error(answer.summary); // e.g. 'no host reports COMPUTE_MIGRATE_POST_COPY; …'
 * const destination = answer.candidates[0].uuid;
 * ```
 */
export async function candidateProviders(
  placement: PlacementClient,
  request: SchedulingRequest,
  options: CandidateOptions = {},
): Promise<CandidateAnswer> {
  const { resources, required, forbidden } = checkRequest(request);
  const call: PlacementCallOptions = {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  };
  const exclude = new Set(checkExclude(options.exclude));
  const explain = options.explain !== false;
  const purpose = 'asking for allocation candidates';
  const negotiated = await placement.require('requiredTraits', purpose, call);
  if (forbidden.length > 0)
    await placement.require('forbiddenTraits', `${purpose} with forbidden traits`, call);
  const limit = options.limit === undefined ? '' : `&limit=${checkLimit(options.limit)}`;
  const query = candidatesQuery({ resources, required, forbidden });
  const main = await candidates(placement, `${query}${limit}`, [...required, ...forbidden], purpose, call);

  const found: Candidate[] = [];
  const leftOut = new Map<string, LeftOut>();
  for (const host of hostsOf(main)) {
    if (exclude.has(host.uuid)) {
      leftOut.set(host.uuid, { uuid: host.uuid, reason: 'excluded', message: 'excluded by the caller' });
    } else found.push(host);
  }

  const checkHolders = hasFeature(negotiated, 'traitHolders') && (explain || found.length === 0);
  const holders = new Map<string, Set<string>>();
  if (checkHolders) {
    for (const trait of required) {
      const list = await placement.resourceProviders({ required: trait }, call);
      holders.set(trait, new Set(list.map((p) => p.rootUuid)));
    }
  }
  const unreported = required.filter((t) => holders.get(t)?.size === 0);

  let names = new Map<string, string>();
  if (explain) {
    const all = await placement.resourceProviders({}, call);
    names = new Map(all.map((p) => [p.uuid, p.name]));
    const roots = all.filter((p) => p.rootUuid === p.uuid);
    const withRoom =
      required.length + forbidden.length === 0
        ? main
        : await candidates(
            placement,
            candidatesQuery({ resources, required: [], forbidden: [] }),
            [],
            purpose,
            call,
          );
    for (const host of hostsOf(withRoom)) {
      if (leftOut.has(host.uuid) || found.some((c) => c.uuid === host.uuid)) continue;
      leftOut.set(host.uuid, traitReason(host, withRoom, required, forbidden));
    }
    const short = await shortOf(placement, resources, roots, leftOut, found, call);
    for (const root of roots) {
      if (leftOut.has(root.uuid) || found.some((c) => c.uuid === root.uuid)) continue;
      const lacking = required.filter((t) => holders.has(t) && !holders.get(t)?.has(root.uuid));
      leftOut.set(root.uuid, resourceReason(root.uuid, short.get(root.uuid) ?? [], lacking, resources));
    }
  }
  for (const entry of [...found, ...leftOut.values()]) {
    const name = names.get(entry.uuid);
    if (name !== undefined) entry.name = name;
  }
  const left = [...leftOut.values()];
  return {
    request,
    candidates: found,
    leftOut: left,
    unreported,
    explained: explain,
    summary: summarize(request, found, left, unreported, checkHolders || required.length === 0),
    microversion: negotiated.version,
  };
}

async function candidates(
  placement: PlacementClient,
  query: string,
  traits: readonly string[],
  purpose: string,
  call: PlacementCallOptions,
): Promise<AllocationCandidates> {
  const path = `/allocation_candidates?${query}`;
  try {
    const r = await placement.request({ method: 'GET', path, ...call });
    const context: AnswerContext = {
      request: `GET ${path}`,
      endpoint: placement.endpoint,
      requestId: r.requestId,
    };
    return readAllocationCandidates(r.body, context);
  } catch (err) {
    if (!isNoSuchTrait(err)) throw err;
    const known = new Set(await placement.knownTraits(traits, call));
    const unknown = traits.filter((t) => !known.has(t));
    if (unknown.length === 0) throw err;
    throw unknownTraitsError(unknown, placement.endpoint, purpose);
  }
}

/** One entry per host (root provider), in Placement's order, with its first allocation request. */
function hostsOf(answer: AllocationCandidates): Candidate[] {
  const hosts = new Map<string, Candidate>();
  for (const allocation of answer.allocationRequests) {
    const first = Object.keys(allocation)[0];
    if (first === undefined) continue;
    const root = answer.summaries.get(first)?.rootUuid ?? first;
    if (hosts.has(root)) continue;
    const summary = answer.summaries.get(root);
    hosts.set(root, {
      uuid: root,
      traits: summary?.traits ?? [],
      resources: summary?.resources ?? {},
      allocation,
    });
  }
  return [...hosts.values()];
}

/** A host with room for the resources that the traits left out. */
function traitReason(
  host: Candidate,
  answer: AllocationCandidates,
  required: readonly string[],
  forbidden: readonly string[],
): LeftOut {
  const tree = new Set<string>();
  for (const summary of answer.summaries.values()) {
    if (summary.rootUuid === host.uuid) for (const t of summary.traits) tree.add(t);
  }
  const missing = required.filter((t) => !tree.has(t));
  const present = forbidden.filter((t) => tree.has(t));
  if (missing.length > 0) {
    return {
      uuid: host.uuid,
      reason: 'missing-traits',
      missingTraits: missing,
      message: `has room for the resources but does not report ${missing.join(', ')}`,
    };
  }
  if (present.length > 0) {
    return {
      uuid: host.uuid,
      reason: 'forbidden-traits',
      forbiddenTraits: present,
      message: `has room for the resources but reports the forbidden ${present.join(', ')}`,
    };
  }
  // Placement left it out for a combination it does not explain (e.g. traits split across nested providers).
  return {
    uuid: host.uuid,
    reason: 'missing-traits',
    missingTraits: [],
    message: 'has room for the resources and the traits, but not together in one allocation',
  };
}

/** For hosts still unexplained: which resource classes none of their providers has enough of free. */
async function shortOf(
  placement: PlacementClient,
  resources: Readonly<Record<string, number>>,
  roots: readonly ResourceProvider[],
  leftOut: ReadonlyMap<string, LeftOut>,
  found: readonly Candidate[],
  call: PlacementCallOptions,
): Promise<Map<string, string[]>> {
  const short = new Map<string, string[]>();
  const pending = roots.filter((r) => !leftOut.has(r.uuid) && !found.some((c) => c.uuid === r.uuid));
  if (pending.length === 0) return short;
  for (const [rc, amount] of Object.entries(resources)) {
    const withRoom = new Set(
      (await placement.resourceProviders({ resources: `${rc}:${amount}` }, call)).map((p) => p.rootUuid),
    );
    for (const root of pending) {
      if (!withRoom.has(root.uuid)) short.set(root.uuid, [...(short.get(root.uuid) ?? []), rc]);
    }
  }
  return short;
}

function resourceReason(
  uuid: string,
  short: string[],
  lacking: string[],
  resources: Readonly<Record<string, number>>,
): LeftOut {
  const what =
    short.length === 0
      ? 'not enough free resources in one allocation'
      : `not enough free ${short.map((rc) => `${rc} (needs ${resources[rc]})`).join(', ')}`;
  return {
    uuid,
    reason: 'resources',
    short,
    ...(lacking.length === 0 ? {} : { missingTraits: lacking }),
    message: `${what}${lacking.length === 0 ? '' : `; it does not report ${lacking.join(', ')} either`}`,
  };
}

function summarize(
  request: SchedulingRequest,
  found: readonly Candidate[],
  leftOut: readonly LeftOut[],
  unreported: readonly string[],
  holdersChecked: boolean,
): string {
  const asked = request.query.replace(/&/g, ' ');
  if (found.length > 0) {
    return `${found.length} host${found.length === 1 ? '' : 's'} satisf${found.length === 1 ? 'ies' : 'y'} ${asked}`;
  }
  if (unreported.length > 0) {
    return (
      `no host reports ${unreported.join(' or ')}; report traits with reportHostTraits() or ` +
      '`libvirt-migration-policy traits --report --placement URL --provider UUID` on each compute host that ' +
      'can run the feature (Nova itself never reports these traits)'
    );
  }
  const counts = new Map<string, number>();
  for (const l of leftOut) counts.set(l.reason, (counts.get(l.reason) ?? 0) + 1);
  const why = [...counts].map(([reason, n]) => `${n} ${REASONS[reason as LeftOutReason]}`).join(', ');
  const unchecked = holdersChecked
    ? ''
    : ' (this Placement, before 1.18, cannot tell which traits no host reports)';
  return `no host satisfies ${asked}${why === '' ? '' : `: ${why}`}${unchecked}`;
}

const REASONS: Record<LeftOutReason, string> = {
  excluded: 'excluded by the caller',
  'missing-traits': 'lacking a required trait',
  'forbidden-traits': 'having a forbidden trait',
  resources: 'without enough free resources',
};

function checkRequest(request: SchedulingRequest): SchedulingRequest {
  if (
    typeof request !== 'object' ||
    request === null ||
    typeof request.resources !== 'object' ||
    !Array.isArray(request.required) ||
    !Array.isArray(request.forbidden)
  ) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      'candidateProviders needs the request schedulingRequest() builds: { resources, required, forbidden }',
      { key: 'request' },
    );
  }
  if (Object.keys(request.resources).length === 0) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      'the request asks for no resources: Placement needs some',
      {
        key: 'request.resources',
      },
    );
  }
  for (const [rc, amount] of Object.entries(request.resources)) {
    if (
      !RESOURCE_CLASS.test(rc) ||
      typeof amount !== 'number' ||
      !Number.isSafeInteger(amount) ||
      amount < 1
    ) {
      throw new MigrationPolicyError(
        'INVALID_ARGUMENT',
        `request.resources.${rc.slice(0, 40)} must be a resource class (upper case, digits, _) with a whole amount ≥ 1`,
        { key: `request.resources.${rc.slice(0, 40)}`, value: amount },
      );
    }
  }
  for (const [key, list] of [
    ['required', request.required],
    ['forbidden', request.forbidden],
  ] as const) {
    traitNames(list, `request.${key}`);
  }
  // Rebuilt from its parts, so a hand-made request cannot smuggle other query parameters in.
  return { ...request, query: candidatesQuery(request) };
}

function checkExclude(exclude: readonly string[] | undefined): string[] {
  if (exclude === undefined) return [];
  if (!Array.isArray(exclude) || exclude.some((u) => typeof u !== 'string' || !UUID.test(u))) {
    throw new MigrationPolicyError('INVALID_ARGUMENT', 'exclude must be a list of resource provider UUIDs', {
      key: 'exclude',
    });
  }
  return exclude;
}

function checkLimit(limit: unknown): number {
  if (typeof limit === 'number' && Number.isSafeInteger(limit) && limit > 0) return limit;
  throw new MigrationPolicyError('INVALID_ARGUMENT', 'limit must be a whole number ≥ 1', {
    key: 'limit',
    value: limit,
  });
}
