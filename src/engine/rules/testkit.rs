//! Test fixtures for the rule modules' unit tests: a program parsed from TOML, partners, deals,
//! activities, claims and a ledger, evaluated either rule by rule through a `PartnerCtx` or through
//! the whole engine. Partners and deals are named by id; indexes are resolved at evaluation, after
//! partners are sorted by id and deals by (partner, closed_on, deal_id), as the loaders do.

use super::RuleOutput;
use crate::engine::{self, Inputs, Line, Outcome, PartnerCtx};
use crate::input::{DealData, FxTable, LedgerData, PartnerSet, PriorCounts};
use crate::model::period::Period;
use crate::model::{
    Activity, Claim, ClaimStatus, Credit, Deal, DealSource, DealStatus, Partner, PartnerStatus,
    Payment,
};
use crate::program::Program;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The `[program]` header every fixture program starts with (4 lines, USD, half-up).
pub const HEADER: &str = "[program]\nid = \"t\"\nname = \"T\"\ncurrency = \"USD\"\n";

/// An exact decimal from its text.
pub fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap_or_else(|e| panic!("bad decimal {s:?}: {e}"))
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("bad date {s:?}: {e}"))
}

/// A program from a whole TOML text; panics with the diagnostics when it does not parse.
pub fn program(text: &str) -> Program {
    let (p, diags) = crate::program::parse("t.toml", text);
    p.unwrap_or_else(|| panic!("test program must parse: {diags:#?}"))
}

/// The rules of `body` under [`HEADER`].
pub fn rules(body: &str) -> Program {
    program(&format!("{HEADER}{body}"))
}

/// Every diagnostic of a program that must not parse, as (line, column, message).
pub fn parse_errors(text: &str) -> Vec<(usize, usize, String)> {
    let (p, diags) = crate::program::parse("t.toml", text);
    assert!(p.is_none(), "program must not parse: {diags:#?}");
    diags
        .into_iter()
        .map(|d| (d.line, d.column, d.message))
        .collect()
}

/// An active, KYC-verified USD reseller with nothing else set.
pub fn partner(id: &str) -> Partner {
    Partner {
        id: id.into(),
        name: format!("Partner {id}"),
        partner_type: "reseller".into(),
        region: None,
        level: None,
        quota: None,
        currency: "USD".into(),
        status: PartnerStatus::Active,
        kyc_verified: true,
        joined_on: None,
    }
}

/// A won, sourced, whole (share 1) USD deal row; `partner` is filled in at evaluation.
pub fn deal(deal_id: &str, closed_on: &str, amount: &str) -> Deal {
    let amount = d(amount);
    Deal {
        deal_id: deal_id.into(),
        partner: usize::MAX,
        closed_on: date(closed_on),
        amount,
        currency: "USD".into(),
        share: Decimal::ONE,
        quantity: 1,
        credited: amount,
        product: None,
        customer_type: None,
        deal_name: None,
        source: DealSource::Sourced,
        status: DealStatus::Won,
        reversed_on: None,
        reversed_amount: None,
        credit: Credit::Split,
    }
}

/// A split row: credited = amount × share, rounded half-up to cents as the loader does.
pub fn split(deal_id: &str, closed_on: &str, amount: &str, share: &str) -> Deal {
    let mut row = deal(deal_id, closed_on, amount);
    row.share = d(share);
    row.credited = (row.amount * row.share).round_dp(2);
    row
}

/// A deal row with a quantity (units sold, SPEC §8.4).
pub fn qty(mut row: Deal, quantity: u64) -> Deal {
    row.quantity = quantity;
    row
}

/// A deal row with a product.
pub fn product(mut row: Deal, product: &str) -> Deal {
    row.product = Some(product.into());
    row
}

