/**
 * The Placement client: Node's own `fetch`, a token sent as `X-Auth-Token` (a string, or a function for a
 * Keystone session), the microversion negotiated once from `GET /`, a deadline on every request, and every
 * failure a {@link PlacementError}. The token never reaches a message: it is kept out of this object's
 * fields, and whatever Placement or the network says is scrubbed of it before it is quoted.
 */
import { MigrationPolicyError, PlacementError, type PlacementErrorDetails } from '../errors.js';
import {
  Answer,
  type AnswerContext,
  type ProviderTraits,
  type ResourceProvider,
  readFault,
  readProvider,
  readProviderList,
  readProviderTraits,
  readTraitList,
  TRAIT_NAME,
  UUID,
} from './answers.js';
import { type NegotiatedVersion, negotiate, type PlacementFeature, requireFeature } from './microversions.js';

/**
 * The token sent as `X-Auth-Token`: a string, or a function returning one (possibly async), asked before
 * every request so that a Keystone session can renew it; asked once more after a 401.
 */
export type PlacementToken = string | (() => string | Promise<string>);

/** Options of {@link PlacementClient}. */
export interface PlacementClientOptions {
  /** Placement's endpoint, e.g. `http://controller:8778` or `https://cloud.example/placement`. */
  endpoint: string | URL;
  /** The Keystone token, or a function giving one. */
  token: PlacementToken;
  /** Deadline of each request, token, answer and body included (default 30 s). */
  timeoutMs?: number;
  /** Aborts every request of this client (e.g. the agent shutting down). */
  signal?: AbortSignal;
  /** The largest answer read (default 32 MiB); a bigger one is `PLACEMENT_BAD_RESPONSE`. */
  maxResponseBytes?: number;
  /** The `fetch` to use (default Node's own), e.g. one with a TLS dispatcher of your own. */
  fetch?: typeof fetch;
}

/** Per-call options. */
export interface PlacementCallOptions {
  /** Aborts this call (together with the client's signal and its deadline). */
  signal?: AbortSignal;
  /** This call's deadline instead of the client's. */
  timeoutMs?: number;
}

/** One request through {@link PlacementClient.request}. */
export interface PlacementRequest extends PlacementCallOptions {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** The path under the endpoint, starting with `/`, its parts already URL-encoded; with its query. */
  path: string;
  /** A JSON body. */
  body?: unknown;
}

/** What Placement answered a request with a 2xx status. */
export interface PlacementResponse {
  status: number;
  /** The parsed JSON body (`undefined` for an empty one, e.g. 204). */
  body: unknown;
  /** Placement's request id, to find the request in its log. */
  requestId: string | undefined;
}

/** An inventory of one resource class (`total` required; the rest take Placement's defaults). */
export interface Inventory {
  total: number;
  reserved?: number;
  min_unit?: number;
  max_unit?: number;
  step_size?: number;
  allocation_ratio?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;
const HEADER_VALUE = /^[\x21-\x7e]+$/;
const MAX_TOKEN_CHARS = 16_384;
const MIN_SCRUBBED = 4;

/**
 * A client of one Placement endpoint. Cheap to create; negotiates the microversion on its first request and
 * speaks it from then on (the lower of the server's maximum and 1.39).
 *
 * @example
 * ```ts
 * import { PlacementClient } from 'libvirt-migration-policy';
 *
 * const placement = new PlacementClient({
 *   endpoint: 'http://controller:8778',
 *   token: () => keystoneSession.getToken(), // asked before each request; a string works too
 *   timeoutMs: 10_000,
 * });
 * const { traits, generation } = await placement.providerTraits(computeNodeUuid);
 * ```
 */
export class PlacementClient {
  /** The endpoint, as messages show it. */
  readonly endpoint: string;
  readonly #base: string;
  readonly #token: () => Promise<string>;
  readonly #renewable: boolean;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #maxBytes: number;
  readonly #fetch: typeof fetch;
  #lastToken: string | undefined;
  #negotiation: Promise<NegotiatedVersion> | undefined;

