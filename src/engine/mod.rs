//! The engine: a pure function from program + inputs + period to lines, payouts and balances (no I/O).
//!
//! Order per partner (SPEC §4): level → each rule in file order (with its cap) → budget proration
//! across partners → clawbacks → holds, minimum and carry-forward → payout currency.

mod adjust;
pub mod approval;
mod budget;
mod clawback;
mod context;
pub mod group;
pub(crate) mod history;
pub mod hold;
mod line;
mod nudge;
pub mod payments;
pub mod plan;
pub mod rules;
mod settle;
mod totals;

pub use context::{Inputs, PartnerCtx};
pub use line::{Line, LineKind, PartnerLines, Source};
pub use nudge::Nudge;
pub use rules::accumulate::TrueUpPart;
pub use settle::{Payout, PayoutStatus};
pub use totals::{PartnerRuleTotal, RuleTotal};

use crate::error::{Result, Warning, WarningCode};
use crate::input::DealData;
use crate::model::period::Period;
use crate::model::{Claim, Partner};
use crate::program::{Program, Rule};
use context::slice_for;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Balance {
    pub partner: usize,
    /// `payout`, `pending` or `fund:RULE_ID`.
    pub account: String,
    pub balance: Decimal,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Every money line earned, clawed back or adjusted in the period, by partner, then in
    /// calculation order.
    pub lines: Vec<Line>,
    /// The first day of the earliest period that still has a line on the `pending` account after
    /// this run (SPEC §8.2); the manifest records it so the next run keeps those deals' rows.
    pub pending_since: Option<chrono::NaiveDate>,
    /// The period's account movements (SPEC §5, §7), by partner: each fund's draws, then the payout
    /// (−paid). lines.csv and ledger.csv hold `lines` and `movements`, so the ledger is the complete
    /// history of every account.
    pub movements: Vec<Line>,
    /// One row per partner with a line or a non-zero balance in or out, by partner_id.
    pub payouts: Vec<Payout>,
    pub balances: Vec<Balance>,
    pub nudges: Vec<Nudge>,
    /// The rows' parts of the true-ups of accumulating rules whose span ends with this period
    /// (SPEC §4.12), by partner: `true_up_parts.csv` carries them down the chain.
    pub true_up_parts: Vec<TrueUpPart>,
    /// The payments this run wrote a line of (SPEC §9.1), by (partner, rule, payment_id):
    /// `paid_payments.csv` carries them, after the previous batch's, down the chain.
    pub paid_payments: Vec<crate::model::PaidPayment>,
    /// The chain's first day (SPEC §9.1): every batch's manifest records it, so every later run of
    /// a program paying on payments takes them from the same day.
    pub chain_start: chrono::NaiveDate,
    /// Each partner's level for the run (by partner index).
    pub levels: Vec<Option<String>>,
    pub warnings: Vec<Warning>,
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
            let measure = level_measure(levels, deals, index);
            levels
                .tiers
                .iter()
                .rev()
                .find(|t| t.from <= measure)
                .map(|t| t.id.clone())
        }
    }
}

/// The partner's measure over the `[levels]` window: credited revenue, a count of deal rows, or
/// their units (quantity × share, SPEC §8.4).
pub fn level_measure(levels: &crate::program::Levels, deals: &DealData, index: usize) -> Decimal {
    let (revenue, count) = deals.window_total(levels.window_months, index);
    match levels.measure {
        crate::program::Measure::Revenue => revenue,
        crate::program::Measure::Deals => Decimal::from(count),
        crate::program::Measure::Units => deals.window_units(levels.window_months, index),
    }
}

