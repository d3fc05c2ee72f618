//! `accumulate` (SPEC §8.7): plan period to date, for `tiered`, `rebate` and `goal`.
//!
//! With `accumulate = "quarter"` (or `"year"`) the rule's measure runs from the first day of the
//! calendar quarter (year) containing the period's first day — the *span* — to the period's end, and
//! the rule is evaluated over the span's deals. This period writes the lines of its own deals as that
//! evaluation gives them, plus one `true-up` line: what the evaluation gives the span's earlier deals
//! (a period-based rule: the span's whole amount) minus what the ledger shows the rule already paid
//! the partner for them. So after the span's last period the rule has paid exactly what one run over
//! the span would have.
//!
//! "Already paid" (`paid`) = the rule's ledger lines in the span's earlier periods (kept by the
//! ledger loader as `LedgerData::span_paid`: earned lines, true-ups, clawbacks of rows it paid in the
//! span; not the lines of a row re-dated into this period) plus this period's clawbacks of rows
//! closed in the span's earlier periods. A run whose period starts on the span's first day has no
//! earlier periods: the rule is evaluated as without `accumulate`.

use super::{Rule, RuleKind};
use crate::engine::context::PartnerCtx;
use crate::engine::line::{Line, LineKind, Source};
use crate::error::{Error, Result, Warning, WarningCode};
use crate::model::Deal;
use crate::model::period::{Period, PeriodKind};
use crate::program::Program;
use crate::program::parse::{Field, Tbl, choice};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The calendar span a rule's measure accumulates over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accumulate {
    Quarter,
    Year,
}

impl Accumulate {
    const CHOICES: &[(&str, Accumulate)] =
        &[("quarter", Accumulate::Quarter), ("year", Accumulate::Year)];

    pub fn name(self) -> &'static str {
        match self {
            Accumulate::Quarter => "quarter",
            Accumulate::Year => "year",
        }
    }

    /// The calendar quarter or year containing `day`; `None` outside the years payline runs.
    pub fn span_of(self, day: NaiveDate) -> Option<Period> {
        let id = match self {
            Accumulate::Quarter => format!("{}-Q{}", day.year(), day.month0() / 3 + 1),
            Accumulate::Year => day.year().to_string(),
        };
        Period::parse(&id)
    }
}

/// Reads the optional `accumulate` key (an unknown word is an error at its line and column).
pub(crate) fn parse(t: &Tbl) -> Field<Accumulate> {
    t.value("accumulate", choice(Accumulate::CHOICES))
}

/// An accumulating rule's span for this run, when the span has periods before this one.
#[derive(Debug, Clone)]
pub(crate) struct Span<'a> {
    /// The whole calendar quarter or year.
    pub span: Period,
    pub period: &'a Period,
}

