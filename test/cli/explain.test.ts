import { describe, expect, it } from 'vitest';
import { MigrateFlags, parseNovaConf, planMigration, readNovaConfSources } from '../../src/index.js';
import { cli, fixture } from './run.js';

const CONF = ['--conf', fixture('nova.conf'), '--conf-dir', fixture('nova.conf.d')];
const explain = (...args: string[]) => cli(['explain', ...args]);
/** The text after a label, on the line that starts with it. */
const field = (out: string, label: string) =>
  out
    .split('\n')
    .find((line) => line.startsWith(label))
    ?.slice(20);

describe('explain: the decision and where it came from', () => {
  it('a flavor with no opinion: post-copy from nova.conf with file and line, its flags, timeout arithmetic', async () => {
    const { code, stdout, stderr } = await explain(
      '--flavor',
      fixture('flavor-osc.json'),
      '--image',
      fixture('image-osc.json'),
      ...CONF,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(field(stdout, 'post-copy')).toBe(`on   from ${fixture('nova.conf')} line 6`);
    // Permitted by the drop-in, but post-copy wins at host level.
    // The line says True: what turned auto-converge off is post-copy, and the output says so.
    expect(field(stdout, 'auto-converge')).toBe(
      `off  from post-copy won ([libvirt] live_migration_permit_auto_converge = True (${fixture('nova.conf.d/50-migration.conf')} line 2) permits it)`,
    );
    expect(field(stdout, 'Flags')).toBe('LIVE|PEER2PEER|PERSIST_DEST|UNDEFINE_SOURCE|POSTCOPY = 32795');
    expect(field(stdout, 'Required traits')).toBe('(none: the instance can land on any host)');
    expect(field(stdout, 'Force-complete')).toMatch(/^switch to post-copy/);
    // The flavor's ram is 65536 MiB.
    expect(field(stdout, 'Completion timeout')).toBe('800 s/GiB × 64 GiB = 51,200 s');
    expect(stdout).toContain('then force-complete (switch to post-copy');
    expect(stdout).toContain(
      `live_migration_timeout_action = force_complete: ${fixture('nova.conf.d/50-migration.conf')} line 3`,
    );
    expect(field(stdout, 'Downtime')).toBe('10 steps up to 500 ms, one every 75 s/GiB × 64 GiB = 4,800 s');
    expect(stdout).toContain(`live_migration_permit_post_copy = True  (${fixture('nova.conf')} line 6)`);
    expect(stdout).toContain('versions not checked');
  });

  it('a Nova API flavor refusing post-copy: auto-converge from the drop-in, pause on force-complete', async () => {
    const { code, stdout } = await explain('--flavor', fixture('flavor-no-post-copy.json'), ...CONF);
    expect(code).toBe(0);
    expect(field(stdout, 'post-copy')).toBe(`off  from flavor (${fixture('flavor-no-post-copy.json')})`);
    expect(field(stdout, 'auto-converge')).toBe(
      `on   from ${fixture('nova.conf.d/50-migration.conf')} line 2`,
    );
    expect(stdout).toContain(
      '  - post-copy off: flavor extra spec "compute:live_migration_post_copy" = false overrides',
    );
    expect(field(stdout, 'Flags')).toBe('LIVE|PEER2PEER|PERSIST_DEST|UNDEFINE_SOURCE|AUTO_CONVERGE = 8219');
    expect(field(stdout, 'Force-complete')).toMatch(/^pause the guest on the source/);
    expect(field(stdout, 'Completion timeout')).toBe('800 s/GiB × 32 GiB = 25,600 s');
  });

  it('an image asking for auto-converge (Glance v2 shape): required trait, source image', async () => {
    const { code, stdout } = await explain('--image', fixture('image-auto-converge.json'), ...CONF);
    expect(code).toBe(0);
    expect(field(stdout, 'auto-converge')).toBe(`on   from image (${fixture('image-auto-converge.json')})`);
    expect(field(stdout, 'Required traits')).toBe(
      'COMPUTE_MIGRATE_AUTO_CONVERGE (the scheduler requires them on the destination)',
    );
    expect(field(stdout, 'Instance')).toBe(
      `no flavor, image ${fixture('image-auto-converge.json')} (running)`,
    );
  });

  it("the older client's properties string is read", async () => {
    const { code, stdout } = await explain('--flavor', fixture('flavor-post-copy.json'), ...CONF);
    expect(code).toBe(0);
    expect(field(stdout, 'post-copy')).toBe(`on   from flavor (${fixture('flavor-post-copy.json')})`);
    expect(field(stdout, 'Required traits')).toMatch(/^COMPUTE_MIGRATE_POST_COPY/);
  });

  it("without nova.conf, Nova's defaults, said as such", async () => {
    const { code, stdout } = await explain('--flavor', fixture('flavor-osc.json'));
    expect(code).toBe(0);
    expect(field(stdout, 'Host')).toBe("no nova.conf: Nova's defaults");
    expect(field(stdout, 'post-copy')).toBe("off  from Nova's default");
    expect(field(stdout, 'Flags')).toBe('LIVE|PEER2PEER|PERSIST_DEST|UNDEFINE_SOURCE = 27');
    expect(stdout).not.toContain('Set in nova.conf');
    expect(stdout).toContain(
      "800 s/GiB × 64 GiB = 51,200 s\n                    then abort\n                    live_migration_completion_timeout: Nova's default; live_migration_timeout_action = abort: Nova's default",
    );
  });
});

describe('explain: a paused guest', () => {
  it("states Nova's rule without contradiction: post-copy dropped, auto-converge not put back, and why", async () => {
    const { code, stdout } = await explain('--flavor', fixture('flavor-osc.json'), '--paused', ...CONF);
    expect(code).toBe(0);
    expect(field(stdout, 'Instance')).toMatch(/\(paused\)$/);
    expect(field(stdout, 'post-copy')).toBe(
      `off  dropped (see below); wanted by ${fixture('nova.conf')} line 6`,
    );
    expect(stdout).toContain(
      'Dropped\n  - post-copy: the guest is paused: libvirt refuses post-copy for a paused guest',
    );
    const why = stdout.split('\n').find((line) => line.startsWith('  - auto-converge off'));
    expect(why).toContain(
      "post-copy was chosen first (by the host's nova.conf) and the two never go together",
    );
    expect(why).toContain('Nova then drops post-copy alone');
    expect(why).toContain('a paused guest dirties no memory');
    // The library's sentence for this case reads as if post-copy were still on.
    expect(stdout).not.toContain('wins over auto-converge');
    expect(field(stdout, 'Flags')).toBe('LIVE|PEER2PEER|PERSIST_DEST|UNDEFINE_SOURCE = 27');
    expect(field(stdout, 'Force-complete')).toMatch(/^pause/);
  });

  it("keeps the library's reason when the pause changes nothing", async () => {
    const { stdout } = await explain('--flavor', fixture('flavor-no-post-copy.json'), '--paused', ...CONF);
    expect(stdout).not.toContain('Dropped');
    expect(field(stdout, 'auto-converge')).toMatch(/^on /);
  });
});

describe('explain: sizes and notes', () => {
  it('without a ram the timeout names what is missing; --memory-mib gives it, with the 2 GiB minimum', async () => {
    const unknown = await explain('--flavor', fixture('extra-specs.json'), ...CONF);
    expect(field(unknown.stdout, 'Completion timeout')).toBe(
      '800 s/GiB × the guest\'s GiB (unknown: pass a flavor with "ram" or --memory-mib)',
    );
    const small = await explain('--flavor', fixture('extra-specs.json'), '--memory-mib', '1024', ...CONF);
    expect(field(small.stdout, 'Completion timeout')).toBe('800 s/GiB × 2 GiB = 1,600 s');
    expect(small.stdout).toContain('the guest has 1,024 MiB; Nova counts at least 2 GiB');
  });

  it("--memory-mib wins over the flavor's ram; --block says disks are not counted", async () => {
    const { stdout } = await explain(
      '--flavor',
      fixture('flavor-osc.json'),
      '--memory-mib',
      '3072',
      '--block',
      ...CONF,
    );
    expect(field(stdout, 'Completion timeout')).toBe('800 s/GiB × 3 GiB = 2,400 s');
    expect(field(stdout, 'Flags')).toContain('NON_SHARED_INC');
    expect(stdout).toContain("block migration: Nova adds each copied disk's allocation");
  });

  it('versions given are checked: an old QEMU drops post-copy', async () => {
    const { code, stdout } = await explain(
      '--flavor',
      fixture('flavor-osc.json'),
      '--qemu-version',
      '2.4.0',
      '--libvirt-version',
      '9.0.0',
      ...CONF,
    );
    expect(code).toBe(0);
    expect(stdout).toContain('Dropped\n  - post-copy: [libvirt] live_migration_permit_post_copy = True');
    expect(stdout).toContain('QEMU 2.4.0 is older than 2.5.0');
    expect(stdout).not.toContain('versions not checked');
  });
});

describe('explain --json', () => {
  it('prints the plan as data, equal to planMigration on the same inputs', async () => {
    const { code, stdout } = await explain(
      '--flavor',
      fixture('flavor-no-post-copy.json'),
      '--json',
      ...CONF,
    );
    expect(code).toBe(0);
    const data = JSON.parse(stdout);
    const host = parseNovaConf(
      readNovaConfSources({ files: [fixture('nova.conf')], dirs: [fixture('nova.conf.d')] }),
    );
    const plan = planMigration({
      instance: { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'false' } },
      host,
      blockMigration: false,
      paused: false,
    });
    expect(data.plan).toEqual(JSON.parse(JSON.stringify(plan)));
    expect(data.flags).toEqual({ value: plan.flags, names: plan.flagNames });
    expect(data.plan.flags & MigrateFlags.AUTO_CONVERGE).toBe(MigrateFlags.AUTO_CONVERGE);
    expect(data.features.autoConverge).toMatchObject({ enabled: true, source: 'host' });
    expect(data.completionTimeout).toMatchObject({
      perGiB: 800,
      dataGb: 32,
      seconds: 25600,
      action: 'force_complete',
    });
    expect(data.forceComplete.action).toBe('pause');
    expect(data.requiredTraits).toEqual([]);
    expect(data.hostOrigins.permitAutoConverge).toBe(`${fixture('nova.conf.d/50-migration.conf')} line 2`);
  });
});