/// The lines of every rule for one partner at a given level, caps applied; plus each fund's state.
/// Every line amount and fund balance is checked to stay below 10^20 (SPEC §7): an error names the
/// partner and the rule.
pub(crate) fn evaluate_rules(ctx: &PartnerCtx, warnings: &mut Vec<Warning>) -> Result<Evaluated> {
    let mut all = Evaluated::default();
    for rule in &ctx.program.rules {
        let mut out = rule_lines(ctx, rule, warnings)?;
        let rule_lines = std::mem::take(&mut out.lines);
        if let Some(available) = out.fund_available {
            let state = rules::fund::state(ctx, rule, available, &rule_lines, out.fund_inflows)?;
            all.funds.insert(rule.id.to_string(), state);
        }
        // A payment line the cap cuts to 0 is still written: its payment is paid (SPEC §9.1).
        all.lines.extend(
            rule_lines
                .into_iter()
                .filter(|l| !l.amount.is_zero() || l.source == Source::Payment),
        );
        all.true_up_parts.append(&mut out.true_up_parts);
        all.paid_payments.append(&mut out.paid_payments);
    }
    Ok(all)
}

/// Every rule's lines for one partner, each fund's state, and the rows' parts of the true-ups of
/// spans that end with this period.
#[derive(Default)]
pub(crate) struct Evaluated {
    pub lines: Vec<Line>,
    pub funds: BTreeMap<String, rules::fund::FundState>,
    pub true_up_parts: Vec<TrueUpPart>,
    pub paid_payments: Vec<crate::model::PaidPayment>,
}

/// One rule's lines for one partner as they will be written: evaluated, the lines the ledger shows
/// paid already dropped, the cap applied, every amount within limits. The nudge gain re-runs exactly
/// this, so a nudge never promises what the run would not pay.
pub(crate) fn rule_lines(
    ctx: &PartnerCtx,
    rule: &Rule,
    warnings: &mut Vec<Warning>,
) -> Result<rules::RuleOutput> {
    let calc = ctx.calc(rule);
    let units = ctx.program.minor_units();
    let mut out = rules::evaluate(rule, ctx)?;
    let mut paid_already = Vec::new();
    if rule.is_deal_based() {
        let paid = &out.paid_payments;
        let dropped = drop_paid_deal_lines(ctx, rule, (&mut out.lines, paid), &mut paid_already);
        // What was not paid after all is not "paid late" either, nor recorded as paid.
        out.warnings.retain(|w| {
            !w.about
                .as_ref()
                .is_some_and(|about| dropped.contains(about))
        });
        out.paid_payments
            .retain(|p| !dropped.payments.contains(&*p.payment_id));
    }
    warnings.append(&mut out.warnings);
    warnings.append(&mut paid_already);
    if let Some(cap) = rule.cap {
        line::apply_cap(&mut out.lines, cap, units, calc)?;
    }
    for l in &out.lines {
        calc.limited(l.amount, "the line amount", units)?;
    }
    Ok(out)
}

/// The lines [`drop_paid_deal_lines`] dropped: the payment_ids of payment lines, the deal_ids of
/// deal lines.
#[derive(Default)]
struct Dropped {
    payments: std::collections::HashSet<String>,
    deals: std::collections::HashSet<String>,
}

impl Dropped {
    /// Whether a warning's payment or row (a late payment's) is one whose line was dropped.
    fn contains(&self, about: &crate::error::About) -> bool {
        match about {
            crate::error::About::Payment(id) => self.payments.contains(id),
            crate::error::About::Deal(id) => self.deals.contains(id),
        }
    }
}