  constructor(options: PlacementClientOptions) {
    if (typeof options !== 'object' || options === null) {
      throw invalid('options', 'the Placement client options are missing: pass { endpoint, token }');
    }
    const url = parseEndpoint(options.endpoint);
    this.#base = url.href.replace(/\/+$/, '');
    this.endpoint = this.#base;
    const { token } = options;
    if (typeof token === 'string') {
      const checked = checkToken(token);
      this.#token = async () => checked;
      this.#renewable = false;
    } else if (typeof token === 'function') {
      this.#token = async () => checkToken(await token());
      this.#renewable = true;
    } else {
      throw invalid('token', 'the Placement token is missing: pass a string, or a function returning one');
    }
    this.#timeoutMs = positive(options.timeoutMs, 'timeoutMs', DEFAULT_TIMEOUT_MS);
    this.#maxBytes = positive(options.maxResponseBytes, 'maxResponseBytes', DEFAULT_MAX_BYTES);
    this.#signal = options.signal;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /**
   * The microversion this client speaks, negotiated from `GET /` on first use (a failure is not kept: the
   * next call asks again).
   *
   * @example
   * ```ts
   * (await placement.microversion()).version; // '1.39' against Placement 8.0.0
   * ```
   */
  microversion(options: PlacementCallOptions = {}): Promise<NegotiatedVersion> {
    if (this.#negotiation === undefined) {
      const call: PlacementRequest = { method: 'GET', path: '/' };
      if (options.signal !== undefined) call.signal = options.signal;
      if (options.timeoutMs !== undefined) call.timeoutMs = options.timeoutMs;
      const negotiation = this.#send(call, undefined).then((r) => {
        const a = new Answer({ request: 'GET /', endpoint: this.endpoint, requestId: r.requestId });
        const body = a.object(r.body, 'body');
        const versions = body.versions === undefined ? [body.version] : a.array(body.versions, '"versions"');
        const v = a.object(versions[0], '"versions"[0]');
        return negotiate(v.min_version, v.max_version, this.endpoint);
      });
      this.#negotiation = negotiation;
      negotiation.catch(() => {
        if (this.#negotiation === negotiation) this.#negotiation = undefined;
      });
    }
    return this.#negotiation;
  }

  /**
   * Refuses, with `PLACEMENT_MICROVERSION`, a Placement too old for `feature`; `purpose` names the caller's
   * operation in the message.
   *
   * @example
   * ```ts
   * await placement.require('traits', 'reporting host traits'); // throws on a Placement before 1.6
   * ```
   */
  async require(
    feature: PlacementFeature,
    purpose: string,
    options: PlacementCallOptions = {},
  ): Promise<NegotiatedVersion> {
    const negotiated = await this.microversion(options);
    requireFeature(negotiated, feature, this.endpoint, purpose);
    return negotiated;
  }

  /**
   * One request at the negotiated microversion. A 2xx answer resolves with its parsed body; anything else
   * rejects with a {@link PlacementError} carrying the status, Placement's `errors[].code` and request id.
   *
   * @example
   * ```ts
   * const { body } = await placement.request({ method: 'GET', path: '/resource_classes' });
   * ```
   */
  async request(request: PlacementRequest): Promise<PlacementResponse> {
    const negotiated = await this.microversion(request);
    return this.#send(request, negotiated.version);
  }

