#!/usr/bin/env bash
# lab/build-guest.sh - build the lab guest: Debian's cloud kernel (downloaded
# with apt-get download, unpacked with dpkg -x, never installed) and an
# initramfs whose /init is lab/guest/init.c compiled static.
#
# Output (cached, rebuilt only when missing or when init.c changed):
#   $LMP_BUILD_DIR/vmlinuz, $LMP_BUILD_DIR/initrd.img, $LMP_BUILD_DIR/kernel-version
# LMP_BUILD_DIR defaults to lab/.build (gitignored). LMP_REFRESH_KERNEL=1 refetches the kernel.
set -euo pipefail
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD="${LMP_BUILD_DIR:-$LAB_DIR/.build}"
mkdir -p "$BUILD"

need_tools() {
  ensure_packages gcc libc6-dev cpio gzip
}

fetch_kernel() {
  if [[ -s "$BUILD/vmlinuz" && -s "$BUILD/kernel-version" && "${LMP_REFRESH_KERNEL:-0}" != 1 ]]; then
    return 0
  fi
  local ver dl
  ver="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
  if [[ -z "$ver" ]]; then
    apt_update_once
    ver="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
  fi
  [[ -n "$ver" ]] || die "cannot find the current cloud kernel (apt-cache depends linux-image-cloud-amd64 gave nothing)"
  log "fetching kernel package $ver"
  dl="$(mktemp -d /tmp/lmp-kernel.XXXXXX)"
  chown _apt "$dl" 2>/dev/null || chmod 777 "$dl" # apt downloads as its _apt sandbox user
  (cd "$dl" && apt-get download -q "$ver" >&2) || {
    rm -rf "$dl"
    die "apt-get download $ver failed"
  }
  dpkg -x "$dl"/"$ver"_*.deb "$dl/x" || {
    rm -rf "$dl"
    die "dpkg -x failed"
  }
  local img
  img="$(find "$dl/x/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n1)"
  [[ -n "$img" ]] || {
    rm -rf "$dl"
    die "no vmlinuz in $ver"
  }
  cp "$img" "$BUILD/vmlinuz.tmp" && mv "$BUILD/vmlinuz.tmp" "$BUILD/vmlinuz"
  basename "$img" | sed 's/^vmlinuz-//' >"$BUILD/kernel-version"
  rm -rf "$dl"
  log "kernel $(cat "$BUILD/kernel-version") -> $BUILD/vmlinuz"
}

build_initrd() {
  local src="$LAB_DIR/guest/init.c"
  if [[ -s "$BUILD/initrd.img" && "$BUILD/initrd.img" -nt "$src" ]]; then
    return 0
  fi
  log "building initramfs from $src"
  local root
  root="$(mktemp -d /tmp/lmp-initrd.XXXXXX)"
  mkdir -p "$root/dev" "$root/proc"
  gcc -static -O2 -s -Wall -Wextra -o "$root/init" "$src" || {
    rm -rf "$root"
    die "gcc -static failed (is libc6-dev installed?)"
  }
  (cd "$root" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) | gzip -9 >"$BUILD/initrd.img.tmp"
  mv "$BUILD/initrd.img.tmp" "$BUILD/initrd.img"
  rm -rf "$root"
}

need_tools
fetch_kernel
build_initrd
printf '%s\n%s\n' "$BUILD/vmlinuz" "$BUILD/initrd.img"
