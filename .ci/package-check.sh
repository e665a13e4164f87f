#!/usr/bin/env bash
# The package as a consumer gets it: builds, packs the tarball, installs it in an empty scratch project with
# the current TypeScript, and checks
#   - what the tarball holds (exports and bin targets, source maps that resolve, sideEffects, no stray files);
#   - the shipped declarations compile for a consumer (`tsc --strict --module nodenext --noEmit`), ESM and CJS;
#   - `import` and `require()` of the root, `/policy` and `/libvirt` work, and the pure policy answers correctly;
#   - the root keeps to what a compute agent uses (no internals), `/policy` has the error classes;
#   - the package links home (repository, homepage, bugs), ships docs/, and pulls in no @types/node;
#   - `/policy` (and the root, until its first `open()`) never loads koffi, and importing the root has no side
#     effects (no globals, no process listeners, no handles), as `sideEffects` claims.
# One PASS/FAIL line per check; exits non-zero when any fails.
#
# Env: PACKAGE_CHECK_TS=<npm spec of typescript> (default: typescript@latest);
#      PACKAGE_CHECK_NODES="20.19.0 22.12.0 24": the other Node versions the runtime checks also run on;
#      PACKAGE_CHECK_KEEP=1 keeps the scratch directory; PACKAGE_CHECK_NO_BUILD=1 packs the dist/ already there;
#      PACKAGE_CHECK_VERBOSE=1 shows the output of passing checks too.
set -uo pipefail
cd "$(dirname "$0")/.."
ts_spec="${PACKAGE_CHECK_TS:-typescript@latest}"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/package-check.XXXXXX")
if [[ "${PACKAGE_CHECK_KEEP:-}" == 1 ]]; then
  echo "scratch directory kept: $scratch"
else
  trap 'rm -rf "$scratch"' EXIT
fi

failures=0
passes=0
# check NAME COMMAND... : runs COMMAND, prints PASS or FAIL with the command's output indented.
check() {
  local name=$1 out rc
  shift
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -eq 0 ]]; then
    echo "PASS $name"
    passes=$((passes + 1))
  else
    echo "FAIL $name (exit $rc)"
    failures=$((failures + 1))
  fi
  if [[ -n "$out" && ($rc -ne 0 || -n "${PACKAGE_CHECK_VERBOSE:-}") ]]; then sed 's/^/    /' <<<"$out"; fi
  return $rc
}
finish() {
  echo "package-check: $passes passed, $failures failed"
  [[ $failures -eq 0 ]]
  exit $?
}

echo "package-check: node $(node --version), npm $(npm --version), scratch $scratch"

# --- build and pack --------------------------------------------------------------------------------------
if [[ "${PACKAGE_CHECK_NO_BUILD:-}" != 1 ]]; then
  check "npm run build" npm run build --silent || finish
fi
pack_json="$scratch/pack.json"
check "npm pack" bash -c "npm pack --json --pack-destination '$scratch' >'$pack_json'" || finish
tarball="$scratch/$(node -p "require('$pack_json')[0].filename")"
echo "     tarball: $(basename "$tarball"), $(du -k "$tarball" | cut -f1) kB"
mkdir -p "$scratch/unpacked"
tar -xzf "$tarball" -C "$scratch/unpacked"
pkgdir="$scratch/unpacked/package"

