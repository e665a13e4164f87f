/**
 * Helpers for the two-host libvirt lab started by `lab/up.sh` (see docs/lab.md).
 * Node builtins only; the hosts are driven with `virsh`.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Name of a lab host. */
export type HostName = 'src' | 'dst';

/** One libvirt host of the lab, as written to lab.json by `lab/up.sh`. */
export interface LabHost {
  name: HostName;
  /** libvirt URI, `qemu+unix:///system?socket=<sockDir>/libvirt-sock`. */
  uri: string;
  sockDir: string;
  /** Where this host's guest console files are, seen from outside the host's namespace. */
  consoleDir: string;
  /** libvirtd.log, virtlogd.log, start.log and qemu/<domain>.log. */
  logDir: string;
  hostUuid: string;
  pids: { libvirtd: number; virtlogd: number };
  /** The host's own network namespace (`ip netns`): its QEMUs' migration streams live there. */
  netns: string;
  /** This host's end of the veth pair to the other host (the same name on both ends). */
  link: string;
  /** This host's address on that link. */
  address: string;
  /** The host's private /etc/hosts (both hosts by name: `src.lab`, `dst.lab`). */
  hostsFile?: string;
  /** With `LAB_TLS=1`: the host's name and certificates (see lab/tls.sh). */
  tls?: LabHostTls;
}

/** A lab host's TLS set-up, as lab/up.sh wrote it with `LAB_TLS=1`. */
export interface LabHostTls {
  /** Its name on the link, in its certificates' SANs with its address: `src.lab`. */
  name: string;
  /** `qemu+tls://<name>/system`: its libvirtd over TLS, reachable from inside the lab's namespaces. */
  uri: string;
  /** Its QEMU's migration certificates (= its /etc/pki/qemu). */
  qemuCertDir: string;
  /** Its libvirtd's certificates (= its /etc/pki/libvirt). */
  libvirtPkiDir: string;
  /** Its CA certificate for libvirt (= its /etc/pki/CA). */
  caDir: string;
  /** A libvirt client's `pkipath=` for an agent on this host: its client certificate. */
  agentPkiPath: string;
  /** Its client certificate's distinguished name, as libvirtd's tls_allowed_dn_list lists it. */
  clientDn: string;
}

/** Content of lab.json. */
export interface LabInfo {
  name: string;
  stateDir: string;
  hosts: Record<HostName, LabHost>;
  guest: {
    kernel: string;
    initrd: string;
    /** Console directory as each host's QEMU sees it (inside its private /var/lib/libvirt). */
    consoleDir: string;
  };
  /** Address for `migrate_uri` (`tcp://<migrateAddress>`). */
  migrateAddress: string;
  /** The hypervisor stack the lab runs on (`LAB_STACK`, see lab/stack.sh): every figure is quoted with it. */
  stack: LabStack;
  /** `LAB_TLS=1`: the lab's CA; absent in a lab.json older than LAB_TLS. */
  tls?: { enabled: boolean; caCert?: string; caKey?: string; port?: number };
}

/** The lab's hypervisor stack, as `lab/up.sh` read it from the running daemons. */
export interface LabStack {
  /** `lab` (QEMU 10 + libvirt 9.0), `backports` (QEMU 10 + libvirt 11.3) or `distro` (QEMU 7.2 + libvirt 9.0). */
  name: 'lab' | 'backports' | 'distro';
  /** libvirtd's version, e.g. `9.0.0`. */
  libvirt: string;
  /** QEMU's version, e.g. `10.0.2`. */
  qemu: string;
  libvirtPackage: string;
  qemuPackage: string;
  accel: 'TCG' | 'KVM';
}

/** `lab stack: libvirt 9.0.0, QEMU 10.0.2, TCG` — the label every lab figure carries. */
export function stackLabel(lab: Pick<LabInfo, 'stack'>): string {
  const s = lab.stack;
  return `${s.name} stack: libvirt ${s.libvirt}, QEMU ${s.qemu}, ${labDomainType() === 'kvm' ? 'KVM' : 'TCG'}`;
}

/** Major version of the lab's QEMU, e.g. 10. */
export function qemuMajor(lab: Pick<LabInfo, 'stack'>): number {
  return Number.parseInt(lab.stack.qemu, 10);
}

