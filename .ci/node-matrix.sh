#!/usr/bin/env bash
# The unit suite (vitest project "unit") on other Node.js majors than the machine's own, each fetched with
# `npx -y node@<major>` (the `node` package on npm: the official binary for this platform). The machine's
# own Node (20 on CI) runs the whole suite through `npm test`.
#
# For each version: the binary is fetched and is the major asked for, koffi's prebuilt native part loads
# (N-API: one binary for every Node >= 16, but a platform without a prebuild would fail here, with koffi's
# own message), then the unit suite runs. A version that cannot run fails, with the reason; none is skipped.
#
# Env: NODE_MATRIX="22 24" (the majors to run; default 22 and 24).
set -uo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1 FORCE_COLOR=0

versions=(${NODE_MATRIX:-22 24})
logdir=$(mktemp -d "${TMPDIR:-/tmp}/node-matrix.XXXXXX")
trap 'rm -rf "$logdir"' EXIT
declare -A result
failed=0

if [[ ! -f node_modules/vitest/vitest.mjs ]]; then
  echo "FAIL node-matrix: node_modules/vitest is missing; run npm ci first"
  exit 1
fi
echo "node-matrix: the machine's node is $(node --version) (npm test runs the whole suite there); here: ${versions[*]}"

for v in "${versions[@]}"; do
  start=$SECONDS
  log="$logdir/node-$v.log"
  # 1. The binary.
  if ! actual=$(npx -y "node@$v" --version 2>"$log"); then
    result[$v]="FAIL: could not get Node $v through npx -y node@$v: $(tail -n 3 "$log" | tr '\n' ' ')"
    failed=1
    echo "FAIL node $v: ${result[$v]#FAIL: }"
    continue
  fi
  if [[ "$actual" != "v$v."* ]]; then
    result[$v]="FAIL: npx -y node@$v runs $actual"
    failed=1
    echo "FAIL node $v: npx -y node@$v runs $actual"
    continue
  fi
  # 2. koffi's native part, which the binding's unit tests load.
  if ! npx -y "node@$v" -e "require('koffi')" >"$log" 2>&1; then
    result[$v]="FAIL ($actual): koffi does not load: $(grep -m1 -i 'error' "$log")"
    failed=1
    echo "FAIL node $actual: koffi does not load:"
    sed 's/^/    /' "$log"
    continue
  fi
  # 3. The unit suite.
  echo "---- node $actual: vitest run --project unit"
  npx -y "node@$v" node_modules/vitest/vitest.mjs run --project unit >"$log" 2>&1
  rc=$?
  tests=$(grep -E '^ +Tests ' "$log" | tail -n 1 | sed -E 's/^ +Tests +//')
  files=$(grep -E '^ +Test Files ' "$log" | tail -n 1 | sed -E 's/^ +Test Files +//')
  elapsed=$((SECONDS - start))
  if [[ $rc -eq 0 ]]; then
    result[$v]="PASS ($actual): ${tests:-?} in ${files:-?} files, ${elapsed}s"
    echo "PASS node $actual: ${tests:-?}, ${elapsed}s"
  else
    result[$v]="FAIL ($actual): vitest exited $rc; ${tests:-no test summary}, ${elapsed}s"
    failed=1
    echo "FAIL node $actual: vitest exited $rc"
    # The failing tests and the end of the run, not the whole log.
    grep -E '(FAIL|✗|×|Error)' "$log" | head -n 40 | sed 's/^/    /'
    tail -n 15 "$log" | sed 's/^/    /'
  fi
done

echo "node-matrix results:"
for v in "${versions[@]}"; do echo "  node $v: ${result[$v]}"; done
exit $failed
