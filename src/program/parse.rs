//! TOML → [`Program`], reporting every error with line and column.
//!
//! serde would stop at the first unknown key or wrong type; finance editing a program wants the whole
//! list at once, so this walks toml's spanned tree (`DeTable`) by hand. Every value goes through a
//! reader (`string`, `rate`, `integer(1, 120)` … via [`Tbl::value`]) that reports a wrong value at the
//! value and returns `Err(Bad)`. A builder reads every key of its table into locals before it bails
//! with `?`; a check on values already read reports and goes on, since `parse` keeps no program once
//! an error is recorded.

use super::*;
use crate::model::money::{is_currency_code, minor_units, parse_decimal};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Marks a value that was present but invalid; its error is already recorded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bad;

/// A key's value: absent (`None`), read, or present but `Bad`.
pub(crate) type Field<T> = std::result::Result<Option<T>, Bad>;

/// `payout.terms_days` and `payout.hold_days`: 0 to ten years (SPEC §6).
const MAX_TERMS_DAYS: i64 = 3650;
/// `levels.window_months`: 1 to ten years (SPEC §6).
const MAX_WINDOW_MONTHS: i64 = 120;
type SV<'a> = Spanned<DeValue<'a>>;
/// A table from level id to a decimal (`{ bronze = 3, gold = "10" }`).
pub(crate) type ByLevel = BTreeMap<String, Decimal>;

/// The program's text and the errors found in it so far; every table and value being read shares
/// it, so the errors are in a `RefCell`.
pub(crate) struct Src<'a> {
    file: &'a str,
    text: &'a str,
    line_starts: Vec<usize>,
    diags: RefCell<Vec<Diagnostic>>,
}

impl Src<'_> {
    fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        Pos { line, column }
    }

    /// Records an error at `span`; it returns `Bad` for the callers that fail with it.
    pub(crate) fn error(&self, span: Range<usize>, message: impl Into<String>) -> Bad {
        let Pos { line, column } = self.pos(span.start);
        // The excerpt is the whole line, without its line ending.
        let excerpt = self.text[self.line_starts[line - 1]..].lines().next();
        self.diags.borrow_mut().push(Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            severity: Severity::Error,
            message: message.into(),
            excerpt: excerpt.unwrap_or("").trim_end_matches('\r').to_string(),
        });
        Bad
    }
}

/// A value being read, with its dotted path for messages (`rules[2].tiers[0].rate`).
pub(crate) struct Val<'a> {
    src: &'a Src<'a>,
    value: &'a SV<'a>,
    pub(crate) name: String,
}

impl<'a> Val<'a> {
    pub(crate) fn get(&self) -> &'a DeValue<'a> {
        self.value.get_ref()
    }

    pub(crate) fn error(&self, message: String) -> Bad {
        self.src.error(self.value.span(), message)
    }

    /// Reports "`name` must {what}, found {found}": the one shape of a wrong-value message.
    fn must<T>(&self, what: impl Display, found: impl Display) -> Result<T, Bad> {
        Err(self.error(format!("`{}` must {what}, found {found}", self.name)))
    }

    /// What was `parsed` from the value, or when nothing was, a `must` error showing it as written.
    fn expect<T>(&self, what: impl Display, parsed: Option<T>) -> Result<T, Bad> {
        parsed.map_or_else(|| self.must(what, describe(self.get())), Ok)
    }

    /// `read`, a number read from the value, when it is `ok`; else a `must` error showing it.
    fn check(&self, read: Decimal, ok: bool, what: &str) -> Result<Decimal, Bad> {
        if !ok {
            return self.must(what, read);
        }
        Ok(read)
    }

    /// A value inside this one (a list item).
    fn item(&self, value: &'a SV<'a>, name: String) -> Val<'a> {
        Val {
            value,
            name,
            ..*self
        }
    }
}

// The readers, each of one kind of value.

pub(crate) fn string(v: &Val) -> Result<String, Bad> {
    match v.get().as_str() {
        Some(s) => Ok(s.to_string()),
        None => v.must("be a string", v.get().type_str()),
    }
}

/// A decimal written as a string (`"0.08"`), an integer or a float literal; a float is read from its
/// literal text, never through f64, so `rate = 0.07` stays exactly 0.07.
pub(crate) fn decimal(v: &Val) -> Result<Decimal, Bad> {
    let parsed = match v.get() {
        DeValue::String(s) => parse_decimal(s),
        DeValue::Integer(i) if i.radix() == 10 => parse_decimal(i.as_str()),
        DeValue::Float(f) => parse_decimal(f.as_str()),
        _ => None,
    };
    let what = "be a decimal like \"1250.00\" or \"0.08\" (below 10^20)";
    v.expect(what, parsed)
}

