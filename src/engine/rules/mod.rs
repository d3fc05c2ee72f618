//! One module per rule kind; each file holds that kind's whole semantics (SPEC §4.1–4.8, §4.13): its
//! typed `Config` and how it is read from the program (`KEYS`, `parse`), `evaluate`, and where it has
//! them its lints, its next threshold for nudges and the deal history it needs.
//!
//! Adding a kind: a golden case first, then a `Kind` variant (the compiler then lists every `match`
//! that must learn it, all in this file), then the module, then a sample program. See
//! docs/ARCHITECTURE.md.

pub mod accumulate;
pub mod activity;
pub mod flat;
pub mod fund;
pub mod goal;
pub mod growth;
pub mod milestone;
pub mod payment;
pub mod percent;
pub mod rebate;
pub mod spif;
#[cfg(test)]
pub(crate) mod testkit;
pub mod tiered;

use super::context::PartnerCtx;
use super::line::Calc;
use super::line::{Line, LineKind, Source};
use super::payments::PayOn;
use crate::error::{Result, Warning};
use crate::model::Deal;
use crate::model::money::format_rate;
use crate::program::parse::{Bad, Tbl};
use crate::program::{Pay, Rule, Tier};
use rust_decimal::Decimal;

/// Every rule kind, without its configuration: what `kind = "…"` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Flat,
    Percent,
    Tiered,
    Spif,
    Rebate,
    Goal,
    Growth,
    Activity,
    Milestone,
    Fund,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Flat,
        Kind::Percent,
        Kind::Tiered,
        Kind::Spif,
        Kind::Rebate,
        Kind::Goal,
        Kind::Growth,
        Kind::Activity,
        Kind::Milestone,
        Kind::Fund,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Flat => "flat",
            Kind::Percent => "percent",
            Kind::Tiered => "tiered",
            Kind::Spif => "spif",
            Kind::Rebate => "rebate",
            Kind::Goal => "goal",
            Kind::Growth => "growth",
            Kind::Activity => "activity",
            Kind::Milestone => "milestone",
            Kind::Fund => "fund",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Deal-based kinds write one line per qualifying deal, may have modifiers, and are paid once
    /// per (deal, partner) row in the whole chain (SPEC §3, §7); the others write period lines.
    pub fn is_deal_based(self) -> bool {
        match self {
            Kind::Flat | Kind::Percent | Kind::Tiered | Kind::Spif => true,
            Kind::Rebate
            | Kind::Goal
            | Kind::Growth
            | Kind::Activity
            | Kind::Milestone
            | Kind::Fund => false,
        }
    }

    /// Whether `when` may use deal keys: an activity is not a deal.
    pub fn has_deals(self) -> bool {
        match self {
            Kind::Activity => false,
            Kind::Flat
            | Kind::Percent
            | Kind::Tiered
            | Kind::Spif
            | Kind::Rebate
            | Kind::Goal
            | Kind::Growth
            | Kind::Milestone
            | Kind::Fund => true,
        }
    }

    /// The keys of this kind, besides `id`, `kind`, `when` and `cap`.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Flat => flat::KEYS,
            Kind::Percent => percent::KEYS,
            Kind::Tiered => tiered::KEYS,
            Kind::Spif => spif::KEYS,
            Kind::Rebate => rebate::KEYS,
            Kind::Goal => goal::KEYS,
            Kind::Growth => growth::KEYS,
            Kind::Activity => activity::KEYS,
            Kind::Milestone => milestone::KEYS,
            Kind::Fund => fund::KEYS,
        }
    }
}

/// A rule's configuration: one variant per kind, holding that kind module's own `Config`.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    Flat(flat::Config),
    Percent(percent::Config),
    Tiered(tiered::Config),
    Spif(spif::Config),
    Rebate(rebate::Config),
    Goal(goal::Config),
    Growth(growth::Config),
    Activity(activity::Config),
    Milestone(milestone::Config),
    Fund(fund::Config),
}

