import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationPolicyError, PlacementClient, PlacementError } from '../../src/index.js';
import { type FakePlacement, fakePlacement, fixture, recordedProvider, replay } from './fake-placement.js';

let fake: FakePlacement;
beforeEach(async () => {
  fake = await fakePlacement();
});
afterEach(() => fake.close());

const provider = recordedProvider('providerTraits');
const traitsPath = `/resource_providers/${provider}/traits`;

async function rejection(promise: Promise<unknown>): Promise<PlacementError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PlacementError);
  return err as PlacementError;
}

describe('microversion negotiation', () => {
  it('asks GET / without a token, then sends the negotiated version and the token on every request', async () => {
    fake.on('GET', traitsPath, replay('providerTraits'));
    const placement = new PlacementClient({ endpoint: fake.endpoint, token: 'admin' });
    expect(await placement.providerTraits(provider)).toEqual({
      traits: ['COMPUTE_MIGRATE_POST_COPY', 'COMPUTE_MIGRATE_AUTO_CONVERGE'],
      generation: 2,
    });
    await placement.providerTraits(provider);
    expect(fake.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /',
      `GET ${traitsPath}`,
      `GET ${traitsPath}`,
    ]);
    expect(fake.seen[0]?.headers['x-auth-token']).toBeUndefined();
    expect(fake.seen[1]?.headers).toMatchObject({
      'x-auth-token': 'admin',
      'openstack-api-version': 'placement 1.39',
    });
  });

  it('negotiates at GET / whichever call comes first', async () => {
    fake.on('GET', '/resource_providers', replay('providers'));
    const placement = new PlacementClient({ endpoint: fake.endpoint, token: 'admin' });
    expect((await placement.resourceProviders()).length).toBeGreaterThan(0);
    expect(fake.seen.map((s) => [s.path, s.headers['openstack-api-version']])).toEqual([
      ['/', undefined],
      ['/resource_providers', 'placement 1.39'],
    ]);
  });

  it("speaks an older server's maximum", async () => {
    fake.on('GET', '/', { status: 200, body: { versions: [{ min_version: '1.0', max_version: '1.30' }] } });
    const placement = new PlacementClient({ endpoint: fake.endpoint, token: 'admin' });
    expect(await placement.microversion()).toEqual({ min: '1.0', max: '1.30', version: '1.30' });
  });

  it('refuses a Placement before 1.6 for traits, naming the microversion missing', async () => {
    fake.on('GET', '/', { status: 200, body: { versions: [{ min_version: '1.0', max_version: '1.5' }] } });
    const placement = new PlacementClient({ endpoint: fake.endpoint, token: 'admin' });
    const err = await rejection(placement.providerTraits(provider));
    expect(err.code).toBe('PLACEMENT_MICROVERSION');
    expect(err.message).toBe(
      `reading a provider’s traits needs traits (Placement microversion 1.6), but ${fake.endpoint} offers at most 1.5: upgrade Placement`,
    );
    expect(fake.seen).toHaveLength(1);
  });

  it('refuses a server with no version in common', async () => {
    fake.on('GET', '/', { status: 200, body: { versions: [{ min_version: '2.0', max_version: '2.3' }] } });
    const err = await rejection(
      new PlacementClient({ endpoint: fake.endpoint, token: 'admin' }).microversion(),
    );
    expect(err.code).toBe('PLACEMENT_MICROVERSION');
    expect(err.message).toContain('no version in common');
  });

  it.each([
    ['not JSON', { status: 200, body: '<html>It works!</html>' }, 'not JSON'],
    ['no versions', { status: 200, body: { hello: 'world' } }, '"versions"[0] is undefined, not an object'],
    [
      'a version that is not one',
      { status: 200, body: { versions: [{ min_version: '1.0', max_version: 'x' }] } },
      'without a valid microversion range',
    ],
  ] as const)('a root answer with %s is PLACEMENT_BAD_RESPONSE', async (_what, reply, says) => {
    fake.on('GET', '/', reply);
    const err = await rejection(
      new PlacementClient({ endpoint: fake.endpoint, token: 'admin' }).microversion(),
    );
    expect(err.code).toBe('PLACEMENT_BAD_RESPONSE');
    expect(err.message).toContain(says);
  });

  it('does not keep a failed negotiation: the next call asks again', async () => {
    fake.on('GET', '/', (_req, n) => (n === 0 ? { status: 503, body: '' } : replay('root')));
    const placement = new PlacementClient({ endpoint: fake.endpoint, token: 'admin' });
    expect((await rejection(placement.microversion())).status).toBe(503);
    expect((await placement.microversion()).version).toBe('1.39');
  });

  it("a 406 (the server refuses the version) is PLACEMENT_MICROVERSION with Placement's words", async () => {
    fake.on('GET', traitsPath, replay('unacceptableVersion'));
    const err = await rejection(
      new PlacementClient({ endpoint: fake.endpoint, token: 'admin' }).providerTraits(provider),
    );
    expect(err).toMatchObject({ code: 'PLACEMENT_MICROVERSION', status: 406 });
    expect(err.message).toContain('Invalid microversion: Unacceptable version header: 1.99');
  });
});

