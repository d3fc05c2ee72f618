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

pub fn explain(
    program: &Program,
    period: &Period,
    loaded: &Loaded,
    outcome: &Outcome,
    partner_id: &str,
) -> Result<String> {
    let (index, partner) = find_partner(loaded, partner_id)?;
    let units = program.minor_units();
    let money = |v: Decimal| format_money(v, units);
    let level = outcome.levels[index].clone();
    let level_how = match (&program.levels, &level) {
        (Some(l), Some(_)) => {
            let value = crate::engine::level_measure(l, &loaded.deals, index);
            let measure = match l.measure {
                crate::program::Measure::Revenue => money(value),
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
    let mut out = format!(
        "partner {} · {} · type {} · region {} · level {}{}\nprogram {} · period {} ({} to {})\n\n",
        partner.id,
        partner.name,
        partner.partner_type,
        partner.region.as_deref().unwrap_or("-"),
        level.as_deref().unwrap_or("none"),
        level_how,
        program.id,
        period,
        period.start,
        period.end
    );
    let groups = outcome.partner_rule_totals(index);
    let mut t = plain_table(vec![
        "rule", "kind", "source", "basis", "rate", "amount", "note",
    ]);
    // One block per rule, with its clawbacks; budget proration is `(adjustment)`.
    let mut rule_ids: Vec<&str> = Vec::new();
    for g in &groups {
        if !rule_ids.contains(&g.rule_id) {
            rule_ids.push(g.rule_id);
        }
    }
    for rule_id in rule_ids {
        let mut subtotal = Decimal::ZERO;
        for g in groups.iter().filter(|g| g.rule_id == rule_id) {
            subtotal += g.amount;
            for l in &g.lines {
                t.add_row(vec![
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
                    l.note.clone(),
                ]);
            }
        }
        t.add_row(vec![
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            "subtotal".to_string(),
            money(subtotal),
            String::new(),
        ]);
    }
    align_right(&mut t, [5]);
    if groups.is_empty() {
        out.push_str("No lines this period.\n");
    } else {
        out.push_str(&format!("{t}\n"));
    }
    match outcome.payouts.iter().find(|p| p.partner == index) {
        None => out.push_str("\nstatus: nothing earned and nothing carried: not in this batch\n"),
        Some(p) => {
            out.push_str(&format!(
                "\nearned {} · clawed back {} · carried in {} · balance {} · paid {} · carried out {}\n",
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
                    "pending {} (held lines, payable after their hold)\n",
                    money(p.pending)
                ));
            }
            let due = p.due_on.map(|d| format!(", due {d}")).unwrap_or_default();
            out.push_str(&format!(
                "status: {} — {}{due}\n",
                p.status.name(),
                p.reason
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
