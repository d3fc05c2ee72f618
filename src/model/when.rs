//! `when` (SPEC §3): the filter a rule, a modifier or a plan applies to partners and deals.

use super::{Credit, Deal, DealSource, Partner};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Eligibility (SPEC §3 `when`). A `None` key matches everything; a list matches any of its items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct When {
    pub partner_type: Option<Vec<String>>,
    pub level: Option<Vec<String>>,
    pub region: Option<Vec<String>>,
    pub product: Option<Vec<String>>,
    pub customer_type: Option<Vec<String>>,
    pub source: Option<Vec<String>>,
    /// `split` and/or `overlay` (SPEC §9.4).
    pub credit: Option<Vec<String>>,
    pub min_amount: Option<Decimal>,
    pub max_amount: Option<Decimal>,
    /// A rule's effective dates (SPEC §8.6 `valid_from`/`valid_until`, inclusive): only deals closed,
    /// activities occurred and claims decided inside them count for the rule. Rule-level keys, kept
    /// here because they filter exactly where `when` does (every measure, the loader's history counts).
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

fn list_matches(list: &Option<Vec<String>>, value: Option<&str>) -> bool {
    match list {
        None => true,
        Some(items) => value.is_some_and(|v| items.iter().any(|i| i == v)),
    }
}

impl When {
    pub fn matches_partner(&self, partner: &Partner, level: Option<&str>) -> bool {
        list_matches(&self.partner_type, Some(&partner.partner_type))
            && list_matches(&self.region, partner.region.as_deref())
            && list_matches(&self.level, level)
    }

    /// Whether `date` lies inside the effective dates (always, without them).
    pub fn valid_on(&self, date: NaiveDate) -> bool {
        self.valid_from.is_none_or(|from| date >= from)
            && self.valid_until.is_none_or(|until| date <= until)
    }

    /// Whether the effective dates share a day with `start..=end` (a period).
    pub fn valid_during(&self, start: NaiveDate, end: NaiveDate) -> bool {
        self.valid_from.is_none_or(|from| end >= from)
            && self.valid_until.is_none_or(|until| start <= until)
    }

    /// The deal keys, with `min_amount`/`max_amount` on the deal's credited amount, and the effective
    /// dates on its `closed_on`.
    pub fn matches_deal(&self, deal: &Deal) -> bool {
        self.matches_deal_keys(
            deal.closed_on,
            deal.product.as_deref(),
            deal.customer_type.as_deref(),
            deal.source,
            deal.credit,
            deal.credited,
        )
    }

    /// [`When::matches_deal`] on borrowed fields, for the loader's history rows that are counted
    /// but never stored.
    pub fn matches_deal_keys(
        &self,
        closed_on: NaiveDate,
        product: Option<&str>,
        customer_type: Option<&str>,
        source: DealSource,
        credit: Credit,
        credited: Decimal,
    ) -> bool {
        self.valid_on(closed_on)
            && list_matches(&self.product, product)
            && list_matches(&self.customer_type, customer_type)
            && list_matches(&self.source, Some(source.name()))
            && list_matches(&self.credit, Some(credit.name()))
            && self.min_amount.is_none_or(|m| credited >= m)
            && self.max_amount.is_none_or(|m| credited <= m)
    }

    pub fn has_deal_keys(&self) -> bool {
        self.product.is_some()
            || self.customer_type.is_some()
            || self.source.is_some()
            || self.credit.is_some()
            || self.min_amount.is_some()
            || self.max_amount.is_some()
    }
}