# --- the tarball's contents ------------------------------------------------------------------------------
cat >"$scratch/contents.cjs" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(process.argv[2]);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const files = [];
const walk = (d) => {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else files.push(path.relative(root, p).split(path.sep).join('/'));
  }
};
walk(root);
const problems = [];
const has = (f) => fs.existsSync(path.join(root, f));
for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']) if (!has(f)) problems.push(`missing ${f}`);
// The guides the README and --help point to, and the charts they show.
for (const f of ['docs/cli.md', 'docs/live-migration.md', 'docs/lab.md', 'docs/reliability.md', 'docs/threading.md', 'docs/performance.md']) {
  if (!has(f)) problems.push(`missing ${f} (the README links to it)`);
}
for (const m of fs.readFileSync(path.join(root, 'README.md'), 'utf8').matchAll(/\]\((docs\/[^)#]+)/g)) {
  if (!has(m[1])) problems.push(`README.md links to ${m[1]}, not in the tarball`);
}
// Where the package comes from and where to report a bug.
const home = 'https://github.com/libvirt-migration-policy/libvirt-migration-policy';
if (!String(pkg.repository?.url ?? '').includes('github.com/libvirt-migration-policy/libvirt-migration-policy')) problems.push('no "repository" url');
if (!String(pkg.homepage ?? '').startsWith(home)) problems.push('no "homepage"');
if (pkg.bugs?.url !== `${home}/issues`) problems.push('no "bugs" url');
if (pkg.dependencies?.['@types/node']) problems.push('@types/node is a runtime dependency');
// Only the build, the sources the maps point to, the guides, and the usual top-level files.
for (const f of files) {
  if (!/^(dist\/|src\/|docs\/[^/]+\.md$|docs\/img\/|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/.test(f)) problems.push(`stray file ${f}`);
  if (/\.(test|spec)\.[cm]?[jt]s$/.test(f)) problems.push(`test file shipped: ${f}`);
}
// Every exports target exists (conditions walked recursively).
const targets = (v) => (typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(targets) : []);
if (!pkg.exports) problems.push('no "exports"');
for (const [sub, v] of Object.entries(pkg.exports ?? {})) {
  if (typeof v === 'object' && v && !('default' in v)) problems.push(`exports["${sub}"] has no "default" condition`);
  for (const t of targets(v)) if (!has(t)) problems.push(`exports["${sub}"] -> ${t}: not in the tarball`);
}
for (const f of [pkg.main, pkg.types].filter(Boolean)) if (!has(f)) problems.push(`${f} (main/types) not in the tarball`);
const bins = typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {});
for (const [name, f] of Object.entries(bins)) {
  if (!has(f)) problems.push(`bin ${name} -> ${f}: not in the tarball`);
  else if (!fs.readFileSync(path.join(root, f), 'utf8').startsWith('#!')) problems.push(`bin ${name} -> ${f}: no #! line`);
}
for (const f of Array.isArray(pkg.sideEffects) ? pkg.sideEffects : []) {
  if (!/[*?]/.test(f) && !has(f)) problems.push(`sideEffects lists ${f}, not in the tarball`);
}
// sideEffects: false everywhere but the listed files; a worker entry (top-level code run by `new Worker`)
// has side effects and must be listed; so must any file that mentions workerData or parentPort.
if (pkg.sideEffects !== false && !Array.isArray(pkg.sideEffects)) problems.push('no "sideEffects" field');
const globRe = (g) => {
  const body = g
    .replace(/^\.\//, '')
    .replace(/[.+^$()|[\]\\{}]/g, '\\$&')
    .replace(/\*\*\/?|\*/g, (m) => (m === '*' ? '[^/]*' : '(?:.*/)?'));
  return new RegExp(`^${body}$`);
};
const sideEffectful = (f) => Array.isArray(pkg.sideEffects) && pkg.sideEffects.some((g) => globRe(g).test(f));
for (const f of files.filter((x) => x.startsWith('dist/') && x.endsWith('.js'))) {
  const text = fs.readFileSync(path.join(root, f), 'utf8');
  if (/\b(workerData|parentPort)\b/.test(text) && !sideEffectful(f)) {
    problems.push(`${f} looks like a worker entry (uses workerData/parentPort) but "sideEffects" does not list it`);
  }
}
// Every source map's sources resolve to a shipped file.
let maps = 0;
for (const f of files.filter((x) => x.endsWith('.map'))) {
  maps++;
  const map = JSON.parse(fs.readFileSync(path.join(root, f), 'utf8'));
  for (const s of map.sources ?? []) {
    const target = path.resolve(path.dirname(path.join(root, f)), map.sourceRoot ?? '', s);
    if (!target.startsWith(root + path.sep) || !fs.existsSync(target)) {
      problems.push(`${f}: source ${s} does not resolve inside the package`);
    }
  }
  const base = f.replace(/\.map$/, '');
  if (!has(base)) problems.push(`${f}: map without its file ${base}`);
  else if (!new RegExp(`^//# sourceMappingURL=${path.basename(f).replace(/\./g, "\\.")}$`, "m").test(fs.readFileSync(path.join(root, base), "utf8"))) {
    problems.push(`${base}: no sourceMappingURL comment for ${path.basename(f)}`);
  }
}
if (problems.length) {
  console.log(problems.slice(0, 40).join('\n'));
  if (problems.length > 40) console.log(`... and ${problems.length - 40} more`);
  process.exit(1);
}
console.log(`${files.length} files, ${maps} source maps`);
EOF
check "tarball contents (files, exports targets, source maps resolve)" node "$scratch/contents.cjs" "$pkgdir"

# --- a scratch consumer project ------------------------------------------------------------------------
app="$scratch/app"
mkdir -p "$app"
cat >"$app/package.json" <<'EOF'
{ "name": "package-check-consumer", "version": "1.0.0", "private": true }
EOF
check "npm install <tarball> $ts_spec (empty project)" \
  bash -c "cd '$app' && npm install --no-audit --no-fund --loglevel=error '$tarball' '$ts_spec'" || finish
tsc="$app/node_modules/.bin/tsc"
echo "     typescript $("$tsc" --version 2>&1 | head -1)"
check "installing the package pulls in no @types/node (an optional peer: the consumer picks its own)" \
  bash -c "cd '$app' && test ! -e node_modules/@types/node"
# A TypeScript agent has Node's types of its own: the root's API (EventEmitter, workers) needs them.
check "npm install @types/node@20 (the consumer's own)" \
  bash -c "cd '$app' && npm install --no-audit --no-fund --loglevel=error '@types/node@20'" || finish

cat >"$app/consumer.mts" <<'EOF'
import {
  type MigrationOutcome,
  type MigrationPlan,
  MigrateFlags,
  MigrationJob,
  MigrationPolicyError,
  migrate,
  planMigration,
} from 'libvirt-migration-policy';
import { type LibvirtConnection, openConnection } from 'libvirt-migration-policy/libvirt';
import {
  MigrationPolicyError as PolicyError,
  type PlanInput,
  planMigration as planPure,
  requiredTraits,
} from 'libvirt-migration-policy/policy';

const input: PlanInput = {
  instance: { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'false' } },
  host: { permitPostCopy: true, permitAutoConverge: true },
};
const plan: MigrationPlan = planPure(input);
const postCopyBit: number = plan.flags & MigrateFlags.POSTCOPY;
const same: boolean = planMigration(input).flags === plan.flags;
const traits: readonly string[] = requiredTraits(input.instance ?? {});
// The Node-typed part of the API (EventEmitter, worker_threads) must compile too.
export type Job = InstanceType<typeof MigrationJob>;
export const entryPoints = [migrate, openConnection] as const;
export const results = {
  postCopyBit,
  same,
  traits,
  isError: new Error() instanceof MigrationPolicyError,
  isPolicyError: new Error() instanceof PolicyError,
};
// The outcome is a union by status: stats on completion, an error otherwise.
export function downtime(outcome: MigrationOutcome): number | undefined {
  return outcome.status === 'completed' ? outcome.stats.downtime : outcome.error.message.length;
}
export type Connection = LibvirtConnection;
EOF
cat >"$app/consumer.cts" <<'EOF'
import lmp = require('libvirt-migration-policy');
import policy = require('libvirt-migration-policy/policy');

const plan: lmp.MigrationPlan = policy.planMigration({ host: { permitAutoConverge: true } });
export const autoConverge: boolean = plan.autoConverge && (plan.flags & lmp.MigrateFlags.AUTO_CONVERGE) !== 0;
EOF
cat >"$app/policy-only.mts" <<'EOF'
// The pure policy on its own: nothing here may need Node's types or koffi's.
import { MigrateFlags, planMigration } from 'libvirt-migration-policy/policy';
export const autoConverge: boolean = (planMigration({}).flags & MigrateFlags.AUTO_CONVERGE) !== 0;
EOF
check "tsc --strict --module nodenext --noEmit --types '' policy-only.mts (no Node types)" \
  bash -c "cd '$app' && '$tsc' --strict --module nodenext --noEmit --types '' policy-only.mts"
check "tsc --strict --module nodenext --noEmit consumer.mts (ESM consumer)" \
  bash -c "cd '$app' && '$tsc' --strict --module nodenext --noEmit consumer.mts"
check "tsc --strict --module nodenext --noEmit consumer.cts (CJS consumer)" \
  bash -c "cd '$app' && '$tsc' --strict --module nodenext --noEmit consumer.cts"

# --- runtime: import and require -------------------------------------------------------------------------
# koffi is detected three ways: a resolve hook that refuses it (ESM), require.cache (CJS), and, on Linux, its
# native library in /proc/self/maps (however it was loaded).
cat >"$app/detect.cjs" <<'EOF'
const fs = require('node:fs');
exports.koffiLoaded = () => {
  const cached = Object.keys(require.cache).filter((k) => /[\\/]node_modules[\\/](koffi|@koromix)[\\/]/.test(k));
  let mapped = [];
  if (process.platform === 'linux') {
    mapped = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => /koffi/i.test(l));
  }
  return cached.length + mapped.length ? [...cached, ...mapped.slice(0, 1)] : null;
};
exports.checkPlan = (m) => {
  const plan = m.planMigration({
    instance: { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'false' } },
    host: { permitPostCopy: true, permitAutoConverge: true },
  });
  const ok =
    plan.autoConverge === true &&
    plan.postCopy === false &&
    plan.flagNames.includes('AUTO_CONVERGE') &&
    !plan.flagNames.includes('POSTCOPY') &&
    (plan.flags & m.MigrateFlags.AUTO_CONVERGE) !== 0;
  if (!ok) throw new Error(`unexpected plan: ${JSON.stringify({ flags: plan.flagNames, reasons: plan.reasons })}`);
  let refused;
  try {
    m.planMigration({ instance: { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'maybe' } } });
  } catch (err) {
    refused = err;
  }
  if (refused?.code !== 'INVALID_BOOLEAN') throw new Error(`a bad boolean was not refused: ${refused}`);
  return plan.flagNames.join('|');
};
EOF
cat >"$app/refuse-koffi.mjs" <<'EOF'
import { register } from 'node:module';
register(
  'data:text/javascript,' +
    encodeURIComponent(
      'export async function resolve(s, c, next) {' +
        " if (/^(koffi|@koromix\\/)/.test(s)) throw new Error('koffi was loaded: ' + s);" +
        ' return next(s, c); }',
    ),
);
EOF
cat >"$app/esm.mjs" <<'EOF'
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { koffiLoaded, checkPlan } = require('./detect.cjs');
const spec = process.argv[2];
const m = await import(spec);
console.log(`${spec}: ${checkPlan(m)}`);
const koffi = koffiLoaded();
if (koffi) throw new Error(`importing ${spec} loaded koffi: ${koffi.join(', ')}`);
EOF
cat >"$app/cjs.cjs" <<'EOF'
const { koffiLoaded, checkPlan } = require('./detect.cjs');
const spec = process.argv[2];
const m = require(spec);
console.log(`${spec}: ${checkPlan(m)}`);
const koffi = koffiLoaded();
if (koffi) throw new Error(`requiring ${spec} loaded koffi: ${koffi.join(', ')}`);
EOF
cat >"$app/control.cjs" <<'EOF'
// The detector must see koffi when it is loaded, or the checks above prove nothing.
const { koffiLoaded } = require('./detect.cjs');
require('koffi');
if (!koffiLoaded()) throw new Error('koffi was required but the detector did not see it');
EOF
cat >"$app/side-effects.mjs" <<'EOF'
// Importing the root must change nothing observable: sideEffects: false says so to bundlers.
const events = ['exit', 'beforeExit', 'uncaughtException', 'unhandledRejection', 'warning', 'SIGINT', 'SIGTERM'];
const snapshot = () => ({
  globals: Object.getOwnPropertyNames(globalThis).sort().join(','),
  listeners: events.map((e) => process.listenerCount(e)).join(','),
  resources: process.getActiveResourcesInfo().sort().join(','),
});
const before = snapshot();
await import('libvirt-migration-policy');
await import('libvirt-migration-policy/policy');
const after = snapshot();
for (const k of Object.keys(before)) {
  if (before[k] !== after[k]) throw new Error(`importing changed ${k}: ${before[k]} -> ${after[k]}`);
}
EOF
node_run() { (cd "$app" && timeout 60 node "$@"); }
check "control: the koffi detector sees koffi when it is required" node_run control.cjs
for spec in libvirt-migration-policy libvirt-migration-policy/policy; do
  check "ESM import('$spec'): plan answers, koffi not loaded" node_run --import ./refuse-koffi.mjs esm.mjs "$spec"
  check "CJS require('$spec'): plan answers, koffi not loaded" node_run cjs.cjs "$spec"
