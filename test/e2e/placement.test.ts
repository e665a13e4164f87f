/**
 * The fleet half of the spec against a real Placement (Debian's python3-placement, lab/placement.sh) and the
 * lab's two real libvirt hosts as resource providers: each host's traits come from hostTraits() on its live
 * libvirtd and its nova.conf; scheduling by the instance's required traits picks the hosts Placement offers;
 * the chosen one becomes migrate()'s destination and QEMU receives the instance's features. Also against the
 * same Placement: other owners' traits survive, two agents writing at once both land (the 409 path taken),
 * and a host whose conf changes loses the trait on its next report.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HostName } from '../../lab/domain.js';
import {
  type CandidateAnswer,
  candidateProviders,
  hostTraits,
  type InstanceMetadata,
  PlacementClient,
  parseNovaConf,
  reportHostTraits,
  schedulingRequest,
} from '../../src/index.js';
import { openConnection } from '../../src/libvirt/index.js';
import { cli } from '../cli/run.js';
import {
  bootGuest,
  domainState,
  expectIntact,
  hostMigrate,
  progressWhere,
  qemuFeatures,
  removeGuest,
} from './migration-helpers.js';
import { describePlacement } from './placement-gate.js';

const PC = 'compute:live_migration_post_copy';
const CAPABLE =
  '[libvirt]\nlive_migration_permit_auto_converge = True\nlive_migration_permit_post_copy = True\n';
const TUNNELLED = `${CAPABLE}live_migration_tunnelled = True\n`;
/** The guest's size as a flavor (`openstack flavor show -f json`). */
const flavor = (properties: Record<string, string>) => ({
  name: 'e2e',
  vcpus: 1,
  ram: 384,
  disk: 1,
  properties,
});

