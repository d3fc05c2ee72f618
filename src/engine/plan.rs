//! What the deal stream must keep for a run, as the rules declare it (SPEC §2: deals.csv holds
//! history). The loader follows this plan and knows no rule; `diff` asks for one plan covering both
//! programs, so deals.csv is read once.

use crate::input::DealPlan;
use crate::model::period::Period;
use crate::program::Program;

/// The plan for one or more programs over the same period, or `None` when they credit deals
/// differently (another currency or rounding), so one stream cannot serve them all.
pub fn deal_plan(programs: &[&Program], period: &Period) -> Option<DealPlan> {
    let first = programs.first()?;
    if programs.iter().any(|p| {
        p.currency != first.currency
            || p.rounding != first.rounding
            || p.minor_units() != first.minor_units()
    }) {
        return None;
    }
    let mut plan = DealPlan {
        period: period.clone(),
        previous_period: false,
        window_months: Vec::new(),
        prior_filters: Vec::new(),
        prior_firsts: Vec::new(),
        span_from: None,
        held_from: None,
        named: None,
        currency: first.currency.clone(),
        rounding: first.rounding,
        minor_units: first.minor_units(),
    };
    for program in programs {
        // SPEC §8.2: a line still pending at the previous period's end is of a row closed at most
        // hold_days − 1 days before it, so on or after period.start − hold_days.
        if program.payout.hold_days > 0 {
            let from = u64::try_from(program.payout.hold_days)
                .ok()
                .and_then(|d| period.start.checked_sub_days(chrono::Days::new(d)));
            plan.held_from = match (plan.held_from, from) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        if let Some(levels) = &program.levels
            && !plan.window_months.contains(&levels.window_months)
        {
            plan.window_months.push(levels.window_months);
        }
        for rule in &program.rules {
            let history = rule.kind.history();
            plan.previous_period |= history.previous_period;
            if history.prior_count {
                let f = match plan.prior_filters.iter().position(|w| *w == rule.when) {
                    Some(f) => f,
                    None => {
                        plan.prior_filters.push(rule.when.clone());
                        plan.prior_firsts.push(0);
                        plan.prior_filters.len() - 1
                    }
                };
                // A milestone's Nth deal may stand among earlier rows (SPEC §4.8, re-earned).
                // At most the first 1,000 rows are named: an `nth_deal` beyond it is not re-earned
                // from earlier rows (docs/RULES.md).
                let firsts = rule.kind.prior_firsts().min(1000);
                plan.prior_firsts[f] = plan.prior_firsts[f].max(firsts);
            }
            if let Some(from) = crate::engine::rules::accumulate::earlier_from(rule, period) {
                plan.span_from = Some(plan.span_from.map_or(from, |f| f.min(from)));
            }
        }
    }
    Some(plan)
}

/// The rules whose per-partner ledger sums a run needs (a milestone holds its bonus while its lines
/// add up to non-zero).
pub fn ledger_sums(program: &Program) -> Vec<&str> {
    program
        .rules
        .iter()
        .filter(|r| r.kind.history().ledger_sum)
        .map(|r| &*r.id)
        .collect()
}

/// The accumulating rules whose earlier periods of the span have passed (SPEC §8.7), each with the
/// first day of its span: the ledger keeps, per partner, what each paid since that day.
pub fn ledger_spans<'p>(
    program: &'p Program,
    period: &Period,
) -> Vec<(&'p str, chrono::NaiveDate)> {
    program
        .rules
        .iter()
        .filter_map(|r| {
            crate::engine::rules::accumulate::earlier_from(r, period).map(|from| (&*r.id, from))
        })
        .collect()
}

/// The rules that share a `group` with an accumulating rule (SPEC §9.5): a row one of them paid is
/// outside the accumulating rule's true-ups, even when re-labelled so that rule takes it now.
pub fn grouped_with_accumulating(program: &Program) -> Vec<&str> {
    let groups: Vec<&str> = program
        .rules
        .iter()
        .filter(|r| r.kind.accumulate().is_some())
        .filter_map(|r| r.group.as_deref())
        .collect();
    program
        .rules
        .iter()
        .filter(|r| r.group.as_deref().is_some_and(|g| groups.contains(&g)))
        .map(|r| &*r.id)
        .collect()
}

/// Every rule that says `accumulate` (SPEC §8.7): the ledger keeps what each paid the rows of this
/// run, with their parts of finished spans' true-ups.
pub fn accumulating(program: &Program) -> Vec<&str> {
    program
        .rules
        .iter()
        .filter(|r| r.kind.accumulate().is_some())
        .map(|r| &*r.id)
        .collect()
}
