/**
 * The inputs of `npm run bench`: four instances as a production cloud carries them (each flavor with 12 extra
 * specs, each image with 15 properties, ours among them or not), and a real nova.conf. bench/nova_peer.py
 * holds the same dicts.
 */
import type { InstanceMetadata } from '../src/index.js';

const flavorCommon = {
  'hw:cpu_policy': 'dedicated',
  'hw:cpu_thread_policy': 'prefer',
  'hw:mem_page_size': 'large',
  'hw:numa_nodes': '2',
  'hw:watchdog_action': 'reset',
  'hw:mem_encryption': 'false',
  'quota:disk_read_iops_sec': '5000',
  'quota:disk_write_iops_sec': '5000',
  'aggregate_instance_extra_specs:ssd': 'true',
  'resources:CUSTOM_GPU': '0',
  'trait:HW_CPU_X86_AVX2': 'required',
};
/** The twelfth extra spec of a flavor with no opinion. */
const flavorOther = { 'hw:boot_menu': 'false' };
const imageCommon = {
  architecture: 'x86_64',
  hw_disk_bus: 'virtio',
  hw_scsi_model: 'virtio-scsi',
  hw_vif_model: 'virtio',
  hw_pointer_model: 'usbtablet',
  hw_qemu_guest_agent: 'yes',
  hw_machine_type: 'q35',
  hw_firmware_type: 'uefi',
  os_distro: 'debian',
  os_version: '12',
  os_type: 'linux',
  img_hide_hypervisor_id: 'false',
  hw_rng_model: 'virtio',
  os_require_quiesce: 'yes',
};
/** The fifteenth property of an image with no opinion. */
const imageOther = { hw_video_model: 'virtio' };

/** A database that refuses post-copy, an HPC guest that refuses throttling, a batch image asking for auto-converge, a web server with no opinion. */
export const BENCH_INSTANCES: InstanceMetadata[] = [
  {
    flavorExtraSpecs: { ...flavorCommon, 'compute:live_migration_post_copy': 'false' },
    imageProperties: { ...imageCommon, ...imageOther },
  },
  {
    flavorExtraSpecs: { ...flavorCommon, 'compute:live_migration_auto_converge': 'False' },
    imageProperties: { ...imageCommon, ...imageOther },
  },
  {
    flavorExtraSpecs: { ...flavorCommon, ...flavorOther },
    imageProperties: { ...imageCommon, compute_live_migration_auto_converge: 'True' },
  },
  {
    flavorExtraSpecs: { ...flavorCommon, ...flavorOther },
    imageProperties: { ...imageCommon, ...imageOther },
  },
];

/** A compute node's nova.conf of about 60 lines, [libvirt] among other sections. */
export const BENCH_NOVA_CONF = `[DEFAULT]
debug = False
compute_driver = libvirt.LibvirtDriver
my_ip = 192.0.2.10
host = compute-1
state_path = /var/lib/nova
instances_path = /var/lib/nova/instances
transport_url = rabbit://openstack:secret@192.0.2.2:5672/
# cpu_allocation_ratio = 16.0
reserved_host_memory_mb = 4096

[api]
auth_strategy = keystone

[glance]
api_servers = http://192.0.2.2:9292

[keystone_authtoken]
www_authenticate_uri = http://192.0.2.2:5000/
auth_url = http://192.0.2.2:5000/
memcached_servers = 192.0.2.2:11211
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = secret

[libvirt]
virt_type = kvm
cpu_mode = host-model
images_type = rbd
images_rbd_pool = vms
images_rbd_ceph_conf = /etc/ceph/ceph.conf
rbd_user = cinder
rbd_secret_uuid = 457eb676-33da-42ec-9a8c-9293d545c337
live_migration_inbound_addr = 192.0.2.10
live_migration_permit_post_copy = True
live_migration_permit_auto_converge = True
live_migration_bandwidth = 0
live_migration_downtime = 500
live_migration_downtime_steps = 10
live_migration_downtime_delay = 75
live_migration_completion_timeout = 800
live_migration_timeout_action = force_complete
live_migration_with_native_tls = False

[neutron]
auth_url = http://192.0.2.2:5000
auth_type = password
region_name = RegionOne

[placement]
region_name = RegionOne
auth_type = password
auth_url = http://192.0.2.2:5000/v3

[vnc]
enabled = true
server_listen = 0.0.0.0
`;