/// Everything one evaluation reads, by partner id.
pub struct Fixture {
    pub program: Program,
    pub period: Period,
    pub partners: Vec<Partner>,
    current: Vec<(String, Deal)>,
    previous: Vec<(String, Deal)>,
    reversals: Vec<(String, Deal)>,
    /// (partner, rule whose `when` filters, count).
    prior: Vec<(String, String, u64)>,
    activities: Vec<(String, &'static str, u64)>,
    claims: Vec<(String, String, String, Decimal)>,
    /// (partner, fund rule id, balance).
    funds: Vec<(String, String, Decimal)>,
    /// (partner, rule id, sum of the rule's ledger lines).
    rule_sums: Vec<(String, String, Decimal)>,
    /// (partner, deal id, rule id, what the ledger paid the row).
    deal_earnings: Vec<(String, String, String, Decimal)>,
    ledger_given: bool,
    /// Rows of the span's earlier periods that count at the period end (`accumulate`).
    earlier: Vec<(String, Deal)>,
    /// (partner, rule id, what the ledger shows the rule paid since its span started).
    span_paid: Vec<(String, String, Decimal)>,
    /// (partner, deal id, rule id, the row's own lines in the span's earlier periods).
    span_rows: Vec<(String, String, String, Decimal)>,
    /// (partner, deal id, rule id, the row's recorded part of a finished span's true-ups, span).
    true_up_parts: Vec<(String, String, String, Decimal, String)>,
    /// Rows kept whatever their dates for the payments (`DealData::by_id`).
    by_id: Vec<(String, Deal)>,
    /// payments.csv: (payment_id, deal_id, paid_on, amount).
    payments: Vec<(String, String, NaiveDate, Decimal)>,
}

impl Fixture {
    /// `body` ([[rules]] …) under [`HEADER`], for the period 2026-10, with partner P1.
    pub fn new(body: &str) -> Fixture {
        Fixture::with_program(rules(body))
    }

    pub fn with_program(program: Program) -> Fixture {
        Fixture {
            program,
            period: Period::parse("2026-10").expect("period"),
            partners: vec![partner("P1")],
            current: Vec::new(),
            previous: Vec::new(),
            reversals: Vec::new(),
            prior: Vec::new(),
            activities: Vec::new(),
            claims: Vec::new(),
            funds: Vec::new(),
            rule_sums: Vec::new(),
            deal_earnings: Vec::new(),
            ledger_given: false,
            earlier: Vec::new(),
            span_paid: Vec::new(),
            span_rows: Vec::new(),
            true_up_parts: Vec::new(),
            by_id: Vec::new(),
            payments: Vec::new(),
        }
    }

    /// A row of P1 that payments name (`DealData::by_id`), whatever its dates.
    pub fn paid_row(mut self, row: Deal) -> Fixture {
        self.by_id.push(("P1".into(), row));
        self
    }

    /// A payment of payments.csv (for every row of its deal).
    pub fn payment(
        mut self,
        payment_id: &str,
        deal_id: &str,
        paid_on: &str,
        amount: &str,
    ) -> Fixture {
        self.payments
            .push((payment_id.into(), deal_id.into(), date(paid_on), d(amount)));
        self
    }

    /// Replaces the partners.
    pub fn partners(mut self, partners: Vec<Partner>) -> Fixture {
        self.partners = partners;
        self
    }

    /// Changes partner P1 (or the partner named `id`) in place.
    pub fn edit(mut self, id: &str, f: impl FnOnce(&mut Partner)) -> Fixture {
        f(self
            .partners
            .iter_mut()
            .find(|p| p.id == id)
            .expect("partner"));
        self
    }

    /// A row that counts in the period.
    pub fn deal(mut self, partner: &str, row: Deal) -> Fixture {
        self.current.push((partner.into(), row));
        self
    }

    /// Rows of P1 that count in the period.
    pub fn deals(mut self, rows: Vec<Deal>) -> Fixture {
        for row in rows {
            self = self.deal("P1", row);
        }
        self
    }

    /// Rows of P1 that count in the previous period.
    pub fn previous(mut self, rows: Vec<Deal>) -> Fixture {
        for row in rows {
            self.previous.push(("P1".into(), row));
        }
        self
    }

