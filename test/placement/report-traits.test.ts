import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostTraits, PlacementClient, PlacementError, reportHostTraits } from '../../src/index.js';
import { type FakePlacement, fakePlacement, replay, withProvider } from './fake-placement.js';

const UUID = '4e8e5957-649f-477b-9e5b-f1f75b21c03c';
const path = `/resource_providers/${UUID}/traits`;
const current = hostTraits({ libvirtVersion: '9.0.0', qemuVersion: '10.0.2' });
const tunnelled = hostTraits({ libvirtVersion: '9.0.0', qemuVersion: '10.0.2', config: { tunnelled: true } });

let fake: FakePlacement;
let placement: PlacementClient;
beforeEach(async () => {
  fake = await fakePlacement();
  placement = new PlacementClient({ endpoint: fake.endpoint, token: 'admin' });
});
afterEach(() => fake.close());

const puts = () => fake.seen.filter((s) => s.method === 'PUT' && s.path === path);

describe('what a report changes', () => {
  it('adds the traits that hold, keeping every trait of other owners', async () => {
    const live = withProvider(fake, UUID, { traits: ['CUSTOM_RACK_7', 'HW_CPU_X86_AVX2'], generation: 4 });
    const report = await reportHostTraits({ placement, provider: UUID, traits: current });
    expect(report).toEqual({
      provider: UUID,
      before: ['CUSTOM_RACK_7', 'HW_CPU_X86_AVX2'],
      after: [
        'CUSTOM_RACK_7',
        'HW_CPU_X86_AVX2',
        'COMPUTE_MIGRATE_AUTO_CONVERGE',
        'COMPUTE_MIGRATE_POST_COPY',
      ],
      added: ['COMPUTE_MIGRATE_AUTO_CONVERGE', 'COMPUTE_MIGRATE_POST_COPY'],
      removed: [],
      unchanged: [],
      others: ['CUSTOM_RACK_7', 'HW_CPU_X86_AVX2'],
      retries: 0,
      written: true,
      generation: 5,
    });
    expect(JSON.parse(puts()[0]?.body ?? '')).toMatchObject({ resource_provider_generation: 4 });
    expect(live.traits).toEqual(report.after);
  });

  it('removes ours that no longer hold (a tunnelled host loses post-copy), and only ours', async () => {
    withProvider(fake, UUID, {
      traits: ['COMPUTE_MIGRATE_POST_COPY', 'CUSTOM_RACK_7', 'COMPUTE_MIGRATE_AUTO_CONVERGE'],
      generation: 9,
    });
    const report = await reportHostTraits({ placement, provider: UUID, traits: tunnelled });
    expect(report).toMatchObject({
      removed: ['COMPUTE_MIGRATE_POST_COPY'],
      added: [],
      unchanged: ['COMPUTE_MIGRATE_AUTO_CONVERGE'],
      others: ['CUSTOM_RACK_7'],
      after: ['CUSTOM_RACK_7', 'COMPUTE_MIGRATE_AUTO_CONVERGE'],
      generation: 10,
    });
  });

  it('writes nothing when the provider already has it right', async () => {
    withProvider(fake, UUID, {
      traits: ['COMPUTE_MIGRATE_AUTO_CONVERGE', 'COMPUTE_MIGRATE_POST_COPY'],
      generation: 3,
    });
    const report = await reportHostTraits({ placement, provider: UUID, traits: current });
    expect(report).toMatchObject({
      written: false,
      generation: 3,
      unchanged: Object.keys(current),
      added: [],
    });
    expect(puts()).toEqual([]);
  });

  it('leaves a trait it was not told about alone, even one of the same family', async () => {
    withProvider(fake, UUID, {
      traits: ['COMPUTE_MIGRATE_POST_COPY'],
      generation: 1,
      known: ['COMPUTE_MIGRATE_POST_COPY'],
    });
    const report = await reportHostTraits({ placement, provider: UUID, traits: {} });
    expect(report).toMatchObject({ written: false, others: ['COMPUTE_MIGRATE_POST_COPY'] });
  });
});

