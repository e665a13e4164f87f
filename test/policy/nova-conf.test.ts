import { describe, expect, it } from 'vitest';
import { DEFAULT_HOST_CONFIG, parseNovaConf } from '../../src/index.js';
import { expectPolicyError } from './helpers.js';

const REAL_NOVA_CONF = `
[DEFAULT]
debug = True
# live_migration_permit_post_copy = True   (wrong section, must be ignored)
live_migration_permit_post_copy = True

[libvirt]
virt_type = kvm
# Operators set these per host:
live_migration_permit_post_copy = True
live_migration_permit_auto_converge = yes
live_migration_tunnelled = False
live_migration_with_native_tls = 0
live_migration_bandwidth = 1000
live_migration_downtime = 300
live_migration_downtime_steps = 5
live_migration_downtime_delay = 10
live_migration_completion_timeout = 0
live_migration_timeout_action = force_complete
live_migration_parallel_connections = 4
live_migration_inbound_addr = 192.0.2.10
; a semicolon comment

[workarounds]
live_migration_permit_auto_converge = False
`;

describe('parseNovaConf', () => {
  it('reads every live-migration option of [libvirt] and nothing else', () => {
    expect(parseNovaConf(REAL_NOVA_CONF)).toEqual({
      permitPostCopy: true,
      permitAutoConverge: true,
      tunnelled: false,
      nativeTls: false,
      bandwidth: 1000,
      downtime: 300,
      downtimeSteps: 5,
      downtimeDelay: 10,
      completionTimeout: 0,
      timeoutAction: 'force_complete',
      parallelConnections: 4,
      migrationScheme: '',
      migrationUri: '',
      inboundAddress: '192.0.2.10',
    });
  });

  it("gives Nova's defaults for an empty file or a file without [libvirt]", () => {
    expect(parseNovaConf('')).toEqual(DEFAULT_HOST_CONFIG);
    expect(parseNovaConf('[DEFAULT]\ndebug = true\n')).toEqual(DEFAULT_HOST_CONFIG);
  });

  it('lets the last of a repeated option win, as oslo.config does', () => {
    const conf = parseNovaConf('[libvirt]\nlive_migration_downtime = 200\nlive_migration_downtime = 400\n');
    expect(conf.downtime).toBe(400);
  });

  it.each([
    ['True', true],
    ['true', true],
    ['on', true],
    ['1', true],
    ['YES', true],
    ['False', false],
    ['off', false],
    ['0', false],
    ['no', false],
  ])('reads the oslo.config boolean %j', (word, value) => {
    expect(parseNovaConf(`[libvirt]\nlive_migration_permit_post_copy = ${word}\n`).permitPostCopy).toBe(
      value,
    );
  });

  it.each([
    ['live_migration_permit_post_copy', 'maybe', 'True or False'],
    ['live_migration_permit_auto_converge', 't', 'True or False'],
    ['live_migration_downtime', 'fast', 'whole number'],
    ['live_migration_downtime', '99', 'from 100'],
    ['live_migration_downtime_steps', '2', 'from 3'],
    ['live_migration_downtime_delay', '1', 'from 3'],
    ['live_migration_completion_timeout', '-1', 'from 0'],
    ['live_migration_bandwidth', '1.5', 'whole number'],
    ['live_migration_bandwidth', '', 'whole number'],
    ['live_migration_parallel_connections', '0', 'from 1'],
    ['live_migration_parallel_connections', '256', 'to 255'],
    ['live_migration_timeout_action', 'explode', 'abort, force_complete'],
  ])('refuses %s = %j with INVALID_HOST_CONFIG', (option, value, fix) => {
    const error = expectPolicyError(
      () => parseNovaConf(`[libvirt]\n${option} = ${value}\n`),
      'INVALID_HOST_CONFIG',
    );
    expect(error.key).toBe(option);
    expect(error.message).toContain(`[libvirt] ${option}`);
    expect(error.message).toContain(fix);
  });

  it('refuses tunnelled together with native TLS', () => {
    const error = expectPolicyError(
      () =>
        parseNovaConf('[libvirt]\nlive_migration_tunnelled = True\nlive_migration_with_native_tls = True\n'),
      'INVALID_HOST_CONFIG',
    );
    expect(error.message).toContain('live_migration_tunnelled');
    expect(error.message).toContain('live_migration_with_native_tls');
  });

  it('ignores a key with brackets: oslo has no arrays, live_migration_downtime[] is another name', () => {
    expect(parseNovaConf('[libvirt]\nlive_migration_downtime[] = 1\n').downtime).toBe(500);
  });

  it('refuses text that is not a string', () => {
    expectPolicyError(() => parseNovaConf(undefined as unknown as string), 'INVALID_ARGUMENT');
  });

  it('never pollutes prototypes from hostile sections', () => {
    parseNovaConf('[__proto__]\npolluted = yes\n[libvirt]\n__proto__ = x\nconstructor = y\n');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
