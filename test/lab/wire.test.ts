/**
 * The capture reader the TLS suites rely on, fed pcap files built here byte by byte: it must follow a TLS
 * stream across segment boundaries, reordering and retransmissions, and must say no to a plain stream, a
 * connection that began before the capture, and a stream with bytes missing.
 */
import { describe, expect, it } from 'vitest';
import { isTls, notTlsBecause, TlsCapture } from '../../lab/wire.js';

const CLIENT = [169, 254, 77, 1] as const;
const SERVER = [169, 254, 77, 2] as const;

/** A classic little-endian pcap of Ethernet/IPv4/TCP frames. */
function pcap(frames: Buffer[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  const records = frames.map((f) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, f]);
  });
  return Buffer.concat([header, ...records]);
}

interface Segment {
  fromClient: boolean;
  seq: number;
  flags: number;
  payload?: Buffer;
}
const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;

function frame({ fromClient, seq, flags, payload = Buffer.alloc(0) }: Segment): Buffer {
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x0800, 12);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 20 + payload.length, 2);
  ip[9] = 6;
  Buffer.from(fromClient ? CLIENT : SERVER).copy(ip, 12);
  Buffer.from(fromClient ? SERVER : CLIENT).copy(ip, 16);
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(fromClient ? 45392 : 49152, 0);
  tcp.writeUInt16BE(fromClient ? 49152 : 45392, 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  return Buffer.concat([eth, ip, tcp, payload]);
}

/** TLS records: [content type, body length]. */
function records(list: [number, number][]): Buffer {
  return Buffer.concat(
    list.map(([type, length]) => {
      const h = Buffer.from([type, 3, 3, 0, 0]);
      h.writeUInt16BE(length, 3);
      return Buffer.concat([h, Buffer.alloc(length, 0xab)]);
    }),
  );
}

/** A connection carrying `toServer` and `toClient`, cut into `size`-byte segments, with `mangle` applied to the client's. */
function connection(
  toServer: Buffer,
  toClient: Buffer,
  options: { size?: number; mangle?: (s: Segment[]) => Segment[]; syn?: boolean } = {},
): Buffer {
  const size = options.size ?? 700;
  const cut = (data: Buffer, fromClient: boolean, isn: number): Segment[] => {
    const out: Segment[] = [];
    for (let at = 0; at < data.length; at += size)
      out.push({ fromClient, seq: isn + 1 + at, flags: ACK, payload: data.subarray(at, at + size) });
    return out;
  };
  const clientIsn = 0xfffff000; // wraps past 2^32 within the stream
  const serverIsn = 1000;
  const handshake: Segment[] =
    options.syn === false
      ? []
      : [
          { fromClient: true, seq: clientIsn, flags: SYN },
          { fromClient: false, seq: serverIsn, flags: SYN | ACK },
        ];
  const client = cut(toServer, true, clientIsn);
  const segments = [
    ...handshake,
    ...(options.mangle ? options.mangle(client) : client),
    ...cut(toClient, false, serverIsn),
    { fromClient: true, seq: clientIsn + 1 + toServer.length, flags: FIN | ACK },
    { fromClient: false, seq: serverIsn + 1 + toClient.length, flags: FIN | ACK },
  ];
  return pcap(segments.map(frame));
}

function read(file: Buffer, chunk = 333) {
  const capture = new TlsCapture();
  for (let at = 0; at < file.length; at += chunk) capture.push(file.subarray(at, at + chunk));
  return capture.connections();
}

const HELLO = records([[22, 300]]);
const STREAM = Buffer.concat([
  records([[22, 300]]),
  records([
    [20, 1],
    [23, 16401],
    [23, 9000],
    [21, 2],
  ]),
]);
const REPLY = records([
  [22, 122],
  [20, 1],
  [23, 500],
]);

describe('the capture reader: TLS records across a TCP connection', () => {
  it('follows a TLS stream cut across segments and reads every record, both ways', () => {
    const [c] = read(connection(STREAM, REPLY));
    expect(c).toMatchObject({
      client: '169.254.77.1:45392',
      server: '169.254.77.2:49152',
      serverPort: 49152,
      sawSyn: true,
      closed: true,
    });
    expect(c?.toServer.firstBytes).toBe('16 03 03 01 2c ab ab ab');
    expect(c?.toServer.records).toEqual({ 20: 1, 21: 1, 22: 1, 23: 2 });
    expect(c?.toClient.records).toEqual({ 20: 1, 22: 1, 23: 1 });
    expect(c?.toServer.bytes).toBe(STREAM.length);
    expect(c && isTls(c)).toBe(true);
    expect(c && notTlsBecause(c)).toBeUndefined();
  });

  it('puts reordered and retransmitted segments back in order', () => {
    const mangle = (s: Segment[]) => {
      const out = [...s];
      [out[3], out[5]] = [out[5] as Segment, out[3] as Segment];
      out.splice(8, 0, out[6] as Segment, {
        ...(out[7] as Segment),
        payload: (out[7] as Segment).payload?.subarray(0, 100),
      });
      return out;
    };
    const [c] = read(connection(STREAM, REPLY, { mangle }));
    expect(c?.toServer.problem).toBeUndefined();
    expect(c?.toServer.records).toEqual({ 20: 1, 21: 1, 22: 1, 23: 2 });
  });

  it("says no to a plain stream, naming the offset and the bytes that are not a record's header", () => {
    const plain = Buffer.concat([Buffer.from('QEVM\0\0\0\x03', 'latin1'), Buffer.alloc(5000, 7)]);
    const [c] = read(connection(plain, Buffer.alloc(0)));
    expect(c && isTls(c)).toBe(false);
    expect(c?.toServer.firstBytes).toBe('51 45 56 4d 00 00 00 03');
    expect(c && notTlsBecause(c)).toMatch(
      /client → server\): offset 0: 51 45 56 4d 00 is not a TLS record header/,
    );
  });

  it('says no to plain bytes after a handshake, and to a record of a type TLS does not have', () => {
    const tail = Buffer.concat([HELLO, Buffer.from('GET / HTTP/1.1\r\n')]);
    expect(notTlsBecause(read(connection(tail, REPLY))[0] as never)).toMatch(
      /offset 305: 47 45 54 20 2f is not/,
    );
    const heartbeat = Buffer.concat([HELLO, records([[24, 3]])]);
    expect(notTlsBecause(read(connection(heartbeat, REPLY))[0] as never)).toMatch(
      /offset 305: 18 03 03 00 03/,
    );
  });

  it('says no to a connection whose start it did not see, and to one with bytes missing', () => {
    const [late] = read(connection(STREAM, REPLY, { syn: false }));
    expect(late && notTlsBecause(late)).toMatch(/opened before the capture started/);
    const [gap] = read(connection(STREAM, REPLY, { mangle: (s) => s.filter((_, i) => i !== 4) }));
    expect(gap && notTlsBecause(gap)).toMatch(
      /700 bytes missing at offset 2800 \(packets the capture dropped\?\)/,
    );
  });

  it('keeps connections apart and in the order they opened', () => {
    const one = connection(STREAM, REPLY);
    const other = connection(STREAM, REPLY);
    // The same ports again after the first closed: a new connection.
    const both = Buffer.concat([one, other.subarray(24)]);
    expect(read(both).length).toBe(2);
  });
});
