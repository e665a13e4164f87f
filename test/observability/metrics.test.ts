import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMigrationMetrics, observeMigration } from '../../src/index.js';
import { destinationOf, FakeDomain, fakeBackend, libvirtError, until } from '../support/fake-libvirt.js';
import { PC, startJob } from '../support/migration.js';
import { GiB, migratePlain, migratePostCopyHost, PRECOPY } from './drive.js';
import { histogramOf, parseExposition } from './exposition.js';

/** One series' value, or undefined when the series does not exist. */
async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value;
}

describe('observeMigration: gauges from progress, counters from steering and the outcome', () => {
  it("the expected downtime, with switchover 'adaptive': the forecast's remaining ÷ bandwidth; no series without", async () => {
    const registry = new Registry();
    const adaptive = new FakeDomain('db-1');
    const fixed = new FakeDomain('db-2');
    const a = await startJob(adaptive, { switchover: 'adaptive' });
    const f = await startJob(fixed);
    const jobs = [a, f];
    observeMigration(a, { registry, domain: 'db-1' });
    observeMigration(f, { registry, domain: 'db-2' });
    await until(() => adaptive.migrating && fixed.migrating);
    adaptive.stats = PRECOPY;
    fixed.stats = PRECOPY;
    await until(() => jobs.every((job) => job.progress?.iteration === 3));
    const expected = a.progress?.forecast?.expectedDowntimeMs;
    // 1 GiB remaining at 100 MiB/s.
    expect(expected).toBeCloseTo(10_240, 0);
    expect(await value(registry, 'libvirt_migration_expected_downtime_seconds', { domain: 'db-1' })).toBe(
      (expected as number) / 1000,
    );
    expect(f.progress?.forecast).toBeUndefined();
    expect(
      await value(registry, 'libvirt_migration_expected_downtime_seconds', { domain: 'db-2' }),
    ).toBeUndefined();
    adaptive.complete();
    fixed.complete();
    await Promise.all(jobs.map((job) => job.outcome));
  });

  it('a pre-copy migration: data, rates, throttle, pass, then its downtime and outcome', async () => {
    const registry = new Registry();
    const domain = new FakeDomain('web-1');
    const job = await migratePlain(domain);
    observeMigration(job, { registry, domain: 'web-1', keepFinished: true });
    const d = { domain: 'web-1' };
    expect(await value(registry, 'libvirt_migration_active', d)).toBe(1);
    await until(() => domain.migrating);
    domain.stats = PRECOPY;
    await until(() => job.progress?.iteration === 3);
    expect(await value(registry, 'libvirt_migration_data_total_bytes', d)).toBe(4 * GiB);
    expect(await value(registry, 'libvirt_migration_data_processed_bytes', d)).toBe(3 * GiB);
    expect(await value(registry, 'libvirt_migration_data_remaining_bytes', d)).toBe(GiB);
    expect(await value(registry, 'libvirt_migration_dirty_memory_rate_bytes_per_second', d)).toBe(
      25_600 * 4096,
    );
    expect(await value(registry, 'libvirt_migration_memory_transfer_rate_bytes_per_second', d)).toBe(
      100 * 1024 ** 2,
    );
    expect(await value(registry, 'libvirt_migration_memory_iteration', d)).toBe(3);
    expect(await value(registry, 'libvirt_migration_auto_converge_throttle_ratio', d)).toBe(0.2);
    expect(await value(registry, 'libvirt_migration_post_copy', d)).toBe(0);
    await until(() => job.progress?.downtimeMs !== undefined);
    expect(await value(registry, 'libvirt_migration_allowed_downtime_seconds', d)).toBe(
      (job.progress?.downtimeMs ?? Number.NaN) / 1000,
    );
    expect(
      await value(registry, 'libvirt_migration_steering_actions_total', {
        action: 'set-downtime',
        result: 'accepted',
      }),
    ).toBeGreaterThan(0);

    domain.complete({
      type: 'completed',
      downtime: 23,
      dataTotal: 4 * GiB,
      dataProcessed: 4 * GiB,
      dataRemaining: 0,
      raw: {},
    });
    await job.outcome;
    await new Promise((resolve) => setImmediate(resolve));
    expect(await value(registry, 'libvirt_migrations_total', { status: 'completed', mode: 'pre-copy' })).toBe(
      1,
    );
    expect(
      histogramOf(parseExposition(await registry.metrics()), 'libvirt_migration_downtime_seconds', {
        mode: 'pre-copy',
      }),
    ).toMatchObject({ count: 1, sum: 0.023, buckets: { '0.01': 0, '0.025': 1 } });
    expect(await value(registry, 'libvirt_migration_data_remaining_bytes', d)).toBe(0);
    expect(await value(registry, 'libvirt_migration_active', d)).toBe(0);
    const start = await value(registry, 'libvirt_migration_start_time_seconds', d);
    const end = await value(registry, 'libvirt_migration_end_time_seconds', d);
    expect(end).toBeGreaterThanOrEqual(start ?? Number.POSITIVE_INFINITY);
    // The exposition format, as Prometheus scrapes it.
    const text = await registry.metrics();
    expect(text).toContain('# TYPE libvirt_migrations_total counter');
    expect(text).toContain('libvirt_migrations_total{status="completed",mode="pre-copy"} 1');
    expect(text).toContain('# TYPE libvirt_migration_data_remaining_bytes gauge');
  });

  it('a post-copy migration: mode, post-copy requests counted once each, outcome by mode', async () => {
    const registry = new Registry();
    const domain = new FakeDomain();
    const job = await migratePostCopyHost(domain);
    observeMigration(job, { registry, keepFinished: true }); // labelled by UUID by default
    const d = { domain: domain.uuid };
    await until(() => domain.migrating);
    await job.forceComplete();
    domain.stats = {
      type: 'unbounded',
      operation: 5,
      memoryRemaining: GiB,
      memoryPostcopyRequests: 1234,
      raw: {},
    };
    await until(() => job.progress?.postCopyRequests === 1234);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await value(registry, 'libvirt_migration_post_copy', d)).toBe(1);
    expect(await value(registry, 'libvirt_migration_postcopy_requests_total', d)).toBe(1234);
    expect(
      await value(registry, 'libvirt_migration_steering_actions_total', {
        action: 'switch-to-post-copy',
        result: 'accepted',
      }),
    ).toBe(1);
    domain.complete({ type: 'completed', downtime: 4, memoryPostcopyRequests: 1500, raw: {} });
    await job.outcome;
    await new Promise((resolve) => setImmediate(resolve));
    expect(await value(registry, 'libvirt_migration_postcopy_requests_total', d)).toBe(1500);
    expect(
      await value(registry, 'libvirt_migrations_total', { status: 'completed', mode: 'post-copy' }),
    ).toBe(1);
    expect(await value(registry, 'libvirt_migration_post_copy', d)).toBe(0);
  });

  it('a broken post-copy: each recovery step is counted by kind and cause', async () => {
    const registry = new Registry();
    const domain = new FakeDomain();
    const job = await startJob(
      domain,
      { postCopyRecovery: { firstDelayMs: 10 }, backend: fakeBackend(destinationOf(domain)) },
      { flavorExtraSpecs: { [PC]: 'true' } },
    );
    observeMigration(job, { registry });
    await until(() => domain.migrating);
    await job.forceComplete();
    domain.fail(libvirtError(1, 'post-copy failed'));
    await until(() => domain.migrations.length === 2);
    domain.complete();
    await job.outcome;
    const count = (kind: string) =>
      value(registry, 'libvirt_migration_postcopy_recovery_events_total', { kind, cause: 'failed' });
    expect(await count('stopped')).toBe(1);
    expect(await count('attempt')).toBe(1);
    expect(await count('recovered')).toBe(1);
    expect(await count('given-up')).toBeUndefined();
  });

  it('failures and refused steering are counted; a job ended before the call has mode "not-started"', async () => {
    const registry = new Registry();
    const failing = new FakeDomain();
    failing.script('setMaxDowntime', { error: new Error('refused') });
    const job = await migratePlain(failing);
    observeMigration(job, { registry });
    await until(() => failing.calls.some((c) => c.startsWith('setMaxDowntime')));
    failing.fail();
    await job.outcome;
    await new Promise((resolve) => setImmediate(resolve));
    expect(await value(registry, 'libvirt_migrations_total', { status: 'failed', mode: 'pre-copy' })).toBe(1);
    expect(
      await value(registry, 'libvirt_migration_steering_actions_total', {
        action: 'set-downtime',
        result: 'refused',
      }),
    ).toBe(1);

    const early = new FakeDomain();
    const refused = await startJob(
      early,
      {},
      { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'maybe' } },
    );
    observeMigration(refused, { registry }); // the same registry: its metrics are reused, not registered again
    expect((await refused.outcome).plan).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await value(registry, 'libvirt_migrations_total', { status: 'error', mode: 'not-started' })).toBe(
      1,
    );
  });

  it('stop() and forget(): no more updates, and the per-domain series go away', async () => {
    const registry = new Registry();
    const metrics = createMigrationMetrics({ registry, prefix: 'agent_' });
    const domain = new FakeDomain();
    const job = await migratePlain(domain);
    const stop = metrics.observe(job, { domain: 'vm' });
    await until(() => domain.migrating);
    stop();
    domain.stats = PRECOPY;
    await until(() => job.progress?.iteration === 3);
    expect(await value(registry, 'agent_migration_memory_iteration', { domain: 'vm' })).toBeUndefined();
    domain.complete();
    await job.outcome;
    await new Promise((resolve) => setImmediate(resolve));
    expect(await value(registry, 'agent_migrations_total', { status: 'completed' })).toBeUndefined();
    expect(await value(registry, 'agent_migration_active', { domain: 'vm' })).toBe(1);
    metrics.forget('vm');
    expect(await value(registry, 'agent_migration_active', { domain: 'vm' })).toBeUndefined();
    // A second creation for the same registry and prefix reuses the metrics instead of registering them again.
    const again = createMigrationMetrics({ registry, prefix: 'agent_' });
    const second = await migratePlain(new FakeDomain('other'));
    again.observe(second, { domain: 'vm2' });
    expect(await value(registry, 'agent_migration_active', { domain: 'vm2' })).toBe(1);
  });

  it('takes the prom-client module given, for bundlers and several copies', () => {
    const registry = new Registry();
    const made: string[] = [];
    const promClient = {
      Gauge: class extends Gauge {
        constructor(config: ConstructorParameters<typeof Gauge>[0]) {
          super(config);
          made.push(config.name);
        }
      },
      Counter,
      Histogram,
    };
    createMigrationMetrics({ registry, promClient });
    expect(made).toContain('libvirt_migration_data_remaining_bytes');
  });
});

describe('prom-client is optional', () => {
  // A fresh tsx process: seconds on a loaded machine, so the test waits as long as the child may run.
  it('importing the package does not load it', { timeout: 60_000 }, async () => {
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const script = fileURLToPath(new URL('./loaded-modules.ts', import.meta.url));
    const output = await new Promise<string>((resolve, reject) =>
      execFile(tsx, [script], { timeout: 60_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
    const loaded = JSON.parse(output) as { before: boolean; after: boolean };
    // Control: the check does see prom-client once metrics are asked for.
    expect(loaded).toEqual({ before: false, after: true });
  });
});
