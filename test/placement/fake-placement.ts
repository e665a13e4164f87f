/**
 * A recorded fake of Placement for the unit tests' branches: a real HTTP server on 127.0.0.1 that answers
 * with the answers recorded from a real Placement (fixtures/recorded.json, see record-fixtures.ts), or with
 * what a test needs to break (a hang, a stalled body, a 5xx, nonsense). It proves nothing about Placement
 * itself: that is test/e2e/placement.test.ts, against the real server.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Recording } from './record-fixtures.js';

/** The real Placement's answers, by name (see record-fixtures.ts). */
export const recorded = JSON.parse(
  readFileSync(new URL('./fixtures/recorded.json', import.meta.url), 'utf8'),
) as Record<string, Recording>;

/** The recorded answer `name`, or a throw naming it (a fixture renamed by a new recording). */
export function fixture(name: string): Recording {
  const r = recorded[name];
  if (r === undefined) throw new Error(`no recorded answer "${name}" in fixtures/recorded.json`);
  return r;
}

/** The provider UUID the recording `name` was made against. */
export function recordedProvider(name: string): string {
  const m = /\/resource_providers\/([0-9a-f-]{36})/.exec(fixture(name).path);
  if (!m?.[1]) throw new Error(`recording ${name} names no provider`);
  return m[1];
}

/** What the fake does with one request. */
export type Reply =
  | { status: number; body?: string | object; headers?: Record<string, string> }
  /** Never answers. */
  | 'hang'
  /** Sends the headers and half a body, then nothing. */
  | 'stall-body'
  /** Closes the connection without an answer. */
  | 'reset';

/** One request the fake received. */
export interface Seen {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

type Handler = (req: Seen, count: number) => Reply;

/** A running fake. */
export interface FakePlacement {
  endpoint: string;
  /** Every request, in order. */
  seen: Seen[];
  /** Answers `method path` (exact path with query, or a pattern) with `reply`; later routes win. */
  on(method: string, path: string | RegExp, reply: Reply | Handler): FakePlacement;
  close(): Promise<void>;
}

/** A recorded answer as a {@link Reply}. */
export function replay(name: string): Reply {
  const r = fixture(name);
  return { status: r.status, body: r.body, headers: r.headers };
}

/** Starts a fake whose `GET /` answers as the real Placement 8.0.0 did. */
export async function fakePlacement(): Promise<FakePlacement> {
  const routes: { method: string; path: string | RegExp; handler: Handler; count: number }[] = [];
  const seen: Seen[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const request: Seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      seen.push(request);
      const route = [...routes]
        .reverse()
        .find(
          (r) =>
            r.method === request.method &&
            (typeof r.path === 'string' ? r.path === request.path : r.path.test(request.path)),
        );
      if (route === undefined) {
        res
          .writeHead(599, { 'content-type': 'text/plain' })
          .end(`fake: no route for ${request.method} ${request.path}`);
        return;
      }
      const reply = route.handler(request, route.count++);
      if (reply === 'hang') {
        hanging.add(res);
        return;
      }
      if (reply === 'reset') {
        req.socket.destroy();
        return;
      }
      if (reply === 'stall-body') {
        hanging.add(res);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"traits": [');
        return;
      }
      const text =
        typeof reply.body === 'string'
          ? reply.body
          : reply.body === undefined
            ? ''
            : JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(text);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const fake: FakePlacement = {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    on(method, path, reply) {
      routes.push({ method, path, handler: typeof reply === 'function' ? reply : () => reply, count: 0 });
      return fake;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  fake.on('GET', '/', replay('root'));
  return fake;
}

/**
 * A stateful provider on the fake, for reportHostTraits' branches: GET and PUT of its traits with a real
 * generation check, answered in the shapes (and with the 409 and 400 bodies) the real Placement recorded.
 */
export function withProvider(
  fake: FakePlacement,
  uuid: string,
  state: { traits: string[]; generation: number; known?: readonly string[] },
): { traits: string[]; generation: number; puts: number } {
  const live = { traits: [...state.traits], generation: state.generation, puts: 0 };
  const known = new Set(
    state.known ?? [
      'COMPUTE_MIGRATE_AUTO_CONVERGE',
      'COMPUTE_MIGRATE_POST_COPY',
      'HW_CPU_X86_AVX2',
      'CUSTOM_RACK_7',
    ],
  );
  const path = `/resource_providers/${uuid}/traits`;
  fake.on('GET', path, () => ({
    status: 200,
    body: { traits: live.traits, resource_provider_generation: live.generation },
  }));
  fake.on('PUT', path, (req) => {
    live.puts++;
    const body = JSON.parse(req.body) as { resource_provider_generation: number; traits: string[] };
    if (body.resource_provider_generation !== live.generation) return replay('staleGeneration');
    const unknown = body.traits.find((t) => !known.has(t));
    if (unknown !== undefined) return replay('noSuchTraitPut');
    live.traits = body.traits;
    live.generation++;
    return { status: 200, body: { traits: live.traits, resource_provider_generation: live.generation } };
  });
  fake.on('GET', /^\/traits\?name=in:/, (req) => {
    const names = decodeURIComponent(req.path.slice('/traits?name=in:'.length)).split(',');
    return { status: 200, body: { traits: names.filter((n) => known.has(n)) } };
  });
  return live;
}