/// SPEC §7 "each thing is paid once": a (deal, partner) row whose earned line of this rule is already
/// in the ledger (the row was re-exported with another `closed_on`) earns nothing now. The row still
/// counts in every measure; only its line goes, before the cap, which then has room for the others.
/// A row is paid by a rule's close (or full-payment) line, or by its payment lines (SPEC §9.1): a
/// row a rule of the group paid is not paid by another (SPEC §9.5), whichever way each pays, nor
/// a row the rule itself paid the other way (its `pay_on` changed in the chain); a version (§8.6)
/// does not pay a row another version paid on close, nor a payment another version paid (versions
/// share the row's cash, SPEC §9.1). `paid`: the payments the rule's `lines` pay.
fn drop_paid_deal_lines(
    ctx: &PartnerCtx,
    rule: &Rule,
    (lines, paid): (&mut Vec<Line>, &[crate::model::PaidPayment]),
    warnings: &mut Vec<Warning>,
) -> Dropped {
    let ledger = &ctx.inputs.ledger;
    let mut dropped = Dropped::default();
    if lines.is_empty() || (ledger.paid_deal_lines.is_empty() && ledger.paid_payments.is_empty()) {
        return dropped;
    }
    let versions = pay_once_versions(ctx, rule);
    let by_payment = paid_by_payment(ctx, rule, &versions);
    let deal_of: std::collections::HashMap<&str, &str> = (paid.iter())
        .map(|p| (&*p.payment_id, &*p.deal_id))
        .collect();
    lines.retain(|line| {
        let (deal_id, payment) = match line.source {
            Source::Deal => (&*line.source_id, None),
            Source::Payment => match deal_of.get(&*line.source_id) {
                Some(deal_id) => (*deal_id, Some(&*line.source_id)),
                None => return true,
            },
            _ => return true,
        };
        let found = versions.iter().find_map(|&(version, whole_row)| {
            let key = (ctx.index, deal_id.to_string(), version.to_string());
            let on_close = (ledger.paid_deal_lines.get(&key).map(String::as_str))
                .filter(|paid_in| !taken_back_by_true_up(ctx, (rule, version), deal_id, paid_in));
            let row_paid = || by_payment.rows.get(&(version, deal_id)).copied();
            let this_paid = || {
                let id = payment?;
                by_payment.payments.get(&(version, id)).copied()
            };
            // A deal line pays the whole row: any payment of it paid by a version counts.
            let on_payment = match (payment, whole_row) {
                (Some(_), false) => this_paid(),
                _ => row_paid(),
            };
            on_close.or(on_payment).map(|paid_in| (version, paid_in))
        });
        let Some((version, paid_in)) = found else {
            return true;
        };
        let what = match payment {
            Some(id) if line.amount < Decimal::ZERO => {
                format!(
                    "its refund {id} is not taken back by rule `{}`: no payment line of it paid on the row's cash",
                    rule.id
                )
            }
            Some(id) => format!("its payment {id} is not paid on again"),
            None if rule.pay_on() == payments::PayOn::FullPayment => {
                "it was not paid again".to_string()
            }
            None => format!(
                "its closed_on is now in {}, so it was not paid again",
                ctx.period
            ),
        };
        match payment {
            Some(id) => dropped.payments.insert(id.to_string()),
            None => dropped.deals.insert(deal_id.to_string()),
        };
        warnings.push(Warning::new(
            WarningCode::DealPaidAlready,
            format!(
                "deal {deal_id} of partner {}: {} in {paid_in}; {what}",
                ctx.partner.id,
                paid_by(ctx, rule, version)
            ),
        ));
        false
    });
    dropped
}

/// Whether `version`, another version of `rule` that accumulates (SPEC §8.7) and paid the row in
/// an earlier period of its span, takes the row back in this run's true-up because the row no
/// longer counts for it (re-dated out of its dates, re-labelled): then the row is `rule`'s to pay,
/// as one run over the span would (R paid 500.00 by v1 in October, re-dated into v2's dates in
/// December: v1's true-up takes 500.00 back and v2 pays 600.00; before, v2 skipped it as paid).
fn taken_back_by_true_up(
    ctx: &PartnerCtx,
    (rule, version): (&Rule, &str),
    deal_id: &str,
    paid_in: &str,
) -> bool {
    if version == &*rule.id {
        return false;
    }
    let Some(paying) = ctx.program.rules.iter().find(|r| &*r.id == version) else {
        return false;
    };
    let span = rules::accumulate::Span::of(paying, ctx.period);
    let paid = paid_in.split_whitespace().next().and_then(Period::parse);
    let in_span = span
        .zip(paid)
        .is_some_and(|(span, paid)| paid.start >= span.span.start);
    in_span
        && (ctx.deals.iter())
            .find(|d| &*d.deal_id == deal_id)
            .is_some_and(|row| !paying.when.matches_deal(row))
}

