/**
 * Run as a child process by metrics.test.ts: imports the package and prints whether prom-client was loaded,
 * before and after metrics are asked for.
 */
import { createRequire } from 'node:module';
import { createMigrationMetrics } from '../../src/index.js';

const cache = createRequire(import.meta.url).cache;
const loaded = () => Object.keys(cache).some((path) => path.includes('/prom-client/'));
const before = loaded();
createMigrationMetrics({ registry: { registerMetric: () => undefined, getSingleMetric: () => undefined } });
console.log(JSON.stringify({ before, after: loaded() }));
