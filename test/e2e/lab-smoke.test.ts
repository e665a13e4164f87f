/**
 * Proves the lab: a guest boots on `src`, migrates live (p2p, auto-converge) to `dst`
 * with virsh, and keeps running there with its memory pattern intact.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import {
  type ConsoleLine,
  consoleLines,
  destroyGuest,
  listGuests,
  migrationCapabilities,
  startGuest,
  virsh,
  waitForConsole,
} from '../../lab/domain.js';
import { describeLab } from './lab-gate.js';

const run = promisify(execFile);
const stats = (ls: ConsoleLine[]) => ls.filter((l) => l.kind === 'stats');

describeLab('lab smoke: boot on src, live-migrate to dst', (lab) => {
  const name = `smoke-${process.pid}`;
  const src = lab.hosts.src;
  const dst = lab.hosts.dst;

  afterAll(() => {
    destroyGuest(lab, 'src', name);
    destroyGuest(lab, 'dst', name);
  });

  it('runs the stack lab.json names, on both hosts, from the packages the stack selects', async () => {
    const majors = { lab: [9, 10], backports: [11, 10], distro: [9, 7] } as const;
    const [libvirtMajor, qemuMajor] = majors[lab.stack.name];
    for (const host of [src, dst]) {
      const out = virsh(host.uri, 'version', '--daemon');
      expect(out).toMatch(
        new RegExp(`Running against daemon: ${lab.stack.libvirt.replace(/\./g, '\\.')}\\s`),
      );
      expect(out).toMatch(new RegExp(`Running hypervisor: QEMU ${lab.stack.qemu.replace(/\./g, '\\.')}\\s`));
    }
    expect(Number.parseInt(lab.stack.libvirt, 10)).toBe(libvirtMajor);
    expect(Number.parseInt(lab.stack.qemu, 10)).toBe(qemuMajor);
    const { stdout } = await run('dpkg-query', [
      '-W',
      // dpkg-query's own field syntax, not a template literal.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, read by dpkg-query
      '-f=${Version}\\n',
      'libvirt0',
      'libvirt-daemon',
      'qemu-system-x86',
    ]);
    const [client, daemon, qemu] = stdout.trim().split('\n');
    // The library the tests load is the daemon's own release: no client/daemon mix that wasn't asked for.
    expect(client).toBe(daemon);
    expect(daemon).toBe(lab.stack.libvirtPackage);
    expect(qemu).toBe(lab.stack.qemuPackage);
  });

  it('boots, migrates with auto-converge and keeps its memory intact', async () => {
    const t0 = Date.now();
    startGuest(lab, 'src', { name, memoryMiB: 384, bufferMiB: 192, mode: 'cpu' });
    const ready = await waitForConsole(src, name, (l) => l.kind === 'ready', 120_000);
    if (ready.kind !== 'ready') throw new Error('unexpected console line');
    expect(ready).toMatchObject({ bufferMib: 192, mode: 'cpu' });
    await waitForConsole(src, name, (l) => l.kind === 'stats' && l.t > ready.t, 30_000);
    const bootMs = Date.now() - t0;

    const args = ['-c', src.uri, 'migrate', '--live', '--p2p', '--auto-converge'];
    // 64 MiB/s is below the guest's dirty rate (~80 MiB/s): the copy converges only once
    // auto-converge throttles the vCPU. LMP_SMOKE_BANDWIDTH=0 means unlimited.
    const bw = process.env.LMP_SMOKE_BANDWIDTH ?? '64';
    if (bw !== '0') args.push('--bandwidth', bw);
    args.push(name, dst.uri, `tcp://${lab.migrateAddress}`);
    const t1 = Date.now();
    let done = false;
    const migration = run('virsh', args, { timeout: 300_000 }).finally(() => {
      done = true;
    });

    // QEMU's view of the flags on the source while the migration runs.
    let sawAutoConverge = false;
    let maxThrottle = 0;
    while (!done) {
      try {
        if (migrationCapabilities(lab, 'src', name)['auto-converge']) sawAutoConverge = true;
        const m = /Auto converge throttle:\s*(\d+)/.exec(virsh(src.uri, 'domjobinfo', name));
        if (m) maxThrottle = Math.max(maxThrottle, Number(m[1]));
      } catch {
        // the source QEMU goes away when the migration completes
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await migration;
    const migrateMs = Date.now() - t1;
    expect(sawAutoConverge).toBe(true);
    expect(listGuests(lab, 'dst')).toContain(name);
    expect(listGuests(lab, 'src')).not.toContain(name);

    // The destination QEMU writes its own console file: the guest must keep working
    // there and complete a full verification sweep of its buffer with no corruption.
    const first = await waitForConsole(dst, name, (l) => l.kind === 'stats', 60_000);
    const firstSweeps = first.kind === 'stats' ? first.sweeps : 0;
    await waitForConsole(dst, name, (l) => l.kind === 'stats' && l.sweeps >= firstSweeps + 1, 120_000);
    const after = consoleLines(dst, name);
    const corrupt = after.filter((l) => l.kind === 'corrupt');
    const s = stats(after);
    const last = s.at(-1);
    console.log(
      `[e2e] boot+ready ${bootMs} ms, migration ${migrateMs} ms (bandwidth ${bw} MiB/s, max throttle ${maxThrottle}%); on dst: ${s.length} stats lines, last: ${last?.raw}`,
    );
    expect(corrupt.map((l) => l.raw)).toEqual([]);
    expect(last?.kind === 'stats' && last.corrupt).toBe(0);
    expect(s.length).toBeGreaterThanOrEqual(2);
    const a = s[0];
    const b = s.at(-1);
    if (a?.kind !== 'stats' || b?.kind !== 'stats') throw new Error('no stats lines on dst');
    expect(b.gen).toBeGreaterThan(a.gen);
    expect(b.verified).toBeGreaterThan(a.verified);
    expect(b.pagesPerS).toBeGreaterThan(0);
  });
});
