/**
 * `npm run demo`: the decisions for the sample instances in this folder against the sample nova.conf.
 * No hypervisor needed.
 */
import { readFileSync } from 'node:fs';
import {
  hostTraits,
  type InstanceMetadata,
  MigrationPolicyError,
  migrationDataGb,
  monitorSettings,
  parseNovaConf,
  planMigration,
  requiredTraits,
} from '../src/index.js';

interface SampleInstance extends InstanceMetadata {
  name: string;
  memoryMiB: number;
  paused?: boolean;
}

const here = (file: string) => new URL(file, import.meta.url);
const host = parseNovaConf(readFileSync(here('./nova.conf'), 'utf8'));
const instances = JSON.parse(readFileSync(here('./instances.json'), 'utf8')) as SampleInstance[];
const versions = { libvirtVersion: '9.0.0', qemuVersion: '7.2.0' };

console.log('Host (examples/nova.conf):', JSON.stringify(host));
console.log(
  'Host traits (libvirt 9.0.0, QEMU 7.2.0):',
  JSON.stringify(hostTraits({ ...versions, config: host })),
);

for (const instance of instances) {
  console.log(`\n■ ${instance.name}`);
  try {
    const plan = planMigration({ instance, host, paused: instance.paused ?? false, ...versions });
    const monitor = monitorSettings(plan, migrationDataGb({ memoryMiB: instance.memoryMiB }));
    console.log(`  required traits : ${requiredTraits(instance).join(', ') || '(none)'}`);
    console.log(`  flags           : ${plan.flags} = ${plan.flagNames.join(' | ')}`);
    for (const reason of plan.reasons) console.log(`  why             : ${reason}`);
    console.log(
      `  monitor         : timeout ${monitor.completionTimeoutSeconds ?? 'off'} s → ${monitor.timeoutAction}` +
        `${monitor.timeoutAction === 'force_complete' ? (plan.postCopy ? ' (switch to post-copy)' : ' (pause the guest)') : ''}`,
    );
  } catch (err) {
    if (!(err instanceof MigrationPolicyError)) throw err;
    console.log(`  refused         : ${err.code}: ${err.message}`);
  }
}
