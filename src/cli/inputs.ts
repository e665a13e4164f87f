/**
 * Reads the operator's files: the flavor and image JSON (`openstack … show -f json`, Nova and Glance API
 * shapes) and nova.conf with its drop-ins. Every failure becomes a {@link CliError} naming the file, so the
 * operator never sees a Node stack for a typo in a path.
 */
import { readFileSync } from 'node:fs';
import {
  type HostConfig,
  type InstanceMetadata,
  MigrationPolicyError,
  metadataFromFlavor,
  metadataFromImage,
  parseNovaConf,
  readNovaConfSources,
} from '../index.js';
import { type NovaConfWarning, novaConfWarnings } from '../policy/index.js';
import { CliError } from './cli-error.js';

/** What the instance-side files say. */
export interface InstanceFiles {
  metadata: InstanceMetadata;
  /** The flavor's `ram` in MiB, when its JSON carries it (`openstack flavor show`, Nova's API flavor). */
  flavorRamMiB: number | undefined;
}

/** The nova.conf files and directories given on the command line, in oslo.config's order. */
export interface ConfPaths {
  files: readonly string[];
  dirs: readonly string[];
}

/**
 * A DOMAIN argument as libvirt looks it up: a UUID (what Nova names an instance by) or a name.
 */
export function domainRef(text: string): { uuid: string } | { name: string } {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)
    ? { uuid: text }
    : { name: text };
}

/** Reads and parses one JSON file; `what` names it in messages ("flavor", "image"). */
export function readJsonFile(path: string, what: string): unknown {
  const text = readText(path, `${what} file`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(
      `${what} file ${path} is not valid JSON (${(err as Error).message}): pass the output of ` +
        `\`openstack ${what} show -f json\` or the API's JSON`,
    );
  }
}

/** The instance's metadata from its flavor and image files; either may be left out. */
export function readInstanceFiles(paths: { flavor?: string; image?: string }): InstanceFiles {
  const metadata: InstanceMetadata = {};
  let flavorRamMiB: number | undefined;
  if (paths.flavor !== undefined) {
    const flavor = readJsonFile(paths.flavor, 'flavor');
    metadata.flavorExtraSpecs = inFile(paths.flavor, () =>
      metadataFromFlavor(flavor as Record<string, unknown>),
    ).flavorExtraSpecs;
    flavorRamMiB = ramOf(flavor);
  }
  if (paths.image !== undefined) {
    const image = readJsonFile(paths.image, 'image');
    metadata.imageProperties = inFile(paths.image, () =>
      metadataFromImage(image as Record<string, unknown>),
    ).imageProperties;
  }
  return { metadata, flavorRamMiB };
}

/** What oslo ignores in these nova.conf files and nova would want said (see `novaConfWarnings`). */
export function readConfWarnings(paths: ConfPaths): NovaConfWarning[] {
  if (paths.files.length === 0 && paths.dirs.length === 0) return [];
  try {
    return novaConfWarnings(readNovaConfSources({ files: paths.files, dirs: paths.dirs }));
  } catch {
    return []; // the read itself is reported, as an error, by readHostConfig
  }
}

/**
 * The host config from nova.conf files and drop-in directories, read as nova-compute reads them. With none
 * given, Nova's defaults (`undefined`).
 */
export function readHostConfig(paths: ConfPaths): HostConfig | undefined {
  if (paths.files.length === 0 && paths.dirs.length === 0) return undefined;
  for (const file of paths.files) readText(file, 'nova.conf file'); // names a missing file before oslo's order does
  let sources: ReturnType<typeof readNovaConfSources>;
  try {
    sources = readNovaConfSources({ files: paths.files, dirs: paths.dirs });
  } catch (err) {
    if (err instanceof MigrationPolicyError) throw new CliError(err.message);
    throw fileError(err, paths.dirs.join(', '), 'nova.conf directory');
  }
  // parseNovaConf's errors already name the file and line.
  return parseNovaConf(sources);
}

/** The destination's `live_migration_inbound_addr` from its nova.conf files, when given and set. */
export function readDestinationConf(files: readonly string[] | undefined): string | undefined {
  if (files === undefined || files.length === 0) return undefined;
  const conf = readHostConfig({ files, dirs: [] });
  return conf?.inboundAddress === '' ? undefined : conf?.inboundAddress;
}

/** A file's text; a missing or unreadable file is a {@link CliError} naming it. */
export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw fileError(err, path, what);
  }
}

function fileError(err: unknown, path: string, what: string): CliError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CliError(`${what} ${path} does not exist`);
  if (code === 'EISDIR') return new CliError(`${what} ${path} is a directory: pass a file`);
  if (code === 'ENOTDIR') return new CliError(`${what} ${path} is not a directory`);
  if (code === 'EACCES') return new CliError(`${what} ${path} cannot be read: permission denied`);
  return new CliError(`${what} ${path} cannot be read: ${(err as Error).message}`);
}

/** Prefixes a shape error with the file it came from. */
function inFile<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof MigrationPolicyError) {
      throw new MigrationPolicyError(err.code, `${path}: ${err.message}`, { key: err.key, value: err.value });
    }
    throw err;
  }
}

/**
 * `ram` of `openstack flavor show` / a Nova API flavor, of the `{ flavor: {…} }` body around one, or of the
 * flavor embedded in a server (`openstack server show`, `{ server: {…} }`).
 */
function ramOf(flavor: unknown): number | undefined {
  if (typeof flavor !== 'object' || flavor === null) return undefined;
  const outer = flavor as Record<string, unknown>;
  const server = outer.server;
  const record = typeof server === 'object' && server !== null ? (server as Record<string, unknown>) : outer;
  const inner = record.flavor;
  const ram =
    typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>).ram : record.ram;
  return typeof ram === 'number' && Number.isFinite(ram) && ram > 0 ? ram : undefined;
}
