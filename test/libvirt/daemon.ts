import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private libvirtd serving libvirt's test driver over a Unix socket, to hang and kill at will. */
export interface PrivateDaemon {
  /** `test+unix:///default?socket=…`: the test driver, but through a real daemon and RPC. */
  uri: string;
  pid: number;
  /** SIGSTOP: the daemon hangs, as a deadlocked libvirtd does. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Kills it (also when stopped) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts libvirtd (root, Debian's `libvirt-daemon`) in its own mount namespace, as lab/up.sh does, so it
 * shares no socket, pid file or state with any other daemon on the machine. Starts in ~0.2 s: no guest,
 * no network, nothing autostarted.
 */
export async function startPrivateDaemon(): Promise<PrivateDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'lmp-bind-daemon-'));
  for (const sub of ['etc', 'lib', 'log', 'cache', 'sock']) mkdirSync(join(dir, sub));
  writeFileSync(
    join(dir, 'etc', 'libvirtd.conf'),
    [
      `unix_sock_dir = "${dir}/sock"`,
      'auth_unix_rw = "none"',
      'auth_unix_ro = "none"',
      'log_outputs = "2:file:/var/log/libvirt/libvirtd.log"',
      '',
    ].join('\n'),
  );
  const script = [
    'set -e',
    'mount -t tmpfs -o size=16m lmp-bind /run',
    `mount --bind ${dir}/etc /etc/libvirt`,
    `mount --bind ${dir}/lib /var/lib/libvirt`,
    `mount --bind ${dir}/log /var/log/libvirt`,
    `mount --bind ${dir}/cache /var/cache/libvirt`,
    'exec libvirtd -f /etc/libvirt/libvirtd.conf',
  ].join('\n');
  // unshare and bash exec into libvirtd: the child's pid is the daemon's.
  const child: ChildProcess = spawn(
    'unshare',
    ['-m', '--propagation', 'private', '--', '/bin/bash', '-c', script],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const socket = join(dir, 'sock', 'libvirt-sock');
  const start = Date.now();
  while (!existsSync(socket)) {
    if (child.exitCode !== null || Date.now() - start > 20_000) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`private libvirtd did not start (needs root and libvirt-daemon): ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const pid = child.pid as number;
  const signal = (sig: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, sig);
  };
  return {
    uri: `test+unix:///default?socket=${socket}`,
    pid,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    // SIGKILL: nothing in this daemon is worth a clean shutdown (libvirtd takes seconds over SIGTERM), and its
    // mounts vanish with its namespace.
    async stop() {
      signal('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