/**
 * Wake-ups per second of the guest's TLB-flush helper: 1000 on QEMU < 9, whose TCG loses dirty pages during
 * migration without it (docs/lab.md, "Known problems"); 0 (off) on QEMU ≥ 9, where the bug is fixed and the
 * helper would only hide a regression. `LAB_FLUSH_HZ` overrides.
 */
export function labFlushHz(lab: Pick<LabInfo, 'stack'>): number {
  const forced = process.env.LAB_FLUSH_HZ;
  if (forced !== undefined && forced !== '') {
    if (!/^\d+$/.test(forced))
      throw new Error(`LAB_FLUSH_HZ is "${forced}": use a whole number (0 turns the helper off)`);
    return Number(forced);
  }
  return qemuMajor(lab) < 9 ? 1000 : 0;
}

/** Guest workload: `cpu` = CPU work + page rewrite, `mem` = rewrite only, `idle` = fill once. */
export type GuestMode = 'cpu' | 'mem' | 'idle';

/** Options of {@link guestXml}. */
export interface GuestXmlOptions {
  name: string;
  /** Guest RAM (default 384). */
  memoryMiB?: number;
  /** Buffer the workload keeps rewriting (default 192). */
  bufferMiB?: number;
  mode?: GuestMode;
  /** LCG iterations per page write in `cpu` mode (guest default 40000, ~24k pages/s under TCG here). */
  work?: number;
  /** Console file path as the host's QEMU sees it. */
  consolePath: string;
  /** The guest's TLB-flush helper (`lmp.flush_hz`); default {@link labFlushHz} in {@link startGuest}. */
  flushHz?: number;
  /** `qemu` (TCG) or `kvm`; default {@link labDomainType}. */
  domainType?: 'qemu' | 'kvm';
  kernel: string;
  initrd: string;
}

/** Options of {@link startGuest}. */
export type StartGuestOptions = Omit<GuestXmlOptions, 'consolePath' | 'kernel' | 'initrd'>;

/** A parsed `LMP` console line. */
export type ConsoleLine =
  | { kind: 'ready'; bufferMib: number; pages: number; mode: string; t: number; raw: string }
  | {
      kind: 'stats';
      /** Guest uptime in ms. */
      t: number;
      pagesPerS: number;
      /** Cumulative pages verified intact since boot. */
      verified: number;
      /** Cumulative pages found corrupt since boot. */
      corrupt: number;
      /** Page rewrites since boot (generation counter). */
      gen: number;
      sweeps: number;
      raw: string;
    }
  | { kind: 'corrupt'; page: number; expectedGen: number; foundGen: number; raw: string }
  | { kind: 'error'; message: string; raw: string };

/** Default state dir: `$LAB_STATE_DIR`, else `${LAB_ROOT:-/var/tmp/lmp-lab}/${LAB_NAME:-lmp}`. */
export function labStateDir(): string {
  return (
    process.env.LAB_STATE_DIR ??
    join(process.env.LAB_ROOT ?? '/var/tmp/lmp-lab', process.env.LAB_NAME ?? 'lmp')
  );
}

/** Reads lab.json; `undefined` when no lab is up (file missing or unreadable). */
export function readLab(stateDir: string = labStateDir()): LabInfo | undefined {
  const file = join(stateDir, 'lab.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LabInfo;
  } catch {
    return undefined;
  }
}

/** The lab that is up, for the benchmarks: throws, saying how to start one, when there is none. */
export function requireLab(stateDir: string = labStateDir()): LabInfo {
  const lab = readLab(stateDir);
  if (!lab) throw new Error('no lab is up: run `sudo npm run lab:up` first (docs/lab.md)');
  return lab;
}

