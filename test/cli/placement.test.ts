import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type FakePlacement,
  fakePlacement,
  fixture,
  replay,
  withProvider,
} from '../placement/fake-placement.js';
import { cli, fixture as file } from './run.js';

const UUID = '4e8e5957-649f-477b-9e5b-f1f75b21c03c';
const SECRET = 'gAAAAABl-recognisable-secret-0f9e8d7c';
const versions = ['--libvirt-version', '9.0.0', '--qemu-version', '10.0.2'];

let fake: FakePlacement;
beforeEach(async () => {
  fake = await fakePlacement();
  vi.stubEnv('OS_TOKEN', '');
  vi.stubEnv('OS_AUTH_TOKEN', '');
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await fake.close();
});

const tokensSent = () => fake.seen.filter((s) => s.path !== '/').map((s) => s.headers['x-auth-token']);

describe('traits --report', () => {
  const report = (...extra: string[]) =>
    cli(['traits', ...versions, '--report', '--placement', fake.endpoint, '--provider', UUID, ...extra]);

  it("prints the provider's traits before and after, keeping other owners'", async () => {
    withProvider(fake, UUID, { traits: ['CUSTOM_RACK_7', 'COMPUTE_MIGRATE_POST_COPY'], generation: 7 });
    const { code, stdout, stderr } = await report('--conf', file('tunnelled.conf'), '--token', 'admin');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(
      [
        `Placement ${fake.endpoint} (microversion 1.39), provider ${UUID}`,
        '  before     CUSTOM_RACK_7, COMPUTE_MIGRATE_POST_COPY',
        '  after      CUSTOM_RACK_7, COMPUTE_MIGRATE_AUTO_CONVERGE',
        '  added      COMPUTE_MIGRATE_AUTO_CONVERGE',
        '  removed    COMPUTE_MIGRATE_POST_COPY',
        '  unchanged  (none)',
        '  others     CUSTOM_RACK_7 (not ours: left as they were)',
        'Written at generation 8',
      ].join('\n'),
    );
    expect(stdout.indexOf('COMPUTE_MIGRATE_POST_COPY       no')).toBeGreaterThan(-1);
  });

  it('--json adds what Placement now has to the host report', async () => {
    withProvider(fake, UUID, { traits: [], generation: 0 });
    const { code, stdout } = await report('--json', '--token', 'admin');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      traits: { COMPUTE_MIGRATE_AUTO_CONVERGE: true, COMPUTE_MIGRATE_POST_COPY: true },
      placement: {
        endpoint: fake.endpoint,
        provider: UUID,
        added: ['COMPUTE_MIGRATE_AUTO_CONVERGE', 'COMPUTE_MIGRATE_POST_COPY'],
        retries: 0,
        generation: 1,
      },
    });
  });

  it('takes the token from OS_TOKEN, then OS_AUTH_TOKEN; --token wins over both', async () => {
    withProvider(fake, UUID, { traits: [], generation: 0 });
    vi.stubEnv('OS_AUTH_TOKEN', 'from-os-auth-token');
    expect((await report()).code).toBe(0);
    vi.stubEnv('OS_TOKEN', 'from-os-token');
    expect((await report()).code).toBe(0);
    expect((await report('--token', 'from-flag')).code).toBe(0);
    expect([...new Set(tokensSent())]).toEqual(['from-os-auth-token', 'from-os-token', 'from-flag']);
  });

  it.each([
    [['--report'], 'traits --report needs --placement URL'],
    [['--report', '--placement', 'http://127.0.0.1:1', '--token', 'admin'], '--report needs --provider UUID'],
    [
      ['--report', '--placement', 'http://127.0.0.1:1', '--provider', UUID],
      'needs a Keystone token: set OS_TOKEN',
    ],
    [['--placement', 'http://127.0.0.1:1'], '--placement only go with --report'],
  ])('%j is a usage error (exit 2)', async (args, says) => {
    const { code, stderr } = await cli(['traits', ...versions, ...args]);
    expect(code).toBe(2);
    expect(stderr).toContain(says);
  });

  it('a Placement error is one line and exit 5', async () => {
    fake.on('GET', `/resource_providers/${UUID}/traits`, replay('noSuchProvider'));
    fake.on('GET', /^\/traits\?/, {
      status: 200,
      body: { traits: ['COMPUTE_MIGRATE_AUTO_CONVERGE', 'COMPUTE_MIGRATE_POST_COPY'] },
    });
    const { code, stdout, stderr } = await report('--token', 'admin');
    expect(code).toBe(5);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^libvirt-migration-policy: PLACEMENT_NOT_FOUND: GET \/resource_providers\/.*\n$/);
  });
});

