import { describe, expect, it } from 'vitest';
import { MigrateFlags as F, MigrationJobError, parseNovaConf, planMigration } from '../../src/index.js';
import { buildMigrationCall, destinationUris } from '../../src/migration/index.js';

describe('destinationUris', () => {
  // Nova's rules (novaDestinationUris): both URIs go to the inbound address when the destination has one, and
  // the stream URI is sent only then; without it libvirt streams to the destination's own host name.
  it.each([
    [{ host: 'compute-2' }, 'qemu+tcp://compute-2/system', undefined],
    [{ host: 'compute-2', scheme: 'tls' as const }, 'qemu+tls://compute-2/system', undefined],
    [{ host: 'compute-2', inboundAddress: '192.0.2.7' }, 'qemu+tcp://192.0.2.7/system', 'tcp://192.0.2.7'],
    [{ host: '2001:db8::7' }, 'qemu+tcp://[2001:db8::7]/system', undefined],
    [{ host: 'c2', inboundAddress: 'fd00::1' }, 'qemu+tcp://[fd00::1]/system', 'tcp://[fd00::1]'],
    [{ host: 'compute-2', scheme: 'ssh' as const }, 'qemu+ssh://compute-2/system', undefined],
    // Already bracketed: kept as given, never double-bracketed.
    [{ host: '[2001:db8::7]' }, 'qemu+tcp://[2001:db8::7]/system', undefined],
    [
      { host: 'c2', inboundAddress: '[2001:db8::7]' },
      'qemu+tcp://[2001:db8::7]/system',
      'tcp://[2001:db8::7]',
    ],
    // Item 15: a colon alone does not make an IPv6 address.
    [{ host: 'compute-2:16509' }, 'qemu+tcp://compute-2:16509/system', undefined],
    [{ host: '192.0.2.7' }, 'qemu+tcp://192.0.2.7/system', undefined],
  ])('builds Nova-style URIs from %o', (destination, uri, migrateUri) => {
    expect(destinationUris(destination)).toEqual(
      migrateUri === undefined ? { destinationUri: uri } : { destinationUri: uri, migrateUri },
    );
  });

  it("takes the scheme and the deprecated live_migration_uri from the source's nova.conf; an explicit scheme wins", () => {
    const tls = parseNovaConf('[libvirt]\nlive_migration_scheme = tls\n');
    expect(destinationUris({ host: 'compute-2' }, tls)).toEqual({
      destinationUri: 'qemu+tls://compute-2/system',
    });
    const forced = parseNovaConf('[libvirt]\nlive_migration_uri = qemu+ssh://nova@%s/system\n');
    expect(destinationUris({ host: 'compute-2' }, forced).destinationUri).toBe(
      'qemu+ssh://nova@compute-2/system',
    );
    expect(destinationUris({ host: 'compute-2', scheme: 'tcp' }, forced).destinationUri).toBe(
      'qemu+tcp://compute-2/system',
    );
    const tunnelled = parseNovaConf('[libvirt]\nlive_migration_tunnelled = True\n');
    expect(destinationUris({ host: 'c2', inboundAddress: '192.0.2.7' }, tunnelled)).toEqual({
      destinationUri: 'qemu+tcp://192.0.2.7/system',
    });
  });

  it("buildMigrationCall uses the plan's host config for the URIs", () => {
    const plan = planMigration({ host: parseNovaConf('[libvirt]\nlive_migration_scheme = tls\n') });
    expect(buildMigrationCall(plan, { host: 'compute-2', inboundAddress: '10.0.0.2' })).toMatchObject({
      destinationUri: 'qemu+tls://10.0.0.2/system',
      params: { migrateUri: 'tcp://10.0.0.2' },
    });
  });

  it('passes explicit URIs through', () => {
    expect(
      destinationUris({ uri: 'qemu+unix:///system?socket=/x/libvirt-sock', migrateUri: 'tcp://127.0.0.1' }),
    ).toEqual({
      destinationUri: 'qemu+unix:///system?socket=/x/libvirt-sock',
      migrateUri: 'tcp://127.0.0.1',
    });
    expect(destinationUris({ uri: 'qemu+tcp://c2/system' })).toEqual({
      destinationUri: 'qemu+tcp://c2/system',
    });
  });

  it.each<[string, unknown]>([
    ['an empty host', { host: '' }],
    ['a host with blanks', { host: 'c 2' }],
    ['an unknown scheme', { host: 'c2', scheme: 'udp' }],
    ['a non-string uri', { uri: 42 }],
    ['a host with a path', { host: 'evil/system?socket=/tmp/x' }],
    ['a host with a query', { host: 'c2?no_verify=1' }],
    ['a host with a fragment', { host: 'c2#x' }],
    ['a host with user info', { host: 'root@c2' }],
    ['a host with an escape', { host: 'c2%2Fx' }],
    ['a host with a backslash', { host: 'c2\\x' }],
    ['a host with a control character', { host: 'c2\u0007' }],
    ['a host with a tab', { host: 'c2\tx' }],
    ['brackets around a name', { host: '[compute-2]' }],
    ['a half-bracketed address', { host: '[fd00::1' }],
    ['an inbound address with a path', { host: 'c2', inboundAddress: '10.0.0.1/x' }],
    ['an empty inbound address', { host: 'c2', inboundAddress: '' }],
    ['an empty migrate uri', { uri: 'qemu+tcp://c2/system', migrateUri: ' ' }],
  ])('refuses %s with INVALID_OPTIONS', (_name, destination) => {
    expect(() => destinationUris(destination as never)).toThrow(MigrationJobError);
  });
});

