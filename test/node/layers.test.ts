/**
 * @module The layers of docs/architecture.md ("## Layers") match the imports. It reads the table
 * there, scans every import in edge/, shared/ and extension/ (test/support/import-graph.ts: static,
 * `export … from`, `import type`, dynamic `import()`; relative specifiers resolved to files) and checks: edge/ and shared/ import
 * only edge/ and shared/ (and the Node tooling the repository's package.json), the extension only
 * extension/ and shared/; every edge folder is in exactly one layer; no import points from a lower
 * layer to a higher one; no import cycle between folders; the request path and the endpoints never
 * import each other, nor routes other routes; Worker code never reaches Node-only code, the page
 * scripts or `node:` modules; the page scripts and shared/ stay in their own world; the extension
 * reaches neither `node:` modules nor its own build (extension/build, which runs in Node). The
 * checker runs on a small made-up graph first, to show that it can fail.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderOf, type Graph, type Import, ROOT, scanTree, specifiersOf } from '../support/import-graph';

/** First-level edge folders outside the layers: Node-only tooling, the page scripts, SQL. */
const OUTSIDE_LAYERS = new Set(['edge/node', 'edge/browser', 'edge/migrations']);

interface Layer {
  rank: number;
  name: string;
  /** `edge/x`, `shared`, or `edge/*.ts` (the files directly in edge/) */
  folders: string[];
}

