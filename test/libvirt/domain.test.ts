import { afterAll, describe, expect, it } from 'vitest';
import { LibvirtError } from '../../src/errors.js';
import { DomainStateCode, LibvirtErrorCode, openConnection } from '../../src/libvirt/index.js';
import { captureError, TEST_URI } from './helpers.js';

const conn = openConnection(TEST_URI);
afterAll(() => conn.close());

describe('domain on test:///default', () => {
  it('the test domain is running and active', () => {
    const dom = conn.lookupDomainByName('test');
    expect(dom.state().state).toBe('running');
    expect(DomainStateCode[dom.state().state]).toBe(1);
    expect(dom.isActive()).toBe(true);
  });

  it('suspend and resume change the state', () => {
    const dom = conn.lookupDomainByName('test');
    dom.suspend();
    try {
      expect(dom.state().state).toBe('paused');
    } finally {
      dom.resume();
    }
    expect(dom.state().state).toBe('running');
  });

  // Observed with libvirt 9.0: the test driver answers VIR_ERR_INTERNAL_ERROR (1), "domain 'test' not paused".
  it('resuming a running domain is refused with libvirt’s code and message', () => {
    const err = captureError(() => conn.lookupDomainByName('test').resume());
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ code: LibvirtErrorCode.INTERNAL_ERROR, call: 'virDomainResume' });
    expect((err as Error).message).toContain('not paused');
  });

  it('returns its XML', () => {
    expect(conn.lookupDomainByName('test').xml()).toMatch(/<domain type='test'/);
  });

  // The test driver implements none of the job/migration tuning calls; libvirt answers VIR_ERR_NO_SUPPORT (3),
  // which proves each call reaches libvirt under its own name and its error is carried back.
  it.each([
    ['virDomainGetJobStats', (d: ReturnType<typeof conn.lookupDomainByName>) => d.jobStats()],
    [
      'virDomainGetJobStats',
      (d: ReturnType<typeof conn.lookupDomainByName>) => d.jobStats({ completed: true }),
    ],
    ['virDomainMigrateStartPostCopy', (d: ReturnType<typeof conn.lookupDomainByName>) => d.startPostCopy()],
    ['virDomainAbortJob', (d: ReturnType<typeof conn.lookupDomainByName>) => d.abortJob()],
    [
      'virDomainAbortJobFlags',
      (d: ReturnType<typeof conn.lookupDomainByName>) => d.abortJob({ postcopy: true }),
    ],
    [
      'virDomainMigrateSetMaxDowntime',
      (d: ReturnType<typeof conn.lookupDomainByName>) => d.setMaxDowntime(300),
    ],
    ['virDomainMigrateSetMaxSpeed', (d: ReturnType<typeof conn.lookupDomainByName>) => d.setMaxSpeed(100)],
    [
      'virDomainMigrateSetMaxSpeed',
      (d: ReturnType<typeof conn.lookupDomainByName>) => d.setMaxSpeed(100, { postcopy: true }),
    ],
  ])('%s reaches libvirt and reports VIR_ERR_NO_SUPPORT', (call, fn) => {
    const err = captureError(() => fn(conn.lookupDomainByName('test')));
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ call, code: LibvirtErrorCode.NO_SUPPORT });
  });

  it('rejects values that do not fit the C type before calling libvirt', () => {
    const dom = conn.lookupDomainByName('test');
    expect(() => dom.setMaxDowntime(-1)).toThrow(RangeError);
    expect(() => dom.setMaxSpeed(1.5)).toThrow(RangeError);
  });
});
