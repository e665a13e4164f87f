import { describe, expect, it } from 'vitest';
import { logMigration, type MigrationLogger } from '../../src/index.js';
import { FakeDomain, libvirtError, until } from '../support/fake-libvirt.js';
import { migratePlain, migratePostCopyHost, PRECOPY } from './drive.js';

interface Entry {
  level: 'info' | 'warn' | 'error' | 'debug';
  record: Record<string, unknown>;
  message: string;
}

/** A pino-shaped logger that keeps what it was given. */
function recorder(withDebug = false): MigrationLogger & { entries: Entry[]; of(event: string): Entry[] } {
  const entries: Entry[] = [];
  const at =
    (level: Entry['level']) =>
    (record: object, message: string): void => {
      entries.push({ level, record: record as Record<string, unknown>, message });
    };
  return {
    entries,
    of: (event) => entries.filter((e) => e.record.event === event),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    ...(withDebug ? { debug: at('debug') } : {}),
  };
}

describe('logMigration', () => {
  it('logs the plan with its reasons, each status, steering and the outcome, as structured records', async () => {
    const log = recorder();
    const domain = new FakeDomain();
    const job = await migratePostCopyHost(domain);
    logMigration(job, log, { domain: 'instance-0001' });
    await until(() => domain.migrating);
    await job.forceComplete();
    domain.complete({ type: 'completed', downtime: 4, timeElapsed: 900, raw: {} });
    await job.outcome;
    await new Promise((resolve) => setImmediate(resolve));

    const [plan] = log.of('migration.plan');
    expect(plan?.level).toBe('info');
    expect(plan?.record).toMatchObject({
      domain: 'instance-0001',
      flags: job.plan?.flags,
      flagNames: expect.arrayContaining(['POSTCOPY']),
      postCopy: { enabled: true, source: 'host' },
      autoConverge: { enabled: false, source: 'host' },
      reasons: job.plan?.reasons,
    });
    expect(plan?.message).toMatch(/^migration plan: LIVE\|PEER2PEER\|.*POSTCOPY; post-copy on: /);
    expect(log.of('migration.status').map((e) => e.record.status)).toEqual([
      'preparing',
      'running',
      'running (post-copy)',
      'completed',
    ]);
    const switched = log.of('migration.steering').find((e) => e.record.action === 'switch-to-post-copy');
    expect(switched).toMatchObject({ level: 'info', record: { reason: 'force-complete requested' } });
    const [outcome] = log.of('migration.outcome');
    expect(outcome).toMatchObject({
      level: 'info',
      record: {
        status: 'completed',
        guest: 'destination',
        downtimeMs: 4,
        timeElapsedMs: 900,
        postCopyFailed: false,
      },
      message: 'migration completed: the guest runs on the destination',
    });
    expect(log.entries.at(-1)).toBe(outcome);
  });

  it('a refused steering call and a warning are warn records with the error in err; a failure is an error record', async () => {
    const log = recorder();
    const refusal = libvirtError(55, 'operation not valid');
    const domain = new FakeDomain();
    domain.script('suspend', { error: refusal });
    domain.connection.eventsError = new Error('no event loop');
    const job = await migratePlain(domain);
    logMigration(job, log);
    await until(() => domain.migrating);
    await expect(job.forceComplete()).rejects.toBe(refusal);
    domain.fail(libvirtError(1, 'connection reset', 'virDomainMigrateToURI3'));
    await job.outcome;
    await new Promise((resolve) => setImmediate(resolve));

    const pause = log.of('migration.steering').find((e) => e.record.action === 'pause');
    expect(pause).toMatchObject({ level: 'warn', record: { domain: domain.uuid, err: refusal } });
    expect(pause?.message).toBe('migration steering refused by libvirt: pause (force-complete requested)');
    const [warning] = log.of('migration.warning');
    expect(warning).toMatchObject({ level: 'warn', record: { source: 'events' } });
    expect((warning?.record.err as Error | undefined)?.message).toBe('no event loop');
    const [outcome] = log.of('migration.outcome');
    expect(outcome?.level).toBe('error');
    expect(outcome?.record).toMatchObject({ status: 'failed', guest: 'source' });
    expect((outcome?.record.err as Error | undefined)?.message).toContain('connection reset');
    expect(outcome?.message).toContain('migration failed: the guest runs on the source: ');
  });

  it('progress at debug only when asked and when the logger has debug; stop() ends the records', async () => {
    const log = recorder(true);
    const domain = new FakeDomain();
    const job = await migratePlain(domain);
    const stop = logMigration(job, log, { progress: true });
    await until(() => domain.migrating);
    domain.stats = PRECOPY;
    await until(() => log.of('migration.progress').some((e) => e.record.iteration === 3));
    const [progress] = log.of('migration.progress').filter((e) => e.record.iteration === 3);
    expect(progress).toMatchObject({
      level: 'debug',
      record: { mode: 'pre-copy', throttle: 20, memoryRemaining: 1024 ** 3 },
    });
    stop();
    const count = log.entries.length;
    domain.complete();
    await job.outcome;
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.entries.length).toBe(count);

    const quiet = recorder(true);
    const other = new FakeDomain();
    const second = await migratePlain(other);
    logMigration(second, quiet);
    await until(() => other.migrating);
    other.stats = PRECOPY;
    await until(() => second.progress?.iteration === 3);
    other.complete();
    await second.outcome;
    expect(quiet.of('migration.progress')).toEqual([]);
  });
});
