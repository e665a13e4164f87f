import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { candidateProviders, PlacementClient, schedulingRequest } from '../../src/index.js';
import { type FakePlacement, fakePlacement, fixture, replay } from './fake-placement.js';

// The recording has two providers with room: A reports both traits, B only auto-converge (as a tunnelled host).
const candidatesPostCopy = JSON.parse(fixture('candidatesPostCopy').body);
const [A] = Object.keys(candidatesPostCopy.provider_summaries) as [string];
const B = Object.keys(JSON.parse(fixture('candidatesAny').body).provider_summaries).find(
  (u) => u !== A,
) as string;
const flavor = { vcpus: 1, ram: 512, disk: 1 };
const postCopy = schedulingRequest(
  { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'true' } },
  flavor,
);
const anywhere = schedulingRequest({}, flavor);

let fake: FakePlacement;
let placement: PlacementClient;
beforeEach(async () => {
  fake = await fakePlacement();
  placement = new PlacementClient({ endpoint: fake.endpoint, token: 'admin' });
  fake.on('GET', `/allocation_candidates?${postCopy.query}`, replay('candidatesPostCopy'));
  fake.on('GET', `/allocation_candidates?${anywhere.query}`, replay('candidatesAny'));
  fake.on('GET', '/resource_providers?required=COMPUTE_MIGRATE_POST_COPY', replay('holdersPostCopy'));
  fake.on('GET', '/resource_providers', replay('providers'));
});
afterEach(() => fake.close());

const paths = () => fake.seen.map((s) => s.path).filter((p) => p !== '/');

describe('candidates and why the others were left out', () => {
  it('a post-copy instance gets the host reporting the trait; the other has room but lacks it', async () => {
    const answer = await candidateProviders(placement, postCopy);
    expect(answer.candidates.map((c) => c.uuid)).toEqual([A]);
    expect(answer.candidates[0]).toMatchObject({
      name: `fixture-a-${A}`,
      traits: expect.arrayContaining(['COMPUTE_MIGRATE_POST_COPY']),
      allocation: { [A]: { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 } },
      resources: { VCPU: { capacity: 4, used: 0 } },
    });
    expect(answer.leftOut).toEqual([
      {
        uuid: B,
        name: `fixture-b-${B}`,
        reason: 'missing-traits',
        missingTraits: ['COMPUTE_MIGRATE_POST_COPY'],
        message: 'has room for the resources but does not report COMPUTE_MIGRATE_POST_COPY',
      },
    ]);
    expect(answer).toMatchObject({ unreported: [], explained: true, microversion: '1.39' });
    expect(answer.summary).toBe(
      '1 host satisfies resources=VCPU:1,MEMORY_MB:512,DISK_GB:1 required=COMPUTE_MIGRATE_POST_COPY',
    );
  });

  it('an instance with no opinion gets both', async () => {
    const answer = await candidateProviders(placement, anywhere);
    expect(answer.candidates.map((c) => c.uuid).sort()).toEqual([A, B].sort());
    expect(answer.leftOut).toEqual([]);
  });

  it('the excluded host (the instance is on it) is left out as such', async () => {
    const answer = await candidateProviders(placement, postCopy, { exclude: [A] });
    expect(answer.candidates).toEqual([]);
    expect(answer.leftOut.map((l) => [l.uuid, l.reason])).toEqual([
      [A, 'excluded'],
      [B, 'missing-traits'],
    ]);
    expect(answer.summary).toBe(
      'no host satisfies resources=VCPU:1,MEMORY_MB:512,DISK_GB:1 required=COMPUTE_MIGRATE_POST_COPY: ' +
        '1 excluded by the caller, 1 lacking a required trait',
    );
  });

  it('a host without room is named with the resource class it lacks', async () => {
    const big = schedulingRequest(
      { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'true' } },
      { ...flavor, vcpus: 8 },
    );
    fake.on('GET', `/allocation_candidates?${big.query}`, {
      status: 200,
      body: { allocation_requests: [], provider_summaries: {} },
    });
    fake.on('GET', '/allocation_candidates?resources=VCPU:8,MEMORY_MB:512,DISK_GB:1', {
      status: 200,
      body: { allocation_requests: [], provider_summaries: {} },
    });
    fake.on('GET', '/resource_providers?resources=VCPU:8', { status: 200, body: { resource_providers: [] } });
    fake.on('GET', '/resource_providers?resources=MEMORY_MB:512', replay('providers'));
    fake.on('GET', '/resource_providers?resources=DISK_GB:1', replay('providers'));
    const answer = await candidateProviders(placement, big);
    expect(answer.leftOut.find((l) => l.uuid === A)).toMatchObject({
      reason: 'resources',
      short: ['VCPU'],
      message: 'not enough free VCPU (needs 8)',
    });
    expect(answer.leftOut.find((l) => l.uuid === B)).toMatchObject({
      reason: 'resources',
      missingTraits: ['COMPUTE_MIGRATE_POST_COPY'],
      message: 'not enough free VCPU (needs 8); it does not report COMPUTE_MIGRATE_POST_COPY either',
    });
  });

  it('explain: false is one request when there are candidates', async () => {
    const answer = await candidateProviders(placement, postCopy, { explain: false });
    expect(answer.candidates.map((c) => c.uuid)).toEqual([A]);
    expect(answer.candidates[0]?.name).toBeUndefined();
    expect(paths()).toEqual([`/allocation_candidates?${postCopy.query}`]);
  });
});

