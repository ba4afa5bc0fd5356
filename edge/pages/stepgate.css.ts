/** @module The stylesheet for Stepgate's pages, served from /.stepgate/assets/ so the CSP needs no 'unsafe-inline'. */
export const STEPGATE_CSS =
  `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --bg: #f6f8fa; --card: #fff; --line: #d0d7de; ` +
  `--accent: #0b5fff; --warn: #9a6700; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --card: #161b22; ` +
  `--line: #30363d; --accent: #4c8dff; --warn: #d29922; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.card { box-sizing: border-box; width: 100%; max-width: 34rem; margin: 8vh auto 0; background: var(--card); ` +
  `border: 1px solid var(--line); border-radius: 12px; padding: 24px; overflow-wrap: anywhere; }
@media (max-width: 480px) { .card { margin-top: 0; padding: 18px; } }
code { overflow-wrap: anywhere; }
.brand { margin: 0 0 8px; font-size: 13px; letter-spacing: .08em; text-transform: uppercase; color: var(--muted); }
h1 { font-size: 1.35rem; margin: 0 0 12px; }
p { margin: 0 0 12px; }
.action { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin: 16px 0; overflow-wrap: anywhere; }
.action dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
.action dt { color: var(--muted); }
.action dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 14px; }
.method { font-weight: 700; }
.fields { list-style: none; margin: 0; padding: 0; }
.field { color: var(--muted); }
.note { color: var(--muted); font-size: 14px; }
.warn { color: var(--warn); }
.hidden-chars { color: var(--warn); font-weight: 600; border-left: 3px solid var(--warn); padding-left: 8px; }
mark.hidden-char { background: var(--warn); color: var(--card); border-radius: 3px; padding: 0 3px; margin: 0 1px; ` +
  `font: 600 .85em ui-monospace, SFMono-Regular, Menlo, monospace; unicode-bidi: isolate; cursor: help; }
a { color: var(--accent); }
h2 { font-size: 1.1rem; margin: 16px 0 8px; }
.factor { margin: 12px 0; }
label { display: block; margin: 0 0 6px; font-weight: 600; }
.row { display: flex; gap: 8px; }
input { flex: 1; min-width: 0; font: inherit; font-size: 18px; padding: 10px 12px; border: 1px solid var(--line); ` +
  `border-radius: 8px; background: var(--bg); color: var(--fg); letter-spacing: .08em; }
button { font: inherit; font-weight: 600; padding: 10px 16px; border: 0; border-radius: 8px; ` +
  `background: var(--accent); color: #fff; cursor: pointer; }
button:disabled { opacity: .6; cursor: default; }
button.wide { width: 100%; padding: 12px 16px; }
button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); }
summary { cursor: pointer; color: var(--accent); }
.status { min-height: 1.5em; font-weight: 600; }
.qr { display: block; margin: 8px 0; background: #fff; padding: 8px; border-radius: 8px; }
.codes { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; columns: 2; }
.card:has(#audit) { max-width: 72rem; }
.filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: 8px 12px; align-items: end; }
.filters label { font-weight: 600; font-size: 14px; }
.filters button { white-space: nowrap; }
.filters input, .filters select { font-size: 14px; letter-spacing: 0; width: 100%; box-sizing: border-box; padding: 6px 8px; }
.events { width: 100%; border-collapse: collapse; font-size: 13px; }
.events th, .events td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
.events tr.failure td, .events tr.denied td { color: var(--warn); }
`;
