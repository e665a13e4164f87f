import { describe, expect, it } from 'vitest';
import { FakeDomain, fakeBackend } from '../migration/fake-libvirt.js';
import { cli, fixture } from './run.js';

const MiB = 1024 * 1024;

/** A guest whose calculation, once started, measures `mibPerSecond` (QEMU's answer after the seconds). */
function guest(mibPerSecond: number): FakeDomain {
  const dom = new FakeDomain('db-1');
  const start = dom.startDirtyRateCalc.bind(dom);
  dom.startDirtyRateCalc = async (options) => {
    await start(options);
    setTimeout(() => {
      dom.dirtyRate = {
        status: 'measured',
        startTimeSeconds: 1_700_000_000,
        periodSeconds: options.seconds,
        mode: 'page-sampling',
        mibPerSecond,
        raw: {},
      };
    }, 200);
  };
  return dom;
}

describe('predict', () => {
  it("a guest dirtying twice the link: its own pre-copy is aborted at the timeout, post-copy would move it; every number's source said", async () => {
    const dom = guest(64);
    const { code, stdout, stderr } = await cli(
      [
        'predict',
        'db-1',
        '--connect',
        'qemu+tcp://compute-1/system',
        '--conf',
        fixture('nova.conf'),
        '--flavor',
        fixture('flavor-post-copy.json'),
        '--bandwidth',
        '32',
        '--seconds',
        '1',
      ],
      { backend: fakeBackend(dom) },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(dom.calls).toContain('startDirtyRateCalc:1');
    const lines = stdout.split('\n');
    expect(lines).toContain("Memory      512.0 MiB (libvirt: the domain's current memory)");
    expect(lines).toContain('Dirty rate  64.0 MiB/s (QEMU measured it now: page-sampling over 1 s)');
    expect(lines).toContain('Link        32.0 MiB/s (--bandwidth)');
    expect(stdout).toMatch(
      /^This instance's policy \(pre-copy, post-copy when force-completed\): does not move \(aborted\), total 1600.0 s$/m,
    );
    expect(stdout).toMatch(
      /^ {2}pre-copy +does not move \(aborted\), total 1600.0 s; the guest stays on the source$/m,
    );
    expect(stdout).toMatch(/^ {2}auto-converge +moves \(completed\).*; throttled up to \d+ % for/m);
    expect(stdout).toMatch(/^ {2}post-copy after the first pass +moves \(switched-to-post-copy\)/m);
    expect(stdout).toMatch(/^ {2}adaptive switchover +moves \(switched-to-post-copy\)/m);
    expect(stdout).toContain('throttled to 50 % or more');
  });

  it('--json: the measurement, the sources and the four forecasts as data', async () => {
    const { code, stdout } = await cli(
      ['predict', 'db-1', '--connect', 'qemu:///system', '--bandwidth', '100', '--seconds', '1', '--json'],
      { backend: fakeBackend(guest(0)) },
    );
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      domain: 'db-1',
      memoryBytes: { value: 512 * MiB },
      dirtyRateBytesPerSecond: { value: 0 },
      bandwidthBytesPerSecond: { value: 100 * MiB, source: '--bandwidth' },
      policy: { mode: 'pre-copy' },
      own: { mode: 'pre-copy', converges: true, outcome: 'completed' },
    });
    for (const mode of ['preCopy', 'autoConverge', 'postCopy', 'adaptive']) {
      expect(report.forecast[mode].converges).toBe(true);
    }
  });

  it("without --bandwidth: nova.conf's live_migration_bandwidth, said so, and the host's auto-converge as the policy", async () => {
    const { code, stdout } = await cli(
      [
        'predict',
        'db-1',
        '--connect',
        'qemu:///system',
        '--conf',
        fixture('bandwidth.conf'),
        '--seconds',
        '1',
      ],
      { backend: fakeBackend(guest(8)) },
    );
    expect(code).toBe(0);
    expect(stdout).toContain('Link        32.0 MiB/s (nova.conf: [libvirt] live_migration_bandwidth)');
    expect(stdout).toMatch(/^Policy {6}auto-converge: .*AUTO_CONVERGE/m);
    expect(stdout).toMatch(/^This instance's policy \(auto-converge\): moves/m);
  });

  it('no bandwidth anywhere: exit 2 naming --bandwidth and live_migration_bandwidth, before libvirt is asked', async () => {
    const backend = fakeBackend(guest(8));
    const { code, stderr } = await cli(['predict', 'db-1', '--connect', 'qemu:///system'], { backend });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /predict needs the link's bandwidth: pass --bandwidth MiB\/s .*live_migration_bandwidth .*none given/,
    );
    expect(backend.opened).toEqual([]);
  });

  it.each([
    [['--bandwidth', '0'], /--bandwidth is "0": use a whole number of at least 1/],
    [['--bandwidth', '10', '--seconds', '61'], /--seconds is "61": use a whole number from 1 to 60/],
  ])('%j is a usage error', async (extra, message) => {
    const { code, stderr } = await cli(['predict', 'db-1', '--connect', 'qemu:///system', ...extra]);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('a driver that cannot measure (test:///default, real libvirt): exit 3 with the typed error', async () => {
    const { code, stderr } = await cli([
      'predict',
      'test',
      '--connect',
      'test:///default',
      '--bandwidth',
      '100',
    ]);
    expect(code).toBe(3);
    expect(stderr).toMatch(/^libvirt-migration-policy: LIBVIRT_UNSUPPORTED: /);
  });

  it('an unknown domain: exit 3, libvirt saying so', async () => {
    const { code, stderr } = await cli([
      'predict',
      'nope',
      '--connect',
      'test:///default',
      '--bandwidth',
      '100',
    ]);
    expect(code).toBe(3);
    expect(stderr).toMatch(
      /^libvirt-migration-policy: LIBVIRT_ERROR: virDomainLookupByName: Domain not found/,
    );
  });
});
