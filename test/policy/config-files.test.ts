/** readNovaConfSources: oslo's --config-file / --config-dir order, read from a real directory. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { originOf, parseNovaConf, readNovaConfSources } from '../../src/index.js';
import { expectPolicyError } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'nova-conf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const dir = join(root, 'nova.conf.d');
mkdirSync(dir);
mkdirSync(join(dir, 'sub.conf')); // a directory named *.conf is not a file to read
writeFileSync(
  join(root, 'nova.conf'),
  '[libvirt]\nlive_migration_downtime = 300\nlive_migration_bandwidth = 10\n',
);
writeFileSync(join(dir, '20-b.conf'), '[libvirt]\nlive_migration_downtime = 500\n');
writeFileSync(
  join(dir, '10-a.conf'),
  '[libvirt]\nlive_migration_downtime = 400\nlive_migration_bandwidth = 20\n',
);
writeFileSync(join(dir, 'Z-upper.conf'), '[libvirt]\n');
writeFileSync(join(dir, '.hidden.conf'), '[libvirt]\nlive_migration_downtime = 999\n');
writeFileSync(join(dir, 'notes.txt'), 'not a config file');

describe('readNovaConfSources', () => {
  it('lists the files, then each directory’s *.conf sorted by code point, skipping hidden files', () => {
    const sources = readNovaConfSources({ files: [join(root, 'nova.conf')], dirs: [dir] });
    expect(sources.map((s) => s.name)).toEqual([
      join(root, 'nova.conf'),
      join(dir, '10-a.conf'),
      join(dir, '20-b.conf'),
      join(dir, 'Z-upper.conf'),
    ]);
  });

  it('gives parseNovaConf oslo’s precedence: the last source wins, and reasons name it', () => {
    const host = parseNovaConf(readNovaConfSources({ files: [join(root, 'nova.conf')], dirs: [dir] }));
    expect(host.downtime).toBe(500);
    expect(host.bandwidth).toBe(20);
    expect(originOf(host, 'downtime')).toBe(`${join(dir, '20-b.conf')} line 2`);
  });

  it('reads nothing for no paths', () => {
    expect(readNovaConfSources({})).toEqual([]);
  });

  it('keeps a byte-order mark so that parseNovaConf refuses it, and refuses invalid UTF-8', () => {
    const bom = join(root, 'bom.conf');
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[libvirt]\n')]));
    expect(readNovaConfSources({ files: [bom] })[0]?.text.charCodeAt(0)).toBe(0xfeff);
    expectPolicyError(() => parseNovaConf(readNovaConfSources({ files: [bom] })), 'INVALID_CONFIG_FILE');
    const latin1 = join(root, 'latin1.conf');
    writeFileSync(latin1, Buffer.from([0x5b, 0x78, 0x5d, 0x0a, 0x61, 0x3d, 0xe9, 0x0a]));
    const error = expectPolicyError(() => readNovaConfSources({ files: [latin1] }), 'INVALID_CONFIG_FILE');
    expect(error.message).toContain('not valid UTF-8');
  });

  it('lets a missing file fail as the file system says', () => {
    expect(() => readNovaConfSources({ files: [join(root, 'missing.conf')] })).toThrow(/ENOENT/);
  });
});
