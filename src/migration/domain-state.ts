import { DomainPausedReason, type DomainState } from '../libvirt/constants.js';
import type { MigrationStatus } from '../policy/status.js';

/** What the source domain's state says about its migration. */
export type SourcePhase = 'post-copy' | 'post-copy-failed' | 'paused' | 'running' | 'gone';

/**
 * Reads the migration phase from the source domain's state: during post-copy libvirt keeps the source
 * paused with reason `VIR_DOMAIN_PAUSED_POSTCOPY`, and `..._POSTCOPY_FAILED` after the link broke.
 */
export function sourcePhase(state: { state: DomainState; reason: number } | undefined): SourcePhase {
  if (state === undefined) return 'gone';
  if (state.state === 'paused') {
    if (state.reason === DomainPausedReason.POSTCOPY) return 'post-copy';
    if (state.reason === DomainPausedReason.POSTCOPY_FAILED) return 'post-copy-failed';
    return 'paused';
  }
  if (state.state === 'running') return 'running';
  return 'gone';
}

/** The job status a phase implies while libvirt's migration call is still running. */
export function statusForPhase(current: MigrationStatus, phase: SourcePhase): MigrationStatus {
  return phase === 'post-copy' || phase === 'post-copy-failed' ? 'running (post-copy)' : current;
}

/** `<memory unit='KiB'>N</memory>` of a domain XML, in MiB; `undefined` when absent. */
export function memoryMiBFromXml(xml: string): number | undefined {
  const match = /<memory(?:\s+unit=['"](\w+)['"])?\s*>\s*(\d+)\s*<\/memory>/.exec(xml);
  if (!match) return undefined;
  const unit = (match[1] ?? 'KiB').toLowerCase();
  const factor: Record<string, number> = {
    b: 1 / 1024 ** 2,
    bytes: 1 / 1024 ** 2,
    kib: 1 / 1024,
    k: 1 / 1024,
    mib: 1,
    m: 1,
    gib: 1024,
    g: 1024,
  };
  const scale = factor[unit];
  return scale === undefined ? undefined : Number(match[2]) * scale;
}
