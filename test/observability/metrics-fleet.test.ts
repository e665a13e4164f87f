import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMigrationMetrics, MigrationJobError, observeMigration } from '../../src/index.js';
import { FakeDomain, until } from '../support/fake-libvirt.js';
import { GiB, migratePlain, migratePostCopyHost, PRECOPY } from './drive.js';
import { type Family, histogramOf, parseExposition } from './exposition.js';

/** The exposition as a scraper reads it, checked against the text format. */
async function scrape(registry: Registry): Promise<Family[]> {
  return parseExposition(await registry.metrics());
}

const withDomain = (families: Family[]) =>
  families.flatMap((f) => f.samples).filter((s) => s.labels.domain !== undefined);

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Three migrations of three guests, one agent: two complete (pre-copy, post-copy), one fails. */
async function fleet(registry: Registry): Promise<void> {
  const a = new FakeDomain('web-1');
  const first = await migratePlain(a);
  observeMigration(first, { registry, domain: 'web-1' });
  await until(() => a.migrating);
  a.stats = PRECOPY;
  await until(() => first.progress?.iteration === 3);
  a.complete({ type: 'completed', downtime: 23, timeElapsed: 42_000, raw: {} });
  await first.outcome;

  const b = new FakeDomain('db-1');
  const second = await migratePostCopyHost(b);
  observeMigration(second, { registry, domain: 'db-1' });
  await until(() => b.migrating);
  await second.forceComplete();
  b.complete({ type: 'completed', downtime: 4, timeElapsed: 7_300, raw: {} });
  await second.outcome;

  const c = new FakeDomain('batch-1');
  const third = await migratePlain(c);
  observeMigration(third, { registry, domain: 'batch-1' });
  await until(() => c.migrating);
  c.fail();
  await third.outcome;
  await settle();
}

