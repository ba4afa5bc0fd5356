/**
 * @module FlatTrie: the segment tries of one RuleTable (rule-trie.ts) laid out in one Int32Array,
 * each host's trie contiguous, so matching a request touches a few cache lines wherever its host
 * is among thousands (a trie of objects and Maps spread over the heap costs a cache miss per
 * step once the policy outgrows the CPU's caches). Literal segments become numbers through one
 * dictionary; methods become bits. Built once when the policy is compiled; never changed.
 *
 * Node record at offset o: [star child, globstar child, entry count E, first glob, glob count,
 * literal count L, then E triples (rule index, method bits, entry number), then L pairs (segment
 * id, child) sorted by id]; -1 = none. A host record: [count, root offsets…].
 */

export interface FlatEntry {
  /** The rule's position in the file: among entries for the same method, the lowest wins. */
  index: number;
  /** The methods the rule covers (`GET` includes `HEAD`); null = every method. */
  methods: ReadonlySet<string> | null;
}

/** The builder's node (rule-trie.ts). */
export interface BuildNode<E> {
  literal: Map<string, BuildNode<E>> | null;
  star: BuildNode<E> | null;
  globs: { re: RegExp; node: BuildNode<E> }[] | null;
  globstar: BuildNode<E> | null;
  entries: E[] | null;
  /** Where the node's record is (set when laid out; -1 before). */
  offset: number;
}

const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'];
/** An entry with a method outside KNOWN_METHODS: its Set is asked. */
const OTHER = 1 << 30;
const ALL = -1;
const bitOf = (m: string): number => {
  const i = KNOWN_METHODS.indexOf(m);
  return i < 0 ? 0 : 1 << i;
};
const maskOf = (methods: ReadonlySet<string> | null): number => {
  if (methods === null) return ALL;
  let mask = 0;
  for (const m of methods) mask |= bitOf(m) || OTHER;
  return mask;
};

/** A literal child is found by a scan up to this many children, by binary search beyond. */
const SCAN = 8;
/** Fixed fields of a node record. */
const HEAD = 6;

export class FlatTrie<E extends FlatEntry> {
  private readonly t: Int32Array;
  private readonly entries: E[] = [];
  private readonly globRe: RegExp[] = [];
  private readonly globChild: number[] = [];
  /** Every literal segment of every pattern → its id. */
  private readonly ids = new Map<string, number>();

  // The walk's state (synchronous, never re-entered while it runs).
  private segs: readonly string[] = [];
  private segIds = new Int32Array(16);
  private stripped: string | null = null;
  private strippedId = -1;
  private methods: readonly string[] = [];
  private bestRank = -1;
  private best = -1;
  private visit: ((e: E) => void) | null = null;
  /** The rank in `methods` of what the last walk found (-1: nothing). */
  lastRank = -1;

  /** Where the next host record goes. */
  private hostsAt: number;

  /**
   * Lays out `roots` (each root's nodes contiguous); `offsetOf` then gives a root's offset. Room is
   * left for `hostWords` words of host records (`addHost`).
   */
  constructor(roots: readonly BuildNode<E>[], hostWords: number) {
    const order: BuildNode<E>[] = [];
    let size = 0;
    const place = (n: BuildNode<E>): void => {
      if (n.offset >= 0) return;
      n.offset = size;
      order.push(n);
      size += HEAD + 3 * (n.entries?.length ?? 0) + 2 * (n.literal?.size ?? 0);
      if (n.literal) for (const c of n.literal.values()) place(c);
      if (n.star) place(n.star);
      if (n.globstar) place(n.globstar);
      if (n.globs) for (const g of n.globs) place(g.node);
    };
    for (const r of roots) place(r);
    this.t = new Int32Array(size + hostWords);
    const at = (n: BuildNode<E> | null): number => (n === null ? -1 : n.offset);
    const t = this.t;
    for (const n of order) {
      const o = n.offset;
      const entries = n.entries ?? [];
      const lits: [number, number][] = [];
      if (n.literal) for (const [seg, c] of n.literal) lits.push([this.idOf(seg), c.offset]);
      if (lits.length > 1) lits.sort((a, b) => a[0] - b[0]);
      t[o] = at(n.star);
      t[o + 1] = at(n.globstar);
      t[o + 2] = entries.length;
      t[o + 3] = this.globRe.length;
      t[o + 4] = n.globs?.length ?? 0;
      t[o + 5] = lits.length;
      entries.forEach((e, k) => {
        t[o + HEAD + 3 * k] = e.index;
        t[o + HEAD + 3 * k + 1] = maskOf(e.methods);
        t[o + HEAD + 3 * k + 2] = this.entries.length;
        this.entries.push(e);
      });
      for (const g of n.globs ?? []) {
        this.globRe.push(g.re);
        this.globChild.push(at(g.node));
      }
      const l0 = o + HEAD + 3 * entries.length;
      lits.forEach(([id, c], k) => {
        t[l0 + 2 * k] = id;
        t[l0 + 2 * k + 1] = c;
      });
    }
    this.hostsAt = size;
  }