describe("Placement's errors", () => {
  const placement = () => new PlacementClient({ endpoint: fake.endpoint, token: 'admin' });

  it('a 409 carries its code, status and request id from the recorded body', async () => {
    fake.on('PUT', traitsPath, replay('staleGeneration'));
    const err = await rejection(placement().setProviderTraits(provider, 1, []));
    const requestId = JSON.parse(fixture('staleGeneration').body).errors[0].request_id;
    expect(err).toMatchObject({
      code: 'PLACEMENT_HTTP_ERROR',
      status: 409,
      placementCode: 'placement.concurrent_update',
      requestId,
      request: `PUT ${traitsPath}`,
    });
    expect(err.message).toBe(
      `PUT ${traitsPath}: Placement answered 409 Conflict (placement.concurrent_update): Resource provider's ` +
        `generation already changed. Please update the generation and try again [request ${requestId}]`,
    );
    expect(err.toJSON()).toMatchObject({
      status: 409,
      placementCode: 'placement.concurrent_update',
      requestId,
    });
  });

  it.each([
    ['noSuchProvider', 'PLACEMENT_NOT_FOUND', 404, 'No resource provider with uuid'],
    ['forbiddenRole', 'PLACEMENT_UNAUTHORIZED', 403, 'lacks the role'],
    ['noToken', 'PLACEMENT_UNAUTHORIZED', 401, 'missing, expired or not valid'],
  ] as const)('recorded %s is %s', async (name, code, status, says) => {
    fake.on('GET', /^\/resource_providers\/[^/]+\/traits$/, replay(name));
    const err = await rejection(placement().providerTraits(provider));
    expect(err).toMatchObject({ code, status });
    expect(err.message).toContain(says);
  });

  it("a 5xx says Placement failed, with the request id of Placement's header", async () => {
    fake.on('GET', traitsPath, {
      status: 500,
      body: '<html><body><h1>500 Internal Server Error</h1></body></html>',
      headers: { 'content-type': 'text/html', 'x-openstack-request-id': 'req-0000-fake' },
    });
    const err = await rejection(placement().providerTraits(provider));
    expect(err).toMatchObject({ code: 'PLACEMENT_HTTP_ERROR', status: 500, requestId: 'req-0000-fake' });
    expect(err.message).toBe(
      `GET ${traitsPath}: Placement answered 500: Placement failed; its log has the request id, retry later [request req-0000-fake]`,
    );
  });

  it('an unreachable endpoint is PLACEMENT_UNREACHABLE naming the system error', async () => {
    const endpoint = fake.endpoint;
    await fake.close();
    fake = await fakePlacement(); // for afterEach
    const err = await rejection(new PlacementClient({ endpoint, token: 'admin' }).microversion());
    expect(err.code).toBe('PLACEMENT_UNREACHABLE');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('a connection reset without an answer is PLACEMENT_UNREACHABLE', async () => {
    fake.on('GET', traitsPath, 'reset');
    expect((await rejection(placement().providerTraits(provider))).code).toBe('PLACEMENT_UNREACHABLE');
  });

  it('a redirect is not followed, so the token never goes to another host', async () => {
    const other = await fakePlacement();
    try {
      fake.on('GET', traitsPath, { status: 302, headers: { location: `${other.endpoint}${traitsPath}` } });
      expect((await rejection(placement().providerTraits(provider))).code).toBe('PLACEMENT_UNREACHABLE');
      expect(other.seen).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('untrusted answers', () => {
  const placement = (maxResponseBytes?: number) =>
    new PlacementClient({
      endpoint: fake.endpoint,
      token: 'admin',
      ...(maxResponseBytes === undefined ? {} : { maxResponseBytes }),
    });

  it.each([
    ['a body that is not JSON', 'Service Unavailable', 'is not JSON ("Service Unavailable")'],
    [
      'traits that are not a list',
      { traits: 'COMPUTE_MIGRATE_POST_COPY', resource_provider_generation: 1 },
      '"traits" is the string "COMPUTE_MIGRATE_POST_COPY", not a list',
    ],
    [
      'a generation that is a string',
      { traits: [], resource_provider_generation: '1' },
      '"resource_provider_generation" is the string "1", not a whole number ≥ 0',
    ],
    [
      'a trait that is no trait name',
      { traits: ['compute_migrate_post_copy'], resource_provider_generation: 1 },
      '"traits"[0] is "compute_migrate_post_copy", which is not a valid name',
    ],
    ['a list for the body', [], 'body is a list, not an object'],
    ['an empty body', '', 'body is undefined, not an object'],
  ])('%s is PLACEMENT_BAD_RESPONSE naming what is wrong', async (_what, body, says) => {
    fake.on('GET', traitsPath, { status: 200, body });
    const err = await rejection(placement().providerTraits(provider));
    expect(err.code).toBe('PLACEMENT_BAD_RESPONSE');
    expect(err.message).toContain(says);
    expect(err.message).toContain(`GET ${traitsPath}`);
  });

  it('an answer larger than maxResponseBytes is refused, declared or streamed', async () => {
    const big = JSON.stringify({
      traits: Array.from({ length: 5000 }, (_, i) => `CUSTOM_T${i}`),
      resource_provider_generation: 1,
    });
    fake.on('GET', traitsPath, { status: 200, body: big });
    const err = await rejection(placement(4096).providerTraits(provider));
    expect(err.code).toBe('PLACEMENT_BAD_RESPONSE');
    expect(err.message).toContain('more than 4096 bytes (maxResponseBytes)');
    expect(await placement(big.length).providerTraits(provider)).toMatchObject({ generation: 1 });
  });

  it('allocation candidates naming a provider missing from the summaries are refused', async () => {
    const candidates = JSON.parse(fixture('candidatesPostCopy').body);
    candidates.provider_summaries = {};
    fake.on('GET', /^\/allocation_candidates/, { status: 200, body: candidates });
    fake.on('GET', /^\/resource_providers/, replay('providers'));
    const { candidateProviders, schedulingRequest } = await import('../../src/index.js');
    const err = await rejection(
      candidateProviders(placement(), schedulingRequest({}, { vcpus: 1, ram: 512, disk: 1 })),
    );
    expect(err.code).toBe('PLACEMENT_BAD_RESPONSE');
    expect(err.message).toContain('names a provider missing from "provider_summaries"');
  });
});

describe('deadlines', () => {
  it('a server that never answers is PLACEMENT_TIMEOUT after the deadline', async () => {
    fake.on('GET', traitsPath, 'hang');
    const placement = new PlacementClient({ endpoint: fake.endpoint, token: 'admin', timeoutMs: 300 });
    await placement.microversion();
    const started = Date.now();
    const err = await rejection(placement.providerTraits(provider));
    expect(err.code).toBe('PLACEMENT_TIMEOUT');
    expect(err.message).toContain('did not answer within 300 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a body that stops half-way is PLACEMENT_TIMEOUT too: the deadline covers the body', async () => {
    fake.on('GET', traitsPath, 'stall-body');
    const placement = new PlacementClient({ endpoint: fake.endpoint, token: 'admin', timeoutMs: 300 });
    expect((await rejection(placement.providerTraits(provider))).code).toBe('PLACEMENT_TIMEOUT');
  });

  it('a token function that never returns is PLACEMENT_TIMEOUT, and the request is never sent', async () => {
    const placement = new PlacementClient({
      endpoint: fake.endpoint,
      token: () => new Promise<string>(() => {}),
      timeoutMs: 200,
    });
    expect((await rejection(placement.providerTraits(provider))).code).toBe('PLACEMENT_TIMEOUT');
    expect(fake.seen.map((s) => s.path)).toEqual(['/']);
  });

  it("the caller's signal aborts a request: PLACEMENT_ABORTED, and none is sent when it is already aborted", async () => {
    fake.on('GET', traitsPath, 'hang');
    const placement = new PlacementClient({ endpoint: fake.endpoint, token: 'admin' });
    const controller = new AbortController();
    const pending = placement.providerTraits(provider, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect((await rejection(pending)).code).toBe('PLACEMENT_ABORTED');
    const before = fake.seen.length;
    expect((await rejection(placement.providerTraits(provider, { signal: controller.signal }))).code).toBe(
      'PLACEMENT_ABORTED',
    );
    expect(fake.seen.length).toBe(before);
  });

  it("the client's own signal aborts its requests", async () => {
    const controller = new AbortController();
    controller.abort();
    const placement = new PlacementClient({
      endpoint: fake.endpoint,
      token: 'admin',
      signal: controller.signal,
    });
    expect((await rejection(placement.microversion())).code).toBe('PLACEMENT_ABORTED');
  });
});

describe('tokens', () => {
  const SECRET = 'gAAAAABsecret-token-9f8e7d6c5b4a';

  it('a token function is asked before each request, may be async, and is asked again once after a 401', async () => {
    fake.on('GET', traitsPath, (req) =>
      req.headers['x-auth-token'] === 'fresh' ? replay('providerTraits') : replay('noToken'),
    );
    const given: string[] = [];
    const tokens = ['stale', 'fresh', 'fresh'];
    const placement = new PlacementClient({
      endpoint: fake.endpoint,
      token: async () => {
        const t = tokens[given.length] ?? 'fresh';
        given.push(t);
        return t;
      },
    });
    expect((await placement.providerTraits(provider)).generation).toBe(2);
    await placement.providerTraits(provider);
    expect(given).toEqual(['stale', 'fresh', 'fresh']);
  });

  it('a fixed token refused is PLACEMENT_UNAUTHORIZED at once (no renewal to try)', async () => {
    fake.on('GET', traitsPath, replay('noToken'));
    const placement = new PlacementClient({ endpoint: fake.endpoint, token: SECRET });
    expect((await rejection(placement.providerTraits(provider))).code).toBe('PLACEMENT_UNAUTHORIZED');
    expect(fake.seen.filter((s) => s.path === traitsPath)).toHaveLength(1);
  });

  it('a token function that throws is PLACEMENT_INVALID_TOKEN without its message (it may quote a secret)', async () => {
    const placement = new PlacementClient({
      endpoint: fake.endpoint,
      token: () => {
        throw new Error(`keystone refused password ${SECRET}`);
      },
    });
    const err = await rejection(placement.providerTraits(provider));
    expect(err.code).toBe('PLACEMENT_INVALID_TOKEN');
    expect(err.message).toBe(
      'the token function failed (Error): check the Keystone session that gives the token',
    );
  });

  it.each([
    ['a line break', `${SECRET}\nX-Other: 1`],
    ['a space', `Bearer ${SECRET}`],
    ['non-ASCII', `${SECRET}é`],
  ])('a token with %s is refused before anything is sent, without quoting it', async (_what, token) => {
    expect(() => new PlacementClient({ endpoint: fake.endpoint, token })).toThrow(MigrationPolicyError);
    const placement = new PlacementClient({ endpoint: fake.endpoint, token: () => token });
    const err = await rejection(placement.providerTraits(provider));
    expect(err.code).toBe('PLACEMENT_INVALID_TOKEN');
    expect(err.message).toContain('cannot be sent as X-Auth-Token');
    expect(err.message).not.toContain(SECRET);
    expect(fake.seen.filter((s) => s.path === traitsPath)).toHaveLength(0);
  });

  it('never shows the token: not in the client, nor in an error whose server text echoes it', async () => {
    fake.on('GET', traitsPath, (req) => ({
      status: 400,
      body: {
        errors: [
          {
            status: 400,
            title: 'Bad Request',
            detail: `x\n\n token ${String(req.headers['x-auth-token'])} is odd`,
            code: 'placement.undefined_code',
            request_id: String(req.headers['x-auth-token']),
          },
        ],
      },
    }));
    const placement = new PlacementClient({ endpoint: fake.endpoint, token: () => SECRET });
    const err = await rejection(placement.providerTraits(provider));
    expect(err.message).toContain('token *** is odd');
    for (const text of [err.message, JSON.stringify(err), inspect(err), String(err.stack)]) {
      expect(text).not.toContain(SECRET);
    }
    const fixed = new PlacementClient({ endpoint: fake.endpoint, token: SECRET });
    for (const text of [inspect(fixed, { showHidden: true, depth: 5 }), JSON.stringify(fixed)]) {
      expect(text).not.toContain(SECRET);
    }
  });

  it('an endpoint with credentials in it is refused without quoting them', () => {
    const url = new URL(fake.endpoint);
    url.username = 'svc';
    url.password = 'hunter2hunter2';
    let err: unknown;
    try {
      new PlacementClient({ endpoint: url.href, token: 'admin' });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', key: 'endpoint' });
    expect(JSON.stringify(err)).not.toContain('hunter2');
    expect((err as Error).message).not.toContain('hunter2');
  });
});

describe('arguments', () => {
  it.each([
    ['no endpoint', { token: 'admin' }, 'endpoint'],
    ['a relative endpoint', { endpoint: 'controller:8778', token: 'admin' }, 'endpoint'],
    ['an endpoint with a query', { endpoint: 'http://c:8778/?x=1', token: 'admin' }, 'endpoint'],
    ['no token', { endpoint: 'http://c:8778' }, 'token'],
    ['an empty token', { endpoint: 'http://c:8778', token: '' }, 'token'],
    ['a zero deadline', { endpoint: 'http://c:8778', token: 'admin', timeoutMs: 0 }, 'timeoutMs'],
  ])('%s is INVALID_ARGUMENT naming the key', (_what, options, key) => {
    let err: unknown;
    try {
      new PlacementClient(options as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MigrationPolicyError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', key });
  });

  it('a provider that is not a UUID never becomes part of a URL', async () => {
    const placement = new PlacementClient({ endpoint: fake.endpoint, token: 'admin' });
    await expect(placement.providerTraits('../traits')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      key: 'provider',
    });
    expect(fake.seen.filter((s) => s.path !== '/')).toEqual([]);
  });
});
