/**
 * The libvirt C functions this binding calls, declared through koffi. Loaded once per thread (each
 * worker_threads Worker has its own module instance) and only on demand, so importing the package never
 * touches `libvirt.so.0`.
 *
 * @module
 */
import { createRequire } from 'node:module';
import type Koffi from 'koffi';
import type { LibraryHandle, TypeObject } from 'koffi';
import { LibvirtError, LibvirtUnavailableError } from '../errors.js';

type KoffiModule = typeof Koffi;
let koffiModule: KoffiModule | undefined;

/**
 * koffi, required on first use: its native part may be missing on exotic platforms, and that must only
 * break the calls that need libvirt, not importing the package.
 */
export function getKoffi(): KoffiModule {
  if (koffiModule) return koffiModule;
  try {
    koffiModule = createRequire(import.meta.url)('koffi') as KoffiModule;
  } catch (cause) {
    throw new LibvirtUnavailableError(cause);
  }
  return koffiModule;
}

/** A C pointer as koffi 3 represents it; `null` is NULL. */
export type Pointer = bigint;
type Out<T> = [T];

/** Typed view of the libvirt symbols in use. Signatures mirror the C prototypes. */
export interface LibvirtSymbols {
  readonly libraryPath: string;
  virConnectOpen(uri: string): Pointer | null;
  virConnectOpenReadOnly(uri: string): Pointer | null;
  virConnectClose(conn: Pointer): number;
  virConnectIsAlive(conn: Pointer): number;
  virConnectSetKeepAlive(conn: Pointer, interval: number, count: number): number;
  virConnectGetLibVersion(conn: Pointer, out: Out<number | bigint>): number;
  virConnectGetVersion(conn: Pointer, out: Out<number | bigint>): number;
  virConnectGetHostname(conn: Pointer): string | null;
  virConnectGetCapabilities(conn: Pointer): string | null;
  virConnectGetDomainCapabilities(
    conn: Pointer,
    emulatorBin: string | null,
    arch: string | null,
    machine: string | null,
    virttype: string | null,
    flags: number,
  ): string | null;
  virConnectListAllDomains(conn: Pointer, out: Out<Pointer | null>, flags: number): number;
  virDomainLookupByName(conn: Pointer, name: string): Pointer | null;
  virDomainLookupByUUIDString(conn: Pointer, uuid: string): Pointer | null;
  virDomainCreateXML(conn: Pointer, xml: string, flags: number): Pointer | null;
  virDomainDefineXML(conn: Pointer, xml: string): Pointer | null;
  virDomainFree(dom: Pointer): number;
  virDomainGetName(dom: Pointer): string | null;
  virDomainGetUUIDString(dom: Pointer, buf: Buffer): number;
  virDomainGetState(dom: Pointer, state: Out<number>, reason: Out<number>, flags: number): number;
  virDomainGetXMLDesc(dom: Pointer, flags: number): string | null;
  virDomainIsActive(dom: Pointer): number;
  virDomainGetInfo(dom: Pointer, info: Out<RawDomainInfo>): number;
  virDomainGetBlockInfo(dom: Pointer, disk: string, info: Out<RawBlockInfo>, flags: number): number;
  virDomainGetJobStats(
    dom: Pointer,
    type: Out<number>,
    params: Out<Pointer | null>,
    nparams: Out<number>,
    flags: number,
  ): number;
  virDomainMigrateStartPostCopy(dom: Pointer, flags: number): number;
  virDomainAbortJob(dom: Pointer): number;
  /** Absent before libvirt 8.5. */
  virDomainAbortJobFlags: ((dom: Pointer, flags: number) => number) | undefined;
  virDomainMigrateSetMaxDowntime(dom: Pointer, ms: number | bigint, flags: number): number;
  virDomainMigrateSetMaxSpeed(dom: Pointer, bandwidth: number | bigint, flags: number): number;
  virDomainSuspend(dom: Pointer): number;
  virDomainResume(dom: Pointer): number;
  virDomainDestroy(dom: Pointer): number;
  virDomainUndefine(dom: Pointer): number;
  /** Absent before libvirt 7.2. */
  virDomainStartDirtyRateCalc: ((dom: Pointer, seconds: number, flags: number) => number) | undefined;
  /** `doms` is a NULL-terminated array of domain pointers. */
  virDomainListGetStats(
    doms: (Pointer | null)[],
    stats: number,
    records: Out<Pointer | null>,
    flags: number,
  ): number;
  virDomainStatsRecordListFree(records: Pointer | null): void;
  virDomainMigrateToURI3(
    dom: Pointer,
    dconnuri: string | null,
    params: Pointer | null,
    nparams: number,
    flags: number,
  ): number;
  virTypedParamsAddString(
    params: Out<Pointer | null>,
    n: Out<number>,
    max: Out<number>,
    name: string,
    value: string,
  ): number;
  virTypedParamsAddInt(
    params: Out<Pointer | null>,
    n: Out<number>,
    max: Out<number>,
    name: string,
    value: number,
  ): number;
  virTypedParamsAddULLong(
    params: Out<Pointer | null>,
    n: Out<number>,
    max: Out<number>,
    name: string,
    value: number | bigint,
  ): number;
  virTypedParamsGetString(params: Pointer | null, n: number, name: string, out: Out<string | null>): number;
  virTypedParamsGetInt(params: Pointer | null, n: number, name: string, out: Out<number>): number;
  virTypedParamsGetULLong(params: Pointer | null, n: number, name: string, out: Out<number | bigint>): number;
  virTypedParamsFree(params: Pointer | null, n: number): void;
  virGetLastError(): Pointer | null;
  virEventRegisterDefaultImpl(): number;
  virEventRunDefaultImpl(): number;
  virEventAddTimeout(ms: number, cb: Pointer, opaque: Pointer | null, ff: Pointer | null): number;
  virEventUpdateTimeout(timer: number, ms: number): void;
  virEventRemoveTimeout(timer: number): number;
  virConnectDomainEventRegisterAny(
    conn: Pointer,
    dom: Pointer | null,
    eventId: number,
    cb: Pointer,
    opaque: Pointer | null,
    freecb: Pointer | null,
  ): number;
  virConnectDomainEventDeregisterAny(conn: Pointer, callbackId: number): number;
}