impl RuleKind {
    pub fn kind(&self) -> Kind {
        match self {
            RuleKind::Flat(_) => Kind::Flat,
            RuleKind::Percent(_) => Kind::Percent,
            RuleKind::Tiered(_) => Kind::Tiered,
            RuleKind::Spif(_) => Kind::Spif,
            RuleKind::Rebate(_) => Kind::Rebate,
            RuleKind::Goal(_) => Kind::Goal,
            RuleKind::Growth(_) => Kind::Growth,
            RuleKind::Activity(_) => Kind::Activity,
            RuleKind::Milestone(_) => Kind::Milestone,
            RuleKind::Fund(_) => Kind::Fund,
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Reads the kind's own keys from the rule's table (the keys were checked against `Kind::keys`).
    pub(crate) fn parse(kind: Kind, t: &Tbl) -> Result<RuleKind, Bad> {
        Ok(match kind {
            Kind::Flat => RuleKind::Flat(flat::parse(t)?),
            Kind::Percent => RuleKind::Percent(percent::parse(t)?),
            Kind::Tiered => RuleKind::Tiered(tiered::parse(t)?),
            Kind::Spif => RuleKind::Spif(spif::parse(t)?),
            Kind::Rebate => RuleKind::Rebate(rebate::parse(t)?),
            Kind::Goal => RuleKind::Goal(goal::parse(t)?),
            Kind::Growth => RuleKind::Growth(growth::parse(t)?),
            Kind::Activity => RuleKind::Activity(activity::parse(t)?),
            Kind::Milestone => RuleKind::Milestone(milestone::parse(t)?),
            Kind::Fund => RuleKind::Fund(fund::parse(t)?),
        })
    }

    /// The kind's own lints, as (key the warning points at, message).
    pub fn lints(&self) -> Vec<(&'static str, String)> {
        match self {
            RuleKind::Tiered(c) => tiered::lints(c),
            RuleKind::Rebate(c) => rebate::lints(c),
            RuleKind::Spif(c) => spif::lints(c),
            RuleKind::Goal(c) => goal::lints(c),
            RuleKind::Flat(_)
            | RuleKind::Percent(_)
            | RuleKind::Growth(_)
            | RuleKind::Activity(_)
            | RuleKind::Milestone(_)
            | RuleKind::Fund(_) => Vec::new(),
        }
    }

    /// What the rule pays for, for the double-pay lint: two rules of the same kind can pay twice
    /// only for the same thing. `None` for funds, which pay claims, never twice.
    pub fn pays_for(&self) -> Option<PaysFor<'_>> {
        Some(match self {
            RuleKind::Fund(_) => return None,
            RuleKind::Activity(c) => PaysFor::Activity(&c.activity),
            RuleKind::Milestone(c) => PaysFor::Milestone(c.nth_deal),
            RuleKind::Goal(c) => PaysFor::Goal(c.measure, &c.target),
            RuleKind::Flat(_)
            | RuleKind::Spif(_)
            | RuleKind::Percent(_)
            | RuleKind::Tiered(_)
            | RuleKind::Rebate(_)
            | RuleKind::Growth(_) => PaysFor::Kind(self.kind()),
        })
    }

    /// The days outside which the rule pays nothing (a SPIF's window): two such rules can pay twice
    /// only if their windows share a day.
    pub fn active_days(&self) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
        match self {
            RuleKind::Spif(c) => Some((c.start, c.end)),
            RuleKind::Flat(_)
            | RuleKind::Percent(_)
            | RuleKind::Tiered(_)
            | RuleKind::Rebate(_)
            | RuleKind::Goal(_)
            | RuleKind::Growth(_)
            | RuleKind::Activity(_)
            | RuleKind::Milestone(_)
            | RuleKind::Fund(_) => None,
        }
    }