describe('buildMigrationCall', () => {
  const dest = { uri: 'qemu+tcp://c2/system', migrateUri: 'tcp://192.0.2.7' };

  it("always sends the host's bandwidth, as Nova does", () => {
    const call = buildMigrationCall(planMigration({ host: { bandwidth: 300 } }), dest);
    expect(call.params).toEqual({ migrateUri: 'tcp://192.0.2.7', bandwidth: 300 });
    expect(call.flags).toBe(F.LIVE | F.PEER2PEER | F.PERSIST_DEST | F.UNDEFINE_SOURCE);
  });

  it('lets the caller override bandwidth and sends the new XML twice', () => {
    const call = buildMigrationCall(planMigration(), dest, { bandwidth: 64, destinationXml: '<domain/>' });
    expect(call.params).toMatchObject({
      bandwidth: 64,
      destinationXml: '<domain/>',
      persistentXml: '<domain/>',
    });
  });

  it('sends auto_converge.* only when auto-converge is on', () => {
    const tuning = { autoConvergeInitial: 30, autoConvergeIncrement: 15 };
    const on = buildMigrationCall(planMigration({ host: { permitAutoConverge: true } }), dest, tuning);
    expect(on.params).toMatchObject({ autoConvergeInitial: 30, autoConvergeIncrement: 15 });
    const off = buildMigrationCall(planMigration(), dest, tuning);
    expect(off.params.autoConvergeInitial).toBeUndefined();
    expect(off.notes).toEqual([
      'auto_converge.initial/increment not sent: auto-converge is off for this migration',
    ]);
  });

  it('accepts QEMU’s bounds 1 and 99 for auto_converge.*', () => {
    const on = planMigration({ host: { permitAutoConverge: true } });
    expect(
      buildMigrationCall(on, dest, { autoConvergeInitial: 1, autoConvergeIncrement: 99 }).params,
    ).toMatchObject({
      autoConvergeInitial: 1,
      autoConvergeIncrement: 99,
    });
    expect(
      buildMigrationCall(on, dest, { autoConvergeInitial: 99, autoConvergeIncrement: 1 }).params,
    ).toMatchObject({
      autoConvergeInitial: 99,
      autoConvergeIncrement: 1,
    });
    expect(
      buildMigrationCall(on, dest, { autoConvergeIncrement: 5 }).params.autoConvergeInitial,
    ).toBeUndefined();
  });

  it('notes migrateDisks given without block migration, and sends an empty list with none', () => {
    expect(buildMigrationCall(planMigration(), dest, { migrateDisks: ['vda'] }).notes).toEqual([
      'migrateDisks not sent: this is not a block migration',
    ]);
    expect(buildMigrationCall(planMigration(), dest, { migrateDisks: [] }).notes).toEqual([]);
    expect(buildMigrationCall(planMigration(), dest, { tlsDestination: 'c2' }).notes).toEqual([
      'tls.destination not sent: native TLS is off on this host',
    ]);
  });

  it('sends bandwidth.postcopy only when post-copy is on', () => {
    const on = buildMigrationCall(planMigration({ host: { permitPostCopy: true } }), dest, {
      postCopyBandwidth: 100,
    });
    expect(on.params.bandwidthPostcopy).toBe(100);
    const off = buildMigrationCall(planMigration(), dest, { postCopyBandwidth: 100 });
    expect(off.params.bandwidthPostcopy).toBeUndefined();
    expect(off.notes[0]).toContain('bandwidth.postcopy');
  });

  it('sends parallel.connections when more than one', () => {
    expect(
      buildMigrationCall(planMigration({ host: { parallelConnections: 4 } }), dest).params
        .parallelConnections,
    ).toBe(4);
    expect(buildMigrationCall(planMigration(), dest).params.parallelConnections).toBeUndefined();
  });

  it('sends the disks with block migration only', () => {
    const block = buildMigrationCall(planMigration({ blockMigration: true, migrateDisks: ['vda'] }), dest, {
      migrateDisks: ['vda'],
    });
    expect(block.params.migrateDisks).toEqual(['vda']);
    const live = buildMigrationCall(planMigration(), dest, { migrateDisks: ['vda'] });
    expect(live.params.migrateDisks).toBeUndefined();
  });

  it('sends tls.destination only with native TLS', () => {
    expect(
      buildMigrationCall(planMigration({ host: { nativeTls: true } }), dest, { tlsDestination: 'c2.example' })
        .params.tlsDestination,
    ).toBe('c2.example');
    expect(
      buildMigrationCall(planMigration(), dest, { tlsDestination: 'c2.example' }).params.tlsDestination,
    ).toBeUndefined();
  });

  it.each<[string, object]>([
    ['a percent over 100', { autoConvergeInitial: 101 }],
    ['a negative increment', { autoConvergeIncrement: -5 }],
    // Item 16: QEMU's cpu-throttle-initial/increment accept 1-99.
    ['an initial throttle of 0', { autoConvergeInitial: 0 }],
    ['an initial throttle of 100', { autoConvergeInitial: 100 }],
    ['an increment of 0', { autoConvergeIncrement: 0 }],
    ['an increment of 100', { autoConvergeIncrement: 100 }],
    ['a negative post-copy bandwidth', { postCopyBandwidth: -1 }],
    ['a fractional bandwidth', { bandwidth: 1.5 }],
    ['a string bandwidth', { bandwidth: '100' }],
  ])('refuses %s', (_name, tuning) => {
    let caught: unknown;
    try {
      buildMigrationCall(planMigration({ host: { permitAutoConverge: true } }), dest, tuning);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MigrationJobError);
    expect((caught as MigrationJobError).code).toBe('INVALID_OPTIONS');
    expect((caught as MigrationJobError).key).toBe(Object.keys(tuning)[0]);
  });
});

