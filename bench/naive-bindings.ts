/**
 * The two naive ways to call libvirt from Node, for comparison with the library's binding in
 * `bench/agent.bench.ts`: synchronous koffi calls on the main thread, and koffi's `.async` calls, which run on
 * libuv's 4-thread pool (shared with fs, dns and crypto). Only what the benchmark polls is declared.
 */
import { createRequire } from 'node:module';
import type Koffi from 'koffi';

const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
// virDomainJobInfo: int type, then 11 unsigned long long fields.
koffi.struct('lmp_naive_job_info', { type: 'int', rest: koffi.array('unsigned long long', 11) });

/** One naive connection: `virConnectOpen` on the main thread, then job-info polls either way. */
export interface NaiveConnection {
  /** `virDomainGetJobInfo`'s type for each domain, synchronously on the main thread. */
  pollSync(): number[];
  /** The same on libuv's pool through koffi's `.async`. */
  pollAsync(): Promise<number[]>;
  close(): void;
}

/** Opens `uri` and looks up `names` the naive way. */
export function openNaive(uri: string, names: readonly string[]): NaiveConnection {
  const lib = koffi.load('libvirt.so.0');
  const open = lib.func('void *virConnectOpen(const char *uri)');
  const close = lib.func('int virConnectClose(void *conn)');
  const lookup = lib.func('void *virDomainLookupByName(void *conn, const char *name)');
  const free = lib.func('int virDomainFree(void *dom)');
  const jobInfo = lib.func('int virDomainGetJobInfo(void *dom, _Out_ lmp_naive_job_info *info)');
  const conn = open(uri);
  if (!conn) throw new Error(`virConnectOpen(${uri}) failed`);
  const doms = names.map((n) => {
    const d = lookup(conn, n);
    if (!d) throw new Error(`virDomainLookupByName(${n}) failed`);
    return d;
  });
  return {
    pollSync: () =>
      doms.map((d) => {
        const info = { type: 0, rest: [] };
        jobInfo(d, info);
        return info.type;
      }),
    pollAsync: () =>
      Promise.all(
        doms.map(
          (d) =>
            new Promise<number>((resolve, reject) => {
              const info = { type: 0, rest: [] };
              jobInfo.async(d, info, (err: unknown) => (err ? reject(err) : resolve(info.type)));
            }),
        ),
      ),
    close: () => {
      for (const d of doms) free(d);
      close(conn);
    },
  };
}