describePlacement('Placement: traits reported from live hosts, scheduling by them', (lab, info) => {
  const prefix = `e2e-${process.pid}`;
  const guest = `${prefix}-pl`;
  const dir = mkdtempSync(join(tmpdir(), 'lmp-placement-'));
  const conf: Record<HostName, string> = { src: join(dir, 'src.conf'), dst: join(dir, 'dst.conf') };
  const placement = new PlacementClient({ endpoint: info.endpoint, token: info.token });
  const provider = {} as Record<HostName, string>;
  const hostOf = (uuid: string): HostName | undefined =>
    (Object.keys(provider) as HostName[]).find((h) => provider[h] === uuid);
  const ask = (instance: InstanceMetadata, exclude: string[] = []): Promise<CandidateAnswer> =>
    candidateProviders(placement, schedulingRequest(instance, flavor({})), { exclude });
  const hosts = (answer: CandidateAnswer) => answer.candidates.map((c) => hostOf(c.uuid)).sort();

  /** hostTraits() on the host's live libvirtd and its nova.conf, as `traits --connect --conf` computes them. */
  async function liveTraits(host: HostName) {
    const connection = await openConnection(lab.hosts[host].uri);
    try {
      return hostTraits({
        libvirtVersion: await connection.libVersion(),
        qemuVersion: await connection.hypervisorVersion(),
        config: parseNovaConf(readFileSync(conf[host], 'utf8')),
      });
    } finally {
      await connection.close();
    }
  }

  beforeAll(async () => {
    console.log(
      `[e2e] Placement ${info.placement}, os-traits ${info.osTraits} at ${info.endpoint} (${info.auth})`,
    );
    // The lab's Placement is this suite's alone (docs/placement.md): whatever an earlier run or a developer
    // left there would be candidates too, and the answers below are exact.
    const left = await placement.resourceProviders();
    for (const p of left) await placement.deleteResourceProvider(p.uuid);
    if (left.length > 0)
      console.log(`[e2e] removed ${left.length} resource provider(s) left in the lab's Placement`);
    for (const host of ['src', 'dst'] as const) {
      writeFileSync(conf[host], CAPABLE);
      const rp = await placement.createResourceProvider({ name: `${prefix}-${host}` });
      await placement.setInventories(rp.uuid, rp.generation, {
        VCPU: { total: 8 },
        MEMORY_MB: { total: 8192 },
        DISK_GB: { total: 100 },
      });
      provider[host] = rp.uuid;
    }
    await bootGuest(lab, guest);
  }, 240_000);

  afterAll(async () => {
    removeGuest(lab, guest);
    for (const uuid of Object.values(provider)) await placement.deleteResourceProvider(uuid).catch(() => {});
    for (const trait of ['CUSTOM_E2E_OWNER', 'CUSTOM_E2E_AGENT_B']) {
      await placement.request({ method: 'DELETE', path: `/traits/${trait}` }).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('before any report, requiring post-copy finds nothing — and the answer says no host reports the trait', async () => {
    const answer = await ask({ flavorExtraSpecs: { [PC]: 'true' } });
    expect(answer.candidates).toEqual([]);
    expect(answer.unreported).toEqual(['COMPUTE_MIGRATE_POST_COPY']);
    expect(answer.summary).toMatch(/^no host reports COMPUTE_MIGRATE_POST_COPY; report traits with /);
    expect(answer.leftOut.map((l) => [hostOf(l.uuid), l.reason]).sort()).toEqual([
      ['dst', 'missing-traits'],
      ['src', 'missing-traits'],
    ]);
  });

  it('each host reports the traits of its live libvirtd through `traits --report`, before and after printed', async () => {
    for (const host of ['src', 'dst'] as const) {
      const run = await cli([
        'traits',
        '--report',
        '--connect',
        lab.hosts[host].uri,
        '--conf',
        conf[host],
        '--placement',
        info.endpoint,
        '--provider',
        provider[host],
        '--token',
        info.token,
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(
        `  before     (none)\n  after      COMPUTE_MIGRATE_AUTO_CONVERGE, COMPUTE_MIGRATE_POST_COPY\n`,
      );
      expect((await placement.providerTraits(provider[host])).traits.sort()).toEqual([
        'COMPUTE_MIGRATE_AUTO_CONVERGE',
        'COMPUTE_MIGRATE_POST_COPY',
      ]);
    }
  });

  it('a host whose conf is reloaded tunnelled loses COMPUTE_MIGRATE_POST_COPY on its next report, and only that', async () => {
    writeFileSync(conf.dst, TUNNELLED);
    const traits = await liveTraits('dst');
    expect(traits).toEqual({ COMPUTE_MIGRATE_AUTO_CONVERGE: true, COMPUTE_MIGRATE_POST_COPY: false });
    const report = await reportHostTraits({ placement, provider: provider.dst, traits });
    expect(report).toMatchObject({ removed: ['COMPUTE_MIGRATE_POST_COPY'], added: [], written: true });
    expect((await placement.providerTraits(provider.dst)).traits).toEqual(['COMPUTE_MIGRATE_AUTO_CONVERGE']);
  });

  it('post-copy=true gets only the capable host; =false and no key get both', async () => {
    const postCopy = await ask({ flavorExtraSpecs: { [PC]: 'true' } });
    expect(hosts(postCopy)).toEqual(['src']);
    expect(postCopy.leftOut).toEqual([
      expect.objectContaining({
        uuid: provider.dst,
        reason: 'missing-traits',
        missingTraits: ['COMPUTE_MIGRATE_POST_COPY'],
        message: 'has room for the resources but does not report COMPUTE_MIGRATE_POST_COPY',
      }),
    ]);
    expect(hosts(await ask({ flavorExtraSpecs: { [PC]: 'false' } }))).toEqual(['dst', 'src']);
    expect(hosts(await ask({}))).toEqual(['dst', 'src']);
  });

  it('the `candidates` command prints the host and why the other was left out', async () => {
    const file = join(dir, 'flavor.json');
    writeFileSync(file, JSON.stringify(flavor({ [PC]: 'true' })));
    const candidates = (...extra: string[]) =>
      cli(['candidates', '--flavor', file, '--placement', info.endpoint, '--token', info.token, ...extra]);
    const run = await candidates();
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Candidates (1)\n  ${prefix}-src  ${provider.src}\n`);
    expect(run.stdout).toContain(
      `Left out (1)\n  ${prefix}-dst  ${provider.dst}\n      has room for the resources but does not report COMPUTE_MIGRATE_POST_COPY\n`,
    );
    const none = await candidates('--exclude', provider.src);
    expect(none.code).toBe(6);
    expect(none.stdout).toContain('1 excluded by the caller, 1 lacking a required trait');
  });

  it('the candidate Placement chooses becomes migrate()’s destination, and QEMU receives post-copy', async () => {
    const instance = { flavorExtraSpecs: { [PC]: 'true' } };
    // The guest is on src, the only host with the trait: nowhere to go until dst can do post-copy again.
    expect((await ask(instance, [provider.src])).candidates).toEqual([]);
    writeFileSync(conf.dst, CAPABLE);
    const back = await reportHostTraits({
      placement,
      provider: provider.dst,
      traits: await liveTraits('dst'),
    });
    expect(back.added).toEqual(['COMPUTE_MIGRATE_POST_COPY']);
    const answer = await ask(instance, [provider.src]);
    expect(answer.candidates).toHaveLength(1);
    const destination = hostOf(answer.candidates[0]?.uuid ?? '');
    expect(destination).toBe('dst');
    const job = await hostMigrate(lab, 'src', destination as HostName, guest, {
      instance,
      host: () => parseNovaConf(readFileSync(conf.src, 'utf8')),
      bandwidth: 16,
    });
    await progressWhere(job, (p) => (p.memoryProcessed ?? 0) > 0);
    expect(qemuFeatures(lab, guest)).toEqual({ autoConverge: false, postCopy: true });
    expect(job.plan?.flagNames).toContain('POSTCOPY');
    expect(await job.forceComplete()).toBe('switch-to-post-copy');
    const outcome = await job.outcome;
    expect(outcome.status).toBe('completed');
    expect(outcome.guest).toBe('destination');
    expect(domainState(lab, 'dst', guest)).toMatch(/^running/);
    const after = await expectIntact(lab, 'dst', guest);
    console.log(
      `[e2e] scheduled by Placement to ${destination}: ${outcome.stats?.timeElapsed} ms, guest ${after.raw}`,
    );
  });

  it("other owners' traits (a CUSTOM_ one and HW_CPU_X86_AVX2) survive a report", async () => {
    await placement.createTrait('CUSTOM_E2E_OWNER');
    const { generation } = await placement.providerTraits(provider.src);
    // Another owner replaces the whole set, as `openstack resource provider trait set` does: ours are gone.
    await placement.setProviderTraits(provider.src, generation, ['CUSTOM_E2E_OWNER', 'HW_CPU_X86_AVX2']);
    const report = await reportHostTraits({
      placement,
      provider: provider.src,
      traits: await liveTraits('src'),
    });
    expect(report.others.sort()).toEqual(['CUSTOM_E2E_OWNER', 'HW_CPU_X86_AVX2']);
    expect(report.added).toEqual(['COMPUTE_MIGRATE_AUTO_CONVERGE', 'COMPUTE_MIGRATE_POST_COPY']);
    expect((await placement.providerTraits(provider.src)).traits.sort()).toEqual([
      'COMPUTE_MIGRATE_AUTO_CONVERGE',
      'COMPUTE_MIGRATE_POST_COPY',
      'CUSTOM_E2E_OWNER',
      'HW_CPU_X86_AVX2',
    ]);
  });

  it('two agents reporting the same provider at once both end with their traits set (the 409 path taken)', async () => {
    await placement.createTrait('CUSTOM_E2E_AGENT_B');
    const ours = await liveTraits('src');
    const retries: number[][] = [];
    for (let round = 0; round < 3; round++) {
      const { generation } = await placement.providerTraits(provider.src);
      await placement.setProviderTraits(provider.src, generation, []);
      // Two processes' worth of clients: each negotiates and reads on its own.
      const agent = () => new PlacementClient({ endpoint: info.endpoint, token: info.token });
      const [a, b] = await Promise.all([
        reportHostTraits({ placement: agent(), provider: provider.src, traits: ours }),
        reportHostTraits({
          placement: agent(),
          provider: provider.src,
          traits: { CUSTOM_E2E_AGENT_B: true },
        }),
      ]);
      retries.push([a.retries, b.retries]);
      expect((await placement.providerTraits(provider.src)).traits.sort()).toEqual([
        'COMPUTE_MIGRATE_AUTO_CONVERGE',
        'COMPUTE_MIGRATE_POST_COPY',
        'CUSTOM_E2E_AGENT_B',
      ]);
    }
    console.log(
      `[e2e] concurrent reports, 409 retries per round [agent A, agent B]: ${JSON.stringify(retries)}`,
    );
    expect(retries.flat().reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(1);
  });

  it('a trait this Placement does not know is a typed error naming the fix, and nothing is written', async () => {
    const before = await placement.providerTraits(provider.src);
    await expect(
      reportHostTraits({
        placement,
        provider: provider.src,
        traits: { ...(await liveTraits('src')), COMPUTE_MIGRATE_NOT_A_TRAIT: true },
      }),
    ).rejects.toMatchObject({
      code: 'PLACEMENT_UNKNOWN_TRAIT',
      message: expect.stringContaining('COMPUTE_MIGRATE_NOT_A_TRAIT'),
    });
    expect(await placement.providerTraits(provider.src)).toEqual(before);
    await expect(
      candidateProviders(
        placement,
        schedulingRequest({}, flavor({}), { required: ['COMPUTE_MIGRATE_NOT_A_TRAIT'] }),
      ),
    ).rejects.toMatchObject({ code: 'PLACEMENT_UNKNOWN_TRAIT' });
  });
});
