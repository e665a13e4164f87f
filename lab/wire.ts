/**
 * What crossed the lab's link: a packet capture on a host's end of the veth pair (`tcpdump` in the host's
 * network namespace) and a reader that follows every TCP connection in it byte for byte and parses each
 * direction as a sequence of TLS records. A connection is TLS when both directions are nothing but whole TLS
 * records (content types 20–23, version 3.x, lengths within the protocol's bound) from their first byte, and
 * the client's first record is a handshake. Node builtins only.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import type { LabHost } from './domain.js';

/** TLS content types a record may carry: change_cipher_spec, alert, handshake, application_data. */
export const TLS_CONTENT_TYPES = {
  20: 'change_cipher_spec',
  21: 'alert',
  22: 'handshake',
  23: 'application_data',
};

/** The largest record a TLS 1.2 peer may send (2^14 + 2048, RFC 5246 §6.2.3); TLS 1.3's bound is lower. */
const MAX_RECORD = 2 ** 14 + 2048;
/** Out-of-order data held per direction before the gap is declared a loss (packets the capture dropped). */
const MAX_HELD = 64 * 1024 * 1024;

/** One direction of a TCP connection, parsed as TLS records. */
export interface TlsDirection {
  /** Payload bytes seen, in order. */
  bytes: number;
  /** The first bytes of the payload, hex (`16 03 01 …` for a ClientHello). */
  firstBytes: string;
  /** Whole records, by content type. */
  records: Partial<Record<20 | 21 | 22 | 23, number>>;
  /** Why this direction is not a clean sequence of TLS records, if it is not. */
  problem?: string;
}

/** One TCP connection of the capture. */
export interface TcpConnection {
  /** `169.254.77.1:45392`: the side that sent the SYN. */
  client: string;
  /** `169.254.77.2:49152`: the side that answered it. */
  server: string;
  serverPort: number;
  /** The capture saw the SYN (else it began after the connection opened and proves nothing of its start). */
  sawSyn: boolean;
  /** Both sides closed (FIN or RST) within the capture. */
  closed: boolean;
  toServer: TlsDirection;
  toClient: TlsDirection;
}

/** True when the connection opened with a TLS handshake and carried only TLS records, both ways. */
export function isTls(c: TcpConnection): boolean {
  return (
    c.sawSyn &&
    c.toServer.problem === undefined &&
    c.toClient.problem === undefined &&
    c.toServer.firstBytes.startsWith('16 03') &&
    (c.toServer.records[22] ?? 0) > 0
  );
}

/** Why {@link isTls} says no, in a sentence; `undefined` when it says yes. */
export function notTlsBecause(c: TcpConnection): string | undefined {
  if (!c.sawSyn) return `${c.client} → ${c.server}: opened before the capture started`;
  for (const [side, d] of [
    ['client → server', c.toServer],
    ['server → client', c.toClient],
  ] as const) {
    if (d.problem !== undefined) return `${c.client} → ${c.server} (${side}): ${d.problem}`;
  }
  if (!c.toServer.firstBytes.startsWith('16 03'))
    return `${c.client} → ${c.server}: the client's first bytes are ${c.toServer.firstBytes || '(none)'}, not a TLS handshake (16 03 …)`;
  return undefined;
}

/** Follows one direction's bytes in sequence order and cuts them into TLS records. */
class DirectionReader {
  readonly out: TlsDirection = { bytes: 0, firstBytes: '', records: {} };
  #base: number | undefined;
  #next = 0;
  #held = new Map<number, Buffer>();
  #heldBytes = 0;
  #header = Buffer.alloc(5);
  #headerFill = 0;
  #body = 0;

  syn(seq: number): void {
    this.#base = (seq + 1) >>> 0;
  }

