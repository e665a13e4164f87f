import { describe, expect, it } from 'vitest';
import { LibvirtError, MigrationJobError, redactError, redactText, redactUri } from '../src/index.js';
import { holdsCredential, REDACTED } from '../src/redact.js';

describe('redactUri and redactText: credentials out, the rest kept', () => {
  it.each([
    ['qemu+tls://admin:s3cr3t@compute-2/system', 'qemu+tls://admin:***@compute-2/system'],
    [
      'qemu+ssh://root@compute-2/system?keyfile=/root/.ssh/id&no_verify=1',
      'qemu+ssh://root@compute-2/system?keyfile=/root/.ssh/id&no_verify=1',
    ],
    [
      'qemu+tls://h/system?pkipath=/etc/pki/agent&password=hunter2',
      'qemu+tls://h/system?pkipath=/etc/pki/agent&password=***',
    ],
    [
      'http://u:p%40ss@[fd00::1]:8778/placement?token=abc123&x=1',
      'http://u:***@[fd00::1]:8778/placement?token=***&x=1',
    ],
    [
      'https://placement:8778/resource_providers?os_password=pw1;api_key=k2',
      'https://placement:8778/resource_providers?os_password=***;api_key=***',
    ],
    ['tcp://[fd00::1]:49152', 'tcp://[fd00::1]:49152'],
    ['qemu+tls://compute-2:16514/system', 'qemu+tls://compute-2:16514/system'],
  ])('%s', (uri, redacted) => {
    expect(redactUri(uri)).toBe(redacted);
    expect(holdsCredential(uri)).toBe(uri !== redacted);
  });

  it('finds URIs, token headers and named secrets inside free text and JSON', () => {
    const text =
      'opening qemu+tls://admin:pw1234@h/system failed; {"X-Auth-Token":"gAAAAB-tok","url":"http://a:b12@p/"} ' +
      'Authorization: Bearer eyJ.abc.def and the token tok-9f8e7d seen twice: tok-9f8e7d';
    expect(redactText(text, ['tok-9f8e7d'])).toBe(
      'opening qemu+tls://admin:***@h/system failed; {"X-Auth-Token":"***","url":"http://a:***@p/"} ' +
        'Authorization: Bearer *** and the token *** seen twice: ***',
    );
    expect(REDACTED).toBe('***');
  });

  it('ignores named secrets too short to search for, and leaves text without credentials unchanged', () => {
    expect(redactText('a b c', ['a', ''])).toBe('a b c');
    const plain = 'virDomainMigrateToURI3: operation failed (libvirt error 1, domain 10)';
    expect(redactText(plain)).toBe(plain);
  });
});

describe('errors carry no credential', () => {
  it("redacts the library's own errors at construction: message, libvirt's words and the bounded value", () => {
    const uri = 'qemu+tls://admin:s3cr3t@compute-2/system?password=hunter2';
    const job = new MigrationJobError('INVALID_OPTIONS', `destination.uri is "${uri} x": give a URI`, {
      key: 'destination.uri',
      value: uri,
    });
    const libvirt = new LibvirtError('virConnectOpen', 38, 7, `unable to connect to ${uri}`);
    for (const e of [job, libvirt]) {
      const all = `${e.message} ${e.stack} ${JSON.stringify(e)} ${String(e)}`;
      expect(all).not.toContain('s3cr3t');
      expect(all).not.toContain('hunter2');
    }
    expect(job.value).toBe('qemu+tls://admin:***@compute-2/system?password=***');
    expect(libvirt.libvirtMessage).toBe(
      'unable to connect to qemu+tls://admin:***@compute-2/system?password=***',
    );
  });

  it("copies another's error when it holds a credential, keeping its class and fields, and leaves the original alone", () => {
    class PlacementError extends Error {
      status = 401;
      url = 'http://svc:pw9876@placement/';
    }
    const original = new PlacementError('GET http://svc:pw9876@placement/ failed', {
      cause: new Error('token tok-abcdef rejected'),
    });
    const safe = redactError(original, ['tok-abcdef']);
    expect(safe).not.toBe(original);
    expect(safe).toBeInstanceOf(PlacementError);
    expect(safe.message).toBe('GET http://svc:***@placement/ failed');
    expect(safe.stack).not.toContain('pw9876');
    expect(safe.url).toBe('http://svc:***@placement/');
    expect(safe.status).toBe(401);
    expect((safe.cause as Error).message).toBe('token *** rejected');
    expect(original.message).toContain('pw9876');
    const clean = new Error('nothing secret');
    expect(redactError(clean)).toBe(clean);
  });
});
