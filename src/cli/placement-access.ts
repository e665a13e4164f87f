/**
 * How the Placement commands reach Placement: `--placement URL` and a token from `--token`, `OS_TOKEN` or
 * `OS_AUTH_TOKEN` (the variables `openstack` itself reads). The token is only ever handed to the client:
 * nothing here prints it.
 */
import { PlacementClient } from '../index.js';
import { CliError } from './cli-error.js';

/** The options every Placement command takes. */
export interface PlacementAccessOptions {
  placement?: string;
  token?: string;
}

/** The client for `--placement` with the token from the options or the environment. */
export function placementClient(opts: PlacementAccessOptions, command: string): PlacementClient {
  if (opts.placement === undefined) {
    throw new CliError(`${command} needs --placement URL: Placement's endpoint, e.g. http://controller:8778`);
  }
  const token = opts.token ?? nonEmpty(process.env.OS_TOKEN) ?? nonEmpty(process.env.OS_AUTH_TOKEN);
  if (token === undefined) {
    throw new CliError(
      `${command} needs a Keystone token: set OS_TOKEN (e.g. OS_TOKEN=$(openstack token issue -f value -c id)) ` +
        'or pass --token (visible to other users in the process list); a noauth2 test Placement takes "admin"',
    );
  }
  return new PlacementClient({ endpoint: opts.placement, token });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** A list of trait names for text output. */
export function traitList(traits: readonly string[]): string {
  return traits.length === 0 ? '(none)' : traits.join(', ');
}
