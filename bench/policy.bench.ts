/**
 * `npm run bench`: throughput of the pure policy on realistic metadata. Target: under 1 µs per plan,
 * metadata parsing included, on one core.
 */
import { Bench } from 'tinybench';
import {
  type InstanceMetadata,
  parseNovaConf,
  planMigration,
  requiredTraits,
  resolveInstancePolicy,
} from '../src/index.js';

// A flavor and an image the way a production cloud carries them: the two keys we read among many others.
const flavorExtraSpecs = {
  'hw:cpu_policy': 'dedicated',
  'hw:cpu_thread_policy': 'prefer',
  'hw:mem_page_size': 'large',
  'hw:numa_nodes': '2',
  'hw:watchdog_action': 'reset',
  'quota:disk_read_iops_sec': '5000',
  'quota:disk_write_iops_sec': '5000',
  'aggregate_instance_extra_specs:ssd': 'true',
  'resources:CUSTOM_GPU': '0',
  'trait:HW_CPU_X86_AVX2': 'required',
  'compute:live_migration_post_copy': 'false',
};
const imageProperties = {
  architecture: 'x86_64',
  hw_disk_bus: 'virtio',
  hw_vif_model: 'virtio',
  hw_qemu_guest_agent: 'yes',
  hw_machine_type: 'q35',
  hw_firmware_type: 'uefi',
  os_distro: 'debian',
  os_version: '12',
  os_type: 'linux',
  img_hide_hypervisor_id: 'false',
  hw_rng_model: 'virtio',
  os_require_quiesce: 'yes',
  compute_live_migration_auto_converge: 'True',
};
const instance: InstanceMetadata = { flavorExtraSpecs, imageProperties };
const host = parseNovaConf(
  '[libvirt]\nlive_migration_permit_post_copy = True\nlive_migration_permit_auto_converge = True\n',
);

const bench = new Bench({ time: 1000, warmup: true });
let sink = 0;
bench
  .add('planMigration (metadata + host + versions)', () => {
    sink += planMigration({ instance, host, qemuVersion: 7_002_000, libvirtVersion: 9_000_000 }).flags;
  })
  .add('planMigration (no metadata)', () => {
    sink += planMigration({ host }).flags;
  })
  .add('requiredTraits', () => {
    sink += requiredTraits(instance).length;
  })
  .add('resolveInstancePolicy', () => {
    sink += resolveInstancePolicy(instance).autoConverge ? 1 : 0;
  });

await bench.run();

const rows = bench.tasks.map((task) => {
  const result = task.result as
    | { latency?: { mean: number; p99?: number }; throughput?: { mean: number } }
    | undefined;
  const meanMs = result?.latency?.mean ?? Number.NaN;
  return {
    task: task.name,
    'ns/op (mean)': Math.round(meanMs * 1e6),
    'ns/op (p99)': Math.round((result?.latency?.p99 ?? Number.NaN) * 1e6),
    'ops/s': Math.round(result?.throughput?.mean ?? 1000 / meanMs),
  };
});
console.table(rows);
const plan = rows[0]?.['ns/op (mean)'] ?? Number.NaN;
console.log(
  `planMigration with metadata: ${plan} ns/op — target < 1000 ns: ${plan < 1000 ? 'met' : 'MISSED'} (node ${process.version})`,
);
if (sink === -1) console.log('unreachable');
