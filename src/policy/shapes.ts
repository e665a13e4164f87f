import { MigrationPolicyError } from '../errors.js';
import { asPolicyError, isPlainObject } from './guard.js';
import type { InstanceMetadata } from './metadata.js';
import { quote } from './quote.js';

/**
 * A flavor as OpenStack prints it. Best, the instance's own copy: `openstack server show -f json` at compute API
 * microversion 2.47 or later (its `flavor` object with `original_name`, `vcpus`, `ram`, `disk`, `extra_specs`),
 * or the Nova API server (or its `{ "server": {…} }` body). Also the flavor itself: `openstack flavor show -f
 * json` (`properties` as an object, or as the `key='value', …` string older clients print), a Nova API flavor
 * with `extra_specs` (microversion ≥ 2.61), the `{ "flavor": {…} }` body around it, or the
 * `GET /flavors/{id}/os-extra_specs` response `{ "extra_specs": {…} }`.
 *
 * Nova decides from the copy of the flavor embedded in the instance when it was booted or last resized
 * (`instance.flavor`); an edit of the flavor's extra specs afterwards never reaches the instance, so
 * `openstack flavor show` can say something the migration will not do. The server's embedded flavor is that
 * copy.
 */
export type FlavorShape = Record<string, unknown>;

/**
 * An image as OpenStack prints it: `openstack image show -f json` (custom properties under `properties`, an
 * object or the older `key='value', …` string), or a Glance v2 image (custom properties at the top level).
 *
 * `openstack server show` names the instance's image (`image` is its name and id) without its properties:
 * pass `openstack image show IMAGE_ID -f json` of that id. Nova decides from the instance's own copy of the
 * image's properties (`instance.image_meta`, taken at boot or rebuild), which no API returns; Glance's answer
 * is the same unless the image's properties were edited since.
 */
export type ImageShape = Record<string, unknown>;

/**
 * The flavor part of {@link InstanceMetadata}, from any of the shapes OpenStack prints a flavor in.
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` naming the shapes accepted, for anything else —
 * among them a Nova API flavor without `extra_specs` (older microversions leave them out: ask
 * `os-extra_specs` or use microversion 2.61 or later), since an empty result would let the host decide.
 *
 * @example
 * ```ts
 * // openstack --os-compute-api-version 2.47 server show db-1 -f json: what Nova decides from
 * metadataFromFlavor({
 *   name: 'db-1',
 *   flavor: { original_name: 'm1.db', vcpus: 4, ram: 8192, disk: 40, extra_specs: { 'compute:live_migration_post_copy': 'false' } },
 * });
 * // openstack flavor show m1.db -f json
 * metadataFromFlavor({ name: 'm1.db', ram: 8192, properties: { 'compute:live_migration_post_copy': 'false' } });
 * // { flavorExtraSpecs: { 'compute:live_migration_post_copy': 'false' } }
 * metadataFromFlavor({ extra_specs: { 'compute:live_migration_post_copy': 'false' } }); // os-extra_specs
 * metadataFromFlavor({ properties: "compute:live_migration_post_copy='false', hw:cpu_policy='dedicated'" });
 * ```
 */
export function metadataFromFlavor(flavor: FlavorShape): InstanceMetadata {
  try {
    return { flavorExtraSpecs: flavorSpecs(flavor, true) };
  } catch (err) {
    throw asPolicyError(err, 'flavor', 'the flavor');
  }
}

function flavorSpecs(flavor: unknown, unwrap: boolean): Record<string, unknown> {
  if (!isPlainObject(flavor)) throw badShape('flavor', flavor, FLAVOR_SHAPES);
  if (Object.hasOwn(flavor, 'extra_specs')) return bag(flavor.extra_specs, 'flavor.extra_specs');
  if (Object.hasOwn(flavor, 'properties')) return bag(flavor.properties, 'flavor.properties');
  if (unwrap && Object.hasOwn(flavor, 'server') && Object.keys(flavor).length === 1) {
    return serverFlavorSpecs(flavor.server);
  }
  if (unwrap && Object.hasOwn(flavor, 'flavor')) {
    return Object.keys(flavor).length === 1 ? flavorSpecs(flavor.flavor, false) : serverFlavorSpecs(flavor);
  }
  throw badShape('flavor', flavor, FLAVOR_SHAPES);
}

/**
 * The extra specs of the flavor embedded in a server (`openstack server show -f json`, `GET /servers/{id}`).
 * Before microversion 2.47 a server names its flavor (`"m1.small (42)"` in the client, `{ id, links }` in the
 * API) instead of embedding it, and without the extra-specs policy 2.47 leaves `extra_specs` out: both are
 * refused, since an empty result would let the host decide.
 */