impl<'a> Span<'a> {
    /// The span of `rule` for `period`, when the rule accumulates and the span starts before the
    /// period (otherwise the rule is evaluated over the period alone).
    pub fn of(rule: &Rule, period: &'a Period) -> Option<Span<'a>> {
        let span = rule.kind.accumulate()?.span_of(period.start)?;
        (span.start < period.start).then_some(Span { span, period })
    }

    /// The partner's rows of the span's earlier periods that pass the rule's deal keys and count at
    /// the period's end, in processing order.
    pub fn earlier_deals<'d>(&self, rule: &Rule, ctx: &PartnerCtx<'d>) -> Vec<&'d Deal> {
        let earlier = &ctx.inputs.deals.earlier;
        let start = earlier.partition_point(|d| d.partner < ctx.index);
        let end = earlier.partition_point(|d| d.partner <= ctx.index);
        earlier[start..end]
            .iter()
            .filter(|d| d.closed_on >= self.span.start && ctx.takes(rule, d))
            .collect()
    }

    /// `Oct–Nov`, `Oct`, `Jan–Sep`: the span's earlier periods, as a partner reads them.
    pub fn earlier_months(&self) -> String {
        let first = self.span.start;
        let last = self.period.start.pred_opt().unwrap_or(first);
        if (first.year(), first.month()) == (last.year(), last.month()) {
            first.format("%b").to_string()
        } else {
            format!("{}–{}", first.format("%b"), last.format("%b"))
        }
    }

    /// Whether the rule paid `deal_id` of the partner in the span's earlier periods (SPEC §8.7: a
    /// row belongs to the true-up by where the rule paid it).
    fn paid_in_span(&self, rule: &Rule, ctx: &PartnerCtx, deal_id: &str) -> bool {
        let key = (ctx.index, deal_id.to_string(), rule.id.to_string());
        ctx.inputs.ledger.span_rows.contains_key(&key)
    }

    /// What the ledger shows the rule already paid the partner for the span's earlier deals
    /// (module doc), as (the ledger's lines, this period's clawbacks and cancels of the rows it
    /// paid in the span).
    pub fn paid(&self, rule: &Rule, ctx: &PartnerCtx) -> Result<(Decimal, Decimal)> {
        let calc = ctx.calc(rule);
        let ledger = ctx
            .inputs
            .ledger
            .span_paid
            .get(&(ctx.index, rule.id.to_string()))
            .copied()
            .unwrap_or(Decimal::ZERO);
        // This period's clawbacks of the rows the rule paid in the span, and its cancels of their
        // held lines (§8.2): both take back what the ledger counted as paid. A row paid before the
        // span is outside the true-up, wherever its closed_on lies now.
        let in_span = |d: &Deal| self.paid_in_span(rule, ctx, &d.deal_id);
        let clawed = crate::engine::history::recovered_now_where(
            ctx.program,
            ctx.inputs,
            ctx.index,
            &rule.id,
            in_span,
        )
        .zip(crate::engine::history::cancelled_now_where(
            ctx.program,
            ctx.period,
            ctx.inputs,
            ctx.index,
            &rule.id,
            in_span,
        ))
        .and_then(|(clawed, cancelled)| clawed.checked_add(cancelled));
        let clawed = calc.ok(clawed, || {
            format!("this period's clawbacks of {} to date", self.span)
        })?;
        Ok((ledger, clawed))
    }

    /// What this period's clawbacks and cancels take back of each row the rule paid in the span,
    /// by deal_id (what [`Span::paid`] counts for the whole partner), in one pass over them.
    fn taken_now(&self, rule: &Rule, ctx: &PartnerCtx) -> Result<BTreeMap<String, Decimal>> {
        use crate::engine::history::{cancelled_now_rows, recovered_now_rows};
        let in_span = |d: &Deal| self.paid_in_span(rule, ctx, &d.deal_id);
        let (program, inputs, index) = (ctx.program, ctx.inputs, ctx.index);
        let recovered = recovered_now_rows(program, inputs, index, &rule.id, in_span);
        let cancelled = cancelled_now_rows(program, ctx.period, inputs, index, &rule.id, in_span)
            .map(|(deal_id, amount)| (deal_id, Some(amount)));
        let mut taken: BTreeMap<String, Decimal> = BTreeMap::new();
        for (deal_id, amount) in recovered.chain(cancelled) {
            let sum = taken.entry(deal_id.to_string()).or_default();
            let total = amount.and_then(|a| sum.checked_add(a));
            *sum = ctx.calc(rule).ok(total, || {
                format!("this period's clawbacks of deal {deal_id}")
            })?;
        }
        Ok(taken)
    }

    /// The true-up line: `due` (what the span's evaluation gives the earlier deals, or the span's
    /// amount) minus what was paid; `why` explains `due` and ends with `; ` when not empty.
    pub fn true_up(&self, rule: &Rule, ctx: &PartnerCtx, due: Decimal, why: &str) -> Result<Line> {
        let calc = ctx.calc(rule);
        let (ledger, clawed) = self.paid(rule, ctx)?;
        let overflow = || format!("the true-up for {} to date", self.span);
        let paid = calc.ok(ledger.checked_sub(clawed), overflow)?;
        let amount = calc.ok(due.checked_sub(paid), overflow)?;
        let months = self.earlier_months();
        let paid = match (ctx.inputs.ledger.dir.is_some(), clawed.is_zero()) {
            (false, _) => format!("nothing counted as paid in {months} (no --ledger)"),
            (true, true) => format!("{} paid in {months}", ctx.money(ledger)),
            (true, false) => format!(
                "{} paid in {months} less {} clawed back now",
                ctx.money(ledger),
                ctx.money(clawed)
            ),
        };
        Ok(Line {
            partner: ctx.index,
            rule_id: rule.id.clone(),
            kind: LineKind::TrueUp,
            source: Source::Period,
            source_id: self.span.to_string().into(),
            basis: Some(due),
            rate: None,
            amount: ctx.program.round(amount),
            note: format!(
                "{why}true-up for {} to date: {} due, {paid}",
                self.span,
                ctx.money(due)
            ),
        })
    }

    /// A deal-based rule's lines over the span: the lines of this period's deals (their notes say
    /// the measure ran over the span) and one true-up for the lines of the earlier deals. In the
    /// span's last period, also each row's part of the span's true-ups (SPEC §4.12).
    pub fn settle_deals(
        &self,
        rule: &Rule,
        ctx: &PartnerCtx,
        earlier: &[&Deal],
        lines: Vec<Line>,
    ) -> Result<(Vec<Line>, Vec<TrueUpPart>)> {
        let ids: std::collections::BTreeSet<&str> = earlier.iter().map(|d| &*d.deal_id).collect();
        // A row of this period that the rule paid earlier in the span (the CRM re-dated it within
        // the span) is settled like the earlier rows: its due goes into the true-up, and what was
        // paid for it counts as paid, so the span still pays what one run over it would.
        let (mut before, mut now): (Vec<Line>, Vec<Line>) = lines.into_iter().partition(|l| {
            ids.contains(&*l.source_id) || self.paid_in_span(rule, ctx, &l.source_id)
        });
        // A row paid before the span (re-dated into it) counts in the measure but is paid once;
        // so does one another rule of its group paid (re-labelled since, SPEC §9.5, §7).
        let ledger = &ctx.inputs.ledger;
        let in_group = |r: &&Rule| rule.group.is_some() && r.group == rule.group && r.id != rule.id;
        let pays_on_cash = |r: &Rule| r.pay_on() != crate::engine::payments::PayOn::Close;
        // Only when the ledger shows the group paid something are the rows looked at one by one.
        let group_paid = !ledger.paid_in_group.is_empty()
            || (!ledger.paid_payments.is_empty()
                && ctx.program.rules.iter().filter(in_group).any(pays_on_cash));
        let members: Vec<&str> = match group_paid {
            true => (ctx.program.rules.iter().filter(in_group))
                .map(|r| &*r.id)
                .collect(),
            false => Vec::new(),
        };
        // A member paying on payment paid the row by its payment lines (paid_payments.csv).
        let paid_on_payments = rows_paid_on_payments(ctx, &members);
        let mut paid_by_group = Vec::new();
        if !ledger.paid_before_span.is_empty() || !members.is_empty() {
            before.retain(|l| {
                let key = |id: &str| (ctx.index, l.source_id.to_string(), id.to_string());
                let by = members.iter().find(|m| {
                    ledger.paid_in_group.contains(&key(m))
                        || paid_on_payments.contains(&(**m, &*l.source_id))
                });
                if let Some(by) = by {
                    paid_by_group.push(format!("{} (paid by rule `{by}`)", l.source_id));
                }
                !ledger.paid_before_span.contains(&key(&rule.id)) && by.is_none()
            });
        }
        let due = ctx.calc(rule).sum(before.iter().map(|l| l.amount), || {
            format!("the lines of {} to date", self.span)
        })?;
        let parts = if self.period.end == self.span.end {
            self.parts(rule, ctx, &before)?
        } else {
            Vec::new()
        };
        for line in &mut now {
            line.note
                .push_str(&format!("; measured over {} to date", self.span));
        }
        let mut why = format!(
            "{} deal{} of {} re-rated over {} to date; ",
            earlier.len(),
            if earlier.len() == 1 { "" } else { "s" },
            self.earlier_months(),
            self.span
        );
        if !paid_by_group.is_empty() {
            why.push_str(&format!(
                "left out, paid by another rule of its group: {}; ",
                paid_by_group.join(", ")
            ));
        }
        now.push(self.true_up(rule, ctx, due, &why)?);
        Ok((now, parts))
    }

    /// In the span's last period: each row's part of the span's true-ups, its line in this (the
    /// last) evaluation over the span less its own lines of the span's earlier periods; a row the
    /// rule paid in the span that no longer counts has a line of 0. Zero parts are left out.
    fn parts(&self, rule: &Rule, ctx: &PartnerCtx, before: &[Line]) -> Result<Vec<TrueUpPart>> {
        let calc = ctx.calc(rule);
        let mut due: BTreeMap<&str, Decimal> = BTreeMap::new();
        for line in before {
            let sum = due.entry(&*line.source_id).or_default();
            *sum = calc.ok(sum.checked_add(line.amount), || {
                format!("the lines of {} to date", self.span)
            })?;
        }
        let own_lines = ctx
            .inputs
            .ledger
            .span_rows
            .range((ctx.index, String::new(), String::new())..)
            .take_while(|((p, _, _), _)| *p == ctx.index)
            .filter(|((_, _, r), _)| *r == *rule.id);
        let mut own: BTreeMap<&str, Decimal> = BTreeMap::new();
        for ((_, deal_id, _), amount) in own_lines {
            own.insert(deal_id, *amount);
            due.entry(deal_id).or_default();
        }
        let taken_now = self.taken_now(rule, ctx)?;
        let mut parts = Vec::new();
        for (deal_id, line) in due {
            // What the row holds of the rule: its own lines less what its clawbacks, cuts and
            // cancels took back, in the span's earlier periods and now (a partial refund inside
            // the span is recovered once: its part is not recorded as owed back too).
            let key = (ctx.index, deal_id.to_string(), rule.id.to_string());
            let taken = ctx.inputs.ledger.span_taken.get(&key).copied();
            let now = taken_now.get(deal_id).copied().unwrap_or_default();
            let paid = own.get(deal_id).copied().unwrap_or_default();
            let part = paid
                .checked_add(taken.unwrap_or_default())
                .and_then(|held| held.checked_sub(now))
                .and_then(|held| line.checked_sub(held));
            let part = calc.ok(part, || {
                format!("deal {deal_id}'s part of the true-ups of {}", self.span)
            })?;
            if !part.is_zero() {
                parts.push(TrueUpPart {
                    partner: ctx.index,
                    rule_id: rule.id.clone(),
                    deal_id: deal_id.into(),
                    span: self.span.clone(),
                    part,
                });
            }
        }
        Ok(parts)
    }
}