describe('candidates', () => {
  const flavor = file('flavor-sized-post-copy.json');
  const postCopy = 'resources=VCPU:1,MEMORY_MB:512,DISK_GB:1&required=COMPUTE_MIGRATE_POST_COPY';
  const [A] = Object.keys(JSON.parse(fixture('candidatesPostCopy').body).provider_summaries) as [string];
  const candidates = (...extra: string[]) =>
    cli(['candidates', '--flavor', flavor, '--placement', fake.endpoint, '--token', 'admin', ...extra]);
  beforeEach(() => {
    fake.on('GET', `/allocation_candidates?${postCopy}`, replay('candidatesPostCopy'));
    fake.on(
      'GET',
      '/allocation_candidates?resources=VCPU:1,MEMORY_MB:512,DISK_GB:1',
      replay('candidatesAny'),
    );
    fake.on('GET', '/resource_providers?required=COMPUTE_MIGRATE_POST_COPY', replay('holdersPostCopy'));
    fake.on('GET', '/resource_providers', replay('providers'));
  });

  it('prints the request, the candidates and why the others were left out', async () => {
    const { code, stdout } = await candidates();
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'Request    resources=VCPU:1,MEMORY_MB:512,DISK_GB:1 required=COMPUTE_MIGRATE_POST_COPY',
      'Required   COMPUTE_MIGRATE_POST_COPY',
      `Placement  ${fake.endpoint} (microversion 1.39)`,
      '',
      'Candidates (1)',
    ]);
    expect(lines[5]).toBe(`  fixture-a-${A}  ${A}`);
    expect(lines[6]).toMatch(/^ {6}used VCPU 0\/4, MEMORY_MB 0\/4,096, DISK_GB 0\/40; traits /);
    expect(stdout).toContain('Left out (1)\n');
    expect(stdout).toContain(
      '      has room for the resources but does not report COMPUTE_MIGRATE_POST_COPY\n',
    );
    expect(lines.at(-2)).toBe(
      '1 host satisfies resources=VCPU:1,MEMORY_MB:512,DISK_GB:1 required=COMPUTE_MIGRATE_POST_COPY',
    );
  });

  it('no candidate is exit 6, --json prints the answer', async () => {
    const { code, stdout } = await candidates('--exclude', A, '--json');
    expect(code).toBe(6);
    const answer = JSON.parse(stdout);
    expect(answer.candidates).toEqual([]);
    expect(answer.leftOut[0]).toMatchObject({ uuid: A, reason: 'excluded' });
  });

  it('a flavor without sizes is a usage error naming the key', async () => {
    const { code, stderr } = await cli([
      'candidates',
      '--flavor',
      file('flavor-post-copy.json'),
      '--placement',
      fake.endpoint,
      '--token',
      'admin',
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('INVALID_ARGUMENT: flavor.vcpus is missing');
  });
});

describe('the token is never printed', () => {
  const echo = (status: number) => (req: { headers: Record<string, unknown> }) => ({
    status,
    body: {
      errors: [
        {
          status,
          title: 'Echo',
          detail: `x\n\n you sent ${String(req.headers['x-auth-token'])}`,
          code: `placement.${String(req.headers['x-auth-token'])}`,
          request_id: String(req.headers['x-auth-token']),
        },
      ],
    },
  });

  it.each([401, 403, 409, 500])('not when Placement echoes it in a %i', async (status) => {
    fake.on('GET', /^\/traits\?/, echo(status));
    fake.on('GET', /^\/allocation_candidates/, echo(status));
    for (const argv of [
      [
        'traits',
        ...versions,
        '--report',
        '--placement',
        fake.endpoint,
        '--provider',
        UUID,
        '--token',
        SECRET,
      ],
      [
        'candidates',
        '--flavor',
        file('flavor-sized-post-copy.json'),
        '--placement',
        fake.endpoint,
        '--token',
        SECRET,
      ],
    ]) {
      const { code, stdout, stderr } = await cli(argv);
      expect(code).toBe(5);
      expect(stderr).toContain('you sent ***');
      expect(`${stdout}${stderr}`).not.toContain(SECRET);
    }
  });

  it('not on success, nor with --json, nor when it is malformed', async () => {
    withProvider(fake, UUID, { traits: [], generation: 0 });
    const base = ['traits', ...versions, '--report', '--placement', fake.endpoint, '--provider', UUID];
    for (const argv of [
      [...base, '--token', SECRET],
      [...base, '--token', SECRET, '--json'],
      [...base, '--token', `${SECRET}\n`],
      [...base, '--token', `${SECRET} x`],
    ]) {
      const { stdout, stderr } = await cli(argv);
      expect(`${stdout}${stderr}`).not.toContain(SECRET);
    }
  });

  it('not when the endpoint is unreachable', async () => {
    vi.stubEnv('OS_TOKEN', SECRET);
    const dead = await cli([
      'traits',
      ...versions,
      '--report',
      '--placement',
      'http://127.0.0.1:1',
      '--provider',
      UUID,
    ]);
    expect(dead.code).toBe(5);
    expect(dead.stderr).toContain('PLACEMENT_UNREACHABLE');
    expect(`${dead.stdout}${dead.stderr}`).not.toContain(SECRET);
  });
});
