import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PRECOPY } from '../observability/drive.js';
import { FakeDomain, fakeBackend, libvirtError, until } from '../support/fake-libvirt.js';
import { fixture, start } from './run.js';

const GiB = 1024 ** 3;

/** `migrate guest compute-2` against a fake libvirt, polled every 10 ms. */
function migrateCli(domain: FakeDomain, extra: string[] = [], options: { tty?: boolean } = {}) {
  const backend = fakeBackend(domain);
  const running = start(
    [
      'migrate',
      domain.name,
      'compute-2',
      '--connect',
      'qemu:///system',
      '--conf',
      fixture('nova.conf'),
      '--conf-dir',
      fixture('nova.conf.d'),
      '--poll-ms',
      '10',
      ...extra,
    ],
    { backend, ...options },
  );
  return Object.assign(running, { backend });
}

/** Pre-copy in its third pass (the observability tests' figures): 1 GiB of 4 left, 100 MiB/s, 25,600 pages/s dirtied. */
function precopy(domain: FakeDomain): void {
  domain.stats = { ...PRECOPY };
}

describe('migrate: a migration to its end', () => {
  it('prints the plan, plain progress lines off a terminal, and the outcome with the completed stats', async () => {
    const domain = new FakeDomain('web-1');
    const run = migrateCli(domain, ['--flavor', fixture('flavor-no-post-copy.json')]);
    await until(() => domain.migrating);
    precopy(domain);
    await until(() => run.stdout.text.includes('pass 3'));
    domain.complete({
      type: 'completed',
      downtime: 23,
      timeElapsed: 4000,
      dataProcessed: 4 * GiB,
      memoryIteration: 4,
      raw: {},
    });
    expect(await run.code).toBe(0);
    const out = run.stdout.text;
    expect(run.backend.opened).toEqual(['qemu:///system']);
    // The flags were decided from the files just before the call, and sent.
    expect(out).toContain('Plan: LIVE|PEER2PEER|PERSIST_DEST|UNDEFINE_SOURCE|AUTO_CONVERGE = 8219');
    expect(domain.migrations[0]).toMatchObject({
      destUri: 'qemu+tcp://compute-2/system',
      flags: 8219,
      params: { bandwidth: 0 },
    });
    // As Nova: no migrate_uri without the destination's live_migration_inbound_addr.
    expect(domain.migrations[0]?.params).not.toHaveProperty('migrateUri');
    const progress = out.split('\n').find((line) => line.includes('pass 3'));
    expect(progress).toMatch(
      /^\[\d+\.\d s\] {2}running {2}pre-copy {2}pass 3 {2}remaining 1\.0 GiB of 4\.0 GiB {2}dirty 100\.0 MiB\/s {2}bandwidth 100\.0 MiB\/s {2}throttle 20% {2}post-copy requests –/,
    );
    expect(out).toContain('Status: running');
    expect(out).toContain('Outcome: completed: the guest runs on the destination');
    expect(out).toContain('  downtime: 23 ms\n  total time: 4.0 s\n  data moved: 4.0 GiB');
    expect(out).not.toContain('\u001b[');
    expect(run.listening).toBe(false);
  });

  it("a failed migration exits 1 with libvirt's error and where the guest is", async () => {
    const domain = new FakeDomain();
    const run = migrateCli(domain);
    await until(() => domain.migrating);
    domain.fail(libvirtError(1, 'internal error: connection reset', 'virDomainMigrateToURI3'));
    expect(await run.code).toBe(1);
    expect(run.stdout.text).toContain('Outcome: failed: the guest runs on the source');
    expect(run.stdout.text).toContain('error: virDomainMigrateToURI3: internal error: connection reset');
  });

  it('--force-complete-after switches a post-copy migration, then shows post-copy requests', async () => {
    const domain = new FakeDomain();
    const run = migrateCli(domain, ['--force-complete-after', '0']);
    await until(() => run.stdout.text.includes('Force-complete after 0 s: switch-to-post-copy'));
    expect(domain.calls).toContain('startPostCopy');
    domain.stats = {
      type: 'unbounded',
      operation: 5,
      memoryRemaining: GiB,
      memoryPostcopyRequests: 1234,
      raw: {},
    };
    await until(() => run.stdout.text.includes('post-copy requests 1,234'));
    domain.complete({ type: 'completed', downtime: 4, memoryPostcopyRequests: 1500, raw: {} });
    expect(await run.code).toBe(0);
    expect(run.stdout.text).toContain('Status: running (post-copy)');
    expect(run.stdout.text).toContain('  post-copy requests: 1,500');
    expect(run.stdout.text).toMatch(
      /steering at \d+\.\d s: switch-to-post-copy \(force-complete requested\)/,
    );
  });
});

