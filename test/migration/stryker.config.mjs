// StrykerJS over src/migration with the fake-backed unit tests of test/migration:
//   npx stryker run test/migration/stryker.config.mjs
// It extends the project's stryker.config.mjs; migrate-testdriver.test.ts is left out because each of its
// tests starts libvirt worker threads (seconds per mutant) while the fake-backed tests cover the same code.
// Static mutants are ignored, as in `npm run test:mutation`: they are the tables of job-machine.ts (data read
// at load), each of which would re-run the whole suite; their names are type-checked, and
// job-machine.walk.test.ts fails on any change of a row through docs/job-machine.md.
import base from '../../stryker.config.mjs';

export default {
  ...base,
  mutate: ['src/migration/**/*.ts', '!src/migration/index.ts'],
  vitest: { configFile: 'test/migration/stryker.vitest.mts', related: false },
  concurrency: 1,
  timeoutMS: 5000,
  ignoreStatic: true,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'coverage/mutation-migration/mutation.json' },
  tempDirName: 'coverage/.stryker-tmp-migration',
  incremental: true,
  incrementalFile: 'coverage/mutation-migration/incremental.json',
};
