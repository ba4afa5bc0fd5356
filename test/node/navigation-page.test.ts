/**
 * The page a browser gets where a program gets a refusal: in words for every refusal the request
 * path can give, never an error code, and never a detail written for programs.
 */
import { describe, expect, it } from 'vitest';
import { navigationRefusalPage } from '../../edge/pages/navigation-page';
import { ErrorCode } from '../../shared/errors';

const page = async (code: string | null, detail: string | null, back: string | null = '/projects') =>
  String(await navigationRefusalPage({ code, status: 400, detail, back }));

describe('the refusal page for a navigation', () => {
  it('shows no error code for any refusal, and links back', async () => {
    for (const code of [...Object.values(ErrorCode), null]) {
      const html = await page(code, 'Something went wrong.');
      expect(html, String(code)).not.toMatch(/ERR_[A-Z_]+/);
      expect(html).toContain('<a href="/projects">Back to the page you came from</a>');
    }
  });

  it('replaces a detail written for programs (byte limits, encodings, configuration) with words', async () => {
    for (const [code, detail] of [
      [ErrorCode.BodyTooLarge, 'body: more than 1048576 bytes cannot be inspected'],
      [ErrorCode.UnsupportedMediaType, 'body: Content-Encoding cannot be inspected'],
      [ErrorCode.Misconfigured, 'STEPGATE_KEYS is not set'],
    ] as const) {
      const html = await page(code, detail);
      expect(html).not.toContain(detail);
      expect(html).toMatch(/<h1>[A-Z][^<]+<\/h1>/);
    }
  });

  it('keeps a detail already written for people, and goes to the start page when there is no way back', async () => {
    const html = await page(ErrorCode.OriginUnreachable, 'The application did not answer in time.', null);
    expect(html).toContain('<p>The application did not answer in time.</p>');
    expect(html).toContain('<a href="/">Go to the start page of this site</a>');
  });
});
