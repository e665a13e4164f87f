import { MigrationPolicyError } from '../errors.js';
import { type TextFormat, textOptionProblem } from './destination-uris.js';
import { asPolicyError, boundKey, frozenDeep, hasOwn, isPlainObject } from './guard.js';
import { quote } from './quote.js';

/** What the monitor does when a migration exceeds its completion timeout. */
export type TimeoutAction = 'abort' | 'force_complete';

/**
 * A compute host's live-migration settings: the `live_migration_*` options of `nova.conf`'s `[libvirt]`
 * section, camelCased. Units are Nova's.
 *
 * @example
 * ```ts
 * const host: HostConfig = { ...DEFAULT_HOST_CONFIG, permitPostCopy: true, completionTimeout: 300 };
 * ```
 */
export interface HostConfig {
  /** `live_migration_permit_auto_converge`: use auto-converge when the instance has no opinion. */
  permitAutoConverge: boolean;
  /** `live_migration_permit_post_copy`: use post-copy when the instance has no opinion (wins over auto-converge). */
  permitPostCopy: boolean;
  /** `live_migration_tunnelled`: stream through libvirtd (no post-copy possible). */
  tunnelled: boolean;
  /** `live_migration_with_native_tls`: QEMU's native TLS for the stream. */
  nativeTls: boolean;
  /** `live_migration_parallel_connections`: more than 1 adds `PARALLEL` (multifd). */
  parallelConnections: number;
  /** `live_migration_bandwidth`, MiB/s; 0 means unlimited. */
  bandwidth: number;
  /** `live_migration_downtime`, ms: the maximum pause the last downtime step allows. */
  downtime: number;
  /** `live_migration_downtime_steps`: how many increases reach `downtime`. */
  downtimeSteps: number;
  /** `live_migration_downtime_delay`, seconds per GiB between steps. */
  downtimeDelay: number;
  /** `live_migration_completion_timeout`, seconds per GiB; 0 disables the timeout. */
  completionTimeout: number;
  /** `live_migration_timeout_action`. */
  timeoutAction: TimeoutAction;
  /** `live_migration_scheme`: the libvirtd URI's transport (`qemu+<scheme>://`); `''` (not set) is tcp. */
  migrationScheme: string;
  /** The deprecated `live_migration_uri`: the libvirtd URI with `%s` for the destination; `''` when not set. */
  migrationUri: string;
  /**
   * `live_migration_inbound_addr`: the address other hosts migrate *to this host* on (a destination's
   * option); `''` when not set.
   */
  inboundAddress: string;
}

/** Where each option of a config was set, e.g. `{ downtime: "/etc/nova/nova.conf line 12" }`. */
export type HostOrigins = Readonly<Partial<Record<keyof HostConfig, string>>>;

/** A constructor that makes no object: the fields of its subclass go on `target` itself. */
class OnTarget {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: returning `target` is what puts the field on it
    return target;
  }
}

/**
 * The mark of a config this module made: a private field, which only this class can give an object and no
 * other code can read, forge or copy, holding where each option was set. A config with it was checked and
 * frozen here, so it cannot have changed since; spreading it (`{ ...config, downtime: 300 }`), JSON and
 * `Object.keys` see only its options, and what they make has no mark and claims no origin.
 */
class MadeHere extends OnTarget {
  readonly #origins: HostOrigins;

  private constructor(config: HostConfig, origins: HostOrigins) {
    super(config);
    this.#origins = origins;
  }

  /** Marks `config` (checked and complete) with where its options were set, and freezes it. */
  static mark(config: HostConfig, origins: HostOrigins): Readonly<HostConfig> {
    new MadeHere(config, Object.freeze(origins));
    return Object.freeze(config);
  }

  /** Where the options of a config made here were set; `undefined` for any other object. */
  static originsOf(value: object): HostOrigins | undefined {
    return #origins in value ? value.#origins : undefined;
  }
}

const NO_ORIGINS: HostOrigins = Object.freeze({});