    /// The deal and ledger history the kind needs beyond the period's own rows (its module's
    /// `HISTORY`): `engine::plan` turns it into what the loaders keep.
    pub fn history(&self) -> History {
        match self {
            RuleKind::Flat(_) => flat::HISTORY,
            RuleKind::Percent(_) => percent::HISTORY,
            RuleKind::Tiered(_) => tiered::HISTORY,
            RuleKind::Spif(_) => spif::HISTORY,
            RuleKind::Rebate(_) => rebate::HISTORY,
            RuleKind::Goal(_) => goal::HISTORY,
            RuleKind::Growth(_) => growth::HISTORY,
            RuleKind::Activity(_) => activity::HISTORY,
            RuleKind::Milestone(_) => milestone::HISTORY,
            RuleKind::Fund(_) => fund::HISTORY,
        }
    }

    /// How many of a partner's first earlier rows (in (closed_on, deal_id) order) the kind names:
    /// a milestone's `nth_deal`, whose bonus clawed back is earned again by the deal that is now the
    /// Nth, wherever it closed (SPEC §4.8).
    pub fn prior_firsts(&self) -> u64 {
        match self {
            RuleKind::Milestone(c) => c.nth_deal,
            _ => 0,
        }
    }
}

/// What a kind needs of history beyond the period's own rows (SPEC §2: deals.csv holds history).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct History {
    /// The rows counting in the previous period of the same length (growth).
    pub previous_period: bool,
    /// Per partner, the rows closed before the period that pass the rule's `when` and still count
    /// at its end (milestone: the partner's lifetime count).
    pub prior_count: bool,
    /// Per partner, what the ledger's lines of this rule add up to (milestone: a bonus is held
    /// while they are non-zero).
    pub ledger_sum: bool,
}

/// The history of a kind that needs only the period's own rows.
pub const PERIOD_ONLY: History = History {
    previous_period: false,
    prior_count: false,
    ledger_sum: false,
};

/// What a rule pays for, for the double-pay lint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PaysFor<'a> {
    Kind(Kind),
    Activity(&'a str),
    Milestone(u64),
    Goal(crate::program::Measure, &'a goal::Target),
}

/// Where a partner stands against a rule's next threshold (tier boundary, rebate threshold, goal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    pub current: Decimal,
    pub next: Decimal,
    /// The measure counts deals, not money (units too: a count, SPEC §8.4).
    pub counts_deals: bool,
    /// The measure counts units (quantity × share): a gap is closed by one deal of that quantity.
    pub counts_units: bool,
}

/// The next threshold of a rule for a partner, for nudges; `None` for kinds without thresholds.
pub(crate) fn next_threshold(rule: &Rule, ctx: &PartnerCtx) -> Result<Option<Threshold>> {
    match &rule.kind {
        RuleKind::Tiered(c) => tiered::next_threshold(rule, c, ctx),
        RuleKind::Rebate(c) => rebate::next_threshold(rule, c, ctx),
        RuleKind::Goal(c) => goal::next_threshold(rule, c, ctx),
        RuleKind::Flat(_)
        | RuleKind::Percent(_)
        | RuleKind::Spif(_)
        | RuleKind::Growth(_)
        | RuleKind::Activity(_)
        | RuleKind::Milestone(_)
        | RuleKind::Fund(_) => Ok(None),
    }
}

/// The lint of tiered rates that fall as thresholds rise (tiered and rebate tiers).
fn falling_tiers(tiers: &[Tier], decelerator: bool) -> Vec<(&'static str, String)> {
    if decelerator {
        return Vec::new();
    }
    let value = |pay: &Pay| match pay {
        Pay::Rate(v) | Pay::Amount(v) => *v,
    };
    tiers
        .windows(2)
        .find(|pair| value(&pair[1].pay) < value(&pair[0].pay))
        .map(|pair| {
            vec![(
                "tiers",
                format!(
                    "tier rates fall as thresholds rise ({} from {} after {} from {}); set \
                     `decelerator = true` if that is intended",
                    value(&pair[1].pay).normalize(),
                    pair[1].from,
                    value(&pair[0].pay).normalize(),
                    pair[0].from
                ),
            )]
        })
        .unwrap_or_default()
}

