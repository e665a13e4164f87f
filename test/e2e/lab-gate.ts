/**
 * Gate shared by the e2e suites: they run only when the lab (`npm run lab:up`) is up.
 * Without a lab the suites are skipped with one visible line — except when `CI=true`,
 * where a missing lab fails the run.
 */
import { describe, it } from 'vitest';
import {
  type HostName,
  type LabInfo,
  labAnswers,
  labStateDir,
  readLab,
  stackLabel,
} from '../../lab/domain.js';

/** Why the lab is unusable, or `undefined` when it is up. */
function labProblem(lab: LabInfo | undefined): string | undefined {
  if (!lab) return `no lab is up (no ${labStateDir()}/lab.json)`;
  if (!lab.stack)
    return `the lab in ${lab.stateDir} predates LAB_STACK (no "stack" in lab.json): run lab/up.sh again`;
  if (!labAnswers(lab)) return `the lab in ${lab.stateDir} does not answer (stale lab.json?)`;
  return undefined;
}

const found = readLab();
const problem = labProblem(found);

/** The running lab, or `undefined` when the e2e suites are skipped. */
export const lab: LabInfo | undefined = problem ? undefined : found;

let announced = false;

/**
 * Like `describe`, for suites that need the lab. No lab: the suite is skipped with a
 * notice; with `CI=true` it becomes one failing test instead.
 */
export function describeLab(name: string, fn: (lab: LabInfo) => void): void {
  if (lab) {
    const l = lab;
    // The stack in the suite's name puts it on every result line: no figure is quoted without it.
    describe(`${name} [${stackLabel(l)}]`, () => fn(l));
    return;
  }
  const how = 'start it with `sudo npm run lab:up` (stop: `npm run lab:down`), see docs/lab.md';
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('requires the lab (CI=true)', () => {
        throw new Error(`e2e suite "${name}" cannot run: ${problem}; ${how}`);
      });
    });
    return;
  }
  if (!announced) {
    announced = true;
    console.warn(`[e2e] SKIPPED: ${problem}; ${how}`);
  }
  describe.skip(name, () => {
    it.skip('needs the lab', () => {});
  });
}

/**
 * Like {@link describeLab}, for suites that need the lab's TLS (`LAB_TLS=1 bash lab/up.sh`): on a lab
 * without it the suite is skipped with a notice — with `CI=true`, one failing test instead (CI runs TLS).
 */
export function describeTlsLab(
  name: string,
  fn: (lab: LabInfo & { hosts: Record<HostName, TlsHost> }) => void,
): void {
  if (lab === undefined || lab.tls?.enabled === true) {
    describeLab(name, (l) => fn(l as LabInfo & { hosts: Record<HostName, TlsHost> }));
    return;
  }
  const problem = `the lab in ${lab.stateDir} runs without TLS; start it with \`LAB_TLS=1 bash lab/up.sh\` (docs/security.md)`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('requires the lab with TLS (CI=true)', () => {
        throw new Error(`e2e suite "${name}" cannot run: ${problem}`);
      });
    });
    return;
  }
  console.warn(`[e2e] SKIPPED "${name}": ${problem}`);
  describe.skip(name, () => {
    it.skip('needs the lab with TLS', () => {});
  });
}

type TlsHost = LabInfo['hosts'][HostName] & { tls: NonNullable<LabInfo['hosts'][HostName]['tls']> };
