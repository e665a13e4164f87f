/**
 * No credential leaves the library: recognisable secrets — a URI's password, a `?password=` parameter, a
 * token — are fed to every path that prints (errors of each kind, a job's events and outcome, `logMigration`,
 * the metrics exposition, the CLI's text and `--json`), and the test fails on any occurrence of any of them.
 * Placement's token and endpoint credentials too: echoed back by the server, in a failing token function.
 * Caller-thrown errors stay the caller's in the outcome, and are redacted wherever the library prints them.
 */
import { inspect } from 'node:util';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createMigrationMetrics,
  logMigration,
  type MigrateOptions,
  type MigrationJob,
  type MigrationLogger,
  migrate,
  PlacementClient,
  PlacementError,
  parseNovaConf,
  resolveHostConfig,
} from '../../src/index.js';
import { type LibvirtBackend, openConnection } from '../../src/libvirt/index.js';
import { tlsFailure } from '../../src/policy/index.js';
import { cli, fixture } from '../cli/run.js';
import { FakeDomain, fakeBackend, libvirtError, until } from '../migration/fake-libvirt.js';
import { optionsFor } from '../migration/helpers.js';
import { fakePlacement } from '../placement/fake-placement.js';

const PASSWORD = 's3cr3t-Pa55w0rd';
const QUERY_SECRET = 'hunter2-q-param';
const TOKEN = 'gAAAAA-placement-tok3n-x9';
const SECRETS = [PASSWORD, QUERY_SECRET, TOKEN];
/** A destination URI carrying all three: a password, a secret parameter, and the token in a harmless-looking one. */
const URI = `qemu+tls://admin:${PASSWORD}@compute-2.invalid/system?password=${QUERY_SECRET}&no_verify=0&x=${TOKEN}`;

/** Everything an error prints: message, stack, JSON, string form, the cause's too. */
function printed(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v instanceof Error) {
      const cause = (v as { cause?: unknown }).cause;
      return {
        text: String(v),
        message: v.message,
        stack: v.stack,
        json: (v as { toJSON?: () => unknown }).toJSON?.(),
        own: { ...v },
        cause,
      };
    }
    return v;
  });
}

/** The token is only known to be one because its holder says so: the tests name it as the CLI does. */
function expectNoSecret(where: string, text: string, secrets: readonly string[] = SECRETS): void {
  expect(text.length, `${where}: nothing was printed to check`).toBeGreaterThan(0);
  for (const secret of secrets) expect(text, `${where} leaks ${secret}`).not.toContain(secret);
}

/** The URI's password and secret parameter (the token hides in `x=`: only a caller who names it has it redacted). */
const URI_SECRETS = [PASSWORD, QUERY_SECRET];

describe('errors of each kind', () => {
  it("MigrationJobError: options quoting a URI with a password (message, key's value, JSON)", async () => {
    const error = await migrate({ ...optionsFor(new FakeDomain()), destination: { uri: `${URI} ` } }).catch(
      (e) => e,
    );
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', key: 'destination.uri' });
    expectNoSecret('INVALID_OPTIONS', printed(error), URI_SECRETS);
  });

  it('MigrationPolicyError: a nova.conf value and a host option holding a URI with a password', () => {
    const fromConf = (() => {
      try {
        parseNovaConf(`[libvirt]\nlive_migration_timeout_action = ${URI}\n`);
      } catch (e) {
        return e;
      }
    })();
    const fromObject = (() => {
      try {
        resolveHostConfig({ timeoutAction: URI as never });
      } catch (e) {
        return e;
      }
    })();
    for (const e of [fromConf, fromObject]) {
      expect(e).toMatchObject({ code: 'INVALID_HOST_CONFIG' });
      expectNoSecret('INVALID_HOST_CONFIG', printed(e), URI_SECRETS);
    }
  });

  it('LibvirtError: libvirt refusing a qemu+tls:// URI with a password, and a connection closed under it', {
    timeout: 30_000,
  }, async () => {
    const refused = await openConnection(URI).catch((e) => e);
    expect(refused).toMatchObject({ name: 'LibvirtError' });
    expectNoSecret('virConnectOpen', printed(refused), URI_SECRETS);
    const connection = await openConnection(`test:///default?password=${QUERY_SECRET}`);
    await connection.close();
    const closed = await connection.libVersion().catch((e) => e);
    expect(closed).toMatchObject({ code: 'LIBVIRT_CONNECTION_LOST' });
    expect(closed.message).toContain('test:///default?password=***');
    expectNoSecret('connection closed', printed(closed), URI_SECRETS);
  });

  it('MigrationTlsError: a pre-flight refusal naming a source URI with a password, and a mapped libvirt failure', {
    timeout: 30_000,
  }, async () => {
    const job = await migrate({
      source: { uri: `test:///default?password=${QUERY_SECRET}` },
      domain: { name: 'test' },
      destination: { uri: URI },
      providers: { instanceMetadata: () => ({}), hostConfig: () => ({ nativeTls: true }) },
      tlsPreflight: { certDir: '/nonexistent/pki' },
    });
    const outcome = await job.outcome;
    expect(outcome.error).toMatchObject({ name: 'MigrationTlsError', code: 'TLS_CERTIFICATE_MISSING' });
    expectNoSecret('TLS pre-flight', printed(outcome), URI_SECRETS);
    const mapped = tlsFailure(libvirtError(1, `Unable to read TLS confirmation from ${URI}`), {
      source: `the source (${URI})`,
      destination: `the destination (${URI})`,
      sourceChecked: true,
      streamStarted: false,
    });
    expect(mapped?.code).toBe('TLS_HANDSHAKE_FAILED');
    expectNoSecret('mapped TLS failure', printed(mapped), URI_SECRETS);
  });
});