  /**
   * The provider's traits and generation (`GET /resource_providers/{uuid}/traits`, microversion 1.6).
   *
   * @example
   * ```ts
   * const { traits, generation } = await placement.providerTraits('4e8e5957-649f-477b-9e5b-f1f75b21c03c');
   * ```
   */
  async providerTraits(provider: string, options: PlacementCallOptions = {}): Promise<ProviderTraits> {
    const path = `${providerPath(provider)}/traits`;
    await this.require('traits', 'reading a provider’s traits', options);
    const r = await this.request({ method: 'GET', path, ...options });
    return readProviderTraits(r.body, this.#context('GET', path, r.requestId));
  }

  /**
   * Replaces the provider's traits, given the generation they were read at
   * (`PUT /resource_providers/{uuid}/traits`). A stale generation is a 409 with `placementCode`
   * `placement.concurrent_update`: read again and merge ({@link reportHostTraits} does).
   *
   * @example
   * ```ts
   * const now = await placement.setProviderTraits(uuid, generation, [...traits, 'COMPUTE_MIGRATE_POST_COPY']);
   * now.generation; // generation + 1
   * ```
   */
  async setProviderTraits(
    provider: string,
    generation: number,
    traits: readonly string[],
    options: PlacementCallOptions = {},
  ): Promise<ProviderTraits> {
    const path = `${providerPath(provider)}/traits`;
    const body = { resource_provider_generation: generation, traits: traitNames(traits, 'traits') };
    await this.require('traits', 'writing a provider’s traits', options);
    const r = await this.request({ method: 'PUT', path, body, ...options });
    return readProviderTraits(r.body, this.#context('PUT', path, r.requestId));
  }

  /**
   * Which of `names` this Placement knows (`GET /traits?name=in:…`); the others are not in its database.
   *
   * @example
   * ```ts
   * await placement.knownTraits(['COMPUTE_MIGRATE_POST_COPY', 'CUSTOM_NOT_CREATED']);
   * // ['COMPUTE_MIGRATE_POST_COPY']
   * ```
   */
  async knownTraits(names: readonly string[], options: PlacementCallOptions = {}): Promise<string[]> {
    const wanted = traitNames(names, 'names');
    if (wanted.length === 0) return [];
    await this.require('traits', 'checking traits', options);
    const path = `/traits?name=in:${wanted.join(',')}`;
    const r = await this.request({ method: 'GET', path, ...options });
    const known = new Set(readTraitList(r.body, this.#context('GET', path, r.requestId)));
    return wanted.filter((t) => known.has(t));
  }

  /**
   * Creates a `CUSTOM_` trait (`PUT /traits/{name}`); nothing happens when it exists. Standard traits come
   * from the os-traits installed on the Placement server and cannot be created.
   *
   * @example
   * ```ts
   * await placement.createTrait('CUSTOM_RACK_7');
   * ```
   */
  async createTrait(name: string, options: PlacementCallOptions = {}): Promise<void> {
    if (typeof name !== 'string' || !/^CUSTOM_[A-Z0-9_]{1,248}$/.test(name)) {
      throw invalid(
        'name',
        `trait name ${JSON.stringify(String(name).slice(0, 64))} cannot be created: only CUSTOM_ traits ` +
          'can (^CUSTOM_[A-Z0-9_]+$); standard ones come from os-traits on the Placement server',
      );
    }
    await this.require('traits', 'creating a trait', options);
    await this.request({ method: 'PUT', path: `/traits/${name}`, ...options });
  }

  /**
   * Resource providers (`GET /resource_providers`), optionally filtered by Placement's query parameters,
   * e.g. `{ required: 'COMPUTE_MIGRATE_POST_COPY' }` (1.18) or `{ resources: 'VCPU:2' }`.
   *
   * @example
   * ```ts
   * const holders = await placement.resourceProviders({ required: 'COMPUTE_MIGRATE_POST_COPY' });
   * holders.map((p) => p.name); // ['compute-1', 'compute-3']
   * ```
   */
  async resourceProviders(
    query: Readonly<Record<string, string>> = {},
    options: PlacementCallOptions = {},
  ): Promise<ResourceProvider[]> {
    const path = `/resource_providers${queryString(query)}`;
    const r = await this.request({ method: 'GET', path, ...options });
    return readProviderList(r.body, this.#context('GET', path, r.requestId));
  }

  /**
   * Creates a resource provider (`POST /resource_providers`); Nova's compute does this for its compute node
   * at start. `uuid` is generated by Placement when left out.
   *
   * @example
   * ```ts
   * const node = await placement.createResourceProvider({ name: 'compute-1' });
   * ```
   */
  async createResourceProvider(
    provider: { name: string; uuid?: string; parentUuid?: string },
    options: PlacementCallOptions = {},
  ): Promise<ResourceProvider> {
    if (typeof provider?.name !== 'string' || provider.name.length === 0 || provider.name.length > 200) {
      throw invalid('name', 'a resource provider needs a name of 1–200 characters');
    }
    const body: Record<string, string> = { name: provider.name };
    if (provider.uuid !== undefined) body.uuid = checkUuid(provider.uuid, 'uuid');
    if (provider.parentUuid !== undefined)
      body.parent_provider_uuid = checkUuid(provider.parentUuid, 'parentUuid');
    await this.require('traits', 'creating a resource provider', options);
    const r = await this.request({ method: 'POST', path: '/resource_providers', body, ...options });
    return readProvider(
      r.body,
      'body',
      new Answer(this.#context('POST', '/resource_providers', r.requestId)),
    );
  }

  /**
   * Replaces the provider's inventories (`PUT /resource_providers/{uuid}/inventories`) at `generation`;
   * resolves the new generation.
   *
   * @example
   * ```ts
   * await placement.setInventories(node.uuid, node.generation, {
   *   VCPU: { total: 16 }, MEMORY_MB: { total: 65536 }, DISK_GB: { total: 500 },
   * });
   * ```
   */
  async setInventories(
    provider: string,
    generation: number,
    inventories: Readonly<Record<string, Inventory>>,
    options: PlacementCallOptions = {},
  ): Promise<number> {
    const path = `${providerPath(provider)}/inventories`;
    const body = { resource_provider_generation: generation, inventories };
    const r = await this.request({ method: 'PUT', path, body, ...options });
    const a = new Answer(this.#context('PUT', path, r.requestId));
    return a.count(a.object(r.body, 'body').resource_provider_generation, '"resource_provider_generation"');
  }

  /**
   * Deletes a resource provider (`DELETE /resource_providers/{uuid}`).
   *
   * @example
   * ```ts
   * await placement.deleteResourceProvider(node.uuid);
   * ```
   */
  async deleteResourceProvider(provider: string, options: PlacementCallOptions = {}): Promise<void> {
    await this.request({ method: 'DELETE', path: providerPath(provider), ...options });
  }

  /** The context an answer is read in (for its messages). */
  #context(method: string, path: string, requestId: string | undefined): AnswerContext {
    return { request: `${method} ${path}`, endpoint: this.endpoint, requestId };
  }

  async #send(
    request: PlacementRequest,
    version: string | undefined,
    renewed = false,
  ): Promise<PlacementResponse> {
    const what = `${request.method} ${request.path}`;
    const timeoutMs = positive(request.timeoutMs, 'timeoutMs', this.#timeoutMs);
    const deadline = AbortSignal.timeout(timeoutMs);
    const callers = [this.#signal, request.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = callers.length === 0 ? deadline : AbortSignal.any([deadline, ...callers]);
    const stopped = (err?: unknown): PlacementError | undefined => {
      if (callers.some((s) => s.aborted)) {
        return new PlacementError('PLACEMENT_ABORTED', `${what}: aborted by the caller`, { request: what });
      }
      if (deadline.aborted) {
        return new PlacementError(
          'PLACEMENT_TIMEOUT',
          `${what}: ${this.endpoint} did not answer within ${timeoutMs} ms (the deadline covers the token, ` +
            'the answer and its body): is Placement overloaded or the network down?',
          { request: what },
        );
      }
      return err instanceof PlacementError ? err : undefined;
    };
    const early = stopped();
    if (early) throw early;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (version !== undefined) {
      headers['OpenStack-API-Version'] = `placement ${version}`;
      headers['X-Auth-Token'] = await this.#obtainToken(signal, stopped);
    }
    if (request.body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(`${this.#base}${request.path}`, {
        method: request.method,
        headers,
        signal,
        redirect: 'error',
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      });
    } catch (err) {
      throw stopped(err) ?? this.#unreachable(what, err);
    }
    const requestId =
      response.headers.get('openstack-request-id') ??
      response.headers.get('x-openstack-request-id') ??
      undefined;
    let text: string;
    try {
      text = await readLimited(response, this.#maxBytes, () => this.#tooBig(what, requestId));
    } catch (err) {
      throw stopped(err) ?? this.#unreachable(what, err);
    }
    const body = parseJson(text);
    if (response.ok) {
      if (body === INVALID) {
        throw new PlacementError(
          'PLACEMENT_BAD_RESPONSE',
          `${what}: ${this.endpoint} answered ${response.status} with a body that is not JSON ` +
            `(${this.#excerpt(text)}): is this endpoint Placement's?`,
          { request: what, status: response.status, ...(requestId ? { requestId } : {}) },
        );
      }
      return { status: response.status, body, requestId };
    }
    if (response.status === 401 && this.#renewable && !renewed && version !== undefined) {
      return this.#send(request, version, true); // a renewed token, once: the session's may have expired
    }
    throw this.#refusal(what, response.status, body === INVALID ? undefined : body, requestId);
  }

  async #obtainToken(
    signal: AbortSignal,
    stopped: (err?: unknown) => PlacementError | undefined,
  ): Promise<string> {
    let abort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      abort = () => reject(stopped());
      signal.addEventListener('abort', abort, { once: true });
    });
    try {
      const token = await Promise.race([this.#token(), aborted]);
      this.#lastToken = token;
      return token;
    } catch (err) {
      if (err instanceof PlacementError || err instanceof MigrationPolicyError) {
        throw err instanceof MigrationPolicyError
          ? new PlacementError('PLACEMENT_INVALID_TOKEN', err.message, { key: 'token' })
          : err;
      }
      // The function's own message may quote what it was given (a password, the token): name it only.
      throw new PlacementError(
        'PLACEMENT_INVALID_TOKEN',
        `the token function failed (${errorName(err)}): check the Keystone session that gives the token`,
        { key: 'token' },
      );
    } finally {
      if (abort) signal.removeEventListener('abort', abort);
      aborted.catch(() => {});
    }
  }

  #refusal(what: string, status: number, body: unknown, headerId: string | undefined): PlacementError {
    const fault = readFault(body);
    const requestId = fault.requestId ?? headerId;
    const detail =
      fault.detail === undefined ? '' : `: ${this.#scrub(fault.detail, 300).replace(/\.+$/, '')}`;
    const title = fault.title === undefined ? '' : ` ${this.#scrub(fault.title, 60)}`;
    const details: PlacementErrorDetails = {
      request: what,
      status,
      ...(fault.code === undefined ? {} : { placementCode: this.#scrub(fault.code, 80) }),
      ...(requestId === undefined ? {} : { requestId: this.#scrub(requestId, 80) }),
    };
    // placement.undefined_code is Placement's "no code": it only makes the message longer.
    const shownCode =
      details.placementCode === 'placement.undefined_code' ? undefined : details.placementCode;
    const answered = `${what}: Placement answered ${status}${title}${shownCode ? ` (${shownCode})` : ''}${detail}`;
    const tail = details.requestId ? ` [request ${details.requestId}]` : '';
    if (status === 401) {
      return new PlacementError(
        'PLACEMENT_UNAUTHORIZED',
        `${answered}: the token is missing, expired or not valid for this cloud: get a new one ` +
          `(openstack token issue, or your Keystone session)${tail}`,
        details,
      );
    }
    if (status === 403) {
      return new PlacementError(
        'PLACEMENT_UNAUTHORIZED',
        `${answered}: the token's user lacks the role Placement's policy requires for this call ` +
          `(role admin by default, as Nova's own service user has)${tail}`,
        details,
      );
    }
    if (status === 404) return new PlacementError('PLACEMENT_NOT_FOUND', `${answered}${tail}`, details);
    if (status === 406) {
      return new PlacementError(
        'PLACEMENT_MICROVERSION',
        `${answered}: this Placement refuses the microversion negotiated from GET /${tail}`,
        details,
      );
    }
    const hint = status >= 500 ? ': Placement failed; its log has the request id, retry later' : '';
    return new PlacementError('PLACEMENT_HTTP_ERROR', `${answered}${hint}${tail}`, details);
  }

  #unreachable(what: string, err: unknown): PlacementError {
    const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
    const code = typeof cause?.code === 'string' ? cause.code : undefined;
    const why = typeof cause?.message === 'string' ? cause.message : errorName(err);
    return new PlacementError(
      'PLACEMENT_UNREACHABLE',
      `${what}: ${this.endpoint} cannot be reached (${this.#scrub(why, 200)}${code && !why.includes(code) ? `, ${code}` : ''}): ` +
        'check the endpoint (Keystone catalog type "placement"), the network and TLS',
      { request: what },
    );
  }

  #tooBig(what: string, requestId: string | undefined): PlacementError {
    return new PlacementError(
      'PLACEMENT_BAD_RESPONSE',
      `${what}: ${this.endpoint} answered more than ${this.#maxBytes} bytes (maxResponseBytes): ` +
        'narrow the query (e.g. a limit) or raise maxResponseBytes',
      { request: what, ...(requestId ? { requestId } : {}) },
    );
  }

  #excerpt(text: string): string {
    return text.length === 0 ? 'empty' : JSON.stringify(this.#scrub(text, 80));
  }

  /** Server or network text, without the token, control characters or more than `max` characters. */
  #scrub(text: string, max: number): string {
    let out = text;
    const token = this.#lastToken;
    if (token !== undefined && token.length >= MIN_SCRUBBED) out = out.split(token).join('***');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
    out = out.replace(/[\x00-\x1f\x7f]+/g, ' ');
    return out.length > max ? `${out.slice(0, max)}…` : out;
  }
}

const INVALID = Symbol('invalid JSON');

function parseJson(text: string): unknown {
  if (text.trim().length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return INVALID;
  }
}

/** The body as text, refusing more than `max` bytes (an untrusted server can send gigabytes). */
async function readLimited(response: Response, max: number, tooBig: () => Error): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => {});
    throw tooBig();
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooBig();
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

function parseEndpoint(endpoint: unknown): URL {
  let url: URL | undefined;
  try {
    if (typeof endpoint === 'string' || endpoint instanceof URL) url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw invalid(
      'endpoint',
      `the Placement endpoint ${describe(endpoint)} is not an http(s) URL: pass e.g. http://controller:8778`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    // fetch refuses such URLs, and Placement takes a token, not a password: say so without quoting them.
    throw invalid(
      'endpoint',
      'the Placement endpoint has credentials in it (user:password@): remove them, Placement takes a token',
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw invalid('endpoint', 'the Placement endpoint has a query or fragment: pass its base URL only');
  }
  return url;
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : typeof value;
  try {
    const url = new URL(value);
    url.username = '';
    url.password = '';
    return JSON.stringify(url.href.slice(0, 100));
  } catch {
    // Not a URL: it may still be a secret pasted in the wrong place, so only its length is shown.
    return `(${value.length} characters)`;
  }
}

function checkToken(token: unknown): string {
  if (typeof token !== 'string' || token.length === 0) {
    throw invalid(
      'token',
      `the Placement token is ${token === '' ? 'empty' : typeof token}: pass a Keystone token`,
    );
  }
  if (token.length > MAX_TOKEN_CHARS || !HEADER_VALUE.test(token)) {
    // Never the value: it is a secret. Node's own header check would quote it.
    throw invalid(
      'token',
      `the Placement token (${token.length} characters) cannot be sent as X-Auth-Token: it must be 1–${MAX_TOKEN_CHARS} visible ASCII characters, without spaces or line breaks`,
    );
  }
  return token;
}

function checkUuid(value: unknown, key: string): string {
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw invalid(key, `${key} ${describe(value)} is not a resource provider UUID`);
  }
  return value;
}

/** `/resource_providers/{uuid}`, the UUID checked (it becomes part of a URL). */
export function providerPath(provider: unknown): string {
  return `/resource_providers/${checkUuid(provider, 'provider')}`;
}

/** Trait names checked as Placement would, so that a typo is ours to report, not a 400. */
export function traitNames(names: unknown, key: string): string[] {
  if (!Array.isArray(names)) throw invalid(key, `${key} must be a list of trait names`);
  return names.map((name, i) => {
    if (typeof name !== 'string' || !TRAIT_NAME.test(name)) {
      throw invalid(
        `${key}[${i}]`,
        `${key}[${i}] ${describeName(name)} is not a trait name: traits are upper case, digits and _ ` +
          '(e.g. COMPUTE_MIGRATE_POST_COPY, CUSTOM_RACK_7)',
      );
    }
    return name;
  });
}

function describeName(name: unknown): string {
  return typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) : `(${typeof name})`;
}

function queryString(query: Readonly<Record<string, string>>): string {
  const entries = Object.entries(query).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '';
  // Placement's values use `:` and `,` literally (resources=VCPU:1,MEMORY_MB:512), so only what a URL
  // cannot carry is escaped.
  const part = (s: string) =>
    encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%2C/gi, ',').replace(/%21/gi, '!');
  return `?${entries.map(([k, v]) => `${part(k)}=${part(v)}`).join('&')}`;
}

function positive(value: unknown, key: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(
      key,
      `${key} is ${typeof value === 'number' ? value : describeName(value)}: use a positive number`,
    );
  }
  return value;
}

function errorName(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.name} ${code}` : err.name;
  }
  return typeof err;
}

function invalid(key: string, message: string): MigrationPolicyError {
  return new MigrationPolicyError('INVALID_ARGUMENT', message, { key });
}
