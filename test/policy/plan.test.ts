import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HOST_CONFIG,
  MigrateFlags as F,
  type HostConfig,
  type InstanceMetadata,
  planMigration,
} from '../../src/index.js';
import { VERSIONS_UNCHECKED } from '../../src/policy/index.js';
import { AC_FLAVOR, AC_IMAGE, expectPolicyError, PC_FLAVOR, PC_IMAGE } from './helpers.js';

/**
 * Nova's `_parse_migration_flags` (plus the parallel-connections option), transcribed line by line: the
 * parity oracle for a host with no per-instance metadata.
 */
function novaFlags(conf: HostConfig, block: boolean): number {
  let flags = F.LIVE | F.PEER2PEER | F.PERSIST_DEST | F.UNDEFINE_SOURCE;
  if (block) flags |= F.NON_SHARED_INC;
  if (conf.tunnelled) flags |= F.TUNNELLED;
  if (conf.nativeTls) flags |= F.TLS;
  if (conf.permitPostCopy) flags |= F.POSTCOPY;
  if (conf.permitAutoConverge && (flags & F.POSTCOPY) === 0) flags |= F.AUTO_CONVERGE;
  if (conf.parallelConnections > 1) flags |= F.PARALLEL;
  return flags;
}

const BASE = F.LIVE | F.PEER2PEER | F.PERSIST_DEST | F.UNDEFINE_SOURCE;
const bools = [false, true];

describe('planMigration: parity with Nova when the instance has no opinion', () => {
  const combos: [HostConfig, boolean][] = [];
  for (const permitPostCopy of bools)
    for (const permitAutoConverge of bools)
      for (const tunnelled of bools)
        for (const nativeTls of bools)
          for (const parallelConnections of [1, 2, 4])
            for (const block of bools) {
              if (tunnelled && nativeTls) continue; // invalid host conf, tested below
              // libvirt refuses POSTCOPY with TUNNELLED: Nova would fail the call, we drop post-copy instead.
              if (tunnelled && permitPostCopy) continue;
              combos.push([
                {
                  ...DEFAULT_HOST_CONFIG,
                  permitPostCopy,
                  permitAutoConverge,
                  tunnelled,
                  nativeTls,
                  parallelConnections,
                },
                block,
              ]);
            }

  it(`covers ${combos.length} valid host combinations`, () => {
    expect(combos.length).toBe(60);
  });

  it.each(combos.map(([host, block]) => [describeHost(host, block), host, block] as const))(
    '%s',
    (_name, host, block) => {
      expect(planMigration({ host, blockMigration: block }).flags).toBe(novaFlags(host, block));
    },
  );

  it.each([
    [{}, false, 27],
    [{}, true, 155],
    [{ permitPostCopy: true }, false, 32795],
    [{ permitAutoConverge: true }, false, 8219],
    [{ permitPostCopy: true, permitAutoConverge: true }, false, 32795],
    [{ tunnelled: true, permitAutoConverge: true }, true, 8351],
    [{ nativeTls: true, permitPostCopy: true, parallelConnections: 2 }, false, 229403],
  ] as const)('host %o block=%s gives the literal Nova value %d', (host, block, expected) => {
    expect(planMigration({ host, blockMigration: block }).flags).toBe(expected);
  });

  it('drops post-copy from a tunnelled host with a reason and falls back to auto-converge', () => {
    const plan = planMigration({ host: { tunnelled: true, permitPostCopy: true, permitAutoConverge: true } });
    expect(plan.flags).toBe(BASE | F.TUNNELLED | F.AUTO_CONVERGE);
    expect(plan.reasons.join('\n')).toMatch(/post-copy dropped: .*tunnelled/);
  });

  it('refuses tunnelled + native TLS', () => {
    expectPolicyError(
      () => planMigration({ host: { tunnelled: true, nativeTls: true } }),
      'INVALID_HOST_CONFIG',
    );
  });
});

