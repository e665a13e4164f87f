import { MigrationPolicyError } from '../errors.js';
import { type InstanceMetadata, type InstanceRequest, readInstanceRequest } from './metadata.js';

/**
 * What an instance asked for. A missing field means "no opinion": the host's `nova.conf` decides.
 */
export interface InstancePolicy {
  autoConverge?: boolean;
  postCopy?: boolean;
}

/**
 * The API-side check for create, rebuild and resize: reads the flavor extra specs and image properties,
 * rejects bad booleans, a flavor/image disagreement and a request for both features, and returns the
 * instance's tri-state policy.
 *
 * @throws {@link MigrationPolicyError} `INVALID_BOOLEAN`, `INVALID_ARGUMENT`, `FLAVOR_IMAGE_CONFLICT` or
 * `CONFLICTING_FEATURES`.
 *
 * @example
 * ```ts
 * import { resolveInstancePolicy } from 'libvirt-migration-policy';
 * resolveInstancePolicy({
 *   flavorExtraSpecs: { 'compute:live_migration_post_copy': 'false' },
 *   imageProperties: { compute_live_migration_auto_converge: 'yes' },
 * }); // { autoConverge: true, postCopy: false }
 * ```
 */
export function resolveInstancePolicy(meta?: InstanceMetadata | null): InstancePolicy {
  const request = validatedRequest(meta);
  const policy: InstancePolicy = {};
  if (request.autoConverge) policy.autoConverge = request.autoConverge.value;
  if (request.postCopy) policy.postCopy = request.postCopy.value;
  return policy;
}

/** {@link readInstanceRequest} plus the both-true check every caller needs. */
export function validatedRequest(meta: InstanceMetadata | null | undefined): InstanceRequest {
  const request = readInstanceRequest(meta);
  const { autoConverge, postCopy } = request;
  if (autoConverge?.value === true && postCopy?.value === true) {
    throw new MigrationPolicyError(
      'CONFLICTING_FEATURES',
      `"${autoConverge.key}" and "${postCopy.key}" are both true: an instance uses auto-converge or ` +
        'post-copy, not both; set one of them to "false" or remove it',
      { key: postCopy.key, value: true },
    );
  }
  return request;
}
