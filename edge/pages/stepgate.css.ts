/** @module The stylesheet for Stepgate's pages, served from /.stepgate/assets/ so the CSP needs no 'unsafe-inline'. */
export const STEPGATE_CSS =
  `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --bg: #f6f8fa; --card: #fff; --line: #d0d7de; ` +
  `--accent: #0b5fff; --button: #0b5fff; --warn: #9a6700; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --card: #161b22; ` +
  `--line: #30363d; --accent: #4c8dff; --button: #1f6feb; --warn: #d29922; } }
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
  `background: var(--button); color: #fff; cursor: pointer; }
button:disabled { opacity: .6; cursor: default; }
button.wide { width: 100%; padding: 12px 16px; }
button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); }
summary { cursor: pointer; color: var(--accent); }
.status { min-height: 1.5em; font-weight: 600; }
.qr { display: block; margin: 8px 0; background: #fff; padding: 8px; border-radius: 8px; }
.codes { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; columns: 2; }
.filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: 8px 12px; align-items: end; }
.filters label { font-weight: 600; font-size: 14px; }
.filters button { white-space: nowrap; }
.filters input, .filters select { font-size: 14px; letter-spacing: 0; width: 100%; box-sizing: border-box; padding: 6px 8px; }
.console-head, .console { max-width: 72rem; margin: 0 auto; }
.console-head { padding: 0 4px 8px; }
.console-head .brand { margin: 0; }
.console-head nav { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 6px 0; }
.console-head nav a { text-decoration: none; padding: 4px 0; border-bottom: 2px solid transparent; }
.console-head nav a[aria-current="page"] { color: var(--fg); font-weight: 600; border-bottom-color: var(--accent); }
.console { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 24px; }
@media (max-width: 480px) { .console { padding: 14px; } }
.panel, .confirm { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 16px 0; }
.confirm { border-color: var(--accent); max-width: 34rem; }
h3 { font-size: 1rem; margin: 14px 0 6px; }
select, textarea { font: inherit; padding: 8px 10px; border: 1px solid var(--line); border-radius: 8px; background: var(--bg); ` +
  `color: var(--fg); }
textarea { width: 100%; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; }
.stack input:not([type="checkbox"]), .stack select, .lookup input { width: 100%; font-size: 15px; letter-spacing: normal; ` +
  `padding: 8px 10px; margin-bottom: 10px; }
.stack fieldset, fieldset.identity-fields { border: 1px solid var(--line); border-radius: 8px; margin: 4px 0 12px; padding: 8px 12px; }
legend { color: var(--muted); font-size: 14px; padding: 0 4px; }
label.check { display: flex; gap: 8px; align-items: baseline; font-weight: 400; }
input[type="checkbox"] { flex: none; width: auto; }
.row.wrap { flex-wrap: wrap; margin: 12px 0; }
button.danger { background: #b42318; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 8px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
table.data { width: 100%; border-collapse: collapse; font-size: 14px; margin: 8px 0; }
table.data caption { text-align: left; color: var(--muted); padding: 4px 0; }
table.data th, table.data td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.data .num, table.data th.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
td.actions { white-space: nowrap; text-align: right; }
.method { white-space: nowrap; }
@media (max-width: 600px) {
  table.cards thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  table.cards, table.cards tbody, table.cards tr, table.cards th, table.cards td { display: block; }
  table.cards tr { border-bottom: 1px solid var(--line); padding: 6px 0; }
  table.cards th, table.cards td { border: 0; padding: 2px 8px; text-align: left; }
  table.cards td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); }
}
tr.muted { color: var(--muted); }
time .utc { color: var(--muted); font-size: .85em; white-space: nowrap; }
td time .utc { display: block; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.result { border-left: 3px solid var(--accent); padding: 4px 12px; margin: 12px 0; }
.result code { font-size: 18px; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; margin: 12px 0; position: relative; }
.events { width: 100%; border-collapse: collapse; font-size: 13px; }
.events th, .events td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; ` +
  `white-space: nowrap; overflow-wrap: normal; }
.events td.clip { max-width: 22rem; overflow: hidden; text-overflow: ellipsis; }
.events th { position: sticky; top: 0; background: var(--card); }
.events tr.failure td, .events tr.denied td { color: var(--warn); }
.exports ul { margin: 6px 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 30rem), 1fr)); gap: 0 16px; }
.two { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 20rem), 1fr)); gap: 0 16px; }
.chart { margin: 0; }
.chart svg { display: block; width: 100%; height: auto; }
.chart .grid { stroke: var(--line); stroke-width: 1; }
.chart .axis { fill: var(--muted); font-size: 11px; }
.chart figcaption { font-size: 14px; margin: 6px 0; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 0; margin: 4px 0; font-size: 14px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.s0 { fill: #0b5fff; background-color: #0b5fff; } .s1 { fill: #e8590c; background-color: #e8590c; }
.s2 { fill: #2f9e44; background-color: #2f9e44; } .s3 { fill: #ae3ec9; background-color: #ae3ec9; }
.s4 { fill: #1098ad; background-color: #1098ad; } .s5 { fill: #c92a2a; background-color: #c92a2a; }
.s6 { fill: #a0760b; background-color: #a0760b; } .s7 { fill: #5c7cfa; background-color: #5c7cfa; }
/* enrol page (A) */
#enrol .who { margin-bottom: 4px; }
#enrol .step { border-top: 1px solid var(--line); margin-top: 16px; }
ol.codes { list-style: none; padding: 0; margin: 8px 0 12px; columns: auto; font-size: 15px; }
ol.codes li { white-space: nowrap; overflow-wrap: normal; padding: 2px 0; font-variant-numeric: tabular-nums; }
a.button { display: inline-block; font-weight: 600; padding: 10px 16px; border-radius: 8px; background: var(--button); ` +
  `color: #fff; text-decoration: none; }
/* step-up page (B) */
fieldset.ways { border: 0; margin: 0; padding: 0; min-width: 0; }
.number-match { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; margin: 16px 0; }
.match-number { display: inline-block; font-size: 2rem; line-height: 1.2; letter-spacing: .12em; font-variant-numeric: tabular-nums; ` +
  `vertical-align: -.15em; margin-left: 4px; }
.wait, .ended, .next-step { border-left: 4px solid var(--warn); background: var(--bg); border-radius: 0 8px 8px 0; ` +
  `padding: 10px 14px; margin: 16px 0; }
.ended h2, .next-step h2 { margin-top: 0; }
.ended p:last-child, .next-step p:last-child, .wait p:last-child { margin-bottom: 0; }
@media (max-width: 480px) { .action dl { grid-template-columns: 1fr; gap: 0; } .action dd { margin-bottom: 8px; } }
#challenge .action dd { overflow-wrap: break-word; }
fieldset.ways input:disabled { opacity: .6; }
/* a form's method override, said in words (lead) */
.method-note { color: var(--muted); font-family: system-ui, sans-serif; font-size: 13px; }
`;
