//! `payline diff`: both programs over the same data; per-rule, per-partner-type and per-partner deltas.
//!
//! The cost of a program for a period is what it earns partners (every line but clawbacks, after caps
//! and budget): holds and minimums change when money is paid, not what it costs.

use crate::engine::{self, LineKind, Outcome, RuleTotal};
use crate::error::{Error, Result};
use crate::model::period::Period;
use crate::output::{align_right, plain_table};
use crate::program::{self, Program};
use crate::run::{self, DataPaths};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// `--max-increase`: money, or a percentage of the base cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    Amount(Decimal),
    Percent(Decimal),
}

impl Limit {
    pub fn parse(text: &str) -> std::result::Result<Limit, String> {
        let t = text.trim();
        let (number, pct) = match t.strip_suffix('%') {
            Some(n) => (n, true),
            None => (t, false),
        };
        let value = crate::model::money::parse_decimal(number)
            .filter(|v| !v.is_sign_negative())
            .ok_or_else(|| {
                format!("expected an amount like 5000 or a percentage like 2.5%, found `{text}`")
            })?;
        Ok(if pct {
            Limit::Percent(value)
        } else {
            Limit::Amount(value)
        })
    }
}

/// `5000.00` (the amount as held: the report holds it at the currency's minor units) or `5%`.
impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Limit::Amount(a) => write!(f, "{a}"),
            Limit::Percent(p) => write!(f, "{}%", p.normalize()),
        }
    }
}

/// Money in the report: exactly the currency's minor units, `-0` as `0`, so it prints as
/// [`crate::model::money::format_money`] formats it (`12.5` in USD → `12.50`).
fn money(value: Decimal, minor_units: u32) -> Decimal {
    let mut v = value;
    v.rescale(minor_units);
    if v.is_zero() {
        Decimal::new(0, minor_units)
    } else {
        v
    }
}

/// The change from `base` to `head` in percent of `base` (to 0.01 %), none on a zero base.
fn pct(base: Decimal, head: Decimal) -> Option<Decimal> {
    (!base.is_zero()).then(|| ((head - base) / base).round_dp(4) * Decimal::ONE_HUNDRED)
}

/// `5.88%`, `-100%`.
fn percent_text(pct: Decimal) -> String {
    format!("{}%", pct.normalize())
}

/// JSON money is a string, so it stays exact: `200.00`.
fn money_json<S: Serializer>(value: &Decimal, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// The percentage as a JSON number (`5.88`; a display figure, not money), `null` on a zero base.
fn pct_json<S: Serializer>(pct: &Option<Decimal>, s: S) -> std::result::Result<S::Ok, S::Error> {
    use rust_decimal::prelude::ToPrimitive;
    match pct.and_then(|p| p.normalize().to_f64()) {
        Some(p) => s.serialize_f64(p),
        None => s.serialize_none(),
    }
}

/// The same JSON names every command uses: a rule is `rule_id` (and `kind`), a partner type
/// `partner_type`, as in `run --json`.
#[derive(Serialize)]
struct NamedDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partner_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(flatten)]
    delta: &'a Delta,
}

fn deltas_json<S: Serializer>(
    deltas: &[Delta],
    rules: bool,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(deltas.iter().map(|d| NamedDelta {
        rule_id: rules.then_some(d.name.as_str()),
        partner_type: (!rules).then_some(d.name.as_str()),
        kind: rules.then_some(d.kind.as_str()),
        delta: d,
    }))
}

fn rules_json<S: Serializer>(deltas: &[Delta], s: S) -> std::result::Result<S::Ok, S::Error> {
    deltas_json(deltas, true, s)
}

fn types_json<S: Serializer>(deltas: &[Delta], s: S) -> std::result::Result<S::Ok, S::Error> {
    deltas_json(deltas, false, s)
}

fn limit_json<S: Serializer>(limit: &Option<Limit>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match limit {
        None => s.serialize_none(),
        Some(l) => s.collect_str(l),
    }
}

/// `+200.00` / `-100.00` / `0.00`: a reader sees the direction of a change at a glance.
fn signed(value: Decimal) -> String {
    if value > Decimal::ZERO {
        format!("+{value}")
    } else {
        value.to_string()
    }
}