describe('planMigration: the instance overrides the host', () => {
  type Row = [string, InstanceMetadata, Partial<HostConfig>, { ac: boolean; pc: boolean }];
  const allOn = { permitPostCopy: true, permitAutoConverge: true };
  const rows: Row[] = [
    [
      'post-copy=true on a host permitting nothing',
      { flavorExtraSpecs: { [PC_FLAVOR]: 'true' } },
      {},
      { ac: false, pc: true },
    ],
    [
      'post-copy=true on a host permitting auto-converge',
      { imageProperties: { [PC_IMAGE]: 'true' } },
      { permitAutoConverge: true },
      { ac: false, pc: true },
    ],
    [
      'auto-converge=true on a host permitting nothing',
      { flavorExtraSpecs: { [AC_FLAVOR]: 'true' } },
      {},
      { ac: true, pc: false },
    ],
    [
      'auto-converge=true on a post-copy host: no post-copy',
      { imageProperties: { [AC_IMAGE]: 'true' } },
      allOn,
      { ac: true, pc: false },
    ],
    [
      'post-copy=false on a host permitting both',
      { flavorExtraSpecs: { [PC_FLAVOR]: 'false' } },
      allOn,
      { ac: true, pc: false },
    ],
    [
      'auto-converge=false on a host permitting both',
      { flavorExtraSpecs: { [AC_FLAVOR]: 'false' } },
      allOn,
      { ac: false, pc: true },
    ],
    [
      'both false on a host permitting both',
      { flavorExtraSpecs: { [AC_FLAVOR]: 'false', [PC_FLAVOR]: 'false' } },
      allOn,
      { ac: false, pc: false },
    ],
    [
      'auto-converge=false on an auto-converge host',
      { imageProperties: { [AC_IMAGE]: 'false' } },
      { permitAutoConverge: true },
      { ac: false, pc: false },
    ],
    [
      'post-copy=false, auto-converge=true',
      { flavorExtraSpecs: { [PC_FLAVOR]: 'false', [AC_FLAVOR]: 'true' } },
      {},
      { ac: true, pc: false },
    ],
    [
      'post-copy=true, auto-converge=false',
      { flavorExtraSpecs: { [PC_FLAVOR]: 'true', [AC_FLAVOR]: 'false' } },
      allOn,
      { ac: false, pc: true },
    ],
    ['no opinion on a post-copy host', {}, { permitPostCopy: true }, { ac: false, pc: true }],
    ['no opinion on a host permitting both', {}, allOn, { ac: false, pc: true }],
  ];

  it.each(rows)('%s', (_name, instance, host, expected) => {
    const plan = planMigration({ instance, host });
    expect({ ac: plan.autoConverge, pc: plan.postCopy }).toEqual(expected);
    expect((plan.flags & F.AUTO_CONVERGE) !== 0).toBe(expected.ac);
    expect((plan.flags & F.POSTCOPY) !== 0).toBe(expected.pc);
    expect(plan.flags & BASE).toBe(BASE);
  });

  it('explains every decision with the key that made it', () => {
    const plan = planMigration({ instance: { flavorExtraSpecs: { [PC_FLAVOR]: 'false' } }, host: allOn });
    expect(plan.reasons).toEqual([
      `post-copy off: flavor extra spec "${PC_FLAVOR}" = false overrides [libvirt] live_migration_permit_post_copy = True`,
      'auto-converge on: [libvirt] live_migration_permit_auto_converge = True and post-copy is not in use',
      VERSIONS_UNCHECKED,
    ]);
    expect(plan.decisions.postCopy.source).toBe('flavor');
    expect(plan.decisions.autoConverge.source).toBe('host');
  });

  it('names the image when the image decided', () => {
    const plan = planMigration({ instance: { imageProperties: { [AC_IMAGE]: 'true' } }, host: allOn });
    expect(plan.reasons[0]).toContain(`image property "${AC_IMAGE}" = true asks for auto-converge`);
    expect(plan.decisions.autoConverge.source).toBe('image');
  });

  it('returns the resolved host config and the flag names', () => {
    const plan = planMigration({ host: { permitAutoConverge: true } });
    expect(plan.host.downtime).toBe(500);
    expect(plan.flagNames).toEqual(['LIVE', 'PEER2PEER', 'PERSIST_DEST', 'UNDEFINE_SOURCE', 'AUTO_CONVERGE']);
  });
});

