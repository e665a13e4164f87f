/**
 * Gate of the suites that need a real Placement server (`lab/placement.sh start`) besides the lab. Without
 * the lab, `describeLab` already skips (or fails, with `CI=true`); with the lab but no Placement answering,
 * the suite is skipped with one line saying so — or, with `CI=true`, becomes one failing test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { type LabInfo, labStateDir } from '../../lab/domain.js';
import { describeLab } from './lab-gate.js';

/** placement.json, as lab/placement.sh writes it. */
export interface PlacementInfo {
  endpoint: string;
  /** noauth2's administrator token ("admin"): Placement's test-only mode. */
  token: string;
  auth: string;
  /** The Placement and os-traits versions the server runs. */
  placement: string;
  osTraits: string;
  pid: number;
  log: string;
}

/** Where lab/placement.sh writes placement.json for this lab. */
export function placementFile(): string {
  return join(labStateDir(), 'placement', 'placement.json');
}

async function probe(): Promise<{ info?: PlacementInfo; problem?: string }> {
  let info: PlacementInfo;
  try {
    info = JSON.parse(readFileSync(placementFile(), 'utf8')) as PlacementInfo;
  } catch {
    return { problem: `no Placement server is up (no ${placementFile()})` };
  }
  try {
    const r = await fetch(`${info.endpoint}/`, { signal: AbortSignal.timeout(5_000) });
    if (!r.ok) return { problem: `the Placement at ${info.endpoint} answers GET / with ${r.status}` };
    return { info };
  } catch (err) {
    return {
      problem: `the Placement at ${info.endpoint} does not answer (${(err as Error).message}): stale placement.json?`,
    };
  }
}

const found = await probe();

/** The running Placement, or `undefined` when the suites that need it do not run. */
export const placement: PlacementInfo | undefined = found.info;

/** Like `describeLab`, for suites that also need the Placement server. */
export function describePlacement(name: string, fn: (lab: LabInfo, placement: PlacementInfo) => void): void {
  describeLab(name, (lab) => {
    if (placement) {
      fn(lab, placement);
      return;
    }
    const how = `start it with \`sudo LAB_NAME=${lab.name} bash lab/placement.sh start\` (stop: \`… stop\`), see docs/placement.md`;
    if (process.env.CI === 'true') {
      it('requires the Placement server (CI=true)', () => {
        throw new Error(`e2e suite "${name}" cannot run: ${found.problem}; ${how}`);
      });
      return;
    }
    console.warn(`[e2e] SKIPPED (not run): "${name}": ${found.problem}; ${how}`);
    it.skip('needs the Placement server', () => {});
  });
}