pub(crate) fn non_negative(v: &Val) -> Result<Decimal, Bad> {
    let d = decimal(v)?;
    v.check(d, d >= Decimal::ZERO, "be zero or more")
}

/// A rate or multiplier: zero or more, and at most 1000 (100,000%). No real program comes near; the
/// bound keeps rate × amount × multipliers far inside Decimal's range.
pub(crate) fn rate(v: &Val) -> Result<Decimal, Bad> {
    let d = non_negative(v)?;
    v.check(d, d <= Decimal::ONE_THOUSAND, "be at most 1000")
}

pub(crate) fn positive(v: &Val) -> Result<Decimal, Bad> {
    let d = decimal(v)?;
    v.check(d, d > Decimal::ZERO, "be above 0")
}

pub(crate) fn boolean(v: &Val) -> Result<bool, Bad> {
    v.expect("be true or false", v.get().as_bool())
}

/// A date as a TOML local date (`2026-10-01`) or a string `"2026-10-01"`.
pub(crate) fn date(v: &Val) -> Result<NaiveDate, Bad> {
    let parsed = match v.get() {
        DeValue::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => dt
            .date
            .and_then(|d| NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())),
        DeValue::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
        _ => None,
    };
    v.expect("be a date like 2026-10-01", parsed)
}

/// A list of strings, every bad item reported; a single string is accepted as a list of one.
fn strings(v: &Val) -> Result<Vec<String>, Bad> {
    match v.get() {
        DeValue::String(s) => Ok(vec![s.to_string()]),
        DeValue::Array(items) => every(items.iter().map(|item| {
            let item = v.item(item, v.name.clone());
            item.expect("list strings", item.get().as_str().map(str::to_string))
        })),
        other => v.must("be a list of strings", describe(other)),
    }
}

/// An array of tables (`tiers = [{...}]` or `[[rules]]`): each item a table, or reported.
pub(crate) fn tables<'a>(v: &Val<'a>) -> Result<Vec<Result<Tbl<'a>, Bad>>, Bad> {
    match v.get() {
        DeValue::Array(items) => {
            let item = |(i, item)| table(&v.item(item, format!("{}[{i}]", v.name)));
            Ok(items.iter().enumerate().map(item).collect())
        }
        other => v.must("be a list of tables", describe(other)),
    }
}

fn table<'a>(v: &Val<'a>) -> Result<Tbl<'a>, Bad> {
    Ok(Tbl {
        src: v.src,
        table: v.expect("be a table", v.get().as_table())?,
        span: v.value.span(),
        path: v.name.clone(),
    })
}

/// A whole number in `min..=max`, converted to `T` (never by a truncating cast: a value `T` cannot
/// hold is reported like any other out-of-range value).
pub(crate) fn integer<T: TryFrom<i64>>(min: i64, max: i64) -> impl Fn(&Val) -> Result<T, Bad> {
    move |v| {
        let n = v.get().as_integer();
        let n = n.and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok());
        let n = n
            .filter(|n| (min..=max).contains(n))
            .and_then(|n| T::try_from(n).ok());
        let range = match max {
            i64::MAX => format!("at least {min}"),
            _ => format!("from {min} to {max}"),
        };
        v.expect(format!("be a whole number {range}"), n)
    }
}

/// One of a fixed set of words, mapped to its value: an unknown word is an error naming the choices.
pub(crate) fn choice<T: Copy>(options: &[(&str, T)]) -> impl Fn(&Val) -> Result<T, Bad> {
    move |v| {
        let word = string(v)?;
        let found = options.iter().find(|(option, _)| *option == word);
        let names: Vec<&str> = options.iter().map(|(option, _)| *option).collect();
        let what = format!("be one of {}", names.join(", "));
        v.expect(what, found.map(|(_, value)| *value))
    }
}

/// A reader of one kind of value.
pub(crate) type Reader<T> = fn(&Val) -> Result<T, Bad>;

/// Runs every item (so each reports its own error) before collecting them.
fn every<C: FromIterator<T>, T>(items: impl Iterator<Item = Result<T, Bad>>) -> Result<C, Bad> {
    items.collect::<Vec<_>>().into_iter().collect()
}

/// A value as written, for "found …".
fn describe(v: &DeValue) -> String {
    match v {
        DeValue::String(s) => format!("\"{s}\""),
        DeValue::Integer(i) => i.as_str().to_string(),
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::Boolean(b) => b.to_string(),
        other => other.type_str().to_string(),
    }
}

/// A TOML table being read, with a dotted path for messages (`rules[2].tiers[0]`).
pub(crate) struct Tbl<'a> {
    pub(crate) src: &'a Src<'a>,
    pub(crate) table: &'a DeTable<'a>,
    pub(crate) span: Range<usize>,
    pub(crate) path: String,
}

