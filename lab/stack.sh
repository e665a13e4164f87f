# shellcheck shell=bash
# lab/stack.sh - the lab's hypervisor stack (sourced by lab/up.sh, or run: `bash lab/stack.sh [status|install]`).
#
# LAB_STACK picks exactly one stack; every package of it comes from one named Debian release, so no mix that
# wasn't asked for ever runs:
#   lab        QEMU 10 (bookworm-backports) + libvirt 9.0 (bookworm): no TCG dirty-page bug, POSTCOPY_RESUME works
#   backports  QEMU 10 + libvirt 11.3 (both bookworm-backports): today's API, postcopy-preempt; resume crashes dst
#   distro     QEMU 7.2 + libvirt 9.0 (both bookworm): Debian 12 as shipped; QEMU 7.2 loses dirty pages under TCG
# See docs/lab.md "Hypervisor stacks".

LAB_STACK="${LAB_STACK:-lab}"
BACKPORTS=bookworm-backports
BACKPORTS_SOURCE=/etc/apt/sources.list.d/lmp-bookworm-backports.sources
LIBVIRT_PACKAGES=(libvirt0 libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients)
# qemu-system-x86 insists on these from its own build; naming them keeps apt from mixing releases on downgrade.
QEMU_PACKAGES=(qemu-system-x86 qemu-system-common qemu-system-data qemu-utils seabios)

stack_check_name() {
  case "$LAB_STACK" in
  lab | backports | distro) ;;
  *) die "LAB_STACK is '$LAB_STACK': use lab (QEMU 10 + libvirt 9.0, the default), backports (QEMU 10 + libvirt 11.3) or distro (QEMU 7.2 + libvirt 9.0)" ;;
  esac
}

# Release each half of the stack comes from.
stack_libvirt_release() { [[ "$LAB_STACK" == backports ]] && echo "$BACKPORTS" || echo bookworm; }
stack_qemu_release() { [[ "$LAB_STACK" == distro ]] && echo bookworm || echo "$BACKPORTS"; }
# The major versions each half must have.
stack_libvirt_major() { [[ "$LAB_STACK" == backports ]] && echo 11 || echo 9; }
stack_qemu_major() { [[ "$LAB_STACK" == distro ]] && echo 7 || echo 10; }

pkg_version() { dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | awk '$3 == "installed" { print $4 }'; }
# Upstream major of a Debian version: 1:10.0.2+ds-2~bpo12+1 -> 10, 9.0.0-4+deb12u2 -> 9.
upstream_major() { local v="${1#*:}"; echo "${v%%.*}"; }

# Prints the packages that are missing or of the wrong major version for the selected stack.
stack_mismatches() {
  local p v want
  for p in "${LIBVIRT_PACKAGES[@]}" "${QEMU_PACKAGES[@]}"; do
    [[ "$p" == seabios ]] && continue # no upstream major to compare; pulled along with qemu-system-x86
    v="$(pkg_version "$p")"
    if [[ " ${LIBVIRT_PACKAGES[*]} " == *" $p "* ]]; then want="$(stack_libvirt_major)"; else want="$(stack_qemu_major)"; fi
    [[ -n "$v" && "$(upstream_major "$v")" == "$want" ]] || printf '%s(%s, want %s.x)\n' "$p" "${v:-missing}" "$want"
  done
}

# What is installed, e.g. "libvirt 9.0.0-4+deb12u2, QEMU 1:10.0.2+ds-2+deb13u1~bpo12+1".
stack_describe() {
  printf 'libvirt %s, QEMU %s\n' "$(pkg_version libvirt-daemon)" "$(pkg_version qemu-system-x86)"
}

ensure_backports_source() {
  apt-cache policy 2>/dev/null | grep -q " $BACKPORTS/main" && return 0
  log "adding Debian's $BACKPORTS suite as an apt source ($BACKPORTS_SOURCE): the '$LAB_STACK' stack needs it"
  cat >"$BACKPORTS_SOURCE" <<EOF
# added by lab/stack.sh for LAB_STACK=$LAB_STACK
Types: deb
URIs: http://deb.debian.org/debian
Suites: $BACKPORTS
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  LMP_APT_UPDATED=0
}

# Any lab's daemons running on this machine (every LAB_NAME under LAB_ROOT), one "name/host" per line.
running_lab_hosts() {
  local f p
  for f in "$LAB_ROOT"/*/*/pids/libvirtd.pid; do
    [[ -f "$f" ]] || continue
    p="$(cat "$f" 2>/dev/null || true)"
    pid_alive "$p" && [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == libvirtd ]] &&
      printf '%s\n' "$(basename "$(dirname "$(dirname "$(dirname "$f")")")")/$(basename "$(dirname "$(dirname "$f")")")"
  done
  return 0
}