describe('messages name the option, the value and the fix', () => {
  it.each<[object, string]>([
    [
      { host: 'c2/x' },
      'destination.host is "c2/x": give a host name or an IP address, without URI syntax (/ ? # @ % \\ [ ])',
    ],
    [{ host: '' }, 'destination.host is "": give a non-empty string without blanks'],
    [{ host: 'c2', scheme: 'udp' }, 'destination.scheme is "udp": use "tcp", "tls" or "ssh"'],
    [
      { uri: 'qemu:///x\u0000' },
      'destination.uri is "qemu:///x\\x00": give a non-empty string without blanks',
    ],
  ])('%o', (destination, message) => {
    expect(() => destinationUris(destination as never)).toThrow(message);
  });

  it('bounds bandwidths to 2^40 MiB/s and names the range', () => {
    const plan = planMigration({ host: { permitPostCopy: true } });
    const dest = { uri: 'qemu+tcp://c2/system' };
    expect(buildMigrationCall(plan, dest, { bandwidth: 2 ** 40, postCopyBandwidth: 0 }).params).toStrictEqual(
      {
        bandwidth: 2 ** 40,
        bandwidthPostcopy: 0,
      },
    );
    expect(() => buildMigrationCall(plan, dest, { bandwidth: 2 ** 40 + 1 })).toThrow(
      'bandwidth is 1099511627777: use a whole number from 0 to 1099511627776',
    );
    expect(() => buildMigrationCall(plan, dest, { postCopyBandwidth: 2 ** 40 + 1 })).toThrow(
      'postCopyBandwidth is 1099511627777: use a whole number from 0 to 1099511627776',
    );
    expect(() => buildMigrationCall(plan, dest, { autoConvergeInitial: 0 })).toThrow(
      'autoConvergeInitial is 0: use a whole number from 1 to 99',
    );
  });
});