/** The layer table of the "## Layers" section: rows `| N name | \`edge/x\`, \`edge/y\` | … |`. */
function parseLayers(markdown: string): Layer[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Layers\n')) ?? '';
  return [...section.matchAll(/^\|\s*(\d+)\s+([^|]+?)\s*\|([^|]*)\|/gm)].map((m) => ({
    rank: Number(m[1]),
    name: m[2]!,
    folders: [...m[3]!.matchAll(/`([^`]+)`/g)].map((f) => f[1]!),
  }));
}

/** Where a file runs: in the folder name. */
type Side = 'worker' | 'node' | 'browser' | 'shared' | 'extension' | 'extension build' | 'other';
function sideOf(file: string): Side {
  if (file.startsWith('shared/')) return 'shared';
  if (file.startsWith('edge/node/')) return 'node';
  if (file.startsWith('edge/browser/')) return 'browser';
  if (file.startsWith('edge/')) return 'worker';
  if (file.startsWith('extension/build/')) return 'extension build';
  return file.startsWith('extension/') ? 'extension' : 'other';
}
const isNodeBuiltin = (to: string | null) => to?.startsWith('node:') === true;

/** Where a file may import from (a local file: a folder prefix or one exact path), or null when it is not scanned. */
function allowedTargets(file: string): string[] | null {
  if (file.startsWith('edge/node/')) return ['edge/', 'shared/', 'package.json'];
  if (file.startsWith('edge/') || file.startsWith('shared/')) return ['edge/', 'shared/'];
  if (file.startsWith('extension/')) return ['extension/', 'shared/'];
  return null;
}
const isAllowed = (to: string, allowed: string[]) => allowed.some((a) => (a.endsWith('/') ? to.startsWith(a) : to === a));
const describeImport = (i: Import) => `${i.file} imports '${i.specifier}'${i.to && i.to !== i.specifier ? ` (${i.to})` : ''}`;

/** Every rule, each with the imports (or folders) that break it; an empty list is a pass. */
function checkLayers(layers: Layer[], graph: Graph): Record<string, string[]> {
  const rank = new Map<string, number>();
  const membership = new Map<string, string[]>();
  for (const layer of layers) {
    for (const f of layer.folders) {
      rank.set(f, layer.rank);
      membership.set(f, [...(membership.get(f) ?? []), `${layer.rank} ${layer.name}`]);
    }
  }
  const local = graph.imports.filter((i) => i.to !== null && !isNodeBuiltin(i.to));
  const outside = local
    .filter((i) => {
      const allowed = allowedTargets(i.file);
      return allowed !== null && !isAllowed(i.to!, allowed);
    })
    .map((i) => `${describeImport(i)}: outside ${allowedTargets(i.file)!.join(', ')}`);
  const between = local.filter((i) => folderOf(i.file) !== folderOf(i.to!));

  const inLayers = [
    ...graph.edgeFolders
      .filter((f) => !OUTSIDE_LAYERS.has(f) && membership.get(f)?.length !== 1)
      .map((f) => `${f} is in ${membership.get(f)?.length ? `several layers: ${membership.get(f)!.join(', ')}` : 'no layer'}`),
    ...[...membership.keys()].filter((f) => !graph.existing.has(f)).map((f) => `${f} is in the table but does not exist`),
  ];

  const upward = between
    .filter((i) => (rank.get(folderOf(i.to!)) ?? Infinity) < (rank.get(folderOf(i.file)) ?? -Infinity))
    .map((i) => `${describeImport(i)}: layer ${rank.get(folderOf(i.file))} → layer ${rank.get(folderOf(i.to!))}`);

  const cycles = folderCycles(between).flatMap((scc) => {
    const inside = new Set(scc);
    const edges = between.filter((i) => inside.has(folderOf(i.file)) && inside.has(folderOf(i.to!)));
    return [`cycle between ${scc.join(', ')}:`, ...edges.map((i) => `  ${describeImport(i)}`)];
  });

  const front = new Set(['edge/request-path', 'edge/endpoints']);
  const frontToFront = between.filter((i) => front.has(folderOf(i.file)) && front.has(folderOf(i.to!))).map(describeImport);

  const routes = /^edge\/endpoints\/[^/]+-routes\.ts$/;
  const routeToRoute = local.filter((i) => routes.test(i.file) && routes.test(i.to!) && i.file !== i.to).map(describeImport);

  const runtimes = graph.imports
    .filter((i) => {
      if (i.to === null) return false;
      const to = isNodeBuiltin(i.to) ? 'node:' : sideOf(i.to);
      switch (sideOf(i.file)) {
        case 'worker':
          return to === 'node:' || to === 'node' || to === 'browser';
        case 'shared':
        case 'browser':
          return to !== 'shared' && to !== sideOf(i.file);
        case 'extension':
          return to === 'node:' || to === 'extension build';
        default:
          return false;
      }
    })
    .map((i) => `${describeImport(i)}: ${sideOf(i.file)} code`);

  return {
    'edge/ and shared/ import only edge/ and shared/ (edge/node also package.json), the extension only extension/ and shared/': outside,
    'every edge folder is in exactly one layer, and every layer folder exists': inLayers,
    'no import from a lower layer to a higher one': upward,
    'no import cycle between folders': cycles,
    'edge/request-path and edge/endpoints never import each other': frontToFront,
    'no *-routes.ts imports another *-routes.ts': routeToRoute,
    'where code runs: Worker, page and extension code reach no node: module or Node-only code; page scripts, shared/ apart': runtimes,
  };
}

/** The strongly connected components of two or more folders (Tarjan), each sorted. */
function folderCycles(imports: Import[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const i of imports) {
    const [a, b] = [folderOf(i.file), folderOf(i.to!)];
    if (a !== b) next.set(a, (next.get(a) ?? new Set()).add(b));
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

describe('the layer checker', () => {
  const layers: Layer[] = [
    { rank: 1, name: 'entry', folders: ['edge/*.ts'] },
    { rank: 2, name: 'front', folders: ['edge/request-path', 'edge/endpoints'] },
    { rank: 4, name: 'domain', folders: ['edge/audit', 'edge/factors', 'edge/policy'] },
    { rank: 5, name: 'crypto', folders: ['edge/crypto', 'edge/gone'] },
    { rank: 7, name: 'shared', folders: ['shared'] },
  ];
  const imp = (file: string, to: string | null, specifier = to ?? 'hono'): Import => ({ file, specifier, to });
  const folders = ['edge/*.ts', 'edge/audit', 'edge/crypto', 'edge/endpoints', 'edge/factors', 'edge/policy', 'edge/request-path'];
  const graph: Graph = {
    edgeFolders: [...folders, 'edge/browser', 'edge/node', 'edge/stray'],
    existing: new Set([...folders, 'edge/browser', 'edge/node', 'shared']),
    imports: [
      imp('edge/index.ts', 'edge/request-path/decide.ts'),
      imp('edge/request-path/decide.ts', 'edge/policy/match.ts'),
      imp('edge/crypto/keyring.ts', 'edge/audit/events.ts'), // upward: crypto → domain
      imp('edge/audit/log.ts', 'edge/factors/store.ts'), // cycle: audit → factors → policy → audit
      imp('edge/factors/store.ts', 'edge/policy/fold.ts'),
      imp('edge/policy/fold.ts', 'edge/audit/log.ts'),
      imp('edge/endpoints/audit-routes.ts', 'edge/endpoints/factor-routes.ts'),
      imp('edge/endpoints/audit-routes.ts', 'edge/request-path/decide.ts'),
      imp('edge/policy/fold.ts', 'node:fs', 'node:fs'),
      imp('shared/base64.ts', 'edge/crypto/keyring.ts'),
      imp('edge/audit/log.ts', 'edge/node/cli/main.ts'),
      imp('edge/browser/enrol.ts', 'edge/crypto/keyring.ts'),
      imp('edge/audit/log.ts', null),
      // Outside edge/ and shared/: the extension, tests, the repository root (only Node tooling may read package.json).
      imp('edge/endpoints/audit-routes.ts', 'extension/src/lib/sites.ts'),
      imp('edge/request-path/decide.ts', 'test/support/fake-clock.ts'),
      imp('shared/errors.ts', 'package.json'),
      imp('edge/crypto/keyring.ts', 'package.json'),
      imp('edge/node/cli/main.ts', 'package.json'),
      // The extension: extension/ and shared/ only; no node: module, and not its build (which runs in Node).
      imp('extension/src/lib/sites.ts', 'shared/errors.ts'),
      imp('extension/src/lib/sites.ts', null),
      imp('extension/src/background/index.ts', 'edge/crypto/keyring.ts'),
      imp('extension/src/popup/index.ts', 'node:fs', 'node:fs'),
      imp('extension/src/popup/index.ts', 'extension/build/vite.config.ts'),
      imp('extension/build/package.ts', 'node:fs', 'node:fs'),
      imp('extension/build/vite.config.ts', 'extension/manifest.ts'),
    ],
  };
  it('reports each broken rule, naming the file and the import', () => {
    expect(checkLayers(layers, graph)).toEqual({
      'edge/ and shared/ import only edge/ and shared/ (edge/node also package.json), the extension only extension/ and shared/': [
        "edge/endpoints/audit-routes.ts imports 'extension/src/lib/sites.ts': outside edge/, shared/",
        "edge/request-path/decide.ts imports 'test/support/fake-clock.ts': outside edge/, shared/",
        "shared/errors.ts imports 'package.json': outside edge/, shared/",
        "edge/crypto/keyring.ts imports 'package.json': outside edge/, shared/",
        "extension/src/background/index.ts imports 'edge/crypto/keyring.ts': outside extension/, shared/",
      ],
      'every edge folder is in exactly one layer, and every layer folder exists': [
        'edge/stray is in no layer',
        'edge/gone is in the table but does not exist',
      ],
      'no import from a lower layer to a higher one': [
        "edge/crypto/keyring.ts imports 'edge/audit/events.ts': layer 5 → layer 4",
        "shared/base64.ts imports 'edge/crypto/keyring.ts': layer 7 → layer 5",
      ],
      'no import cycle between folders': [
        'cycle between edge/audit, edge/factors, edge/policy:',
        "  edge/audit/log.ts imports 'edge/factors/store.ts'",
        "  edge/factors/store.ts imports 'edge/policy/fold.ts'",
        "  edge/policy/fold.ts imports 'edge/audit/log.ts'",
      ],
      'edge/request-path and edge/endpoints never import each other': [
        "edge/endpoints/audit-routes.ts imports 'edge/request-path/decide.ts'",
      ],
      'no *-routes.ts imports another *-routes.ts': ["edge/endpoints/audit-routes.ts imports 'edge/endpoints/factor-routes.ts'"],
      'where code runs: Worker, page and extension code reach no node: module or Node-only code; page scripts, shared/ apart': [
        "edge/policy/fold.ts imports 'node:fs': worker code",
        "shared/base64.ts imports 'edge/crypto/keyring.ts': shared code",
        "edge/audit/log.ts imports 'edge/node/cli/main.ts': worker code",
        "edge/browser/enrol.ts imports 'edge/crypto/keyring.ts': browser code",
        "shared/errors.ts imports 'package.json': shared code",
        "extension/src/popup/index.ts imports 'node:fs': extension code",
        "extension/src/popup/index.ts imports 'extension/build/vite.config.ts': extension code",
      ],
    });
  });
  it('sees every form of import', () => {
    const text = [
      "import a from './a';",
      "import type { B } from './b';",
      "export { c } from './c';",
      "export type * from './d';",
      "const e = await import('./e');",
      "// import f from './f';",
      'const g = \'import h from "./h"\';',
    ].join('\n');
    expect(specifiersOf(text)).toEqual(['./a', './b', './c', './d', './e']);
  });
});

describe('the layers of docs/architecture.md match the imports', () => {
  const layers = parseLayers(readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8'));
  const graph = scanTree();

  it('reads a table of layers and finds imports', () => {
    expect(layers.map((l) => l.rank)).toEqual([...layers.keys()].map((k) => k + 1));
    expect(graph.imports.length).toBeGreaterThan(100);
    expect(graph.imports.some((i) => i.file.startsWith('extension/src/') && i.to?.startsWith('shared/'))).toBe(true);
  });
  it('every relative import resolves to a file', () => {
    expect(graph.imports.filter((i) => i.to === null && i.specifier.startsWith('.')).map(describeImport)).toEqual([]);
  });
  for (const [rule, violations] of Object.entries(checkLayers(layers, graph))) {
    it(rule, () => expect(violations).toEqual([]));
  }
});