function serverFlavorSpecs(server: unknown): Record<string, unknown> {
  if (!isPlainObject(server)) throw badShape('server', server, FLAVOR_SHAPES);
  const flavor = server.flavor;
  const fix =
    'ask with compute API microversion 2.47 or later (`openstack --os-compute-api-version 2.47 server show ' +
    "SERVER -f json`), which embeds the instance's flavor with its extra specs";
  if (!isPlainObject(flavor) || Object.hasOwn(flavor, 'id')) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      `server.flavor is ${quote(flavor)}, a reference to the flavor rather than the instance's copy of it: ${fix}`,
      { key: 'server.flavor', value: flavor },
    );
  }
  if (!Object.hasOwn(flavor, 'extra_specs')) {
    throw new MigrationPolicyError(
      'INVALID_ARGUMENT',
      "server.flavor has no extra_specs: Nova leaves them out of a server unless the caller may read flavor extra specs (policy os_compute_api:os-flavor-extra-specs:index); ask as a user who may, or pass the flavor's os-extra_specs",
      { key: 'server.flavor', value: flavor },
    );
  }
  return bag(flavor.extra_specs, 'server.flavor.extra_specs');
}

/**
 * The image part of {@link InstanceMetadata}, from `openstack image show -f json` or a Glance v2 image.
 *
 * @throws {@link MigrationPolicyError} `INVALID_ARGUMENT` for anything that is not an object, or whose
 * `properties` is neither an object nor the `key='value', …` string.
 *
 * @example
 * ```ts
 * // openstack image show debian-12 -f json
 * metadataFromImage({ name: 'debian-12', properties: { compute_live_migration_auto_converge: 'true' } });
 * // Glance v2: GET /v2/images/{id}
 * metadataFromImage({ id: '…', disk_format: 'qcow2', compute_live_migration_auto_converge: 'true' });
 * // both: { imageProperties: { compute_live_migration_auto_converge: 'true' } }
 * ```
 */
export function metadataFromImage(image: ImageShape): InstanceMetadata {
  try {
    if (!isPlainObject(image)) throw badShape('image', image, IMAGE_SHAPES);
    if (Object.hasOwn(image, 'properties')) {
      const properties = bag(image.properties, 'image.properties');
      // Custom properties sit under `properties` in this shape; one of ours at the top level as well would
      // leave it unclear which one the operator meant.
      for (const key of Object.keys(image)) {
        if (key.startsWith('compute_live_migration') || key.startsWith('compute:live_migration')) {
          throw new MigrationPolicyError(
            'INVALID_ARGUMENT',
            `image has "${key}" at its top level and a "properties" object: in \`openstack image show\` output ` +
              'custom properties are inside "properties"; pass one shape or the other',
            { key: `image.${key}`, value: image[key] },
          );
        }
      }
      return { imageProperties: properties };
    }
    // Glance v2: custom properties are top-level keys; the standard fields never resemble ours.
    return { imageProperties: image };
  } catch (err) {
    throw asPolicyError(err, 'image', 'the image');
  }
}

const FLAVOR_SHAPES =
  "`openstack server show -f json` (compute API ≥ 2.47: the instance's own copy of its flavor), `openstack flavor show -f json` (with `properties`), a Nova API flavor with `extra_specs` (microversion ≥ 2.61; older ones omit them: ask GET /flavors/{id}/os-extra_specs), its { flavor: {…} } body, or the os-extra_specs response { extra_specs: {…} }";
const IMAGE_SHAPES =
  '`openstack image show -f json` (with `properties`) or a Glance v2 image (custom properties at the top level)';

function badShape(what: string, value: unknown, shapes: string): MigrationPolicyError {
  return new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `${what} is ${quote(value)}, not a shape this reads: pass ${shapes}`,
    {
      key: what,
      value,
    },
  );
}

function bag(value: unknown, key: string): Record<string, unknown> {
  if (typeof value === 'string') return parsePropertiesString(value, key);
  if (isPlainObject(value)) return value;
  throw new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `${key} is ${quote(value)}: expected an object of string values, or the "key='value', …" string older clients print`,
    { key, value },
  );
}

/**
 * Reads the `key='value', key2='value2'` string that older `openstack` clients print for properties (osc-lib's
 * `format_dict`: sorted keys, values in single quotes, joined by `, `, nothing escaped). A value may itself
 * contain `', ` only when what follows does not look like the next `key='`.
 *
 * @example
 * ```ts
 * parsePropertiesString("a='1', b='x, y'", 'properties'); // { a: '1', b: 'x, y' }
 * ```
 */
export function parsePropertiesString(text: string, key: string): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  if (text.trim() === '') return out;
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf("='", pos);
    if (open <= pos) throw badPropertiesString(text, key, pos);
    const name = text.slice(pos, open);
    let close = open + 2;
    // The value ends at the first "'" followed by the end, or by ", " and the next "name='".
    for (;;) {
      close = text.indexOf("'", close);
      if (close < 0) throw badPropertiesString(text, key, open);
      if (close === text.length - 1) break;
      if (text.startsWith(', ', close + 1) && /^[^=',]+='/.test(text.slice(close + 3, close + 3 + 300)))
        break;
      close++;
    }
    out[name] = text.slice(open + 2, close);
    pos = close === text.length - 1 ? text.length : close + 3;
  }
  return out;
}

function badPropertiesString(text: string, key: string, at: number): MigrationPolicyError {
  return new MigrationPolicyError(
    'INVALID_ARGUMENT',
    `${key} is ${quote(text)}, which is not the "key='value', key2='value2'" form at character ${at + 1}: ` +
      'pass the properties as a JSON object (`-f json` with a current client) or as that form',
    { key, value: text },
  );
}
