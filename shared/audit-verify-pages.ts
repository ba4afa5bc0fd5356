/**
 * @module Verifying the chain at the edge page by page (`stepgate audit verify --edge` and the
 * console's Verify button), with pages in flight: the edge verifies a page from
 * the stored row before it (which the page before verified), so pages are independent and the CLI
 * can ask for the next few at once. Results are taken strictly in chain order, so the first broken
 * sequence reported is the first in the chain; each page must say where it started (`start`), and
 * begin where the one before ended, by sequence and by hash, so together the pages cover the whole
 * chain without a gap; and the chain must reach the head the edge reported before its last page.
 *
 * The edge's answers are not trusted to be well formed: an answer of the wrong shape, or one that
 * contradicts itself, is refused (never "ok"), with what was wrong.
 */

/** One page of `GET /.stepgate/api/admin/audit/verify` (audit-routes.ts). */
export interface VerifyPage {
  ok: boolean;
  /** First sequence the page verified. */
  from: number;
  to: number;
  rows: number;
  checkpoints: number;
  complete?: boolean;
  next: number | null;
  head_seq: number;
  /** The page's last row (ok pages). */
  head?: { seq: number; hash: string };
  /** The chain point the page was verified from (ok pages): the previous page's last row, a signed checkpoint, or the genesis. */
  start?: { seq: number; hash: string };
  seq?: number;
  problem?: string;
  detail?: string;
}

export type PagesResult =
  | { ok: true; rows: number; checkpoints: number; to: number }
  /** The chain is broken at `seq` (as the edge reported, or as the pages' links show). */
  | { ok: false; refused?: undefined; seq: number; problem: string; detail: string; rows: number; checkpoints: number }
  /** An answer of the edge was malformed or contradicted itself (`detail` says how): no sequence is named, and it is not "ok". */
  | { ok: false; refused: true; seq?: undefined; problem: 'refused'; detail: string; rows: number; checkpoints: number };

export interface PagesOptions {
  /** Pages in flight at most (1: one after another). */
  parallel: number;
  /** Events per page (the `limit` asked for): where the next pages are expected to start. */
  pageSize: number;
  onPage?: (to: number, headSeq: number) => void;
}

/**
 * Times the chain may end before the head reported earlier and be asked again from its end (an
 * edge whose last page stops short of its own head), before that is reported as rows missing.
 */
const SHORT_END_RETRIES = 3;

type Point = { seq: number; hash: string };
type OkPage = VerifyPage & { ok: true; head: Point; start: Point };
type FailedPage = VerifyPage & { ok: false; seq: number; problem: string };
type Settled = { answer: unknown } | { error: unknown };
interface Asked {
  from: number;
  /** The highest head the edge reported in answers received before this page was asked for: the chain reaches at least that far. */
  headBefore: number;
  settled: Promise<Settled>;
}

/**
 * Verify the chain page by page through `fetchPage(from)`, keeping up to `parallel` pages in
 * flight. The first page comes alone (it tells where the chain starts and how long it is); then
 * the pages after the one last checked are asked for ahead, each expected to start where the one
 * before it ends. A page that ends elsewhere (an archived segment is verified whole) drops the
 * pages asked for after it, and paging continues from where it really ended; a page that begins
 * at or before the previous page's end must link to the page end it starts from, when one ended
 * there. No page is asked for past the head the edge last reported, except the one right after a
 * checked page.
 */
