/**
 * The second part of `npm run bench`, in a process of its own so that its objects do not change how V8
 * compiles the first part's: what `planMigration` costs an agent that reads its inputs afresh for every
 * migration, against the same objects planned again and again (the first part's case, repeated here as the
 * reference).
 *
 * - metadata made in each call (copies of the four instances; the copying alone is the next row, to subtract);
 * - 4,096 long-lived copies taken in turn, each coming back only after 4,095 others: too late for the
 *   policy's short memory of new bags, so each is scanned as if new;
 * - a host literal written in each call (`host: { permitPostCopy: true, … }`);
 * - for scale, what `JSON.parse` of the same metadata costs, as an agent reading it from an API pays.
 */
import { Bench } from 'tinybench';
import { type InstanceMetadata, planMigration } from '../src/index.js';
import { BENCH_INSTANCES } from './fixtures.js';
import { PolicyTasks } from './policy-table.js';

const instances: InstanceMetadata[] = BENCH_INSTANCES;
const hostLiteral = { permitPostCopy: true, permitAutoConverge: true };

function copyOf({ flavorExtraSpecs, imageProperties }: InstanceMetadata): InstanceMetadata {
  return { flavorExtraSpecs: { ...flavorExtraSpecs }, imageProperties: { ...imageProperties } };
}

const COPIES = 4096;
const copies: InstanceMetadata[] = Array.from({ length: COPIES }, (_, n) =>
  copyOf(instances[n % 4] as InstanceMetadata),
);
const asJson = instances.map((instance) => JSON.stringify(instance));
let nextCopy = 0;
let sink = 0;

const bench = new Bench({ time: 1500, warmup: true, warmupTime: 300 });
const tasks = new PolicyTasks();
tasks.add(
  bench,
  'planMigration, the same four objects (per decision)',
  () => {
    for (let i = 0; i < 4; i++) sink += planMigration({ instance: instances[i], host: hostLiteral }).flags;
  },
  4,
);
tasks.add(
  bench,
  'planMigration, metadata made in each call (per decision, copying included)',
  () => {
    for (let i = 0; i < 4; i++) {
      sink += planMigration({ instance: copyOf(instances[i] as InstanceMetadata), host: hostLiteral }).flags;
    }
  },
  4,
);
tasks.add(
  bench,
  '… the copying alone (per instance)',
  () => {
    for (let i = 0; i < 4; i++) sink += copyOf(instances[i] as InstanceMetadata).flavorExtraSpecs ? 1 : 0;
  },
  4,
);
tasks.add(
  bench,
  'planMigration, 4,096 long-lived objects in turn (per decision)',
  () => {
    for (let i = 0; i < 4; i++) {
      sink += planMigration({ instance: copies[nextCopy], host: hostLiteral }).flags;
      nextCopy = (nextCopy + 1) % COPIES;
    }
  },
  4,
);
tasks.add(
  bench,
  'planMigration, host literal written in each call (per decision)',
  () => {
    for (let i = 0; i < 4; i++) {
      sink += planMigration({
        instance: instances[i],
        host: { permitPostCopy: true, permitAutoConverge: true },
      }).flags;
    }
  },
  4,
);
tasks.add(
  bench,
  'JSON.parse of one instance metadata (for scale)',
  () => {
    for (let i = 0; i < 4; i++) sink += JSON.parse(asJson[i] as string) === null ? 0 : 1;
  },
  4,
);

await bench.run();
console.table(tasks.rows(bench));
if (sink === -1) console.log('unreachable');
