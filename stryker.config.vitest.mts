// The unit project of vitest.config.ts alone, for StrykerJS: mutants must never start the e2e lab suite.
// STRYKER_TEST_DIR narrows the tests to one folder (`npm run test:mutation` uses test/policy, the suite that
// owns src/policy's rules); without it every unit test runs.
import { defineConfig } from 'vitest/config';

const dir = process.env.STRYKER_TEST_DIR;

export default defineConfig({
  test: {
    include: [dir ? `${dir.replace(/\/$/, '')}/**/*.test.ts` : 'test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
  },
});