describe("explain --flavor with the instance's own copy (openstack server show -f json, API ≥ 2.47)", () => {
  it("decides from the server's embedded flavor and counts its ram", async () => {
    const { code, stdout } = await cli([
      'explain',
      '--flavor',
      fixture('server.json'),
      '--conf',
      fixture('nova.conf'),
      '--json',
    ]);
    expect(code).toBe(0);
    const explanation = JSON.parse(stdout);
    expect(explanation.instance.flavorExtraSpecs['compute:live_migration_post_copy']).toBe('false');
    expect(explanation.features.postCopy).toMatchObject({ enabled: false, source: 'flavor' });
    expect(explanation.completionTimeout).toMatchObject({ dataGb: 64, seconds: 51_200 });
  });
});

describe('explain --domain-xml', () => {
  it("shows the guest's VFIO device and drops the host's post-copy for it", async () => {
    const { code, stdout } = await cli(['explain', '--domain-xml', fixture('domain-vfio.xml'), ...CONF]);
    expect(code).toBe(0);
    expect(stdout).toContain(
      `Guest               ${fixture('domain-vfio.xml')}: 1 disk(s), host devices: VFIO mdev c2177883-f1bb-47f0-914d-32a22e3a8804`,
    );
    expect(stdout).toContain('post-copy           off  dropped (see below)');
    expect(stdout).toMatch(
      /Dropped\n {2}- post-copy: \[libvirt\] live_migration_permit_post_copy = True .*, but the guest has a VFIO device/,
    );
  });

  it('refuses an explicit post-copy request for that guest: exit 4', async () => {
    const { code, stderr } = await cli([
      'explain',
      '--domain-xml',
      fixture('domain-vfio.xml'),
      '--flavor',
      fixture('flavor-post-copy.json'),
    ]);
    expect(code).toBe(4);
    expect(stderr).toContain('POST_COPY_UNAVAILABLE: ');
    expect(stderr).toContain('QEMU cannot post-copy a guest with one');
  });

  it('a malformed domain XML is bad input naming the file: exit 2', async () => {
    const { code, stderr } = await cli(['explain', '--domain-xml', fixture('flavor-osc.json')]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      `INVALID_DOMAIN_XML: ${fixture('flavor-osc.json')}: the domain XML is not well-formed`,
    );
  });
});