/// What the ledger's paid_payments.csv says the partner's `versions` paid: the rows (by (rule,
/// deal_id), what a deal line or a group rule's payment line is checked against) and, of another
/// version, the single payments (what its payment lines are checked against), each with the period
/// of its line. A payment rule's own records are left out: its payment lines are how it pays a row,
/// many times.
struct PaidByPayment<'l> {
    rows: BTreeMap<(&'l str, &'l str), &'l str>,
    payments: BTreeMap<(&'l str, &'l str), &'l str>,
}

fn paid_by_payment<'l>(
    ctx: &PartnerCtx<'l>,
    rule: &Rule,
    versions: &[(&str, bool)],
) -> PaidByPayment<'l> {
    let ledger = &ctx.inputs.ledger;
    let pays_on_payment = matches!(rule.pay_on(), payments::PayOn::Payment { .. });
    let mut out = PaidByPayment {
        rows: BTreeMap::new(),
        payments: BTreeMap::new(),
    };
    for &(version, whole_row) in versions {
        if pays_on_payment && version == &*rule.id {
            continue;
        }
        for p in ledger.paid_payments_of(ctx.index, version) {
            out.rows
                .insert((p.rule_id.as_str(), &*p.deal_id), p.period.as_str());
            if !whole_row {
                out.payments
                    .insert((p.rule_id.as_str(), &*p.payment_id), p.period.as_str());
            }
        }
    }
    out
}

/// The rules whose payment of a row counts as `rule`'s for §7's pay-once, each with whether a
/// payment of it makes the whole row paid: itself and the rules of its group (SPEC §9.5: a row is
/// paid by one of them), then its versions (SPEC §8.6: dated rules of the same kind paying for the
/// same thing, one after the other), which share a row's payments one by one.
fn pay_once_versions<'p>(ctx: &PartnerCtx<'p>, rule: &'p Rule) -> Vec<(&'p str, bool)> {
    let others = ctx.program.rules.iter().filter_map(|r| {
        let version = rules::is_version(rule, r, &ctx.program.rules);
        let same_group = rule.group.is_some() && r.group == rule.group;
        // Versions in one group are still versions: they share a row's payments one by one.
        (r.id != rule.id && (version || same_group)).then_some((&*r.id, same_group && !version))
    });
    std::iter::once((&*rule.id, true)).chain(others).collect()
}

/// Who paid a row already, for the `deal-paid-already` warning.
fn paid_by(ctx: &PartnerCtx, rule: &Rule, version: &str) -> String {
    let same_group = |r: &&Rule| &*r.id == version && r.group.is_some() && r.group == rule.group;
    if version == &*rule.id {
        format!("rule `{}` already paid it", rule.id)
    } else if let Some(group) = ctx
        .program
        .rules
        .iter()
        .find(same_group)
        .and(rule.group.as_ref())
    {
        format!("rule `{version}` of the same group `{group}` already paid it")
    } else {
        format!(
            "rule `{version}`, another version of `{}`, already paid it",
            rule.id
        )
    }
}

/// Partners per evaluation task: enough to amortize a thread, few enough to balance the skew of
/// partner sizes.
const PARTNERS_PER_TASK: usize = 256;

/// What one partner's evaluation produced, before the period-wide steps (budget, clawbacks).
struct PartnerResult {
    index: usize,
    level: Option<String>,
    lines: Vec<Line>,
    funds: BTreeMap<String, rules::fund::FundState>,
    true_up_parts: Vec<TrueUpPart>,
    paid_payments: Vec<crate::model::PaidPayment>,
    nudges: Vec<nudge::Nudge>,
    warnings: Vec<Warning>,
}

