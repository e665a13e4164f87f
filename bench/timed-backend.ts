/**
 * The real koffi binding with the moments of each `migrateToURI3` noted down: when migrate() handed the call
 * to the connection's worker, and when libvirt's answer came back. Benchmarks use it to time what happens
 * around libvirt's own call without touching the library.
 */
import {
  koffiBackend,
  type LibvirtBackend,
  type LibvirtConnection,
  type LibvirtDomain,
} from '../src/libvirt/index.js';

/** `performance.now()` of each migrate call's start and return, in call order. */
export interface CallTimes {
  calls: number[];
  returns: number[];
}

/** A backend that records into `times` and otherwise is the real binding. */
export function timedBackend(times: CallTimes): LibvirtBackend {
  const real = koffiBackend();
  const wrapDomain = (domain: LibvirtDomain): LibvirtDomain =>
    new Proxy(domain, {
      get(target, key, receiver) {
        if (key !== 'migrateToURI3') return Reflect.get(target, key, receiver);
        return async (...args: Parameters<LibvirtDomain['migrateToURI3']>) => {
          times.calls.push(performance.now());
          await target.migrateToURI3(...args);
          times.returns.push(performance.now());
        };
      },
    });
  const wrapConnection = (connection: LibvirtConnection): LibvirtConnection =>
    new Proxy(connection, {
      get(target, key, receiver) {
        if (key === 'lookupDomainByName' || key === 'lookupDomainByUUID') {
          return async (...args: [string]) =>
            wrapDomain(await (target[key] as (id: string) => Promise<LibvirtDomain>)(...args));
        }
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return { open: async (uri, options) => wrapConnection(await real.open(uri, options)) };
}
