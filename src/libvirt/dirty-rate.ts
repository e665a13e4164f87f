/**
 * The dirty-rate calls' pure parts: reading the `dirtyrate.*` stats group into {@link DirtyRateStats}, and
 * turning libvirt's refusals of `virDomainStartDirtyRateCalc` into typed errors that name the version or
 * the job in the way (the worker makes the calls, see `connection-calls.ts`).
 *
 * What libvirt 9.0 with QEMU 10 answers (lab, docs/threading.md "Dirty rate"): a calculation returns at
 * once and runs in QEMU for `seconds`; seconds outside 1..60 is `VIR_ERR_CONFIG_UNSUPPORTED`; started while
 * the domain migrates, the call waits 30 s for the domain's job lock and fails `VIR_ERR_OPERATION_TIMEOUT`
 * (68, domain 0: "Timed out during operation: cannot acquire state change lock (held by
 * monitor=remoteDispatchDomainMigratePerform3Params)"), which is why the worker looks at the job first.
 *
 * @module
 */
import { LibvirtError } from '../errors.js';
import {
  DIRTY_RATE_STATUS_NAMES,
  type DirtyRateMode,
  DirtyRateModeFlag,
  DOMAIN_JOB_OPERATION_NAMES,
  LibvirtErrorCode,
} from './constants.js';
import type { RawParams } from './protocol.js';
import type { DirtyRateStats, JobStats } from './types.js';

/** First libvirt with `virDomainStartDirtyRateCalc` and the `dirtyrate` stats group. */
export const DIRTY_RATE_SINCE = 7_002_000;
/** First libvirt taking a mode (`VIR_DOMAIN_DIRTYRATE_MODE_*`). */
export const DIRTY_RATE_MODES_SINCE = 8_001_000;

const CALL = 'virDomainStartDirtyRateCalc';
const STATS_CALL = 'virDomainListGetStats';
const MODES = Object.keys(DirtyRateModeFlag) as DirtyRateMode[];

/**
 * libvirt's version encoding (major × 1,000,000 + minor × 1,000 + micro) as `major.minor.micro`.
 *
 * @example
 * ```ts
 * formatVersion(9_000_000); // '9.0.0'
 * ```
 */
export function formatVersion(encoded: number): string {
  return `${Math.floor(encoded / 1e6)}.${Math.floor(encoded / 1e3) % 1e3}.${encoded % 1e3}`;
}

/**
 * The `dirtyrate.*` fields of a domain's stats record as {@link DirtyRateStats}.
 *
 * @example
 * ```ts
 * decodeDirtyRate({ 'dirtyrate.calc_status': 2, 'dirtyrate.megabytes_per_second': 12 }).mibPerSecond; // 12
 * ```
 */
export function decodeDirtyRate(record: RawParams): DirtyRateStats {
  const raw: RawParams = {};
  for (const [field, value] of Object.entries(record)) if (field.startsWith('dirtyrate.')) raw[field] = value;
  const num = (field: string): number | undefined => {
    const v = raw[`dirtyrate.${field}`];
    return typeof v === 'number' ? v : undefined;
  };
  const status = num('calc_status');
  const stats: DirtyRateStats = {
    status: (status !== undefined ? DIRTY_RATE_STATUS_NAMES[status] : undefined) ?? 'unknown',
    raw,
  };
  const start = num('calc_start_time');
  if (start !== undefined) stats.startTimeSeconds = start;
  const period = num('calc_period');
  if (period !== undefined) stats.periodSeconds = period;
  const mode = raw['dirtyrate.calc_mode'];
  if (typeof mode === 'string' && (MODES as string[]).includes(mode)) stats.mode = mode as DirtyRateMode;
  const rate = num('megabytes_per_second');
  if (rate !== undefined) stats.mibPerSecond = rate;
  const vcpus: number[] = [];
  for (const [field, value] of Object.entries(raw)) {
    const m = /^dirtyrate\.vcpu\.(\d+)\.megabytes_per_second$/.exec(field);
    if (m && typeof value === 'number') vcpus[Number(m[1])] = value;
  }
  if (vcpus.length > 0) stats.vcpuMibPerSecond = vcpus;
  return stats;
}

/**
 * The client library has no `virDomainStartDirtyRateCalc` (older than libvirt 7.2.0).
 *
 * @example
 * ```ts
 * throw dirtyRateCallMissing('/usr/lib/libvirt.so.0');
 * ```
 */
export function dirtyRateCallMissing(libraryPath: string): LibvirtError {
  return new LibvirtError(
    CALL,
    LibvirtErrorCode.NO_SUPPORT,
    0,
    `the libvirt client library ${libraryPath} has no ${CALL}, which needs libvirt >= ${formatVersion(DIRTY_RATE_SINCE)}: ` +
      `upgrade libvirt on this machine (Debian/Ubuntu: libvirt0, Fedora/RHEL: libvirt-libs)`,
    'LIBVIRT_UNSUPPORTED',
  );
}

/**
 * The domain has a job running (seen in its job stats before asking): a calculation cannot run beside it,
 * and libvirt would hold the call 30 s on the domain's job lock before refusing.
 *
 * @example
 * ```ts
 * throw dirtyRateBesideJob('guest', { type: 'unbounded', operation: 5, raw: {} }); // outgoing migration
 * ```
 */
export function dirtyRateBesideJob(domain: string, job: JobStats): LibvirtError {
  const operation = DOMAIN_JOB_OPERATION_NAMES[job.operation ?? 0] ?? `operation ${job.operation}`;
  return new LibvirtError(
    CALL,
    0,
    0,
    `domain ${domain} has a job running (${operation}, ${job.type}): a dirty-rate calculation cannot run beside it ` +
      `(libvirt would wait 30 s for the domain's job lock, then refuse); measure before migrating, or read ` +
      `memoryDirtyRate from jobStats() while it migrates`,
    'LIBVIRT_DOMAIN_BUSY',
  );
}

