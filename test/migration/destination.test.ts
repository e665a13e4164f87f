/**
 * The job's own connection to the destination (DestinationProbe): opened on the first question with the
 * job's deadline, kept while it answers, dropped when it fails so that the next question reaches a
 * destination whose link came back — and never dropped by a late failure of a connection already replaced.
 */
import { describe, expect, it } from 'vitest';
import type { CallOptions, LibvirtBackend, LibvirtConnection, OpenOptions } from '../../src/libvirt/types.js';
import { DestinationProbe } from '../../src/migration/destination.js';
import { libvirtError, noDomain } from '../support/fake-libvirt.js';

const POSTCOPY_RUNNING = 10;

type Answer = () => Promise<unknown>;

/** A destination connection answering from a script; it records what it was asked and whether it was closed. */
class ScriptedConnection {
  closed = 0;
  readonly calls: { call: string; options: CallOptions | undefined }[] = [];
  constructor(private readonly answers: { libVersion?: Answer; state?: Answer; lookup?: Answer }) {}
  libVersion(options?: CallOptions) {
    this.calls.push({ call: 'libVersion', options });
    return (this.answers.libVersion ?? (async () => 9_000_000))();
  }
  async lookupDomainByUUID(uuid: string, options?: CallOptions) {
    this.calls.push({ call: `lookup ${uuid}`, options });
    await (this.answers.lookup ?? (async () => undefined))();
    return {
      state: (o?: CallOptions) => {
        this.calls.push({ call: 'state', options: o });
        return (this.answers.state ?? (async () => ({ state: 'running', reason: POSTCOPY_RUNNING })))();
      },
    };
  }
  async close() {
    this.closed++;
  }
}

/** A backend handing out the given connections in order, recording each open's URI and options. */
function backendOf(...connections: ScriptedConnection[]) {
  const opens: { uri: string; options: OpenOptions | undefined }[] = [];
  const backend: LibvirtBackend = {
    open: async (uri, options) => {
      opens.push({ uri, options });
      const next = connections.shift();
      if (next === undefined) throw libvirtError(38, 'no more connections', 'virConnectOpen');
      return next as unknown as LibvirtConnection;
    },
  };
  return { backend, opens };
}

const URI = 'qemu+tcp://dst/system';

describe('DestinationProbe', () => {
  it("opens one connection with the job's deadline and passes the deadline to every call", async () => {
    const conn = new ScriptedConnection({ libVersion: async () => 11_003_000 });
    const { backend, opens } = backendOf(conn);
    const probe = new DestinationProbe(backend, URI, 1234);
    expect(await probe.libVersion()).toBe(11_003_000);
    expect(await probe.phase('u-1')).toBe('post-copy');
    expect(opens).toEqual([{ uri: URI, options: { callTimeoutMs: 1234 } }]);
    expect(conn.calls).toEqual([
      { call: 'libVersion', options: { timeoutMs: 1234 } },
      { call: 'lookup u-1', options: { timeoutMs: 1234 } },
      { call: 'state', options: { timeoutMs: 1234 } },
    ]);
  });

  it('reads the copy on the destination: gone when libvirt has no such domain, unknown when it cannot be asked', async () => {
    const gone = new ScriptedConnection({ lookup: async () => Promise.reject(noDomain()) });
    const probe = new DestinationProbe(backendOf(gone).backend, URI, 500);
    expect(await probe.phase('u-1')).toBe('gone');
    // "No such domain" is an answer: the connection works and is kept.
    expect(gone.closed).toBe(0);

    const broken = new ScriptedConnection({
      state: async () => Promise.reject(libvirtError(1, 'internal error', 'virDomainGetState')),
    });
    const second = new DestinationProbe(backendOf(broken).backend, URI, 500);
    expect(await second.phase('u-1')).toBe('unknown');
  });

  it('drops a connection that failed, so the next question opens a new one', async () => {
    const first = new ScriptedConnection({
      libVersion: async () => Promise.reject(libvirtError(38, 'connection reset', 'virConnectGetLibVersion')),
    });
    const second = new ScriptedConnection({ libVersion: async () => 9_000_000 });
    const { backend, opens } = backendOf(first, second);
    const probe = new DestinationProbe(backend, URI, 500);
    await expect(probe.libVersion()).rejects.toThrow('connection reset');
    await Promise.resolve();
    expect(first.closed).toBe(1);
    expect(await probe.libVersion()).toBe(9_000_000);
    expect(opens).toHaveLength(2);
    expect(second.closed).toBe(0);
  });

  it('keeps a connection after "no such domain", and asks on it again', async () => {
    let lookups = 0;
    const conn = new ScriptedConnection({
      lookup: async () => (++lookups === 1 ? Promise.reject(noDomain()) : undefined),
    });
    const { backend, opens } = backendOf(conn);
    const probe = new DestinationProbe(backend, URI, 500);
    expect(await probe.phase('u-1')).toBe('gone');
    expect(await probe.phase('u-1')).toBe('post-copy');
    expect(opens).toHaveLength(1);
    expect(conn.closed).toBe(0);
  });

  it('a late failure of a connection already replaced leaves the new one open', async () => {
    let fail: (error: Error) => void = () => undefined;
    const old = new ScriptedConnection({
      libVersion: () => new Promise((_, reject) => (fail = reject)),
    });
    const fresh = new ScriptedConnection({});
    const { backend } = backendOf(old, fresh);
    const probe = new DestinationProbe(backend, URI, 500);
    const slow = probe.libVersion();
    await Promise.resolve();
    probe.close(); // the job closed it meanwhile…
    expect(await probe.libVersion()).toBe(9_000_000); // …and a new question opened a new connection
    fail(libvirtError(38, 'connection reset', 'virConnectGetLibVersion'));
    await expect(slow).rejects.toThrow('connection reset');
    await new Promise((r) => setTimeout(r, 0));
    expect(old.closed).toBe(1);
    expect(fresh.closed).toBe(0);
  });

  it('close() closes the open connection, in the background, and a closed probe opens again when asked', async () => {
    const first = new ScriptedConnection({});
    const second = new ScriptedConnection({});
    const { backend, opens } = backendOf(first, second);
    const probe = new DestinationProbe(backend, URI, 500);
    await probe.libVersion();
    probe.close();
    await new Promise((r) => setTimeout(r, 0));
    expect(first.closed).toBe(1);
    await probe.libVersion();
    expect(opens).toHaveLength(2);
    probe.close();
    probe.close(); // twice is harmless
    await new Promise((r) => setTimeout(r, 0));
    expect(second.closed).toBe(1);
  });
});