    /// A row of P1 reversed inside the period.
    pub fn reversal(mut self, mut row: Deal, reversed_on: &str) -> Fixture {
        row.status = DealStatus::Refunded;
        row.reversed_on = Some(date(reversed_on));
        self.reversals.push(("P1".into(), row));
        self
    }

    /// P1's qualifying rows (by `rule`'s `when`) closed before the period that count at its end.
    pub fn prior_count(mut self, rule: &str, count: u64) -> Fixture {
        self.prior.push(("P1".into(), rule.into(), count));
        self
    }

    /// An activity of P1 in the period.
    pub fn activity(mut self, name: &'static str, quantity: u64) -> Fixture {
        self.activities.push(("P1".into(), name, quantity));
        self
    }

    /// An approved claim of P1 decided in the period.
    pub fn claim(mut self, claim_id: &str, fund: &str, amount: &str) -> Fixture {
        self.claims
            .push(("P1".into(), claim_id.into(), fund.into(), d(amount)));
        self
    }

    /// P1's fund balance in the previous ledger.
    pub fn fund_balance(mut self, fund: &str, balance: &str) -> Fixture {
        self.ledger_given = true;
        self.funds.push(("P1".into(), fund.into(), d(balance)));
        self
    }

    /// What P1's ledger lines of `rule` add up to.
    pub fn rule_sum(mut self, rule: &str, sum: &str) -> Fixture {
        self.ledger_given = true;
        self.rule_sums.push(("P1".into(), rule.into(), d(sum)));
        self
    }

    /// What the ledger paid P1 for a deal row under `rule`.
    pub fn deal_earning(mut self, deal_id: &str, rule: &str, amount: &str) -> Fixture {
        self.ledger_given = true;
        self.deal_earnings
            .push(("P1".into(), deal_id.into(), rule.into(), d(amount)));
        self
    }

    /// Rows of P1 closed before the period, in its accumulating span, that count at its end.
    pub fn earlier(mut self, rows: Vec<Deal>) -> Fixture {
        for row in rows {
            self.earlier.push(("P1".into(), row));
        }
        self
    }

    /// What the ledger shows `rule` paid P1 in its span's earlier periods.
    pub fn span_paid(mut self, rule: &str, sum: &str) -> Fixture {
        self.ledger_given = true;
        self.span_paid.push(("P1".into(), rule.into(), d(sum)));
        self
    }

    /// A row `rule` paid P1 in its span's earlier periods, with its own lines there (SPEC §8.7: the
    /// row belongs to the true-up by where the rule paid it).
    pub fn span_row(mut self, deal_id: &str, rule: &str, own: &str) -> Fixture {
        self.ledger_given = true;
        self.span_rows
            .push(("P1".into(), deal_id.into(), rule.into(), d(own)));
        self
    }

    /// P1's row's recorded part of the true-ups of `span`, which ended (`true_up_parts.csv`).
    pub fn true_up_part(mut self, deal_id: &str, rule: &str, part: &str, span: &str) -> Fixture {
        self.ledger_given = true;
        self.true_up_parts.push((
            "P1".into(),
            deal_id.into(),
            rule.into(),
            d(part),
            span.into(),
        ));
        self
    }