/** Where a refusal happened, for its message. */
export interface DirtyRateContext {
  domain: string;
  uri: string;
  mode: DirtyRateMode;
  /** The host's libvirt (`virConnectGetLibVersion`), when it could be read. */
  libVersion: number | undefined;
}

function versionText(libVersion: number | undefined): string {
  return libVersion === undefined ? 'its libvirt (version unknown)' : `libvirt ${formatVersion(libVersion)}`;
}

/**
 * libvirt's refusal of `virDomainStartDirtyRateCalc` as a typed error when it means "this libvirt cannot"
 * (`LIBVIRT_UNSUPPORTED`) or "a job is in the way" (`LIBVIRT_DOMAIN_BUSY`); any other error as it was.
 *
 * @example
 * ```ts
 * dirtyRateRefusal(new LibvirtError('virDomainStartDirtyRateCalc', 3, 6, 'this function is not supported by the connection driver'),
 *   { domain: 'test', uri: 'test:///default', mode: 'page-sampling', libVersion: 9_000_000 }).code; // 'LIBVIRT_UNSUPPORTED'
 * ```
 */
export function dirtyRateRefusal(err: unknown, at: DirtyRateContext): unknown {
  if (!(err instanceof LibvirtError) || err.code !== 'LIBVIRT_ERROR') return err;
  const typed = (kind: 'LIBVIRT_UNSUPPORTED' | 'LIBVIRT_DOMAIN_BUSY', message: string): LibvirtError =>
    new LibvirtError(
      err.call,
      err.libvirtCode,
      err.libvirtDomain,
      `${message} (libvirt: ${err.libvirtMessage})`,
      kind,
    );
  const host = `${versionText(at.libVersion)} on ${at.uri}`;
  switch (err.libvirtCode) {
    case LibvirtErrorCode.NO_SUPPORT:
      return at.libVersion !== undefined && at.libVersion >= DIRTY_RATE_SINCE
        ? typed(
            'LIBVIRT_UNSUPPORTED',
            `${host} is recent enough, but this connection's driver has no dirty-rate calculation: measure through the QEMU driver (qemu:///system)`,
          )
        : typed(
            'LIBVIRT_UNSUPPORTED',
            `${host} has no dirty-rate calculation, which needs libvirt >= ${formatVersion(DIRTY_RATE_SINCE)}: upgrade libvirt on the host`,
          );
    case LibvirtErrorCode.INVALID_ARG:
      if (at.mode !== 'page-sampling' && /unsupported flags/.test(err.libvirtMessage)) {
        return typed(
          'LIBVIRT_UNSUPPORTED',
          `${host} cannot measure in mode '${at.mode}', which needs libvirt >= ${formatVersion(DIRTY_RATE_MODES_SINCE)}: upgrade libvirt on the host, or use mode 'page-sampling'`,
        );
      }
      return err;
    case LibvirtErrorCode.OPERATION_UNSUPPORTED:
      return typed(
        'LIBVIRT_UNSUPPORTED',
        `domain ${at.domain} cannot be measured in mode '${at.mode}' on ${at.uri}` +
          (at.mode === 'dirty-ring'
            ? `: it needs a KVM guest with the dirty ring on (<features><kvm><dirty-ring state='on'/></kvm></features>); use mode 'page-sampling'`
            : `; use mode 'page-sampling'`),
      );
    case LibvirtErrorCode.OPERATION_TIMEOUT:
      if (/state change lock/.test(err.libvirtMessage)) {
        const job = /held by [^)]*Migrat/i.test(err.libvirtMessage) ? 'a migration' : 'another job';
        return typed(
          'LIBVIRT_DOMAIN_BUSY',
          `domain ${at.domain} has ${job} running that a dirty-rate calculation cannot run beside; measure before migrating, or read memoryDirtyRate from jobStats() while it migrates`,
        );
      }
      return err;
    default:
      return err;
  }
}

/**
 * libvirt's refusal of the `dirtyrate` stats group (a daemon older than 7.2.0, or a driver without it) as
 * `LIBVIRT_UNSUPPORTED`; any other error as it was.
 *
 * @example
 * ```ts
 * dirtyRateStatsRefusal(new LibvirtError('virDomainListGetStats', 74, 10, 'Stats types bits 0x200 are not supported by this daemon'),
 *   { uri: 'test:///default', libVersion: 9_000_000 }).code; // 'LIBVIRT_UNSUPPORTED'
 * ```
 */
export function dirtyRateStatsRefusal(
  err: unknown,
  at: Pick<DirtyRateContext, 'uri' | 'libVersion'>,
): unknown {
  if (
    !(err instanceof LibvirtError) ||
    err.code !== 'LIBVIRT_ERROR' ||
    err.call !== STATS_CALL ||
    err.libvirtCode !== LibvirtErrorCode.ARGUMENT_UNSUPPORTED
  ) {
    return err;
  }
  const host = `${versionText(at.libVersion)} on ${at.uri}`;
  const why =
    at.libVersion !== undefined && at.libVersion >= DIRTY_RATE_SINCE
      ? `${host} is recent enough, but this connection's driver does not report the dirtyrate stats group: read it through the QEMU driver (qemu:///system)`
      : `${host} does not report the dirtyrate stats group, which needs libvirt >= ${formatVersion(DIRTY_RATE_SINCE)}: upgrade libvirt on the host`;
  return new LibvirtError(
    err.call,
    err.libvirtCode,
    err.libvirtDomain,
    `${why} (libvirt: ${err.libvirtMessage})`,
    'LIBVIRT_UNSUPPORTED',
  );
}
