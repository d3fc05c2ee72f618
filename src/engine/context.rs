//! What every rule and every step of the engine reads: the loaded inputs, and one partner's view of
//! them. The bottom of the engine: it imports nothing of the rules or of the steps that orchestrate
//! them (`engine::rules` and the steps above import it, never the other way round).

use super::line::Calc;
use crate::input::{DealData, FxTable, LedgerData, PartnerSet};
use crate::model::period::Period;
use crate::model::{Activity, Claim, Deal, Partner};
use crate::program::{Program, Rule};
use rust_decimal::Decimal;

/// Everything the engine reads, already loaded and validated.
pub struct Inputs<'a> {
    pub partners: &'a PartnerSet,
    pub deals: &'a DealData,
    pub activities: &'a [Activity],
    pub claims: &'a [Claim],
    /// Manual adjustments decided in the period (SPEC §8.1), by (partner, adjustment_id).
    pub adjustments: &'a [crate::model::Adjustment],
    pub fx: &'a FxTable,
    pub ledger: &'a LedgerData,
    /// payments.csv's payments of the deals a run may pay on (SPEC §9.1), sorted by (deal_id,
    /// paid_on, payment_id); empty without --payments.
    pub payments: &'a [crate::model::Payment],
    /// `--payments` as the user gave it (messages name it), when given: `payments` holds only the
    /// payments of deals a run may pay on, so it may be empty when the file is not.
    pub payments_file: Option<&'a str>,
    /// approvals.csv (SPEC §9.3), sorted by (partner, deal_id, rule_id); empty without --approvals.
    pub approvals: &'a [crate::model::Approval],
    /// `--approvals` as the user gave it, when given.
    pub approvals_file: Option<&'a str>,
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
    /// The partner's deals that pass the rule's deal keys and that no earlier rule of its group
    /// takes (SPEC §9.5), in processing order.
    pub fn qualifying<'d>(&self, rule: &Rule, deals: &'d [Deal]) -> Vec<&'d Deal> {
        deals.iter().filter(|d| self.takes(rule, d)).collect()
    }

    /// Whether `rule` sees `deal`: its deal keys pass, and no earlier rule of its group (SPEC §9.5,
    /// program order) matches the row first. A rule outside groups sees every row its keys pass.
    pub fn takes(&self, rule: &Rule, deal: &Deal) -> bool {
        rule.when.matches_deal(deal)
            && (!self.taken_before(rule, deal) || self.paid_in_span(rule, deal))
    }

    /// Whether the ledger shows `rule` paid the row in its accumulating span's earlier periods: the
    /// row stays its own (SPEC §7: a row paid by one rule of a group is never paid by another),
    /// even when re-labelled so that an earlier rule of the group now matches it first.
    fn paid_in_span(&self, rule: &Rule, deal: &Deal) -> bool {
        let span_rows = &self.inputs.ledger.span_rows;
        rule.kind.accumulate().is_some()
            && !span_rows.is_empty()
            && span_rows.contains_key(&(self.index, deal.deal_id.to_string(), rule.id.to_string()))
    }

    fn taken_before(&self, rule: &Rule, deal: &Deal) -> bool {
        let Some(group) = &rule.group else {
            return false;
        };
        self.program
            .rules
            .iter()
            .take_while(|r| !std::ptr::eq(*r, rule))
            .filter(|r| r.group.as_ref() == Some(group))
            .any(|r| r.matches_row(self.partner, self.level, deal))
    }

    pub fn money(&self, value: Decimal) -> String {
        crate::model::money::format_money(value, self.program.minor_units())
    }

    /// Checked arithmetic whose errors name this partner and `rule`.
    pub(crate) fn calc<'r>(&'r self, rule: &'r Rule) -> Calc<'r> {
        Calc {
            partner: &self.partner.id,
            rule: &rule.id,
        }
    }
}

/// Rows of `items` for one partner, given they are sorted by partner.
pub(crate) fn slice_for<T>(items: &[T], partner: usize, key: impl Fn(&T) -> usize) -> &[T] {
    let start = items.partition_point(|x| key(x) < partner);
    let end = items.partition_point(|x| key(x) <= partner);
    &items[start..end]
}
