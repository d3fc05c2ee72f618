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
use crate::engine::{Line, LineKind, PartnerCtx, Source};
use crate::error::{Error, Result, Warning, WarningCode};
use crate::model::Deal;
use crate::model::period::{Period, PeriodKind};
use crate::program::Program;
use crate::program::parse::{Field, Tbl, choice};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

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
            .filter(|d| d.closed_on >= self.span.start && rule.when.matches_deal(d))
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

    /// What the ledger shows the rule already paid the partner for the span's earlier deals
    /// (module doc), as (the ledger's lines, this period's clawbacks of the span's rows).
    pub fn paid(&self, rule: &Rule, ctx: &PartnerCtx) -> Result<(Decimal, Decimal)> {
        let calc = ctx.calc(rule);
        let ledger = ctx
            .inputs
            .ledger
            .span_paid
            .get(&(ctx.index, rule.id.to_string()))
            .copied()
            .unwrap_or(Decimal::ZERO);
        let (from, to) = (self.span.start, self.period.start);
        // §8.2: when deal lines may be pending, this period's cancels of the span's rows recover
        // what they hold in the same way; add them here.
        let clawed = crate::engine::clawback::recovered_now_where(
            ctx.program,
            ctx.inputs,
            ctx.index,
            &rule.id,
            |d| from <= d.closed_on && d.closed_on < to,
        );
        let clawed = calc.ok(clawed, || {
            format!("this period's clawbacks of {} to date", self.span)
        })?;
        Ok((ledger, clawed))
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
    /// the measure ran over the span) and one true-up for the lines of the earlier deals.
    pub fn settle_deals(
        &self,
        rule: &Rule,
        ctx: &PartnerCtx,
        earlier: &[&Deal],
        lines: Vec<Line>,
    ) -> Result<Vec<Line>> {
        let ids: std::collections::BTreeSet<&str> = earlier.iter().map(|d| &*d.deal_id).collect();
        let is_earlier = |line: &Line| ids.contains(&*line.source_id);
        let (before, mut now): (Vec<Line>, Vec<Line>) = lines.into_iter().partition(is_earlier);
        let due = ctx.calc(rule).sum(before.iter().map(|l| l.amount), || {
            format!("the lines of {} to date", self.span)
        })?;
        for line in &mut now {
            line.note
                .push_str(&format!("; measured over {} to date", self.span));
        }
        let why = format!(
            "{} deal{} of {} re-rated over {} to date; ",
            earlier.len(),
            if earlier.len() == 1 { "" } else { "s" },
            self.earlier_months(),
            self.span
        );
        now.push(self.true_up(rule, ctx, due, &why)?);
        Ok(now)
    }
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
