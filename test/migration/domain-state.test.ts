/** What libvirt's domain states say about a migration, on the source and on the destination. */
import { describe, expect, it } from 'vitest';
import {
  destinationPhase,
  isNoDomain,
  readSourcePhase,
  sourcePhase,
} from '../../src/migration/domain-state.js';
import {
  FakeDomain,
  libvirtError,
  noDomain,
  PAUSED_POSTCOPY,
  PAUSED_POSTCOPY_FAILED,
} from '../support/fake-libvirt.js';

describe('destinationPhase', () => {
  it("reads libvirt's running and paused reasons on the destination", () => {
    expect(destinationPhase({ state: 'running', reason: 11 })).toBe('post-copy-failed');
    expect(destinationPhase({ state: 'running', reason: 10 })).toBe('post-copy');
    expect(destinationPhase({ state: 'paused', reason: 13 })).toBe('post-copy-failed');
    expect(destinationPhase({ state: 'paused', reason: 12 })).toBe('post-copy');
    expect(destinationPhase({ state: 'running', reason: 1 })).toBe('running');
    expect(destinationPhase({ state: 'paused', reason: 1 })).toBe('paused');
    expect(destinationPhase({ state: 'paused', reason: 11 })).toBe('paused');
    expect(destinationPhase({ state: 'shutoff', reason: 1 })).toBe('gone');
    expect(destinationPhase(undefined)).toBe('gone');
  });
});

describe('sourcePhase and readSourcePhase', () => {
  it("reads the source's phase from its state: post-copy while paused for it, post-copy failed, paused, running, gone", () => {
    expect(sourcePhase({ state: 'paused', reason: PAUSED_POSTCOPY })).toBe('post-copy');
    expect(sourcePhase({ state: 'paused', reason: PAUSED_POSTCOPY_FAILED })).toBe('post-copy-failed');
    expect(sourcePhase({ state: 'paused', reason: 1 })).toBe('paused');
    expect(sourcePhase({ state: 'running', reason: PAUSED_POSTCOPY })).toBe('running');
    expect(sourcePhase({ state: 'shutoff', reason: 3 })).toBe('gone');
    expect(sourcePhase(undefined)).toBe('gone');
  });

  it('tells "no such domain" (gone) from a read that failed otherwise (unknown)', async () => {
    const domain = new FakeDomain();
    domain.current = { state: 'paused', reason: PAUSED_POSTCOPY };
    expect(await readSourcePhase(domain, { timeoutMs: 50 })).toBe('post-copy');
    expect(domain.deadlines).toContainEqual(['state', 50]);
    domain.script('state', { error: libvirtError(1, 'timed out') });
    expect(await readSourcePhase(domain)).toBeUndefined();
    domain.gone = true;
    expect(await readSourcePhase(domain)).toBe('gone');
    expect(isNoDomain(noDomain())).toBe(true);
    expect(isNoDomain(libvirtError(1, 'x'))).toBe(false);
    expect(isNoDomain(undefined)).toBe(false);
  });
});