fn evaluate_partner(
    program: &Program,
    period: &Period,
    inputs: &Inputs,
    claims_by_partner: &BTreeMap<usize, Vec<Claim>>,
    index: usize,
) -> Result<PartnerResult> {
    let partner = &inputs.partners.partners[index];
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
    let mut warnings = Vec::new();
    let Evaluated {
        mut lines,
        funds,
        true_up_parts,
        paid_payments,
    } = evaluate_rules(&ctx, &mut warnings)?;
    hold::hold_new_lines(&ctx, &mut lines);
    approval::apply_to_new_lines(&ctx, &mut lines, &mut warnings);
    let nudges = if program.nudges.is_some() {
        nudge::nudges_for(&ctx, &lines)?
    } else {
        Vec::new()
    };
    Ok(PartnerResult {
        index,
        level,
        lines,
        funds,
        true_up_parts,
        paid_payments,
        nudges,
        warnings,
    })
}

/// Runs the whole period. Pure: the same inputs always give the same outcome.
pub fn evaluate(program: &Program, period: &Period, inputs: &Inputs) -> Result<Outcome> {
    let partners = &inputs.partners.partners;
    let mut outcome = Outcome::default();
    rules::accumulate::check(
        program,
        period,
        inputs.ledger.dir.is_some(),
        &mut outcome.warnings,
    )?;
    rules::payment::check_paid_payments(program, inputs)?;
    // Every rule paying on payments or on full payment reads the chain's first day. Every batch
    // records it, so a program that starts paying on payments later in the chain (after a month
    // that wrote no line) still starts where the chain did.
    outcome.chain_start = inputs.ledger.chain_first_day(period.start);
    let claims = claims_by_partner(inputs, period, &mut outcome.warnings);
    let mut per_partner = PartnerLines::default();
    let mut fund_balances: BTreeMap<(usize, String), Decimal> = BTreeMap::new();
    let mut fund_inflows: Vec<Vec<Line>> = Vec::with_capacity(partners.len());
    evaluate_partners(program, period, inputs, &claims, |partner| {
        outcome.warnings.extend(partner.warnings);
        outcome.nudges.extend(partner.nudges);
        outcome.true_up_parts.extend(partner.true_up_parts);
        outcome.paid_payments.extend(partner.paid_payments);
        let mut inflows = Vec::new();
        for (rule_id, fund) in partner.funds {
            fund_balances.insert((partner.index, rule_id), fund.balance);
            inflows.extend(fund.inflows);
        }
        fund_inflows.push(inflows);
        per_partner.push_partner(partner.lines);
        outcome.levels.push(partner.level);
    })?;

    budget::prorate(program, partners, &mut per_partner, &mut outcome.warnings)?;
    adjust::apply(period, inputs, &mut per_partner, &mut outcome.warnings);
    clawback::claw_back(
        program,
        period,
        inputs,
        &mut per_partner,
        &mut outcome.warnings,
    );
    let still_pending = hold::release(
        program,
        period,
        inputs,
        &mut per_partner,
        &mut outcome.warnings,
    );
    let payments_pending = hold::release_payments(program, period, inputs, &mut per_partner);
    let still_pending = match (still_pending, payments_pending) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    (outcome.warnings).extend(approval::decision_warnings(program, period, inputs));
    carry_unknown_funds(program, inputs, &mut fund_balances, &mut outcome.warnings);
    say_once(&mut outcome.warnings);
    outcome.payouts = settle::settle(program, period, inputs, &per_partner, &outcome.levels)?;
    outcome.balances = balances(&outcome.payouts, fund_balances);
    outcome.movements = movements(program, &per_partner, fund_inflows, &outcome.payouts);
    outcome.lines = per_partner.into_lines();
    let held_now = outcome
        .lines
        .iter()
        .any(|l| matches!(l.kind, LineKind::Pending(_)))
        .then_some(period.start);
    outcome.pending_since = match (still_pending, held_now) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    ensure_lines_are_unique(&outcome, partners)?;
    Ok(outcome)
}