done
cat >"$app/libvirt-entry.cjs" <<'EOF'
// /libvirt: the binding, with its errors; importing it loads nothing native until open().
const { koffiLoaded } = require('./detect.cjs');
const l = require('libvirt-migration-policy/libvirt');
for (const name of ['openConnection', 'koffiBackend', 'LibvirtError', 'LibvirtUnavailableError', 'DomainStateCode']) {
  if (l[name] === undefined) throw new Error(`/libvirt has no ${name}`);
}
const koffi = koffiLoaded();
if (koffi) throw new Error(`requiring /libvirt loaded koffi: ${koffi.join(', ')}`);
import('libvirt-migration-policy/libvirt').then((m) => {
  if (m.openConnection !== l.openConnection) throw new Error('import and require of /libvirt differ');
});
EOF
check "import and require() of /libvirt: the binding and its errors, koffi not loaded" node_run libvirt-entry.cjs
check "the root keeps to what an agent uses: the binding and internals are not there, /policy has them" node_run -e "
  const root = require('libvirt-migration-policy'), policy = require('libvirt-migration-policy/policy');
  const internals = ['pythonStrip', 'boundValue', 'checkTuning', 'resumeFlags', 'buildMigrationCall', 'copiedDisks',
    'openConnection', 'koffiBackend', 'VIR_DOMAIN_JOB_STATS_COMPLETED', 'DomainStateCode'];
  const there = internals.filter((n) => n in root);
  if (there.length) throw new Error('the root still exports ' + there.join(', '));
  for (const n of ['migrate', 'attachMigration', 'planMigration', 'parseNovaConf', 'logMigration', 'observeMigration', 'MigrationPolicyError', 'LibvirtError'])
    if (!(n in root)) throw new Error('the root lacks ' + n);
  for (const n of ['pythonStrip', 'resumeFlags', 'monitorTick', 'MigrationPolicyError', 'LibvirtMigrationError'])
    if (!(n in policy)) throw new Error('/policy lacks ' + n);
  // 46 runtime names: the policy an agent decides with, migrate(), the metrics, the Placement client, the
  // redaction an agent's own logs need; a surface back near the old 80 means internals leaked in again.
  if (Object.keys(root).length > 48) throw new Error('the root exports ' + Object.keys(root).length + ' names');"
