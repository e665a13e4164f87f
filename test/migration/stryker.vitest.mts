// The unit tests of src/migration for StrykerJS (see stryker.config.mjs beside this file).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/migration/**/*.test.ts'],
    exclude: ['test/migration/migrate-testdriver.test.ts', 'node_modules/**'],
  },
});