/// Two rules may find the same thing of one row (an overpayment): each warning is said once, at
/// its first place (the messages compared in place, not copied: a run may warn per payment).
fn say_once(warnings: &mut Vec<Warning>) {
    let mut said = std::collections::HashSet::new();
    let first: Vec<bool> = (warnings.iter())
        .map(|w| said.insert((w.code, w.message.as_str())))
        .collect();
    drop(said);
    let mut keep = first.into_iter();
    warnings.retain(|_| keep.next().unwrap_or(true));
}

/// The claims to pay, by partner (in claim_id order within each): a claim the ledger shows paid is
/// not paid again (SPEC §7), with a warning.
fn claims_by_partner(
    inputs: &Inputs,
    period: &Period,
    warnings: &mut Vec<Warning>,
) -> BTreeMap<usize, Vec<Claim>> {
    let partners = &inputs.partners.partners;
    let mut by_partner: BTreeMap<usize, Vec<Claim>> = BTreeMap::new();
    for claim in inputs.claims {
        if let Some(paid_in) = inputs.ledger.paid_claims.get(&claim.claim_id) {
            warnings.push(Warning::new(
                WarningCode::ClaimPaidAlready,
                format!(
                    "claim {} of partner {} was paid in {paid_in} already; its decided_on is now in {period}, so it was not paid again",
                    claim.claim_id, partners[claim.partner].id
                ),
            ));
            continue;
        }
        by_partner
            .entry(claim.partner)
            .or_default()
            .push(claim.clone());
    }
    by_partner
}

/// Every partner's evaluation, in partner order. Partners are independent until the budget: runs of
/// them are evaluated on every core, a wave at a time (so only a wave's results wait to be merged),
/// and handed to `take` in partner order, so the lines, the warnings and the first error are those of
/// one pass. Each wave is taken before the next starts: its per-partner lines are freed for the next
/// wave to reuse, where collecting every wave first held all lines twice (at 10M rows, 130 MB).
fn evaluate_partners(
    program: &Program,
    period: &Period,
    inputs: &Inputs,
    claims: &BTreeMap<usize, Vec<Claim>>,
    mut take: impl FnMut(PartnerResult),
) -> Result<()> {
    let count = inputs.partners.partners.len();
    let run = PARTNERS_PER_TASK * crate::worker_threads();
    let evaluate_run = |range: std::ops::Range<usize>| -> Result<Vec<PartnerResult>> {
        range
            .map(|index| evaluate_partner(program, period, inputs, claims, index))
            .collect()
    };
    for wave_start in (0..count).step_by(run) {
        let wave_end = (wave_start + run).min(count);
        let runs: Vec<_> = (wave_start..wave_end)
            .step_by(PARTNERS_PER_TASK)
            .map(|start| start..(start + PARTNERS_PER_TASK).min(wave_end))
            .collect();
        let results: Vec<Result<Vec<PartnerResult>>> = if runs.len() == 1 {
            runs.into_iter().map(evaluate_run).collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = runs
                    .into_iter()
                    .map(|range| scope.spawn(move || evaluate_run(range)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect()
            })
        };
        for result in results {
            result?.into_iter().for_each(&mut take);
        }
    }
    Ok(())
}

/// Fund balances of funds the program no longer defines are carried untouched, not lost.
fn carry_unknown_funds(
    program: &Program,
    inputs: &Inputs,
    fund_balances: &mut BTreeMap<(usize, String), Decimal>,
    warnings: &mut Vec<Warning>,
) {
    for ((partner, fund), balance) in &inputs.ledger.funds {
        if program.rule(fund).is_none_or(|r| !r.is_fund()) {
            warnings.push(Warning::new(
                WarningCode::FundWithoutRule,
                format!(
                    "partner {}: fund balance {} of `{fund}` carried unchanged: the program has no such fund rule",
                    inputs.partners.partners[*partner].id, balance
                ),
            ));
            fund_balances.insert((*partner, fund.clone()), *balance);
        }
    }
}

