import { describe, expect, it } from 'vitest';
import { flagNames, MigrateFlags } from '../../src/index.js';

describe('MigrateFlags', () => {
  it.each([
    ['LIVE', 1],
    ['PEER2PEER', 2],
    ['TUNNELLED', 4],
    ['PERSIST_DEST', 8],
    ['UNDEFINE_SOURCE', 16],
    ['PAUSED', 32],
    ['NON_SHARED_DISK', 64],
    ['NON_SHARED_INC', 128],
    ['CHANGE_PROTECTION', 256],
    ['UNSAFE', 512],
    ['OFFLINE', 1024],
    ['COMPRESSED', 2048],
    ['ABORT_ON_ERROR', 4096],
    ['AUTO_CONVERGE', 8192],
    ['RDMA_PIN_ALL', 16384],
    ['POSTCOPY', 32768],
    ['TLS', 65536],
    ['PARALLEL', 131072],
    ['NON_SHARED_SYNCHRONOUS_WRITES', 262144],
    ['POSTCOPY_RESUME', 524288],
    ['ZEROCOPY', 1048576],
  ] as const)('%s is libvirt value %d', (name, value) => {
    expect(MigrateFlags[name]).toBe(value);
  });

  it('has exactly the 21 flags of libvirt 9', () => {
    expect(Object.keys(MigrateFlags)).toHaveLength(21);
  });

  it('names the bits of a mask, lowest first', () => {
    expect(flagNames(8195)).toEqual(['LIVE', 'PEER2PEER', 'AUTO_CONVERGE']);
    expect(flagNames(0)).toEqual([]);
    expect(flagNames(MigrateFlags.POSTCOPY | MigrateFlags.POSTCOPY_RESUME)).toEqual([
      'POSTCOPY',
      'POSTCOPY_RESUME',
    ]);
  });
});
