/**
 * @module RuleTable: the rules of one kind (enforce or report) as segment tries per host — one for
 * rules on any host, one per exact host, one per `*.suffix` — so a request walks only the tries of
 * its own host, in steps of its path's segments, whatever the number of rules. Built as objects,
 * then sealed into one flat array (flat-trie.ts). The walk allocates nothing: it keeps the best
 * entry seen so far instead of collecting candidates. Glob segments (`a*b`) compile to one shared
 * regular expression per distinct pattern.
 */
import { type BuildNode, type FlatEntry, FlatTrie } from './flat-trie';

export interface TrieEntry<R> extends FlatEntry {
  rule: R;
  /** The first method the rule lists (what an unreadable override `*` is reported as); null = every method. */
  firstMethod: string | null;
}

const node = <E>(): BuildNode<E> => ({ literal: null, star: null, globs: null, globstar: null, entries: null, offset: -1 });
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Tries by host for one kind of rule. Pattern segments come split, glob-checked and case-folded by the caller. */
export class RuleTable<R> {
  private readonly anyHost = node<TrieEntry<R>>();
  private readonly exactHosts = new Map<string, BuildNode<TrieEntry<R>>>();
  private readonly wildcardHosts = new Map<string, BuildNode<TrieEntry<R>>>();
  private flat: FlatTrie<TrieEntry<R>> | null = null;
  /** Per host named exactly: its host record (the tries for any host, its own, and the `*.suffix` ones it falls under). */
  private readonly hostRoots = new Map<string, number>();
  /** The host record of a host named by no rule exactly: the tries for any host. */
  private anyOnly = 0;
  private readonly wildcardRoots = new Map<string, number>();

  /** Shared by every table of one policy: the same glob on 1,000 hosts is one RegExp. */
  constructor(private readonly globCache: Map<string, RegExp>) {}

  /** Add `entry` under `host` (undefined: any host; `*.x`: any subdomain of x) for the pattern's segments. */
  insert(host: string | undefined, segments: readonly string[], entry: TrieEntry<R>): void {
    if (this.flat) throw new Error('RuleTable: sealed');
    let n = host === undefined ? this.anyHost : this.hostRoot(host);
    for (const seg of segments) {
      if (seg === '**') n = n.globstar ??= node();
      else if (seg === '*') n = n.star ??= node();
      else if (seg.includes('*')) {
        const src = `^${seg.split('*').map(escapeRe).join('.*')}$`;
        let re = this.globCache.get(src);
        if (!re) {
          re = new RegExp(src, 'su'); // no g or y flag: test() keeps no state, so one object serves every host
          this.globCache.set(src, re);
        }
        n.globs ??= [];
        let g = n.globs.find((x) => x.re === re);
        if (!g) {
          g = { re, node: node() };
          n.globs.push(g);
        }
        n = g.node;
      } else {
        n.literal ??= new Map();
        let next = n.literal.get(seg);
        if (!next) {
          next = node();
          n.literal.set(seg, next);
        }
        n = next;
      }
    }
    n.entries ??= [];
    n.entries.push(entry);
  }

  private hostRoot(host: string): BuildNode<TrieEntry<R>> {
    const [map, key] = host.startsWith('*.') ? [this.wildcardHosts, host.slice(2)] : [this.exactHosts, host];
    let root = map.get(key);
    if (!root) {
      root = node();
      map.set(key, root);
    }
    return root;
  }

  /** Call once every rule is inserted: lays the tries out flat and precomputes each exact host's tries. */
  freeze(): this {
    const roots = [this.anyHost, ...this.exactHosts.values(), ...this.wildcardHosts.values()];
    const under = new Map([...this.exactHosts.keys()].map((h) => [h, this.suffixesOf(h)]));
    const words = 2 + [...under.values()].reduce((sum, w) => sum + 3 + w.length, 0);
    const flat = new FlatTrie(roots, words);
    for (const [suffix, root] of this.wildcardHosts) this.wildcardRoots.set(suffix, flat.offsetOf(root));
    const any = flat.offsetOf(this.anyHost);
    for (const [host, root] of this.exactHosts) {
      this.hostRoots.set(host, flat.addHost([any, flat.offsetOf(root), ...under.get(host)!.map((w) => this.wildcardRoots.get(w)!)]));
    }
    this.anyOnly = flat.addHost([any]);
    this.flat = flat;
    return this;
  }

  /** The `*.suffix` patterns (by suffix) a host name falls under. */
  private suffixesOf(hostname: string): string[] {
    const out: string[] = [];
    for (let i = hostname.indexOf('.'); i >= 0; i = hostname.indexOf('.', i + 1)) {
      const suffix = hostname.slice(i + 1);
      if (this.wildcardHosts.has(suffix)) out.push(suffix);
    }
    return out;
  }

  private wildcardsOf(hostname: string): number[] {
    const out: number[] = [];
    for (let i = hostname.indexOf('.'); i >= 0; i = hostname.indexOf('.', i + 1)) {
      const w = this.wildcardRoots.get(hostname.slice(i + 1));
      if (w !== undefined) out.push(w);
    }
    return out;
  }

  private sealed(): FlatTrie<TrieEntry<R>> {
    if (!this.flat) throw new Error('RuleTable: not sealed');
    return this.flat;
  }

  /**
   * The entry that decides the request: for the first of `methods` any entry covers, the one first
   * in file order, over the path and, when `stripped` is not null, the same path with `stripped` as
   * its last segment (the path without its extension); with its rank in `methods`. Null when none
   * covers any method.
   */
  bestEntry(hostname: string, methods: readonly string[], segments: readonly string[], stripped: string | null): TrieEntry<R> | null {
    const flat = this.sealed();
    flat.begin(segments, stripped, methods, null);
    try {
      this.walkHost(flat, hostname);
    } catch (e) {
      flat.end();
      throw e;
    }
    return flat.end();
  }

  /** Every entry of this host and path (or its extension-less variant), in no particular order. */
  each(hostname: string, segments: readonly string[], stripped: string | null, visit: (e: TrieEntry<R>) => void): void {
    const flat = this.sealed();
    flat.begin(segments, stripped, [], visit);
    try {
      this.walkHost(flat, hostname);
    } finally {
      flat.end();
    }
  }

  private walkHost(flat: FlatTrie<TrieEntry<R>>, hostname: string): void {
    const h = this.hostRoots.get(hostname);
    if (h !== undefined) {
      flat.walkHost(h);
      return;
    }
    flat.walkHost(this.anyOnly);
    // A host named by no rule exactly: its `*.suffix` tries, found by suffix.
    if (this.wildcardRoots.size) for (const r of this.wildcardsOf(hostname)) flat.walk(r, 0);
  }

  /** The rank in `methods` of the entry the last `bestEntry` found. */
  get lastRank(): number {
    return this.sealed().lastRank;
  }
}

/** The position in `methods` of the first method `e` covers, or -1 (`*`: every method). */
export function methodRank(e: FlatEntry, methods: readonly string[]): number {
  for (let k = 0; k < methods.length; k++) {
    const m = methods[k]!;
    if (e.methods === null || m === '*' || e.methods.has(m)) return k;
  }
  return -1;
}