export async function verifyPages(fetchPage: (from: number) => Promise<unknown>, opts: PagesOptions): Promise<PagesResult> {
  const parallel = Math.max(1, opts.parallel);
  // Each verify call appends an audit.verified event, so the head grows while pages are in flight:
  // only answers received before a page was asked bound where that page's chain must reach.
  let answeredHead = 0;
  const ask = (from: number): Asked => ({
    from,
    headBefore: answeredHead,
    // Settled, never rejecting: a page asked for ahead and then dropped must not raise an unhandled rejection.
    settled: fetchPage(from).then(
      (answer) => {
        const a = answer as Partial<VerifyPage> | null;
        if (a?.ok === true && isCount(a.head_seq)) answeredHead = Math.max(answeredHead, a.head_seq);
        return { answer };
      },
      (error: unknown) => ({ error }),
    ),
  });
  let rows = 0;
  let checkpoints = 0;
  let prev: { to: number; hash: string } | null = null;
  /** Where the chain starts (the first page's start): no page begins before it. */
  let chainStart = 0;
  /** The hash at each page end (and at the chain's start): a page that begins at one must begin from that hash. */
  const ends = new Map<number, string>();
  let headSeq = 0;
  let shortEnds = 0;
  const inFlight: Asked[] = [];
  let asked = ask(1);
  for (;;) {
    const s = await asked.settled;
    if ('error' in s) throw s.error;
    const refuse = (why: string): PagesResult => ({
      ok: false,
      refused: true,
      problem: 'refused',
      detail: `the edge's answer for the page from ${asked.from} ${why}`,
      rows,
      checkpoints,
    });
    const malformed = shapeProblem(s.answer);
    if (malformed) return refuse(malformed);
    const r = s.answer as OkPage | FailedPage;
    if (!r.ok) return { ok: false, seq: r.seq, problem: r.problem, detail: r.detail ?? '', rows, checkpoints };
    if (prev) {
      const gap = coverageProblem(prev, r);
      if (gap) return { ok: false, ...gap, rows, checkpoints };
    } else chainStart = r.start.seq;
    const inconsistent = consistencyProblem(r);
    if (inconsistent) return refuse(inconsistent);
    if (r.start.seq < chainStart) return refuse(`begins at ${r.from}, before the chain's start at ${chainStart + 1}`);
    // From the page before's end, or from a page end further back (an archived segment verified
    // whole): the same hash. Otherwise it starts at a signed checkpoint the edge verified.
    const linked = ends.get(r.start.seq);
    if (linked !== undefined && linked !== r.start.hash)
      return {
        ok: false,
        seq: r.from,
        problem: 'inserted',
        detail: `the page from ${r.from} was verified from another row ${r.start.seq} than the page ending there`,
        rows,
        checkpoints,
      };
    if (r.head_seq < asked.headBefore)
      return {
        ok: false,
        seq: r.head_seq + 1,
        problem: 'deleted',
        detail:
          `the edge reported the sequencer's head at ${asked.headBefore}, then at ${r.head_seq} ` +
          `for the page from ${r.from} asked after (the chain went back?)`,
        rows,
        checkpoints,
      };
    // An archived segment verified whole may repeat rows the page before covered: count each once.
    rows += r.rows - (prev && r.from <= prev.to ? prev.to - r.from + 1 : 0);
    checkpoints += r.checkpoints;
    headSeq = Math.max(headSeq, r.head_seq);
    if (ends.size === 0) ends.set(r.start.seq, r.start.hash);
    ends.set(r.to, r.head.hash);
    opts.onPage?.(r.to, headSeq);
    let next = r.next;
    if (next === null) {
      if (r.to >= asked.headBefore) return { ok: true, rows, checkpoints, to: r.to };
      // The last page stops short of a head reported before it was asked: ask again from its end.
      if (++shortEnds > SHORT_END_RETRIES)
        return {
          ok: false,
          seq: r.to + 1,
          problem: 'deleted',
          detail:
            `the edge reported the sequencer's head at ${asked.headBefore}, ` +
            `but the chain ends at ${r.to} (asked ${SHORT_END_RETRIES} more times)`,
          rows,
          checkpoints,
        };
      next = r.to + 1;
    }
    prev = { to: r.to, hash: r.head.hash };
    if (inFlight.length > 0 && inFlight[0]!.from !== next) inFlight.length = 0;
    if (inFlight.length === 0) inFlight.push(ask(next));
    let ahead = inFlight[inFlight.length - 1]!.from + opts.pageSize;
    while (inFlight.length < parallel && ahead <= headSeq) {
      inFlight.push(ask(ahead));
      ahead += opts.pageSize;
    }
    asked = inFlight.shift()!;
  }
}

