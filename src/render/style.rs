//! The one stylesheet of every page, inlined in each (pages are self-contained): readable on screen,
//! printable on paper (`@media print`).

pub const STYLE: &str = "
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; color: #1d2430;
  margin: 0; background: #f4f6f9; }
main { max-width: 960px; margin: 24px auto; background: #fff; padding: 32px 40px; border: 1px solid #dde3ea; }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 24px;
  border-bottom: 2px solid #1d2430; padding-bottom: 16px; margin-bottom: 20px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid #dde3ea; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
.muted { color: #5b6675; }
.meta { text-align: right; }
.meta div { white-space: nowrap; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin: 12px 0; }
.card { border: 1px solid #dde3ea; border-radius: 6px; padding: 10px 12px; }
.card .label { font-size: 12px; color: #5b6675; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
table { width: 100%; border-collapse: collapse; margin: 6px 0 10px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eef1f5; vertical-align: top; }
th { font-size: 12px; color: #5b6675; font-weight: 600; border-bottom: 1px solid #c9d1db; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td:first-child { min-width: 6em; overflow-wrap: anywhere; }
tr.subtotal td { font-weight: 600; border-top: 1px solid #c9d1db; }
.status { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; font-size: 13px; }
.status.paid { background: #e3f4e8; color: #17612f; }
.status.held, .status.negative { background: #fbe7e7; color: #8a1c1c; }
.status.below-minimum { background: #fff4dc; color: #7a5200; }
.note { color: #5b6675; font-size: 13px; }
ul.warnings li { margin: 4px 0; }
code { font: 12px ui-monospace, Menlo, Consolas, monospace; background: #eef1f5; padding: 1px 4px; border-radius: 3px; }
.terms { color: #5b6675; font-size: 13px; margin: -2px 0 6px; }
table.lines { table-layout: fixed; }
table.lines th:nth-child(1) { width: 11%; }
table.lines th:nth-child(2) { width: 17%; }
table.lines th:nth-child(3) { width: 10%; }
table.lines th:nth-child(4) { width: 13%; }
table.lines th:nth-child(6) { width: 12%; }
table.lines th:nth-child(7) { width: 12%; }
table.lines td { overflow-wrap: anywhere; }
table.period-lines { table-layout: fixed; }
table.period-lines th:nth-child(1) { width: 17%; }
table.period-lines th:nth-child(3) { width: 12%; }
table.period-lines th:nth-child(4) { width: 12%; }
tr.total td { font-weight: 700; border-top: 2px solid #1d2430; }
.callout { border-left: 4px solid #c9d1db; background: #f7f9fb; padding: 8px 12px; margin: 10px 0; }
.callout.held, .callout.negative { border-color: #c24a4a; background: #fdf3f3; }
.callout.below-minimum { border-color: #d9a200; background: #fffaf0; }
footer { margin-top: 28px; font-size: 12px; color: #5b6675; border-top: 1px solid #dde3ea; padding-top: 8px; }
svg text { font: 12px sans-serif; fill: #1d2430; }
@media print {
  body { background: #fff; }
  main { margin: 0; border: 0; padding: 0; max-width: none; }
  h2 { break-after: avoid; }
  tr { break-inside: avoid; }
}
";
