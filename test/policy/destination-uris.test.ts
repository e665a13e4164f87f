import { describe, expect, it } from 'vitest';
import { DEFAULT_HOST_CONFIG, novaDestinationUris, parseNovaConf } from '../../src/policy/index.js';
import { expectPolicyError } from './helpers.js';

const source = (conf = '') => parseNovaConf(`[libvirt]\n${conf}\n`);

/** The cases of Nova's own tests of `_live_migration_uri` and `_migrate_uri` (test_driver.py), ported. */
describe("novaDestinationUris: Nova's rules", () => {
  it.each(['127.0.0.1', '127.0.0.1:4444', '[::1]:4444', '[0:0:0:0:0:0:0:1]:4444', 'destination'])(
    'builds qemu+tcp://%s/system and, with it as the inbound address, tcp://%s',
    (dest) => {
      expect(novaDestinationUris({ host: dest, source: DEFAULT_HOST_CONFIG }).destinationUri).toBe(
        `qemu+tcp://${dest}/system`,
      );
      expect(
        novaDestinationUris({ host: 'compute-2', source: DEFAULT_HOST_CONFIG, inboundAddress: dest }),
      ).toMatchObject({ destinationUri: `qemu+tcp://${dest}/system`, migrateUri: `tcp://${dest}` });
    },
  );

  it.each(['::1', '0:0:0:0:0:0:0:1', 'fd00::7', '::ffff:192.0.2.1'])(
    'brackets the IPv6 address %s',
    (dest) => {
      expect(
        novaDestinationUris({ host: 'c2', source: DEFAULT_HOST_CONFIG, inboundAddress: dest }),
      ).toMatchObject({
        destinationUri: `qemu+tcp://[${dest}]/system`,
        migrateUri: `tcp://[${dest}]`,
      });
    },
  );

  it('takes the scheme from live_migration_scheme', () => {
    expect(
      novaDestinationUris({ host: 'destination', source: source('live_migration_scheme = ssh') }),
    ).toMatchObject({ destinationUri: 'qemu+ssh://destination/system' });
  });

  it('takes the whole URI from the deprecated live_migration_uri, over live_migration_scheme', () => {
    const conf = source('live_migration_uri = qemu+ssh://%s/system\nlive_migration_scheme = tcp');
    expect(novaDestinationUris({ host: 'destination', source: conf }).destinationUri).toBe(
      'qemu+ssh://destination/system',
    );
    expect(
      novaDestinationUris({ host: 'd', source: source('live_migration_uri = foo://%s/bar') }).destinationUri,
    ).toBe('foo://d/bar');
    // %s is the inbound address when the destination has one, as the option's help says.
    expect(
      novaDestinationUris({
        host: 'destination',
        source: source('live_migration_uri = qemu+tcp://user:pass@%s/system'),
        inboundAddress: '192.0.2.7',
      }),
    ).toMatchObject({
      destinationUri: 'qemu+tcp://user:pass@192.0.2.7/system',
      migrateUri: 'tcp://192.0.2.7',
    });
    expect(
      novaDestinationUris({ host: 'h', source: source('live_migration_uri = qemu+tcp://%s/system?x=100%%') })
        .destinationUri,
    ).toBe('qemu+tcp://h/system?x=100%');
  });

  it('sends no migrate_uri without the inbound address, nor on a tunnelled host', () => {
    const plain = novaDestinationUris({ host: 'compute-2', source: DEFAULT_HOST_CONFIG });
    expect(plain).not.toHaveProperty('migrateUri');
    expect(plain.reasons.join('\n')).toContain("libvirt streams to the destination's own host name");
    const tunnelled = novaDestinationUris({
      host: 'compute-2',
      source: source('live_migration_tunnelled = True'),
      inboundAddress: '192.0.2.7',
    });
    expect(tunnelled).toEqual({ destinationUri: 'qemu+tcp://192.0.2.7/system', reasons: expect.any(Array) });
  });

  it('keeps both URIs with native TLS, and says why', () => {
    const tls = novaDestinationUris({
      host: 'compute-2',
      source: source('live_migration_with_native_tls = True'),
      inboundAddress: '192.0.2.7',
    });
    expect(tls).toMatchObject({
      destinationUri: 'qemu+tcp://192.0.2.7/system',
      migrateUri: 'tcp://192.0.2.7',
    });
    expect(tls.reasons.at(-1)).toContain('QEMU encrypts the stream (VIR_MIGRATE_TLS)');
  });

  it('names each URI with the option it came from', () => {
    const { reasons } = novaDestinationUris({
      host: 'compute-2',
      source: source('live_migration_scheme = tls'),
      inboundAddress: '192.0.2.7',
    });
    expect(reasons).toEqual([
      "libvirtd URI qemu+tls://192.0.2.7/system: [libvirt] live_migration_scheme = tls, to the destination's [libvirt] live_migration_inbound_addr = 192.0.2.7",
      "stream tcp://192.0.2.7: the destination's [libvirt] live_migration_inbound_addr = 192.0.2.7",
    ]);
  });
});

describe('the options as nova.conf gives them', () => {
  it('reads live_migration_scheme, live_migration_uri and live_migration_inbound_addr', () => {
    expect(
      parseNovaConf(
        '[libvirt]\nlive_migration_scheme = tls\nlive_migration_uri = qemu+ssh://%s/system\nlive_migration_inbound_addr = 10.0.0.7\n',
      ),
    ).toMatchObject({
      migrationScheme: 'tls',
      migrationUri: 'qemu+ssh://%s/system',
      inboundAddress: '10.0.0.7',
    });
  });

  it.each([
    ['a live_migration_uri without %s', 'live_migration_uri = qemu+tcp://compute-2/system', '0 "%s"'],
    ['a live_migration_uri with two %s', 'live_migration_uri = qemu+tcp://%s/%s', '2 "%s"'],
    ['a live_migration_uri with %d', 'live_migration_uri = qemu+tcp://%d/system', '"%d"'],
    ['a scheme with a colon', 'live_migration_scheme = tcp://', 'libvirt transport'],
    [
      'an inbound address with a path',
      'live_migration_inbound_addr = 10.0.0.7/24',
      'IP address or a host name',
    ],
  ])('refuses %s, naming the option and the line', (_name, line, hint) => {
    const error = expectPolicyError(() => parseNovaConf(`[libvirt]\n${line}\n`), 'INVALID_HOST_CONFIG');
    expect(error.message).toContain('nova.conf line 2');
    expect(error.message).toContain(hint);
  });
});