/// `+5.88%` / `-100%` / `0%`, or nothing on a zero base.
fn signed_pct(pct: Option<Decimal>) -> String {
    match pct {
        None => String::new(),
        Some(p) if p > Decimal::ZERO => format!("+{}", percent_text(p)),
        Some(p) => percent_text(p),
    }
}

/// Money is held at the currency's minor units and formatted when rendered.
#[derive(Debug, Serialize)]
pub struct Delta {
    #[serde(skip)]
    pub name: String,
    #[serde(skip)]
    pub kind: String,
    #[serde(serialize_with = "money_json")]
    pub base: Decimal,
    #[serde(serialize_with = "money_json")]
    pub head: Decimal,
    #[serde(serialize_with = "money_json")]
    pub delta: Decimal,
    /// The change in percent of the base (`5.88`); none when the base is zero.
    #[serde(serialize_with = "pct_json")]
    pub delta_pct: Option<Decimal>,
}

impl Delta {
    fn new(name: String, kind: String, base: Decimal, head: Decimal, minor_units: u32) -> Delta {
        Delta {
            name,
            kind,
            base: money(base, minor_units),
            head: money(head, minor_units),
            delta: money(head - base, minor_units),
            delta_pct: pct(base, head),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PartnerDelta {
    pub partner_id: String,
    pub partner_name: String,
    pub partner_type: String,
    #[serde(serialize_with = "money_json")]
    pub base: Decimal,
    #[serde(serialize_with = "money_json")]
    pub head: Decimal,
    #[serde(serialize_with = "money_json")]
    pub delta: Decimal,
}

#[derive(Debug, Serialize)]
pub struct DiffReport {
    pub base_program: String,
    pub head_program: String,
    pub period: String,
    pub currency: String,
    #[serde(serialize_with = "rules_json")]
    pub rules: Vec<Delta>,
    #[serde(serialize_with = "types_json")]
    pub partner_types: Vec<Delta>,
    pub partners_changed: usize,
    /// The changed partners by absolute delta (largest first), cut to `--top` unless `--all`.
    pub partners: Vec<PartnerDelta>,
    pub total: Delta,
    /// `--max-increase`, an amount held at the currency's minor units.
    #[serde(serialize_with = "limit_json")]
    pub max_increase: Option<Limit>,
    pub over_limit: bool,
    pub warnings: Vec<crate::error::Warning>,
}

/// Lines that move money earned before, not a cost of the program: clawbacks, and a held line's
/// release or cancellation (SPEC §8.2: the held line was counted when it was written).
fn is_movement(kind: LineKind) -> bool {
    matches!(
        kind,
        LineKind::Clawback | LineKind::Release | LineKind::ReleasePending | LineKind::Cancel
    )
}

fn cost_by_partner(outcome: &Outcome, n: usize) -> Vec<Decimal> {
    let mut out = vec![Decimal::ZERO; n];
    for l in &outcome.lines {
        if !is_movement(l.kind) {
            out[l.partner] += l.amount;
        }
    }
    out
}

/// The cost per rule in program order, then budget proration as `(budget-proration)`; clawbacks are
/// not a cost.
fn cost_by_rule(program: &Program, outcome: &Outcome) -> Vec<RuleTotal> {
    outcome
        .rule_totals(program)
        .into_iter()
        .filter(|t| {
            !(t.is_adjustment()
                && [LineKind::Clawback, LineKind::Release, LineKind::Cancel]
                    .iter()
                    .any(|k| t.kind == k.name()))
        })
        .map(|t| {
            if t.is_adjustment() {
                RuleTotal {
                    rule_id: format!("({})", t.kind),
                    kind: "adjustment",
                    ..t
                }
            } else {
                t
            }
        })
        .collect()
}

pub fn diff(
    base_path: &Path,
    head_path: &Path,
    period: &Period,
    paths: &DataPaths,
    limit: Option<Limit>,
    top: Option<usize>,
) -> Result<DiffReport> {
    let base = program::load(base_path)?;
    let head = program::load(head_path)?;
    if base.currency != head.currency {
        return Err(Error::Calculation(format!(
            "base program pays in {} and head in {}: a diff needs one currency",
            base.currency, head.currency
        )));
    }
    let units = base.minor_units();
    // One read of every input for both programs (deals.csv included, with a plan covering both).
    let mut both = run::load_many(&[&base, &head], period, paths, true, &mut |_| {})?.into_iter();
    let (loaded, head_loaded) = match (both.next(), both.next()) {
        (Some(b), Some(h)) => (b, h),
        _ => return Err(Error::Calculation("diff needs both programs loaded".into())),
    };
    let base_out = engine::evaluate(&base, period, &loaded.inputs())?;
    let head_out = engine::evaluate(&head, period, &head_loaded.inputs())?;
    let partners = &loaded.partners.partners;

    let rules = rule_deltas((&base, &base_out), (&head, &head_out), units);
    let base_cost = cost_by_partner(&base_out, partners.len());
    let head_cost = cost_by_partner(&head_out, partners.len());
    let (partner_types, partners_changed, shown) =
        partner_deltas(partners, (&base_cost, &head_cost), top, units);
    let b: Decimal = base_cost.iter().sum();
    let h: Decimal = head_cost.iter().sum();
    let over_limit = over_limit(limit, b, h);
    let warnings = diff_warnings((&loaded, &base_out), (&head_loaded, &head_out));
    Ok(DiffReport {
        base_program: base.id.clone(),
        head_program: head.id.clone(),
        period: period.to_string(),
        currency: base.currency.clone(),
        rules,
        partner_types,
        partners_changed,
        partners: shown,
        total: Delta::new("total".into(), String::new(), b, h, units),
        max_increase: limit.map(|l| match l {
            Limit::Amount(a) => Limit::Amount(money(a, units)),
            percent => percent,
        }),
        over_limit,
        warnings,
    })
}

/// The cost of each rule of either program, base against head (a rule of one program only is
/// "added" or "removed"; one whose kind changed says so).
fn rule_deltas(
    (base, base_out): (&Program, &Outcome),
    (head, head_out): (&Program, &Outcome),
    units: u32,
) -> Vec<Delta> {
    let base_rules = cost_by_rule(base, base_out);
    let head_rules = cost_by_rule(head, head_out);
    let mut names: Vec<&RuleTotal> = base_rules.iter().collect();
    for r in &head_rules {
        if !names.iter().any(|n| n.rule_id == r.rule_id) {
            names.push(r);
        }
    }
    let cost = |rules: &[RuleTotal], name: &str| {
        rules
            .iter()
            .find(|r| r.rule_id == name)
            .map(|r| r.amount)
            .unwrap_or_default()
    };
    names
        .into_iter()
        .map(|r| {
            let name = &r.rule_id;
            let kind = match (base.rule(name), head.rule(name)) {
                (Some(x), Some(y)) if x.kind.name() != y.kind.name() => {
                    format!("{} → {}", x.kind.name(), y.kind.name())
                }
                (Some(_), None) => format!("{} (removed)", r.kind),
                (None, Some(_)) => format!("{} (added)", r.kind),
                _ => r.kind.to_string(),
            };
            let (b, h) = (cost(&base_rules, name), cost(&head_rules, name));
            Delta::new(name.clone(), kind, b, h, units)
        })
        .collect()
}

/// Per partner type, base against head; how many partners' cost changed; the changed partners by
/// absolute delta (largest first), cut to `top`.
fn partner_deltas(
    partners: &[crate::model::Partner],
    (base_cost, head_cost): (&[Decimal], &[Decimal]),
    top: Option<usize>,
    units: u32,
) -> (Vec<Delta>, usize, Vec<PartnerDelta>) {
    let mut types: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
    let mut changed = Vec::new();
    for (i, p) in partners.iter().enumerate() {
        let t = types.entry(p.partner_type.as_str()).or_default();
        t.0 += base_cost[i];
        t.1 += head_cost[i];
        if base_cost[i] != head_cost[i] {
            changed.push(i);
        }
    }
    changed.sort_by(|&a, &b| {
        let da = (head_cost[a] - base_cost[a]).abs();
        let db = (head_cost[b] - base_cost[b]).abs();
        db.cmp(&da).then(a.cmp(&b))
    });
    let partners_changed = changed.len();
    let shown = changed
        .into_iter()
        .take(top.unwrap_or(usize::MAX))
        .map(|i| PartnerDelta {
            partner_id: partners[i].id.clone(),
            partner_name: partners[i].name.clone(),
            partner_type: partners[i].partner_type.clone(),
            base: money(base_cost[i], units),
            head: money(head_cost[i], units),
            delta: money(head_cost[i] - base_cost[i], units),
        })
        .collect();
    let partner_types = types
        .into_iter()
        .filter(|(_, (b, h))| !b.is_zero() || !h.is_zero())
        .map(|(t, (b, h))| Delta::new(t.to_string(), String::new(), b, h, units))
        .collect();
    (partner_types, partners_changed, shown)
}

/// `--max-increase`: whether the head costs more than the base by more than the limit.
fn over_limit(limit: Option<Limit>, b: Decimal, h: Decimal) -> bool {
    let increase = h - b;
    match limit {
        None => false,
        Some(Limit::Amount(a)) => increase > a,
        Some(Limit::Percent(p)) => {
            if b.is_zero() {
                increase > Decimal::ZERO
            } else {
                increase * Decimal::ONE_HUNDRED > p * b
            }
        }
    }
}

/// The inputs' warnings, said once (they are read once for both programs), then each program's
/// own, labelled `base:` or `head:`.
fn diff_warnings(
    (loaded, base_out): (&run::Loaded, &Outcome),
    (head_loaded, head_out): (&run::Loaded, &Outcome),
) -> Vec<crate::error::Warning> {
    let mut warnings = loaded.warnings.clone();
    let said: std::collections::BTreeSet<&str> =
        loaded.warnings.iter().map(|w| w.message.as_str()).collect();
    warnings.extend(
        (head_loaded.warnings.iter())
            .filter(|w| !said.contains(w.message.as_str()))
            .cloned(),
    );
    let side = |label: &str, w: &crate::error::Warning| {
        crate::error::Warning::new(w.code, format!("{label}: {}", w.message))
    };
    warnings.extend(base_out.warnings.iter().map(|w| side("base", w)));
    warnings.extend(head_out.warnings.iter().map(|w| side("head", w)));
    warnings
}

impl DiffReport {
    pub fn render(&self) -> String {
        let mut out = format!(
            "payline diff: base {} → head {} · period {} · {}\n\n",
            self.base_program, self.head_program, self.period, self.currency
        );
        let mut rules = plain_table(vec!["rule", "kind", "base", "head", "delta", "delta %"]);
        for d in &self.rules {
            rules.add_row(vec![
                d.name.clone(),
                d.kind.clone(),
                d.base.to_string(),
                d.head.to_string(),
                signed(d.delta),
                signed_pct(d.delta_pct),
            ]);
        }
        align_right(&mut rules, 2..6);
        out.push_str(&format!("Per rule\n{rules}\n\n"));
        let mut types = plain_table(vec!["partner type", "base", "head", "delta", "delta %"]);
        for d in &self.partner_types {
            types.add_row(vec![
                d.name.clone(),
                d.base.to_string(),
                d.head.to_string(),
                signed(d.delta),
                signed_pct(d.delta_pct),
            ]);
        }
        align_right(&mut types, 1..5);
        out.push_str(&format!("Per partner type\n{types}\n\n"));
        if self.partners_changed == 0 {
            out.push_str("No partner's payout changed.\n\n");
        } else {
            let mut partners =
                plain_table(vec!["partner", "name", "type", "base", "head", "delta"]);
            for p in &self.partners {
                partners.add_row(vec![
                    crate::output::cell_text(&p.partner_id, 40),
                    crate::output::cell_text(&p.partner_name, 40),
                    p.partner_type.clone(),
                    p.base.to_string(),
                    p.head.to_string(),
                    signed(p.delta),
                ]);
            }
            align_right(&mut partners, 3..6);
            let shown = if self.partners.len() < self.partners_changed {
                format!(
                    " (top {} of {} by absolute delta; --all for every one)",
                    self.partners.len(),
                    self.partners_changed
                )
            } else {
                String::new()
            };
            out.push_str(&format!(
                "Partners whose payout changed: {}{shown}\n{partners}\n\n",
                self.partners_changed
            ));
        }
        let pct = match self.total.delta_pct {
            None => String::new(),
            pct => format!(" ({})", signed_pct(pct)),
        };
        out.push_str(&format!(
            "Total cost: base {} → head {}: {}{pct}\n",
            self.total.base,
            self.total.head,
            signed(self.total.delta)
        ));
        if let Some(limit) = &self.max_increase {
            out.push_str(&if self.over_limit {
                format!("OVER LIMIT: the increase exceeds --max-increase {limit}\n")
            } else {
                format!("within --max-increase {limit}\n")
            });
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out
    }
}
