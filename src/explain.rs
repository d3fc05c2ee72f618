//! `payline explain --partner ID`: one partner's level, lines with notes, subtotals per rule, and the
//! status with its reason, as a table.

use crate::engine::Outcome;
use crate::error::{Error, Result};
use crate::model::money::{format_money, format_rate};
use crate::model::period::Period;
use crate::output::{align_right, plain_table};
use crate::program::Program;
use crate::run::Loaded;
use rust_decimal::Decimal;
use unicode_width::UnicodeWidthStr;

/// The partner `explain` is asked about, by index, or an error naming it.
fn find_partner<'a>(
    loaded: &'a Loaded,
    partner_id: &str,
) -> Result<(usize, &'a crate::model::Partner)> {
    let index = loaded.partners.find(partner_id).ok_or_else(|| {
        Error::Calculation(format!("partner {partner_id} is not in the partners file"))
    })?;
    Ok((index, &loaded.partners.partners[index]))
}

/// The width `explain` fits in: a 100-column terminal.
pub const WIDTH: usize = 100;

/// `text` wrapped at word boundaries to `width` columns, every line after the first indented by
/// `indent` spaces (a word longer than a line stays whole).
fn wrap(text: &str, width: usize, indent: usize) -> String {
    wrap_after("", text, width, indent)
}

