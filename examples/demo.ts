/**
 * `npm run demo`: the decisions for the sample instances in this folder against the sample nova.conf and its
 * nova.conf.d/ drop-in, read the way nova-compute reads them. Flavors and images are in the shapes the
 * `openstack` client and the Nova and Glance APIs print. No hypervisor needed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type FlavorShape,
  hostTraits,
  type ImageShape,
  MigrationPolicyError,
  metadataFromFlavor,
  metadataFromImage,
  parseNovaConf,
  planMigration,
  readNovaConfSources,
  requiredTraits,
} from '../src/index.js';
import { migrationDataGb, monitorSettings } from '../src/policy/index.js';

interface SampleInstance {
  name: string;
  memoryMiB: number;
  paused?: boolean;
  flavor: FlavorShape;
  image: ImageShape;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const host = parseNovaConf(
  readNovaConfSources({ files: [here('./nova.conf')], dirs: [here('./nova.conf.d')] }).map((source) => ({
    ...source,
    name: source.name.slice(source.name.indexOf('examples/')),
  })),
);
const instances = JSON.parse(readFileSync(here('./instances.json'), 'utf8')) as SampleInstance[];
const versions = { libvirtVersion: '9.0.0', qemuVersion: '7.2.0' };

console.log('Host (examples/nova.conf + nova.conf.d/):', JSON.stringify(host));
console.log(
  'Host traits (libvirt 9.0.0, QEMU 7.2.0):',
  JSON.stringify(hostTraits({ ...versions, config: host })),
);

for (const sample of instances) {
  console.log(`\n■ ${sample.name}`);
  try {
    const instance = { ...metadataFromFlavor(sample.flavor), ...metadataFromImage(sample.image) };
    const plan = planMigration({ instance, host, paused: sample.paused ?? false, ...versions });
    const monitor = monitorSettings(plan, migrationDataGb({ memoryMiB: sample.memoryMiB }));
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