    fn with_inputs<T>(&self, f: impl FnOnce(&Inputs) -> T) -> T {
        let partners = PartnerSet::new(self.partners.clone());
        let index = |id: &str| partners.find(id).expect("fixture partner");
        let rows = |raw: &[(String, Deal)]| {
            let mut rows: Vec<Deal> = raw
                .iter()
                .map(|(p, row)| Deal {
                    partner: index(p),
                    ..row.clone()
                })
                .collect();
            rows.sort_by(|a, b| {
                (a.partner, a.closed_on, &a.deal_id).cmp(&(b.partner, b.closed_on, &b.deal_id))
            });
            rows
        };
        // One entry per filter, as the loader builds them: rules with the same `when` share it.
        let mut prior_counts: Vec<PriorCounts> = Vec::new();
        for (p, rule, n) in &self.prior {
            let filter = self.program.rule(rule).expect("rule").when.clone();
            match prior_counts.iter_mut().find(|c| c.filter == filter) {
                Some(c) => {
                    c.counts.insert(index(p), *n);
                }
                None => prior_counts.push(PriorCounts {
                    filter,
                    counts: [(index(p), *n)].into_iter().collect(),
                    firsts: Default::default(),
                }),
            }
        }
        let deals = DealData {
            current: rows(&self.current),
            previous: rows(&self.previous),
            reversals: rows(&self.reversals),
            earlier: rows(&self.earlier),
            by_id: rows(&self.by_id),
            prior_counts,
            ..DealData::default()
        };
        let mut payments: Vec<Payment> = self
            .payments
            .iter()
            .zip(2..)
            .map(|((id, deal_id, paid_on, amount), line)| Payment {
                payment_id: id.as_str().into(),
                deal_id: deal_id.as_str().into(),
                partner: None,
                paid_on: *paid_on,
                amount: *amount,
                line,
            })
            .collect();
        payments.sort_by(|a, b| {
            (&a.deal_id, a.paid_on, &a.payment_id).cmp(&(&b.deal_id, b.paid_on, &b.payment_id))
        });
        let mut activities: Vec<Activity> = self
            .activities
            .iter()
            .map(|(p, name, quantity)| Activity {
                partner: index(p),
                activity: name.to_string(),
                occurred_on: self.period.start,
                quantity: *quantity,
            })
            .collect();
        activities.sort_by_key(|a| a.partner);
        let mut claims: Vec<Claim> = self
            .claims
            .iter()
            .map(|(p, id, fund, amount)| Claim {
                claim_id: id.clone(),
                partner: index(p),
                fund: fund.clone(),
                amount: *amount,
                status: ClaimStatus::Approved,
                decided_on: Some(self.period.start),
            })
            .collect();
        claims.sort_by(|a, b| a.claim_id.cmp(&b.claim_id));
        let mut ledger = LedgerData::default();
        if self.ledger_given {
            ledger.dir = Some("prev".into());
        }
        for (p, fund, balance) in &self.funds {
            ledger.funds.insert((index(p), fund.clone()), *balance);
        }
        for (p, rule, sum) in &self.rule_sums {
            ledger.rule_sums.insert((index(p), rule.clone()), *sum);
        }
        for (p, rule, sum) in &self.span_paid {
            ledger.span_paid.insert((index(p), rule.clone()), *sum);
        }
        for (p, deal_id, rule, own) in &self.span_rows {
            ledger
                .span_rows
                .insert((index(p), deal_id.clone(), rule.clone()), *own);
        }
        for (p, deal_id, rule, part, span) in &self.true_up_parts {
            ledger.true_up_parts.insert(
                (index(p), deal_id.clone(), rule.clone()),
                (*part, span.clone()),
            );
        }
        for (p, deal_id, rule, amount) in &self.deal_earnings {
            ledger
                .deal_earnings
                .insert((index(p), deal_id.clone(), rule.clone()), *amount);
        }
        let fx = FxTable::none(&self.program.currency);
        let inputs = Inputs {
            partners: &partners,
            deals: &deals,
            activities: &activities,
            claims: &claims,
            adjustments: &[],
            fx: &fx,
            ledger: &ledger,
            payments: &payments,
            payments_file: (!self.payments.is_empty()).then_some("payments.csv"),
            approvals_file: None,
            approvals: &[],
        };
        f(&inputs)
    }

    /// One rule's raw output for one partner, straight from its kind's `evaluate`.
    pub fn output_for(&self, rule_id: &str, partner_id: &str) -> RuleOutput {
        self.try_output_for(rule_id, partner_id)
            .expect("rule evaluates")
    }

