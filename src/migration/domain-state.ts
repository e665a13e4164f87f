import {
  DomainPausedReason,
  DomainRunningReason,
  type DomainState,
  LibvirtErrorCode,
} from '../libvirt/constants.js';
import type { CallOptions, LibvirtDomain } from '../libvirt/types.js';
import type { CopyPhase } from '../policy/recovery.js';

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

/**
 * The source's phase, or `undefined` when libvirt could not tell (a timeout, a lost connection): only
 * "no such domain" means the guest left the source.
 */
export async function readSourcePhase(
  domain: LibvirtDomain,
  options?: CallOptions,
): Promise<SourcePhase | undefined> {
  try {
    return sourcePhase(await domain.state(options));
  } catch (error) {
    return isNoDomain(error) ? 'gone' : undefined;
  }
}

/** libvirt's `VIR_ERR_NO_DOMAIN`: the domain is not on this host (any more). */
export function isNoDomain(error: unknown): boolean {
  return (error as { libvirtCode?: unknown } | undefined)?.libvirtCode === LibvirtErrorCode.NO_DOMAIN;
}

/**
 * The guest's copy on the destination after a post-copy: libvirt marks it `running` with reason
 * `POSTCOPY` while pages still arrive and `POSTCOPY_FAILED` once the link broke; a destination paused in
 * post-copy reads the same. Anything inactive is `gone`.
 */
export function destinationPhase(state: { state: DomainState; reason: number } | undefined): CopyPhase {
  if (state === undefined) return 'gone';
  if (state.state !== 'running' && state.state !== 'paused') return 'gone';
  if (state.reason === DomainRunningReason.POSTCOPY_FAILED && state.state === 'running')
    return 'post-copy-failed';
  if (state.reason === DomainPausedReason.POSTCOPY_FAILED && state.state === 'paused')
    return 'post-copy-failed';
  if (state.reason === DomainRunningReason.POSTCOPY && state.state === 'running') return 'post-copy';
  if (state.reason === DomainPausedReason.POSTCOPY && state.state === 'paused') return 'post-copy';
  return state.state;
}
