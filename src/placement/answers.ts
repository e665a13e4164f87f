/**
 * Reading Placement's answers, which are untrusted: every body is checked against the shape its API
 * documents before anything of ours relies on it, and a body that does not fit is a `PLACEMENT_BAD_RESPONSE`
 * naming the request and the part that is wrong — never a `TypeError` from deep inside a caller.
 */
import { PlacementError } from '../errors.js';

/** Which request an answer belongs to, for the messages. */
export interface AnswerContext {
  /** E.g. `GET /resource_providers/{uuid}/traits`. */
  request: string;
  /** The endpoint, credentials removed. */
  endpoint: string;
  requestId?: string | undefined;
}

/** A trait name as Placement stores it: standard (os-traits) or `CUSTOM_…`, at most 255 characters. */
export const TRAIT_NAME = /^[A-Z0-9_]{1,255}$/;

/** A resource class: standard (`VCPU`, `MEMORY_MB`, …) or `CUSTOM_…`. */
export const RESOURCE_CLASS = /^[A-Z0-9_]{1,255}$/;

/** A resource provider's UUID, as Placement gives and takes it. */
export const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** A reader of one answer: each check names where in the body it looked. */
export class Answer {
  constructor(readonly context: AnswerContext) {}

  /** The error for a body that is not what the API documents. */
  bad(where: string, what: string): PlacementError {
    const { request, endpoint, requestId } = this.context;
    return new PlacementError(
      'PLACEMENT_BAD_RESPONSE',
      `${request}: ${endpoint} answered a body whose ${where} ${what}; this is not Placement's API ` +
        `(a proxy or another service at this endpoint?)${requestId ? ` [request ${requestId}]` : ''}`,
      { request, ...(requestId === undefined ? {} : { requestId }) },
    );
  }

  object(value: unknown, where: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw this.bad(where, `is ${kind(value)}, not an object`);
    }
    return value as Record<string, unknown>;
  }

  array(value: unknown, where: string): unknown[] {
    if (!Array.isArray(value)) throw this.bad(where, `is ${kind(value)}, not a list`);
    return value;
  }

  string(value: unknown, where: string, pattern?: RegExp): string {
    if (typeof value !== 'string') throw this.bad(where, `is ${kind(value)}, not a string`);
    if (pattern !== undefined && !pattern.test(value)) {
      throw this.bad(where, `is ${JSON.stringify(value.slice(0, 64))}, which is not a valid name`);
    }
    return value;
  }

  /** A whole number ≥ 0 (generations, capacities, amounts). */
  count(value: unknown, where: string): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw this.bad(where, `is ${kind(value)}, not a whole number ≥ 0`);
    }
    return value;
  }

  /** A list of trait names, without duplicates. */
  traits(value: unknown, where: string): string[] {
    const names = this.array(value, where).map((t, i) => this.string(t, `${where}[${i}]`, TRAIT_NAME));
    return [...new Set(names)];
  }

  /** A UUID, or `null`/absent. */
  optionalUuid(value: unknown, where: string): string | undefined {
    if (value === null || value === undefined) return undefined;
    return this.string(value, where, UUID);
  }
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 32))}`;
  if (typeof value === 'number') return `the number ${value}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** `GET /resource_providers/{uuid}/traits` and the `PUT`'s answer. */
export interface ProviderTraits {
  traits: string[];
  /** The provider's generation, to send back with a change. */
  generation: number;
}

/** Reads a provider-traits body. */
export function readProviderTraits(body: unknown, context: AnswerContext): ProviderTraits {
  const a = new Answer(context);
  const o = a.object(body, 'body');
  return {
    traits: a.traits(o.traits, '"traits"'),
    generation: a.count(o.resource_provider_generation, '"resource_provider_generation"'),
  };
}

/** Reads `GET /traits`. */
export function readTraitList(body: unknown, context: AnswerContext): string[] {
  const a = new Answer(context);
  return a.traits(a.object(body, 'body').traits, '"traits"');
}

/** A resource provider as `GET /resource_providers` lists it. */
export interface ResourceProvider {
  uuid: string;
  name: string;
  generation: number;
  /** The root of its tree (the compute node for a nested provider); itself for a root. */
  rootUuid: string;
  parentUuid?: string;
}

/** Reads one provider. */
export function readProvider(value: unknown, where: string, a: Answer): ResourceProvider {
  const o = a.object(value, where);
  const uuid = a.string(o.uuid, `${where}.uuid`, UUID);
  const parent = a.optionalUuid(o.parent_provider_uuid, `${where}.parent_provider_uuid`);
  return {
    uuid,
    name: a.string(o.name, `${where}.name`),
    generation: a.count(o.generation, `${where}.generation`),
    rootUuid: a.optionalUuid(o.root_provider_uuid, `${where}.root_provider_uuid`) ?? uuid,
    ...(parent === undefined ? {} : { parentUuid: parent }),
  };
}