/// balances.csv's rows: each partner's carried payout balance, pending balance and fund balances,
/// the non-zero ones, by partner and account.
fn balances(payouts: &[Payout], fund_balances: BTreeMap<(usize, String), Decimal>) -> Vec<Balance> {
    let mut balances = Vec::new();
    for payout in payouts {
        for (account, balance) in [("payout", payout.carried_out), ("pending", payout.pending)] {
            if !balance.is_zero() {
                balances.push(Balance {
                    partner: payout.partner,
                    account: account.into(),
                    balance,
                });
            }
        }
    }
    for ((partner, fund), balance) in fund_balances {
        if !balance.is_zero() {
            balances.push(Balance {
                partner,
                account: format!("fund:{fund}"),
                balance,
            });
        }
    }
    balances.sort_by(|a, b| (a.partner, &a.account).cmp(&(b.partner, &b.account)));
    balances
}

/// Next month's `--ledger` refuses a ledger that holds a line twice (SPEC §7), so this run must never
/// write one: a guard against a rule writing two lines with the same key.
fn ensure_lines_are_unique(outcome: &Outcome, partners: &[Partner]) -> Result<()> {
    // Lines come by partner and keys include the partner: the partners are checked in two halves,
    // one per core (at 10M deal rows one pass over every line's keys took 0.15 s after the
    // evaluation), the first half's error first, as one pass would report it.
    let mid = partners.len() / 2;
    let half = |from: usize, to: usize| {
        Outcome::merged_by_partner(
            of_partners(&outcome.lines, from, to),
            of_partners(&outcome.movements, from, to),
        )
    };
    let (first, second) = std::thread::scope(|scope| {
        let second = scope.spawn(|| lines_are_unique(half(mid, partners.len()), partners));
        let first = lines_are_unique(half(0, mid), partners);
        (
            first,
            second
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p)),
        )
    });
    first.and(second)
}

/// The lines of partners `from..to` among lines sorted by partner.
fn of_partners(lines: &[Line], from: usize, to: usize) -> &[Line] {
    let start = lines.partition_point(|l| l.partner < from);
    let end = lines.partition_point(|l| l.partner < to);
    &lines[start..end]
}

/// [`ensure_lines_are_unique`] of lines that come by partner.
fn lines_are_unique<'a>(lines: impl Iterator<Item = &'a Line>, partners: &[Partner]) -> Result<()> {
    // FNV, not SipHash: the keys are the run's own, and at 10M deal rows SipHash took 0.1 s here.
    let mut seen = std::collections::HashSet::with_hasher(crate::input::FnvBuild::default());
    let mut current = None;
    for line in lines {
        if current != Some(line.partner) {
            seen.clear();
            current = Some(line.partner);
        }
        // SPEC §7: a line's identity includes its kind (a release and a clawback of one row in one
        // period are two lines).
        let key = (
            line.kind == LineKind::Fund,
            line.kind.is_pending(),
            line.kind.name(),
            &*line.rule_id,
            line.source,
            &*line.source_id,
        );
        if !seen.insert(key) {
            return Err(crate::error::Error::Calculation(format!(
                "partner {}: rule `{}` wrote two lines for {} `{}`; this is a payline bug, please report it",
                partners[line.partner].id,
                line.rule_id,
                line.source.name(),
                line.source_id
            )));
        }
    }
    Ok(())
}