describe('generation conflicts', () => {
  it('on a 409 reads again and merges with what the other writer set', async () => {
    const live = withProvider(fake, UUID, { traits: [], generation: 0 });
    // Another agent writes between our read and our write, once.
    fake.on('GET', path, (_req, n) => {
      if (n === 0) {
        const answer = { traits: [...live.traits], resource_provider_generation: live.generation };
        live.traits = ['CUSTOM_RACK_7'];
        live.generation++;
        return { status: 200, body: answer };
      }
      return { status: 200, body: { traits: live.traits, resource_provider_generation: live.generation } };
    });
    const report = await reportHostTraits({ placement, provider: UUID, traits: current, retryDelayMs: 1 });
    expect(report.retries).toBe(1);
    expect(report.before).toEqual(['CUSTOM_RACK_7']);
    expect(live.traits).toEqual([
      'CUSTOM_RACK_7',
      'COMPUTE_MIGRATE_AUTO_CONVERGE',
      'COMPUTE_MIGRATE_POST_COPY',
    ]);
    expect(puts().map((p) => JSON.parse(p.body).resource_provider_generation)).toEqual([0, 1]);
  });

  it('gives up after maxRetries with PLACEMENT_CONFLICT', async () => {
    withProvider(fake, UUID, { traits: [], generation: 0 });
    fake.on('PUT', path, replay('staleGeneration'));
    const err = await reportHostTraits({
      placement,
      provider: UUID,
      traits: current,
      maxRetries: 2,
      retryDelayMs: 1,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlacementError);
    expect(err).toMatchObject({
      code: 'PLACEMENT_CONFLICT',
      status: 409,
      placementCode: 'placement.concurrent_update',
    });
    expect((err as Error).message).toContain('changed under us 3 times in a row');
    expect(puts()).toHaveLength(3);
  });

  it('a 409 that is not about the generation is not retried', async () => {
    withProvider(fake, UUID, { traits: [], generation: 0 });
    fake.on('PUT', path, {
      status: 409,
      body: {
        errors: [
          { status: 409, title: 'Conflict', detail: 'x\n\n in use', code: 'placement.inventory.inuse' },
        ],
      },
    });
    await expect(reportHostTraits({ placement, provider: UUID, traits: current })).rejects.toMatchObject({
      code: 'PLACEMENT_HTTP_ERROR',
      placementCode: 'placement.inventory.inuse',
    });
    expect(puts()).toHaveLength(1);
  });

  it('an abort while waiting to retry is PLACEMENT_ABORTED', async () => {
    withProvider(fake, UUID, { traits: [], generation: 0 });
    fake.on('PUT', path, replay('staleGeneration'));
    const controller = new AbortController();
    const pending = reportHostTraits({
      placement,
      provider: UUID,
      traits: current,
      retryDelayMs: 60_000,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toMatchObject({ code: 'PLACEMENT_ABORTED' });
  });
});

describe('traits this Placement does not know', () => {
  it("the spec's traits on a Placement with os-traits before 0.16.0: the fix is named, nothing is written", async () => {
    withProvider(fake, UUID, { traits: [], generation: 0, known: [] });
    const err = await reportHostTraits({ placement, provider: UUID, traits: current }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'PLACEMENT_UNKNOWN_TRAIT' });
    expect((err as Error).message).toBe(
      `reporting traits of resource provider ${UUID}: ${fake.endpoint} does not know the traits ` +
        'COMPUTE_MIGRATE_AUTO_CONVERGE, COMPUTE_MIGRATE_POST_COPY. COMPUTE_MIGRATE_AUTO_CONVERGE and ' +
        'COMPUTE_MIGRATE_POST_COPY were added in os-traits 0.16.0: upgrade os-traits on the Placement server to ' +
        '0.16.0 or newer and restart Placement (it loads the standard traits at start)',
    );
    expect(puts()).toEqual([]);
  });

  it('a trait that is false need not be known: it cannot be on the provider', async () => {
    withProvider(fake, UUID, { traits: [], generation: 0, known: ['COMPUTE_MIGRATE_AUTO_CONVERGE'] });
    const report = await reportHostTraits({ placement, provider: UUID, traits: tunnelled });
    expect(report.added).toEqual(['COMPUTE_MIGRATE_AUTO_CONVERGE']);
  });

  it('a CUSTOM_ trait not created is named with how to create it', async () => {
    withProvider(fake, UUID, { traits: [], generation: 0 });
    await expect(
      reportHostTraits({ placement, provider: UUID, traits: { CUSTOM_NOT_MADE: true } }),
    ).rejects.toThrow(/CUSTOM_NOT_MADE: create it first \(PUT \/traits\/\{name\}, createTrait\(\)\)/);
  });

  it('Placement\'s own 400 "No such trait" on the write (the trait deleted in between) is the same error', async () => {
    const known = ['COMPUTE_MIGRATE_AUTO_CONVERGE', 'COMPUTE_MIGRATE_POST_COPY'];
    withProvider(fake, UUID, { traits: [], generation: 0, known: [] });
    fake.on('GET', /^\/traits\?name=in:/, (_req, n) => ({
      status: 200,
      body: { traits: n === 0 ? known : [] },
    }));
    await expect(reportHostTraits({ placement, provider: UUID, traits: current })).rejects.toMatchObject({
      code: 'PLACEMENT_UNKNOWN_TRAIT',
    });
  });
});

describe('bad arguments', () => {
  it.each([
    ['traits that are not an object', null, 'traits'],
    ['a trait name in lower case', { compute_migrate_post_copy: true }, 'traits.compute_migrate_post_copy'],
    ['a value that is a string', { COMPUTE_MIGRATE_POST_COPY: 'true' }, 'traits.COMPUTE_MIGRATE_POST_COPY'],
  ])('%s is INVALID_ARGUMENT before any request', async (_what, traits, key) => {
    await expect(
      reportHostTraits({ placement, provider: UUID, traits: traits as never }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', key });
    expect(fake.seen).toEqual([]);
  });

  it('an unknown provider is PLACEMENT_NOT_FOUND', async () => {
    withProvider(fake, '00000000-0000-0000-0000-000000000000', { traits: [], generation: 0 });
    fake.on('GET', path, replay('noSuchProvider'));
    await expect(reportHostTraits({ placement, provider: UUID, traits: current })).rejects.toMatchObject({
      code: 'PLACEMENT_NOT_FOUND',
      status: 404,
    });
  });
});