impl<'a> Tbl<'a> {
    pub(crate) fn get(&self, key: &str) -> Option<&'a SV<'a>> {
        self.table.get(key)
    }

    /// The dotted path of `key`, for messages.
    pub(crate) fn name(&self, key: &str) -> String {
        match self.path.as_str() {
            "" => key.to_string(),
            path => format!("{path}.{key}"),
        }
    }

    pub(crate) fn error(&self, message: String) -> Bad {
        self.src.error(self.span.clone(), message)
    }

    /// Reports `message` at the value of `key`.
    pub(crate) fn error_at(&self, key: &str, message: String) -> Bad {
        let span = self.get(key).map_or(self.span.clone(), |v| v.span());
        self.src.error(span, message)
    }

    /// Reports every key not in `allowed` (typos are errors, SPEC §3).
    pub(crate) fn check_keys(&self, allowed: &[&str]) {
        for key in self.table.keys() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                let (name, expected) = (self.name(key.get_ref()), allowed.join(", "));
                let message = format!("unknown key `{name}`; expected one of: {expected}");
                self.src.error(key.span(), message);
            }
        }
    }

    /// `key` read by `read` when present: the one getter every other is made of.
    pub(crate) fn value<T>(
        &self,
        key: &str,
        read: impl FnOnce(&Val<'a>) -> Result<T, Bad>,
    ) -> Field<T> {
        let val = |value| Val {
            src: self.src,
            value,
            name: self.name(key),
        };
        self.get(key).map(|value| read(&val(value))).transpose()
    }

    /// A key that must be present; a missing one is reported at the table.
    pub(crate) fn require<T>(
        &self,
        key: &str,
        read: impl FnOnce(&Val<'a>) -> Result<T, Bad>,
    ) -> Result<T, Bad> {
        let field = self.value(key, read);
        self.required(key, field)
    }

    /// The value of `key` already read into `field`; a missing one is reported at the table.
    pub(crate) fn required<T>(&self, key: &str, field: Field<T>) -> Result<T, Bad> {
        let missing = || self.error(format!("missing required key `{}`", self.name(key)));
        field?.ok_or_else(missing)
    }

    /// An optional sub-table, built by `build` when present.
    fn section<T>(&self, key: &str, build: impl FnOnce(&Tbl<'a>) -> Result<T, Bad>) -> Field<T> {
        self.value(key, table)?.map(|t| build(&t)).transpose()
    }

    /// `key` when it is a table by level of values read by `read`, every bad value reported; `None`
    /// when `key` is absent or not a table.
    pub(crate) fn by_level(
        &self,
        key: &str,
        read: Reader<Decimal>,
    ) -> Option<Result<ByLevel, Bad>> {
        self.get(key).filter(|v| v.get_ref().is_table())?;
        let levels = self.value(key, table).ok().flatten()?;
        Some(every(levels.table.keys().map(|level| {
            let level = level.get_ref().to_string();
            let value = levels.require(&level, read)?;
            Ok((level, value))
        })))
    }
}

/// Parses a program, returning it when it has no errors, and every diagnostic found either way.
pub fn parse(file: &str, text: &str) -> (Option<Program>, Vec<Diagnostic>) {
    let newlines = text.match_indices('\n').map(|(i, _)| i + 1);
    let line_starts = std::iter::once(0).chain(newlines).collect();
    let diags = RefCell::default();
    let src = Src {
        file,
        text,
        line_starts,
        diags,
    };
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    for e in &syntax_errors {
        let message = format!("invalid TOML: {}", e.message().trim());
        src.error(e.span().unwrap_or(0..0), message);
    }
    let (table, span, path) = (root.get_ref(), root.span(), String::new());
    let root = Tbl {
        src: &src,
        table,
        span,
        path,
    };
    // A file with syntax errors is not read any further.
    let program = syntax_errors.is_empty().then(|| build_program(&root).ok());
    let diags = src.diags.into_inner();
    (program.flatten().filter(|_| diags.is_empty()), diags)
}

fn build_program(root: &Tbl) -> Result<Program, Bad> {
    root.check_keys(&[
        "program",
        "payout",
        "budget",
        "levels",
        "nudges",
        "accounting",
        "rules",
    ]);
    let header = root.section("program", program_header);
    if let Ok(None) = header {
        root.src.error(0..0, "missing required table [program]");
    }
    let payout = root.section("payout", payout_policy);
    let levels = root.section("levels", levels);
    let nudges = root.section("nudges", nudges);
    let accounting = root.section("accounting", accounting);

    let mut seen = HashMap::new();
    let tables = root.value("rules", tables);
    let rules_ok = tables.is_ok();
    let rules = tables.ok().flatten().unwrap_or_default().into_iter();
    let rules: Vec<_> = rules.map(|t| rule(&t?, &mut seen)).collect();
    let rules_ok = rules_ok && rules.iter().all(Result::is_ok);
    let rules: Vec<Rule> = rules.into_iter().flatten().collect();
    let budget = root.section("budget", |t| budget(t, &rules, rules_ok));

    let (id, name, currency, rounding, clawback_days) = header?.ok_or(Bad)?;
    let payout = payout?.unwrap_or(PayoutPolicy {
        minimum: Decimal::ZERO,
        terms_days: 30,
        require_kyc: true,
        hold_days: 0,
        approval: crate::engine::approval::Approval::Auto,
    });
    Ok(Program {
        file: root.src.file.to_string(),
        id,
        name,
        minor_units: minor_units(&currency),
        currency,
        rounding,
        clawback_days,
        payout,
        budget: budget?,
        levels: levels?,
        nudges: nudges?,
        accounting: accounting?.unwrap_or_default(),
        rules,
    })
}

/// `[accounting]`: general-ledger account names, each a non-empty name (defaults for the others).
fn accounting(t: &Tbl) -> Result<super::Accounting, Bad> {
    const KEYS: [&str; 6] = [
        "expense",
        "payable",
        "pending",
        "payments",
        "fund_payable",
        "fund_expense",
    ];
    t.check_keys(&KEYS);
    let name = |v: &Val| {
        let text = string(v)?;
        let ok = !text.trim().is_empty() && !text.chars().any(char::is_control);
        v.expect(
            "be an account name (not empty, no control characters)",
            ok.then_some(text),
        )
    };
    let [
        expense,
        payable,
        pending,
        payments,
        fund_payable,
        fund_expense,
    ] = KEYS.map(|key| t.value(key, name));
    let default = super::Accounting::default();
    Ok(super::Accounting {
        expense: expense?.unwrap_or(default.expense),
        payable: payable?.unwrap_or(default.payable),
        pending: pending?.unwrap_or(default.pending),
        payments: payments?.unwrap_or(default.payments),
        fund_payable: fund_payable?.unwrap_or(default.fund_payable),
        fund_expense: fund_expense?.unwrap_or(default.fund_expense),
    })
}

fn program_header(t: &Tbl) -> Result<(String, String, String, Rounding, i64), Bad> {
    t.check_keys(&["id", "name", "currency", "rounding", "clawback_days"]);
    let (id, name) = (t.require("id", string), t.require("name", string));
    let currency = t.require("currency", |v| {
        let code = Some(string(v)?).filter(|c| is_currency_code(c));
        v.expect("be an ISO 4217 code like \"USD\"", code)
    });
    let rounding = t.value("rounding", |v| {
        let rounding = Rounding::parse(&string(v)?);
        v.expect("be \"half-up\" or \"half-even\"", rounding)
    });
    let clawback_days = t.value("clawback_days", integer(0, i64::MAX));
    let rounding = rounding?.unwrap_or(Rounding::HalfUp);
    Ok((
        id?,
        name?,
        currency?,
        rounding,
        clawback_days?.unwrap_or(90),
    ))
}

fn payout_policy(t: &Tbl) -> Result<PayoutPolicy, Bad> {
    t.check_keys(&[
        "minimum",
        "terms_days",
        "require_kyc",
        "hold_days",
        "approval",
    ]);
    let approval = crate::engine::approval::parse(t);
    let minimum = t.value("minimum", non_negative);
    let terms_days = t.value("terms_days", integer(0, MAX_TERMS_DAYS));
    let require_kyc = t.value("require_kyc", boolean);
    let hold_days = t.value("hold_days", integer(0, MAX_TERMS_DAYS));
    Ok(PayoutPolicy {
        minimum: minimum?.unwrap_or(Decimal::ZERO),
        terms_days: terms_days?.unwrap_or(30),
        require_kyc: require_kyc?.unwrap_or(true),
        hold_days: hold_days?.unwrap_or(0),
        approval: approval?.unwrap_or_default(),
    })
}

/// The budget over `rules`, the rules that parsed (every rule when `rules_ok`).
fn budget(t: &Tbl, rules: &[Rule], rules_ok: bool) -> Result<Budget, Bad> {
    t.check_keys(&["total", "rules"]);
    let total = t.require("total", non_negative);
    let by_id: HashMap<&str, &Rule> = rules.iter().map(|r| (&*r.id, r)).collect();
    let names = t.value("rules", |v| {
        let names = strings(v)?;
        for name in &names {
            let message = match by_id.get(name.as_str()) {
                // An unknown id may be a rule that failed to parse; only report it when all parsed.
                None if rules_ok => format!("`budget.rules` names unknown rule `{name}`"),
                Some(r) if r.is_fund() => format!(
                    "`budget.rules` names fund rule `{name}`; fund claims are paid from their own \
                     balance and cannot be budgeted"
                ),
                _ => continue,
            };
            v.error(message);
        }
        Ok(names)
    })?;
    // Without a list, every rule but the funds, which pay claims from their own balance.
    let unfunded = || {
        rules
            .iter()
            .filter(|r| !r.is_fund())
            .map(|r| r.id.to_string())
            .collect()
    };
    let rules = names.unwrap_or_else(unfunded);
    Ok(Budget {
        total: total?,
        rules,
    })
}

fn levels(t: &Tbl) -> Result<Levels, Bad> {
    t.check_keys(&["measure", "window_months", "tiers"]);
    let measure = t.require("measure", choice(Measure::CHOICES));
    let window_months = t.require("window_months", integer(1, MAX_WINDOW_MONTHS));
    let mut ids = HashSet::new();
    let tiers = tier_list(t, &["id", "from"], |tt| {
        let id = tt.require("id", string)?;
        if !ids.insert(id.clone()) {
            tt.error(format!("duplicate level id `{id}`"));
        }
        Ok(id)
    });
    let tiers = tiers?.into_iter().map(|(from, id)| LevelTier { id, from });
    let (measure, window_months, tiers) = (measure?, window_months?, tiers.collect());
    Ok(Levels {
        measure,
        window_months,
        tiers,
    })
}

fn nudges(t: &Tbl) -> Result<Nudges, Bad> {
    t.check_keys(&["within"]);
    let within = t.require("within", |v| {
        let within = non_negative(v)?;
        if within > Decimal::ONE {
            let name = &v.name;
            v.error(format!(
                "`{name}` is a fraction of the next threshold between 0 and 1, found {within}"
            ));
        }
        Ok(within)
    })?;
    Ok(Nudges { within })
}

/// The required `tiers` of `t`, each with `from` and what `rest` reads (both read on every tier);
/// the `from`s must start at 0 and strictly ascend (SPEC §4.3), every break reported.
fn tier_list<'a, X>(
    t: &Tbl<'a>,
    keys: &[&str],
    mut rest: impl FnMut(&Tbl<'a>) -> Result<X, Bad>,
) -> Result<Vec<(Decimal, X)>, Bad> {
    let tiers: Vec<_> = every(t.require("tiers", tables)?.into_iter().map(|tt| {
        let tt = tt?;
        tt.check_keys(keys);
        let from = tt.require("from", non_negative);
        Ok((from.map(|from| (from, tt.span.clone())), rest(&tt)))
    }))?;
    let (froms, rests): (Vec<_>, Vec<_>) = tiers.into_iter().unzip();
    let froms: Vec<(Decimal, Range<usize>)> = froms.into_iter().collect::<Result<_, _>>()?;
    let name = t.name("tiers");
    if froms.is_empty() {
        t.error(format!("`{name}` needs at least one tier"));
    }
    if let Some((first, span)) = froms.first().filter(|(first, _)| !first.is_zero()) {
        let message = format!("the first tier of `{name}` must start at from = 0, found {first}");
        t.src.error(span.clone(), message);
    }
    for (i, ((lo, _), (hi, span))) in froms.iter().zip(froms.iter().skip(1)).enumerate() {
        if hi <= lo {
            let n = i + 2;
            let message =
                format!("tiers of `{name}` must ascend: tier {n} starts at {hi} after {lo}");
            t.src.error(span.clone(), message);
        }
    }
    let rests: Vec<X> = rests.into_iter().collect::<Result<_, _>>()?;
    Ok(froms.into_iter().map(|(from, _)| from).zip(rests).collect())
}

/// The `when` keys about the partner, and those about the deal (an error on rules that do not
/// measure deals, SPEC §3).
const PARTNER_KEYS: &[&str] = &["partner_type", "level", "region"];
const DEAL_KEYS: &[&str] = &[
    "product",
    "customer_type",
    "source",
    "credit",
    "min_amount",
    "max_amount",
];

fn when(t: &Tbl, allow_deal_keys: bool, rule_kind: &str) -> Result<When, Bad> {
    t.check_keys(&[PARTNER_KEYS, DEAL_KEYS].concat());
    let list = |key: &str| t.value(key, |v| when_list(v, key));
    let (partner_type, level, region) = (list("partner_type"), list("level"), list("region"));
    if !allow_deal_keys {
        // A deal key where it cannot be used is not read: it is an error whatever its value.
        for key in DEAL_KEYS.iter().filter(|key| t.get(key).is_some()) {
            let name = t.name(key);
            t.error_at(
                key,
                format!("`{name}` is a deal key and cannot be used on `{rule_kind}` rules"),
            );
        }
        let (partner_type, level, region) = (partner_type?, level?, region?);
        return Ok(When {
            partner_type,
            level,
            region,
            ..When::default()
        });
    }
    let (product, customer_type, source) = (list("product"), list("customer_type"), list("source"));
    let credit = list("credit");
    let min_amount = t.value("min_amount", non_negative);
    let max_amount = t.value("max_amount", non_negative);
    if let (Ok(Some(lo)), Ok(Some(hi))) = (min_amount, max_amount)
        && lo > hi
    {
        let name = t.name("min_amount");
        let message = format!("`{name}` ({lo}) is above `max_amount` ({hi}): no deal can match");
        t.error_at("min_amount", message);
    }
    Ok(When {
        partner_type: partner_type?,
        level: level?,
        region: region?,
        product: product?,
        customer_type: customer_type?,
        source: source?,
        credit: credit?,
        min_amount: min_amount?,
        max_amount: max_amount?,
        ..When::default()
    })
}

/// A `when` list: an empty one matches nothing; `source` lists only "sourced" and "influenced",
/// `credit` only "split" and "overlay" (SPEC §9.4).
fn when_list(v: &Val, key: &str) -> Result<Vec<String>, Bad> {
    let (list, name) = (strings(v)?, &v.name);
    if list.is_empty() {
        v.error(format!(
            "`{name}` is an empty list, which no partner or deal matches; list at least one value, \
             or remove the key to match every one"
        ));
    }
    let allowed: &[&str] = match key {
        "source" => &["sourced", "influenced"],
        "credit" => &["split", "overlay"],
        _ => return Ok(list),
    };
    if let Some(s) = list.iter().find(|s| !allowed.contains(&s.as_str())) {
        let (a, b) = (allowed[0], allowed[1]);
        v.error(format!(
            "`{name}` items must be \"{a}\" or \"{b}\", found \"{s}\""
        ));
    }
    Ok(list)
}

/// Keys every rule may have; each kind adds its own (`Kind::keys`).
const COMMON_KEYS: &[&str] = &[
    "id",
    "kind",
    "label",
    "when",
    "cap",
    "valid_from",
    "valid_until",
];

/// Keys of deal-based rules (SPEC §9.3, §9.5). On another kind each gets its own message, so it is
/// not reported as unknown there.
const DEAL_BASED_KEYS: &[&str] = &["group", "approval"];

/// A rule's `label`: words for people, 1–100 characters, no control characters.
fn label(v: &Val) -> Result<String, Bad> {
    let text = string(v)?;
    let length = text.trim().chars().count();
    if !(1..=100).contains(&length) {
        return v.must("be 1 to 100 characters", length);
    }
    if text.chars().any(char::is_control) {
        return v.must("be one line of text", "a control character");
    }
    Ok(text.trim().to_string())
}

/// A rule; `seen` holds the ids before it, with their line.
fn rule(t: &Tbl, seen: &mut HashMap<String, usize>) -> Result<Rule, Bad> {
    let id = t.require("id", |v| {
        let id = string(v)?;
        // Checked before the id's form, so a duplicate is found even when the rule has other errors.
        if let Some(line) = seen.get(&id) {
            v.error(format!(
                "duplicate rule id `{id}` (first defined at line {line})"
            ));
        } else {
            seen.insert(id.clone(), v.src.pos(v.value.span().start).line);
        }
        let valid = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
        match !id.is_empty() && id.bytes().all(valid) {
            true => Ok(id),
            false => Err(v.error(format!("rule id \"{id}\" must use only a-z, 0-9 and -"))),
        }
    });
    let kind = t.require("kind", |v| {
        let word = string(v)?;
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        let message = format!(
            "unknown rule kind \"{word}\"; expected one of: {}",
            names.join(", ")
        );
        Kind::from_name(&word).ok_or_else(|| v.error(message))
    });
    if let Ok(kind) = kind {
        let deal_based: Vec<&str> = DEAL_BASED_KEYS
            .iter()
            .copied()
            .filter(|key| kind.is_deal_based() || t.get(key).is_some())
            .collect();
        t.check_keys(&[COMMON_KEYS, &deal_based, kind.keys()].concat());
    }
    // Without a known kind its own keys cannot be read, but `when`, `cap` and `modifiers` still are.
    let (has_deals, kind_name) = kind.map_or((true, ""), |k| (k.has_deals(), k.name()));
    let when = t.section("when", |w| when(w, has_deals, kind_name));
    let cap = t.value("cap", non_negative);
    let label = t.value("label", label);
    let valid_from = t.value("valid_from", date);
    let valid_until = t.value("valid_until", date);
    if let (Ok(Some(from)), Ok(Some(until))) = (valid_from, valid_until)
        && from > until
    {
        let message = format!(
            "`valid_from` ({from}) is after `valid_until` ({until}): the rule could never apply"
        );
        t.error_at("valid_from", message);
    }
    let modifiers = match kind {
        Ok(kind) if !kind.is_deal_based() => Ok(Vec::new()),
        _ => modifiers(t),
    };
    let body = kind.and_then(|kind| RuleKind::parse(kind, t));
    let group = crate::engine::group::parse(t);
    let approval = crate::engine::approval::parse(t);
    deal_based_keys(t, kind.ok(), &body, &group, &approval);

    let key_pos = t
        .table
        .keys()
        .map(|k| (k.get_ref().to_string(), t.src.pos(k.span().start)));
    let when = When {
        valid_from: valid_from?,
        valid_until: valid_until?,
        ..when?.unwrap_or_default()
    };
    Ok(Rule {
        id: id?.into(),
        label: label?,
        when,
        cap: cap?,
        modifiers: modifiers?,
        group: group?,
        approval: approval?,
        kind: body?,
        pos: t.src.pos(t.span.start),
        key_pos: key_pos.collect(),
    })
}

/// `group` and `approval` are for deal-based rules (SPEC §9.3, §9.5), and approval is not for a rule
/// paid on payments or one that accumulates: each misuse is an error at its key.
fn deal_based_keys(
    t: &Tbl,
    kind: Option<Kind>,
    body: &Result<RuleKind, Bad>,
    group: &Field<crate::model::Text>,
    approval: &Field<crate::engine::approval::Approval>,
) {
    let Some(kind) = kind else { return };
    for (key, given) in [
        ("group", matches!(group, Ok(Some(_)))),
        ("approval", matches!(approval, Ok(Some(_)))),
    ] {
        if given && !kind.is_deal_based() {
            let message = format!(
                "`{key}` is for deal-based rules (flat, percent, tiered, spif); a {} rule pays per partner and period",
                kind.name()
            );
            t.error_at(key, message);
        }
    }
    let Ok(body) = body else { return };
    if matches!(approval, Ok(Some(_))) && kind.is_deal_based() {
        let why = if body.accumulate().is_some() {
            Some("it accumulates over its span (`accumulate`), whose true-ups settle every month")
        } else if let RuleKind::Percent(c) = body
            && matches!(c.pay_on, crate::engine::payments::PayOn::Payment { .. })
        {
            Some("it pays on payments (`pay_on = \"payment\"`), which settle the cash received")
        } else {
            None
        };
        if let Some(why) = why {
            t.error_at(
                "approval",
                format!("`approval` cannot be used on this rule: {why}"),
            );
        }
    }
}

fn modifiers(t: &Tbl) -> Result<Vec<Modifier>, Bad> {
    let modifiers = t.value("modifiers", tables)?.unwrap_or_default();
    every(modifiers.into_iter().map(|m| {
        let m = m?;
        m.check_keys(&["when", "multiplier"]);
        let when = m.section("when", |w| when(w, true, "modifier"));
        let multiplier = m.require("multiplier", rate);
        let (when, multiplier) = (when?.unwrap_or_default(), multiplier?);
        Ok(Modifier { when, multiplier })
    }))
}

/// `amount` xor `rate`, for kinds that pay either.
pub(crate) fn pay(t: &Tbl) -> Result<Pay, Bad> {
    let amount = t.value("amount", non_negative);
    let (rate, path) = (t.value("rate", rate), &t.path);
    match (amount?, rate?) {
        (Some(a), None) => Ok(Pay::Amount(a)),
        (None, Some(r)) => Ok(Pay::Rate(r)),
        (Some(_), Some(_)) => Err(t.error_at(
            "rate",
            format!("`{path}` has both `amount` and `rate`; give one"),
        )),
        (None, None) => Err(t.error(format!("`{path}` needs `amount` or `rate`"))),
    }
}

/// The tiers of a tiered or rebate rule: each pays a `rate`, or when `amount_allowed` either.
pub(crate) fn tiers(t: &Tbl, amount_allowed: bool) -> Result<Vec<Tier>, Bad> {
    let keys: &[&str] = match amount_allowed {
        true => &["from", "rate", "amount"],
        false => &["from", "rate"],
    };
    let tiers = tier_list(t, keys, |tt| match amount_allowed {
        true => pay(tt),
        false => tt.require("rate", rate).map(Pay::Rate),
    })?;
    Ok(tiers
        .into_iter()
        .map(|(from, pay)| Tier { from, pay })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[program]
id = "p"
name = "P"
currency = "USD"

[[rules]]
id = "ref"
kind = "flat"
amount = "50.00"
"#;

    #[test]
    fn minimal_program_parses_with_defaults() {
        let (p, diags) = parse("p.toml", MINIMAL);
        assert!(diags.is_empty(), "{diags:?}");
        let p = p.unwrap();
        assert_eq!(p.clawback_days, 90);
        assert_eq!(p.payout.terms_days, 30);
        assert!(p.payout.require_kyc);
        assert_eq!(
            p.rules[0].kind,
            RuleKind::Flat(crate::engine::rules::flat::Config {
                amount: Decimal::new(5000, 2),
                per: crate::engine::rules::Per::Deal,
                pay_on: crate::engine::payments::PayOn::Close,
            })
        );
    }

    #[test]
    fn reports_every_error_with_line_and_column() {
        let text = r#"[program]
id = "p"
name = "P"
currency = "usd"

[[rules]]
id = "a"
kind = "percent"
rate = "eight"
colour = "red"

[[rules]]
id = "a"
kind = "flat"
amount = "5"
"#;
        let (p, diags) = parse("p.toml", text);
        assert!(p.is_none());
        let found: Vec<(usize, usize)> = diags.iter().map(|d| (d.line, d.column)).collect();
        assert!(found.contains(&(4, 12)), "{diags:#?}");
        assert!(found.contains(&(9, 8)), "{diags:#?}");
        assert!(found.contains(&(10, 1)), "{diags:#?}");
        assert!(found.contains(&(13, 6)), "{diags:#?}");
        assert_eq!(diags.len(), 4, "{diags:#?}");
    }

    #[test]
    fn effective_dates_are_read_and_checked() {
        let text = MINIMAL.replace(
            "amount = \"50.00\"",
            "amount = \"50.00\"\nvalid_from = 2026-07-01\nvalid_until = \"2026-12-31\"",
        );
        let (p, diags) = parse("p.toml", &text);
        assert!(diags.is_empty(), "{diags:#?}");
        let when = &p.unwrap().rules[0].when;
        assert_eq!(when.valid_from, NaiveDate::from_ymd_opt(2026, 7, 1));
        assert_eq!(when.valid_until, NaiveDate::from_ymd_opt(2026, 12, 31));

        let text = MINIMAL.replace(
            "amount = \"50.00\"",
            "amount = \"50.00\"\nvalid_from = 2026-07-01\nvalid_until = 2026-06-30",
        );
        let (p, diags) = parse("p.toml", &text);
        assert!(p.is_none());
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!((diags[0].line, diags[0].column), (11, 14), "{diags:#?}");
        assert!(
            diags[0]
                .message
                .contains("`valid_from` (2026-07-01) is after `valid_until` (2026-06-30)")
        );
    }

    #[test]
    fn accounting_names_default_and_can_be_set() {
        let (p, diags) = parse("p.toml", MINIMAL);
        assert!(diags.is_empty(), "{diags:#?}");
        assert_eq!(p.unwrap().accounting, super::super::Accounting::default());

        let text = format!(
            "{MINIMAL}\n[accounting]\nexpense = \"6100 Channel commissions\"\npayments = \"2105 AP clearing\"\n"
        );
        let (p, diags) = parse("p.toml", &text);
        assert!(diags.is_empty(), "{diags:#?}");
        let accounting = p.unwrap().accounting;
        assert_eq!(accounting.expense, "6100 Channel commissions");
        assert_eq!(accounting.payments, "2105 AP clearing");
        assert_eq!(accounting.payable, "Partner payouts payable");

        let text = format!("{MINIMAL}\n[accounting]\nexpense = \"  \"\ncash = \"1000\"\n");
        let (p, diags) = parse("p.toml", &text);
        assert!(p.is_none());
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:#?}");
        assert!(
            messages
                .iter()
                .any(|m| m.contains("unknown key `accounting.cash`")),
            "{messages:#?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("account name")),
            "{messages:#?}"
        );
    }

    #[test]
    fn float_literals_are_read_exactly() {
        let text = MINIMAL.replace("amount = \"50.00\"", "amount = 0.1");
        let (p, _) = parse("p.toml", &text);
        assert_eq!(
            p.unwrap().rules[0].kind,
            RuleKind::Flat(crate::engine::rules::flat::Config {
                amount: Decimal::new(1, 1),
                per: crate::engine::rules::Per::Deal,
                pay_on: crate::engine::payments::PayOn::Close,
            })
        );
    }
}
