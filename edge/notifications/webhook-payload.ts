/**
 * @module What a webhook receives (docs/admin.md, "Webhooks"): the facts of a notice — what and where,
 * and a link to the console — in the `json` or the Slack-compatible `slack` shape, and the signature
 * `Stepgate-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The delivery id, the
 * event and the time sent are inside the signed body too (not only in headers), so a receiver that
 * de-duplicates by delivery id, or routes by event, trusts a signed value. Never a request body, a
 * query, a cookie, a session or a secret: the facts below are all a notice can carry, each bounded,
 * so a body is at most 8 KiB. Every text a person could choose is escaped for Slack's mrkdwn.
 */

/** The events a webhook is sent: the approval's, and the test event of `POST …/webhook/test`. */
export const NOTICE_EVENTS = [
  'approval.requested',
  'approval.approved',
  'approval.denied',
  'approval.expired',
  'approval.cancelled',
  'approval.carried_out',
  'webhook.test',
] as const;
export type NoticeEvent = (typeof NOTICE_EVENTS)[number];

/** A notice as stored (`webhook_deliveries.payload_json`): the facts only; the shape is chosen when it is sent. */
export interface NoticeFacts {
  event: NoticeEvent;
  approval: {
    id: string;
    app: { id: string; name: string };
    host: string;
    method: string;
    /** Already masked by the caller (no query, no path secrets). */
    path: string;
    rule: string;
    requester: string;
    expires_at: string;
  };
  console_url: string;
}

/** The largest body Stepgate sends; a bigger one is given up, never cut. */
export const MAX_PAYLOAD_BYTES = 8 * 1024;

/** A string cut to `n` characters with a visible marker, so every fact stays bounded. */
const cut = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** The facts with every string bounded (the largest Slack body of them stays well under MAX_PAYLOAD_BYTES). */
export function boundedFacts(f: NoticeFacts): NoticeFacts {
  const a = f.approval;
  return {
    event: f.event,
    approval: {
      id: cut(a.id, 64),
      app: { id: cut(a.app.id, 64), name: cut(a.app.name, 100) },
      host: cut(a.host, 253),
      method: cut(a.method, 16),
      path: cut(a.path, 512),
      rule: cut(a.rule, 128),
      requester: cut(a.requester, 200),
      expires_at: cut(a.expires_at, 32),
    },
    console_url: cut(f.console_url, 1024),
  };
}

const WHAT: Record<NoticeEvent, string> = {
  'approval.requested': 'Approval requested',
  'approval.approved': 'Approved',
  'approval.denied': 'Denied',
  'approval.expired': 'Expired',
  'approval.cancelled': 'Cancelled',
  'approval.carried_out': 'Carried out',
  'webhook.test': 'Test notice from Stepgate',
};

/** Slack's mrkdwn needs &, < and > escaped; the rest is shown as text. */
const mrkdwn = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const utf8 = new TextEncoder();

/**
 * `s` escaped for mrkdwn, then cut so that it takes at most `budget` bytes in the JSON body (UTF-8,
 * after JSON's own escaping), never inside an entity. Why: escaping can make a text five times longer
 * (six for a control character in JSON), and the Slack body repeats some texts, so each is bounded
 * by what it costs on the wire, and the whole stays under MAX_PAYLOAD_BYTES.
 */
const mrkdwnCut = (s: string, budget: number): string => {
  const e = mrkdwn(s);
  const cost = (t: string) => utf8.encode(JSON.stringify(t)).length - 2;
  if (cost(e) <= budget) return e;
  let out = '';
  let used = 3; // the "…"
  for (const ch of e) {
    const c = cost(ch);
    if (used + c > budget) break;
    out += ch;
    used += c;
  }
  return `${out.replace(/&[a-z]*$/, '')}…`;
};

/**
 * The body sent for a notice, in the webhook's format, at `sentAt` (ms), as delivery `delivery`
 * (the `Stepgate-Delivery` header's id: the same for every attempt of one notice).
 */
export function renderPayload(f: NoticeFacts, format: 'json' | 'slack', sentAt: number, delivery: string): string {
  const a = f.approval;
  const id = cut(delivery, 64);
  const sent = new Date(sentAt).toISOString();
  if (format === 'json') return JSON.stringify({ delivery: id, event: f.event, approval: a, console_url: f.console_url, sent_at: sent });
  // Every text escaped (and bounded) once. Why the top-level `text` too: Slack reads it as mrkdwn, so a
  // requester or path holding `<!channel>` or `<https://x|y>` would ping a channel or show a link.
  const e = {
    what: mrkdwn(WHAT[f.event]),
    requester: mrkdwnCut(a.requester, 250),
    request: mrkdwnCut(`${a.method} ${a.path}`, 600),
    host: mrkdwnCut(a.host, 260),
    appName: mrkdwnCut(a.app.name, 200),
    rule: mrkdwnCut(a.rule, 160),
    expires: mrkdwnCut(a.expires_at, 40),
    url: mrkdwnCut(f.console_url, 1100),
  };
  const line = `${e.what}: ${e.requester} asks to ${e.request} on ${e.host} (${e.appName}, rule ${e.rule}).`;
  return JSON.stringify({
    text: `${line} Review: ${e.url}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${e.what}*\n${line}` } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Requester*\n${e.requester}` },
          { type: 'mrkdwn', text: `*Request*\n\`${e.request}\`` },
          { type: 'mrkdwn', text: `*App*\n${e.appName} (${e.host})` },
          { type: 'mrkdwn', text: `*Rule*\n${e.rule}` },
          { type: 'mrkdwn', text: `*Expires*\n${e.expires}` },
        ],
      },
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Review in Stepgate' }, url: f.console_url }] },
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: `event ${mrkdwn(f.event)} · approval ${mrkdwnCut(a.id, 100)} · delivery ${mrkdwnCut(id, 100)}` },
        ],
      },
    ],
    // Slack's message metadata: the delivery id, event and time, signed with the rest, for a receiver (or relay) that reads them.
    metadata: { event_type: 'stepgate_notice', event_payload: { delivery: id, event: f.event, approval: a.id, sent_at: sent } },
  });
}

const hex = (b: ArrayBuffer): string => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');

/**
 * The `Stepgate-Signature` header of `body` sent at `t` (unix seconds): HMAC-SHA256 keyed with the
 * whole secret (`whsec_…`, as UTF-8) over `"<t>.<body>"`. The timestamp is signed so a receiver can
 * refuse a replayed old notice (docs/admin.md suggests 5 minutes).
 */
export async function signatureHeader(secret: string, t: number, body: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return `t=${t},v1=${hex(await crypto.subtle.sign('HMAC', key, enc.encode(`${t}.${body}`)))}`;
}