check "instanceof MigrationPolicyError with the class from /policy (ESM)" node_run --input-type=module -e "
  import { MigrationPolicyError, planMigration } from 'libvirt-migration-policy/policy';
  let e; try { planMigration({ instance: { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'maybe' } } }); } catch (err) { e = err; }
  if (!(e instanceof MigrationPolicyError) || e.code !== 'INVALID_BOOLEAN') throw new Error('not a MigrationPolicyError from /policy: ' + e);"
check "docs/ is in the installed package, with the guides the README links" bash -c "
  cd '$app/node_modules/libvirt-migration-policy' && test -f docs/cli.md && test -f docs/live-migration.md && test -f docs/img/lab-decision-map.svg"
check "package.json links home: repository, homepage, bugs" node_run -e "
  const p = require('libvirt-migration-policy/package.json');
  if (!p.repository || !p.homepage || !p.bugs || !p.bugs.url) throw new Error(JSON.stringify({ r: p.repository, h: p.homepage, b: p.bugs }));"

# The same import/require on the lowest versions `engines` admits (22.11 has no require(esm): it fails) and
# on Node 24, each fetched with npx -y node@N.
for v in ${PACKAGE_CHECK_NODES-20.19.0 22.12.0 24}; do
  if ! nodebin=$(npx -y "node@$v" -p process.execPath 2>/dev/null); then
    check "Node $v: could not get it through npx -y node@$v" false
    continue
  fi
  check "Node $("$nodebin" --version): import and require() of the root, /policy and /libvirt" bash -c "
    cd '$app' && for s in libvirt-migration-policy libvirt-migration-policy/policy; do
      timeout 60 '$nodebin' --import ./refuse-koffi.mjs esm.mjs \$s && timeout 60 '$nodebin' cjs.cjs \$s || exit 1
    done && timeout 60 '$nodebin' libvirt-entry.cjs"
