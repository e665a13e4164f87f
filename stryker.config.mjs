// StrykerJS: `npm run test:mutation` mutates the pure policy core; another scope with
// `npx stryker run --mutate 'src/migration/**/*.ts'`. Only the unit tests run (never the e2e lab project),
// and mutants are type-checked against src/ alone so that work in progress in tests cannot block a run.
// The machine is shared: keep the concurrency low. `npm run test:mutation` adds --ignoreStatic: the ~440
// static mutants of src/policy (module-level constants) each need the whole suite re-loaded, ~70 % of the
// run's time; drop the flag to include them.
// STRYKER_SCOPE names the reports and the incremental file, so that runs over different scopes at the same
// time do not overwrite each other's (npm run test:mutation uses "policy").
const scope = process.env.STRYKER_SCOPE ?? 'all';
const out = `coverage/mutation/${scope}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'stryker.config.vitest.mts', related: false },
  checkers: ['typescript'],
  tsconfigFile: 'stryker.config.tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: ['src/policy/**/*.ts', '!src/policy/index.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 2_000,
  incremental: true,
  incrementalFile: `${out}/stryker-incremental.json`,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${out}/index.html` },
  jsonReporter: { fileName: `${out}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: `coverage/.stryker-tmp-${scope}`,
  ignorePatterns: ['coverage', 'dist', 'docs/api', 'lab/.state', 'lab/.build', 'test/e2e'],
  cleanTempDir: true,
};
