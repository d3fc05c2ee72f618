//! `payline diff`: both programs over the same data; per-rule, per-partner-type and per-partner deltas.
//!
//! The cost of a program for a period is what it earns partners (every line but clawbacks, after caps
//! and budget): holds and minimums change when money is paid, not what it costs.

use crate::engine::{self, LineKind, Outcome};
use crate::error::{Error, Result};
use crate::model::money::{format_money, format_percent};
use crate::model::period::Period;
use crate::output::{align_right, plain_table};
use crate::program::{self, Program};
use crate::run::{self, DataPaths, Loaded};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
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

#[derive(Debug, Serialize)]
pub struct Delta {
    pub name: String,
    pub kind: String,
    pub base: String,
    pub head: String,
    pub delta: String,
    /// Empty when the base is zero.
    pub delta_pct: String,
}

#[derive(Debug, Serialize)]
pub struct PartnerDelta {
    pub partner_id: String,
    pub partner_type: String,
    pub base: String,
    pub head: String,
    pub delta: String,
}

#[derive(Debug, Serialize)]
pub struct DiffReport {
    pub base_program: String,
    pub head_program: String,
    pub period: String,
    pub currency: String,
    pub rules: Vec<Delta>,
    pub partner_types: Vec<Delta>,
    pub partners_changed: usize,
    /// The changed partners by absolute delta (largest first), cut to `--top` unless `--all`.
    pub partners: Vec<PartnerDelta>,
    pub total: Delta,
    pub max_increase: Option<String>,
    pub over_limit: bool,
    pub warnings: Vec<String>,
}

fn pct(base: Decimal, head: Decimal) -> String {
    if base.is_zero() {
        String::new()
    } else {
        format_percent(((head - base) / base).round_dp(4))
    }
}

fn cost_by_partner(outcome: &Outcome, n: usize) -> Vec<Decimal> {
    let mut out = vec![Decimal::ZERO; n];
    for l in &outcome.lines {
        if l.kind != LineKind::Clawback {
            out[l.partner] += l.amount;
        }
    }
    out
}

fn by_rule(program: &Program, outcome: &Outcome) -> Vec<(String, String, Decimal)> {
    let mut rows: Vec<(String, String, Decimal)> = program
        .rules
        .iter()
        .map(|r| (r.id.clone(), r.kind.name().to_string(), Decimal::ZERO))
        .collect();
    for l in &outcome.lines {
        if l.kind == LineKind::Clawback {
            continue;
        }
        let (id, kind) = if l.kind == LineKind::BudgetProration {
            ("(budget-proration)".to_string(), "adjustment".to_string())
        } else {
            (
                l.rule_id.clone(),
                program
                    .rule(&l.rule_id)
                    .map(|r| r.kind.name())
                    .unwrap_or("")
                    .to_string(),
            )
        };
        match rows.iter_mut().find(|r| r.0 == id) {
            Some(r) => r.2 += l.amount,
            None => rows.push((id, kind, l.amount)),
        }
    }
    rows
}

