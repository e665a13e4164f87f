# shellcheck shell=bash disable=SC2034
# lab/lib.sh - shared by lab/up.sh, lab/down.sh and lab/build-guest.sh (sourced, not run).

LAB_NAME="${LAB_NAME:-lmp}"
LAB_ROOT="${LAB_ROOT:-/var/tmp/lmp-lab}"
LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB_STATE="${LAB_ROOT}/${LAB_NAME}"
LAB_HOSTS=(src dst)
# Path of the console files as each host's QEMU sees them (inside its private /var/lib/libvirt).
LAB_GUEST_CONSOLE_DIR=/var/lib/libvirt/lmp-console

# Each host has its own network namespace, joined to the other's by one veth pair named LAB_LINK on both
# ends: the migration stream crosses it, so a test can cut or shape it. Link-local addresses: they never leave
# the pair. Unix sockets (libvirt's RPC) are paths, so they reach across namespaces as before.
LAB_LINK=lab0
declare -A LAB_ADDR=([src]=169.254.77.1 [dst]=169.254.77.2)
lab_netns() { printf 'lmp-%s-%s' "$LAB_NAME" "$1"; }
netns_exists() { [[ -e "/run/netns/$1" ]]; }

log() { printf '[lab %s] %s\n' "$LAB_NAME" "$*" >&2; }
die() {
  printf '[lab %s] ERROR: %s\n' "$LAB_NAME" "$*" >&2
  exit 1
}

lab_check_name() {
  [[ "$LAB_NAME" =~ ^[A-Za-z0-9_-]{1,24}$ ]] || die "LAB_NAME must match [A-Za-z0-9_-]{1,24} (got '$LAB_NAME')"
  # unix socket paths are limited to 108 bytes: <root>/<name>/<host>/sock/libvirt-admin-sock
  local probe="${LAB_STATE}/src/sock/libvirt-admin-sock"
  ((${#probe} < 100)) || die "state dir '$LAB_STATE' is too long for unix sockets; set a shorter LAB_ROOT"
}

lab_require_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (it starts libvirtd/virtlogd in private mount namespaces)"
}

host_dir() { printf '%s/%s' "$LAB_STATE" "$1"; }
host_uri() { printf 'qemu+unix:///system?socket=%s/sock/libvirt-sock' "$(host_dir "$1")"; }

# apt-get update at most once per run (also across up.sh -> build-guest.sh).
apt_update_once() {
  if [[ "${LMP_APT_UPDATED:-0}" != 1 ]]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
    export LMP_APT_UPDATED=1
  fi
}

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

ensure_packages() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  apt_update_once
  log "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    die "apt-get install ${missing[*]} failed"
}

# Mount namespace id of a pid ("mnt:[4026...]"), empty when gone.
pid_ns() { readlink "/proc/$1/ns/mnt" 2>/dev/null || true; }
pid_alive() { [[ -n "$1" && -d "/proc/$1" ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# All pids living in mount namespace $1 (never the namespace we run in).
pids_in_ns() {
  local ns="$1" p
  [[ -n "$ns" && "$ns" != "$(pid_ns $$)" && "$ns" != "$(pid_ns 1)" ]] || return 0
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    [[ "$(pid_ns "$p")" == "$ns" ]] && printf '%s\n' "$p"
  done
  return 0
}

# Stop one host: destroy its guests, then stop exactly the recorded daemons and whatever else lives in the
# host's private mount namespace or its network namespace (its QEMUs, each in a mount namespace of its own).
stop_host() {
  local h="$1" d uri ns pids=() p name i
  d="$(host_dir "$h")"
  [[ -d "$d" ]] || return 0
  uri="$(host_uri "$h")"
  ns="$(cat "$d/pids/mntns" 2>/dev/null || true)"
  if [[ -S "$d/sock/libvirt-sock" ]] && timeout 10 virsh -q -c "$uri" version >/dev/null 2>&1; then
    while read -r name; do
      [[ -n "$name" ]] || continue
      log "$h: destroying leftover guest $name"
      timeout 30 virsh -q -c "$uri" destroy "$name" >/dev/null 2>&1 || true
    done < <(timeout 10 virsh -q -c "$uri" list --name 2>/dev/null || true)
  fi
  # recorded daemon pids, only if they still are our daemons (same namespace)
  for f in libvirtd virtlogd; do
    p="$(cat "$d/pids/$f.pid" 2>/dev/null || true)"
    if [[ -n "$p" ]] && pid_alive "$p" && [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == "$f" ]] &&
      { [[ -z "$ns" ]] || [[ "$(pid_ns "$p")" == "$ns" ]]; }; then
      pids+=("$p")
    fi
  done
  while read -r p; do [[ -n "$p" ]] && pids+=("$p"); done < <(pids_in_ns "$ns")
  # libvirt gives each QEMU a mount namespace of its own, so the host's mount namespace does not hold its
  # guests; its network namespace does. This finds the QEMUs a dead libvirtd left behind.
  if netns_exists "$(lab_netns "$h")"; then
    while read -r p; do [[ -n "$p" ]] && pids+=("$p"); done < <(ip netns pids "$(lab_netns "$h")" 2>/dev/null)
  fi
  if ((${#pids[@]})); then
    mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -u)
    log "$h: stopping pids ${pids[*]}"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      local alive=()
      for p in "${pids[@]}"; do pid_alive "$p" && alive+=("$p"); done
      ((${#alive[@]} == 0)) && break
      ((i == 60)) && { log "$h: SIGKILL ${alive[*]}"; kill -KILL "${alive[@]}" 2>/dev/null || true; }
      sleep 0.1
    done
    for p in "${pids[@]}"; do pid_alive "$p" && die "$h: pid $p did not exit"; done
  fi
  # the namespaces must be empty now
  if [[ -n "$(pids_in_ns "$ns")" ]]; then die "$h: processes left in its namespace: $(pids_in_ns "$ns" | tr '\n' ' ')"; fi
  if netns_exists "$(lab_netns "$h")" && [[ -n "$(ip netns pids "$(lab_netns "$h")" 2>/dev/null)" ]]; then
    die "$h: processes left in its network namespace: $(ip netns pids "$(lab_netns "$h")" | tr '\n' ' ')"
  fi
  rm -f "$d/pids/"*.pid "$d/pids/mntns" "$d/sock/"libvirt-* 2>/dev/null || true
  # Deleting a namespace deletes its end of the veth pair, and with it the other end.
  if netns_exists "$(lab_netns "$h")"; then ip netns del "$(lab_netns "$h")" || die "$h: ip netns del $(lab_netns "$h") failed"; fi
}
