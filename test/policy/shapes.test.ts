/** Flavors and images in the shapes operators have: every shape read, or refused by name. */
import { describe, expect, it } from 'vitest';
import {
  metadataFromFlavor,
  metadataFromImage,
  planMigration,
  resolveInstancePolicy,
} from '../../src/index.js';
import { parsePropertiesString } from '../../src/policy/index.js';
import { AC_IMAGE, expectPolicyError, PC_FLAVOR } from './helpers.js';

const specs = { 'hw:cpu_policy': 'dedicated', [PC_FLAVOR]: 'false' };

/** `openstack flavor show m1.db -f json` of a current client. */
const oscFlavor = {
  'OS-FLV-DISABLED:disabled': false,
  'OS-FLV-EXT-DATA:ephemeral': 0,
  access_project_ids: null,
  description: null,
  disk: 40,
  id: '42',
  name: 'm1.db',
  'os-flavor-access:is_public': true,
  properties: specs,
  ram: 8192,
  rxtx_factor: 1.0,
  swap: 0,
  vcpus: 4,
};

/** `openstack --os-compute-api-version 2.47 server show db-1 -f json`: the flavor embedded in the instance. */
const oscServer = {
  id: '9d5b3c1e-7f1a-4e55-9a55-2b1d0c7e0a11',
  name: 'db-1',
  status: 'ACTIVE',
  'OS-EXT-SRV-ATTR:host': 'compute-1',
  flavor: {
    original_name: 'm1.db',
    vcpus: 4,
    ram: 8192,
    disk: 40,
    ephemeral: 0,
    swap: 0,
    extra_specs: specs,
  },
  image: 'debian-12 (4c3f0a7e-2f44-4c0e-9a9e-2b7d9b1f0c55)',
};

describe('metadataFromFlavor', () => {
  it.each<[string, Record<string, unknown>]>([
    ['openstack flavor show -f json (properties as an object)', oscFlavor],
    [
      'openstack flavor show -f json of an older client (properties as a string)',
      { ...oscFlavor, properties: `compute:live_migration_post_copy='false', hw:cpu_policy='dedicated'` },
    ],
    ['a Nova API flavor with extra_specs', { id: '42', name: 'm1.db', ram: 8192, extra_specs: specs }],
    ['the Nova API body { flavor: {…} }', { flavor: { id: '42', extra_specs: specs } }],
    ['the os-extra_specs response', { extra_specs: specs }],
    ["openstack server show -f json (compute API ≥ 2.47): the instance's own copy", oscServer],
    ['the Nova API body { server: {…} } (≥ 2.47)', { server: oscServer }],
  ])('reads %s', (_name, flavor) => {
    const meta = metadataFromFlavor(flavor);
    expect({ ...meta.flavorExtraSpecs }).toEqual(specs);
    expect(resolveInstancePolicy(meta)).toEqual({ postCopy: false });
    // The database that must never use post-copy does not get the host's post-copy.
    expect(planMigration({ instance: meta, host: { permitPostCopy: true } }).postCopy).toBe(false);
  });

  it.each<[string, unknown, string]>([
    [
      'a Nova API flavor of a microversion before 2.61 (no extra_specs)',
      { id: '42', ram: 8192 },
      'os-extra_specs',
    ],
    ['null', null, 'openstack flavor show'],
    ['a string', 'm1.db', 'openstack flavor show'],
    ['an array', [specs], 'openstack flavor show'],
    ['a Map', new Map([[PC_FLAVOR, 'false']]), 'openstack flavor show'],
    ['a doubly wrapped flavor', { flavor: { flavor: { extra_specs: specs } } }, 'openstack flavor show'],
    [
      'a server of a microversion before 2.47 (its flavor named, not embedded)',
      { id: 'srv', name: 'db-1', flavor: { id: '42', links: [] } },
      'microversion 2.47 or later',
    ],
    ['a server as openstack server show prints it before 2.47', { id: 'srv', flavor: 'm1.db (42)' }, '2.47'],
    [
      'a server whose embedded flavor has no extra_specs (not allowed to read them)',
      { id: 'srv', flavor: { original_name: 'm1.db', ram: 8192 } },
      'os_compute_api:os-flavor-extra-specs:index',
    ],
    ['a server body that is not an object', { server: 'db-1' }, 'openstack server show'],
    ['extra_specs that are an array', { extra_specs: [] }, 'flavor.extra_specs'],
    ['properties that are a number', { properties: 3 }, 'flavor.properties'],
    ['a properties string that is not key=value', { properties: 'nonsense' }, "key='value'"],
  ])('refuses %s, naming the shapes it reads', (_name, flavor, hint) => {
    const error = expectPolicyError(() => metadataFromFlavor(flavor as never), 'INVALID_ARGUMENT');
    expect(error.message).toContain(hint);
  });

  it('turns a throwing getter into a MigrationPolicyError', () => {
    const flavor = {
      get extra_specs(): never {
        throw new Error('boom');
      },
    };
    const error = expectPolicyError(() => metadataFromFlavor(flavor), 'INVALID_ARGUMENT');
    expect(error.message).toContain('boom');
  });
});

