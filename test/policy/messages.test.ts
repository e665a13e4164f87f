/**
 * Every error's exact code, key and message, one per kind: the wording is part of the contract (errors name
 * the key, the value and the fix), so a change to it must be deliberate.
 */
import { describe, expect, it } from 'vitest';
import {
  assertAbortAllowed,
  forceCompleteAction,
  hostTraits,
  type MigrationPolicyErrorCode,
  metadataFromFlavor,
  metadataFromImage,
  parseNovaConf,
  planMigration,
  resolveHostConfig,
  resolveInstancePolicy,
} from '../../src/index.js';
import {
  downtimeSteps,
  monitorSettings,
  monitorTick,
  parsePropertiesString,
} from '../../src/policy/index.js';
import { expectPolicyError } from './helpers.js';

const cases: [string, () => unknown, string, string, string][] = [
  [
    'bare key',
    () => parseNovaConf('[libvirt]\nlive_migration_permit_post_copy\n'),
    'INVALID_CONFIG_FILE',
    'nova.conf:2',
    'nova.conf line 2: No \':\' or \'=\' found in assignment: "live_migration_permit_post_copy"; write "live_migration_permit_post_copy = <value>", or comment the line out with #',
  ],
  [
    'empty key',
    () => parseNovaConf('[libvirt]\n= 1\n'),
    'INVALID_CONFIG_FILE',
    'nova.conf:2',
    'nova.conf line 2: Key cannot be empty: "= 1"; put the option name first',
  ],
  [
    'continuation',
    () => parseNovaConf('  x\n'),
    'INVALID_CONFIG_FILE',
    'nova.conf:1',
    'nova.conf line 1: Unexpected continuation line: "  x"; an indented line continues the value above it, and there is none (a blank line or a comment ends a value): remove the indentation or the blank line',
  ],
  [
    'section end',
    () => parseNovaConf('[libvirt\n'),
    'INVALID_CONFIG_FILE',
    'nova.conf:1',
    'nova.conf line 1: Invalid section (must end with ]): "[libvirt"; close the section header, with nothing after the ]',
  ],
  [
    'empty section',
    () => parseNovaConf('[]\n'),
    'INVALID_CONFIG_FILE',
    'nova.conf:1',
    'nova.conf line 1: Empty section name: "[]"; name the section',
  ],
  [
    'no section',
    () => parseNovaConf('a = 1\n'),
    'INVALID_CONFIG_FILE',
    'nova.conf:1',
    'nova.conf line 1: Section must be started before assignment: "a = 1"; put the option under its section, e.g. [libvirt]',
  ],
  [
    'bom',
    () => parseNovaConf('\ufeff[libvirt]\n'),
    'INVALID_CONFIG_FILE',
    'nova.conf:1',
    'nova.conf line 1: the file starts with a UTF-8 byte-order mark (U+FEFF), which oslo.config does not skip: it reads the mark as part of the first line and refuses the file: "﻿[libvirt]"; save the file as UTF-8 without a BOM',
  ],
  [
    'dollar',
    () => parseNovaConf('[libvirt]\nlive_migration_downtime = $x\n'),
    'INVALID_HOST_CONFIG',
    'live_migration_downtime',
    '[libvirt] live_migration_downtime (nova.conf line 2) is "$x": oslo.config would substitute another option\'s value for "$name"; this reader does not: write the value itself',
  ],
  [
    'bool',
    () => parseNovaConf('[libvirt]\nlive_migration_tunnelled = maybe\n'),
    'INVALID_HOST_CONFIG',
    'live_migration_tunnelled',
    '[libvirt] live_migration_tunnelled (nova.conf line 2) is "maybe": use True or False (also accepted: yes/no, on/off, 1/0)',
  ],
  [
    'int',
    () => parseNovaConf('[libvirt]\nlive_migration_downtime = 1.5\n'),
    'INVALID_HOST_CONFIG',
    'live_migration_downtime',
    '[libvirt] live_migration_downtime (nova.conf line 2) is "1.5": use a whole number (no unit, no comment: # and ; start comment lines only)',
  ],
  [
    'range',
    () => parseNovaConf('[libvirt]\nlive_migration_downtime = 5\n'),
    'INVALID_HOST_CONFIG',
    'live_migration_downtime',
    '[libvirt] live_migration_downtime (nova.conf line 2) is "5": use a whole number from 100 to 2147483647',
  ],
  [
    'choice',
    () => parseNovaConf('[libvirt]\nlive_migration_timeout_action = x\n'),
    'INVALID_HOST_CONFIG',
    'live_migration_timeout_action',
    '[libvirt] live_migration_timeout_action (nova.conf line 2) is "x": use one of: abort, force_complete',
  ],
  [
    'sources',
    () => parseNovaConf(42 as never),
    'INVALID_ARGUMENT',
    'sources',
    "nova.conf sources are 42: pass the file's text as a string, or an array of { name, text } in oslo order (--config-file files, then each --config-dir sorted)",
  ],
  [
    'tls',
    () =>
      parseNovaConf([
        { name: 'a', text: '[libvirt]\nlive_migration_tunnelled = True\n' },
        { name: 'b', text: '[libvirt]\nlive_migration_with_native_tls = True\n' },
      ]),
    'INVALID_HOST_CONFIG',
    'live_migration_tunnelled',
    '[libvirt] live_migration_tunnelled and [libvirt] live_migration_with_native_tls are both true, which Nova ' +
      "refuses: a tunnelled stream goes through libvirtd's own connection, so QEMU's native TLS has no stream of " +
      'its own to encrypt (libvirt 9.0 fails the pair with an internal error); native TLS replaces the tunnel; ' +
      'set live_migration_tunnelled = false (a line 2; b line 2)',
  ],
  [
    'getter',
    () =>
      planMigration({
        get host() {
          throw new TypeError('boom');
        },
      } as never),
    'INVALID_ARGUMENT',
    'input',
    "reading planMigration's input threw (TypeError: boom): pass plain data — no getters that throw, no revoked proxies",
  ],
  [
    'flavor shape',
    () => metadataFromFlavor({ id: 1 }),
    'INVALID_ARGUMENT',
    'flavor',
    "flavor is an object, not a shape this reads: pass `openstack server show -f json` (compute API ≥ 2.47: the instance's own copy of its flavor), `openstack flavor show -f json` (with `properties`), a Nova API flavor with `extra_specs` (microversion ≥ 2.61; older ones omit them: ask GET /flavors/{id}/os-extra_specs), its { flavor: {…} } body, or the os-extra_specs response { extra_specs: {…} }",
  ],
  [
    'image shape',
    () => metadataFromImage(null as never),
    'INVALID_ARGUMENT',
    'image',
    'image is null, not a shape this reads: pass `openstack image show -f json` (with `properties`) or a Glance v2 image (custom properties at the top level)',
  ],
  [
    'image both',
    () => metadataFromImage({ compute_live_migration_post_copy: 'x', properties: {} }),
    'INVALID_ARGUMENT',
    'image.compute_live_migration_post_copy',
    'image has "compute_live_migration_post_copy" at its top level and a "properties" object: in `openstack image show` output custom properties are inside "properties"; pass one shape or the other',
  ],
  [
    'props string',
    () => parsePropertiesString('a=1', 'p'),
    'INVALID_ARGUMENT',
    'p',
    'p is "a=1", which is not the "key=\'value\', key2=\'value2\'" form at character 1: pass the properties as a JSON object (`-f json` with a current client) or as that form',
  ],
  [
    'bag type',
    () => metadataFromFlavor({ extra_specs: 3 }),
    'INVALID_ARGUMENT',
    'flavor.extra_specs',
    'flavor.extra_specs is 3: expected an object of string values, or the "key=\'value\', …" string older clients print',
  ],
  [
    'unknown top',
    () => resolveInstancePolicy({ flavorExtraSpec: {} } as never),
    'INVALID_ARGUMENT',
    'flavorExtraSpec',
    'instance metadata has the unknown key "flavorExtraSpec": it takes only flavorExtraSpecs and imageProperties; did you mean "flavorExtraSpecs"?',
  ],
  [
    'top ours',
    () => resolveInstancePolicy({ 'compute:live_migration_post_copy': 'true' } as never),
    'INVALID_ARGUMENT',
    'compute:live_migration_post_copy',
    'instance metadata has the unknown key "compute:live_migration_post_copy": it takes only flavorExtraSpecs and imageProperties; a live-migration key belongs inside flavorExtraSpecs or imageProperties (e.g. { flavorExtraSpecs: { "compute:live_migration_post_copy": "true" } })',
  ],
  [
    'top flavor',
    () => resolveInstancePolicy({ ram: 1 } as never),
    'INVALID_ARGUMENT',
    'ram',
    'instance metadata has the unknown key "ram": it takes only flavorExtraSpecs and imageProperties; this looks like a flavor (`openstack flavor show -f json`, a Nova API flavor or the os-extra_specs response): pass metadataFromFlavor(flavor)',
  ],
  [
    'top image',
    () => resolveInstancePolicy({ disk_format: 1 } as never),
    'INVALID_ARGUMENT',
    'disk_format',
    'instance metadata has the unknown key "disk_format": it takes only flavorExtraSpecs and imageProperties; this looks like an image (`openstack image show -f json` or a Glance v2 image): pass metadataFromImage(image)',
  ],
  [
    'nested',
    () => resolveInstancePolicy({ flavorExtraSpecs: { extra_specs: {} } }),
    'INVALID_ARGUMENT',
    'flavorExtraSpecs.extra_specs',
    'flavorExtraSpecs has a "extra_specs" object: this looks like a whole flavor (or an API response) rather than its extra specs; pass metadataFromFlavor(flavor), which reads every shape OpenStack prints',
  ],
  [
    'misspelt',
    () => resolveInstancePolicy({ flavorExtraSpecs: { 'compute:live_migration_postcopy': 'true' } }),
    'INVALID_ARGUMENT',
    'compute:live_migration_postcopy',
    'flavor extra spec "compute:live_migration_postcopy" is not a live-migration key this library reads, so the host would decide instead: did you mean "compute:live_migration_post_copy"? Known flavor extra spec keys: "compute:live_migration_auto_converge", "compute:live_migration_post_copy"',
  ],
  [
    'other ns',
    () => resolveInstancePolicy({ flavorExtraSpecs: { compute_live_migration_post_copy: 'true' } }),
    'INVALID_ARGUMENT',
    'compute_live_migration_post_copy',
    'flavor extra spec "compute_live_migration_post_copy" is not a live-migration key this library reads, so the host would decide instead: did you mean "compute:live_migration_post_copy"? (that is the image property "compute_live_migration_post_copy"; the flavor extra spec is spelt differently) Known flavor extra spec keys: "compute:live_migration_auto_converge", "compute:live_migration_post_copy"',
  ],
  [
    'close other ns',
    () => resolveInstancePolicy({ flavorExtraSpecs: { compute_live_migration_postcopy: 'true' } }),
    'INVALID_ARGUMENT',
    'compute_live_migration_postcopy',
    'flavor extra spec "compute_live_migration_postcopy" is not a live-migration key this library reads, so the host would decide instead: did you mean "compute:live_migration_post_copy"? (it is close to the image property "compute_live_migration_post_copy"; the flavor extra spec is spelt differently) Known flavor extra spec keys: "compute:live_migration_auto_converge", "compute:live_migration_post_copy"',
  ],
  [
    'map',
    () => resolveInstancePolicy({ flavorExtraSpecs: new Map() as never }),
    'INVALID_ARGUMENT',
    'flavorExtraSpecs',
    'flavorExtraSpecs is an object (a Map): pass a plain object mapping keys to string values (e.g. Object.fromEntries(map)), or leave it out',
  ],
  [
    'meta type',
    () => resolveInstancePolicy(3 as never),
    'INVALID_ARGUMENT',
    'instance',
    'instance metadata is 3: pass a plain object { flavorExtraSpecs?, imageProperties? }',
  ],
  [
    'plan input',
    () => planMigration(3 as never),
    'INVALID_ARGUMENT',
    'input',
    "planMigration's input is 3: pass an object { instance?, host?, blockMigration?, … }, or nothing",
  ],
  [
    'plan key',
    () => planMigration({ pause: true } as never),
    'INVALID_ARGUMENT',
    'pause',
    'planMigration has no option "pause": did you mean "paused"? Options: instance, host, blockMigration, migrateDisks, paused, libvirtVersion, qemuVersion, guest',
  ],
  [
    'disks',
    () => planMigration({ migrateDisks: 'vda' as never }),
    'INVALID_ARGUMENT',
    'migrateDisks',
    'migrateDisks is "vda": use an array of disk target names, e.g. ["vda"] (a string would be read letter by letter), or leave it out',
  ],
  [
    'flag',
    () => planMigration({ paused: 'no' as never }),
    'INVALID_ARGUMENT',
    'paused',
    'paused is "no": use true or false (a real boolean, not a string), or leave it out',
  ],
  [
    'caps',
    () => hostTraits(null as never),
    'INVALID_ARGUMENT',
    'capabilities',
    'host capabilities are null: pass { libvirtVersion, qemuVersion, config?, userfaultfd? }',
  ],
  [
    'caps key',
    () => hostTraits({ libvirtVersion: 1, qemuVersion: 1, x: 1 } as never),
    'INVALID_ARGUMENT',
    'x',
    'host capabilities have the unknown key "x": use libvirtVersion, qemuVersion, config, userfaultfd',
  ],
  [
    'status',
    () => assertAbortAllowed('RUNNING' as never),
    'INVALID_ARGUMENT',
    'status',
    'migration status "RUNNING" is not one of Nova\'s: use one of "queued", "preparing", "running", "running (post-copy)", "recovering (post-copy)", "completed", "failed", "cancelled", "error" (lower case)',
  ],
  [
    'fc plan',
    () => forceCompleteAction({ postCopy: 1 } as never, 'running'),
    'INVALID_ARGUMENT',
    'postCopy',
    'plan.postCopy is 1: pass the MigrationPlan, or an object whose postCopy is a real boolean',
  ],
  [
    'elapsed',
    () => monitorTick(monitorSettings(planMigration(), 2), {}, { elapsedSeconds: -1, status: 'running' }),
    'INVALID_ARGUMENT',
    'elapsedSeconds',
    'elapsedSeconds is -1: use the seconds since the migration started, a finite number ≥ 0',
  ],
  [
    'steps',
    () => downtimeSteps(1, { downtimeSteps: 20000 }),
    'INVALID_ARGUMENT',
    'live_migration_downtime_steps',
    '[libvirt] live_migration_downtime_steps is 20000: too many steps to list (at most 10000); use downtimeSchedule() and downtimeAt(), which compute any step on demand',
  ],
  [
    'host type',
    () => resolveHostConfig(42 as never),
    'INVALID_HOST_CONFIG',
    'host',
    'host is 42: pass an object of HostConfig options, or leave it out',
  ],
  [
    'host map',
    () => resolveHostConfig(new Map() as never),
    'INVALID_HOST_CONFIG',
    'host',
    'host is an object: pass a plain object of HostConfig options, or leave it out',
  ],
];

describe('error messages, word for word', () => {
  it.each(cases)('%s', (_name, call, code, key, message) => {
    const error = expectPolicyError(call, code as MigrationPolicyErrorCode);
    expect({ code: error.code, key: error.key, message: error.message }).toEqual({ code, key, message });
  });
});
