/**
 * What a webhook receives (docs/admin.md, "Webhooks"), as rendered: the delivery id, the event and the
 * time are inside the signed body (a receiver that de-duplicates by id trusts a signed value, not the
 * unsigned `Stepgate-Delivery` header alone); Slack's top-level `text` is escaped like the blocks, so a
 * requester or path cannot ping a channel or plant a link; and the largest body, made of the worst
 * characters, still fits MAX_PAYLOAD_BYTES (a notice is never given up for its own size).
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  boundedFacts,
  MAX_PAYLOAD_BYTES,
  type NoticeFacts,
  renderPayload,
  signatureHeader,
} from '../../edge/notifications/webhook-payload';

const SENT = Date.parse('2026-12-01T12:00:00Z');
const facts = (over: Partial<NoticeFacts['approval']> = {}): NoticeFacts => ({
  event: 'approval.requested',
  approval: {
    id: 'apr_1',
    app: { id: 'app_1', name: 'Demo projects' },
    host: 'shop.example.com',
    method: 'DELETE',
    path: '/api/projects/7',
    rule: 'delete-project',
    requester: 'alice',
    expires_at: '2026-12-01T13:00:00.000Z',
    ...over,
  },
  console_url: 'https://shop.example.com/.stepgate/approvals/apr_1',
});

describe('the signed body names its delivery', () => {
  it('json: delivery id, event and time sent are members of the body the signature covers', async () => {
    const body = renderPayload(facts(), 'json', SENT, 'dlv_123');
    expect(JSON.parse(body)).toMatchObject({ delivery: 'dlv_123', event: 'approval.requested', sent_at: '2026-12-01T12:00:00.000Z' });
    const t = Math.floor(SENT / 1000);
    const header = await signatureHeader('whsec_x', t, body);
    expect(header).toBe(`t=${t},v1=${createHmac('sha256', 'whsec_x').update(`${t}.${body}`).digest('hex')}`);
    // Another delivery id is another body, so another signature: a replay under a fresh id does not verify.
    const other = renderPayload(facts(), 'json', SENT, 'dlv_124');
    expect(await signatureHeader('whsec_x', t, other)).not.toBe(header);
  });

  it('slack: the same three in the message metadata and the context line', () => {
    const doc = JSON.parse(renderPayload(facts(), 'slack', SENT, 'dlv_123')) as {
      text: string;
      blocks: { type: string; elements?: { text?: string }[] }[];
      metadata: { event_type: string; event_payload: Record<string, string> };
    };
    expect(Object.keys(doc).sort()).toEqual(['blocks', 'metadata', 'text']);
    expect(doc.metadata).toEqual({
      event_type: 'stepgate_notice',
      event_payload: { delivery: 'dlv_123', event: 'approval.requested', approval: 'apr_1', sent_at: '2026-12-01T12:00:00.000Z' },
    });
    expect(doc.blocks.find((b) => b.type === 'context')!.elements![0]!.text).toBe(
      'event approval.requested · approval apr_1 · delivery dlv_123',
    );
  });
});

describe('the Slack shape escapes what people chose', () => {
  it('the top-level text as the blocks: no mention, no link, no markup of Slack’s own', () => {
    const f = facts({ requester: '<!channel> & <@U123>', path: '/api/<https://evil.example|click here>', rule: 'a>b' });
    const doc = JSON.parse(renderPayload(f, 'slack', SENT, 'dlv_1')) as { text: string; blocks: unknown[] };
    for (const text of [doc.text, JSON.stringify(doc.blocks)]) {
      expect(text).not.toContain('<!channel>');
      expect(text).not.toContain('<@U123>');
      expect(text).not.toContain('<https://evil.example');
    }
    expect(doc.text).toBe(
      'Approval requested: &lt;!channel&gt; &amp; &lt;@U123&gt; asks to DELETE /api/&lt;https://evil.example|click here&gt; ' +
        'on shop.example.com (Demo projects, rule a&gt;b). Review: https://shop.example.com/.stepgate/approvals/apr_1',
    );
    // Only Stepgate's own markup is left: no raw < or > anywhere in the text.
    expect(doc.text).not.toMatch(/[<>]/);
  });

  it('the largest body, with the worst characters in everything people choose, still fits; a cut never splits an entity', () => {
    const x = (n: number) => 'x'.repeat(n);
    for (const ch of ['&', '<', '"', '\\', '\u0001', 'é', '😀']) {
      const big = (n: number) => ch.repeat(n);
      // The requester (the identity's subject), the path (the request's), the app's name and the rule are chosen by people;
      // host, ids, times and the console URL are Stepgate's (a host name, generated ids, a serialised URL).
      const f = boundedFacts({
        event: 'approval.carried_out',
        approval: {
          id: x(100),
          app: { id: x(100), name: big(200) },
          host: x(300),
          method: x(30),
          path: big(600),
          rule: big(200),
          requester: big(300),
          expires_at: x(40),
        },
        console_url: `https://${x(2000)}`,
      });
      for (const format of ['json', 'slack'] as const) {
        const body = renderPayload(f, format, SENT, 'd'.repeat(64));
        expect(new TextEncoder().encode(body).length, `${format} of ${JSON.stringify(ch)}`).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
        expect(() => JSON.parse(body)).not.toThrow();
      }
      const text = (JSON.parse(renderPayload(f, 'slack', SENT, 'd')) as { text: string }).text;
      expect(text.replace(/&(amp|lt|gt);/g, '')).not.toMatch(/[&<>]/);
    }
  });
});
