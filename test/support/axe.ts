/**
 * @module The accessibility and width checks every browser story runs on each page state it touches
 * (docs/accessibility.md): axe-core (the devDependency, injected into the page) with the WCAG 2.1 A/AA
 * and best-practice rules, failing on a serious or critical violation; and no horizontal overflow.
 * Playwright pages (Chromium, the extension's pages included) and, over WebDriver BiDi, Firefox.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import type { Page as BidiPage } from 'puppeteer-core';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
const FAILING_IMPACTS = new Set(['serious', 'critical']);

/** One violation as the page reports it back: the rule, its impact, the elements it found. */
interface Violation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

let axeSource: string | undefined;
/** axe.min.js, read once. Evaluated as a script through the driver, not as a `<script>` tag, so a
 * page's CSP (`script-src 'self'` on Stepgate's pages, the extension's own policy) does not block it. */
const source = (): string => {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  return axeSource;
};

/** Runs in the page: axe over the whole document, the violations in a plain form. */
const RUN = `(async () => {
  const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(TAGS)} }, resultTypes: ['violations'] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact ?? null, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')),
  }));
})()`;

const report = (label: string, all: Violation[]): void => {
  const failing = all.filter((v) => v.impact !== null && FAILING_IMPACTS.has(v.impact));
  if (failing.length === 0) return;
  const lines = failing.map((v) => `  ${v.id} (${v.impact}): ${v.help}\n    ${v.targets.slice(0, 8).join('\n    ')}`);
  throw new Error(`${label}: ${failing.length} serious or critical accessibility violation(s)\n${lines.join('\n')}`);
};

/** Fails when axe finds a serious or critical violation on the page as it is now; `label` names the state. */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(source());
  report(label, (await page.evaluate(RUN)) as Violation[]);
}

/** The same check for a Firefox page driven by puppeteer-core over WebDriver BiDi. */
export async function expectAccessibleBidi(page: BidiPage, label: string): Promise<void> {
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(source());
  report(label, (await page.evaluate(RUN)) as Violation[]);
}

/** Runs in the page: the document's overflow, and the widest element reaching past the viewport. */
const OVERFLOW = `(() => {
  const root = document.documentElement;
  const limit = root.clientWidth + 1;
  if (root.scrollWidth <= limit) return null;
  // An element inside a box that scrolls or clips (a wide table in .scroll) does not widen the page:
  // it is named only when nothing else is past the edge (an absolutely placed child escaping its box).
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  let widest = null;
  let width = -1;
  for (const pass of [false, true]) {
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right <= limit || r.width <= width || (!pass && clipped(el))) continue;
      widest = el;
      width = r.width;
    }
    if (widest) break;
  }
  const name = widest
    ? widest.tagName.toLowerCase() + (widest.id ? '#' + widest.id : '') + [...widest.classList].map((c) => '.' + c).join('') +
      ' ("' + (widest.textContent ?? '').trim().slice(0, 60) + '")'
    : 'no single element';
  const right = widest ? Math.round(widest.getBoundingClientRect().right) : 0;
  return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, widest: name, right };
})()`;

/** Fails when the page scrolls sideways (document scrollWidth > clientWidth + 1), naming the widest element past the edge. */
export async function expectNoHorizontalOverflow(page: Page, label: string): Promise<void> {
  const found = (await page.evaluate(OVERFLOW)) as { scrollWidth: number; clientWidth: number; widest: string; right: number } | null;
  if (found === null) return;
  throw new Error(
    `${label}: the page scrolls sideways (${found.scrollWidth} px wide in a ${found.clientWidth} px viewport); ` +
      `widest element past the edge: ${found.widest}, ending at ${found.right} px`,
  );
}
