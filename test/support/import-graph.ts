/**
 * @module The imports of edge/, shared/ and extension/, read from the sources for
 * test/node/layers.test.ts: every static, `export … from`, `import type` and dynamic import, each
 * relative specifier resolved to a repository file, each Node built-in named `node:…`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Written by `npm run build:pages`: not scanned, and may be absent (an import of it still resolves). */
const GENERATED = 'edge/pages/generated/';
/** The folders scanned (their source files, at every depth). */
const SCANNED = ['edge', 'shared', 'extension'];
const SOURCE = /\.(ts|mts|mjs|js)$/;

/** One import: `to` is a repository path (a local file), `node:…` (a Node built-in), or null (a package, or no file found). */
export interface Import {
  file: string;
  specifier: string;
  to: string | null;
}
export interface Graph {
  /** First-level folders of edge/ that hold .ts files, and `edge/*.ts` if edge/ itself does. */
  edgeFolders: string[];
  /** Folders that exist (`shared`, `edge/x`, `edge/*.ts` when edge/ holds .ts files). */
  existing: Set<string>;
  imports: Import[];
}

/** The folder a file counts as: `shared`, `edge/*.ts`, `edge/<first level>`, or its top folder. */
export function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'edge') return parts.length === 2 ? 'edge/*.ts' : `edge/${parts[1]}`;
  return parts[0]!;
}

/** Every module specifier in `text`: imports, `export … from`, `import type`, `import()`, `require()`. */
export const specifiersOf = (text: string): string[] => ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);

/** A relative specifier as a repository path (`.ts`, `/index.ts`, `.js` → `.ts`), or null if no file is there. */
function resolveLocal(file: string, specifier: string): string | null {
  const base = posix.normalize(posix.join(posix.dirname(file), specifier));
  const candidates = [base, `${base}.ts`, `${base}.mts`, base.replace(/\.(m?)js$/, '.$1ts'), `${base}/index.ts`];
  if (base.startsWith(GENERATED)) return candidates[1]!;
  return candidates.find((c) => existsSync(join(ROOT, c)) && statSync(join(ROOT, c)).isFile()) ?? null;
}

/** The imports of every source file in edge/, shared/ and extension/ (edge/pages/generated left out). */
export function scanTree(): Graph {
  const files = SCANNED.flatMap((top) =>
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
