/**
 * @module The layers of docs/architecture.md ("## Layers") match the imports. It reads the table
 * there, scans every import in edge/ and shared/ (static, `export … from`, `import type`, dynamic
 * `import()`; relative specifiers resolved to files) and checks: every edge folder is in exactly one
 * layer; no import points from a lower layer to a higher one; no import cycle between folders; the
 * request path and the endpoints never import each other, nor routes other routes; Worker code never
 * reaches Node-only code, the page scripts or `node:` modules; the page scripts and shared/ stay in
 * their own world. The checker runs on a small made-up graph first, to show that it can fail.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Written by `npm run build:pages`: not scanned, and may be absent (an import of it still resolves). */
const GENERATED = 'edge/pages/generated/';
/** First-level edge folders outside the layers: Node-only tooling, the page scripts, SQL. */
const OUTSIDE_LAYERS = new Set(['edge/node', 'edge/browser', 'edge/migrations']);
/** Files in edge/browser that Node runs (the build of the page scripts), not the browser. */
const BROWSER_BUILD_CONFIG = new Set(['edge/browser/vite.config.ts']);
const SOURCE = /\.(ts|mts|mjs|js)$/;

interface Layer {
  rank: number;
  name: string;
  /** `edge/x`, `shared`, or `edge/*.ts` (the files directly in edge/) */
  folders: string[];
}
/** One import: `to` is a repository path (a local file), `node:…` (a Node built-in), or null (a package, or no file found). */
interface Import {
  file: string;
  specifier: string;
  to: string | null;
}
interface Graph {
  /** First-level folders of edge/ that hold .ts files, and `edge/*.ts` if edge/ itself does. */
  edgeFolders: string[];
  /** Folders that exist (`shared`, `edge/x`, `edge/*.ts` when edge/ holds .ts files). */
  existing: Set<string>;
  imports: Import[];
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

/** The folder a file counts as: `shared`, `edge/*.ts`, `edge/<first level>`, or its top folder. */
function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'edge') return parts.length === 2 ? 'edge/*.ts' : `edge/${parts[1]}`;
  return parts[0]!;
}

type Side = 'worker' | 'node' | 'browser' | 'shared' | 'other';
function sideOf(file: string): Side {
  if (file.startsWith('shared/')) return 'shared';
  if (file.startsWith('edge/node/') || BROWSER_BUILD_CONFIG.has(file)) return 'node';
  if (file.startsWith('edge/browser/')) return 'browser';
  return file.startsWith('edge/') ? 'worker' : 'other';
}
const isNodeBuiltin = (to: string | null) => to?.startsWith('node:') === true;
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
      const from = sideOf(i.file);
      if (from === 'worker' || from === 'shared' || from === 'browser') {
        if (isNodeBuiltin(i.to)) return true;
        if (i.to === null) return false;
        const to = sideOf(i.to);
        if (from === 'worker') return to === 'node' || to === 'browser';
        return to !== 'shared' && to !== from;
      }
      return false;
    })
    .map((i) => `${describeImport(i)}: ${sideOf(i.file)} code`);

  return {
    'every edge folder is in exactly one layer, and every layer folder exists': inLayers,
    'no import from a lower layer to a higher one': upward,
    'no import cycle between folders': cycles,
    'edge/request-path and edge/endpoints never import each other': frontToFront,
    'no *-routes.ts imports another *-routes.ts': routeToRoute,
    'Worker code reaches no Node-only code, page script or node: module; page scripts and shared/ stay apart': runtimes,
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

/** Every module specifier in `text`: imports, `export … from`, `import type`, `import()`, `require()`. */
const specifiersOf = (text: string): string[] => ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);

/** A relative specifier as a repository path (`.ts`, `/index.ts`, `.js` → `.ts`), or null if no file is there. */
function resolveLocal(file: string, specifier: string): string | null {
  const base = posix.normalize(posix.join(posix.dirname(file), specifier));
  const candidates = [base, `${base}.ts`, `${base}.mts`, base.replace(/\.(m?)js$/, '.$1ts'), `${base}/index.ts`];
  if (base.startsWith(GENERATED)) return candidates[1]!;
  return candidates.find((c) => existsSync(join(ROOT, c)) && statSync(join(ROOT, c)).isFile()) ?? null;
}

/** The imports of every source file in edge/ and shared/ (edge/pages/generated left out). */
function scanTree(): Graph {
  const files = ['edge', 'shared'].flatMap((top) =>
    (readdirSync(join(ROOT, top), { recursive: true }) as string[])
      .map((f) => `${top}/${f.split('\\').join('/')}`)
      .filter((f) => SOURCE.test(f) && !f.startsWith(GENERATED)),
  );
  const imports = files.flatMap((file) =>
    specifiersOf(readFileSync(join(ROOT, file), 'utf8')).map((specifier): Import => {
      if (specifier.startsWith('.')) return { file, specifier, to: resolveLocal(file, specifier) };
      const bare = specifier.replace(/^node:/, '').split('/')[0]!;
      if (specifier.startsWith('node:') || builtinModules.includes(bare)) return { file, specifier, to: `node:${bare}` };
      return { file, specifier, to: null };
    }),
  );
  const edgeTs = files.filter((f) => f.startsWith('edge/') && f.endsWith('.ts'));
  const edgeFolders = [...new Set(edgeTs.map(folderOf))].sort();
  const existing = new Set([...edgeFolders, ...(existsSync(join(ROOT, 'shared')) ? ['shared'] : [])]);
  for (const d of readdirSync(join(ROOT, 'edge'), { withFileTypes: true })) if (d.isDirectory()) existing.add(`edge/${d.name}`);
  return { edgeFolders, existing, imports };
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
    ],
  };
  it('reports each broken rule, naming the file and the import', () => {
    expect(checkLayers(layers, graph)).toEqual({
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
      'Worker code reaches no Node-only code, page script or node: module; page scripts and shared/ stay apart': [
        "edge/policy/fold.ts imports 'node:fs': worker code",
        "shared/base64.ts imports 'edge/crypto/keyring.ts': shared code",
        "edge/audit/log.ts imports 'edge/node/cli/main.ts': worker code",
        "edge/browser/enrol.ts imports 'edge/crypto/keyring.ts': browser code",
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
  });
  it('every relative import resolves to a file', () => {
    expect(graph.imports.filter((i) => i.to === null && i.specifier.startsWith('.')).map(describeImport)).toEqual([]);
  });
  for (const [rule, violations] of Object.entries(checkLayers(layers, graph))) {
    it(rule, () => expect(violations).toEqual([]));
  }
});