describe('migrate: a broken post-copy', () => {
  it('reports the break and each recovery step, then the recovery in the outcome', async () => {
    const domain = new FakeDomain();
    const run = migrateCli(domain, ['--force-complete-after', '0']);
    await until(() => run.stdout.text.includes('switch-to-post-copy'));
    domain.fail(libvirtError(1, "job 'migration in' failed in post-copy phase"));
    await until(() => run.stdout.text.includes('Recovery: attempt 1'), 5000);
    domain.complete();
    expect(await run.code).toBe(0);
    const out = run.stdout.text;
    expect(out).toContain('Status: recovering (post-copy)');
    expect(out).toMatch(
      /Post-copy broke: resuming it \(POSTCOPY_RESUME\): .*job 'migration in' failed in post-copy phase/,
    );
    expect(out).toContain('Recovery: post-copy resumed at attempt 1');
    expect(out).toMatch(/ {2}post-copy broke: recovered \(1 attempt\(s\), \d+\.\d s\)/);
  });
});

describe('migrate: Ctrl-C', () => {
  it('aborts a pre-copy migration: cancelled, exit 1, the guest stays on the source', async () => {
    const domain = new FakeDomain();
    const run = migrateCli(domain);
    await until(() => domain.migrating);
    run.interrupt();
    expect(await run.code).toBe(1);
    expect(domain.calls).toContain('abortJob');
    expect(run.stdout.text).toContain('Ctrl-C: abort requested; the guest stays on the source');
    expect(run.stdout.text).toContain('Outcome: cancelled: the guest runs on the source');
  });

  it('is refused in post-copy with the reason, and the migration goes on to complete', async () => {
    const domain = new FakeDomain();
    const run = migrateCli(domain);
    await until(() => domain.migrating);
    domain.current = { state: 'paused', reason: 12 }; // libvirt switched to post-copy
    await until(() => run.stdout.text.includes('Status: running (post-copy)'));
    run.interrupt();
    expect(run.stdout.text).toContain(
      'Ctrl-C: abort refused (ABORT_IN_POST_COPY): the migration is in post-copy (status "running (post-copy)"): ' +
        'the guest already runs on the destination',
    );
    expect(run.stdout.text).toContain('The migration goes on.');
    expect(domain.calls).not.toContain('abortJob');
    domain.complete();
    expect(await run.code).toBe(0);
    expect(run.stdout.text).toContain('Outcome: completed');
  });
});

