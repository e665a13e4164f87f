/**
 * {@link LibvirtConnection} and {@link LibvirtBackend} over koffi.
 *
 * @module
 */
import { LibvirtError } from '../errors.js';
import { LibvirtErrorCode } from './constants.js';
import { KoffiDomain } from './domain.js';
import { WorkerEventStream } from './events.js';
import {
  DEFAULT_LIBRARY,
  getKoffi,
  type LibvirtSymbols,
  lastError,
  loadLibvirt,
  type Pointer,
  toNumber,
} from './symbols.js';
import type {
  DomainCapabilitiesOptions,
  DomainEventStream,
  LibvirtBackend,
  LibvirtConnection,
  LibvirtDomain,
  OpenOptions,
} from './types.js';

/** koffi-backed connection; obtain one from {@link koffiBackend}. */
export class KoffiConnection implements LibvirtConnection {
  private ptr: Pointer | null;

  constructor(
    private readonly sym: LibvirtSymbols,
    readonly uri: string,
    readonly readOnly: boolean,
  ) {
    const call = readOnly ? 'virConnectOpenReadOnly' : 'virConnectOpen';
    const ptr = readOnly ? sym.virConnectOpenReadOnly(uri) : sym.virConnectOpen(uri);
    if (ptr === null) throw lastError(sym, call);
    this.ptr = ptr;
  }

  // libvirt would dereference a closed (freed) connection, so refuse before calling it.
  private handle(call: string): Pointer {
    if (this.ptr === null) {
      throw new LibvirtError(call, LibvirtErrorCode.INVALID_CONN, 0, `connection to ${this.uri} is closed`);
    }
    return this.ptr;
  }

  private version(call: 'virConnectGetLibVersion' | 'virConnectGetVersion'): number {
    const out: [number | bigint] = [0];
    if (this.sym[call](this.handle(call), out) < 0) throw lastError(this.sym, call);
    return toNumber(out[0]);
  }

  private text(call: string, value: string | null): string {
    if (value === null) throw lastError(this.sym, call);
    return value;
  }

  private domain(call: string, ptr: Pointer | null): LibvirtDomain {
    if (ptr === null) throw lastError(this.sym, call);
    return new KoffiDomain(this.sym, ptr, this);
  }

  libVersion(): number {
    return this.version('virConnectGetLibVersion');
  }

  hypervisorVersion(): number {
    return this.version('virConnectGetVersion');
  }

  hostname(): string {
    const call = 'virConnectGetHostname';
    return this.text(call, this.sym.virConnectGetHostname(this.handle(call)));
  }

  capabilities(): string {
    const call = 'virConnectGetCapabilities';
    return this.text(call, this.sym.virConnectGetCapabilities(this.handle(call)));
  }

  domainCapabilities(options: DomainCapabilitiesOptions = {}): string {
    const call = 'virConnectGetDomainCapabilities';
    const { emulatorBin = null, arch = null, machine = null, virttype = null } = options;
    return this.text(
      call,
      this.sym.virConnectGetDomainCapabilities(this.handle(call), emulatorBin, arch, machine, virttype, 0),
    );
  }

  lookupDomainByName(name: string): LibvirtDomain {
    const call = 'virDomainLookupByName';
    return this.domain(call, this.sym.virDomainLookupByName(this.handle(call), name));
  }

  lookupDomainByUUID(uuid: string): LibvirtDomain {
    const call = 'virDomainLookupByUUIDString';
    return this.domain(call, this.sym.virDomainLookupByUUIDString(this.handle(call), uuid));
  }

  createDomainXML(xml: string): LibvirtDomain {
    const call = 'virDomainCreateXML';
    return this.domain(call, this.sym.virDomainCreateXML(this.handle(call), xml, 0));
  }

  defineDomainXML(xml: string): LibvirtDomain {
    const call = 'virDomainDefineXML';
    return this.domain(call, this.sym.virDomainDefineXML(this.handle(call), xml));
  }

  listDomainNames(): string[] {
    const call = 'virConnectListAllDomains';
    const out: [Pointer | null] = [null];
    const n = this.sym.virConnectListAllDomains(this.handle(call), out, 0);
    if (n < 0) throw lastError(this.sym, call);
    const array = out[0];
    if (array === null) return [];
    const koffi = getKoffi();
    try {
      const doms = koffi.decode(array, 'void *', n) as Pointer[];
      const names: string[] = [];
      for (const dom of doms) {
        names.push(this.sym.virDomainGetName(dom) ?? '');
        this.sym.virDomainFree(dom);
      }
      return names;
    } finally {
      koffi.free(array);
    }
  }

  isAlive(): boolean {
    if (this.ptr === null) return false;
    const rc = this.sym.virConnectIsAlive(this.ptr);
    if (rc < 0) throw lastError(this.sym, 'virConnectIsAlive');
    return rc === 1;
  }

  close(): void {
    if (this.ptr === null) return;
    const ptr = this.ptr;
    this.ptr = null;
    // A positive result only means domains still hold references; they release them when collected.
    if (this.sym.virConnectClose(ptr) < 0) throw lastError(this.sym, 'virConnectClose');
  }

  events(): DomainEventStream {
    this.handle('events');
    return new WorkerEventStream(this.sym, this.uri, this.readOnly);
  }
}

/** Options of {@link koffiBackend}. */
export interface KoffiBackendOptions {
  /** Shared library to load instead of `libvirt.so.0`. */
  libraryPath?: string;
}

/**
 * The koffi backend. Loads libvirt on the first `open()`, not before; throws `LibvirtUnavailableError`
 * there if it cannot.
 *
 * @example
 * ```ts
 * const conn = koffiBackend().open('test:///default', { readOnly: true });
 * ```
 */
export function koffiBackend(options: KoffiBackendOptions = {}): LibvirtBackend {
  const libraryPath = options.libraryPath ?? DEFAULT_LIBRARY;
  return {
    open(uri: string, openOptions: OpenOptions = {}): LibvirtConnection {
      return new KoffiConnection(loadLibvirt(libraryPath), uri, openOptions.readOnly ?? false);
    },
  };
}

/**
 * Opens a connection with the default koffi backend.
 *
 * @example
 * ```ts
 * const conn = openConnection('qemu:///system');
 * try { console.log(conn.libVersion()); } finally { conn.close(); }
 * ```
 */
export function openConnection(uri: string, options?: OpenOptions): LibvirtConnection {
  return koffiBackend().open(uri, options);
}