/** Freezes `config` (checked, complete) with where its options were set, as every config this module returns. */
export function withOrigins(config: HostConfig, origins: HostOrigins): Readonly<HostConfig> {
  return MadeHere.mark(config, origins);
}

/**
 * Nova's defaults for every {@link HostConfig} option.
 *
 * @example
 * ```ts
 * DEFAULT_HOST_CONFIG.downtime; // 500
 * ```
 */
export const DEFAULT_HOST_CONFIG: Readonly<HostConfig> = withOrigins(defaults(), NO_ORIGINS);

/** A new, unfrozen config of Nova's defaults, to fill in (a frozen one is several times slower to spread). */
function defaults(): HostConfig {
  return {
    permitAutoConverge: false,
    permitPostCopy: false,
    tunnelled: false,
    nativeTls: false,
    parallelConnections: 1,
    bandwidth: 0,
    downtime: 500,
    downtimeSteps: 10,
    downtimeDelay: 75,
    completionTimeout: 800,
    timeoutAction: 'abort',
    migrationScheme: '',
    migrationUri: '',
    inboundAddress: '',
  };
}

/** How one {@link HostConfig} option is named in `nova.conf` and which values it takes. */
export type HostOptionSpec = { option: string } & (
  | { kind: 'boolean' }
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'choice'; choices: readonly string[] }
  | { kind: 'text'; format: TextFormat }
);

const MAX_INT = 2 ** 31 - 1;

/** Each option's `nova.conf` name and the values oslo.config would accept for it. */
export const HOST_OPTIONS: Readonly<Record<keyof HostConfig, HostOptionSpec>> = frozenDeep({
  permitAutoConverge: { option: 'live_migration_permit_auto_converge', kind: 'boolean' },
  permitPostCopy: { option: 'live_migration_permit_post_copy', kind: 'boolean' },
  tunnelled: { option: 'live_migration_tunnelled', kind: 'boolean' },
  nativeTls: { option: 'live_migration_with_native_tls', kind: 'boolean' },
  // QEMU's multifd-channels is a uint8.
  parallelConnections: { option: 'live_migration_parallel_connections', kind: 'integer', min: 1, max: 255 },
  bandwidth: { option: 'live_migration_bandwidth', kind: 'integer', min: 0, max: MAX_INT },
  downtime: { option: 'live_migration_downtime', kind: 'integer', min: 100, max: MAX_INT },
  downtimeSteps: { option: 'live_migration_downtime_steps', kind: 'integer', min: 3, max: MAX_INT },
  downtimeDelay: { option: 'live_migration_downtime_delay', kind: 'integer', min: 3, max: MAX_INT },
  completionTimeout: { option: 'live_migration_completion_timeout', kind: 'integer', min: 0, max: MAX_INT },
  timeoutAction: {
    option: 'live_migration_timeout_action',
    kind: 'choice',
    choices: ['abort', 'force_complete'],
  },
  migrationScheme: { option: 'live_migration_scheme', kind: 'text', format: 'scheme' },
  migrationUri: { option: 'live_migration_uri', kind: 'text', format: 'uri-template' },
  inboundAddress: { option: 'live_migration_inbound_addr', kind: 'text', format: 'address' },
});

const OPTION_KEYS = Object.keys(HOST_OPTIONS) as (keyof HostConfig)[];

/**
 * Where `key` of a config returned by `parseNovaConf` was set, e.g. `"nova.conf line 7"`; `undefined` for an
 * option left at Nova's default or a config that was not read from files.
 *
 * @example
 * ```ts
 * const host = parseNovaConf('[libvirt]\nlive_migration_downtime = 300\n');
 * originOf(host, 'downtime'); // 'nova.conf line 2'
 * originOf(host, 'bandwidth'); // undefined
 * ```
 */
export function originOf(config: HostConfig, key: keyof HostConfig): string | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  return MadeHere.originsOf(config)?.[key];
}

/** `[libvirt] live_migration_downtime`, for messages. */
export function optionLabel(key: keyof HostConfig): string {
  return `[libvirt] ${HOST_OPTIONS[key].option}`;
}

