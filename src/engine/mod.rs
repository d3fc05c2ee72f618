//! The engine: a pure function from program + inputs + period to lines, payouts and balances (no I/O).
//!
//! Order per partner (SPEC §4): level → each rule in file order (with its cap) → budget proration
//! across partners → clawbacks → holds, minimum and carry-forward → payout currency.

mod budget;
mod clawback;
mod line;
mod nudge;
pub mod rules;
mod settle;

pub use line::{Line, LineKind, Source};
pub use nudge::Nudge;
pub use settle::{Payout, PayoutStatus};

use crate::error::Result;
use crate::input::{Activity, Claim, Deal, DealData, FxTable, LedgerData, Partner, PartnerSet};
use crate::period::Period;
use crate::program::{Program, Rule};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Everything the engine reads, already loaded and validated.
pub struct Inputs<'a> {
    pub partners: &'a PartnerSet,
    pub deals: &'a DealData,
    pub activities: &'a [Activity],
    pub claims: &'a [Claim],
    pub fx: &'a FxTable,
    pub ledger: &'a LedgerData,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Balance {
    pub partner: usize,
    /// `payout` or `fund:RULE_ID`.
    pub account: String,
    pub balance: Decimal,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Every money line of the period, by partner, then in calculation order.
    pub lines: Vec<Line>,
    /// One row per partner with a line or a non-zero balance in or out, by partner_id.
    pub payouts: Vec<Payout>,
    pub balances: Vec<Balance>,
    pub nudges: Vec<Nudge>,
    /// Each partner's level for the run (by partner index).
    pub levels: Vec<Option<String>>,
    pub warnings: Vec<String>,
}

/// What one rule evaluation sees of one partner.
pub struct PartnerCtx<'a> {
    pub program: &'a Program,
    pub period: &'a Period,
    pub index: usize,
    pub partner: &'a Partner,
    pub level: Option<&'a str>,
    /// The partner's rows that count in the period, in (closed_on, deal_id) order.
    pub deals: &'a [Deal],
    pub previous: &'a [Deal],
    pub activities: &'a [Activity],
    pub claims: &'a [Claim],
    pub inputs: &'a Inputs<'a>,
}

impl PartnerCtx<'_> {
    /// The partner's deals that pass the rule's deal keys, in processing order.
    pub fn qualifying<'d>(&self, rule: &Rule, deals: &'d [Deal]) -> Vec<&'d Deal> {
        deals.iter().filter(|d| rule.when.matches_deal(d)).collect()
    }

    pub fn money(&self, value: Decimal) -> String {
        crate::money::format_money(value, self.program.minor_units())
    }
}

/// Rows of `items` for one partner, given they are sorted by partner.
fn slice_for<T>(items: &[T], partner: usize, key: impl Fn(&T) -> usize) -> &[T] {
    let start = items.partition_point(|x| key(x) < partner);
    let end = items.partition_point(|x| key(x) <= partner);
    &items[start..end]
}

/// The partner's level for the run (SPEC §4.9).
pub fn level_of(
    program: &Program,
    deals: &DealData,
    index: usize,
    partner: &Partner,
) -> Option<String> {
    match &program.levels {
        None => partner.level.clone(),
        Some(levels) => {
            let (revenue, count) = deals.level_measure.get(index).copied().unwrap_or_default();
            let measure = match levels.measure {
                crate::program::Measure::Revenue => revenue,
                crate::program::Measure::Deals => Decimal::from(count),
            };
            levels
                .tiers
                .iter()
                .rev()
                .find(|t| t.from <= measure)
                .map(|t| t.id.clone())
        }
    }
}

