/** @module The shell every Stepgate page shares: escaped by construction (hono/html), no inline script or style. */
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export const ASSET_PREFIX = '/.stepgate/assets/';

type Content = HtmlEscapedString | Promise<HtmlEscapedString>;

/** A complete page. `title` and every interpolation are escaped by `html`. */
export const layout = (title: string, body: Content): Content => html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · Stepgate</title>
<link rel="stylesheet" href="${ASSET_PREFIX}stepgate.css">
</head>
<body>
<main class="card">
<p class="brand" aria-hidden="true">Stepgate</p>
${body}
</main>
</body>
</html>`;
