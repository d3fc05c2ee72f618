//! The pages people read: `statements/PARTNER_ID.html`, a statement a partner can receive, and
//! `index.html`, the batch at a glance for finance. Each is one self-contained page: inline CSS that
//! prints well, no script, nothing fetched from the network. Everything shown comes from the batch
//! (no clock): the same inputs give the same bytes.

use super::Summary;
use crate::engine::{Line, LineKind, Outcome, Payout, PayoutStatus, Source};
use crate::input::{DealData, PartnerSet, YearToDate};
use crate::model::money::{format_money, format_rate, minor_units};
use crate::model::period::Period;
use crate::model::{Deal, Partner};
use crate::program::Program;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What the pages show beyond the outcome: the deals behind deal lines and the year to date.
pub struct PageContext<'a> {
    pub deals: &'a DealData,
    /// From the `--ledger` (earlier periods of this calendar year).
    pub year_to_date: &'a BTreeMap<usize, YearToDate>,
    pub summary: &'a Summary,
}

/// Text made safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Money for people: `36,960.00`, `-1,200.50` (the CSV files keep the plain `36960.00`).
pub fn display_money(value: Decimal, units: u32) -> String {
    let plain = format_money(value, units);
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// `reseller-tiers` → `Reseller tiers`: rule ids are a program's internal names; the pages show
/// them as words.
pub fn rule_title(rule_id: &str) -> String {
    let words = rule_id.replace('-', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

const STYLE: &str = "
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
td:first-child { white-space: nowrap; }
tr.subtotal td { font-weight: 600; border-top: 1px solid #c9d1db; }
.status { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; font-size: 13px; }
.status.paid { background: #e3f4e8; color: #17612f; }
.status.held, .status.negative { background: #fbe7e7; color: #8a1c1c; }
.status.below-minimum { background: #fff4dc; color: #7a5200; }
.note { color: #5b6675; font-size: 13px; }
ul.warnings li { margin: 4px 0; }
footer { margin-top: 28px; font-size: 12px; color: #5b6675; border-top: 1px solid #dde3ea; padding-top: 8px; }
svg text { font: 12px sans-serif; fill: #1d2430; }
@media print {
  body { background: #fff; }
  main { margin: 0; border: 0; padding: 0; max-width: none; }
  h2 { break-after: avoid; }
  tr { break-inside: avoid; }
}
";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    )
}

/// `PROGRAM-PERIOD-PARTNER`: the statement's number, as the partner quotes it.
pub fn statement_number(program: &Program, period: &Period, partner: &Partner) -> String {
    format!("{}-{period}-{}", program.id, partner.id)
}

fn status_words(status: PayoutStatus) -> &'static str {
    match status {
        PayoutStatus::Paid => "Paid",
        PayoutStatus::Held => "Held",
        PayoutStatus::Negative => "Negative balance",
        PayoutStatus::BelowMinimum => "Below the payout minimum",
    }
}

/// The deal behind a deal line: this period's row, or the reversed row of a clawback.
fn deal_of<'d>(deals: &'d DealData, partner: usize, deal_id: &str) -> Option<&'d Deal> {
    let find = |rows: &'d [Deal]| {
        let start = rows.partition_point(|d| d.partner < partner);
        let end = rows.partition_point(|d| d.partner <= partner);
        rows[start..end].iter().find(|d| &*d.deal_id == deal_id)
    };
    find(&deals.current)
        .or_else(|| find(&deals.held))
        .or_else(|| {
            deals
                .reversals
                .iter()
                .find(|d| d.partner == partner && &*d.deal_id == deal_id)
        })
}

/// What a line is, in words a partner reads, for the group heading.
fn group_title(rule_id: &str, kind: &str) -> String {
    match (rule_id, kind) {
        (_, "clawback") => format!("Clawbacks of {}", rule_title(rule_id)),
        ("", "budget-proration") => "Budget proration".to_string(),
        ("", "adjustment") => "Adjustments".to_string(),
        (id, "claim") => format!("Fund claims reimbursed ({})", rule_title(id)),
        ("", "release") => "Released from the holding period".to_string(),
        ("", "cancel") => "Cancelled during the holding period".to_string(),
        (id, "release") => format!("Released from the holding period ({})", rule_title(id)),
        (id, "cancel") => format!("Cancelled during the holding period ({})", rule_title(id)),
        ("", "true-up") => "True-ups".to_string(),
        (id, "true-up") => format!("True-up of {}", rule_title(id)),
        (id, _) => rule_title(id),
    }
}

/// One partner's statement page.
pub fn statement(
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    outcome: &Outcome,
    payout: &Payout,
    context: &PageContext,
) -> String {
    let units = program.minor_units();
    let currency = &program.currency;
    let money = |v: Decimal| format!("{} {currency}", display_money(v, units));
    let partner = &partners.partners[payout.partner];
    let number = statement_number(program, period, partner);
    let mut b = String::new();
    let _ = write!(
        b,
        "<header>\n<div>\n<h1>{}</h1>\n<div class=\"muted\">Partner statement · {}</div>\n<div><strong>{}</strong> ({})</div>\n<div class=\"muted\">Partner {} · {}{}</div>\n</div>\n<div class=\"meta\">\n<div>Statement <strong>{}</strong></div>\n<div>Period {} to {}</div>\n<div>Statement date {}</div>\n<div>Amounts in {}</div>\n</div>\n</header>\n",
        escape(&program.name),
        escape(&period.to_string()),
        escape(&partner.name),
        escape(&partner.partner_type),
        escape(&partner.id),
        escape(&partner.partner_type),
        payout
            .level
            .as_ref()
            .map(|l| format!(" · level {}", escape(l)))
            .unwrap_or_default(),
        escape(&number),
        period.start,
        period.end,
        period.end,
        escape(currency),
    );

    // The payout at a glance.
    let payout_date = payout
        .due_on
        .map(|d| d.to_string())
        .unwrap_or_else(|| "not paid this period".to_string());
    let paid_as = if payout.payout_currency != *currency {
        format!(
            "{} {}",
            display_money(
                payout.paid_in_payout_currency,
                minor_units(&payout.payout_currency)
            ),
            payout.payout_currency
        )
    } else {
        money(payout.paid)
    };
    let _ = write!(
        b,
        "<h2>Your payout</h2>\n<p><span class=\"status {}\">{}</span> <span class=\"note\">{}</span></p>\n<div class=\"cards\">\n",
        payout.status.name(),
        status_words(payout.status),
        escape(&payout.reason)
    );
    let mut cards = vec![
        ("Earned this period", money(payout.earned)),
        ("Clawed back", money(payout.clawed_back)),
        ("Carried in", money(payout.carried_in)),
        ("Balance", money(payout.balance)),
        ("Paid", paid_as),
        ("Payout date", payout_date),
        ("Carried to next period", money(payout.carried_out)),
    ];
    if !payout.pending.is_zero() {
        cards.push(("Pending (holding period)", money(payout.pending)));
    }
    for (label, value) in cards {
        let _ = writeln!(
            b,
            "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}</div></div>",
            escape(label),
            escape(&value)
        );
    }
    b.push_str("</div>\n");
    if payout.payout_currency != *currency {
        let _ = writeln!(
            b,
            "<p class=\"note\">Paid in {} at {} {} per {} (the rate in force on {}).</p>",
            escape(&payout.payout_currency),
            format_rate(payout.fx_rate),
            escape(currency),
            escape(&payout.payout_currency),
            period.end
        );
    }

    // Every line, grouped as the batch groups them, with subtotals.
    b.push_str("<h2>What you earned</h2>\n");
    let groups = outcome.partner_rule_totals(payout.partner);
    if groups.is_empty() {
        b.push_str("<p class=\"muted\">No new lines this period.</p>\n");
    }
    for group in &groups {
        // A release moves money from pending to payable: the partner sees it once, as released.
        let lines: Vec<&&Line> = group
            .lines
            .iter()
            .filter(|l| l.kind != LineKind::ReleasePending)
            .collect();
        if lines.is_empty() {
            continue;
        }
        let subtotal: Decimal = lines.iter().map(|l| l.amount).sum();
        let _ = writeln!(
            b,
            "<h3>{}</h3>",
            escape(&group_title(group.rule_id, group.kind))
        );
        b.push_str("<table>\n<thead><tr><th>Date</th><th>Reference</th><th>Customer</th><th class=\"num\">Deal amount</th><th>How it was calculated</th><th>Status</th><th class=\"num\">Amount</th></tr></thead>\n<tbody>\n");
        for line in &lines {
            write_line_row(&mut b, line, payout.partner, context, units, currency);
        }
        let _ = writeln!(
            b,
            "<tr class=\"subtotal\"><td colspan=\"6\">Subtotal, {} line(s)</td><td class=\"num\">{}</td></tr>",
            lines.len(),
            escape(&money(subtotal))
        );
        b.push_str("</tbody>\n</table>\n");
    }

    // Year to date, from the ledger of this calendar year's earlier periods plus this one.
    let before = context
        .year_to_date
        .get(&payout.partner)
        .copied()
        .unwrap_or_default();
    let year = chrono::Datelike::year(&period.start);
    let earned_ytd = before.earned + payout.earned + payout.clawed_back;
    let paid_ytd = before.paid + payout.paid;
    let _ = write!(
        b,
        "<h2>Year to date ({year})</h2>\n<table>\n<tbody>\n<tr><td>Earned, net of clawbacks</td><td class=\"num\">{}</td></tr>\n<tr><td>Paid</td><td class=\"num\">{}</td></tr>\n</tbody>\n</table>\n",
        escape(&money(earned_ytd)),
        escape(&money(paid_ytd)),
    );

    // Progress to the next threshold, from the nudges.
    let nudges: Vec<_> = outcome
        .nudges
        .iter()
        .filter(|n| n.partner == payout.partner)
        .collect();
    if !nudges.is_empty() {
        b.push_str("<h2>Your next tier</h2>\n<ul>\n");
        for n in nudges {
            let measure = |v: Decimal| {
                if n.counts_deals {
                    format_rate(v)
                } else {
                    money(v)
                }
            };
            let _ = writeln!(
                b,
                "<li>{}: {} of {} reached; {} to go would add {} this period.</li>",
                escape(&rule_title(&n.rule_id)),
                escape(&measure(n.current)),
                escape(&measure(n.next_threshold)),
                escape(&measure(n.gap)),
                escape(&money(n.gain))
            );
        }
        b.push_str("</ul>\n");
    }
    let _ = writeln!(
        b,
        "<footer>Statement {} of {} ({}), period {} to {}. Amounts in {} unless stated. Questions: quote the statement number.</footer>",
        escape(&number),
        escape(&program.name),
        escape(&program.id),
        period.start,
        period.end,
        escape(currency)
    );
    page(&format!("{} statement {number}", program.name), &b)
}

fn write_line_row(
    b: &mut String,
    line: &Line,
    partner: usize,
    context: &PageContext,
    units: u32,
    currency: &str,
) {
    let deal = (line.source == Source::Deal)
        .then(|| deal_of(context.deals, partner, &line.source_id))
        .flatten();
    let (date, customer, original) = match deal {
        Some(d) => (
            d.closed_on.to_string(),
            d.customer_type.as_deref().unwrap_or("").to_string(),
            format!(
                "{} {}",
                display_money(d.amount, minor_units(&d.currency)),
                d.currency
            ),
        ),
        None => (String::new(), String::new(), String::new()),
    };
    let status = match (line.kind, line.account().as_str()) {
        (_, "pending") => "pending",
        (LineKind::Clawback, _) => "clawed back",
        _ => "payable",
    };
    let reference = match line.source {
        Source::Period | Source::Payout => String::new(),
        _ => line.source_id.to_string(),
    };
    let _ = writeln!(
        b,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
        escape(&date),
        escape(&reference),
        escape(&customer),
        escape(&original),
        escape(&line.note),
        status,
        escape(&format!("{} {currency}", display_money(line.amount, units)))
    );
}

/// The batch at a glance for finance.
pub fn index(
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    outcome: &Outcome,
    context: &PageContext,
) -> String {
    let summary = context.summary;
    let units = program.minor_units();
    let currency = &program.currency;
    let money = |v: Decimal| format!("{} {currency}", display_money(v, units));
    let text_money = |text: &str| {
        text.parse::<Decimal>()
            .map(|v| format!("{} {currency}", display_money(v, units)))
            .unwrap_or_else(|_| format!("{text} {currency}"))
    };
    let kpis = &summary.kpis;
    let mut b = String::new();
    let _ = write!(
        b,
        "<header>\n<div>\n<h1>{}</h1>\n<div class=\"muted\">Payout batch · {} ({} to {}) · program {}</div>\n</div>\n<div class=\"meta\"><div>Amounts in {}</div></div>\n</header>\n<div class=\"cards\">\n",
        escape(&program.name),
        period,
        period.start,
        period.end,
        escape(&program.id),
        escape(currency)
    );
    for (label, value) in [
        ("Earned", text_money(&kpis.earned)),
        ("Clawed back", text_money(&kpis.clawed_back)),
        ("Paid out", text_money(&kpis.paid)),
        ("Carried out", text_money(&kpis.carried_out)),
        ("Partners paid", kpis.partners_paid.to_string()),
        ("Partners in batch", kpis.partners_in_batch.to_string()),
    ] {
        let _ = writeln!(
            b,
            "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}</div></div>",
            escape(label),
            escape(&value)
        );
    }
    b.push_str("</div>\n");

    // Totals per rule, with a bar chart of the rules that paid.
    b.push_str("<h2>Totals per rule</h2>\n");
    let bars: Vec<(String, Decimal)> = summary
        .rules
        .iter()
        .filter_map(|r| {
            let amount: Decimal = r.amount.parse().ok()?;
            (amount > Decimal::ZERO).then(|| (group_title(&r.rule_id, &r.kind), amount))
        })
        .collect();
    b.push_str(&bar_chart(&bars, currency, units));
    b.push_str("<table>\n<thead><tr><th>Rule</th><th>Kind</th><th class=\"num\">Lines</th><th class=\"num\">Amount</th></tr></thead>\n<tbody>\n");
    for r in &summary.rules {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&group_title(&r.rule_id, &r.kind)),
            escape(&r.kind),
            r.lines,
            escape(&text_money(&r.amount)),
        );
    }
    b.push_str("</tbody>\n</table>\n");

    b.push_str("<h2>Per partner type</h2>\n<table>\n<thead><tr><th>Partner type</th><th class=\"num\">Partners</th><th class=\"num\">Earned</th><th class=\"num\">Paid</th></tr></thead>\n<tbody>\n");
    for t in &summary.partner_types {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&t.partner_type),
            t.partners,
            escape(&text_money(&t.earned)),
            escape(&text_money(&t.paid))
        );
    }
    b.push_str("</tbody>\n</table>\n");

    b.push_str("<h2>Statuses</h2>\n<table>\n<tbody>\n");
    for (label, count) in [
        ("Paid", kpis.partners_paid),
        (
            "Held (suspended, terminated or KYC missing)",
            kpis.partners_held,
        ),
        (
            "Below the payout minimum (carried)",
            kpis.partners_below_minimum,
        ),
        ("Negative balance (carried)", kpis.partners_negative),
    ] {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td class=\"num\">{count}</td></tr>",
            escape(label)
        );
    }
    b.push_str("</tbody>\n</table>\n");

    // The largest payouts, largest first (ties by partner_id), with a link to each statement.
    let mut largest: Vec<&Payout> = outcome
        .payouts
        .iter()
        .filter(|p| !p.paid.is_zero())
        .collect();
    largest.sort_by(|a, b| b.paid.cmp(&a.paid).then(a.partner.cmp(&b.partner)));
    largest.truncate(10);
    b.push_str("<h2>Largest payouts</h2>\n");
    if largest.is_empty() {
        b.push_str("<p class=\"muted\">Nobody is paid this period.</p>\n");
    } else {
        b.push_str("<table>\n<thead><tr><th>Partner</th><th>Type</th><th class=\"num\">Paid</th><th>Due</th><th>Statement</th></tr></thead>\n<tbody>\n");
        for p in largest {
            let partner = &partners.partners[p.partner];
            // The file name keeps `%XX` escapes literally: in a link `%` itself is `%25`.
            let file = super::statement_page_name(&partner.id).replace('%', "%25");
            let _ = writeln!(
                b,
                "<tr><td>{} ({})</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td><a href=\"statements/{}\">{}</a></td></tr>",
                escape(&partner.name),
                escape(&partner.id),
                escape(&partner.partner_type),
                escape(&money(p.paid)),
                p.due_on.map(|d| d.to_string()).unwrap_or_default(),
                escape(&file),
                escape(&statement_number(program, period, partner))
            );
        }
        b.push_str("</tbody>\n</table>\n");
    }

    b.push_str("<h2>Warnings</h2>\n");
    if summary.warnings.is_empty() {
        b.push_str("<p class=\"muted\">No warnings.</p>\n");
    } else {
        b.push_str("<ul class=\"warnings\">\n");
        for w in &summary.warnings {
            let code = serde_json::to_value(w.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = writeln!(
                b,
                "<li><code>{}</code> {}</li>",
                escape(&code),
                escape(&w.message)
            );
        }
        b.push_str("</ul>\n");
    }
    let _ = writeln!(
        b,
        "<footer>{} · {} lines · {} deals counted · every figure is in payouts.csv and lines.csv of this batch.</footer>",
        escape(&program.id),
        kpis.lines,
        kpis.deals_counted
    );
    page(&format!("{} batch {period}", program.name), &b)
}

/// A horizontal bar chart as inline SVG: one bar per (label, amount), scaled to the largest.
fn bar_chart(bars: &[(String, Decimal)], currency: &str, units: u32) -> String {
    if bars.is_empty() {
        return String::new();
    }
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(Decimal::ONE);
    let (label_width, bar_width, row) = (260u32, 460u32, 26u32);
    let height = row * u32::try_from(bars.len()).unwrap_or(u32::MAX / row - 1) + 8;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"Totals per rule\" width=\"100%\" viewBox=\"0 0 {} {height}\" xmlns=\"http://www.w3.org/2000/svg\">\n",
        label_width + bar_width + 140
    );
    let mut y = 4u32;
    for (label, value) in bars {
        // The bar's length in whole pixels: the value's share of the largest, at least 1.
        let share = (*value * Decimal::from(bar_width))
            .checked_div(max)
            .unwrap_or_default()
            .round();
        let length = u32::try_from(share.mantissa().max(1))
            .unwrap_or(bar_width)
            .min(bar_width);
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{label_width}\" y=\"{}\" width=\"{length}\" height=\"16\" fill=\"#3b6ea5\"/><text x=\"{}\" y=\"{}\">{}</text>",
            label_width - 8,
            y + 13,
            escape(label),
            y + 1,
            label_width + length + 6,
            y + 13,
            escape(&format!("{} {currency}", display_money(*value, units)))
        );
        y += row;
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_for_people_groups_thousands() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(display_money(d("36960"), 2), "36,960.00");
        assert_eq!(display_money(d("-1200.5"), 2), "-1,200.50");
        assert_eq!(display_money(d("999.99"), 2), "999.99");
        assert_eq!(display_money(d("1234567"), 0), "1,234,567");
        assert_eq!(display_money(d("0"), 3), "0.000");
    }

    #[test]
    fn text_is_escaped_and_ids_read_as_words() {
        assert_eq!(
            escape("<b>\"A&B\"</b>'"),
            "&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;&#39;"
        );
        assert_eq!(rule_title("reseller-tiers"), "Reseller tiers");
        assert_eq!(rule_title(""), "");
    }
}