/// The lines of every rule for one partner at a given level, caps applied; plus fund balances out.
/// Every line amount and fund balance is checked to stay below 10^20 (SPEC §7): an error names the
/// partner and the rule.
pub(crate) fn evaluate_rules(
    ctx: &PartnerCtx,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Line>, BTreeMap<String, Decimal>)> {
    let mut lines = Vec::new();
    let mut funds = BTreeMap::new();
    let units = ctx.program.minor_units();
    for (rule_index, rule) in ctx.program.rules.iter().enumerate() {
        let calc = ctx.calc(rule);
        let out = rules::evaluate(rule, rule_index, ctx)?;
        warnings.extend(out.warnings);
        let mut rule_lines = out.lines;
        if let Some(cap) = rule.cap {
            line::apply_cap(&mut rule_lines, cap, units, calc)?;
        }
        for l in &rule_lines {
            calc.limited(l.amount, "the line amount", units)?;
        }
        if let Some(available) = out.fund_available {
            let paid = calc.sum(rule_lines.iter().map(|l| l.amount), || {
                "the claims paid from the fund".into()
            })?;
            let left = calc.ok(available.checked_sub(paid), || "the fund balance".into())?;
            funds.insert(
                rule.id.clone(),
                calc.limited(left, "the fund balance", units)?,
            );
        }
        lines.extend(rule_lines.into_iter().filter(|l| !l.amount.is_zero()));
    }
    Ok((lines, funds))
}

/// Runs the whole period. Pure: the same inputs always give the same outcome.
pub fn evaluate(program: &Program, period: &Period, inputs: &Inputs) -> Result<Outcome> {
    let partners = &inputs.partners.partners;
    let mut outcome = Outcome::default();
    let mut per_partner: Vec<Vec<Line>> = Vec::with_capacity(partners.len());
    let mut fund_balances: BTreeMap<(usize, String), Decimal> = BTreeMap::new();
    // Claims come sorted by claim_id; grouping keeps that order within each partner.
    let mut claims_by_partner: BTreeMap<usize, Vec<Claim>> = BTreeMap::new();
    for claim in inputs.claims {
        claims_by_partner
            .entry(claim.partner)
            .or_default()
            .push(claim.clone());
    }

    for (index, partner) in partners.iter().enumerate() {
        let level = level_of(program, inputs.deals, index, partner);
        let ctx = PartnerCtx {
            program,
            period,
            index,
            partner,
            level: level.as_deref(),
            deals: slice_for(&inputs.deals.current, index, |d| d.partner),
            previous: slice_for(&inputs.deals.previous, index, |d| d.partner),
            activities: slice_for(inputs.activities, index, |a| a.partner),
            claims: claims_by_partner
                .get(&index)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            inputs,
        };
        let (lines, funds) = evaluate_rules(&ctx, &mut outcome.warnings)?;
        if program.nudges.is_some() {
            outcome.nudges.extend(nudge::nudges_for(&ctx, &lines)?);
        }
        for (rule_id, balance) in funds {
            fund_balances.insert((index, rule_id), balance);
        }
        per_partner.push(lines);
        outcome.levels.push(level);
    }

    budget::prorate(program, partners, &mut per_partner, &mut outcome.warnings)?;
    clawback::claw_back(
        program,
        period,
        inputs,
        &mut per_partner,
        &mut outcome.warnings,
    );

    // Fund balances of funds the program no longer defines are carried untouched, not lost.
    for ((partner, fund), balance) in &inputs.ledger.funds {
        if program.rule(fund).is_none_or(|r| !r.is_fund()) {
            outcome.warnings.push(format!(
                "partner {}: fund balance {} of `{fund}` carried unchanged: the program has no such fund rule",
                partners[*partner].id, balance
            ));
            fund_balances.insert((*partner, fund.clone()), *balance);
        }
    }

    let mut settled = settle::settle(program, period, inputs, &per_partner, &outcome.levels)?;
    outcome.payouts.append(&mut settled);
    for payout in &outcome.payouts {
        if !payout.carried_out.is_zero() {
            outcome.balances.push(Balance {
                partner: payout.partner,
                account: "payout".into(),
                balance: payout.carried_out,
            });
        }
    }
    for ((partner, fund), balance) in fund_balances {
        if !balance.is_zero() {
            outcome.balances.push(Balance {
                partner,
                account: format!("fund:{fund}"),
                balance,
            });
        }
    }
    outcome
        .balances
        .sort_by(|a, b| (a.partner, &a.account).cmp(&(b.partner, &b.account)));
    outcome.lines = per_partner.into_iter().flatten().collect();
    Ok(outcome)
}