/// A row's part of an accumulating rule's true-ups over a span that ended (SPEC §4.12): what the
/// span's last evaluation gave the row, less its own lines of the span. A later clawback of the row
/// recovers its own lines and this part; the batch records it in `true_up_parts.csv`, carried down
/// the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct TrueUpPart {
    pub partner: usize,
    pub rule_id: crate::model::Text,
    pub deal_id: crate::model::Text,
    pub span: Period,
    pub part: Decimal,
}

/// The rows a rule measures: the span's earlier rows when it accumulates, then the period's own,
/// all passing the rule's deal keys, in processing order.
pub(crate) fn measured<'d>(rule: &Rule, ctx: &PartnerCtx<'d>) -> Vec<&'d Deal> {
    let mut deals = match Span::of(rule, ctx.period) {
        Some(span) => span.earlier_deals(rule, ctx),
        None => Vec::new(),
    };
    deals.extend(ctx.qualifying(rule, ctx.deals));
    deals
}

/// A period-based rule's lines: as evaluated when the span has no earlier periods; otherwise one
/// true-up of the span's amount (`line`'s, or 0 when the span does not earn it, `unmet` saying why)
/// less what was paid.
pub(crate) fn settle_period(
    rule: &Rule,
    ctx: &PartnerCtx,
    line: Option<Line>,
    unmet: impl FnOnce() -> String,
) -> Result<Vec<Line>> {
    let Some(span) = Span::of(rule, ctx.period) else {
        return Ok(line.into_iter().collect());
    };
    let (due, why) = match line {
        Some(l) => (
            l.amount,
            format!("over {} to date, {}; ", span.span, l.note),
        ),
        None => (
            Decimal::new(0, ctx.program.minor_units()),
            format!("over {} to date, {}; ", span.span, unmet()),
        ),
    };
    Ok(vec![span.true_up(rule, ctx, due, &why)?])
}