#[derive(Debug, Default)]
pub struct RuleOutput {
    pub lines: Vec<Line>,
    pub warnings: Vec<Warning>,
    /// Fund rules: what the partner had available in the fund this period (before claims).
    pub fund_available: Option<Decimal>,
    /// Fund rules: what flowed into the fund this period, as (`accrual` | `allocation`, amount, note).
    pub fund_inflows: Vec<(&'static str, Decimal, String)>,
    /// Accumulating deal-based rules, in the span's last period: each row's part of the span's
    /// true-ups (SPEC §4.12), recorded for later clawbacks.
    pub true_up_parts: Vec<accumulate::TrueUpPart>,
    /// `pay_on = "payment"` rules: the payments this run wrote a line of (SPEC §9.1).
    pub paid_payments: Vec<crate::model::PaidPayment>,
}

impl RuleOutput {
    fn lines(lines: Vec<Line>) -> Self {
        RuleOutput {
            lines,
            ..RuleOutput::default()
        }
    }
}

/// Evaluates one rule for one partner. Partner keys of `when` are checked here; deal keys by each rule.
/// An overflow anywhere in the rule's arithmetic is an error naming the partner and the rule.
pub fn evaluate(rule: &Rule, ctx: &PartnerCtx) -> Result<RuleOutput> {
    let eligible = rule.when.matches_partner(ctx.partner, ctx.level);
    match &rule.kind {
        // A fund keeps its balance for a partner outside its `when`, and says so of its claims.
        RuleKind::Fund(c) => fund::evaluate(rule, c, eligible, ctx),
        // A payment rule claws back the refunds of rows it paid on, whoever the partner is now.
        _ if !eligible && !matches!(rule.pay_on(), PayOn::Payment { .. }) => {
            Ok(RuleOutput::default())
        }
        // SPEC §8.6: a rule pays only in periods that share a day with its effective dates (its deal
        // and activity measures are filtered by date too, through `when`); one paying on a row's
        // payments pays them after its dates too, for rows closed inside them (§9.1: "the deal
        // row's `closed_on` decides the range").
        _ if rule.pay_on() == PayOn::Close
            && !rule
                .when
                .valid_during(dated_from(rule, ctx), ctx.period.end) =>
        {
            Ok(RuleOutput::default())
        }
        RuleKind::Flat(c) => flat::evaluate(rule, c, ctx),
        RuleKind::Percent(c) => percent::evaluate(rule, c, ctx),
        RuleKind::Tiered(c) => tiered::evaluate(rule, c, ctx),
        RuleKind::Spif(c) => spif::evaluate(rule, c, ctx),
        RuleKind::Rebate(c) => rebate::evaluate(rule, c, ctx),
        RuleKind::Goal(c) => goal::evaluate(rule, c, ctx),
        RuleKind::Growth(c) => growth::evaluate(rule, c, ctx),
        RuleKind::Activity(c) => activity::evaluate(rule, c, ctx),
        RuleKind::Milestone(c) => milestone::evaluate(rule, c, ctx),
    }
}

/// The first day a rule's effective dates must reach for it to be evaluated in this period: the
/// period's, or for an accumulating rule its span's (SPEC §8.7: after the span's last month it has
/// paid what one run over the span would have, so a version whose dates ended in the span's first
/// month still trues up its rows in the later months: a refund there is taken back at the span's
/// rate, as a whole-span run does).
fn dated_from(rule: &Rule, ctx: &PartnerCtx) -> chrono::NaiveDate {
    (rule.kind.accumulate())
        .and_then(|a| a.span_of(ctx.period.start))
        .map_or(ctx.period.start, |span| span.start.min(ctx.period.start))
}

/// Whether `other` is another version of `rule` (SPEC §8.6): both dated, one after the other,
/// paying for the same thing, and neither an add-on ([`is_add_on`]) — rules whose dates share a day
/// stack (a kicker on a base rate), and a kicker is no link of the base rate's chain of versions.
pub(crate) fn is_version(rule: &Rule, other: &Rule, rules: &[Rule]) -> bool {
    let before = |x: &Rule, y: &Rule| {
        x.when
            .valid_until
            .zip(y.when.valid_from)
            .is_some_and(|(until, from)| until < from)
    };
    other.id != rule.id
        && is_dated(rule)
        && is_dated(other)
        && (before(rule, other) || before(other, rule))
        && other.kind.pays_for().is_some()
        && other.kind.pays_for() == rule.kind.pays_for()
        && !is_add_on(rule, rules)
        && !is_add_on(other, rules)
}

fn is_dated(rule: &Rule) -> bool {
    rule.when.valid_from.is_some() || rule.when.valid_until.is_some()
}

/// Whether `rule` is an add-on stacked on another dated rule of the same kind (a kicker on a base
/// rate): their dates share a day and the other's range holds the rule's (the later in program
/// order is the add-on when the ranges are the same), and either both pay the same way or the rule
/// pays on close (a close kicker on a cash base; cash rules inside a close rule's dates are no
/// kickers of it, they are the plan's cash versions). An add-on pays besides the rule under it: it
/// is nobody's version and settles its own payments' cash. An undated rule of the same kind (a
/// catch-all) pays besides every version and makes none of them an add-on.
fn is_add_on(rule: &Rule, rules: &[Rule]) -> bool {
    let (from, until) = (rule.when.valid_from, rule.when.valid_until);
    let holds = |r: &Rule| {
        r.when
            .valid_from
            .is_none_or(|f| from.is_some_and(|from| f <= from))
            && r.when
                .valid_until
                .is_none_or(|u| until.is_some_and(|until| until <= u))
    };
    let shares_a_day = |r: &Rule| {
        let apart = |x: Option<chrono::NaiveDate>, y: Option<chrono::NaiveDate>| {
            x.zip(y).is_some_and(|(until, from)| until < from)
        };
        !apart(until, r.when.valid_from) && !apart(r.when.valid_until, from)
    };
    let same_range = |r: &Rule| r.when.valid_from == from && r.when.valid_until == until;
    let position = |r: &Rule| rules.iter().position(|x| std::ptr::eq(x, r));
    is_dated(rule)
        && rules.iter().any(|other| {
            other.id != rule.id
                && is_dated(other)
                && other.kind.pays_for().is_some()
                && other.kind.pays_for() == rule.kind.pays_for()
                && (rule.pay_on() == PayOn::Close
                    || std::mem::discriminant(&other.pay_on())
                        == std::mem::discriminant(&rule.pay_on()))
                && shares_a_day(other)
                && holds(other)
                && (!same_range(other) || position(other) < position(rule))
        })
}

/// A deal-based line: `raw` times every matching modifier, rounded once (SPEC §3 modifiers).
pub(crate) fn deal_line(
    rule: &Rule,
    ctx: &PartnerCtx,
    deal: &Deal,
    basis: Decimal,
    rate: Option<Decimal>,
    raw: Decimal,
    mut note: String,
) -> Result<Line> {
    let calc = ctx.calc(rule);
    let mut multiplier = Decimal::ONE;
    for m in &rule.modifiers {
        if m.when.matches_partner(ctx.partner, ctx.level) && m.when.matches_deal(deal) {
            multiplier = calc.mul(multiplier, m.multiplier, || {
                format!("deal {}: the product of its modifiers", deal.deal_id)
            })?;
            note.push_str(&format!(" × modifier {}", format_rate(m.multiplier)));
        }
    }
    let amount = calc.mul(raw, multiplier, || {
        format!("deal {}: the line amount", deal.deal_id)
    })?;
    Ok(Line {
        partner: ctx.index,
        rule_id: rule.id.clone(),
        kind: LineKind::Rule(rule.kind.kind()),
        source: Source::Deal,
        source_id: deal.deal_id.clone(),
        basis: Some(basis),
        rate,
        amount: ctx.program.round(amount),
        note,
    })
}

/// A period line (rebate, goal, growth): one per partner and period.
pub(crate) fn period_line(
    rule: &Rule,
    ctx: &PartnerCtx,
    basis: Option<Decimal>,
    rate: Option<Decimal>,
    raw: Decimal,
    note: String,
) -> Line {
    Line {
        partner: ctx.index,
        rule_id: rule.id.clone(),
        kind: LineKind::Rule(rule.kind.kind()),
        source: Source::Period,
        source_id: ctx.period.to_string().into(),
        basis,
        rate,
        amount: ctx.program.round(raw),
        note,
    }
}

/// `× share 0.5` for split deals, nothing for whole ones.
pub(crate) fn share_note(deal: &Deal) -> String {
    if deal.share == Decimal::ONE {
        String::new()
    } else {
        format!(" × share {}", format_rate(deal.share))
    }
}

/// How a per-deal amount is paid (SPEC §8.4): per deal row (× share) or per unit (× the row's units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Per {
    #[default]
    Deal,
    Unit,
}

