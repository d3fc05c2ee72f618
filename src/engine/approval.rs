//! Manual approval (SPEC §9.3): a deal line of a rule that requires approval waits on the `pending`
//! account until the decision in effect approves it (and its §8.2 hold has passed); a declined row is
//! not paid. This module holds the key, the decisions in effect and how a pending line is settled.

use crate::program::parse::{Field, Tbl, choice};

/// `approval` of a deal-based rule, or `[payout] approval` (the default of every rule that allows it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Approval {
    #[default]
    Auto,
    Manual,
}

impl Approval {
    pub const CHOICES: &[(&str, Approval)] =
        &[("auto", Approval::Auto), ("manual", Approval::Manual)];

    pub fn name(self) -> &'static str {
        match self {
            Approval::Auto => "auto",
            Approval::Manual => "manual",
        }
    }
}

/// Reads the optional `approval` key of a rule or of `[payout]`.
pub(crate) fn parse(t: &Tbl) -> Field<Approval> {
    t.value("approval", choice(Approval::CHOICES))
}
