/**
 * Records real Placement answers as the unit tests' fixtures (test/placement/fixtures/recorded.json). Run by
 * hand against a running Placement (lab/placement.sh start), never by the tests:
 *
 *   npx tsx test/placement/record-fixtures.ts /var/tmp/lmp-lab/$LAB_NAME/placement/placement.json
 *
 * Raw fetch on purpose: the fixtures are what the server said, not what our client made of it. The token
 * (noauth2's "admin") is not recorded.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One recorded exchange. */
export interface Recording {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

const KEPT_HEADERS = ['content-type', 'openstack-api-version', 'x-openstack-request-id', 'vary'];

async function main(): Promise<void> {
  const info = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as { endpoint: string; token: string };
  const out: Record<string, Recording> = {};
  const call = async (
    name: string,
    method: string,
    path: string,
    options: { body?: unknown; version?: string | null; token?: string | null } = {},
  ): Promise<unknown> => {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (options.version !== null) headers['OpenStack-API-Version'] = `placement ${options.version ?? '1.39'}`;
    if (options.token !== null) headers['X-Auth-Token'] = options.token ?? info.token;
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(`${info.endpoint}${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const body = await r.text();
    const kept: Record<string, string> = {};
    for (const h of KEPT_HEADERS) {
      const v = r.headers.get(h);
      if (v !== null) kept[h] = v;
    }
    out[name] = { method, path, status: r.status, headers: kept, body };
    return body === '' ? undefined : JSON.parse(body);
  };

  await call('root', 'GET', '/', { version: null, token: null });
  await call('unacceptableVersion', 'GET', '/resource_providers', { version: '1.99' });
  const a = randomUUID();
  const b = randomUUID();
  await call('createProvider', 'POST', '/resource_providers', { body: { name: `fixture-a-${a}`, uuid: a } });
  await call('createProviderB', 'POST', '/resource_providers', { body: { name: `fixture-b-${b}`, uuid: b } });
  const inventories = { VCPU: { total: 4 }, MEMORY_MB: { total: 4096 }, DISK_GB: { total: 40 } };
  await call('setInventories', 'PUT', `/resource_providers/${a}/inventories`, {
    body: { resource_provider_generation: 0, inventories },
  });
  await call('setInventoriesB', 'PUT', `/resource_providers/${b}/inventories`, {
    body: { resource_provider_generation: 0, inventories },
  });
  await call('providerTraitsEmpty', 'GET', `/resource_providers/${a}/traits`);
  await call('setTraits', 'PUT', `/resource_providers/${a}/traits`, {
    body: {
      resource_provider_generation: 1,
      traits: ['COMPUTE_MIGRATE_AUTO_CONVERGE', 'COMPUTE_MIGRATE_POST_COPY'],
    },
  });
  await call('setTraitsB', 'PUT', `/resource_providers/${b}/traits`, {
    body: { resource_provider_generation: 1, traits: ['COMPUTE_MIGRATE_AUTO_CONVERGE'] },
  });
  await call('providerTraits', 'GET', `/resource_providers/${a}/traits`);
  await call('staleGeneration', 'PUT', `/resource_providers/${a}/traits`, {
    body: { resource_provider_generation: 1, traits: [] },
  });
  await call('noSuchTraitPut', 'PUT', `/resource_providers/${a}/traits`, {
    body: { resource_provider_generation: 2, traits: ['COMPUTE_MIGRATE_NOT_A_TRAIT'] },
  });
  await call('knownTraits', 'GET', '/traits?name=in:COMPUTE_MIGRATE_POST_COPY,COMPUTE_MIGRATE_NOT_A_TRAIT');
  await call('noSuchProvider', 'GET', `/resource_providers/${randomUUID()}/traits`);
  await call('forbiddenRole', 'GET', `/resource_providers/${a}/traits`, { token: 'someone:project' });
  await call('noToken', 'GET', `/resource_providers/${a}/traits`, { token: null });
  const resources = 'resources=VCPU:1,MEMORY_MB:512,DISK_GB:1';
  await call(
    'candidatesPostCopy',
    'GET',
    `/allocation_candidates?${resources}&required=COMPUTE_MIGRATE_POST_COPY`,
  );
  await call('candidatesAny', 'GET', `/allocation_candidates?${resources}`);
  await call(
    'candidatesNoSuchTrait',
    'GET',
    `/allocation_candidates?${resources}&required=COMPUTE_MIGRATE_NOT_A_TRAIT`,
  );
  await call('holdersPostCopy', 'GET', '/resource_providers?required=COMPUTE_MIGRATE_POST_COPY');
  await call('providers', 'GET', '/resource_providers');
  await call(
    'requiredBefore117',
    'GET',
    `/allocation_candidates?${resources}&required=COMPUTE_MIGRATE_POST_COPY`,
    {
      version: '1.16',
    },
  );
  for (const uuid of [a, b]) await call(`delete-${uuid}`, 'DELETE', `/resource_providers/${uuid}`);
  for (const key of Object.keys(out)) if (key.startsWith('delete-')) delete out[key];
  const file = fileURLToPath(new URL('./fixtures/recorded.json', import.meta.url));
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`recorded ${Object.keys(out).length} answers in ${file}`);
}

await main();
