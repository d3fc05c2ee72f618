//! The program definition (SPEC §3): a typed model of the TOML, its loader and its lints.
//!
//! `parse` turns the TOML into this model and reports every error it finds with file, line and column;
//! `lint` finds mistakes that parse (falling tiers, empty SPIF windows, double pay …).

mod lint;
pub(crate) mod parse;

pub use lint::{LintContext, lint};
pub use parse::parse;

use crate::error::{Diagnostic, Error, Result, Severity};
use crate::model::money::Rounding;
// Each rule kind's configuration is owned by its module in `engine::rules`.
pub use crate::engine::rules::fund::Allocation;
pub use crate::engine::rules::goal::Target;
pub use crate::engine::rules::rebate::RebateBasis;
pub use crate::engine::rules::tiered::{TierMeasure, TierMode};
pub use crate::engine::rules::{Kind, RuleKind};
use crate::model::{Deal, DealSource, Partner};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;

/// A 1-based position in the program file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone)]
pub struct Program {
    /// The file the program came from, as given (for messages).
    pub file: String,
    pub id: String,
    pub name: String,
    pub currency: String,
    /// The currency's minor units, looked up once (every line is rounded with it).
    pub minor_units: u32,
    pub rounding: Rounding,
    pub clawback_days: i64,
    pub payout: PayoutPolicy,
    pub budget: Option<Budget>,
    pub levels: Option<Levels>,
    pub nudges: Option<Nudges>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
pub struct PayoutPolicy {
    pub minimum: Decimal,
    pub terms_days: i64,
    pub require_kyc: bool,
}

#[derive(Debug, Clone)]
pub struct Budget {
    pub total: Decimal,
    /// The budgeted rule ids; when the TOML omits `rules`, every rule except fund rules.
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    Revenue,
    Deals,
}

impl Measure {
    /// The words a program may use for it.
    pub const CHOICES: &[(&str, Measure)] =
        &[("revenue", Measure::Revenue), ("deals", Measure::Deals)];

    pub fn name(self) -> &'static str {
        match self {
            Measure::Revenue => "revenue",
            Measure::Deals => "deals",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Levels {
    pub measure: Measure,
    pub window_months: u32,
    pub tiers: Vec<LevelTier>,
}

#[derive(Debug, Clone)]
pub struct LevelTier {
    pub id: String,
    pub from: Decimal,
}

#[derive(Debug, Clone)]
pub struct Nudges {
    /// Fraction of the next threshold that may still be to go for a partner to be nudged.
    pub within: Decimal,
}

/// Eligibility (SPEC §3 `when`). A `None` key matches everything; a list matches any of its items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct When {
    pub partner_type: Option<Vec<String>>,
    pub level: Option<Vec<String>>,
    pub region: Option<Vec<String>>,
    pub product: Option<Vec<String>>,
    pub customer_type: Option<Vec<String>>,
    pub source: Option<Vec<String>>,
    pub min_amount: Option<Decimal>,
    pub max_amount: Option<Decimal>,
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

    /// The deal keys, with `min_amount`/`max_amount` on the deal's credited amount.
    pub fn matches_deal(&self, deal: &Deal) -> bool {
        self.matches_deal_keys(
            deal.product.as_deref(),
            deal.customer_type.as_deref(),
            deal.source,
            deal.credited,
        )
    }

    /// [`When::matches_deal`] on borrowed fields, for the loader's history rows that are counted
    /// but never stored.
    pub fn matches_deal_keys(
        &self,
        product: Option<&str>,
        customer_type: Option<&str>,
        source: DealSource,
        credited: Decimal,
    ) -> bool {
        list_matches(&self.product, product)
            && list_matches(&self.customer_type, customer_type)
            && list_matches(&self.source, Some(source.name()))
            && self.min_amount.is_none_or(|m| credited >= m)
            && self.max_amount.is_none_or(|m| credited <= m)
    }

    pub fn has_deal_keys(&self) -> bool {
        self.product.is_some()
            || self.customer_type.is_some()
            || self.source.is_some()
            || self.min_amount.is_some()
            || self.max_amount.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct Modifier {
    pub when: When,
    pub multiplier: Decimal,
}

/// A per-deal payment: a rate on the credited amount or a fixed amount per deal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pay {
    Rate(Decimal),
    Amount(Decimal),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tier {
    pub from: Decimal,
    pub pay: Pay,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub when: When,
    pub cap: Option<Decimal>,
    pub modifiers: Vec<Modifier>,
    pub kind: RuleKind,
    /// Where the rule's table starts, and where each of its keys is (by dotted name, e.g. `tiers`).
    pub pos: Pos,
    pub key_pos: BTreeMap<String, Pos>,
}

impl Rule {
    pub fn is_deal_based(&self) -> bool {
        self.kind.kind().is_deal_based()
    }

    pub fn is_fund(&self) -> bool {
        matches!(self.kind, RuleKind::Fund(_))
    }

    pub fn key_pos(&self, key: &str) -> Pos {
        self.key_pos.get(key).copied().unwrap_or(self.pos)
    }
}

impl Program {
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }

    /// Rounds a money line once, with the program's mode and currency.
    pub fn round(&self, value: Decimal) -> Decimal {
        self.rounding.round(value, self.minor_units())
    }

    pub fn is_budgeted(&self, rule_id: &str) -> bool {
        self.budget
            .as_ref()
            .is_some_and(|b| b.rules.iter().any(|r| r == rule_id))
    }
}

/// Reads and validates a program file; every error found is returned at once.
pub fn load(path: &Path) -> Result<Program> {
    load_with_sha256(path).map(|(program, _)| program)
}

/// The program and the SHA-256 of the very bytes it was parsed from (for the manifest).
pub fn load_with_sha256(path: &Path) -> Result<(Program, String)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let sha256 = crate::digest::sha256_hex(&bytes);
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::io(
            "read",
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    let (program, diagnostics) = parse(&path.display().to_string(), &text);
    let errors: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    match program {
        Some(p) if errors.is_empty() => Ok((p, sha256)),
        _ => Err(Error::Program(errors)),
    }
}
