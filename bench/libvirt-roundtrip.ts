/**
 * `npx tsx bench/libvirt-roundtrip.ts [uri] [n]`: what one libvirt call costs through the binding (a post
 * to the connection's worker, the C call there, the reply), against the same C call made synchronously on
 * the main thread, as the binding did before it moved every call off the main thread. Default URI
 * `test:///default` (in-process driver: the figure is pure binding overhead). Prints µs per call.
 */
import { openConnection } from '../src/libvirt/index.js';
import { loadLibvirt } from '../src/libvirt/symbols.js';

const uri = process.argv[2] ?? 'test:///default';
const n = Number(process.argv[3] ?? 5000);

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return `mean ${(mean * 1000).toFixed(1)} µs, p50 ${(at(0.5) * 1000).toFixed(1)} µs, p99 ${(at(0.99) * 1000).toFixed(1)} µs`;
}

const conn = await openConnection(uri);
for (let i = 0; i < 200; i++) await conn.libVersion(); // warm-up: JIT, worker's first calls
const async: number[] = [];
for (let i = 0; i < n; i++) {
  const t = performance.now();
  await conn.libVersion();
  async.push(performance.now() - t);
}
await conn.close();

// Baseline: the raw C call on this thread (what the synchronous binding did; never do this in a program).
const sym = loadLibvirt();
const ptr = sym.virConnectOpen(uri);
if (ptr === null) throw new Error(`virConnectOpen(${uri}) failed`);
const out: [number | bigint] = [0];
for (let i = 0; i < 200; i++) sym.virConnectGetLibVersion(ptr, out);
const sync: number[] = [];
for (let i = 0; i < n; i++) {
  const t = performance.now();
  sym.virConnectGetLibVersion(ptr, out);
  sync.push(performance.now() - t);
}
sym.virConnectClose(ptr);

console.log(`libVersion() on ${uri}, ${n} sequential calls, node ${process.version}`);
console.log(`  async, connection worker: ${stats(async)}`);
console.log(`  sync, main thread (baseline): ${stats(sync)}`);