/// The first day of the rule's span when the span has periods before `period` (what the deal
/// loader and the ledger loader must keep for it).
pub fn earlier_from(rule: &Rule, period: &Period) -> Option<NaiveDate> {
    let span = rule.kind.accumulate()?.span_of(period.start)?;
    (span.start < period.start).then_some(span.start)
}

/// Run-wide checks of accumulating rules: a period longer than the span is an error (a yearly run
/// of a quarterly accumulator would be evaluated over no one quarter); earlier periods without
/// `--ledger` are a warning (nothing counts as paid).
pub(crate) fn check(
    program: &Program,
    period: &Period,
    has_ledger: bool,
    warnings: &mut Vec<Warning>,
) -> Result<()> {
    for rule in &program.rules {
        let Some(accumulate) = rule.kind.accumulate() else {
            continue;
        };
        let Some(span) = accumulate.span_of(period.start) else {
            continue;
        };
        if span.end < period.end {
            let what = match period.kind {
                PeriodKind::Year => "year",
                PeriodKind::Quarter => "quarter",
                PeriodKind::Month => "month",
            };
            return Err(Error::Calculation(format!(
                "rule `{}` accumulates over the {} to date (accumulate = \"{}\"), but the {what} {period} spans more than one {}: run its {}s or months instead",
                rule.id,
                accumulate.name(),
                accumulate.name(),
                accumulate.name(),
                accumulate.name()
            )));
        }
        if span.start < period.start && !has_ledger {
            warnings.push(Warning::new(
                WarningCode::AccumulateWithoutLedger,
                format!(
                    "rule `{}` accumulates over {span} to date, but no --ledger was given: nothing counts as paid for {} to {}, so its true-ups pay that part of the {} in full (run the periods in order, each with the previous batch as --ledger)",
                    rule.id,
                    span.start,
                    period.start.pred_opt().unwrap_or(span.start),
                    accumulate.name()
                ),
            ));
        }
    }
    Ok(())
}

