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
// `when` filters partners and deals: it lives with them in the model.
pub use crate::model::When;
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
    /// The general-ledger account names journal.csv books the batch to (`[accounting]`).
    pub accounting: Accounting,
    pub rules: Vec<Rule>,
}

/// `[accounting]`: the names of the general-ledger accounts journal.csv uses. Each payline ledger
/// account maps to one liability account, and what partners earn is booked against an expense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accounting {
    /// What partners earn (and what clawbacks, proration and adjustments take back).
    pub expense: String,
    /// The partners' `payout` account: owed to partners, paid or carried.
    pub payable: String,
    /// The `pending` account: earned but held for the refund window.
    pub pending: String,
    /// The counterpart of a partner's payout: where the payment run clears.
    pub payments: String,
    /// The `fund:RULE_ID` accounts (MDF, co-op): what a fund owes partners.
    pub fund_payable: String,
    /// What fund accruals and allocations cost.
    pub fund_expense: String,
}

impl Default for Accounting {
    fn default() -> Self {
        Accounting {
            expense: "Partner commissions expense".into(),
            payable: "Partner payouts payable".into(),
            pending: "Partner commissions pending".into(),
            payments: "Partner payments clearing".into(),
            fund_payable: "MDF payable".into(),
            fund_expense: "MDF expense".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PayoutPolicy {
    pub minimum: Decimal,
    pub terms_days: i64,
    pub require_kyc: bool,
    /// SPEC §8.2: deal-based lines of deals closed fewer than this many days before the period's
    /// last day are held on the `pending` account; 0 (the default) holds nothing.
    pub hold_days: i64,
    /// SPEC §9.3 `[payout] approval`: the default of every rule that allows approval.
    pub approval: crate::engine::approval::Approval,
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
    /// deals.csv `quantity` × share (SPEC §8.4).
    Units,
}

impl Measure {
    /// The words a program may use for it.
    pub const CHOICES: &[(&str, Measure)] = &[
        ("revenue", Measure::Revenue),
        ("deals", Measure::Deals),
        ("units", Measure::Units),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Measure::Revenue => "revenue",
            Measure::Deals => "deals",
            Measure::Units => "units",
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
    /// Shared with every line the rule writes.
    pub id: crate::model::Text,
    /// `label`: what statements and index.html call the rule (default: its id in words).
    pub label: Option<String>,
    pub when: When,
    pub cap: Option<Decimal>,
    pub modifiers: Vec<Modifier>,
    /// SPEC §9.5 `group`: the rules of one group take a deal row in program order.
    pub group: Option<crate::model::Text>,
    /// SPEC §9.3 `approval` as the rule says it (see [`Program::approval`] for the one in force).
    pub approval: Option<crate::engine::approval::Approval>,
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

    /// Whether the rule *matches* a deal row in the sense of SPEC §9.5's groups: its partner keys
    /// (with the level), its deal keys and dates, and a spif's window. Eligibility, not money.
    pub fn matches_row(
        &self,
        partner: &crate::model::Partner,
        level: Option<&str>,
        deal: &crate::model::Deal,
    ) -> bool {
        let in_window = match &self.kind {
            RuleKind::Spif(c) => c.start <= deal.closed_on && deal.closed_on <= c.end,
            _ => true,
        };
        in_window && self.when.matches_partner(partner, level) && self.when.matches_deal(deal)
    }

    pub fn is_milestone(&self) -> bool {
        matches!(self.kind, RuleKind::Milestone(_))
    }

    /// What documents call the rule: its `label`, or its id in words (`q4-platform-spif` →
    /// `Q4 platform SPIF`).
    pub fn label(&self) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| crate::render::words::default_label(&self.id))
    }

    pub fn key_pos(&self, key: &str) -> Pos {
        self.key_pos.get(key).copied().unwrap_or(self.pos)
    }

    /// What the rule pays on (SPEC §9.1): `close` for every kind but a `percent` or `flat` that says
    /// otherwise.
    pub fn pay_on(&self) -> crate::engine::payments::PayOn {
        match &self.kind {
            RuleKind::Percent(c) => c.pay_on,
            RuleKind::Flat(c) => c.pay_on,
            _ => crate::engine::payments::PayOn::Close,
        }
    }

    /// Whether the rule may require approval (SPEC §9.3): a deal-based rule paid on its deal line,
    /// not on payments, that does not accumulate.
    pub fn allows_approval(&self) -> bool {
        self.is_deal_based()
            && !matches!(
                self.pay_on(),
                crate::engine::payments::PayOn::Payment { .. }
            )
            && self.kind.accumulate().is_none()
    }
}

impl Program {
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| &*r.id == id)
    }

    /// The approval in force for `rule` (SPEC §9.3): its own `approval`, else `[payout] approval`
    /// when the rule allows approval, else `auto`.
    pub fn approval(&self, rule: &Rule) -> crate::engine::approval::Approval {
        match rule.approval {
            Some(approval) => approval,
            None if rule.allows_approval() => self.payout.approval,
            None => crate::engine::approval::Approval::Auto,
        }
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
