/** The executable itself, as a child process: the exit code reaches the shell, the streams stay apart. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixture } from './run.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
/** tsx compiling and starting the CLI takes seconds on a loaded machine: the test waits as long as the child may run. */
const SPAWNS = { timeout: 60_000 };

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(TSX, [MAIN, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

describe('src/cli/main.ts as a process', () => {
  it('starts with a shebang, so that the built file runs as the bin', () => {
    expect(readFileSync(MAIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('explain --json answers on stdout with exit code 0', SPAWNS, async () => {
    const { code, stdout, stderr } = await run([
      'explain',
      '--flavor',
      fixture('flavor-osc.json'),
      '--conf',
      fixture('nova.conf'),
      '--json',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).flags).toEqual({
      value: 32795,
      names: ['LIVE', 'PEER2PEER', 'PERSIST_DEST', 'UNDEFINE_SOURCE', 'POSTCOPY'],
    });
  });

  it('bad input exits 2 with the message on stderr only', SPAWNS, async () => {
    const { code, stdout, stderr } = await run(['explain', '--conf', fixture('bad-syntax.conf')]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`${fixture('bad-syntax.conf')} line 3`);
  });
});
