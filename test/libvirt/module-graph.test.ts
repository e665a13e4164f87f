import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../src/libvirt/', import.meta.url));

/** Each module of src/libvirt → the modules of src/libvirt it imports, `import type` included. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(`${dir}${file}`, 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)[^;]*?from '\.\/([\w-]+)\.js';/gms)].map(
      (m) => `${m[1]}.ts`,
    );
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** One import cycle of `graph` (the path, its first module repeated at the end), or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('src/libvirt module graph', () => {
  it('reads the imports it checks: the connection reaches the domain and the events through its own imports', () => {
    const graph = importGraph();
    expect(graph.get('connection.ts')).toEqual(
      expect.arrayContaining(['domain.ts', 'events.ts', 'channel.ts']),
    );
    // The detector finds a cycle when there is one.
    expect(
      findCycle(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', ['a.ts']],
        ]),
      ),
    ).toEqual(['a.ts', 'b.ts', 'a.ts']);
  });

  it('has no import cycle: the domain and the event stream depend on channel.ts, not on the connection', () => {
    const graph = importGraph();
    expect(findCycle(graph)).toBeUndefined();
    for (const file of ['domain.ts', 'events.ts']) expect(graph.get(file)).not.toContain('connection.ts');
  });
});
