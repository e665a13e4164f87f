import { describe, expect, it } from 'vitest';
import { TypedParamType } from '../../src/libvirt/constants.js';
import { decodeJobStats } from '../../src/libvirt/job-stats.js';
import { decodeTypedParams, encodeMigrateParams, readTypedParam } from '../../src/libvirt/typed-params.js';
import type { MigrateParams } from '../../src/libvirt/types.js';

const ALL: Required<MigrateParams> = {
  migrateUri: 'tcp://10.0.0.2:49152',
  destinationName: 'renamed',
  destinationXml: '<domain/>',
  persistentXml: '<domain><name>p</name></domain>',
  bandwidth: 2 ** 40 + 7,
  migrateDisks: ['vda', 'vdb', 'sdc'],
  parallelConnections: 4,
  autoConvergeInitial: 20,
  autoConvergeIncrement: 10,
  bandwidthPostcopy: 500,
  tlsDestination: 'dest.example.org',
};

describe('encodeMigrateParams', () => {
  it('every field reads back through libvirt’s virTypedParamsGet*', () => {
    const enc = encodeMigrateParams(ALL);
    try {
      expect(enc.count).toBe(13);
      expect(readTypedParam(enc, 'migrate_uri', 'string')).toBe(ALL.migrateUri);
      expect(readTypedParam(enc, 'destination_name', 'string')).toBe(ALL.destinationName);
      expect(readTypedParam(enc, 'destination_xml', 'string')).toBe(ALL.destinationXml);
      expect(readTypedParam(enc, 'persistent_xml', 'string')).toBe(ALL.persistentXml);
      expect(readTypedParam(enc, 'bandwidth', 'ullong')).toBe(ALL.bandwidth);
      expect(readTypedParam(enc, 'migrate_disks', 'string')).toBe('vda');
      expect(readTypedParam(enc, 'parallel.connections', 'int')).toBe(4);
      expect(readTypedParam(enc, 'auto_converge.initial', 'int')).toBe(20);
      expect(readTypedParam(enc, 'auto_converge.increment', 'int')).toBe(10);
      expect(readTypedParam(enc, 'bandwidth.postcopy', 'ullong')).toBe(500);
      expect(readTypedParam(enc, 'tls.destination', 'string')).toBe(ALL.tlsDestination);
      // Typed: an int param is not readable as ullong, so the C type really is int.
      expect(readTypedParam(enc, 'parallel.connections', 'ullong')).toBeUndefined();
      expect(readTypedParam(enc, 'bandwidth', 'int')).toBeUndefined();
    } finally {
      enc.free();
    }
  });

  it('keeps repeated migrate_disks in order, as string parameters', () => {
    const enc = encodeMigrateParams({ migrateDisks: ALL.migrateDisks });
    try {
      const disks = decodeTypedParams(enc.ptr, enc.count).filter((p) => p.field === 'migrate_disks');
      expect(disks.map((p) => p.value)).toEqual(['vda', 'vdb', 'sdc']);
      expect(disks.every((p) => p.type === TypedParamType.STRING)).toBe(true);
    } finally {
      enc.free();
    }
  });

  it('omits absent fields and encodes nothing for {}', () => {
    const enc = encodeMigrateParams({});
    expect(enc.count).toBe(0);
    expect(readTypedParam(enc, 'bandwidth', 'ullong')).toBeUndefined();
    enc.free();
    enc.free();
  });

  it('refuses values that do not fit the C type', () => {
    expect(() => encodeMigrateParams({ parallelConnections: 2 ** 31 })).toThrow(RangeError);
    expect(() => encodeMigrateParams({ bandwidth: -1 })).toThrow(RangeError);
  });
});

describe('job stats decoding', () => {
  it('decodes a libvirt-built typed-param array into raw and named fields', () => {
    const enc = encodeMigrateParams({ bandwidth: 123, parallelConnections: 2, tlsDestination: 'x' });
    try {
      const stats = decodeJobStats(2, decodeTypedParams(enc.ptr, enc.count));
      expect(stats.type).toBe('unbounded');
      expect(stats.raw).toEqual({ bandwidth: 123, 'parallel.connections': 2, 'tls.destination': 'x' });
    } finally {
      enc.free();
    }
  });

  it('maps libvirt field names to JobStats keys and leaves absent ones undefined', () => {
    const stats = decodeJobStats(3, [
      { field: 'memory_iteration', type: TypedParamType.ULLONG, value: 5 },
      { field: 'memory_dirty_rate', type: TypedParamType.ULLONG, value: 1000 },
      { field: 'auto_converge_throttle', type: TypedParamType.INT, value: 30 },
      { field: 'memory_postcopy_requests', type: TypedParamType.ULLONG, value: 9 },
      { field: 'errmsg', type: TypedParamType.STRING, value: 'boom' },
      { field: 'success', type: TypedParamType.BOOLEAN, value: false },
    ]);
    expect(stats).toMatchObject({
      type: 'completed',
      memoryIteration: 5,
      memoryDirtyRate: 1000,
      autoConvergeThrottle: 30,
      memoryPostcopyRequests: 9,
      errorMessage: 'boom',
    });
    expect(stats.memoryRemaining).toBeUndefined();
    expect(stats.raw.success).toBe(false);
  });

  it('an idle job decodes as type none with an empty raw object', () => {
    const stats = decodeJobStats(0, decodeTypedParams(null, 0));
    expect(stats.type).toBe('none');
    expect(stats.raw).toEqual({});
  });
});
