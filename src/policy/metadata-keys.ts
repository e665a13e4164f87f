import { frozenDeep } from './guard.js';

/** The two per-instance features. */
export type Feature = 'autoConverge' | 'postCopy';

/**
 * The metadata keys that carry each feature, in the flavor (extra specs) and in the image (properties).
 *
 * @example
 * ```ts
 * METADATA_KEYS.postCopy.flavor; // 'compute:live_migration_post_copy'
 * ```
 */
export const METADATA_KEYS = frozenDeep({
  autoConverge: {
    flavor: 'compute:live_migration_auto_converge',
    image: 'compute_live_migration_auto_converge',
  },
  postCopy: {
    flavor: 'compute:live_migration_post_copy',
    image: 'compute_live_migration_post_copy',
  },
} as const satisfies Record<Feature, { flavor: string; image: string }>);
