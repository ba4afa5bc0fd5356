/**
 * @module `stepgate audit verify` at the edge, with pages in flight: the edge verifies a page from
 * the stored row before it (which the page before verified), so pages are independent and the CLI
 * can ask for the next few at once. Results are taken strictly in chain order, so the first broken
 * sequence reported is the first in the chain; and each page must begin where the one before ended
 * (by sequence, and by hash when the edge reports the page's starting point), so together the
 * pages cover the whole chain without a gap.
 */

/** One page of `GET /.stepgate/api/admin/audit/verify` (audit-routes.ts). */
export interface VerifyPage {
  ok: boolean;
  /** First sequence the page verified. */
  from: number;
  to: number;
  rows: number;
  checkpoints: number;
  next: number | null;
  head_seq: number;
  /** The page's last row (ok pages). */
  head?: { seq: number; hash: string };
  /** The chain point the page was verified from, when the edge reports it: the previous page's last row. */
  start?: { seq: number; hash: string };
  seq?: number;
  problem?: string;
  detail?: string;
}

export type PagesResult =
  | { ok: true; rows: number; checkpoints: number; to: number }
  | { ok: false; seq: number; problem: string; detail: string; rows: number; checkpoints: number };

export interface PagesOptions {
  /** Pages in flight at most (1: one after another). */
  parallel: number;
  /** Events per page (the `limit` asked for): where the next pages are expected to start. */
  pageSize: number;
  onPage?: (to: number, headSeq: number) => void;
}

type Settled = { page: VerifyPage; error?: undefined } | { page?: undefined; error: unknown };

/**
 * Verify the chain page by page through `fetchPage(from)`, keeping up to `parallel` pages in
 * flight. The first page comes alone (it tells where the chain starts and how long it is); then
 * the pages after the one last checked are asked for ahead, each expected to start where the one
 * before it ends. A page that ends elsewhere (an archived segment is verified whole) drops the
 * pages asked for after it, and paging continues from where it really ended. No page is asked for
 * past the head the edge last reported, except the one right after a checked page.
 */
export async function verifyPages(fetchPage: (from: number) => Promise<VerifyPage>, opts: PagesOptions): Promise<PagesResult> {
  const parallel = Math.max(1, opts.parallel);
  const ask = (from: number): { from: number; settled: Promise<Settled> } => ({
    from,
    // Settled, never rejecting: a page asked for ahead and then dropped must not raise an unhandled rejection.
    settled: fetchPage(from).then(
      (page) => ({ page }),
      (error: unknown) => ({ error }),
    ),
  });
  const take = async (p: { settled: Promise<Settled> }): Promise<VerifyPage> => {
    const s = await p.settled;
    if (s.error !== undefined || !s.page) throw s.error;
    return s.page;
  };
  let rows = 0;
  let checkpoints = 0;
  let prev: { to: number; hash: string } | null = null;
  let headSeq = 0;
  const inFlight: { from: number; settled: Promise<Settled> }[] = [];
  let r = await take(ask(1));
  for (;;) {
    if (!r.ok) return { ok: false, seq: r.seq ?? r.from, problem: r.problem ?? 'unknown', detail: r.detail ?? '', rows, checkpoints };
    if (prev) {
      const gap = coverageProblem(prev, r);
      if (gap) return { ok: false, ...gap, rows, checkpoints };
    }
    // An archived segment verified whole may repeat rows the page before covered: count each once.
    rows += r.rows - (prev && r.from <= prev.to ? prev.to - r.from + 1 : 0);
    checkpoints += r.checkpoints;
    headSeq = Math.max(headSeq, r.head_seq);
    opts.onPage?.(r.to, headSeq);
    if (r.next === null) return { ok: true, rows, checkpoints, to: r.to };
    if (!r.head)
      return {
        ok: false,
        seq: r.to,
        problem: 'unknown',
        detail: `the page ending at ${r.to} did not report its last row`,
        rows,
        checkpoints,
      };
    prev = { to: r.to, hash: r.head.hash };
    if (inFlight.length > 0 && inFlight[0]!.from !== r.next) inFlight.length = 0;
    if (inFlight.length === 0) inFlight.push(ask(r.next));
    let ahead = inFlight[inFlight.length - 1]!.from + opts.pageSize;
    while (inFlight.length < parallel && ahead <= headSeq) {
      inFlight.push(ask(ahead));
      ahead += opts.pageSize;
    }
    r = await take(inFlight.shift()!);
  }
}

/** Whether page `r` continues the chain where the previous page ended: no sequence skipped, and the same row linked. */
function coverageProblem(prev: { to: number; hash: string }, r: VerifyPage): { seq: number; problem: string; detail: string } | null {
  if (r.from > prev.to + 1)
    return {
      seq: prev.to + 1,
      problem: 'deleted',
      detail: `no page verified sequences ${prev.to + 1}–${r.from - 1} (the chain changed while it was verified? run verify again)`,
    };
  // An empty last page (the chain ended with the page before) is no progress, and fine.
  if (r.to < prev.to || (r.to === prev.to && r.next !== null))
    return { seq: prev.to + 1, problem: 'deleted', detail: `the page after sequence ${prev.to} ended at ${r.to} (the chain changed?)` };
  if (r.from === prev.to + 1 && r.start && (r.start.seq !== prev.to || r.start.hash !== prev.hash))
    return {
      seq: r.from,
      problem: 'inserted',
      detail: `the page from ${r.from} was verified from another row ${prev.to} than the page before it ended at`,
    };
  return null;
}
