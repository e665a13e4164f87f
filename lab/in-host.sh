#!/usr/bin/env bash
# lab/in-host.sh HOST COMMAND [ARG...] - runs COMMAND "on" lab host HOST (src or dst): in its network
# namespace, with its private /etc/hosts (the lab hosts by name, e.g. dst.lab), as an agent on that host
# would. The rest of the file system is this machine's. Root. Exec's the command: its pid is this script's.
#   LAB_NAME=lt bash lab/in-host.sh src virsh -c 'qemu+tls://dst.lab/system?pkipath=…/src/pki/agent' list
set -euo pipefail
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_require_root
lab_check_name
(($# >= 2)) || die "usage: bash lab/in-host.sh src|dst COMMAND [ARG...]"
h="$1"
shift
[[ "$h" == src || "$h" == dst ]] || die "no lab host '$h': use src or dst"
ns="$(lab_netns "$h")"
netns_exists "$ns" || die "lab '$LAB_NAME' has no network namespace $ns: is it up (lab/up.sh)?"
hosts="$(host_dir "$h")/hosts"
[[ -s "$hosts" ]] || die "$hosts is missing: start the lab again with lab/up.sh"
exec nsenter --net="/run/netns/$ns" -- unshare -m --propagation private -- \
  /bin/bash -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' lmp-in-host "$hosts" "$@"
