"""A Nova-style Python peer of planMigration, for `npm run bench`.

The same four instances (bench/fixtures.ts) against the same host ({permit_post_copy: True,
permit_auto_converge: True}), decided the way Nova's libvirt driver would if it had the spec's per-instance
keys: oslo's strict bool_from_string on the flavor extra specs and image properties, the flavor/image and
both-true checks, then _parse_migration_flags with the instance overriding the permit_* options. It reads two
keys per dict and looks at no other key (no misspellings, no nested shapes).

As bench/policy.bench.ts does, it decides on dicts made for each call and times making them on its own, and
on the same dicts again. Prints CPU time per decision as JSON.
"""

import json
import sys
import time

TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")
FALSE_STRINGS = ("0", "f", "false", "off", "n", "no")

LIVE, PEER2PEER, PERSIST_DEST, UNDEFINE_SOURCE = 1, 2, 8, 16
NON_SHARED_INC, TUNNELLED, TLS, POSTCOPY, AUTO_CONVERGE, PARALLEL = 128, 4, 65536, 32768, 8192, 131072


def bool_from_string(subject):
    # oslo_utils.strutils.bool_from_string(subject, strict=True)
    if isinstance(subject, bool):
        return subject
    lowered = str(subject).strip().lower()
    if lowered in TRUE_STRINGS:
        return True
    if lowered in FALSE_STRINGS:
        return False
    raise ValueError("Unrecognized value %r" % subject)


KEYS = {
    "auto_converge": ("compute:live_migration_auto_converge", "compute_live_migration_auto_converge"),
    "post_copy": ("compute:live_migration_post_copy", "compute_live_migration_post_copy"),
}


def instance_request(extra_specs, image_props):
    request = {}
    for feature, (flavor_key, image_key) in KEYS.items():
        from_flavor = extra_specs.get(flavor_key)
        from_image = image_props.get(image_key)
        f = None if from_flavor is None else bool_from_string(from_flavor)
        i = None if from_image is None else bool_from_string(from_image)
        if f is not None and i is not None and f != i:
            raise ValueError("flavor/image conflict on %s" % feature)
        request[feature] = f if f is not None else i
    if request["auto_converge"] and request["post_copy"]:
        raise ValueError("both auto-converge and post-copy")
    return request


def migration_flags(conf, request, block_migration=False, paused=False):
    flags = LIVE | PEER2PEER | PERSIST_DEST | UNDEFINE_SOURCE
    if block_migration:
        flags |= NON_SHARED_INC
    if conf["live_migration_tunnelled"]:
        flags |= TUNNELLED
    if conf["live_migration_with_native_tls"]:
        flags |= TLS
    pc, ac = request["post_copy"], request["auto_converge"]
    if pc is True:
        flags |= POSTCOPY
    elif ac is True:
        flags |= AUTO_CONVERGE
    else:
        if pc is not False and conf["live_migration_permit_post_copy"]:
            flags |= POSTCOPY
        if ac is not False and conf["live_migration_permit_auto_converge"] and not flags & POSTCOPY:
            flags |= AUTO_CONVERGE
    if conf["live_migration_parallel_connections"] > 1:
        flags |= PARALLEL
    if paused:
        flags &= ~POSTCOPY
    return flags


FLAVOR = {
    "hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "prefer", "hw:mem_page_size": "large",
    "hw:numa_nodes": "2", "hw:watchdog_action": "reset", "hw:mem_encryption": "false",
    "quota:disk_read_iops_sec": "5000", "quota:disk_write_iops_sec": "5000",
    "aggregate_instance_extra_specs:ssd": "true", "resources:CUSTOM_GPU": "0",
    "trait:HW_CPU_X86_AVX2": "required",
}
FLAVOR_OTHER = {"hw:boot_menu": "false"}
IMAGE = {
    "architecture": "x86_64", "hw_disk_bus": "virtio", "hw_scsi_model": "virtio-scsi", "hw_vif_model": "virtio",
    "hw_pointer_model": "usbtablet", "hw_qemu_guest_agent": "yes", "hw_machine_type": "q35",
    "hw_firmware_type": "uefi", "os_distro": "debian", "os_version": "12", "os_type": "linux",
    "img_hide_hypervisor_id": "false", "hw_rng_model": "virtio", "os_require_quiesce": "yes",
}
IMAGE_OTHER = {"hw_video_model": "virtio"}
INSTANCES = [
    (dict(FLAVOR, **{"compute:live_migration_post_copy": "false"}), dict(IMAGE, **IMAGE_OTHER)),
    (dict(FLAVOR, **{"compute:live_migration_auto_converge": "False"}), dict(IMAGE, **IMAGE_OTHER)),
    (dict(FLAVOR, **FLAVOR_OTHER), dict(IMAGE, compute_live_migration_auto_converge="True")),
    (dict(FLAVOR, **FLAVOR_OTHER), dict(IMAGE, **IMAGE_OTHER)),
]
CONF = {
    "live_migration_permit_post_copy": True, "live_migration_permit_auto_converge": True,
    "live_migration_tunnelled": False, "live_migration_with_native_tls": False,
    "live_migration_parallel_connections": 1,
}


def decide_fresh():
    sink = 0
    for specs, props in INSTANCES:
        sink += migration_flags(CONF, instance_request(dict(specs), dict(props)))
    return sink


def making_alone():
    for specs, props in INSTANCES:
        dict(specs)
        dict(props)


def decide_same():
    sink = 0
    for specs, props in INSTANCES:
        sink += migration_flags(CONF, instance_request(specs, props))
    return sink


def cpu_ns_per_decision(fn, rounds, windows=20):
    """CPU time per decision, the least of `windows` windows of `rounds` calls (as bench/policy-table.ts)."""
    for _ in range(rounds):  # warm-up
        fn()
    best = float("inf")
    for _ in range(windows):
        start = time.process_time_ns()
        for _ in range(rounds):
            fn()
        best = min(best, (time.process_time_ns() - start) / (rounds * len(INSTANCES)))
    return best


def main():
    rounds = 5_000
    print(json.dumps({
        "freshCpuNs": cpu_ns_per_decision(decide_fresh, rounds),
        "makingCpuNs": cpu_ns_per_decision(making_alone, rounds),
        "sameCpuNs": cpu_ns_per_decision(decide_same, rounds),
        "python": sys.version.split()[0],
    }))


if __name__ == "__main__":
    main()