/**
 * `struct _virDomainInfo` as koffi decodes it; `unsigned long (long)` fields may come back as bigint.
 *
 * @example
 * ```ts
 * const out: [RawDomainInfo] = [{ state: 0, maxMem: 0, memory: 0, nrVirtCpu: 0, cpuTime: 0 }];
 * sym.virDomainGetInfo(dom, out);
 * ```
 */
export interface RawDomainInfo {
  state: number;
  maxMem: number | bigint;
  memory: number | bigint;
  nrVirtCpu: number;
  cpuTime: number | bigint;
}

/**
 * `struct _virDomainBlockInfo` as koffi decodes it.
 *
 * @example
 * ```ts
 * const out: [RawBlockInfo] = [{ capacity: 0, allocation: 0, physical: 0 }];
 * sym.virDomainGetBlockInfo(dom, 'vda', out, 0);
 * ```
 */
export interface RawBlockInfo {
  capacity: number | bigint;
  allocation: number | bigint;
  physical: number | bigint;
}

/** Where the binding looks for libvirt unless told otherwise. */
export const DEFAULT_LIBRARY = 'libvirt.so.0';

const PROTOTYPES = [
  'void *virConnectOpen(const char *uri)',
  'void *virConnectOpenReadOnly(const char *uri)',
  'int virConnectClose(void *conn)',
  'int virConnectIsAlive(void *conn)',
  'int virConnectSetKeepAlive(void *conn, int interval, unsigned int count)',
  'int virConnectGetLibVersion(void *conn, _Out_ unsigned long *libVer)',
  'int virConnectGetVersion(void *conn, _Out_ unsigned long *hvVer)',
  // `char *!` makes koffi free() the string after copying it, as libvirt's docs require of the caller.
  'char *! virConnectGetHostname(void *conn)',
  'char *! virConnectGetCapabilities(void *conn)',
  'char *! virConnectGetDomainCapabilities(void *conn, const char *emulatorbin, const char *arch, const char *machine, const char *virttype, unsigned int flags)',
  'int virConnectListAllDomains(void *conn, _Out_ void **domains, unsigned int flags)',
  'void *virDomainLookupByName(void *conn, const char *name)',
  'void *virDomainLookupByUUIDString(void *conn, const char *uuid)',
  'void *virDomainCreateXML(void *conn, const char *xml, unsigned int flags)',
  'void *virDomainDefineXML(void *conn, const char *xml)',
  'int virDomainFree(void *dom)',
  'const char *virDomainGetName(void *dom)',
  'int virDomainGetUUIDString(void *dom, _Out_ uint8_t *buf)',
  'int virDomainGetState(void *dom, _Out_ int *state, _Out_ int *reason, unsigned int flags)',
  'char *! virDomainGetXMLDesc(void *dom, unsigned int flags)',
  'int virDomainIsActive(void *dom)',
  'int virDomainGetInfo(void *dom, _Out_ virDomainInfo *info)',
  'int virDomainGetBlockInfo(void *dom, const char *disk, _Out_ virDomainBlockInfo *info, unsigned int flags)',
  'int virDomainGetJobStats(void *dom, _Out_ int *type, _Out_ void **params, _Out_ int *nparams, unsigned int flags)',
  'int virDomainMigrateStartPostCopy(void *dom, unsigned int flags)',
  'int virDomainAbortJob(void *dom)',
  'int virDomainMigrateSetMaxDowntime(void *dom, unsigned long long downtime, unsigned int flags)',
  'int virDomainMigrateSetMaxSpeed(void *dom, unsigned long bandwidth, unsigned int flags)',
  'int virDomainSuspend(void *dom)',
  'int virDomainResume(void *dom)',
  'int virDomainDestroy(void *dom)',
  'int virDomainUndefine(void *dom)',
  'int virDomainListGetStats(void **doms, unsigned int stats, _Out_ void **retStats, unsigned int flags)',
  'void virDomainStatsRecordListFree(void *stats)',
  'int virDomainMigrateToURI3(void *dom, const char *dconnuri, void *params, unsigned int nparams, unsigned int flags)',
  'int virTypedParamsAddString(_Inout_ void **params, _Inout_ int *nparams, _Inout_ int *maxparams, const char *name, const char *value)',
  'int virTypedParamsAddInt(_Inout_ void **params, _Inout_ int *nparams, _Inout_ int *maxparams, const char *name, int value)',
  'int virTypedParamsAddULLong(_Inout_ void **params, _Inout_ int *nparams, _Inout_ int *maxparams, const char *name, unsigned long long value)',
  'int virTypedParamsGetString(void *params, int nparams, const char *name, _Out_ const char **value)',
  'int virTypedParamsGetInt(void *params, int nparams, const char *name, _Out_ int *value)',
  'int virTypedParamsGetULLong(void *params, int nparams, const char *name, _Out_ unsigned long long *value)',
  'void virTypedParamsFree(void *params, int nparams)',
  'void *virGetLastError()',
  'int virEventRegisterDefaultImpl()',
  'int virEventRunDefaultImpl()',
  'int virEventAddTimeout(int timeout, void *cb, void *opaque, void *ff)',
  'void virEventUpdateTimeout(int timer, int timeout)',
  'int virEventRemoveTimeout(int timer)',
  'int virConnectDomainEventRegisterAny(void *conn, void *dom, int eventID, void *cb, void *opaque, void *freecb)',
  'int virConnectDomainEventDeregisterAny(void *conn, int callbackID)',
] as const;