describe('migrate: a terminal', () => {
  it('draws the live block in place, events persisted above it', async () => {
    const domain = new FakeDomain('db-1');
    const run = migrateCli(domain, [], { tty: true });
    await until(() => domain.migrating);
    precopy(domain);
    await until(() => run.stdout.text.includes('pass 3'));
    domain.complete();
    expect(await run.code).toBe(0);
    const out = run.stdout.text;
    expect(out).toContain('\u001b['); // log-update's cursor movements
    const plain = stripVTControlCharacters(out);
    expect(plain).toContain('db-1 → compute-2   running · pre-copy');
    expect(plain).toMatch(/ {2}memory {4}\[#{30}-{10}\] 1\.0 GiB of 4\.0 GiB remaining · pass 3/);
    expect(plain).toContain('  dirty     100.0 MiB/s       bandwidth 100.0 MiB/s');
    expect(plain).toContain('  throttle  20%               post-copy requests –');
    expect(plain).toContain('Outcome: completed');
  });
});

describe('migrate: errors before the migration', () => {
  it('a domain libvirt does not know: exit 3', async () => {
    const domain = new FakeDomain('real');
    const backend = fakeBackend(domain);
    const run = start(['migrate', 'missing', 'compute-2', '--connect', 'qemu:///system'], { backend });
    expect(await run.code).toBe(3);
    expect(run.stderr.text).toContain(
      "LIBVIRT_ERROR: virDomainCall: Domain not found: no domain with name 'missing'",
    );
  });

  it('a bad flavor file: exit 2 before libvirt is opened', async () => {
    const domain = new FakeDomain();
    const run = migrateCli(domain, ['--flavor', fixture('flavor-array.json')]);
    expect(await run.code).toBe(2);
    expect(run.backend.opened).toEqual([]);
    expect(run.stderr.text).toContain('flavor is an array, not a shape this reads');
  });

  it('--migrate-uri with a host name as DEST: exit 2, saying to pass a URI', async () => {
    const domain = new FakeDomain();
    const run = migrateCli(domain, ['--migrate-uri', 'tcp://192.0.2.7']);
    expect(await run.code).toBe(2);
    expect(run.stderr.text).toContain(
      '--migrate-uri needs DEST as a libvirt URI (e.g. qemu+tcp://compute-2/system)',
    );
    expect(run.backend.opened).toEqual([]);
  });

  it('--migrate-uri with a URI DEST is sent', async () => {
    const domain = new FakeDomain();
    const backend = fakeBackend(domain);
    const run = start(
      [
        'migrate',
        domain.uuid,
        'qemu+tls://dest/system',
        '--connect',
        'qemu:///system',
        '--migrate-uri',
        'tcp://192.0.2.7',
        '--bandwidth',
        '500',
        '--poll-ms',
        '10',
      ],
      { backend },
    );
    await until(() => domain.migrating);
    expect(domain.migrations[0]).toMatchObject({
      destUri: 'qemu+tls://dest/system',
      params: { migrateUri: 'tcp://192.0.2.7', bandwidth: 500 },
    });
    domain.complete();
    expect(await run.code).toBe(0);
  });

  it('--switchover adaptive: the forecast in each progress line, and a line per iteration boundary', async () => {
    const domain = new FakeDomain('web-1');
    const run = migrateCli(domain, ['--switchover', 'adaptive']);
    await until(() => domain.migrating);
    precopy(domain);
    // 1 GiB left at 100 MiB/s: a switch now would pause the guest 10.24 s; no verdict before a boundary.
    await until(() =>
      run.stdout.text.includes('forecast no verdict yet (pass 3) · a switch now pauses 10,240 ms'),
    );
    domain.stats = { ...PRECOPY, memoryIteration: 4 };
    await until(() => run.stdout.text.includes('Forecast at pass 4: '));
    domain.complete();
    expect(await run.code).toBe(0);
  });

  it('without --switchover no forecast is shown, and a value other than fixed or adaptive is a usage error', async () => {
    const domain = new FakeDomain();
    const run = migrateCli(domain);
    await until(() => domain.migrating);
    precopy(domain);
    await until(() => run.stdout.text.includes('pass 3'));
    domain.complete();
    expect(await run.code).toBe(0);
    expect(run.stdout.text).not.toContain('forecast');
    const bad = migrateCli(new FakeDomain(), ['--switchover', 'soon']);
    expect(await bad.code).toBe(2);
    expect(bad.stderr.text).toContain('--switchover');
    expect(bad.backend.opened).toEqual([]);
  });

  it('a bad --bandwidth is a usage error', async () => {
    const domain = new FakeDomain();
    const run = migrateCli(domain, ['--bandwidth', 'fast']);
    expect(await run.code).toBe(2);
    expect(run.stderr.text).toContain('--bandwidth is "fast": use a whole number of at least 0');
  });
});

describe("migrate against libvirt's test driver (real libvirt through koffi)", () => {
  it('plans from the real versions, and reports libvirt refusing the migration: exit 1', async () => {
    const run = start([
      'migrate',
      'test',
      'qemu+tcp://127.0.0.1:1/system',
      '--connect',
      'test:///default',
      '--conf',
      fixture('nova.conf'),
    ]);
    expect(await run.code).toBe(1);
    const out = run.stdout.text;
    // The test driver's hypervisor (0.0.2) is too old for post-copy: dropped, with the reason.
    expect(out).toContain('Plan: LIVE|PEER2PEER|PERSIST_DEST|UNDEFINE_SOURCE = 27');
    expect(out).toContain('post-copy dropped: [libvirt] live_migration_permit_post_copy = True');
    expect(out).toContain('Outcome: failed: the guest runs on the source');
    expect(out).toMatch(/error: virDomainMigrateToURI3: .*p2p migration is not supported/);
  }, 30_000);
});
