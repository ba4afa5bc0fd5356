/**
 * README.md and docs/*.md name files and folders of this repository. These checks keep those names
 * true when code moves: every repository path they mention (`edge/…`, `shared/…`, `extension/…`,
 * `test/…`, `docs/…`, `.ci/…`, with or without backticks) exists; every bare file name (`forward.ts`,
 * `bin.mjs`, `0006_audit_read.sql`, `wrangler.toml`) is the name of a file git tracks (or a new one
 * not yet committed); every relative Markdown link leads to a file; and every sub-folder the README's
 * layout table names is in the folder of its row. A failure names the document, the line and the path.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/miniflare-gateway';

const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Paths that are build output (never committed), so they need not exist in a checkout. */
const GENERATED = ['dist/', 'edge/pages/generated/', 'test-results/', 'node_modules/', '.wrangler/'];

/**
 * Bare names that are not files of this repository: the files the commands in the docs write or
 * read, and the files the builds write.
 */
const NOT_REPOSITORY_FILES = new Set([
  // `stepgate keys …` examples
  'keys.json',
  'keys2.json',
  'keys3.json',
  'keys-new.json',
  'keys-final.json',
  'dev-keys.json',
  // a host Worker's policy file (library mode), a policy example, a request path with an extension
  'stepgate-policy.json',
  'acme.json',
  'ban.json',
  // served by the edge, not files: /.well-known/stepgate/…
  'jwks.json',
  'audit-jwks.json',
  'prompt-jwks.json',
  // written by the extension build (from extension/manifest.ts)
  'manifest.json',
  // not a file at all
  'Node.js',
]);

/** Repository paths: one of the top-level folders, then path characters. Not part of a URL or a longer path. */
const PATH = /(?<![\w./~:-])((?:edge|shared|extension|test|docs|\.ci)\/[\w./*-]*)/g;
/** A file name: name characters and a source, data or config extension. Not a method call, not part of a path or URL. */
const FILE_NAME = /(?<![\w./~:*@-])([\w-]+(?:\.[\w-]+)*\.(?:ts|mts|mjs|js|sql|json|toml|html|css))(?![\w(/-])/g;
/** A Markdown link to something that is not a URL or an anchor of the same page. */
const LINK = /\]\((?!https?:|mailto:|#)([^)\s#]+)(?:#[^)\s]*)?\)/g;

/** Files git tracks, and new ones not yet committed (not ignored), that exist in the working tree. */
function repositoryFiles(): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && existsSync(join(ROOT, f)));
}

interface Mention {
  /** `doc:line` */
  where: string;
  text: string;
}

/** Every match of `re` in the docs, with where it is. */
function mentions(re: RegExp, docs: Record<string, string>): Mention[] {
  const found: Mention[] = [];
  for (const [doc, text] of Object.entries(docs)) {
    text.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(re)) found.push({ where: `${doc}:${i + 1}`, text: m[1]! });
    });
  }
  return found;
}

/** A repository path as written, without sentence punctuation after it. */
const trimPath = (p: string): string => p.replace(/[.,;:]+$/, '');
const isGenerated = (p: string): boolean => GENERATED.some((g) => p === g.slice(0, -1) || p.startsWith(g));

/** Every folder that holds one of `files`, at any depth (`edge`, `edge/factors`, `edge/factors/totp`, …). */
function foldersOf(files: string[]): Set<string> {
  const folders = new Set<string>();
  for (const f of files) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
  }
  return folders;
}

/**
 * The stale paths among `found`: not a glob, not generated, and neither a repository file nor a
 * folder holding one (`known`; a folder left on this disk with nothing of the repository in it does not count).
 */
function missingPaths(found: Mention[], known: Set<string>): string[] {
  return found
    .map((m) => ({ ...m, text: trimPath(m.text) }))
    .filter((m) => !m.text.includes('*') && !isGenerated(m.text) && !known.has(m.text.replace(/\/$/, '')))
    .map((m) => `${m.where}: ${m.text}`);
}

/** The bare file names among `found` that name no repository file. */
function unknownNames(found: Mention[], names: Set<string>): string[] {
  return found.filter((m) => !names.has(m.text) && !NOT_REPOSITORY_FILES.has(m.text)).map((m) => `${m.where}: ${m.text}`);
}

describe('paths in README.md and docs/*.md', () => {
  const docs = Object.fromEntries(DOCS.map((d) => [d, readFileSync(join(ROOT, d), 'utf8')]));
  const files = repositoryFiles();
  const names = new Set(files.map((f) => basename(f)));
  const folders = foldersOf(files);
  const known = new Set([...files, ...folders]);

  it('finds stale paths and names (the checks can fail)', () => {
    const sample = { 'docs/sample.md': 'The middleware (`edge/step-up/stepgate.ts`) calls\nreserved-app.ts, and edge/proxy/ forwards.' };
    expect(missingPaths(mentions(PATH, sample), known)).toEqual([
      'docs/sample.md:1: edge/step-up/stepgate.ts',
      'docs/sample.md:2: edge/proxy/',
    ]);
    expect(unknownNames(mentions(FILE_NAME, sample), names)).toEqual(['docs/sample.md:2: reserved-app.ts']);
    const fine = {
      'docs/sample.md': 'See `edge/request-path/*.ts`, dist/lib, https://x.example/edge/nope.ts, c.req.json() and forward.ts.',
    };
    expect(missingPaths(mentions(PATH, fine), known)).toEqual([]);
    expect(unknownNames(mentions(FILE_NAME, fine), names)).toEqual([]);
  });

  it('names only repository paths that exist', () => {
    const found = mentions(PATH, docs);
    expect(found.length).toBeGreaterThan(200);
    expect(missingPaths(found, known)).toEqual([]);
  });

  it('names only files that are in the repository', () => {
    const found = mentions(FILE_NAME, docs);
    expect(found.length).toBeGreaterThan(50);
    expect(unknownNames(found, names)).toEqual([]);
  });

  it('links only to files that exist', () => {
    const broken: string[] = [];
    for (const [doc, text] of Object.entries(docs)) {
      text.split('\n').forEach((line, i) => {
        for (const m of line.matchAll(LINK)) {
          const target = posix.join(posix.dirname(doc), m[1]!);
          if (!known.has(target.replace(/\/$/, ''))) broken.push(`${doc}:${i + 1}: ${m[1]}`);
        }
      });
    }
    expect(broken).toEqual([]);
  });

  it("names, in the README's layout table, only sub-folders of the row's folder", () => {
    // | `edge/` | the Worker: `policy/` (…), `factors/` (`totp/`, …), … |: each `name/` is a folder somewhere under edge/.
    const missing: string[] = [];
    let checked = 0;
    docs['README.md']!.split('\n').forEach((line, i) => {
      const row = /^\| `([\w-]+)\/` \|(.*)\|$/.exec(line);
      if (!row) return;
      for (const m of row[2]!.matchAll(/`([\w-]+(?:\/[\w-]+)*)\/`/g)) {
        checked++;
        const under = [...folders].some((f) => f.startsWith(`${row[1]}/`) && f.endsWith(`/${m[1]}`));
        if (!under && !isGenerated(`${m[1]}/`)) missing.push(`README.md:${i + 1}: ${row[1]}/…/${m[1]}/`);
      }
    });
    expect(checked).toBeGreaterThan(15);
    expect(missing).toEqual([]);
  });
});