  segment(seq: number, payload: Buffer): void {
    if (this.#base === undefined || payload.length === 0 || this.out.problem !== undefined) return;
    let offset = (seq - this.#base) >>> 0;
    if (offset > 2 ** 31) return; // before the stream's start (a stale retransmission of the SYN's era)
    let data = payload;
    if (offset < this.#next) {
      const overlap = this.#next - offset;
      if (overlap >= data.length) return; // retransmitted, already seen
      data = data.subarray(overlap);
      offset = this.#next;
    }
    if (offset > this.#next) {
      if (!this.#held.has(offset)) {
        this.#held.set(offset, Buffer.from(data));
        this.#heldBytes += data.length;
      }
      if (this.#heldBytes > MAX_HELD) this.#gap();
      return;
    }
    this.#feed(data);
    this.#drain();
  }

  /** The capture ended: data still held means bytes were missing in between. */
  finish(): void {
    if (this.#held.size > 0 && this.out.problem === undefined) this.#gap();
  }

  #gap(): void {
    const next = Math.min(...this.#held.keys());
    this.out.problem = `${next - this.#next} bytes missing at offset ${this.#next} (packets the capture dropped?): the record sequence cannot be followed`;
    this.#held.clear();
    this.#heldBytes = 0;
  }

  #drain(): void {
    for (;;) {
      let progressed = false;
      for (const [offset, data] of this.#held) {
        if (offset > this.#next) continue;
        this.#held.delete(offset);
        this.#heldBytes -= data.length;
        const skip = this.#next - offset;
        if (skip < data.length) this.#feed(data.subarray(skip));
        progressed = true;
      }
      if (!progressed || this.out.problem !== undefined) return;
    }
  }

  #feed(data: Buffer): void {
    if (this.out.firstBytes.length < 8 * 3) {
      const have = this.out.firstBytes === '' ? 0 : this.out.firstBytes.split(' ').length;
      const more = [...data.subarray(0, 8 - have)].map((b) => b.toString(16).padStart(2, '0'));
      this.out.firstBytes = [...(have === 0 ? [] : this.out.firstBytes.split(' ')), ...more].join(' ');
    }
    let i = 0;
    while (i < data.length && this.out.problem === undefined) {
      if (this.#body > 0) {
        const take = Math.min(this.#body, data.length - i);
        this.#body -= take;
        i += take;
        continue;
      }
      const take = Math.min(5 - this.#headerFill, data.length - i);
      data.copy(this.#header, this.#headerFill, i, i + take);
      this.#headerFill += take;
      i += take;
      if (this.#headerFill === 5) this.#record(this.out.bytes + i - 5);
    }
    this.out.bytes += data.length;
    this.#next += data.length;
  }

  #record(at: number): void {
    const [type = 0, major = 0, minor = 0] = this.#header;
    const length = this.#header.readUInt16BE(3);
    this.#headerFill = 0;
    if (!(type in TLS_CONTENT_TYPES) || major !== 3 || minor > 4 || length === 0 || length > MAX_RECORD) {
      const hex = [...this.#header].map((b) => b.toString(16).padStart(2, '0')).join(' ');
      this.out.problem = `offset ${at}: ${hex} is not a TLS record header (content type 20–23, version 3.x, length 1–${MAX_RECORD})`;
      return;
    }
    const t = type as 20 | 21 | 22 | 23;
    this.out.records[t] = (this.out.records[t] ?? 0) + 1;
    this.#body = length;
  }
}

/** Incremental reader of a classic pcap file (Ethernet, IPv4), calling `onTcp` for every TCP segment. */
class PcapReader {
  #pending: Buffer = Buffer.alloc(0);
  #little = true;
  #started = false;

  constructor(private readonly onTcp: (t: TcpSegment) => void) {}

  push(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    let at = 0;
    const buf = this.#pending;
    if (!this.#started) {
      if (buf.length < 24) return;
      const magic = buf.readUInt32LE(0);
      if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) this.#little = true;
      else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) this.#little = false;
      else throw new Error(`not a pcap file (magic ${magic.toString(16)})`);
      const link = this.#little ? buf.readUInt32LE(20) : buf.readUInt32BE(20);
      if (link !== 1) throw new Error(`pcap link type ${link}: only Ethernet (1) is read`);
      this.#started = true;
      at = 24;
    }
    while (buf.length - at >= 16) {
      const caplen = this.#little ? buf.readUInt32LE(at + 8) : buf.readUInt32BE(at + 8);
      if (buf.length - at - 16 < caplen) break;
      this.#frame(buf.subarray(at + 16, at + 16 + caplen));
      at += 16 + caplen;
    }
    this.#pending = buf.subarray(at);
  }

  #frame(f: Buffer): void {
    if (f.length < 14 + 20 || f.readUInt16BE(12) !== 0x0800) return;
    const ip = f.subarray(14);
    const headerLength = ((ip[0] ?? 0) & 0x0f) * 4;
    if (ip[9] !== 6 || headerLength < 20) return;
    const total = ip.readUInt16BE(2);
    // A segmentation-offload super-packet larger than 64 KiB carries 0 here: take what was captured.
    const end = total === 0 ? ip.length : Math.min(total, ip.length);
    const tcp = ip.subarray(headerLength, end);
    if (tcp.length < 20) return;
    const dataOffset = ((tcp[12] ?? 0) >> 4) * 4;
    const flags = tcp[13] ?? 0;
    this.onTcp({
      src: `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`,
      dst: `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`,
      srcPort: tcp.readUInt16BE(0),
      dstPort: tcp.readUInt16BE(2),
      seq: tcp.readUInt32BE(4),
      syn: (flags & 0x02) !== 0,
      ack: (flags & 0x10) !== 0,
      fin: (flags & 0x01) !== 0,
      rst: (flags & 0x04) !== 0,
      payload: tcp.subarray(dataOffset),
    });
  }
}

interface TcpSegment {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  syn: boolean;
  ack: boolean;
  fin: boolean;
  rst: boolean;
  payload: Buffer;
}

interface Flow {
  connection: TcpConnection;
  toServer: DirectionReader;
  toClient: DirectionReader;
  clientKey: string;
  finClient: boolean;
  finServer: boolean;
}

/** Follows every TCP connection of a stream of pcap bytes; {@link TlsCapture.connections} when done. */
export class TlsCapture {
  #flows = new Map<string, Flow>();
  #order: Flow[] = [];
  #reader = new PcapReader((s) => this.#segment(s));

  /** Feeds the next bytes of the pcap file. */
  push(chunk: Buffer): void {
    this.#reader.push(chunk);
  }

  /** Every connection seen, in the order they appeared. */
  connections(): TcpConnection[] {
    for (const f of this.#order) {
      f.toServer.finish();
      f.toClient.finish();
      f.connection.closed = f.finClient && f.finServer;
    }
    return this.#order.map((f) => f.connection);
  }

  #segment(s: TcpSegment): void {
    const a = `${s.src}:${s.srcPort}`;
    const b = `${s.dst}:${s.dstPort}`;
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    let flow = this.#flows.get(key);
    // A SYN on the ports of a connection that closed is a new connection on reused ports.
    if (flow !== undefined && s.syn && !s.ack && (flow.finClient || flow.finServer)) flow = undefined;
    if (flow === undefined) {
      const clientIsSrc = s.syn ? !s.ack : true;
      const client = clientIsSrc ? a : b;
      const server = clientIsSrc ? b : a;
      flow = {
        connection: {
          client,
          server,
          serverPort: clientIsSrc ? s.dstPort : s.srcPort,
          sawSyn: s.syn && !s.ack,
          closed: false,
          toServer: { bytes: 0, firstBytes: '', records: {} },
          toClient: { bytes: 0, firstBytes: '', records: {} },
        },
        toServer: new DirectionReader(),
        toClient: new DirectionReader(),
        clientKey: client,
        finClient: false,
        finServer: false,
      };
      flow.connection.toServer = flow.toServer.out;
      flow.connection.toClient = flow.toClient.out;
      this.#flows.set(key, flow);
      this.#order.push(flow);
    }
    const fromClient = a === flow.clientKey;
    const reader = fromClient ? flow.toServer : flow.toClient;
    if (s.syn) reader.syn(s.seq);
    reader.segment(s.syn ? (s.seq + 1) >>> 0 : s.seq, s.payload);
    if (s.fin || s.rst) {
      if (fromClient) flow.finClient = true;
      else flow.finServer = true;
      if (s.rst) {
        flow.finClient = true;
        flow.finServer = true;
      }
    }
  }
}

/** Reads a pcap file and returns its TCP connections, each parsed as TLS. */
export async function readCapture(file: string): Promise<TcpConnection[]> {
  const capture = new TlsCapture();
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) {
    capture.push(chunk as Buffer);
  }
  return capture.connections();
}

/** A running `tcpdump` on one lab host's link. */
export interface LinkCapture {
  file: string;
  /** Stops tcpdump (SIGINT to its pid) and returns how many packets the kernel dropped (0 = a full record). */
  stop(): Promise<{ dropped: number; captured: number }>;
}

/**
 * Starts `tcpdump` in `host`'s network namespace on its end of the lab link, writing every TCP packet whole
 * to `file`, with a 64 MiB kernel buffer so a busy machine does not drop packets. Resolves once tcpdump
 * listens.
 */
export async function captureLink(host: LabHost, file: string): Promise<LinkCapture> {
  const child: ChildProcess = spawn(
    'ip',
    [
      'netns',
      'exec',
      host.netns,
      'tcpdump',
      '-i',
      host.link,
      '-s',
      '0',
      '-B',
      '65536',
      '-Z',
      'root',
      '-w',
      file,
      'tcp',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 15_000;
  while (!stderr.includes('listening on')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`tcpdump on ${host.name}'s ${host.link} did not start: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    file,
    async stop() {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      const count = (what: string) =>
        Number(new RegExp(`(\\d+) packets? ${what}`).exec(stderr)?.[1] ?? Number.NaN);
      return { dropped: count('dropped by kernel'), captured: count('captured') };
    },
  };
}