/** Reads `GET /resource_providers`. */
export function readProviderList(body: unknown, context: AnswerContext): ResourceProvider[] {
  const a = new Answer(context);
  const list = a.array(a.object(body, 'body').resource_providers, '"resource_providers"');
  return list.map((p, i) => readProvider(p, `"resource_providers"[${i}]`, a));
}

/** One resource class of a provider summary. */
export interface ResourceUsage {
  capacity: number;
  used: number;
}

/** What `GET /allocation_candidates` says of one provider. */
export interface ProviderSummary {
  uuid: string;
  resources: Record<string, ResourceUsage>;
  traits: string[];
  rootUuid: string;
}

/** `GET /allocation_candidates`, read. */
export interface AllocationCandidates {
  /** Each allocation request: the providers it takes resources from, and how much of each class. */
  allocationRequests: Record<string, Record<string, number>>[];
  summaries: Map<string, ProviderSummary>;
}

/** Reads `GET /allocation_candidates` (microversion ≥ 1.12: allocations keyed by provider). */
export function readAllocationCandidates(body: unknown, context: AnswerContext): AllocationCandidates {
  const a = new Answer(context);
  const o = a.object(body, 'body');
  const summaries = new Map<string, ProviderSummary>();
  for (const [uuid, raw] of Object.entries(a.object(o.provider_summaries, '"provider_summaries"'))) {
    const where = `"provider_summaries"."${uuid.slice(0, 40)}"`;
    a.string(uuid, where, UUID);
    const s = a.object(raw, where);
    const resources: Record<string, ResourceUsage> = {};
    for (const [rc, usage] of Object.entries(a.object(s.resources, `${where}.resources`))) {
      const at = `${where}.resources.${rc.slice(0, 40)}`;
      a.string(rc, at, RESOURCE_CLASS);
      const u = a.object(usage, at);
      resources[rc] = {
        capacity: a.count(u.capacity, `${at}.capacity`),
        used: a.count(u.used, `${at}.used`),
      };
    }
    summaries.set(uuid, {
      uuid,
      resources,
      traits: s.traits === undefined ? [] : a.traits(s.traits, `${where}.traits`),
      rootUuid: a.optionalUuid(s.root_provider_uuid, `${where}.root_provider_uuid`) ?? uuid,
    });
  }
  const allocationRequests = a.array(o.allocation_requests, '"allocation_requests"').map((request, i) => {
    const where = `"allocation_requests"[${i}].allocations`;
    const allocations = a.object(a.object(request, `"allocation_requests"[${i}]`).allocations, where);
    const byProvider: Record<string, Record<string, number>> = {};
    for (const [uuid, alloc] of Object.entries(allocations)) {
      const at = `${where}."${uuid.slice(0, 40)}"`;
      a.string(uuid, at, UUID);
      if (!summaries.has(uuid)) throw a.bad(at, 'names a provider missing from "provider_summaries"');
      const amounts: Record<string, number> = {};
      for (const [rc, amount] of Object.entries(a.object(a.object(alloc, at).resources, `${at}.resources`))) {
        amounts[a.string(rc, `${at}.resources`, RESOURCE_CLASS)] = a.count(amount, `${at}.resources.${rc}`);
      }
      byProvider[uuid] = amounts;
    }
    return byProvider;
  });
  return { allocationRequests, summaries };
}

/** Placement's error body, `{"errors": [{status, code, title, detail, request_id}]}`, read leniently. */
export interface PlacementFault {
  title?: string;
  detail?: string;
  code?: string;
  requestId?: string;
}

/** The first error of an error body; an empty fault for anything else (the status still tells). */
export function readFault(body: unknown): PlacementFault {
  if (typeof body !== 'object' || body === null) return {};
  const errors = (body as { errors?: unknown }).errors;
  const first = Array.isArray(errors) ? (errors[0] as unknown) : undefined;
  if (typeof first !== 'object' || first === null) return {};
  const f = first as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const fault: PlacementFault = {};
  const title = text(f.title);
  const detail = text(f.detail);
  const code = text(f.code);
  const requestId = text(f.request_id);
  if (title !== undefined) fault.title = title;
  if (detail !== undefined) fault.detail = placementDetail(detail);
  if (code !== undefined) fault.code = code;
  if (requestId !== undefined) fault.requestId = requestId;
  return fault;
}

/**
 * The part of webob's detail that is Placement's own: webob prefixes every error with a generic paragraph
 * ("The server could not comply with the request…") and a blank line.
 */
function placementDetail(detail: string): string {
  const parts = detail.split('\n\n');
  const own = parts.length > 1 ? parts.slice(1).join(' ') : detail;
  return own.replace(/\s+/g, ' ').trim() || detail.trim();
}