  offsetOf(root: BuildNode<E>): number {
    return root.offset;
  }

  /** Records a host's root offsets; returns the record's offset (for `walkHost`). */
  addHost(roots: readonly number[]): number {
    const at = this.hostsAt;
    this.t[at] = roots.length;
    roots.forEach((r, k) => {
      this.t[at + 1 + k] = r;
    });
    this.hostsAt += 1 + roots.length;
    return at;
  }

  /** Walk every root of the host record at `h`. */
  walkHost(h: number): void {
    for (let k = 1, n = this.t[h]!; k <= n; k++) this.walk(this.t[h + k]!, 0);
  }

  private idOf(seg: string): number {
    let id = this.ids.get(seg);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(seg, id);
    }
    return id;
  }

  /** Start a walk over `segs` (and its last segment read as `stripped`): the best entry is kept, or every one visited. */
  begin(segs: readonly string[], stripped: string | null, methods: readonly string[], visit: ((e: E) => void) | null): void {
    this.segs = segs;
    if (this.segIds.length < segs.length) this.segIds = new Int32Array(segs.length * 2);
    for (let i = 0; i < segs.length; i++) this.segIds[i] = this.ids.get(segs[i]!) ?? -1;
    this.stripped = stripped;
    this.strippedId = stripped === null ? -1 : (this.ids.get(stripped) ?? -1);
    this.methods = methods;
    this.bestRank = -1;
    this.best = -1;
    this.visit = visit;
  }

  /** End the walk: the best entry (null when none covers a method); the request's strings are let go. */
  end(): E | null {
    const found = this.best < 0 ? null : this.entries[this.t[this.best + 2]!]!;
    this.lastRank = this.bestRank;
    this.segs = [];
    this.stripped = null;
    this.methods = [];
    this.visit = null;
    return found;
  }

  private child(o: number, id: number): number {
    const t = this.t;
    const n = t[o + 5]!;
    const l0 = o + HEAD + 3 * t[o + 2]!;
    if (n <= SCAN) {
      for (let k = 0; k < n; k++) if (t[l0 + 2 * k] === id) return t[l0 + 2 * k + 1]!;
      return -1;
    }
    let [lo, hi] = [0, n - 1];
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = t[l0 + 2 * mid]!;
      if (v === id) return t[l0 + 2 * mid + 1]!;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Visit the entries of every pattern matching the path from segment `i`: one walk, forking only where the last segment is read. */
  walk(o: number, i: number): void {
    const t = this.t;
    const len = this.segs.length;
    const globstar = t[o + 1]!;
    if (globstar >= 0) for (let j = i; j <= len; j++) this.walk(globstar, j);
    if (i === len) {
      for (let e = o + HEAD, end = e + 3 * t[o + 2]!; e < end; e += 3) this.offer(e);
      return;
    }
    const seg = this.segs[i]!;
    const id = this.segIds[i]!;
    if (id >= 0 && t[o + 5]! > 0) {
      const c = this.child(o, id);
      if (c >= 0) this.walk(c, i + 1);
    }
    if (t[o]! >= 0) this.walk(t[o]!, i + 1); // '*' matches either reading of the last segment once
    const g0 = t[o + 3]!;
    const gn = t[o + 4]!;
    for (let g = g0; g < g0 + gn; g++) if (this.globRe[g]!.test(seg)) this.walk(this.globChild[g]!, i + 1);
    const stripped = this.stripped;
    if (stripped !== null && i === len - 1) {
      if (this.strippedId >= 0 && t[o + 5]! > 0) {
        const c = this.child(o, this.strippedId);
        if (c >= 0) this.walk(c, len);
      }
      for (let g = g0; g < g0 + gn; g++) {
        const re = this.globRe[g]!;
        if (!re.test(seg) && re.test(stripped)) this.walk(this.globChild[g]!, len);
      }
    }
  }

  /** The position in `methods` of the first method the entry at record position `p` covers, or -1 (`*`: every method). */
  private rank(p: number): number {
    const mask = this.t[p + 1]!;
    const methods = this.methods;
    for (let k = 0; k < methods.length; k++) {
      const m = methods[k]!;
      if (mask === ALL || m === '*') return k;
      const bit = bitOf(m);
      if (bit !== 0 ? (mask & bit) !== 0 : (mask & OTHER) !== 0 && this.entries[this.t[p + 2]!]!.methods!.has(m)) return k;
    }
    return -1;
  }

  private offer(p: number): void {
    if (this.visit !== null) {
      this.visit(this.entries[this.t[p + 2]!]!);
      return;
    }
    const k = this.rank(p);
    if (k < 0) return;
    if (this.best < 0 || k < this.bestRank || (k === this.bestRank && this.t[p]! < this.t[this.best]!)) {
      this.best = p;
      this.bestRank = k;
    }
  }
}
