/**
 * @module The demo app's look: one HTML layout (a header with the app's name, its pages and who is
 * signed in; a line saying this app stands in for yours; a short message after a form was sent) and
 * its stylesheet. Plain and neutral on purpose, so Stepgate's own pages are easy to tell apart.
 */

/** HTML-escape text for element content and quoted attributes. */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A one-time message shown at the top of the next page (after a form was sent): good news, or not. */
export interface Flash {
  kind: 'ok' | 'bad';
  text: string;
}

export const DEMO_APP_NAME = 'Acme Projects';

// Why a stylesheet in the page: the demo app is a single Node file with no assets to serve besides
// the single-page script, and no Content-Security-Policy of its own (Stepgate's pages have one).
const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2430;background:#f4f6f8}
a{color:#1d4f91}
.top{background:#1c2a3a;color:#fff}
.top a{color:#fff}
.top-in{max-width:56rem;margin:0 auto;padding:.6rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1.5rem}
.brand{font-weight:700;font-size:1.1rem;text-decoration:none}
.top ul{display:flex;flex-wrap:wrap;gap:.2rem 1rem;list-style:none;margin:0;padding:0}
.top a[aria-current=page]{font-weight:700;text-decoration:none;border-bottom:3px solid #f0a400}
.who{margin:0 0 0 auto;font-size:.95rem}
.stand-in{background:#e7ecf2;color:#2e3a48;font-size:.9rem}
.stand-in p{max-width:56rem;margin:0 auto;padding:.4rem 1rem}
main{max-width:56rem;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.6rem;margin:.2rem 0 .6rem}
h2{font-size:1.15rem;margin:0 0 .5rem}
.lead{margin:0 0 1rem;color:#3d4856}
.card{background:#fff;border:1px solid #d5dbe3;border-radius:8px;padding:1rem;margin:0 0 1rem}
.flash{margin:0 0 1rem;padding:.6rem .9rem;border-radius:6px;border-left:5px solid #1a7f37;background:#e6f4ea}
.flash.bad{border-left-color:#b42318;background:#fdeceb}
.flash:empty{display:none}
.items{list-style:none;margin:0;padding:0}
.items li{display:flex;align-items:center;justify-content:space-between;gap:1rem;padding:.6rem 0}
.items li+li{border-top:1px solid #e1e6ec}
.items .name{flex:1 1 0;min-width:0;overflow-wrap:break-word}
.tag{display:inline-block;margin-left:.4rem;padding:0 .5rem;border:1px solid #8a4b00;border-radius:999px;color:#8a4b00;font-size:.8rem}
.hint{display:block;color:#3d4856;font-size:.9rem}
.try li{margin:0 0 .6rem}
button,.button{font:inherit;display:inline-block;padding:.45rem 1rem;border-radius:6px;border:1px solid #6b7686;background:#fff;
color:#1c2430;cursor:pointer;text-decoration:none}
button.danger{border-color:#b42318;color:#b42318}
button.primary,.button.primary{background:#1d4f91;border-color:#1d4f91;color:#fff}
button:disabled{opacity:.6;cursor:default}
button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #f0a400;outline-offset:2px}
label{display:block;font-weight:600;margin:0 0 .25rem}
input{font:inherit;width:100%;max-width:24rem;padding:.45rem .6rem;border:1px solid #6b7686;border-radius:6px}
.row{display:flex;flex-wrap:wrap;align-items:flex-end;gap:.5rem}
.row>div{flex:1 1 14rem;max-width:24rem}
dl{margin:0}
dt{font-weight:600}
dd{margin:0 0 .5rem;overflow-wrap:anywhere}
.status:not(:empty){padding:.6rem .9rem;border-radius:6px;border-left:5px solid #1d4f91;background:#e8eef7}
`;

/** The pages in the header, in order: [path, label]. */
const NAV: [string, string][] = [
  ['/', 'Home'],
  ['/projects', 'Projects'],
  ['/spa', 'Single page'],
  ['/admin', 'Admin'],
];

/**
 * One page of the demo app. `path` marks the current page in the header; `body` is trusted HTML
 * (callers escape what they put in it); the flash, when there is one, comes first.
 */
export function page(o: { title: string; path: string; user: string | null; body: string; flash?: Flash | null }): string {
  const links = NAV.map(([href, label]) => {
    const current = href === o.path ? ' aria-current="page"' : '';
    return `<li><a href="${href}"${current}>${label}</a></li>`;
  }).join('');
  const back = o.path === '/' ? '' : `&amp;return_to=${encodeURIComponent(o.path)}`;
  const who = o.user
    ? `Signed in as <b>${esc(o.user)}</b> · <a href="/logout">Log out</a>`
    : o.path === '/login'
      ? 'Not signed in'
      : `Not signed in · <a href="/login?user=alice${back}">Log in as alice</a>`;
  const flash = o.flash ? `<p class="flash${o.flash.kind === 'bad' ? ' bad' : ''}" role="status">${esc(o.flash.text)}</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)} · ${DEMO_APP_NAME}</title><style>${STYLE}</style></head>
<body><header class="top"><div class="top-in"><a class="brand" href="/">${DEMO_APP_NAME}</a>
<nav aria-label="Pages"><ul>${links}</ul></nav><p class="who">${who}</p></div></header>
<div class="stand-in"><p>A demo app standing in for your app. Stepgate runs in front of it;
the app itself knows nothing about step-up.</p></div>
<main><h1>${esc(o.title)}</h1>${flash}${o.body}</main></body></html>`;
}