# Files a package should have but does not (dpkg -V's "missing" lines).
missing_files() { dpkg -V "$1" 2>/dev/null | awk '$1 == "missing" { print $NF }'; }

# Removing 11.x's libvirt-common deletes /usr/share/libvirt/cpu_map/, which 9.0's libvirt0 must provide again.
repair_stack_files() {
  local p broken=()
  for p in "${LIBVIRT_PACKAGES[@]}" "${QEMU_PACKAGES[@]}"; do
    [[ -n "$(pkg_version "$p")" && -n "$(missing_files "$p" | head -n 1)" ]] && broken+=("$p")
  done
  ((${#broken[@]})) || return 0
  log "reinstalling ${broken[*]}: files of theirs went missing in the switch ($(missing_files "${broken[0]}" | head -n 1) …)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --reinstall --allow-downgrades \
    "${broken[@]}" >&2 || die "reinstalling ${broken[*]} failed"
  for p in "${broken[@]}"; do
    [[ -z "$(missing_files "$p" | head -n 1)" ]] || die "$p still lacks files after reinstall: $(missing_files "$p" | head -n 3 | tr '\n' ' ')"
  done
}

# Installs exactly the selected stack (up- or downgrading), refusing while lab daemons run.
ensure_stack() {
  stack_check_name
  local wrong running lr qr p
  wrong="$(stack_mismatches)"
  if [[ -z "$wrong" ]]; then
    repair_stack_files
    return 0
  fi
  if [[ -n "$(pkg_version libvirt-daemon)" ]]; then
    running="$(running_lab_hosts)"
    [[ -z "$running" ]] ||
      die "switching to LAB_STACK=$LAB_STACK needs $(echo "$wrong" | tr '\n' ' ')but lab daemons are running ($(echo "$running" | tr '\n' ' ')): stop them first (LAB_NAME=<name> bash lab/down.sh)"
    log "switching the hypervisor stack to '$LAB_STACK' (now $(stack_describe)); wrong: $(echo "$wrong" | tr '\n' ' ')"
  fi
  lr="$(stack_libvirt_release)"
  qr="$(stack_qemu_release)"
  [[ "$lr" == "$BACKPORTS" || "$qr" == "$BACKPORTS" ]] && ensure_backports_source
  apt_update_once
  # Each half in one apt call with every package pinned to its release (pkg/release), so dependencies resolve
  # from that release too (-t) and a downgrade is explicit (--allow-downgrades), never a silent mix.
  local args=(-y -qq --no-install-recommends --allow-downgrades)
  local libvirt_specs=() qemu_specs=()
  for p in "${LIBVIRT_PACKAGES[@]}"; do libvirt_specs+=("$p/$lr"); done
  for p in "${QEMU_PACKAGES[@]}"; do qemu_specs+=("$p/$qr"); done
  log "installing libvirt from $lr: ${LIBVIRT_PACKAGES[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install "${args[@]}" -t "$lr" "${libvirt_specs[@]}" >&2 ||
    die "apt-get install of libvirt from $lr failed"
  log "installing QEMU from $qr: ${QEMU_PACKAGES[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install "${args[@]}" -t "$qr" "${qemu_specs[@]}" >&2 ||
    die "apt-get install of QEMU from $qr failed"
  repair_stack_files
  wrong="$(stack_mismatches)"
  [[ -z "$wrong" ]] || die "after installing, the stack is still not '$LAB_STACK': $(echo "$wrong" | tr '\n' ' ')"
  log "stack $LAB_STACK: $(stack_describe)"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  # shellcheck source=lab/lib.sh
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  case "${1:-status}" in
  status)
    stack_check_name
    printf 'LAB_STACK=%s; installed: %s\n' "$LAB_STACK" "$(stack_describe)"
    w="$(stack_mismatches)"
    [[ -z "$w" ]] || {
      printf 'not installed as asked: %s\n' "$(echo "$w" | tr '\n' ' ')"
      exit 1
    }
    ;;
  install)
    lab_require_root
    mkdir -p "$LAB_ROOT"
    ensure_stack
    printf 'LAB_STACK=%s; installed: %s\n' "$LAB_STACK" "$(stack_describe)"
    ;;
  *) die "usage: LAB_STACK=lab|backports|distro bash lab/stack.sh [status|install]" ;;
  esac
fi