/** A migration to `URI` whose libvirt echoes it everywhere: a refused steering call, a warning, the failure. */
async function leakyMigration(options: Partial<MigrateOptions> = {}): Promise<{
  job: MigrationJob;
  events: unknown[];
  domain: FakeDomain;
}> {
  const domain = new FakeDomain('web-1');
  domain.script('suspend', { error: libvirtError(55, `refused for ${URI}`) });
  domain.connection.eventsError = libvirtError(38, `no events on ${URI}`);
  const job = await migrate(
    optionsFor(domain, {
      destination: { uri: URI, migrateUri: `tcp://user:${PASSWORD}@compute-2` },
      ...options,
    }),
  );
  const events: unknown[] = [];
  for (const name of ['plan', 'status', 'progress', 'steering', 'warning', 'recovery'] as const) {
    job.on(name, (e: unknown) => events.push({ name, e }));
  }
  await until(() => domain.migrating);
  // Force-complete pauses a guest without post-copy: libvirt refuses, quoting the URI.
  events.push({ name: 'forceComplete', e: await job.forceComplete().catch((e: unknown) => e) });
  await until(() => events.some((e) => (e as { name: string }).name === 'steering'));
  domain.fail(libvirtError(1, `internal error: cannot reach ${URI}`, 'virDomainMigrateToURI3'));
  return { job, events, domain };
}

describe('a job, its log, its metrics', () => {
  it("events and outcome: libvirt's echoes of the URI are redacted in every error they carry", async () => {
    const { job, events } = await leakyMigration();
    const outcome = await job.outcome;
    expect(outcome.status).toBe('failed');
    expect(outcome.warnings.length).toBeGreaterThan(0);
    expect(outcome.steering.some((s) => s.error !== undefined)).toBe(true);
    expectNoSecret('job events', printed(events), URI_SECRETS);
    expectNoSecret('outcome', printed(outcome), URI_SECRETS);
  });

  it("logMigration: no record or message holds a secret, a caller's own error included", async () => {
    const records: unknown[] = [];
    const capture = (level: string) => (record: object, message: string) =>
      records.push({ level, record, message });
    const logger: MigrationLogger = {
      info: capture('info'),
      warn: capture('warn'),
      error: capture('error'),
      debug: capture('debug'),
    };
    const { job } = await leakyMigration();
    logMigration(job, logger, { progress: true });
    await job.outcome;
    // A provider of the caller's that throws with a credential: its error is the caller's, its log line is not.
    const domain = new FakeDomain('web-2');
    const providerError = new Error(`Keystone at http://nova:${PASSWORD}@keystone/v3 refused`);
    const failing = await migrate(
      optionsFor(domain, {
        providers: {
          instanceMetadata: () => ({}),
          hostConfig: () => {
            throw providerError;
          },
        },
      }),
    );
    logMigration(failing, logger);
    const outcome = await failing.outcome;
    expect(outcome.error).toBe(providerError);
    await until(() =>
      records.some((r) => (r as { record: { domain?: string } }).record.domain === domain.uuid),
    );
    expect(records.length).toBeGreaterThan(4);
    expectNoSecret('log records', printed(records), URI_SECRETS);
  });

  it('metrics: the exposition of a migration to a URI with a password holds none of it', async () => {
    const registry = new Registry();
    const metrics = createMigrationMetrics({ registry });
    const { job } = await leakyMigration();
    metrics.observe(job);
    await job.outcome;
    const exposition = await registry.metrics();
    expect(exposition).toContain('libvirt_migrations_total');
    expectNoSecret('metrics', exposition);
  });
});

