/**
 * The `migrate` command on the lab: a real migration of a busy guest through the CLI (run in-process, as
 * main.ts runs it), with plain progress lines, force-complete into post-copy, and Ctrl-C aborting a
 * pre-copy migration. The guest's memory is checked intact where it ends up.
 */
import { afterEach, expect, it } from 'vitest';
import { openConnection } from '../../src/libvirt/index.js';
import { copiedDisksOf, parseDomainXml } from '../../src/policy/index.js';
import { fixture, start } from '../cli/run.js';
import { describeLab } from './lab-gate.js';
import { bootGuest, busyLinkMiBps, domainState, expectIntact, removeGuest } from './migration-helpers.js';

let counter = 0;

/** Resolves when `text()` matches, polling; fails after `timeoutMs`. */
async function waitFor(text: () => string, pattern: RegExp, timeoutMs = 120_000): Promise<void> {
  const start = Date.now();
  while (!pattern.test(text())) {
    if (Date.now() - start > timeoutMs) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${text()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeLab('the migrate command', (lab) => {
  let name = '';
  afterEach(() => removeGuest(lab, name));

  const migrateArgs = (cap: number, ...extra: string[]) => [
    'migrate',
    name,
    lab.hosts.dst.uri,
    '--connect',
    lab.hosts.src.uri,
    '--migrate-uri',
    `tcp://${lab.migrateAddress}`,
    '--bandwidth',
    String(cap),
    '--poll-ms',
    '250',
    ...extra,
  ];

  it('force-complete after 3 s switches to post-copy; exit 0, the outcome with its stats, the guest intact on dst', async () => {
    name = `cli-${process.pid}-${++counter}`;
    await bootGuest(lab, name);
    const cap = await busyLinkMiBps(lab, name);
    const run = start(
      migrateArgs(
        cap,
        '--flavor',
        fixture('flavor-post-copy.json'),
        '--conf',
        fixture('nova.conf'),
        '--force-complete-after',
        '3',
      ),
    );
    const code = await run.code;
    const out = run.stdout.text;
    console.log(`[e2e] cli migrate:\n${out}`);
    expect(run.stderr.text).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^Plan: LIVE\|PEER2PEER\|PERSIST_DEST\|UNDEFINE_SOURCE\|POSTCOPY = 32795$/m);
    expect(out).toMatch(/^\[\d+\.\d s\] {2}running {2}pre-copy {2}pass \d+ {2}remaining /m);
    expect(out).toContain('Force-complete after 3 s: switch-to-post-copy');
    expect(out).toContain('Status: running (post-copy)');
    expect(out).toContain('Outcome: completed: the guest runs on the destination');
    expect(out).toMatch(/^ {2}downtime: [\d,]+ ms$/m);
    expect(domainState(lab, 'dst', name)).toMatch(/^running/);
    await expectIntact(lab, 'dst', name);
  });

  it('Ctrl-C in pre-copy aborts: exit 1, cancelled, the guest intact on src', async () => {
    name = `cli-${process.pid}-${++counter}`;
    await bootGuest(lab, name);
    const cap = await busyLinkMiBps(lab, name);
    // Post-copy is on from nova.conf, but nothing forces it: the copy stays in pre-copy, which cannot converge.
    const run = start(
      migrateArgs(cap, '--flavor', fixture('extra-specs.json'), '--conf', fixture('nova.conf')),
    );
    await waitFor(() => run.stdout.text, / {2}running {2}pre-copy {2}pass \d+ {2}remaining /);
    run.interrupt();
    const code = await run.code;
    const out = run.stdout.text;
    expect(code).toBe(1);
    expect(out).toContain('Ctrl-C: abort requested; the guest stays on the source');
    expect(out).toContain('Outcome: cancelled: the guest runs on the source');
    expect(domainState(lab, 'src', name)).toMatch(/^running/);
    await expectIntact(lab, 'src', name);
  });

  it("refuses a misspelt flavor before libvirt is asked to migrate; the guest's real XML reads as a description", async () => {
    name = `cli-${process.pid}-${++counter}`;
    await bootGuest(lab, name);
    const run = start([...migrateArgs(64), '--flavor', fixture('flavor-typo.json')]);
    expect(await run.code).toBe(2);
    expect(run.stderr.text).toMatch(/^libvirt-migration-policy: INVALID_BOOLEAN: /);
    expect(run.stdout.text).toBe('');
    expect(domainState(lab, 'src', name)).toMatch(/^running/);
    // What migrate() reads before planning: libvirt 9.0's own XML for the lab guest, parsed.
    const conn = await openConnection(lab.hosts.src.uri);
    try {
      const guest = parseDomainXml(await (await conn.lookupDomainByName(name)).xml());
      expect(guest.name).toBe(name);
      expect(guest.hostDevices).toEqual([]);
      expect(copiedDisksOf(guest)).toEqual(expect.any(Array));
    } finally {
      await conn.close();
    }
  });
});
