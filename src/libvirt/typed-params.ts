/**
 * `virTypedParameter` arrays: building them with libvirt's own `virTypedParamsAdd*` (so libvirt owns the
 * memory layout and frees it) and reading them back.
 *
 * @module
 */
import { TypedParamType } from './constants.js';
import { getKoffi, type LibvirtSymbols, loadLibvirt, type Pointer, toNumber } from './symbols.js';
import type { MigrateParams } from './types.js';

/** sizeof(virTypedParameter) on LP64: char field[80], int type, 4 bytes padding, 8-byte union. */
const PARAM_SIZE = 96;
const TYPE_OFFSET = 80;
const VALUE_OFFSET = 88;

/**
 * A typed-parameter array allocated by libvirt. Call {@link free} exactly once.
 *
 * @example
 * ```ts
 * const enc = encodeMigrateParams({ bandwidth: 100 });
 * try { readTypedParam(enc, 'bandwidth', 'ullong'); } finally { enc.free(); }
 * ```
 */
export interface EncodedTypedParams {
  /** `virTypedParameterPtr`, or null when empty. */
  readonly ptr: Pointer | null;
  readonly count: number;
  free(): void;
}

/** One decoded parameter. */
export interface TypedParam {
  field: string;
  type: number;
  value: number | string | boolean;
}

class TypedParamsBuilder {
  private readonly params: [Pointer | null] = [null];
  private readonly n: [number] = [0];
  private readonly max: [number] = [0];

  constructor(private readonly sym: LibvirtSymbols) {}

  private check(rc: number, name: string): void {
    if (rc < 0) {
      this.sym.virTypedParamsFree(this.params[0], this.n[0]);
      throw new RangeError(`cannot add typed parameter '${name}'`);
    }
  }

  string(name: string, value: string): void {
    this.check(this.sym.virTypedParamsAddString(this.params, this.n, this.max, name, value), name);
  }

  int(name: string, value: number): void {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
      throw new RangeError(`typed parameter '${name}' must be a 32-bit integer, got ${value}`);
    }
    this.check(this.sym.virTypedParamsAddInt(this.params, this.n, this.max, name, value), name);
  }

  ullong(name: string, value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`typed parameter '${name}' must be a non-negative integer, got ${value}`);
    }
    this.check(this.sym.virTypedParamsAddULLong(this.params, this.n, this.max, name, value), name);
  }

  finish(): EncodedTypedParams {
    const { sym } = this;
    const ptr = this.params[0];
    const count = this.n[0];
    let freed = false;
    return {
      ptr,
      count,
      free() {
        if (freed) return;
        freed = true;
        sym.virTypedParamsFree(ptr, count);
      },
    };
  }
}

/**
 * Encodes {@link MigrateParams} into libvirt typed parameters for `virDomainMigrateToURI3`.
 * Throws `RangeError` for values that do not fit the parameter's C type.
 *
 * @example
 * ```ts
 * const enc = encodeMigrateParams({ migrateDisks: ['vda', 'vdb'], parallelConnections: 4 });
 * enc.free();
 * ```
 */
export function encodeMigrateParams(
  params: MigrateParams,
  sym: LibvirtSymbols = loadLibvirt(),
): EncodedTypedParams {
  const b = new TypedParamsBuilder(sym);
  if (params.migrateUri !== undefined) b.string('migrate_uri', params.migrateUri);
  if (params.destinationName !== undefined) b.string('destination_name', params.destinationName);
  if (params.destinationXml !== undefined) b.string('destination_xml', params.destinationXml);
  if (params.persistentXml !== undefined) b.string('persistent_xml', params.persistentXml);
  if (params.bandwidth !== undefined) b.ullong('bandwidth', params.bandwidth);
  for (const disk of params.migrateDisks ?? []) b.string('migrate_disks', disk);
  if (params.parallelConnections !== undefined) b.int('parallel.connections', params.parallelConnections);
  if (params.autoConvergeInitial !== undefined) b.int('auto_converge.initial', params.autoConvergeInitial);
  if (params.autoConvergeIncrement !== undefined)
    b.int('auto_converge.increment', params.autoConvergeIncrement);
  if (params.bandwidthPostcopy !== undefined) b.ullong('bandwidth.postcopy', params.bandwidthPostcopy);
  if (params.tlsDestination !== undefined) b.string('tls.destination', params.tlsDestination);
  return b.finish();
}

/**
 * Reads the first parameter called `name` through libvirt's `virTypedParamsGetString/Int/ULLong`;
 * `undefined` when absent or of another type.
 *
 * @example
 * ```ts
 * readTypedParam(enc, 'parallel.connections', 'int'); // 4
 * ```
 */
export function readTypedParam(
  params: EncodedTypedParams,
  name: string,
  kind: 'string' | 'int' | 'ullong',
  sym: LibvirtSymbols = loadLibvirt(),
): string | number | undefined {
  if (kind === 'string') {
    const out: [string | null] = [null];
    return sym.virTypedParamsGetString(params.ptr, params.count, name, out) === 1
      ? (out[0] ?? undefined)
      : undefined;
  }
  if (kind === 'int') {
    const out: [number] = [0];
    return sym.virTypedParamsGetInt(params.ptr, params.count, name, out) === 1 ? out[0] : undefined;
  }
  const out: [number | bigint] = [0];
  return sym.virTypedParamsGetULLong(params.ptr, params.count, name, out) === 1
    ? toNumber(out[0])
    : undefined;
}

/**
 * Walks a `virTypedParameter` array in order, keeping repeated fields (e.g. `migrate_disks`).
 *
 * @example
 * ```ts
 * decodeTypedParams(enc.ptr, enc.count).filter((p) => p.field === 'migrate_disks');
 * ```
 */
export function decodeTypedParams(ptr: Pointer | null, count: number): TypedParam[] {
  if (ptr === null || count <= 0) return [];
  const koffi = getKoffi();
  const out: TypedParam[] = [];
  for (let i = 0; i < count; i++) {
    const base = i * PARAM_SIZE;
    const field = koffi.decode(ptr, base, koffi.array('char', 80, 'String')) as string;
    const type = koffi.decode(ptr, base + TYPE_OFFSET, 'int') as number;
    const at = base + VALUE_OFFSET;
    let value: number | string | boolean;
    switch (type) {
      case TypedParamType.INT:
        value = koffi.decode(ptr, at, 'int') as number;
        break;
      case TypedParamType.UINT:
        value = koffi.decode(ptr, at, 'uint') as number;
        break;
      case TypedParamType.LLONG:
        value = toNumber(koffi.decode(ptr, at, 'int64') as number | bigint);
        break;
      case TypedParamType.ULLONG:
        value = toNumber(koffi.decode(ptr, at, 'uint64') as number | bigint);
        break;
      case TypedParamType.DOUBLE:
        value = koffi.decode(ptr, at, 'double') as number;
        break;
      case TypedParamType.BOOLEAN:
        value = (koffi.decode(ptr, at, 'char') as number) !== 0;
        break;
      case TypedParamType.STRING:
        value = (koffi.decode(ptr, at, 'const char *') as string | null) ?? '';
        break;
      default:
        // A type newer than this binding: skip rather than misread the union.
        continue;
    }
    out.push({ field, type, value });
  }
  return out;
}