/// [`wrap`], the first line starting with `prefix`.
fn wrap_after(prefix: &str, text: &str, width: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut line = prefix.to_string();
    let mut fresh = true;
    for word in text.split(' ').flat_map(|w| split_wide(w, width - indent)) {
        let room = if out.is_empty() {
            width
        } else {
            width - indent
        };
        if !fresh && line.width() + 1 + word.width() > room {
            out.push_str(&line);
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            line.clear();
            fresh = true;
        }
        if !fresh {
            line.push(' ');
        }
        line.push_str(&word);
        fresh = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// A word wider than `room` columns (a long id with no space) in pieces that fit, so no line is
/// wider than the terminal; any other word whole.
fn split_wide(word: &str, room: usize) -> Vec<String> {
    if word.width() <= room {
        return vec![word.to_string()];
    }
    let mut pieces = vec![String::new()];
    for c in word.chars() {
        let last = pieces.last_mut().expect("starts with one piece");
        if last.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) > room {
            pieces.push(String::new());
        }
        pieces.last_mut().expect("just pushed").push(c);
    }
    pieces
}

/// Who and which period: the partner, its level and how it was reached, the program.
fn heading(
    program: &Program,
    period: &Period,
    loaded: &Loaded,
    outcome: &Outcome,
    index: usize,
) -> String {
    let partner = &loaded.partners.partners[index];
    let units = program.minor_units();
    let level = outcome.levels[index].clone();
    let level_how = match (&program.levels, &level) {
        (Some(l), Some(_)) => {
            let value = crate::engine::level_measure(l, &loaded.deals, index);
            let measure = match l.measure {
                crate::program::Measure::Revenue => format_money(value, units),
                crate::program::Measure::Deals | crate::program::Measure::Units => {
                    value.normalize().to_string()
                }
            };
            format!(
                " (computed: {} {} over the trailing {} months)",
                l.measure.name(),
                measure,
                l.window_months
            )
        }
        (None, Some(_)) => " (from partners.csv)".to_string(),
        (_, None) => String::new(),
    };
    let mut out = wrap(
        &format!(
            "partner {} · {} · type {} · region {}",
            partner.id,
            crate::output::one_line(&partner.name),
            partner.partner_type,
            partner.region.as_deref().unwrap_or("-"),
        ),
        WIDTH,
        2,
    );
    out.push_str(&wrap(
        &format!("level {}{level_how}", level.as_deref().unwrap_or("none")),
        WIDTH,
        2,
    ));
    out.push_str(&wrap(
        &format!(
            "program {} · period {} ({} to {})",
            program.id, period, period.start, period.end
        ),
        WIDTH,
        2,
    ));
    out.push('\n');
    out
}

/// The partner's lines by rule with subtotals, each line numbered; the notes (long: the
/// calculation in words) stacked under the table by number, so the whole fits [`WIDTH`] columns.
fn lines_and_notes(program: &Program, outcome: &Outcome, index: usize) -> String {
    let money = |v: Decimal| format_money(v, program.minor_units());
    let groups = outcome.partner_rule_totals(index);
    if groups.is_empty() {
        return "No lines this period.\n".to_string();
    }
    let mut t = plain_table(vec![
        "#", "rule", "kind", "source", "basis", "rate", "amount",
    ]);
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(u16::try_from(WIDTH).unwrap_or(u16::MAX));
    let mut notes = String::new();
    // One block per rule, with its clawbacks; budget proration is `(adjustment)`.
    let mut rule_ids: Vec<&str> = Vec::new();
    for g in &groups {
        if !rule_ids.contains(&g.rule_id) {
            rule_ids.push(g.rule_id);
        }
    }
    let mut number = 0;
    for rule_id in rule_ids {
        let mut subtotal = Decimal::ZERO;
        for g in groups.iter().filter(|g| g.rule_id == rule_id) {
            subtotal += g.amount;
            for l in &g.lines {
                number += 1;
                t.add_row(vec![
                    number.to_string(),
                    if rule_id.is_empty() {
                        "(adjustment)".to_string()
                    } else {
                        rule_id.to_string()
                    },
                    if l.kind.is_pending() {
                        format!("{} (pending)", l.kind.name())
                    } else {
                        l.kind.name().to_string()
                    },
                    format!("{} {}", l.source.name(), l.source_id),
                    l.basis.map(|b| b.to_string()).unwrap_or_default(),
                    l.rate.map(format_rate).unwrap_or_default(),
                    money(l.amount),
                ]);
                notes.push_str(&wrap_after(&format!("{number:>3}  "), &l.note, WIDTH, 5));
            }
        }
        let mut row = vec![String::new(); 5];
        row.extend(["subtotal".to_string(), money(subtotal)]);
        t.add_row(row);
    }
    align_right(&mut t, [0, 6]);
    // Numbers are never broken across lines (a wrapped `123456789012345|67.89` misreads): the
    // number, basis, rate and amount columns keep their content's width, the words share the rest.
    for c in [0, 4, 5, 6] {
        if let Some(col) = t.column_mut(c) {
            col.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
        }
    }
    format!("{t}\n\nNotes\n{notes}")
}

pub fn explain(
    program: &Program,
    period: &Period,
    loaded: &Loaded,
    outcome: &Outcome,
    partner_id: &str,
) -> Result<String> {
    let (index, _) = find_partner(loaded, partner_id)?;
    let units = program.minor_units();
    let money = |v: Decimal| format_money(v, units);
    let mut out = heading(program, period, loaded, outcome, index);
    out.push_str(&lines_and_notes(program, outcome, index));
    let groups = outcome.partner_rule_totals(index);
    match outcome.payouts.iter().find(|p| p.partner == index) {
        None => out.push_str("\nstatus: nothing earned and nothing carried: not in this batch\n"),
        Some(p) => {
            out.push_str(&format!(
                "\nearned {} · clawed back {} · carried in {} · balance {}\npaid {} · carried out {}\n",
                money(p.earned),
                money(p.clawed_back),
                money(p.carried_in),
                money(p.balance),
                money(p.paid),
                money(p.carried_out)
            ));
            let moved_pending = groups
                .iter()
                .any(|g| g.lines.iter().any(|l| l.kind.is_pending()));
            if moved_pending || !p.pending.is_zero() {
                out.push_str(&format!(
                    "pending {} (held or awaiting approval: payable once released)\n",
                    money(p.pending)
                ));
            }
            let due = p.due_on.map(|d| format!(", due {d}")).unwrap_or_default();
            out.push_str(&wrap(
                &format!("status: {} — {}{due}", p.status.name(), p.reason),
                WIDTH,
                2,
            ));
            if p.payout_currency != program.currency {
                out.push_str(&format!(
                    "payout: {} {} at {} {} per {}\n",
                    format_money(
                        p.paid_in_payout_currency,
                        crate::model::money::minor_units(&p.payout_currency)
                    ),
                    p.payout_currency,
                    format_rate(p.fx_rate),
                    program.currency,
                    p.payout_currency
                ));
            }
        }
    }
    Ok(out)
}

/// One of `explain --json`'s lines: money as exact strings, as in every JSON payline prints.
#[derive(Debug, serde::Serialize)]
pub struct ExplainedLine {
    pub rule_id: String,
    pub kind: &'static str,
    pub account: String,
    pub source: &'static str,
    pub source_id: String,
    pub basis: Option<String>,
    pub rate: Option<String>,
    pub amount: String,
    pub note: String,
}

/// `explain --json`: the same partner, lines and status as one object.
#[derive(Debug, serde::Serialize)]
pub struct Explained {
    pub partner_id: String,
    pub partner_name: String,
    pub partner_type: String,
    pub level: Option<String>,
    pub program_id: String,
    pub period: String,
    pub currency: String,
    pub lines: Vec<ExplainedLine>,
    /// The partner's payouts.csv row, when it has one: its money as strings, its status and reason.
    pub payout: Option<serde_json::Value>,
}

pub fn explain_json(
    program: &Program,
    period: &Period,
    loaded: &Loaded,
    outcome: &Outcome,
    partner_id: &str,
) -> Result<Explained> {
    let (index, partner) = find_partner(loaded, partner_id)?;
    let units = program.minor_units();
    let money = |v: Decimal| format_money(v, units);
    let lines = outcome
        .period_lines()
        .filter(|l| l.partner == index)
        .map(|l| ExplainedLine {
            rule_id: l.rule_id.to_string(),
            kind: l.kind.name(),
            account: l.account(),
            source: l.source.name(),
            source_id: l.source_id.to_string(),
            basis: l.basis.map(|b| b.to_string()),
            rate: l.rate.map(format_rate),
            amount: money(l.amount),
            note: l.note.clone(),
        })
        .collect();
    let payout = outcome
        .payouts
        .iter()
        .find(|p| p.partner == index)
        .map(|p| {
            serde_json::json!({
                "earned": money(p.earned),
                "clawed_back": money(p.clawed_back),
                "carried_in": money(p.carried_in),
                "balance": money(p.balance),
                "paid": money(p.paid),
                "carried_out": money(p.carried_out),
                "pending": money(p.pending),
                "status": p.status.name(),
                "reason": p.reason,
                "due_on": p.due_on.map(|d| d.to_string()),
                "payout_currency": p.payout_currency,
                "fx_rate": format_rate(p.fx_rate),
                "paid_in_payout_currency": format_money(
                    p.paid_in_payout_currency,
                    crate::model::money::minor_units(&p.payout_currency)
                ),
            })
        });
    Ok(Explained {
        partner_id: partner.id.clone(),
        partner_name: partner.name.clone(),
        partner_type: partner.partner_type.clone(),
        level: outcome.levels[index].clone(),
        program_id: program.id.clone(),
        period: period.to_string(),
        currency: program.currency.clone(),
        lines,
        payout,
    })
}