/**
 * Functions newer than the oldest libvirt this binding loads on: absent ones are `undefined` in the table,
 * and the call that needs one answers a typed error naming the version instead of failing the load.
 */
const OPTIONAL_PROTOTYPES = [
  // libvirt 8.5.0.
  'int virDomainAbortJobFlags(void *dom, unsigned int flags)',
  // libvirt 7.2.0.
  'int virDomainStartDirtyRateCalc(void *dom, int seconds, unsigned int flags)',
] as const;

let virErrorType: TypeObject | undefined;
let structsDeclared = false;

// Layouts copied from include/libvirt/libvirt-domain.h (libvirt/libvirt); koffi applies the C ABI's padding,
// so declaring the members with their C types is enough. Named types are per koffi instance, declared once.
function declareStructs(koffi: KoffiModule): void {
  if (structsDeclared) return;
  koffi.struct('virDomainInfo', {
    state: 'unsigned char',
    maxMem: 'unsigned long',
    memory: 'unsigned long',
    nrVirtCpu: 'unsigned short',
    cpuTime: 'unsigned long long',
  });
  koffi.struct('virDomainBlockInfo', {
    capacity: 'unsigned long long',
    allocation: 'unsigned long long',
    physical: 'unsigned long long',
  });
  koffi.struct('virDomainStatsRecord', { dom: 'void *', params: 'void *', nparams: 'int' });
  structsDeclared = true;
}

