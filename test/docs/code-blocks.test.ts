/**
 * Every code block of the README and docs/*.md runs as written. Each block says what it is in its info
 * string:
 *
 * - `ts`: a whole module, type-checked against the package's own types and run (it needs nothing but Node);
 *   a `text output` block right after it is what it prints, compared exactly;
 * - `ts host`: a whole module that needs a compute host — a live libvirtd with a guest to move, or the host's
 *   /etc/nova files: type-checked only;
 * - `json`: parsed;
 * - `sh`, `console`, `text`: shell commands to type at a compute host (they need `openstack`, the host's files
 *   or a lab), transcripts and output — not code of this package, so not run; a bare fence is refused, so
 *   that nothing is skipped unnoticed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const scratch = join(root, '.scratch', 'docs-blocks');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

interface Block {
  file: string;
  line: number;
  info: string;
  code: string;
}

function blocks(file: string): Block[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] ?? '');
    found.push({ file, line: start + 1, info: (open[1] ?? '').trim(), code: `${body.join('\n')}\n` });
  }
  return found;
}

const FILES = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const ALL = FILES.flatMap(blocks);
const KINDS = new Set(['ts', 'ts host', 'json', 'sh', 'console', 'text', 'text output']);
const name = (b: Block) => `${b.file.replace(/[/.]/g, '_')}_${b.line}`;

/** The package's entry points, as a consumer imports them, mapped to the sources. */
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    baseUrl: '.',
    paths: {
      'libvirt-migration-policy': ['../../src/index.ts'],
      'libvirt-migration-policy/policy': ['../../src/policy/index.ts'],
      'libvirt-migration-policy/libvirt': ['../../src/libvirt/index.ts'],
    },
    allowImportingTsExtensions: true,
  },
  include: ['*.mts'],
};

describe('the code blocks of the README and docs/*.md', () => {
  it('each says what it is', () => {
    const unmarked = ALL.filter((b) => !KINDS.has(b.info)).map((b) => `${b.file}:${b.line} "${b.info}"`);
    expect(unmarked).toEqual([]);
    // A `text output` block belongs to the `ts` block right before it.
    for (const [i, b] of ALL.entries()) {
      if (b.info === 'text output') expect(ALL[i - 1]?.info, `${b.file}:${b.line}`).toBe('ts');
    }
  });

  it('every ts block type-checks against the package, and every ts block without libvirt runs as written', async () => {
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    const code = ALL.filter((b) => b.info.startsWith('ts'));
    expect(code.length).toBeGreaterThanOrEqual(8);
    for (const b of code) writeFileSync(join(scratch, `${name(b)}.mts`), b.code);
    writeFileSync(join(scratch, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    const checked = await run(bin('tsc'), ['-p', scratch], { cwd: root }).then(
      () => '',
      (err: { stdout?: string }) => err.stdout ?? String(err),
    );
    expect(checked).toBe('');

    for (const [i, b] of ALL.entries()) {
      if (b.info !== 'ts') continue;
      const { stdout } = await run(
        bin('tsx'),
        ['--tsconfig', join(scratch, 'tsconfig.json'), join(scratch, `${name(b)}.mts`)],
        {
          cwd: root,
          timeout: 60_000,
        },
      );
      const output = ALL[i + 1];
      if (output?.info === 'text output') expect(stdout, `${b.file}:${b.line}`).toBe(output.code);
    }
  }, 180_000);

  it('every json block parses', () => {
    for (const b of ALL.filter((x) => x.info === 'json'))
      expect(() => JSON.parse(b.code), `${b.file}:${b.line}`).not.toThrow();
  });
});

describe('the guides and the API docs, as a reader gets them', () => {
  it.each(FILES.filter((f) => f.startsWith('docs/')))(
    '%s has a title and cites nothing a reader lacks',
    (file) => {
      const text = readFileSync(join(root, file), 'utf8');
      expect(text).toMatch(/^---\ntitle: \S.*\n---\n/);
      expect(text).not.toMatch(/REFERENCE|§\s?\d|\bthe issue\b|\bissue \d+\b/);
    },
  );

  it("documents each of the package's entry points as a module of its own", () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    const typedoc = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { entryPoints: string[] };
    const entries = Object.keys(pkg.exports)
      .filter((sub) => sub !== './package.json')
      .map((sub) => (sub === '.' ? 'src/index.ts' : `src/${sub.slice(2)}/index.ts`));
    expect([...typedoc.entryPoints].sort()).toEqual(entries.sort());
    for (const entry of entries) {
      expect(readFileSync(join(root, entry), 'utf8')).toMatch(/@module libvirt-migration-policy(\/\w+)?\n/);
    }
  });
});