    /// P1's output of one rule, or its error (an overflow names the partner and the rule).
    pub fn try_output(&self, rule_id: &str) -> crate::error::Result<RuleOutput> {
        self.try_output_for(rule_id, "P1")
    }

    fn try_output_for(&self, rule_id: &str, partner_id: &str) -> crate::error::Result<RuleOutput> {
        let rule = self.program.rule(rule_id).expect("rule in program");
        self.with_inputs(|inputs| {
            let index = inputs.partners.find(partner_id).expect("partner");
            let partner = &inputs.partners.partners[index];
            let level = engine::level_of(&self.program, inputs.deals, index, partner);
            let slice = |rows: &'_ [Deal]| -> Vec<Deal> {
                rows.iter()
                    .filter(|d| d.partner == index)
                    .cloned()
                    .collect()
            };
            let current = slice(&inputs.deals.current);
            let previous = slice(&inputs.deals.previous);
            let activities: Vec<Activity> = inputs
                .activities
                .iter()
                .filter(|a| a.partner == index)
                .cloned()
                .collect();
            let claims: Vec<Claim> = inputs
                .claims
                .iter()
                .filter(|c| c.partner == index)
                .cloned()
                .collect();
            let ctx = PartnerCtx {
                program: &self.program,
                period: &self.period,
                index,
                partner,
                level: level.as_deref(),
                deals: &current,
                previous: &previous,
                activities: &activities,
                claims: &claims,
                inputs,
            };
            super::evaluate(rule, &ctx)
        })
    }

    /// P1's output of one rule.
    pub fn output(&self, rule_id: &str) -> RuleOutput {
        self.output_for(rule_id, "P1")
    }

    /// P1's written lines of one rule (zero lines are never written, SPEC §3) as (source_id, amount).
    pub fn lines(&self, rule_id: &str) -> Vec<(String, Decimal)> {
        amounts(&self.output(rule_id).lines)
    }

    /// A rule's next threshold for P1, for nudges.
    pub fn threshold(&self, rule_id: &str) -> Option<super::Threshold> {
        let rule = self.program.rule(rule_id).expect("rule in program");
        self.with_inputs(|inputs| {
            let index = inputs.partners.find("P1").expect("partner");
            let partner = &inputs.partners.partners[index];
            let level = engine::level_of(&self.program, inputs.deals, index, partner);
            let current: Vec<Deal> = inputs
                .deals
                .current
                .iter()
                .filter(|d| d.partner == index)
                .cloned()
                .collect();
            let ctx = PartnerCtx {
                program: &self.program,
                period: &self.period,
                index,
                partner,
                level: level.as_deref(),
                deals: &current,
                previous: &[],
                activities: &[],
                claims: &[],
                inputs,
            };
            super::next_threshold(rule, &ctx).expect("threshold")
        })
    }

    /// The whole engine over the fixture.
    pub fn run(&self) -> Outcome {
        self.with_inputs(|inputs| {
            engine::evaluate(&self.program, &self.period, inputs).expect("engine evaluates")
        })
    }
}

/// The non-zero lines as (source_id, amount), in order.
pub fn amounts(lines: &[Line]) -> Vec<(String, Decimal)> {
    lines
        .iter()
        .filter(|l| !l.amount.is_zero())
        .map(|l| (l.source_id.to_string(), l.amount))
        .collect()
}

/// Expected lines from (source_id, amount) text pairs.
pub fn expect(rows: &[(&str, &str)]) -> Vec<(String, Decimal)> {
    rows.iter().map(|(id, a)| (id.to_string(), d(a))).collect()
}

/// Deal rows of a table case.
pub type Rows = Vec<Deal>;

/// Expected lines of a table case, as (source_id, amount) text pairs.
pub type Want<'a> = Vec<(&'a str, &'a str)>;

/// The messages of warnings, for comparing with expected text.
pub fn messages(warnings: &[crate::error::Warning]) -> Vec<String> {
    warnings.iter().map(|w| w.message.clone()).collect()
}