impl RuleKind {
    /// The span the rule's measure accumulates over, when it says `accumulate`.
    pub fn accumulate(&self) -> Option<Accumulate> {
        match self {
            RuleKind::Tiered(c) => c.accumulate,
            RuleKind::Rebate(c) => c.accumulate,
            RuleKind::Goal(c) => c.accumulate,
            RuleKind::Flat(_)
            | RuleKind::Percent(_)
            | RuleKind::Spif(_)
            | RuleKind::Growth(_)
            | RuleKind::Activity(_)
            | RuleKind::Milestone(_)
            | RuleKind::Fund(_) => None,
        }
    }
}

/// The (rule, deal_id) of the partner's rows that `members` paid by payment lines (SPEC §9.1), as
/// the ledger's paid_payments.csv records them.
fn rows_paid_on_payments<'l>(
    ctx: &PartnerCtx<'l>,
    members: &[&'l str],
) -> std::collections::BTreeSet<(&'l str, &'l str)> {
    let mut out = std::collections::BTreeSet::new();
    for &member in members {
        for p in ctx.inputs.ledger.paid_payments_of(ctx.index, member) {
            out.insert((member, &*p.deal_id));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{Fixture, d, date, deal, expect, messages, parse_errors, rules};
    use super::*;

    const TIERS: &str = r#"[{ from = "0", rate = "0.05" }, { from = "20000", rate = "0.08" }, { from = "40000", rate = "0.10" }]"#;

    fn tiered(mode: &str) -> String {
        format!(
            "[[rules]]\nid = \"t\"\nkind = \"tiered\"\nmode = \"{mode}\"\naccumulate = \"quarter\"\ntiers = {TIERS}\n"
        )
    }

    const REBATE: &str = "[[rules]]\nid = \"r\"\nkind = \"rebate\"\nthreshold = \"50000.00\"\nrate = \"0.02\"\naccumulate = \"quarter\"\n";
    const GOAL: &str = "[[rules]]\nid = \"g\"\nkind = \"goal\"\nmeasure = \"deals\"\ntarget = 3\namount = \"500.00\"\naccumulate = \"quarter\"\n";

    fn in_period(mut f: Fixture, period: &str) -> Fixture {
        f.period = Period::parse(period).unwrap();
        f
    }

    #[test]
    fn the_span_is_the_calendar_quarter_or_year_of_the_first_day() {
        let cases = [
            (Accumulate::Quarter, "2026-11-01", "2026-Q4"),
            (Accumulate::Quarter, "2026-10-01", "2026-Q4"),
            (Accumulate::Quarter, "2026-03-01", "2026-Q1"),
            (Accumulate::Year, "2026-07-01", "2026"),
        ];
        for (accumulate, day, span) in cases {
            let got = accumulate.span_of(date(day)).map(|p| p.to_string());
            assert_eq!(got.as_deref(), Some(span), "{day}");
        }
        let program = rules(&tiered("retroactive"));
        let rule = &program.rules[0];
        let months = |period: &str| {
            let period = Period::parse(period).unwrap();
            Span::of(rule, &period).map(|s| s.earlier_months())
        };
        // the quarter's first month and the quarter itself have no earlier periods
        assert_eq!(months("2026-10"), None);
        assert_eq!(months("2026-Q4"), None);
        assert_eq!(months("2026-11").as_deref(), Some("Oct"));
        assert_eq!(months("2026-12").as_deref(), Some("Oct–Nov"));
        let yearly = rules(&tiered("retroactive").replace("\"quarter\"", "\"year\""));
        let period = Period::parse("2026-Q4").unwrap();
        let span = Span::of(&yearly.rules[0], &period).unwrap();
        assert_eq!(span.earlier_months(), "Jan–Sep");
        assert_eq!(
            earlier_from(&yearly.rules[0], &period),
            Some(date("2026-01-01"))
        );
    }

    #[test]
    fn retroactive_re_rates_the_earlier_deals_in_one_true_up() {
        // Nov: quarter to date 12000 + 6000 (Oct) + 10000 = 28000 → 8% on every deal.
        // A3 (this month) 800.00; A1, A2 due 960 + 480 = 1440.00, 900.00 paid → true-up 540.00.
        let f = in_period(Fixture::new(&tiered("retroactive")), "2026-11")
            .earlier(vec![
                deal("A1", "2026-10-05", "12000.00"),
                deal("A2", "2026-10-20", "6000.00"),
            ])
            .deals(vec![deal("A3", "2026-11-10", "10000.00")])
            .span_paid("t", "900.00");
        assert_eq!(
            f.lines("t"),
            expect(&[("A3", "800.00"), ("2026-Q4", "540.00")])
        );
        let out = f.output("t");
        assert_eq!(
            out.lines[0].note,
            "tier 2 (8%) of 10000.00: period revenue 28000.00 reaches 20000.00; measured over 2026-Q4 to date"
        );
        let true_up = &out.lines[1];
        assert_eq!(true_up.kind, LineKind::TrueUp);
        assert_eq!(true_up.source, Source::Period);
        assert_eq!(true_up.basis, Some(d("1440.00")));
        assert_eq!(
            true_up.note,
            "2 deals of Oct re-rated over 2026-Q4 to date; true-up for 2026-Q4 to date: 1440.00 due, 900.00 paid in Oct"
        );
    }

    #[test]
    fn marginal_continues_the_cumulative_measure_from_the_span_start() {
        // Oct D1 15000 [0, 15000) all 5% = 750.00 (paid). Nov D2 [15000, 25000):
        // 5000 × 5% + 5000 × 8% = 250 + 400 = 650.00. D1 due 750.00 = paid: no true-up written.
        let f = in_period(Fixture::new(&tiered("marginal")), "2026-11")
            .earlier(vec![deal("D1", "2026-10-05", "15000.00")])
            .deals(vec![deal("D2", "2026-11-02", "10000.00")])
            .span_paid("t", "750.00");
        assert_eq!(f.lines("t"), expect(&[("D2", "650.00")]));
    }

    #[test]
    fn this_months_clawbacks_of_the_span_count_as_paid_back_and_older_ones_do_not() {
        // Dec: A2 (Oct) refunded 12-10: it no longer counts; its clawback recovers 300.00.
        // Quarter to date A1 12000 + A3 10000 + A4 15000 = 37000 → 8%.
        // A4 1200.00; A1 960 + A3 800 = 1760.00 due; paid 2240.00 − 300.00 = 1940.00 → −180.00.
        // S9 closed in September (before the span) is clawed back too, but not by the true-up.
        let mut a2 = deal("A2", "2026-10-20", "6000.00");
        a2.reversed_on = Some(date("2026-12-10"));
        let mut s9 = deal("S9", "2026-09-20", "1000.00");
        s9.reversed_on = Some(date("2026-12-01"));
        let f = in_period(Fixture::new(&tiered("retroactive")), "2026-12")
            .earlier(vec![
                deal("A1", "2026-10-05", "12000.00"),
                deal("A3", "2026-11-10", "10000.00"),
            ])
            .deals(vec![deal("A4", "2026-12-03", "15000.00")])
            .reversal(a2, "2026-12-10")
            .reversal(s9, "2026-12-01")
            .deal_earning("A2", "t", "300.00")
            .deal_earning("S9", "t", "50.00")
            .span_row("A1", "t", "600.00")
            .span_row("A2", "t", "300.00")
            .span_row("A3", "t", "800.00")
            .span_paid("t", "2240.00");
        assert_eq!(
            f.lines("t"),
            expect(&[("A4", "1200.00"), ("2026-Q4", "-180.00")])
        );
        assert_eq!(
            f.output("t").lines[1].note,
            "2 deals of Oct–Nov re-rated over 2026-Q4 to date; true-up for 2026-Q4 to date: 1760.00 due, 2240.00 paid in Oct–Nov less 300.00 clawed back now"
        );
    }

    #[test]
    fn a_row_belongs_to_the_true_up_by_where_the_rule_paid_it() {
        // D1 10000 paid 500.00 in October; December's export re-dates it to 12-05 and cancels it
        // on 12-15. Its clawback (−500.00) counts as paid back: the rule paid it in the span.
        // D2 4000 → 5% = 200.00 due; paid 700.00 − 500.00 = 200.00 → no true-up.
        let mut d1 = deal("D1", "2026-12-05", "10000.00");
        d1.status = crate::model::DealStatus::Cancelled;
        let paid_in_october = in_period(Fixture::new(&tiered("retroactive")), "2026-12")
            .earlier(vec![deal("D2", "2026-10-20", "4000.00")])
            .reversal(d1.clone(), "2026-12-15")
            .deal_earning("D1", "t", "500.00")
            .span_row("D1", "t", "500.00")
            .span_row("D2", "t", "200.00")
            .span_paid("t", "700.00");
        assert_eq!(paid_in_october.lines("t"), expect(&[]));
        // The same row paid in September (before the span, re-dated into it): outside the true-up,
        // its clawback is not paid back of the span. 200.00 due, 200.00 paid → nothing.
        let paid_before = in_period(Fixture::new(&tiered("retroactive")), "2026-12")
            .earlier(vec![deal("D2", "2026-10-20", "4000.00")])
            .reversal(d1, "2026-12-15")
            .deal_earning("D1", "t", "500.00")
            .span_row("D2", "t", "200.00")
            .span_paid("t", "200.00");
        assert_eq!(paid_before.lines("t"), expect(&[]));
    }

    #[test]
    fn the_spans_last_period_records_each_rows_part_of_the_true_ups() {
        // December, the quarter's last month: A1 12000 (Oct, paid 600.00 at 5%), A3 10000 (Nov,
        // paid 800.00 at 8%), A4 15000 (Dec) → 37000 → 8%. A1's line over the quarter 960.00 − 600.00
        // = part 360.00; A3 800.00 − 800.00 = 0 (not recorded); X paid 50.00 in October but
        // re-dated out of the quarter: line 0 − 50.00 = −50.00.
        let f = in_period(Fixture::new(&tiered("retroactive")), "2026-12")
            .earlier(vec![
                deal("A1", "2026-10-05", "12000.00"),
                deal("A3", "2026-11-10", "10000.00"),
            ])
            .deals(vec![deal("A4", "2026-12-03", "15000.00")])
            .span_row("A1", "t", "600.00")
            .span_row("A3", "t", "800.00")
            .span_row("X", "t", "50.00")
            .span_paid("t", "1990.00");
        let parts: Vec<(String, Decimal)> = f
            .output("t")
            .true_up_parts
            .iter()
            .map(|p| (p.deal_id.to_string(), p.part))
            .collect();
        assert_eq!(
            parts,
            vec![
                ("A1".to_string(), d("360.00")),
                ("X".to_string(), d("-50.00"))
            ]
        );
        // 1760.00 due for A1 and A3, 1990.00 paid (X's 50.00 included) → −230.00.
        assert_eq!(
            f.lines("t"),
            expect(&[("A4", "1200.00"), ("2026-Q4", "-230.00")])
        );
        // November is not the span's last period: nothing recorded.
        let november = in_period(Fixture::new(&tiered("retroactive")), "2026-11")
            .earlier(vec![deal("A1", "2026-10-05", "12000.00")])
            .span_row("A1", "t", "600.00")
            .span_paid("t", "600.00");
        assert!(november.output("t").true_up_parts.is_empty());
    }

    #[test]
    fn without_a_ledger_nothing_counts_as_paid_and_the_run_warns() {
        let f = in_period(Fixture::new(&tiered("retroactive")), "2026-11")
            .earlier(vec![deal("A1", "2026-10-05", "12000.00")])
            .deals(vec![deal("A3", "2026-11-10", "10000.00")]);
        // 22000 → 8%: A3 800.00; A1 960.00 due, nothing paid → 960.00.
        assert_eq!(
            f.lines("t"),
            expect(&[("A3", "800.00"), ("2026-Q4", "960.00")])
        );
        assert_eq!(
            f.output("t").lines[1].note,
            "1 deal of Oct re-rated over 2026-Q4 to date; true-up for 2026-Q4 to date: 960.00 due, nothing counted as paid in Oct (no --ledger)"
        );
        assert_eq!(
            messages(&f.run().warnings),
            vec![
                "rule `t` accumulates over 2026-Q4 to date, but no --ledger was given: nothing counts as paid for 2026-10-01 to 2026-10-31, so its true-ups pay that part of the quarter in full (run the periods in order, each with the previous batch as --ledger)"
                    .to_string()
            ]
        );
    }

    #[test]
    fn period_based_rules_write_one_true_up_of_the_span_amount() {
        // Oct (first month): 30000 < 50000, nothing; the usual rebate line once reached.
        let f = Fixture::new(REBATE).deals(vec![deal("R1", "2026-10-05", "52000.00")]);
        assert_eq!(f.lines("r"), expect(&[("2026-10", "1040.00")]));
        assert_eq!(
            f.output("r").lines[0].kind,
            LineKind::Rule(super::super::Kind::Rebate)
        );
        // Nov: 30000 + 25000 = 55000 → 2% = 1100.00 due, 0.00 paid → +1100.00.
        let f = in_period(Fixture::new(REBATE), "2026-11")
            .earlier(vec![deal("R1", "2026-10-05", "30000.00")])
            .deals(vec![deal("R2", "2026-11-12", "25000.00")])
            .span_paid("r", "0");
        assert_eq!(f.lines("r"), expect(&[("2026-Q4", "1100.00")]));
        // Dec: a refund left 45000 < 50000: 0.00 due, 1100.00 paid → −1100.00.
        let f = in_period(Fixture::new(REBATE), "2026-12")
            .earlier(vec![deal("R1", "2026-10-05", "30000.00")])
            .deals(vec![deal("R4", "2026-12-08", "15000.00")])
            .span_paid("r", "1100.00");
        assert_eq!(f.lines("r"), expect(&[("2026-Q4", "-1100.00")]));
        assert_eq!(
            f.output("r").lines[0].note,
            "over 2026-Q4 to date, revenue 45000.00 reaches no threshold; true-up for 2026-Q4 to date: 0.00 due, 1100.00 paid in Oct–Nov"
        );
    }

    #[test]
    fn a_goal_counts_the_quarters_deals_and_is_paid_once() {
        // Nov: 2 (Oct) + 1 = 3 deals ≥ 3 → 500.00 due, nothing paid → +500.00.
        let f = in_period(Fixture::new(GOAL), "2026-11")
            .earlier(vec![
                deal("A", "2026-10-01", "1.00"),
                deal("B", "2026-10-02", "1.00"),
            ])
            .deals(vec![deal("C", "2026-11-03", "1.00")])
            .span_paid("g", "0");
        assert_eq!(f.lines("g"), expect(&[("2026-Q4", "500.00")]));
        // Dec: still 3 deals, 500.00 paid → nothing more.
        let f = in_period(Fixture::new(GOAL), "2026-12")
            .earlier(vec![
                deal("A", "2026-10-01", "1.00"),
                deal("B", "2026-10-02", "1.00"),
                deal("C", "2026-11-03", "1.00"),
            ])
            .span_paid("g", "500.00");
        assert_eq!(f.lines("g"), expect(&[]));
        // Dec after a refund: 2 deals < 3 → −500.00.
        let f = in_period(Fixture::new(GOAL), "2026-12")
            .earlier(vec![
                deal("A", "2026-10-01", "1.00"),
                deal("C", "2026-11-03", "1.00"),
            ])
            .span_paid("g", "500.00");
        assert_eq!(f.lines("g"), expect(&[("2026-Q4", "-500.00")]));
        assert_eq!(
            f.output("g").lines[0].note,
            "over 2026-Q4 to date, deals 2 is short of target 3; true-up for 2026-Q4 to date: 0.00 due, 500.00 paid in Oct–Nov"
        );
    }

    #[test]
    fn the_next_threshold_is_measured_over_the_span() {
        // 12000 (Oct) + 6000 (Nov) = 18000 → next boundary 20000.
        let f = in_period(Fixture::new(&tiered("retroactive")), "2026-11")
            .earlier(vec![deal("A1", "2026-10-05", "12000.00")])
            .deals(vec![deal("A2", "2026-11-05", "6000.00")]);
        let t = f.threshold("t").unwrap();
        assert_eq!((t.current, t.next), (d("18000.00"), d("20000")));
    }

    #[test]
    fn a_period_longer_than_the_span_is_refused_and_shorter_ones_run() {
        let program = rules(&tiered("retroactive"));
        let check_in = |period: &str| {
            let mut warnings = Vec::new();
            let period = Period::parse(period).unwrap();
            check(&program, &period, true, &mut warnings).map_err(|e| e.to_string())
        };
        assert_eq!(
            check_in("2026"),
            Err("rule `t` accumulates over the quarter to date (accumulate = \"quarter\"), but the year 2026 spans more than one quarter: run its quarters or months instead".to_string())
        );
        assert_eq!(check_in("2026-Q4"), Ok(()));
        assert_eq!(check_in("2026-11"), Ok(()));
        let yearly = rules(&tiered("retroactive").replace("\"quarter\"", "\"year\""));
        let mut warnings = Vec::new();
        let q3 = Period::parse("2026-Q3").unwrap();
        assert!(check(&yearly, &q3, true, &mut warnings).is_ok());
        assert!(warnings.is_empty());
    }

    #[test]
    fn parse_reads_accumulate_and_reports_a_wrong_word_at_its_value() {
        for (body, id) in [
            (tiered("marginal"), 0),
            (REBATE.to_string(), 0),
            (GOAL.to_string(), 0),
        ] {
            let p = rules(&body);
            assert_eq!(
                p.rules[id].kind.accumulate(),
                Some(Accumulate::Quarter),
                "{body}"
            );
        }
        let p = rules(&tiered("marginal").replace("accumulate = \"quarter\"\n", ""));
        assert_eq!(p.rules[0].kind.accumulate(), None);
        let errors = parse_errors(&format!(
            "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n{}",
            GOAL.replace("\"quarter\"", "\"month\"")
        ));
        // line 12 `accumulate = "month"`: the value starts at column 14
        assert_eq!(
            errors,
            vec![(
                12,
                14,
                "`rules[0].accumulate` must be one of quarter, year, found \"month\"".to_string()
            )]
        );
        // only tiered, rebate and goal may accumulate
        let errors = parse_errors(
            "[program]\nid = \"p\"\nname = \"P\"\ncurrency = \"USD\"\n\n[[rules]]\nid = \"f\"\nkind = \"flat\"\namount = \"10\"\naccumulate = \"quarter\"\n",
        );
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].0, errors[0].1), (10, 1));
    }
}