describe('planMigration: where post-copy cannot work', () => {
  const askPostCopy = { flavorExtraSpecs: { [PC_FLAVOR]: 'true' } };

  it.each<[string, Partial<Parameters<typeof planMigration>[0]>, RegExp]>([
    ['tunnelled', { host: { tunnelled: true } }, /tunnelled/],
    [
      'parallel connections on QEMU 7.2',
      { host: { parallelConnections: 4 }, qemuVersion: '7.2.0' },
      /QEMU 10.1.0/,
    ],
    ['QEMU older than 2.5', { qemuVersion: 2_004_000 }, /QEMU 2\.4\.0 is older than 2\.5\.0/],
    ['libvirt older than 1.3.3', { libvirtVersion: '1.3.2' }, /libvirt 1\.3\.2 is older than 1\.3\.3/],
  ])('an explicit request on %s is POST_COPY_UNAVAILABLE', (_name, input, pattern) => {
    const error = expectPolicyError(
      () => planMigration({ ...input, instance: askPostCopy }),
      'POST_COPY_UNAVAILABLE',
    );
    expect(error.key).toBe(PC_FLAVOR);
    expect(error.message).toMatch(pattern);
  });

  it('allows parallel connections with post-copy on QEMU 10.1', () => {
    const plan = planMigration({
      instance: askPostCopy,
      host: { parallelConnections: 4 },
      qemuVersion: '10.1.0',
    });
    expect(plan.flags & (F.POSTCOPY | F.PARALLEL)).toBe(F.POSTCOPY | F.PARALLEL);
  });

  it('drops a host-conf post-copy with parallel connections on old QEMU, falling back to auto-converge', () => {
    const plan = planMigration({
      host: { permitPostCopy: true, permitAutoConverge: true, parallelConnections: 2 },
      qemuVersion: 7_002_000,
    });
    expect(plan.postCopy).toBe(false);
    expect(plan.autoConverge).toBe(true);
    expect(plan.reasons[0]).toMatch(/^post-copy dropped: .*parallel connections/);
  });

  it('only drops post-copy for a paused guest, even when the instance asked for it', () => {
    const plan = planMigration({ instance: askPostCopy, paused: true });
    expect(plan.flags & F.POSTCOPY).toBe(0);
    expect(plan.postCopy).toBe(false);
    expect(plan.reasons[0]).toMatch(/^post-copy dropped: the guest is paused/);
  });

  it('clears POSTCOPY for a paused guest on a post-copy host without adding auto-converge (Nova)', () => {
    const plan = planMigration({ host: { permitPostCopy: true, permitAutoConverge: true }, paused: true });
    expect(plan.flags).toBe(BASE);
  });

  it('keeps auto-converge for a paused guest that asked for it', () => {
    const plan = planMigration({ instance: { flavorExtraSpecs: { [AC_FLAVOR]: 'true' } }, paused: true });
    expect(plan.flags).toBe(BASE | F.AUTO_CONVERGE);
  });

  it('refuses auto-converge explicitly asked on a QEMU too old for it', () => {
    const error = expectPolicyError(
      () => planMigration({ instance: { imageProperties: { [AC_IMAGE]: 'true' } }, qemuVersion: '1.5.0' }),
      'AUTO_CONVERGE_UNAVAILABLE',
    );
    expect(error.key).toBe(AC_IMAGE);
  });

  it('refuses a malformed version', () => {
    const error = expectPolicyError(() => planMigration({ qemuVersion: 'seven' }), 'INVALID_ARGUMENT');
    expect(error.key).toBe('qemuVersion');
  });
});

describe('planMigration: block migration', () => {
  it('adds NON_SHARED_INC', () => {
    expect(planMigration({ blockMigration: true, migrateDisks: ['vda'] }).flags & F.NON_SHARED_INC).toBe(
      F.NON_SHARED_INC,
    );
  });

  it('clears NON_SHARED_INC when there is no disk to copy', () => {
    const plan = planMigration({ blockMigration: true, migrateDisks: [] });
    expect(plan.flags & F.NON_SHARED_INC).toBe(0);
    expect(plan.reasons[0]).toContain('no disk to copy');
  });
});

function describeHost(host: HostConfig, block: boolean): string {
  const on = (['permitPostCopy', 'permitAutoConverge', 'tunnelled', 'nativeTls'] as const).filter(
    (k) => host[k],
  );
  return `${on.join('+') || 'defaults'} parallel=${host.parallelConnections}${block ? ' block' : ''}`;
}

describe('planMigration: its options', () => {
  it('bounds an unknown planMigration option', () => {
    const key = 'z'.repeat(300);
    expect(expectPolicyError(() => planMigration({ [key]: 1 } as never), 'INVALID_ARGUMENT').key).toBe(
      `${'z'.repeat(200)}…`,
    );
  });
});