/** Runs `virsh -c uri ...args` and returns stdout; throws with virsh's stderr on failure. */
export function virsh(uri: string, ...args: string[]): string {
  try {
    return execFileSync('virsh', ['-c', uri, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`virsh ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** True when both lab hosts answer `virsh version`. */
export function labAnswers(lab: LabInfo): boolean {
  try {
    for (const h of Object.values(lab.hosts)) virsh(h.uri, 'version');
    return true;
  } catch {
    return false;
  }
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');

/**
 * The domain type of lab guests: `qemu` (TCG) unless `LAB_DOMAIN_TYPE=kvm` asks for KVM, on machines where
 * KVM runs Linux guests (it does not on this project's CI machines: guests hang early under nested KVM).
 */
export function labDomainType(): 'qemu' | 'kvm' {
  const wanted = process.env.LAB_DOMAIN_TYPE ?? 'qemu';
  if (wanted !== 'qemu' && wanted !== 'kvm')
    throw new Error(`LAB_DOMAIN_TYPE is "${wanted}": use "qemu" or "kvm"`);
  return wanted;
}

/** Transient-domain XML: TCG by default (see {@link labDomainType}), direct kernel boot, serial console to a file, no disks/NICs. */
export function guestXml(o: GuestXmlOptions): string {
  const type = o.domainType ?? labDomainType();
  const cmdline = [
    'console=ttyS0',
    'panic=-1',
    'quiet',
    `lmp.buffer_mib=${o.bufferMiB ?? 192}`,
    `lmp.mode=${o.mode ?? 'cpu'}`,
    ...(o.work === undefined ? [] : [`lmp.work=${o.work}`]),
    ...(o.flushHz === undefined ? [] : [`lmp.flush_hz=${o.flushHz}`]),
  ].join(' ');
  return `<domain type='${type}'>
  <name>${esc(o.name)}</name>
  <memory unit='MiB'>${o.memoryMiB ?? 384}</memory>
  <vcpu>1</vcpu>${type === 'kvm' ? "\n  <cpu mode='host-model'/>" : ''}
  <features>
    <acpi/>
  </features>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${esc(o.kernel)}</kernel>
    <initrd>${esc(o.initrd)}</initrd>
    <cmdline>${esc(cmdline)}</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='${esc(o.consolePath)}'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/** Console file of guest `name` on `host`, seen from outside the host's namespace. */
export function consolePath(host: LabHost, name: string): string {
  return join(host.consoleDir, `${name}.log`);
}

const num = (f: Record<string, string>, k: string) => Number(f[k] ?? Number.NaN);

/** Parses one console line; `undefined` for non-`LMP` lines (kernel messages). */
export function parseConsoleLine(line: string): ConsoleLine | undefined {
  const raw = line.replace(/\r/g, '');
  const at = raw.indexOf('LMP ');
  if (at < 0) return undefined;
  const rest = raw.slice(at + 4).trim();
  const words = rest.split(/\s+/);
  const head = words[0] ?? '';
  const fields: Record<string, string> = {};
  for (const w of words) {
    const i = w.indexOf('=');
    if (i > 0) fields[w.slice(0, i)] = w.slice(i + 1);
  }
  if (head === 'ready')
    return {
      kind: 'ready',
      bufferMib: num(fields, 'buffer_mib'),
      pages: num(fields, 'pages'),
      mode: fields.mode ?? '',
      t: num(fields, 't'),
      raw,
    };
  if (head === 'CORRUPT')
    return {
      kind: 'corrupt',
      page: num(fields, 'page'),
      expectedGen: num(fields, 'expected_gen'),
      foundGen: num(fields, 'found_gen'),
      raw,
    };
  if (head === 'error') return { kind: 'error', message: rest.slice(6), raw };
  if (head.startsWith('t='))
    return {
      kind: 'stats',
      t: num(fields, 't'),
      pagesPerS: num(fields, 'pages_per_s'),
      verified: num(fields, 'verified'),
      corrupt: num(fields, 'corrupt'),
      gen: num(fields, 'gen'),
      sweeps: num(fields, 'sweeps'),
      raw,
    };
  return undefined;
}

/** All parsed `LMP` lines of guest `name`'s console on `host` (empty when no file yet). */
export function consoleLines(host: LabHost, name: string): ConsoleLine[] {
  const file = consolePath(host, name);
  if (!existsSync(file)) return [];
  const out: ConsoleLine[] = [];
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    const p = parseConsoleLine(l);
    if (p) out.push(p);
  }
  return out;
}

/** The last `lines` lines of guest `name`'s raw console on `host` (kernel messages included). */
export function consoleTail(host: LabHost, name: string, lines = 30): string {
  const file = consolePath(host, name);
  if (!existsSync(file)) return `(no console file ${file})`;
  return readFileSync(file, 'utf8').replace(/\r/g, '').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Polls the console until `predicate` accepts a line; resolves with it, rejects after `timeoutMs`. */
export async function waitForConsole(
  host: LabHost,
  name: string,
  predicate: (line: ConsoleLine, all: ConsoleLine[]) => boolean,
  timeoutMs = 60_000,
): Promise<ConsoleLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = consoleLines(host, name);
    const hit = all.find((l) => predicate(l, all));
    if (hit) return hit;
    if (Date.now() > deadline) {
      const tail = all
        .slice(-5)
        .map((l) => l.raw)
        .join('\n');
      throw new Error(
        `timeout after ${timeoutMs} ms waiting on ${host.name} console of ${name} (${consolePath(host, name)}); last lines:\n${tail}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts transient guest `opts.name` on `host` (`virsh create`); clears its old console file first. */
export function startGuest(
  lab: LabInfo,
  host: HostName,
  opts: StartGuestOptions,
): { name: string; consoleFile: string } {
  const h = lab.hosts[host];
  const consoleFile = consolePath(h, opts.name);
  rmSync(consoleFile, { force: true });
  const xml = guestXml({
    flushHz: labFlushHz(lab),
    ...opts,
    kernel: lab.guest.kernel,
    initrd: lab.guest.initrd,
    consolePath: `${lab.guest.consoleDir}/${opts.name}.log`,
  });
  const xmlFile = join(lab.stateDir, `${host}-${opts.name}.xml`);
  writeFileSync(xmlFile, xml);
  try {
    virsh(h.uri, 'create', xmlFile);
  } finally {
    rmSync(xmlFile, { force: true });
  }
  return { name: opts.name, consoleFile };
}

/** Destroys guest `name` on `host`; no error when it does not exist. */
export function destroyGuest(lab: LabInfo, host: HostName, name: string): void {
  try {
    virsh(lab.hosts[host].uri, 'destroy', name);
  } catch (err) {
    if (!/failed to get domain|not found|not running/i.test(String(err))) throw err;
  }
}

/**
 * Destroys guest `name` on both hosts and undefines it there: a completed migration leaves it persistent on
 * its destination. No error when it is not there.
 */
export function removeGuestEverywhere(lab: LabInfo, name: string): void {
  for (const host of ['src', 'dst'] as const) {
    destroyGuest(lab, host, name);
    try {
      virsh(lab.hosts[host].uri, 'undefine', name);
    } catch {
      // Transient there, or not there.
    }
  }
}

/** What went wrong with a guest that should be alive and intact. */
export type GuestFault = 'crashed' | 'corrupt' | 'elsewhere' | 'stalled';

const PANIC = /Kernel panic|kernel BUG|Oops:|general protection fault|NX-protected|LMP error/;

/**
 * Why guest `name` is not alive and intact on `host`, in words a failing test can print: the guest crashed
 * (a kernel panic or the workload's own error on its console), corrupted pages (`LMP CORRUPT`), is simply
 * not running where expected (with each host's `domstate`), or runs but shows no progress — each with the
 * console's tail.
 */
export function diagnoseGuest(
  lab: LabInfo,
  host: HostName,
  name: string,
): { fault: GuestFault; report: string } {
  const h = lab.hosts[host];
  const raw = existsSync(consolePath(h, name)) ? readFileSync(consolePath(h, name), 'utf8') : '';
  const states = (Object.keys(lab.hosts) as HostName[])
    .map((n) => {
      let st: string;
      try {
        st = virsh(lab.hosts[n].uri, 'domstate', name, '--reason').trim();
      } catch {
        st = 'absent';
      }
      return `${n}: ${st}`;
    })
    .join('; ');
  const lines = consoleLines(h, name);
  let fault: GuestFault;
  if (PANIC.test(raw)) fault = 'crashed';
  else if (lines.some((l) => l.kind === 'corrupt' || (l.kind === 'stats' && l.corrupt > 0)))
    fault = 'corrupt';
  else if (!states.includes(`${host}: running`)) fault = 'elsewhere';
  else fault = 'stalled';
  const what = {
    crashed: `guest ${name} crashed on ${host} (kernel panic or workload error on its console)`,
    corrupt: `guest ${name} on ${host} found corrupt pages in its memory (LMP CORRUPT)`,
    elsewhere: `guest ${name} is not running on ${host}, where it was expected`,
    stalled: `guest ${name} runs on ${host} but its console shows no progress`,
  }[fault];
  return {
    fault,
    report: `${what} [${stackLabel(lab)}]; domstate ${states}; console tail (${consolePath(h, name)}):\n${consoleTail(h, name)}`,
  };
}

/** Runs `ip`, `tc` or `ss` for the lab's network; throws with stderr on failure. */
function net(command: 'ip' | 'tc' | 'ss', args: string[]): string {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/**
 * Takes the migration link between the hosts down or up (`ip link set … down|up` on the source's end of the
 * veth pair) — a cable pulled, not a connection reset: TCP notices only through its retransmission timeout
 * (`LAB_TCP_RETRIES2`, ~13 s by default in the lab).
 */
export function setLink(lab: LabInfo, state: 'up' | 'down'): void {
  net('ip', ['-n', lab.hosts.src.netns, 'link', 'set', lab.hosts.src.link, state]);
}

/** Shapes the link to `rateMbit` in both directions (a `tbf` qdisc: this kernel has no `netem`); `undefined` removes it. */
export function shapeLink(lab: LabInfo, rateMbit: number | undefined): void {
  for (const h of Object.values(lab.hosts)) {
    if (rateMbit === undefined) {
      try {
        net('tc', ['-n', h.netns, 'qdisc', 'del', 'dev', h.link, 'root']);
      } catch {
        // No qdisc of ours there.
      }
      continue;
    }
    const burstKbit = Math.max(32, Math.ceil(rateMbit * 10)); // ~10 ms of traffic: enough for the timer granularity
    net('tc', [
      '-n',
      h.netns,
      'qdisc',
      'replace',
      'dev',
      h.link,
      'root',
      'tbf',
      'rate',
      `${rateMbit}mbit`,
      'burst',
      `${burstKbit}kbit`,
      'latency',
      '100ms',
    ]);
  }
}

/**
 * Resets the TCP connections between the hosts (`ss -K`) as seen from `hosts`' namespaces — by default the
 * source's; with libvirt ≥ 10 a post-copy migration has two (main and postcopy-preempt channel). Resetting
 * on the destination too is what makes its QEMU notice a link that died with nothing in flight from it.
 * Returns how many connections were there.
 */
export function killMigrationConnections(lab: LabInfo, hosts: readonly HostName[] = ['src']): number {
  let count = 0;
  for (const host of hosts) {
    const peer = lab.hosts[host === 'src' ? 'dst' : 'src'];
    const filter = ['dst', peer.address];
    const netns = lab.hosts[host].netns;
    count += net('ss', ['-N', netns, '-H', '-t', 'state', 'established', ...filter])
      .split('\n')
      .filter((l) => l.trim()).length;
    net('ss', ['-N', netns, '-K', '-t', ...filter]);
  }
  return count;
}

/**
 * Pids of QEMU processes of guest `name` in `host`'s network namespace, asked of the kernel, not of libvirt:
 * a libvirtd that died leaves its QEMUs running where libvirt no longer sees them.
 */
export function qemuPids(lab: LabInfo, host: HostName, name: string): number[] {
  const pids = net('ip', ['netns', 'pids', lab.hosts[host].netns]).split('\n').filter(Boolean).map(Number);
  return pids.filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.some((a) => a === `guest=${name}` || a.startsWith(`guest=${name},`));
    } catch {
      return false; // exited meanwhile
    }
  });
}

/** Names of the running domains on `host`. */
export function listGuests(lab: LabInfo, host: HostName): string[] {
  return virsh(lab.hosts[host].uri, 'list', '--name')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** QEMU's migration capabilities of guest `name` (`info migrate_capabilities`), e.g. `{ 'auto-converge': true }`. */
export function migrationCapabilities(lab: LabInfo, host: HostName, name: string): Record<string, boolean> {
  const out = virsh(lab.hosts[host].uri, 'qemu-monitor-command', name, '--hmp', 'info migrate_capabilities');
  const caps: Record<string, boolean> = {};
  for (const line of out.split('\n')) {
    const m = /^\s*([\w-]+):\s*(on|off)\s*$/.exec(line);
    if (m?.[1]) caps[m[1]] = m[2] === 'on';
  }
  return caps;
}