describe('the CLI: text, --json and errors', () => {
  const saved = process.env.OS_TOKEN;
  beforeEach(() => {
    process.env.OS_TOKEN = TOKEN;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.OS_TOKEN;
    else process.env.OS_TOKEN = saved;
  });

  /** A backend whose libvirt answers with the URI it was given, as an error would quote it. */
  const echoing = (domain: FakeDomain): LibvirtBackend => ({
    open: async (uri: string) => {
      if (uri !== 'qemu:///system') throw libvirtError(38, `unable to connect to ${uri}`, 'virConnectOpen');
      return fakeBackend(domain).open(uri);
    },
  });

  it('migrate to a URI with a password and the token in it: neither on stdout nor on stderr', async () => {
    const domain = new FakeDomain('web-3');
    domain.script('migrateToURI3', {
      error: libvirtError(1, `internal error: cannot reach ${URI}`, 'virDomainMigrateToURI3'),
    });
    const { code, stdout, stderr } = await cli(
      [
        'migrate',
        'web-3',
        URI,
        '--connect',
        'qemu:///system',
        '--conf',
        fixture('nova.conf'),
        '--poll-ms',
        '10',
      ],
      { backend: echoing(domain) },
    );
    expect(code).not.toBe(0);
    expectNoSecret('migrate output', stdout + stderr);
    expect(stdout).toContain('qemu+tls://admin:***@compute-2.invalid/system?password=***');
  });

  it('traits --connect with a password, as text and as --json, and its connection error', async () => {
    const domain = new FakeDomain('web-4');
    const ok = async (uri: string) => fakeBackend(domain).open(uri);
    for (const json of [[], ['--json']]) {
      const run = await cli(['traits', '--connect', URI, ...json], { backend: { open: ok } });
      expect(run.code).toBe(0);
      expectNoSecret(`traits ${json.join('')}`, run.stdout + run.stderr);
      const failed = await cli(['traits', '--connect', URI, ...json], { backend: echoing(domain) });
      expect(failed.code).not.toBe(0);
      expectNoSecret(`traits error ${json.join('')}`, failed.stdout + failed.stderr);
    }
  });

  it('a token given as --token or in OS_TOKEN is never printed, whatever carries it', async () => {
    const { commandLineSecrets } = await import('../../src/cli/redacting-stream.js');
    expect(
      commandLineSecrets(['traits', '--token', 'tok-1234', '--password=pw-5678'], {
        OS_AUTH_TOKEN: 'tok-abcd',
      }),
    ).toEqual(['tok-1234', 'pw-5678', 'tok-abcd']);
    const { stderr } = await cli(['explain', '--flavor', `/nonexistent/${TOKEN}.json`]);
    expect(stderr).toContain('/nonexistent/***.json');
    expectNoSecret('explain error', stderr);
  });
});

describe('Placement: its token and an endpoint with credentials', () => {
  const PROVIDER = '8f2a1c3e-5b6d-4e7f-9a0b-1c2d3e4f5a6b';
  /** Placement echoing whatever token it got into every field of its error body. */
  const echo = (status: number) => (req: { headers: Record<string, unknown> }) => {
    const sent = String(req.headers['x-auth-token']);
    return {
      status,
      headers: { 'openstack-request-id': `req-${sent}` },
      body: {
        errors: [
          { status, title: sent, detail: `you sent ${sent}`, code: `placement.${sent}`, request_id: sent },
        ],
      },
    };
  };

  it.each([401, 403, 409, 500])(
    'a PlacementError from a %i that echoes the token: message, fields, JSON',
    async (status) => {
      const fake = await fakePlacement();
      try {
        fake.on('GET', /^\/resource_providers\//, echo(status));
        const placement = new PlacementClient({ endpoint: fake.endpoint, token: TOKEN });
        const error = await placement.providerTraits(PROVIDER).catch((e) => e);
        expect(error).toBeInstanceOf(PlacementError);
        expect(fake.seen.at(-1)?.headers['x-auth-token']).toBe(TOKEN); // it was sent, and echoed back
        expectNoSecret(`Placement ${status}`, printed(error) + String(error) + inspect(placement));
      } finally {
        await fake.close();
      }
    },
  );

  it("a token function that fails with the token in its message, and an endpoint's user:password", async () => {
    const fake = await fakePlacement();
    try {
      const failing = new PlacementClient({
        endpoint: fake.endpoint,
        token: async () => {
          throw new Error(`keystone refused ${TOKEN} for admin:${PASSWORD}`);
        },
      });
      const refused = await failing.providerTraits(PROVIDER).catch((e) => e);
      expect(refused).toMatchObject({ code: 'PLACEMENT_INVALID_TOKEN' });
      expectNoSecret('token function', printed(refused));
      const withUser = (() => {
        try {
          return new PlacementClient({ endpoint: `http://admin:${PASSWORD}@127.0.0.1:1/`, token: TOKEN });
        } catch (e) {
          return e;
        }
      })();
      expect(withUser).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expectNoSecret('endpoint with credentials', printed(withUser));
    } finally {
      await fake.close();
    }
  });

  it('traits --report and candidates, as text and --json, with the token echoed back by Placement', async () => {
    const fake = await fakePlacement();
    try {
      fake.on('GET', /^\/traits\?/, echo(500));
      fake.on('GET', /^\/allocation_candidates/, echo(500));
      const versions = ['--libvirt-version', '9.0.0', '--qemu-version', '10.0.2'];
      for (const json of [[], ['--json']]) {
        for (const argv of [
          ['traits', ...versions, '--report', '--placement', fake.endpoint, '--provider', PROVIDER],
          ['candidates', '--flavor', fixture('flavor-sized-post-copy.json'), '--placement', fake.endpoint],
        ]) {
          const run = await cli([...argv, '--token', TOKEN, ...json]);
          expect(run.code).toBe(5);
          expectNoSecret(`${argv[0]} ${json.join('')}`, run.stdout + run.stderr);
        }
      }
    } finally {
      await fake.close();
    }
  });
});
