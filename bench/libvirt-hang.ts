/**
 * `npx tsx bench/libvirt-hang.ts <lab.json>`: what a hung libvirtd does to a program using the binding, on the
 * lab's `src` host (lab/up.sh). Stops the daemon with SIGSTOP and, while it is stopped, keeps a 10 ms
 * interval and `perf_hooks.monitorEventLoopDelay` running on the main thread. Always sends SIGCONT after.
 *
 *   -. baseline: 8 s of nothing, the machine's own event-loop noise;
 *   0. before: the raw C call on the main thread (what the binding did before), daemon stopped 8 s;
 *   1. `libVersion()` through the binding, daemon stopped 8 s (< keepalive): the call waits, the loop runs;
 *   2. daemon stopped 40 s with libvirt's default keepalive (5 s × 5) and call deadline (30 s);
 *   3. daemon stopped 15 s with keepAlive 2 s × 3 and a 60 s deadline: the loss is what ends the call.
 *
 * Prints one line per phase: how the call ended, after how long, and the main thread's figures.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LibvirtError } from '../src/errors.js';
import { type OpenOptions, openConnection } from '../src/libvirt/index.js';
import { loadLibvirt } from '../src/libvirt/symbols.js';

interface LabHost {
  uri: string;
  pids?: { libvirtd?: number };
  libvirtdPid?: number;
}

const lab = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as {
  hosts: Record<string, LabHost>;
};
const src = lab.hosts.src as LabHost;
const maybePid = src?.pids?.libvirtd ?? src?.libvirtdPid;
if (!src?.uri || !maybePid) throw new Error('lab.json lacks hosts.src.uri or its libvirtd pid');
const pid: number = maybePid;

// The histogram's first sample only sets its reference point: start it, then let it tick before blocking.
async function measure(): Promise<{ stop(): string }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let ticks = 0;
  const interval = setInterval(() => ticks++, 10);
  await new Promise((r) => setTimeout(r, 200));
  ticks = 0; // the histogram keeps its 200 ms of warm-up samples: reset() would drop the next (possibly huge) one
  const start = performance.now();
  return {
    stop() {
      clearInterval(interval);
      h.disable();
      const ms = performance.now() - start;
      const q = (p: number): string => (h.percentile(p) / 1e6).toFixed(1);
      return `${ticks} ticks of 10 ms in ${ms.toFixed(0)} ms; loop delay p50 ${q(50)} ms, p99 ${q(99)} ms, max ${(h.max / 1e6).toFixed(1)} ms`;
    },
  };
}

// SIGCONT from another process: in phase 0 this one cannot run a timer.
function contAfter(ms: number): void {
  spawn('sh', ['-c', `sleep ${ms / 1000}; kill -CONT ${pid}`], { stdio: 'ignore', detached: true }).unref();
}

function describe(err: unknown): string {
  if (err instanceof LibvirtError) return `${err.code} (${err.call}: ${err.libvirtMessage})`;
  return err instanceof Error ? err.message : String(err);
}

async function phase(name: string, stopMs: number, options: OpenOptions): Promise<void> {
  const conn = await openConnection(src.uri, options);
  await conn.libVersion();
  const m = await measure();
  process.kill(pid, 'SIGSTOP');
  const resume = setTimeout(() => process.kill(pid, 'SIGCONT'), stopMs);
  const start = performance.now();
  let outcome: string;
  try {
    outcome = `resolved ${await conn.libVersion()}`;
  } catch (err) {
    outcome = `rejected ${describe(err)}`;
  }
  const callMs = performance.now() - start;
  // How long until the connection itself is declared lost, while the daemon is still stopped.
  const left = Math.max(0, stopMs - callMs - 500);
  const closed = await Promise.race([conn.closed, new Promise((r) => setTimeout(() => r(undefined), left))]);
  const lostMs = performance.now() - start;
  const figures = m.stop();
  clearTimeout(resume);
  process.kill(pid, 'SIGCONT');
  const reason = (closed as { reason?: string } | undefined)?.reason;
  const lost = reason ? `closed (${reason}) after ${lostMs.toFixed(0)} ms` : 'still open';
  console.log(`${name}: after ${callMs.toFixed(0)} ms ${outcome}; connection ${lost}`);
  console.log(`   ${figures}`);
  await conn.close();
  await new Promise((r) => setTimeout(r, 1000)); // let the daemon catch up after SIGCONT
}

try {
  {
    // The machine's own noise: nothing but the interval and the histogram.
    const m = await measure();
    await new Promise((r) => setTimeout(r, 8000));
    console.log('- idle baseline, 8 s, no libvirt call');
    console.log(`   ${m.stop()}`);
  }
  {
    const sym = loadLibvirt();
    const ptr = sym.virConnectOpen(src.uri);
    if (ptr === null) throw new Error('virConnectOpen failed');
    const out: [number | bigint] = [0];
    const m = await measure();
    process.kill(pid, 'SIGSTOP');
    contAfter(8000);
    const start = performance.now();
    sym.virConnectGetLibVersion(ptr, out);
    const callMs = performance.now() - start;
    await new Promise((r) => setTimeout(r, 50));
    console.log(`0 sync on main thread, stopped 8 s: returned after ${callMs.toFixed(0)} ms`);
    console.log(`   ${m.stop()}`);
    sym.virConnectClose(ptr);
    await new Promise((r) => setTimeout(r, 1000));
  }
  await phase('1 async, stopped 8 s, defaults', 8000, {});
  await phase('2 async, stopped 40 s, defaults (keepalive 5 s x 5, deadline 30 s)', 40_000, {});
  await phase('3 async, stopped 15 s, keepalive 2 s x 3, deadline 60 s', 15_000, {
    keepAlive: { intervalSeconds: 2, count: 3 },
    callTimeoutMs: 60_000,
  });
} finally {
  process.kill(pid, 'SIGCONT');
}
