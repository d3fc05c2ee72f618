//! index.html: the batch at a glance for finance, written with the batch (it is one of its files).
//! It names what finance acts on: the total to pay in each payout currency, every partner held,
//! below the minimum or negative with the reason, commissions apart from fund-claim reimbursements,
//! and the warnings; then the totals per rule and partner type, and the largest payouts.
//!
//! Statements are not part of the batch: they are rendered into `statements/` beside this page (by
//! `payline run --statements` or `payline statements`), and the links here point there.

use super::names::{is_shortened, link_to, statement_html_name, statement_stem};
use super::page::{card, page, with_code};
use super::words::display_money;
use crate::engine::{LineKind, Outcome, Payout, PayoutStatus};
use crate::input::PartnerSet;
use crate::model::money::minor_units;
use crate::model::period::Period;
use crate::output::Summary;
use crate::program::Program;
use maud::{Markup, PreEscaped, html};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The folder statements are rendered into, beside index.html.
pub const STATEMENTS_DIR: &str = "statements";

/// What a group of lines is, in words: a rule's label, or what adjusted the payout.
pub fn group_title(label: &str, kind: &str) -> String {
    match (label, kind) {
        ("", "budget-proration") => "Budget proration".to_string(),
        ("", "adjustment") => "Adjustments".to_string(),
        ("", "release") => "Released from pending".to_string(),
        ("", "cancel") => "Cancelled while pending".to_string(),
        ("", "clawback") => "Clawbacks".to_string(),
        ("", "true-up") => "True-ups".to_string(),
        ("", other) => other.to_string(),
        (label, "clawback") => format!("Clawbacks of {label}"),
        (label, "claim") => format!("Fund claims reimbursed from {label}"),
        (label, "release") => format!("{label}: released from pending"),
        (label, "cancel") => format!("{label}: cancelled while pending"),
        (label, "true-up") => format!("{label}: true-up"),
        (label, _) => label.to_string(),
    }
}

/// The label of a rule id as this program names it (empty for lines of no rule).
fn label_of(program: &Program, rule_id: &str) -> String {
    match program.rule(rule_id) {
        Some(rule) => rule.label(),
        None if rule_id.is_empty() => String::new(),
        None => super::words::default_label(rule_id),
    }
}

fn status_words(status: PayoutStatus) -> &'static str {
    match status {
        PayoutStatus::Paid => "Paid",
        PayoutStatus::Held => "Held",
        PayoutStatus::Negative => "Negative balance",
        PayoutStatus::BelowMinimum => "Below the payout minimum",
    }
}

/// A link to a partner's statement in `statements/`.
fn statement_link(partner_id: &str, text: &str) -> Markup {
    let href = format!(
        "{STATEMENTS_DIR}/{}",
        link_to(&statement_html_name(partner_id))
    );
    html! { a href=(href) { (text) } }
}

/// The batch at a glance.
pub fn index(
    program: &Program,
    period: &Period,
    partners: &PartnerSet,
    outcome: &Outcome,
    summary: &Summary,
) -> String {
    let units = program.minor_units();
    let currency = program.currency.as_str();
    let money = |v: Decimal| format!("{} {currency}", display_money(v, units));
    let text_money = |text: &str| match text.parse::<Decimal>() {
        Ok(v) => money(v),
        Err(_) => format!("{text} {currency}"),
    };
    let k = &summary.kpis;
    let body = html! {
        header {
            div {
                h1 { (program.name) }
                div.muted { "Payout batch · " (period) " (" (period.start) " to " (period.end) ") · program " (program.id) }
            }
            div.meta { div { "Amounts in " (currency) } }
        }
        div.cards {
            (card("Earned", &text_money(&k.earned)))
            (card("Clawed back", &text_money(&k.clawed_back)))
            (card("Carried in", &text_money(&k.carried_in)))
            (card("Paid out", &text_money(&k.paid)))
            (card("Carried out", &text_money(&k.carried_out)))
            (card("Partners paid", &k.partners_paid.to_string()))
            (card("Partners in batch", &k.partners_in_batch.to_string()))
        }
        (to_pay(outcome, currency, units))
        (what_it_pays(outcome, &money))
        (needs_attention(partners, outcome, &money))
        (per_rule(program, summary, outcome, &text_money))
        h2 { "Per partner type" }
        table {
            thead { tr { th { "Partner type" } th.num { "Partners" } th.num { "Earned" } th.num { "Paid" } } }
            tbody {
                @for t in &summary.partner_types {
                    tr { td { (t.partner_type) } td.num { (t.partners) } td.num { (text_money(&t.earned)) } td.num { (text_money(&t.paid)) } }
                }
            }
        }
        (largest(partners, outcome, &money))
        (statements_note(partners, outcome))
        h2 { "Warnings" }
        @if summary.warnings.is_empty() {
            p.muted { "No warnings." }
        } @else {
            ul.warnings {
                @for w in &summary.warnings {
                    li { strong { (warning_code(w.code)) } ": " (with_code(&w.message)) }
                }
            }
        }
        footer {
            (program.id) " · " (k.lines) " lines · " (k.deals_counted) " deals counted · every figure is in payouts.csv and lines.csv of this batch."
        }
    };
    page(&format!("{} batch {period}", program.name), body)
}