/**
 * Fills a partial host config with Nova's defaults and validates it the way oslo.config and Nova do: types,
 * ranges, choices, and tunnelled together with native TLS. Unknown keys are refused so a typo never falls
 * back to a default silently, and so is anything but a plain object (a number, an array, a `Map`). The
 * result is frozen: spread it to derive another.
 *
 * @throws {@link MigrationPolicyError} `INVALID_HOST_CONFIG` naming the option, the value and the fix.
 *
 * @example
 * ```ts
 * resolveHostConfig({ permitPostCopy: true }).downtimeSteps; // 10
 * ```
 */
export function resolveHostConfig(partial?: Partial<HostConfig> | null): Readonly<HostConfig> {
  if (partial === undefined || partial === null) return DEFAULT_HOST_CONFIG;
  if (typeof partial !== 'object') {
    throw invalidHostConfig('host', partial, 'pass an object of HostConfig options, or leave it out');
  }
  // Checked when it was made, and frozen since.
  if (MadeHere.originsOf(partial) !== undefined) return partial as Readonly<HostConfig>;
  try {
    if (!isPlainObject(partial)) {
      throw invalidHostConfig('host', partial, 'pass a plain object of HostConfig options, or leave it out');
    }
    const config = defaults();
    const writable = config as unknown as Record<string, unknown>;
    for (const key in partial) {
      // Own options only: a polluted Object.prototype must not lend a host its options.
      if (!hasOwn(partial, key)) continue;
      const value = (partial as Record<string, unknown>)[key];
      if (!hasOwn(HOST_OPTIONS, key)) {
        throw invalidHostConfig(boundKey(key), value, `use one of: ${OPTION_KEYS.join(', ')}`);
      }
      if (value === undefined) continue;
      checkOptionValue(key as keyof HostConfig, value);
      writable[key] = value;
    }
    validateCombination(config);
    return withOrigins(config, NO_ORIGINS);
  } catch (err) {
    throw asPolicyError(err, 'host', 'the host config');
  }
}

function checkOptionValue(key: keyof HostConfig, value: unknown): void {
  const spec = HOST_OPTIONS[key];
  const fail = (fix: string) => invalidHostConfig(spec.option, value, fix, `${optionLabel(key)} (${key})`);
  switch (spec.kind) {
    case 'boolean':
      if (typeof value !== 'boolean') throw fail('use true or false');
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < spec.min || value > spec.max) {
        throw fail(`use a whole number from ${spec.min} to ${spec.max}`);
      }
      return;
    case 'choice':
      if (typeof value !== 'string' || !spec.choices.includes(value)) {
        throw fail(`use one of: ${spec.choices.join(', ')}`);
      }
      return;
    case 'text': {
      if (typeof value !== 'string') throw fail('use a string, or "" for not set');
      const problem = textOptionProblem(spec.format, value);
      if (problem !== undefined) throw fail(problem);
      return;
    }
  }
}

/** Nova's own check of the combination, done once the options are valid one by one. */
export function validateCombination(config: HostConfig): HostConfig {
  if (config.tunnelled && config.nativeTls) {
    throw new MigrationPolicyError(
      'INVALID_HOST_CONFIG',
      `${optionLabel('tunnelled')} and ${optionLabel('nativeTls')} are both true, which Nova refuses: a ` +
        "tunnelled stream goes through libvirtd's own connection, so QEMU's native TLS has no stream of its own " +
        'to encrypt (libvirt 9.0 fails the pair with an internal error); native TLS replaces the tunnel; set ' +
        'live_migration_tunnelled = false',
      { key: HOST_OPTIONS.tunnelled.option, value: true },
    );
  }
  return config;
}

/**
 * The one error shape for a bad option, shared with the `nova.conf` parser: `key` is the `nova.conf` option
 * name where there is one, `label` how the message names it.
 */
export function invalidHostConfig(
  key: string,
  value: unknown,
  fix: string,
  label = key,
): MigrationPolicyError {
  return new MigrationPolicyError('INVALID_HOST_CONFIG', `${label} is ${quote(value)}: ${fix}`, {
    key,
    value,
  });
}