const loaded = new Map<string, LibvirtSymbols>();

/**
 * Loads libvirt (once per path per thread), initialises it and silences its stderr printing.
 * Throws {@link LibvirtUnavailableError} when the library cannot be loaded.
 */
export function loadLibvirt(libraryPath: string = DEFAULT_LIBRARY): LibvirtSymbols {
  const cached = loaded.get(libraryPath);
  if (cached) return cached;
  const koffi = getKoffi();
  let lib: LibraryHandle;
  try {
    lib = koffi.load(libraryPath);
  } catch (cause) {
    throw new LibvirtUnavailableError(cause);
  }
  declareStructs(koffi);
  const table: Record<string, unknown> = { libraryPath };
  for (const proto of PROTOTYPES) table[functionName(proto)] = lib.func(proto);
  for (const proto of OPTIONAL_PROTOTYPES) table[functionName(proto)] = optionalFunc(lib, proto);
  const sym = table as unknown as LibvirtSymbols;
  if ((lib.func('int virInitialize()') as () => number)() < 0) {
    throw new LibvirtUnavailableError(new Error('virInitialize() failed'));
  }
  // libvirt calls the handler as handler(userData, err). libc's free(NULL, err) is a native no-op, so
  // errors stop going to stderr without a JS callback, which would be unsafe when libvirt reports an error
  // from a worker thread or after the registering isolate is gone.
  const setErrorFunc = lib.func('int virSetErrorFunc(void *userData, void *handler)') as (
    u: null,
    h: Pointer,
  ) => number;
  setErrorFunc(null, koffi.load('libc.so.6').symbol('free') as Pointer);
  loaded.set(libraryPath, sym);
  return sym;
}

function functionName(proto: string): string {
  return /(\w+)\(/.exec(proto)?.[1] as string;
}

/**
 * `lib.func(proto)`, or `undefined` when the library lacks the symbol (an older libvirt): a missing optional
 * function must not fail loading the binding.
 *
 * @example
 * ```ts
 * optionalFunc(koffi.load('libvirt.so.0'), 'int virDomainStartDirtyRateCalc(void *dom, int seconds, unsigned int flags)');
 * ```
 */
export function optionalFunc(lib: LibraryHandle, proto: string): ((...args: never[]) => number) | undefined {
  try {
    return lib.func(proto) as (...args: never[]) => number;
  } catch {
    return undefined;
  }
}

/**
 * Builds a {@link LibvirtError} from this thread's last libvirt error. Call it right after the failing
 * call, on the same thread: libvirt keeps the last error per thread and the next call resets it.
 */
export function lastError(sym: LibvirtSymbols, call: string): LibvirtError {
  const ptr = sym.virGetLastError();
  if (ptr === null) return new LibvirtError(call, 0, 0, 'failed without reporting an error');
  const koffi = getKoffi();
  // Only the leading fields are read; the rest of virError is deprecated or informational.
  virErrorType ??= koffi.struct({ code: 'int', domain: 'int', message: 'const char *' });
  const err = koffi.decode(ptr, virErrorType) as { code: number; domain: number; message: string | null };
  return new LibvirtError(call, err.code, err.domain, err.message ?? 'unknown error');
}

/**
 * A domain's UUID string and name, read from its pointer (local reads, no RPC). Throws libvirt's error when
 * either read fails; `lenient` gives empty strings instead (inside an event callback, where a throw would
 * lose the event).
 *
 * @example
 * ```ts
 * const { uuid, name } = domainIdentity(sym, dom);
 * ```
 */
export function domainIdentity(
  sym: LibvirtSymbols,
  dom: Pointer,
  lenient = false,
): { uuid: string; name: string } {
  const buf = Buffer.alloc(37);
  const name = sym.virDomainGetName(dom);
  if (name === null && !lenient) throw lastError(sym, 'virDomainGetName');
  const rc = sym.virDomainGetUUIDString(dom, buf);
  if (rc < 0 && !lenient) throw lastError(sym, 'virDomainGetUUIDString');
  return { uuid: rc < 0 ? '' : buf.toString('latin1', 0, 36), name: name ?? '' };
}

/** koffi hands back `unsigned long (long)` as number or bigint depending on magnitude. */
export function toNumber(value: number | bigint): number {
  return typeof value === 'bigint' ? Number(value) : value;
}
