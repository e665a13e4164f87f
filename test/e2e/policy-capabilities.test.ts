/**
 * Scenario 1 and 4 of the lab: for each way a policy can be set, QEMU's own migration capabilities on the
 * source, read while the migration runs, show `auto-converge` and `postcopy-ram` exactly as the plan says.
 * Each migration is capped to a crawl, checked, then aborted: the guest stays on the source for the next.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type HostConfig, hostTraits, type InstanceMetadata, parseNovaConf } from '../../src/index.js';
import { openConnection } from '../../src/libvirt/index.js';
import { describeLab } from './lab-gate.js';
import {
  bootGuest,
  domainState,
  type LabMigration,
  labMigrate,
  progressWhere,
  qemuFeatures,
  removeGuest,
} from './migration-helpers.js';

const AC_FLAVOR = 'compute:live_migration_auto_converge';
const PC_FLAVOR = 'compute:live_migration_post_copy';
const AC_IMAGE = 'compute_live_migration_auto_converge';
const PC_IMAGE = 'compute_live_migration_post_copy';

describeLab('policy → QEMU migration capabilities', (lab) => {
  const name = `caps-${process.pid}`;

  beforeAll(() => bootGuest(lab, name), 180_000);
  afterAll(() => removeGuest(lab, name));

  /** Starts the migration, reads QEMU's capabilities once the copy runs, aborts, and checks the guest stayed. */
  async function observe(options: LabMigration): Promise<{
    qemu: { autoConverge: boolean; postCopy: boolean };
    plan: { autoConverge: boolean; postCopy: boolean };
  }> {
    const job = await labMigrate(lab, name, { bandwidth: 4, ...options });
    await progressWhere(job, (p) => (p.memoryProcessed ?? 0) > 0);
    const qemu = qemuFeatures(lab, name);
    job.abort();
    const outcome = await job.outcome;
    expect(outcome.status).toBe('cancelled');
    expect(outcome.guest).toBe('source');
    expect(domainState(lab, 'src', name)).toMatch(/^running/);
    const plan = job.plan;
    if (!plan) throw new Error('no plan');
    return { qemu, plan: { autoConverge: plan.autoConverge, postCopy: plan.postCopy } };
  }

  const cases: [
    string,
    InstanceMetadata,
    Partial<HostConfig>,
    { autoConverge: boolean; postCopy: boolean },
  ][] = [
    ['no policy anywhere', {}, {}, { autoConverge: false, postCopy: false }],
    [
      'auto-converge from the flavor',
      { flavorExtraSpecs: { [AC_FLAVOR]: 'true' } },
      {},
      { autoConverge: true, postCopy: false },
    ],
    [
      'post-copy from the image',
      { imageProperties: { [PC_IMAGE]: 'true' } },
      {},
      { autoConverge: false, postCopy: true },
    ],
    [
      'auto-converge from the host conf',
      {},
      { permitAutoConverge: true },
      { autoConverge: true, postCopy: false },
    ],
    [
      'post-copy from the host conf (wins over auto-converge)',
      {},
      { permitAutoConverge: true, permitPostCopy: true },
      { autoConverge: false, postCopy: true },
    ],
    [
      'explicit false over a host conf that permits both',
      { flavorExtraSpecs: { [PC_FLAVOR]: 'false' }, imageProperties: { [AC_IMAGE]: 'false' } },
      { permitAutoConverge: true, permitPostCopy: true },
      { autoConverge: false, postCopy: false },
    ],
    [
      'post-copy=false on a post-copy host falls back to its auto-converge',
      { flavorExtraSpecs: { [PC_FLAVOR]: 'false' } },
      { permitAutoConverge: true, permitPostCopy: true },
      { autoConverge: true, postCopy: false },
    ],
    [
      'auto-converge=true on a post-copy host: no post-copy',
      { imageProperties: { [AC_IMAGE]: 'true' } },
      { permitPostCopy: true },
      { autoConverge: true, postCopy: false },
    ],
  ];

  it.each(cases)('%s', async (_name, instance, host, expected) => {
    const { qemu, plan } = await observe({ instance, host });
    expect(plan).toEqual(expected);
    expect(qemu).toEqual(expected);
  });

  it('honours a nova.conf rewritten after the job was set up, and metadata changed after migrate() returned', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmp-conf-'));
    const confPath = join(dir, 'nova.conf');
    try {
      writeFileSync(confPath, '[libvirt]\nlive_migration_permit_auto_converge = False\n');
      let instance: InstanceMetadata = {};
      const options: LabMigration = {
        host: () => parseNovaConf(readFileSync(confPath, 'utf8')),
        instance: () => instance,
      };
      // A config reload lands between building the job's inputs and calling migrate().
      writeFileSync(
        confPath,
        '[libvirt]\nlive_migration_permit_auto_converge = True\nlive_migration_permit_post_copy = True\n',
      );
      const job = await labMigrate(lab, name, { bandwidth: 4, ...options });
      // A resize lands after migrate() returned, before libvirt is called.
      instance = { flavorExtraSpecs: { [PC_FLAVOR]: 'false' } };
      await progressWhere(job, (p) => (p.memoryProcessed ?? 0) > 0);
      expect(qemuFeatures(lab, name)).toEqual({ autoConverge: true, postCopy: false });
      expect(job.plan?.reasons[0]).toContain(`"${PC_FLAVOR}" = false overrides`);
      job.abort();
      expect((await job.outcome).status).toBe('cancelled');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports both traits from the live host's versions", async () => {
    const connection = await openConnection(lab.hosts.src.uri);
    try {
      const versions = {
        libvirtVersion: await connection.libVersion(),
        qemuVersion: await connection.hypervisorVersion(),
      };
      expect(versions.libvirtVersion).toBeGreaterThanOrEqual(9_000_000);
      expect(versions.qemuVersion).toBeGreaterThanOrEqual(7_002_000);
      expect(hostTraits(versions)).toEqual({
        COMPUTE_MIGRATE_AUTO_CONVERGE: true,
        COMPUTE_MIGRATE_POST_COPY: true,
      });
      // The same host with a tunnelled conf cannot offer post-copy.
      expect(hostTraits({ ...versions, config: { tunnelled: true } }).COMPUTE_MIGRATE_POST_COPY).toBe(false);
    } finally {
      await connection.close();
    }
  });
});