/// The account movements of the period, by partner: the funds' accruals and allocations, a `fund` line
/// of −x on `fund:RULE_ID` for each claim a fund paid (the claim's own line puts x on the payout
/// account), then one `payout` line of −paid. With them every account's ledger lines add up to its
/// balance.
fn movements(
    program: &Program,
    per_partner: &PartnerLines,
    fund_inflows: Vec<Vec<Line>>,
    payouts: &[Payout],
) -> Vec<Line> {
    let units = program.minor_units();
    let money = |v: Decimal| crate::model::money::format_money(v, units);
    let mut out = Vec::new();
    let mut payouts = payouts.iter().peekable();
    for (partner, inflows) in fund_inflows.into_iter().enumerate() {
        out.extend(inflows);
        for claim in per_partner
            .of(partner)
            .filter(|l| l.kind == LineKind::Claim)
        {
            out.push(Line {
                partner,
                rule_id: claim.rule_id.clone(),
                kind: LineKind::Fund,
                source: Source::Claim,
                source_id: claim.source_id.clone(),
                basis: None,
                rate: None,
                amount: -claim.amount,
                note: format!(
                    "drawn from fund {} for claim {}",
                    claim.rule_id, claim.source_id
                ),
            });
        }
        while let Some(payout) = payouts.next_if(|p| p.partner <= partner) {
            if payout.partner < partner || payout.paid.is_zero() {
                continue;
            }
            let mut note = format!("paid {} {}", money(payout.paid), program.currency);
            if payout.payout_currency != program.currency {
                note.push_str(&format!(
                    " as {} {} at {} {} per {}",
                    crate::model::money::format_money(
                        payout.paid_in_payout_currency,
                        crate::model::money::minor_units(&payout.payout_currency)
                    ),
                    payout.payout_currency,
                    crate::model::money::format_rate(payout.fx_rate),
                    program.currency,
                    payout.payout_currency
                ));
            }
            if let Some(due) = payout.due_on {
                note.push_str(&format!("; due {due}"));
            }
            out.push(Line {
                partner,
                rule_id: "".into(),
                kind: LineKind::Payout,
                source: Source::Payout,
                source_id: "".into(),
                basis: None,
                rate: None,
                amount: -payout.paid,
                note,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rules::testkit::partner;

    fn line(partner: usize, kind: LineKind, source_id: &str) -> Line {
        Line {
            partner,
            rule_id: "r".into(),
            kind,
            source: Source::Deal,
            source_id: source_id.into(),
            basis: None,
            rate: None,
            amount: Decimal::ONE,
            note: String::new(),
        }
    }

    /// The guard checks its two halves of partners: a repeated line is found wherever it is, and
    /// the error names the first one in line order.
    #[test]
    fn a_line_written_twice_is_refused_in_either_half_of_the_partners() {
        let partners: Vec<Partner> = ["P0", "P1", "P2", "P3", "P4"].map(partner).to_vec();
        let fund = LineKind::Fund;
        let outcome = |lines: Vec<Line>, movements: Vec<Line>| Outcome {
            lines,
            movements,
            ..Outcome::default()
        };
        let clawback = LineKind::Clawback;
        let unique = (0..5).map(|p| line(p, clawback, "D1")).collect::<Vec<_>>();
        assert!(ensure_lines_are_unique(&outcome(unique.clone(), vec![]), &partners).is_ok());
        for twice in [0, 1, 2, 4] {
            let mut lines = unique.clone();
            lines.insert(twice, line(twice, clawback, "D1"));
            let error = ensure_lines_are_unique(&outcome(lines, vec![]), &partners).unwrap_err();
            assert!(
                error.to_string().contains(&format!("partner P{twice}:")),
                "{error}"
            );
        }
        // Two repeats: the first partner's is reported, as one pass would.
        let mut lines = unique.clone();
        lines.insert(4, line(4, clawback, "D1"));
        lines.insert(1, line(1, clawback, "D1"));
        let error = ensure_lines_are_unique(&outcome(lines, vec![]), &partners).unwrap_err();
        assert!(error.to_string().contains("partner P1:"), "{error}");
        // A movement repeated in the second half; and a movement is not an earned line's repeat.
        let movements = vec![line(3, fund, "D1"), line(3, fund, "D1")];
        let error = ensure_lines_are_unique(&outcome(unique.clone(), movements), &partners);
        assert!(error.unwrap_err().to_string().contains("partner P3:"));
        let movements = vec![line(3, fund, "D1")];
        assert!(ensure_lines_are_unique(&outcome(unique, movements), &partners).is_ok());
    }
}