describe('migration metrics for a fleet', () => {
  it('histograms of duration and downtime, by status and mode, with no per-guest label', async () => {
    const registry = new Registry();
    await fleet(registry);
    const families = await scrape(registry);
    const duration = 'libvirt_migration_duration_seconds';
    expect(families.find((f) => f.name === duration)?.type).toBe('histogram');
    const preCopy = histogramOf(families, duration, { status: 'completed', mode: 'pre-copy' });
    expect(preCopy).toMatchObject({ count: 1, sum: 42 });
    expect(preCopy?.buckets['30']).toBe(0);
    expect(preCopy?.buckets['60']).toBe(1);
    expect(histogramOf(families, duration, { status: 'completed', mode: 'post-copy' })).toMatchObject({
      count: 1,
      sum: 7.3,
    });
    expect(histogramOf(families, duration, { status: 'failed', mode: 'pre-copy' })?.count).toBe(1);

    const downtime = 'libvirt_migration_downtime_seconds';
    expect(families.find((f) => f.name === downtime)?.type).toBe('histogram');
    expect(histogramOf(families, downtime, { mode: 'pre-copy' })).toMatchObject({ count: 1, sum: 0.023 });
    expect(histogramOf(families, downtime, { mode: 'post-copy' })).toMatchObject({ count: 1, sum: 0.004 });
    // A failed migration has no downtime to count.
    expect(histogramOf(families, downtime, {})?.count).toBe(1);
    expect(withDomain(families)).toEqual([]);
  });

  it('per-guest series exist while a migration runs and are gone once it ends', async () => {
    const registry = new Registry();
    const domain = new FakeDomain('web-1');
    const job = await migratePlain(domain);
    observeMigration(job, { registry, domain: 'web-1' });
    await until(() => domain.migrating);
    domain.stats = PRECOPY;
    await until(() => job.progress?.iteration === 3);
    expect(new Set(withDomain(await scrape(registry)).map((s) => s.name))).toEqual(
      new Set([
        'libvirt_migration_active',
        'libvirt_migration_post_copy',
        'libvirt_migration_start_time_seconds',
        'libvirt_migration_data_total_bytes',
        'libvirt_migration_data_processed_bytes',
        'libvirt_migration_data_remaining_bytes',
        'libvirt_migration_dirty_memory_rate_bytes_per_second',
        'libvirt_migration_memory_transfer_rate_bytes_per_second',
        'libvirt_migration_memory_iteration',
        'libvirt_migration_auto_converge_throttle_ratio',
        ...(job.progress?.downtimeMs === undefined ? [] : ['libvirt_migration_allowed_downtime_seconds']),
      ]),
    );
    domain.complete({ type: 'completed', downtime: 5, raw: {} });
    await job.outcome;
    await settle();
    await fleet(registry);
    const after = await scrape(registry);
    expect(withDomain(after)).toEqual([]);
    // What a fleet aggregates stays.
    const total = after.find((f) => f.name === 'libvirt_migrations_total');
    expect(
      total?.samples.find((s) => s.labels.status === 'completed' && s.labels.mode === 'pre-copy')?.value,
    ).toBe(2);
  });

  it('the exposition follows the text format and the naming conventions', async () => {
    const registry = new Registry();
    const domain = new FakeDomain('web-1');
    const job = await migratePostCopyHost(domain);
    observeMigration(job, { registry, domain: 'web-1', keepFinished: true });
    await until(() => domain.migrating);
    domain.stats = { ...PRECOPY, memoryPostcopyRequests: 12 };
    await until(() => job.progress?.iteration === 3);
    await job.forceComplete();
    domain.complete({ type: 'completed', downtime: 4, dataTotal: 4 * GiB, raw: {} });
    await job.outcome;
    await settle();
    const families = await scrape(registry);
    expect(families).toHaveLength(19);
    for (const f of families) {
      expect(f.name).toMatch(/^libvirt_migrations?_[a-z_]+$/);
      expect(f.help.length).toBeGreaterThan(10);
      if (f.type === 'counter') expect(f.name).toMatch(/_total$/);
      else expect(f.name).not.toMatch(/_total$/);
      // Base units only: no milliseconds, no kilo- or mebibytes, no percent.
      expect(f.name).not.toMatch(/_(ms|milliseconds|kb|kib|mb|mib|percent)(_|$)/);
      if (f.type === 'histogram') expect(f.name).toMatch(/_seconds$/);
    }
    const requests = families.find((f) => f.name === 'libvirt_migration_postcopy_requests_total');
    expect(requests?.samples).toEqual([
      { name: 'libvirt_migration_postcopy_requests_total', labels: { domain: 'web-1' }, value: 12 },
    ]);
  });

  it('the reader refuses what the format does not allow (so it can fail)', () => {
    expect(() =>
      parseExposition(
        '# TYPE a_seconds histogram\na_seconds_bucket{le="1"} 2\na_seconds_bucket{le="+Inf"} 1\na_seconds_sum 1\na_seconds_count 1\n',
      ),
    ).toThrow(/not cumulative/);
    expect(() => parseExposition('# TYPE a gauge\na{x="1} 2\n')).toThrow(/unterminated/);
    expect(() => parseExposition('# TYPE a gauge\nb 2\n')).toThrow(/not a sample of a/);
    expect(() => parseExposition('# TYPE a gauge\na 2')).toThrow(/line feed/);
  });

  it('creating the metrics twice on one registry reuses them; a foreign metric of the same name is refused', async () => {
    const registry = new Registry();
    const one = createMigrationMetrics({ registry });
    const two = createMigrationMetrics({ registry });
    const domain = new FakeDomain('web-1');
    const job = await migratePlain(domain);
    two.observe(job, { domain: 'web-1', keepFinished: true });
    await until(() => domain.migrating);
    domain.complete({ type: 'completed', downtime: 5, raw: {} });
    await job.outcome;
    await settle();
    expect(withDomain(await scrape(registry)).length).toBeGreaterThan(0);
    one.forget('web-1');
    expect(withDomain(await scrape(registry))).toEqual([]);

    const clash = new Registry();
    new Counter({ name: 'libvirt_migration_active', help: 'not ours', registers: [clash] });
    expect(() => createMigrationMetrics({ registry: clash })).toThrow(MigrationJobError);
    expect(() => createMigrationMetrics({ registry: clash })).toThrow(
      /libvirt_migration_active that has no set\(\)/,
    );
  });
});
