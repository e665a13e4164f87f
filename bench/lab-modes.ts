/**
 * The seven ways `npm run bench:lab` migrates the same busy guest. Each is chosen the way an operator chooses
 * it — flavor extra specs or image properties, the host's nova.conf, migrate()'s options — never by flags
 * made by hand: the flags are whatever the library computes from them.
 */
import type { HostConfig, InstanceMetadata, MigrateOptions } from '../src/index.js';

/** A mode's stable id, as it appears in bench/results/lab.json and the charts. */
export type LabModeId =
  | 'pre-copy'
  | 'auto-converge'
  | 'auto-converge tuned'
  | 'post-copy, force-complete'
  | 'post-copy, timeout'
  | 'adaptive, post-copy allowed'
  | 'adaptive, both forbidden';

/** One mode: what the operator sets, and whether the bench asks for force-complete after the first pass. */
export interface LabMode {
  id: LabModeId;
  instance: InstanceMetadata;
  host: Partial<HostConfig>;
  options: Partial<Pick<MigrateOptions, 'autoConvergeInitial' | 'autoConvergeIncrement' | 'switchover'>>;
  forceCompleteAfterFirstPass: boolean;
}

/** QEMU's own defaults are 20 % then +10 % a pass; tuned for this CPU-bound writer: start higher, climb faster. */
export const TUNED_AUTO_CONVERGE = { autoConvergeInitial: 40, autoConvergeIncrement: 20 } as const;

const AUTO_CONVERGE: InstanceMetadata = {
  flavorExtraSpecs: { 'compute:live_migration_auto_converge': 'true' },
};
const POST_COPY: InstanceMetadata = { imageProperties: { compute_live_migration_post_copy: 'true' } };
const BOTH_FORBIDDEN: InstanceMetadata = {
  flavorExtraSpecs: {
    'compute:live_migration_post_copy': 'false',
    'compute:live_migration_auto_converge': 'false',
  },
};

/**
 * The modes for a guest whose data counts `dataGb` GiB (Nova's count: at least 2) on a link whose physical
 * bound — memory touched ÷ bandwidth — is `boundS` seconds.
 * - pre-copy alone is stopped by the completion timeout after `preCopyTimeoutS`;
 * - the others get a completion timeout far out (10× the bound, at least 120 s) as a safety net, with the
 *   host's default action (abort), except the last, where the monitor's timeout (2× the bound) switches to
 *   post-copy (`live_migration_timeout_action = force_complete`);
 * - the adaptive switchover (`switchover: 'adaptive'`) with post-copy allowed by the image, and with both
 *   features forbidden by the flavor (its action then is the host's default, abort), the same safety net
 *   behind it.
 */
export function labModes(boundS: number, dataGb: number, preCopyTimeoutS = 30): LabMode[] {
  const perGb = (seconds: number) => Math.max(1, Math.ceil(seconds / dataGb));
  const safety: Partial<HostConfig> = { completionTimeout: perGb(Math.max(120, 10 * boundS)) };
  return [
    {
      id: 'pre-copy',
      instance: {},
      host: { completionTimeout: perGb(preCopyTimeoutS) },
      options: {},
      forceCompleteAfterFirstPass: false,
    },
    {
      id: 'auto-converge',
      instance: AUTO_CONVERGE,
      host: safety,
      options: {},
      forceCompleteAfterFirstPass: false,
    },
    {
      id: 'auto-converge tuned',
      instance: AUTO_CONVERGE,
      host: safety,
      options: { ...TUNED_AUTO_CONVERGE },
      forceCompleteAfterFirstPass: false,
    },
    {
      id: 'post-copy, force-complete',
      instance: POST_COPY,
      host: safety,
      options: {},
      forceCompleteAfterFirstPass: true,
    },
    {
      id: 'post-copy, timeout',
      instance: POST_COPY,
      host: { completionTimeout: perGb(2 * boundS), timeoutAction: 'force_complete' },
      options: {},
      forceCompleteAfterFirstPass: false,
    },
    {
      id: 'adaptive, post-copy allowed',
      instance: POST_COPY,
      host: safety,
      options: { switchover: 'adaptive' },
      forceCompleteAfterFirstPass: false,
    },
    {
      id: 'adaptive, both forbidden',
      instance: BOTH_FORBIDDEN,
      host: safety,
      options: { switchover: 'adaptive' },
      forceCompleteAfterFirstPass: false,
    },
  ];
}