/** Whether page `r` continues the chain where the previous page ended: no sequence skipped, and progress made. */
function coverageProblem(prev: { to: number }, r: OkPage): { seq: number; problem: string; detail: string } | null {
  if (r.from > prev.to + 1)
    return {
      seq: prev.to + 1,
      problem: 'deleted',
      detail: `no page verified sequences ${prev.to + 1}–${r.from - 1} (the chain changed while it was verified? run verify again)`,
    };
  // An empty last page (the chain ended with the page before) is no progress, and fine.
  if (r.to < prev.to || (r.to === prev.to && r.next !== null))
    return { seq: prev.to + 1, problem: 'deleted', detail: `the page after sequence ${prev.to} ended at ${r.to} (the chain changed?)` };
  return null;
}

/** Whether an ok page agrees with itself: verified from the point before its first row, through its last row, every row counted. */
function consistencyProblem(r: OkPage): string | null {
  if (r.start.seq !== r.from - 1) return `says it was verified from sequence ${r.start.seq}, not from ${r.from - 1}`;
  if (r.to < r.start.seq || r.rows !== r.to - r.start.seq) return `counts ${r.rows} row(s) from ${r.from} to ${r.to}`;
  if (r.head.seq !== r.to) return `ends at ${r.to} but names row ${r.head.seq} as its last`;
  if (r.rows === 0 && r.head.hash !== r.start.hash) return 'is empty but ends at another hash than it started from';
  if (r.next !== null && r.next <= r.to) return `ends at ${r.to} but names ${r.next} as the next page`;
  if (r.complete !== undefined && r.complete !== (r.next === null)) return `is complete: ${r.complete} with next: ${r.next}`;
  return null;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const shown = (v: unknown): string => (v === undefined ? 'missing' : (JSON.stringify(v) ?? typeof v).slice(0, 40));

/** What is wrong with the shape of an answer (JSON from the edge), or null when it is a well-formed page. */
function shapeProblem(answer: unknown): string | null {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return `is not an object (${shown(answer)})`;
  const a = answer as Record<string, unknown>;
  if (typeof a.ok !== 'boolean') return `has no boolean \`ok\` (${shown(a.ok)})`;
  if (!a.ok) {
    if (!isCount(a.seq)) return `reports a break at no sequence (\`seq\`: ${shown(a.seq)})`;
    if (typeof a.problem !== 'string') return `reports a break without a \`problem\` (${shown(a.problem)})`;
    if (a.detail !== undefined && typeof a.detail !== 'string') return `has a \`detail\` that is not a string (${shown(a.detail)})`;
    return null;
  }
  for (const k of ['from', 'to', 'rows', 'checkpoints', 'head_seq'] as const)
    if (!isCount(a[k])) return `has a \`${k}\` that is not a non-negative integer (${shown(a[k])})`;
  if (a.next !== null && !isCount(a.next)) return `has a \`next\` that is neither null nor a non-negative integer (${shown(a.next)})`;
  if (a.complete !== undefined && typeof a.complete !== 'boolean') return `has a \`complete\` that is not a boolean (${shown(a.complete)})`;
  if (a.start === undefined) return `did not say where it started (\`start\`): update the gateway, or verify an export with --file`;
  for (const k of ['start', 'head'] as const) {
    const p = a[k] as Record<string, unknown> | null | undefined;
    if (typeof p !== 'object' || p === null) return `has no \`${k}\` point (${shown(p)})`;
    if (!isCount(p.seq)) return `has a \`${k}.seq\` that is not a non-negative integer (${shown(p.seq)})`;
    if (typeof p.hash !== 'string') return `has a \`${k}.hash\` that is not a string (${shown(p.hash)})`;
  }
  return null;
}