describe('metadataFromImage', () => {
  const props = { [AC_IMAGE]: 'true', os_distro: 'debian' };

  it.each<[string, Record<string, unknown>]>([
    ['openstack image show -f json', { id: 'x', name: 'debian', disk_format: 'qcow2', properties: props }],
    [
      'openstack image show -f json of an older client',
      { id: 'x', properties: `compute_live_migration_auto_converge='true', os_distro='debian'` },
    ],
    [
      'a Glance v2 image (custom properties at the top level)',
      {
        id: 'x',
        name: 'debian',
        disk_format: 'qcow2',
        container_format: 'bare',
        visibility: 'public',
        size: 1024,
        tags: [],
        min_ram: 0,
        ...props,
      },
    ],
  ])('reads %s', (_name, image) => {
    const meta = metadataFromImage(image);
    expect(resolveInstancePolicy(meta)).toEqual({ autoConverge: true });
  });

  it('refuses one of our keys both at the top level and with a properties object', () => {
    const error = expectPolicyError(
      () => metadataFromImage({ [AC_IMAGE]: 'false', properties: props }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('one shape or the other');
  });

  it.each([null, 'debian', [props], new Map()])('refuses %o', (image) => {
    expectPolicyError(() => metadataFromImage(image as never), 'INVALID_ARGUMENT');
  });
});

describe('whole shapes passed where their contents belong', () => {
  it.each<[string, unknown, string]>([
    ['a whole flavor as the instance', oscFlavor, 'metadataFromFlavor'],
    ['a Nova API flavor as the instance', { extra_specs: specs }, 'metadataFromFlavor'],
    ['a Glance image as the instance', { disk_format: 'qcow2', [AC_IMAGE]: 'true' }, 'metadataFromImage'],
    ['an unknown top-level key', { flavorExtraSpec: specs }, 'did you mean "flavorExtraSpecs"'],
    ['our key at the top level', { [PC_FLAVOR]: 'true' }, 'belongs inside flavorExtraSpecs'],
  ])('refuses %s', (_name, instance, hint) => {
    const error = expectPolicyError(() => resolveInstancePolicy(instance as never), 'INVALID_ARGUMENT');
    expect(error.message).toContain(hint);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'the os-extra_specs response as flavorExtraSpecs',
      { flavorExtraSpecs: { extra_specs: specs } },
      'metadataFromFlavor',
    ],
    ['a flavor as flavorExtraSpecs', { flavorExtraSpecs: { properties: specs } }, 'metadataFromFlavor'],
    [
      'an OSC image as imageProperties',
      { imageProperties: { properties: { [AC_IMAGE]: 'true' } } },
      'metadataFromImage',
    ],
  ])('refuses %s, naming the helper', (_name, instance, hint) => {
    const error = expectPolicyError(() => resolveInstancePolicy(instance), 'INVALID_ARGUMENT');
    expect(error.message).toContain(hint);
  });
});

describe('parsePropertiesString (osc-lib format_dict output)', () => {
  it.each<[string, Record<string, string>]>([
    ['', {}],
    ["a='1'", { a: '1' }],
    ["a='1', b='2'", { a: '1', b: '2' }],
    ["a='x, y', b='it''s'", { a: 'x, y', b: "it''s" }],
    ["a='', b=''", { a: '', b: '' }],
    [
      "hw:cpu_policy='dedicated', quota:disk_read_iops_sec='5000'",
      { 'hw:cpu_policy': 'dedicated', 'quota:disk_read_iops_sec': '5000' },
    ],
    ["a='=', b='c='", { a: '=', b: 'c=' }],
  ])('reads %j', (text, expected) => {
    expect({ ...parsePropertiesString(text, 'properties') }).toEqual(expected);
  });

  it('reads a quote-comma inside a value when no next key follows, as the only reading there is', () => {
    expect({ ...parsePropertiesString("a='1',b='2'", 'p') }).toEqual({ a: "1',b='2" });
  });

  it('starts a value after its opening quote: a value may begin with what looks like the next key', () => {
    expect({ ...parsePropertiesString("a=', b='x'", 'p') }).toEqual({ a: ", b='x" });
  });

  it('ends a value only at a quote followed by ", " and a key, not by a key alone', () => {
    expect({ ...parsePropertiesString("a='x'yzb='1'", 'p') }).toEqual({ a: "x'yzb='1" });
  });

  it('sees the next key= up to 300 characters ahead, and no further', () => {
    const near = 'k'.repeat(297);
    expect({ ...parsePropertiesString(`a='1', ${near}='2'`, 'p') }).toEqual({ a: '1', [near]: '2' });
    const far = 'k'.repeat(299);
    expect({ ...parsePropertiesString(`a='1', ${far}='2'`, 'p') }).toEqual({ a: `1', ${far}='2` });
  });

  it.each(["a='1", 'a=1', "='1'", "a='1', ", "a='1', b"])('refuses %j', (text) => {
    const error = expectPolicyError(
      () => parsePropertiesString(text, 'flavor.properties'),
      'INVALID_ARGUMENT',
    );
    expect(error.key).toBe('flavor.properties');
  });

  it('returns a bag without a prototype, so "__proto__" is a plain key', () => {
    const bag = parsePropertiesString("__proto__='x'", 'p');
    expect(Object.getPrototypeOf(bag)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(bag, '__proto__')?.value).toBe('x');
  });
});