describe('a required trait no host reports', () => {
  beforeEach(() => {
    const empty = { status: 200, body: { allocation_requests: [], provider_summaries: {} } };
    fake.on('GET', `/allocation_candidates?${postCopy.query}`, empty);
    fake.on('GET', '/resource_providers?required=COMPUTE_MIGRATE_POST_COPY', {
      status: 200,
      body: { resource_providers: [] },
    });
  });

  it('is an answer saying so and how to fix it, not a bare empty list', async () => {
    const answer = await candidateProviders(placement, postCopy);
    expect(answer.candidates).toEqual([]);
    expect(answer.unreported).toEqual(['COMPUTE_MIGRATE_POST_COPY']);
    expect(answer.summary).toBe(
      'no host reports COMPUTE_MIGRATE_POST_COPY; report traits with reportHostTraits() or ' +
        '`libvirt-migration-policy traits --report --placement URL --provider UUID` on each compute host that can ' +
        'run the feature (Nova itself never reports these traits)',
    );
    expect(answer.leftOut.map((l) => l.reason).sort()).toEqual(['missing-traits', 'missing-traits']);
  });

  it('even with explain: false (two requests)', async () => {
    const answer = await candidateProviders(placement, postCopy, { explain: false });
    expect(answer.unreported).toEqual(['COMPUTE_MIGRATE_POST_COPY']);
    expect(paths()).toEqual([
      `/allocation_candidates?${postCopy.query}`,
      '/resource_providers?required=COMPUTE_MIGRATE_POST_COPY',
    ]);
  });
});

describe('what Placement cannot do', () => {
  it('an unknown trait is PLACEMENT_UNKNOWN_TRAIT from the recorded 400, with the fix', async () => {
    fake.on('GET', /^\/allocation_candidates/, replay('candidatesNoSuchTrait'));
    fake.on('GET', /^\/traits\?name=in:/, { status: 200, body: { traits: [] } });
    await expect(candidateProviders(placement, postCopy)).rejects.toMatchObject({
      code: 'PLACEMENT_UNKNOWN_TRAIT',
      message: expect.stringContaining('upgrade os-traits on the Placement server to 0.16.0 or newer'),
    });
  });

  it('a Placement before 1.17 is refused, naming required traits on allocation candidates', async () => {
    fake.on('GET', '/', { status: 200, body: { versions: [{ min_version: '1.0', max_version: '1.16' }] } });
    await expect(candidateProviders(placement, postCopy)).rejects.toMatchObject({
      code: 'PLACEMENT_MICROVERSION',
      message: expect.stringContaining(
        'required traits on allocation candidates (Placement microversion 1.17)',
      ),
    });
    expect(paths()).toEqual([]);
  });

  it('forbidden traits need 1.22', async () => {
    fake.on('GET', '/', { status: 200, body: { versions: [{ min_version: '1.0', max_version: '1.21' }] } });
    const request = schedulingRequest({}, flavor, { forbidden: ['CUSTOM_MAINTENANCE'] });
    await expect(candidateProviders(placement, request)).rejects.toMatchObject({
      code: 'PLACEMENT_MICROVERSION',
      message: expect.stringContaining('forbidden traits (Placement microversion 1.22)'),
    });
  });

  it('a hand-made request cannot smuggle query parameters in', async () => {
    const forged = { ...anywhere, resources: { 'VCPU:1&limit': 1 } };
    await expect(candidateProviders(placement, forged)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(paths()).toEqual([]);
  });
});
