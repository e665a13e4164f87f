/**
 * What the fault suites do to the lab itself: stop, continue and kill a host's libvirtd, bring a host back,
 * and run an agent in a separate process that can be killed like a crashed compute agent.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { HostName, LabInfo } from '../../lab/domain.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** The pid of `host`'s running libvirtd, read from its pid file (lab.json's pids go stale after a restart). */
export function libvirtdPid(lab: LabInfo, host: HostName): number {
  const file = join(lab.stateDir, host, 'pids', 'libvirtd.pid');
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no libvirtd pid in ${file}`);
  return pid;
}

/** Sends `signal` to `host`'s libvirtd. */
export function signalDaemon(lab: LabInfo, host: HostName, signal: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL'): void {
  process.kill(libvirtdPid(lab, host), signal);
}

/**
 * Starts `host`'s libvirtd again inside the host's own namespaces (entered through its virtlogd, which
 * survives), as systemd would restart a crashed daemon: its QEMUs keep running and the new daemon finds them
 * through its state in the host's private /run.
 */
export async function restartLibvirtd(lab: LabInfo, host: HostName): Promise<void> {
  const pids = join(lab.stateDir, host, 'pids');
  const virtlogd = Number(readFileSync(join(pids, 'virtlogd.pid'), 'utf8').trim());
  execFileSync(
    'nsenter',
    [
      '--target',
      String(virtlogd),
      '--mount',
      '--net',
      '--',
      'libvirtd',
      '-d',
      // A TLS lab's libvirtd listens for qemu+tls:// (lab/up.sh starts it so).
      ...(lab.tls?.enabled ? ['--listen'] : []),
      '-f',
      '/etc/libvirt/libvirtd.conf',
      '-p',
      join(pids, 'libvirtd.pid'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      execFileSync('virsh', ['-c', lab.hosts[host].uri, 'version'], { stdio: 'ignore', timeout: 10_000 });
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`${host}'s libvirtd did not answer after its restart: ${err}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Starts again whichever lab host is down (`lab/up.sh` keeps a host that is still up, with its guests). */
export function restartDownHosts(lab: LabInfo): void {
  execFileSync('bash', [join(ROOT, 'lab', 'up.sh')], {
    env: {
      ...process.env,
      LAB_NAME: lab.name,
      LAB_STACK: lab.stack.name,
      LAB_TLS: lab.tls?.enabled ? '1' : '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 180_000,
  });
}

/** Event-loop delay of this process while `fn` runs: p50, p99 and max in ms. */
export async function loopDelayDuring<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; p50: number; p99: number; max: number }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  try {
    const result = await fn();
    return { result, p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
  } finally {
    h.disable();
  }
}

/** A line an agent child process printed (see agent-child.ts). */
export type AgentLine = { kind: string; [k: string]: unknown };

/** An agent in its own process, running `migrate()` for one guest; kill it to simulate a crash. */
export interface AgentProcess {
  child: ChildProcess;
  lines: AgentLine[];
  /** Resolves with the first line that satisfies `predicate`. */
  waitFor(predicate: (l: AgentLine) => boolean, timeoutMs?: number): Promise<AgentLine>;
}

/**
 * Starts test/e2e/agent-child.ts with `options` (JSON): it migrates and prints one JSON line per event. With
 * `on`, the agent runs on that lab host (its network namespace and /etc/hosts, lab/in-host.sh), where the
 * other host is reachable over the lab link as a real agent reaches it; in-host.sh exec's, so the child's pid
 * is the agent's.
 */
export function startAgent(
  options: Record<string, unknown>,
  on?: { lab: LabInfo; host: HostName },
): AgentProcess {
  const agent = [
    process.execPath,
    '--import',
    'tsx',
    join(import.meta.dirname, 'agent-child.ts'),
    JSON.stringify(options),
  ];
  const [command, ...args] =
    on === undefined ? agent : ['bash', join(ROOT, 'lab', 'in-host.sh'), on.host, ...agent];
  const child = spawn(command as string, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    ...(on === undefined ? {} : { env: { ...process.env, LAB_NAME: on.lab.name } }),
  });
  const lines: AgentLine[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const text = buffer.slice(0, i).trim();
      buffer = buffer.slice(i + 1);
      if (!text.startsWith('{')) continue;
      lines.push(JSON.parse(text) as AgentLine);
      for (const w of waiters) w();
    }
  });
  return {
    child,
    lines,
    waitFor(predicate, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(predicate);
          if (!hit) return;
          cleanup();
          resolve(hit);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `agent printed no matching line within ${timeoutMs} ms; last: ${JSON.stringify(lines.at(-1))}`,
            ),
          );
        }, timeoutMs);
        const onExit = () => {
          cleanup();
          reject(new Error(`agent exited before a matching line; last: ${JSON.stringify(lines.at(-1))}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', onExit);
        };
        waiters.add(check);
        child.once('exit', onExit);
        check();
      });
    },
  };
}