done
# The operator's first command, on their own `openstack … show -f json` files, through the package's bin.
printf '%s\n' '{"name":"m1.db","ram":65536,"properties":{"compute:live_migration_post_copy":"false"}}' >"$app/flavor.json"
printf '%s\n' '{"name":"ubuntu","properties":{}}' >"$app/image.json"
printf '[libvirt]\nlive_migration_permit_post_copy = True\nlive_migration_permit_auto_converge = True\n' >"$app/nova.conf"
check "npx libvirt-migration-policy explain --json answers (flavor's post-copy=false over nova.conf)" bash -c "
  cd '$app' && timeout 60 npx --no-install libvirt-migration-policy explain --flavor flavor.json --image image.json \
    --conf nova.conf --json | node -e '
      const j = JSON.parse(require(\"fs\").readFileSync(0, \"utf8\"));
      if (j.flags.value !== 8219 || j.features.postCopy.enabled !== false) throw new Error(JSON.stringify(j.flags));'"
check "importing the root has no side effects (globals, process listeners, handles)" node_run side-effects.mjs
check "require() of the root and of /policy share one MigrationPolicyError class" node_run -e "
  const a = require('libvirt-migration-policy'), b = require('libvirt-migration-policy/policy');
  let e; try { b.planMigration({ instance: { imageProperties: { compute_live_migration_post_copy: 'maybe' } } }); } catch (err) { e = err; }
  if (!(e instanceof a.MigrationPolicyError)) throw new Error('not an instance of the root MigrationPolicyError: ' + e);"

finish
