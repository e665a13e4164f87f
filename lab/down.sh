#!/usr/bin/env bash
# lab/down.sh - stop the lab started by lab/up.sh: destroy leftover guests,
# stop exactly the recorded daemons (and the QEMUs in their private mount
# namespaces), verify they are gone. Safe to run when nothing is up.
# Logs and the cached libvirt state stay in the state dir; LAB_PURGE=1 removes it.
set -euo pipefail
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lab_require_root
lab_check_name
if [[ ! -d "$LAB_STATE" ]]; then
  log "nothing to stop ($LAB_STATE does not exist)"
  exit 0
fi
exec 9>"$LAB_ROOT/$LAB_NAME.lock"
flock -w 600 9 || die "another lab:up/lab:down for '$LAB_NAME' holds $LAB_ROOT/$LAB_NAME.lock"

rm -f "$LAB_STATE/lab.json"
for h in "${LAB_HOSTS[@]}"; do stop_host "$h"; done
if [[ "${LAB_PURGE:-0}" == 1 ]]; then
  rm -rf "$LAB_STATE"
  log "down; purged $LAB_STATE"
else
  log "down; logs kept in $LAB_STATE/<host>/log/"
fi