impl Per {
    pub(crate) const CHOICES: &[(&str, Per)] = &[("deal", Per::Deal), ("unit", Per::Unit)];
}

/// A row's units (SPEC §8.4): its quantity × its share, checked.
pub(crate) fn units(deal: &Deal, calc: Calc) -> Result<Decimal> {
    let units = calc.mul(Decimal::from(deal.quantity), deal.share, || {
        format!("deal {}: its units (quantity × share)", deal.deal_id)
    })?;
    Ok(units.normalize())
}

/// The units a set of qualifying deals adds up to, checked.
pub(crate) fn units_total(deals: &[&Deal], calc: Calc) -> Result<Decimal> {
    let each = deals
        .iter()
        .map(|d| units(d, calc))
        .collect::<Result<Vec<_>>>()?;
    calc.sum(each, || "the partner's qualifying units".into())
}

/// `12 units`, or `12 units (quantity 24 × share 0.5)` for a split row.
pub(crate) fn units_note(deal: &Deal, units: Decimal) -> String {
    let n = if units == Decimal::ONE {
        "unit"
    } else {
        "units"
    };
    if deal.share == Decimal::ONE {
        format!("{} {n}", format_rate(units))
    } else {
        format!(
            "{} {n} (quantity {} × share {})",
            format_rate(units),
            deal.quantity,
            format_rate(deal.share)
        )
    }
}

/// The total a set of qualifying deals credits, checked.
pub(crate) fn revenue(deals: &[&Deal], calc: Calc) -> Result<Decimal> {
    calc.sum(deals.iter().map(|d| d.credited), || {
        "the partner's qualifying revenue".into()
    })
}

#[cfg(test)]
mod kind_tests {
    use super::Kind;

    /// `Kind::ALL` is written by hand; this exhaustive match makes a kind missing from it a test
    /// failure (and a kind missing from the match a compile error).
    #[test]
    fn every_kind_is_listed_once_and_named_uniquely() {
        let position = |k: Kind| match k {
            Kind::Flat => 0,
            Kind::Percent => 1,
            Kind::Tiered => 2,
            Kind::Spif => 3,
            Kind::Rebate => 4,
            Kind::Goal => 5,
            Kind::Growth => 6,
            Kind::Activity => 7,
            Kind::Milestone => 8,
            Kind::Fund => 9,
        };
        for (i, kind) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(position(kind), i, "{kind:?}");
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
        }
    }
}