/// A warning's stable code (`claim-unpaid`), as `--json` writes it.
fn warning_code(code: crate::error::WarningCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The total to pay in each payout currency: what the payment run sends.
fn to_pay(outcome: &Outcome, currency: &str, units: u32) -> Markup {
    let mut by_currency: BTreeMap<&str, (usize, Decimal, Decimal)> = BTreeMap::new();
    for p in outcome.payouts.iter().filter(|p| !p.paid.is_zero()) {
        let row = by_currency.entry(&p.payout_currency).or_default();
        row.0 += 1;
        row.1 += p.paid_in_payout_currency;
        row.2 += p.paid;
    }
    let total: Decimal = by_currency.values().map(|r| r.2).sum();
    html! {
        h2 { "To pay" }
        @if by_currency.is_empty() {
            p.muted { "Nobody is paid this period." }
        } @else {
            table {
                thead { tr { th { "Payout currency" } th.num { "Partners" } th.num { "To pay" } th.num { "In " (currency) } } }
                tbody {
                    @for (code, (n, amount, program_amount)) in &by_currency {
                        tr {
                            td { (code) }
                            td.num { (n) }
                            td.num { (code) " " (display_money(*amount, minor_units(code))) }
                            td.num { (display_money(*program_amount, units)) " " (currency) }
                        }
                    }
                    tr.total { td colspan="3" { "Total paid out" } td.num { (display_money(total, units)) " " (currency) } }
                }
            }
        }
    }
}

/// The first rows of "What the batch pays for" are on the payout account (Earned + Clawed back);
/// the rest (held on `pending`, cancelled there) are not payable.
const PAYABLE: usize = 5;

/// What the period's lines on the payout account are: commissions apart from reimbursed fund claims
/// and the adjustments; and what waits on `pending`.
fn what_it_pays(outcome: &Outcome, money: &dyn Fn(Decimal) -> String) -> Markup {
    let mut rows: Vec<(&str, Decimal, usize)> = [
        "Commissions and bonuses",
        "Fund claims reimbursed (MDF, co-op)",
        "Manual adjustments",
        "Budget proration",
        "Clawbacks",
        "Pending: held for the refund window or awaiting approval (not payable yet)",
        "Cancelled while pending",
    ]
    .into_iter()
    .map(|label| (label, Decimal::ZERO, 0))
    .collect();
    for line in &outcome.lines {
        let row = match line.kind {
            LineKind::Rule(_) | LineKind::TrueUp | LineKind::Release => 0,
            LineKind::Claim => 1,
            LineKind::Adjustment => 2,
            LineKind::BudgetProration => 3,
            LineKind::Clawback => 4,
            LineKind::Pending(_) => 5,
            LineKind::Cancel => 6,
            LineKind::ReleasePending | LineKind::Fund | LineKind::Payout => continue,
        };
        rows[row].1 += line.amount;
        rows[row].2 += 1;
    }
    // The payable rows are Earned + Clawed back; with what partners carried in and what they carry
    // to the next period (held, below the minimum, negative), they come to what is paid out.
    let total = |f: fn(&Payout) -> Decimal| -> Decimal { outcome.payouts.iter().map(f).sum() };
    let this_period: Decimal = rows[..PAYABLE].iter().map(|r| r.1).sum();
    let shown =
        |r: &&(&str, Decimal, usize)| r.2 > 0 || r.0.starts_with("Comm") || r.0.starts_with("Fund");
    html! {
        h2 { "What the batch pays for" }
        table {
            thead { tr { th { "Money" } th.num { "Lines" } th.num { "Amount" } } }
            tbody {
                @for (label, amount, lines) in rows[..PAYABLE].iter().filter(shown) {
                    tr { td { (label) } td.num { (lines) } td.num { (money(*amount)) } }
                }
                tr.subtotal { td colspan="2" { "Earned and clawed back this period" } td.num { (money(this_period)) } }
                tr { td colspan="2" { "Carried in from earlier periods" } td.num { (money(total(|p| p.carried_in))) } }
                tr { td colspan="2" { "Less what partners carry to the next period (held, below the minimum, negative)" } td.num { (money(-total(|p| p.carried_out))) } }
                tr.total { td colspan="2" { "Paid out" } td.num { (money(total(|p| p.paid))) } }
                @for (label, amount, lines) in rows[PAYABLE..].iter().filter(shown) {
                    tr { td { (label) } td.num { (lines) } td.num { (money(*amount)) } }
                }
            }
        }
    }
}

/// Every partner not paid although it has a balance, with the reason: what finance looks at.
fn needs_attention(
    partners: &PartnerSet,
    outcome: &Outcome,
    money: &dyn Fn(Decimal) -> String,
) -> Markup {
    let mut rows: Vec<&Payout> = outcome
        .payouts
        .iter()
        .filter(|p| p.status != PayoutStatus::Paid)
        .collect();
    let order = |s: PayoutStatus| match s {
        PayoutStatus::Held => 0,
        PayoutStatus::Negative => 1,
        PayoutStatus::BelowMinimum => 2,
        PayoutStatus::Paid => 3,
    };
    rows.sort_by_key(|p| (order(p.status), p.partner));
    html! {
        h2 { "Not paid this period" }
        @if rows.is_empty() {
            p.muted { "Every partner with a balance is paid." }
        } @else {
            table {
                thead { tr { th { "Partner" } th { "Status" } th.num { "Balance carried" } th { "Reason" } th { "Statement" } } }
                tbody {
                    @for p in rows {
                        @let partner = &partners.partners[p.partner];
                        tr {
                            td { (partner.name) " (" (partner.id) ")" }
                            td { span class=(format!("status {}", p.status.name())) { (status_words(p.status)) } }
                            td.num { (money(p.carried_out)) }
                            td { (super::words::sentence(&p.reason)) }
                            td { (statement_link(&partner.id, "statement")) }
                        }
                    }
                }
            }
        }
    }
}

fn per_rule(
    program: &Program,
    summary: &Summary,
    outcome: &Outcome,
    text_money: &dyn Fn(&str) -> String,
) -> Markup {
    let units = program.minor_units();
    // A held line counts in its rule's total when it is written (the program's cost): shown apart.
    let mut held: BTreeMap<&str, Decimal> = BTreeMap::new();
    for line in (outcome.lines.iter()).filter(|l| matches!(l.kind, LineKind::Pending(_))) {
        *held.entry(&line.rule_id).or_default() += line.amount;
    }
    let held_of = |rule_id: &str| match rule_id.is_empty() {
        true => None,
        false => held.get(rule_id).copied(),
    };
    // A fund's total in the summary is what its claims paid.
    let title = |rule_id: &str, kind: &str| {
        let kind = if kind == "fund" { "claim" } else { kind };
        group_title(&label_of(program, rule_id), kind)
    };
    let bars: Vec<(String, Decimal)> = summary
        .rules
        .iter()
        .filter_map(|r| {
            let amount: Decimal = r.amount.parse().ok()?;
            (amount > Decimal::ZERO).then(|| (title(&r.rule_id, &r.kind), amount))
        })
        .collect();
    html! {
        h2 { "Totals per rule" }
        (bar_chart(&bars, &program.currency, units))
        table {
            thead { tr { th { "Rule" } th { "Kind" } th.num { "Lines" } th.num { "Amount" } @if !held.is_empty() { th.num { "Of which held on pending" } } } }
            tbody {
                @for r in &summary.rules {
                    tr {
                        td { (title(&r.rule_id, &r.kind)) } td { (r.kind) } td.num { (r.lines) } td.num { (text_money(&r.amount)) }
                        @if !held.is_empty() { td.num { @if let Some(h) = held_of(&r.rule_id) { (display_money(h, units)) " " (program.currency) } } }
                    }
                }
            }
        }
        @if !held.is_empty() {
            p.note {
                "A line held on pending (refund window, approval) counts in its rule's total when it is written, the program's cost, and is paid when it is released, under “Released from pending”: these totals add up to Earned + Clawed back + what was held this period, less what was cancelled while pending."
            }
        }
    }
}

/// The ten largest payouts, largest first (ties by partner_id), each linked to its statement.
fn largest(partners: &PartnerSet, outcome: &Outcome, money: &dyn Fn(Decimal) -> String) -> Markup {
    let mut largest: Vec<&Payout> = outcome
        .payouts
        .iter()
        .filter(|p| !p.paid.is_zero())
        .collect();
    largest.sort_by(|a, b| b.paid.cmp(&a.paid).then(a.partner.cmp(&b.partner)));
    largest.truncate(10);
    html! {
        h2 { "Largest payouts" }
        @if largest.is_empty() {
            p.muted { "Nobody is paid this period." }
        } @else {
            table {
                thead { tr { th { "Partner" } th { "Type" } th.num { "Paid" } th.num { "In payout currency" } th { "Due" } th { "Statement" } } }
                tbody {
                    @for p in largest {
                        @let partner = &partners.partners[p.partner];
                        tr {
                            td { (partner.name) " (" (partner.id) ")" }
                            td { (partner.partner_type) }
                            td.num { (money(p.paid)) }
                            td.num { (display_money(p.paid_in_payout_currency, minor_units(&p.payout_currency))) " " (p.payout_currency) }
                            td { @if let Some(due) = p.due_on { (due) } }
                            td { (statement_link(&partner.id, "statement")) }
                        }
                    }
                }
            }
        }
    }
}

/// Where the statements are, and the partners whose statement files have a shortened name.
fn statements_note(partners: &PartnerSet, outcome: &Outcome) -> Markup {
    let shortened: Vec<(&str, String)> = outcome
        .payouts
        .iter()
        .map(|p| partners.partners[p.partner].id.as_str())
        .filter_map(|id| {
            let stem = statement_stem(id);
            is_shortened(&stem).then_some((id, stem))
        })
        .collect();
    html! {
        h2 { "Statements" }
        p {
            "Each partner's statement is a document rendered from this batch into the folder "
            code { (STATEMENTS_DIR) "/" } " beside this page, as PARTNER_ID.html and PARTNER_ID.csv, by "
            code { "payline run --statements" } " or later by " code { "payline statements" }
            ". The statement links on this page open it there once rendered."
        }
        @if !shortened.is_empty() {
            p { "These partner ids are too long for a file name; their statements have a shortened name:" }
            table {
                thead { tr { th { "Partner id" } th { "Statement files" } } }
                tbody {
                    @for (id, stem) in &shortened {
                        tr { td { (id) } td { (statement_link(id, &format!("{stem}.html"))) " and " (stem) ".csv" } }
                    }
                }
            }
        }
    }
}

/// A horizontal bar chart as inline SVG: one bar per (label, amount), scaled to the largest.
fn bar_chart(bars: &[(String, Decimal)], currency: &str, units: u32) -> Markup {
    let Some(max) = bars.iter().map(|(_, v)| *v).max() else {
        return html! {};
    };
    let (label_width, bar_width, row) = (260u32, 460u32, 26u32);
    let count = u32::try_from(bars.len()).unwrap_or(u32::MAX / row - 1);
    let height = row * count + 8;
    let view = format!("0 0 {} {height}", label_width + bar_width + 140);
    let length = |value: Decimal| {
        // The bar's length in whole pixels: the value's share of the largest, at least 1.
        let share = (value * Decimal::from(bar_width))
            .checked_div(max)
            .unwrap_or_default()
            .round();
        u32::try_from(share.mantissa().max(1))
            .unwrap_or(bar_width)
            .min(bar_width)
    };
    html! {
        svg role="img" aria-label="Totals per rule" width="100%" viewBox=(view) xmlns="http://www.w3.org/2000/svg" {
            @for (i, (label, value)) in bars.iter().enumerate() {
                @let y = 4 + row * u32::try_from(i).unwrap_or(0);
                @let l = length(*value);
                text x=(label_width - 8) y=(y + 13) text-anchor="end" { (label) }
                rect x=(label_width) y=(y + 1) width=(l) height="16" fill="#3b6ea5" {}
                text x=(label_width + l + 6) y=(y + 13) { (display_money(*value, units)) " " (currency) }
            }
        }
        (PreEscaped("\n"))
    }
}