fn evaluate(program: &Program, period: &Period, paths: &DataPaths) -> Result<(Loaded, Outcome)> {
    let loaded = run::load(program, period, paths, true, &mut |_| {})?;
    let outcome = engine::evaluate(program, period, &loaded.inputs())?;
    Ok((loaded, outcome))
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
    let money = |v: Decimal| format_money(v, units);
    let (loaded, base_out) = evaluate(&base, period, paths)?;
    let (head_loaded, head_out) = evaluate(&head, period, paths)?;
    let partners = &loaded.partners.partners;

    let base_rules = by_rule(&base, &base_out);
    let head_rules = by_rule(&head, &head_out);
    let mut rules: Vec<Delta> = Vec::new();
    let mut names: Vec<(String, String)> = base_rules
        .iter()
        .map(|r| (r.0.clone(), r.1.clone()))
        .collect();
    for r in &head_rules {
        if !names.iter().any(|n| n.0 == r.0) {
            names.push((r.0.clone(), r.1.clone()));
        }
    }
    for (name, kind) in names {
        let b = base_rules
            .iter()
            .find(|r| r.0 == name)
            .map(|r| r.2)
            .unwrap_or_default();
        let h = head_rules
            .iter()
            .find(|r| r.0 == name)
            .map(|r| r.2)
            .unwrap_or_default();
        let kind = match (base.rule(&name), head.rule(&name)) {
            (Some(x), Some(y)) if x.kind.name() != y.kind.name() => {
                format!("{} → {}", x.kind.name(), y.kind.name())
            }
            (Some(_), None) => format!("{kind} (removed)"),
            (None, Some(_)) => format!("{kind} (added)"),
            _ => kind,
        };
        rules.push(Delta {
            name,
            kind,
            base: money(b),
            head: money(h),
            delta: money(h - b),
            delta_pct: pct(b, h),
        });
    }

    let base_cost = cost_by_partner(&base_out, partners.len());
    let head_cost = cost_by_partner(&head_out, partners.len());
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
    let shown: Vec<PartnerDelta> = changed
        .into_iter()
        .take(top.unwrap_or(usize::MAX))
        .map(|i| PartnerDelta {
            partner_id: partners[i].id.clone(),
            partner_type: partners[i].partner_type.clone(),
            base: money(base_cost[i]),
            head: money(head_cost[i]),
            delta: money(head_cost[i] - base_cost[i]),
        })
        .collect();
    let partner_types = types
        .into_iter()
        .filter(|(_, (b, h))| !b.is_zero() || !h.is_zero())
        .map(|(t, (b, h))| Delta {
            name: t.to_string(),
            kind: String::new(),
            base: money(b),
            head: money(h),
            delta: money(h - b),
            delta_pct: pct(b, h),
        })
        .collect();
    let b: Decimal = base_cost.iter().sum();
    let h: Decimal = head_cost.iter().sum();
    let increase = h - b;
    let over_limit = match limit {
        None => false,
        Some(Limit::Amount(a)) => increase > a,
        Some(Limit::Percent(p)) => {
            if b.is_zero() {
                increase > Decimal::ZERO
            } else {
                increase * Decimal::ONE_HUNDRED > p * b
            }
        }
    };
    let mut warnings = loaded.warnings.clone();
    warnings.extend(head_loaded.warnings.iter().cloned());
    warnings.extend(base_out.warnings.iter().map(|w| format!("base: {w}")));
    warnings.extend(head_out.warnings.iter().map(|w| format!("head: {w}")));
    Ok(DiffReport {
        base_program: base.id.clone(),
        head_program: head.id.clone(),
        period: period.to_string(),
        currency: base.currency.clone(),
        rules,
        partner_types,
        partners_changed,
        partners: shown,
        total: Delta {
            name: "total".into(),
            kind: String::new(),
            base: money(b),
            head: money(h),
            delta: money(increase),
            delta_pct: pct(b, h),
        },
        max_increase: limit.map(|l| match l {
            Limit::Amount(a) => money(a),
            Limit::Percent(p) => format!("{}%", p.normalize()),
        }),
        over_limit,
        warnings,
    })
}

/// `+200.00` / `-100.00` / `0.00`: a reader sees the direction of a change at a glance.
fn signed(text: &str) -> String {
    let is_zero = text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.' || c == '%');
    if text.is_empty() || text.starts_with('-') || is_zero {
        text.to_string()
    } else {
        format!("+{text}")
    }
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
                d.base.clone(),
                d.head.clone(),
                signed(&d.delta),
                signed(&d.delta_pct),
            ]);
        }
        align_right(&mut rules, 2..6);
        out.push_str(&format!("Per rule\n{rules}\n\n"));
        let mut types = plain_table(vec!["partner type", "base", "head", "delta", "delta %"]);
        for d in &self.partner_types {
            types.add_row(vec![
                d.name.clone(),
                d.base.clone(),
                d.head.clone(),
                signed(&d.delta),
                signed(&d.delta_pct),
            ]);
        }
        align_right(&mut types, 1..5);
        out.push_str(&format!("Per partner type\n{types}\n\n"));
        if self.partners_changed == 0 {
            out.push_str("No partner's payout changed.\n\n");
        } else {
            let mut partners = plain_table(vec!["partner", "type", "base", "head", "delta"]);
            for p in &self.partners {
                partners.add_row(vec![
                    p.partner_id.clone(),
                    p.partner_type.clone(),
                    p.base.clone(),
                    p.head.clone(),
                    signed(&p.delta),
                ]);
            }
            align_right(&mut partners, 2..5);
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
        let pct = if self.total.delta_pct.is_empty() {
            String::new()
        } else {
            format!(" ({})", signed(&self.total.delta_pct))
        };
        out.push_str(&format!(
            "Total cost: base {} → head {}: {}{pct}\n",
            self.total.base,
            self.total.head,
            signed(&self.total.delta)
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
