//! TOML → [`Program`], reporting every error with line and column.
//!
//! serde would stop at the first unknown key or wrong type; finance editing a program wants the whole
//! list at once, so this walks toml's spanned tree (`DeTable`) by hand. Every value goes through one
//! typed reader ([`FromToml`], via [`Tbl::value`]) that reports a wrong value at the value and returns
//! `Err(Bad)`. A builder reads every key of its table into locals before it bails with `?`; a check on
//! values already read reports and goes on, since `parse` keeps no program once an error is recorded.

use super::*;
use crate::model::money::{is_currency_code, parse_decimal};
use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Marks a value that was present but invalid; its error is already recorded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bad;

pub(crate) type Field<T> = std::result::Result<Option<T>, Bad>;

/// `payout.terms_days` (and, later, `hold_days`): 0 to ten years (SPEC §6).
const MAX_TERMS_DAYS: i64 = 3650;
/// `levels.window_months`: 1 to ten years (SPEC §6).
const MAX_WINDOW_MONTHS: i64 = 120;
type SV<'i> = Spanned<DeValue<'i>>;

pub(crate) struct Src<'s> {
    file: &'s str,
    text: &'s str,
    line_starts: Vec<usize>,
    diags: Vec<Diagnostic>,
}

impl<'s> Src<'s> {
    fn new(file: &'s str, text: &'s str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Src {
            file,
            text,
            line_starts,
            diags: Vec::new(),
        }
    }

    fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        Pos { line, column }
    }

    fn line_text(&self, line: usize) -> String {
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |e| e - 1);
        self.text[start..end.max(start)]
            .trim_end_matches('\r')
            .to_string()
    }

    pub(crate) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let pos = self.pos(span.start);
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line: pos.line,
            column: pos.column,
            severity: Severity::Error,
            message: message.into(),
            excerpt: self.line_text(pos.line),
        });
    }

    /// Reports "`name` must {what}, found {found}" at `v`: the one shape of a wrong-value message.
    pub(crate) fn must<T>(
        &mut self,
        v: &SV,
        name: &str,
        what: impl Display,
        found: impl Display,
    ) -> Result<T, Bad> {
        self.error(v.span(), format!("`{name}` must {what}, found {found}"));
        Err(Bad)
    }
}

/// A value of the program read from its spanned TOML value (`name` is its dotted path); a wrong one
/// is reported at the value.
pub(crate) trait FromToml<'t, 'i>: Sized {
    fn read(src: &mut Src, v: &'t SV<'i>, name: &str) -> Result<Self, Bad>;
}

impl FromToml<'_, '_> for String {
    fn read(src: &mut Src, v: &SV, name: &str) -> Result<Self, Bad> {
        match v.get_ref() {
            DeValue::String(s) => Ok(s.to_string()),
            other => src.must(v, name, "be a string", other.type_str()),
        }
    }
}

/// A decimal written as a string (`"0.08"`), an integer or a float literal; a float is read from its
/// literal text, never through f64, so `rate = 0.07` stays exactly 0.07.
impl FromToml<'_, '_> for Decimal {
    fn read(src: &mut Src, v: &SV, name: &str) -> Result<Self, Bad> {
        let parsed = match v.get_ref() {
            DeValue::String(s) => parse_decimal(s),
            DeValue::Integer(i) if i.radix() == 10 => parse_decimal(i.as_str()),
            DeValue::Float(f) => parse_decimal(f.as_str()),
            _ => None,
        };
        let what = "be a decimal like \"1250.00\" or \"0.08\" (below 10^20)";
        parsed.map_or_else(|| src.must(v, name, what, describe(v.get_ref())), Ok)
    }
}

/// A decimal that is zero or more.
pub(crate) struct NonNeg(pub(crate) Decimal);

impl FromToml<'_, '_> for NonNeg {
    fn read(src: &mut Src, v: &SV, name: &str) -> Result<Self, Bad> {
        match Decimal::read(src, v, name)? {
            d if d < Decimal::ZERO => src.must(v, name, "be zero or more", d),
            d => Ok(NonNeg(d)),
        }
    }
}

/// A rate or multiplier: zero or more, and at most 1000 (100,000%). No real program comes near; the
/// bound keeps rate × amount × multipliers far inside Decimal's range.
pub(crate) struct Rate(pub(crate) Decimal);

impl FromToml<'_, '_> for Rate {
    fn read(src: &mut Src, v: &SV, name: &str) -> Result<Self, Bad> {
        match NonNeg::read(src, v, name)?.0 {
            d if d > Decimal::ONE_THOUSAND => src.must(v, name, "be at most 1000", d),
            d => Ok(Rate(d)),
        }
    }
}

impl FromToml<'_, '_> for bool {
    fn read(src: &mut Src, v: &SV, name: &str) -> Result<Self, Bad> {
        match v.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            other => src.must(v, name, "be true or false", describe(other)),
        }
    }
}

/// A date as a TOML local date (`2026-10-01`) or a string `"2026-10-01"`.
impl FromToml<'_, '_> for NaiveDate {
    fn read(src: &mut Src, v: &SV, name: &str) -> Result<Self, Bad> {
        let parsed = match v.get_ref() {
            DeValue::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => dt
                .date
                .and_then(|d| NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())),
            DeValue::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            _ => None,
        };
        let what = "be a date like 2026-10-01";
        parsed.map_or_else(|| src.must(v, name, what, describe(v.get_ref())), Ok)
    }
}

/// A list of strings, every bad item reported; a single string is accepted as a list of one.
impl FromToml<'_, '_> for Vec<String> {
    fn read(src: &mut Src, v: &SV, name: &str) -> Result<Self, Bad> {
        match v.get_ref() {
            DeValue::String(s) => Ok(vec![s.to_string()]),
            DeValue::Array(items) => every(items.iter().map(|item| match item.get_ref() {
                DeValue::String(s) => Ok(s.to_string()),
                other => src.must(item, name, "list strings", describe(other)),
            })),
            other => src.must(v, name, "be a list of strings", describe(other)),
        }
    }
}

impl<'t, 'i> FromToml<'t, 'i> for Tbl<'t, 'i> {
    fn read(src: &mut Src, v: &'t SV<'i>, name: &str) -> Result<Self, Bad> {
        match v.get_ref() {
            DeValue::Table(table) => Ok(Tbl {
                table,
                span: v.span(),
                path: name.to_string(),
            }),
            other => src.must(v, name, "be a table", describe(other)),
        }
    }
}

/// Any value with where it was, for checks made after reading it.
impl<'t, 'i, T: FromToml<'t, 'i>> FromToml<'t, 'i> for Spanned<T> {
    fn read(src: &mut Src, v: &'t SV<'i>, name: &str) -> Result<Self, Bad> {
        T::read(src, v, name).map(|value| Spanned::new(v.span(), value))
    }
}

/// Runs every item (so each reports its own error) before collecting them.
fn every<C: FromIterator<T>, T>(items: impl Iterator<Item = Result<T, Bad>>) -> Result<C, Bad> {
    items.collect::<Vec<_>>().into_iter().collect()
}

fn describe(v: &DeValue) -> String {
    match v {
        DeValue::String(s) => format!("\"{s}\""),
        DeValue::Integer(i) => i.as_str().to_string(),
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::Boolean(b) => b.to_string(),
        other => other.type_str().to_string(),
    }
}

pub(crate) fn decimal_value(src: &mut Src, v: &SV, name: &str) -> Result<Decimal, Bad> {
    Decimal::read(src, v, name)
}

/// A TOML table being read, with a dotted path for messages (`rules[2].tiers[0]`).
pub(crate) struct Tbl<'t, 'i> {
    pub(crate) table: &'t DeTable<'i>,
    pub(crate) span: Range<usize>,
    pub(crate) path: String,
}

impl<'t, 'i> Tbl<'t, 'i> {
    pub(crate) fn get(&self, key: &str) -> Option<&'t SV<'i>> {
        self.table.get(key)
    }

    pub(crate) fn name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{}", self.path, key)
        }
    }

    /// Reports every key not in `allowed` (typos are errors, SPEC §3).
    pub(crate) fn check_keys(&self, src: &mut Src, allowed: &[&str]) {
        for (key, _) in self.table.iter() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                let name = self.name(key.get_ref());
                let expected = allowed.join(", ");
                src.error(
                    key.span(),
                    format!("unknown key `{name}`; expected one of: {expected}"),
                );
            }
        }
    }

    /// `key` read by `read` when present: the one getter every other is made of.
    pub(crate) fn with<T>(
        &self,
        src: &mut Src,
        key: &str,
        read: impl FnOnce(&mut Src, &'t SV<'i>, &str) -> Result<T, Bad>,
    ) -> Field<T> {
        self.get(key)
            .map(|v| read(src, v, &self.name(key)))
            .transpose()
    }

    pub(crate) fn value<T: FromToml<'t, 'i>>(&self, src: &mut Src, key: &str) -> Field<T> {
        self.with(src, key, T::read)
    }

    /// A key that must be present; a missing one is reported at the table.
    pub(crate) fn require<T: FromToml<'t, 'i>>(&self, src: &mut Src, key: &str) -> Result<T, Bad> {
        let field = self.value(src, key);
        self.required(src, key, field)
    }

    pub(crate) fn required<T>(&self, src: &mut Src, key: &str, field: Field<T>) -> Result<T, Bad> {
        field?.ok_or_else(|| {
            let message = format!("missing required key `{}`", self.name(key));
            src.error(self.span.clone(), message);
            Bad
        })
    }

    /// An optional sub-table, built by `build` when present.
    fn section<T>(
        &self,
        src: &mut Src,
        key: &str,
        build: impl FnOnce(&mut Src, &Tbl<'t, 'i>) -> Result<T, Bad>,
    ) -> Field<T> {
        match self.value::<Tbl>(src, key)? {
            Some(t) => build(src, &t).map(Some),
            None => Ok(None),
        }
    }

    /// An array of tables (`tiers = [{...}]` or `[[rules]]`): each item a table, or reported.
    fn tables(&self, src: &mut Src, key: &str) -> Field<Vec<Result<Tbl<'t, 'i>, Bad>>> {
        self.with(src, key, |src, v, name| match v.get_ref() {
            DeValue::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, item)| Tbl::read(src, item, &format!("{name}[{i}]")))
                .collect()),
            other => src.must(v, name, "be a list of tables", describe(other)),
        })
    }

    pub(crate) fn string(&self, src: &mut Src, key: &str) -> Field<String> {
        self.value(src, key)
    }

    pub(crate) fn non_negative(&self, src: &mut Src, key: &str) -> Field<Decimal> {
        Ok(self.value::<NonNeg>(src, key)?.map(|d| d.0))
    }

    pub(crate) fn rate(&self, src: &mut Src, key: &str) -> Field<Decimal> {
        Ok(self.value::<Rate>(src, key)?.map(|d| d.0))
    }

    pub(crate) fn boolean(&self, src: &mut Src, key: &str) -> Field<bool> {
        self.value(src, key)
    }

    pub(crate) fn date(&self, src: &mut Src, key: &str) -> Field<NaiveDate> {
        self.value(src, key)
    }

    pub(crate) fn table(&self, src: &mut Src, key: &str) -> Field<Tbl<'t, 'i>> {
        self.value(src, key)
    }

    /// A whole number in `min..=max`, converted to `T` (never by a truncating cast: a value `T` cannot
    /// hold is reported like any other out-of-range value).
    pub(crate) fn integer<T: TryFrom<i64>>(
        &self,
        src: &mut Src,
        key: &str,
        min: i64,
        max: i64,
    ) -> Field<T> {
        self.with(src, key, |src, v, name| {
            let n = match v.get_ref() {
                DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
                _ => None,
            };
            let what = if max == i64::MAX {
                format!("be a whole number at least {min}")
            } else {
                format!("be a whole number from {min} to {max}")
            };
            n.filter(|n| (min..=max).contains(n))
                .and_then(|n| T::try_from(n).ok())
                .map_or_else(|| src.must(v, name, what, describe(v.get_ref())), Ok)
        })
    }
}

/// What a value in a table by level may be: goal targets must be above zero (a target of 0 is reached
/// by every partner, even one with no deals), allocations zero or more (a negative one is a fund debt).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum LevelValues {
    Positive,
    NonNegative,
}

/// A table from level id to decimal (`{ bronze = 3, gold = "10" }`); every bad value is reported.
pub(crate) fn level_table(
    src: &mut Src,
    t: &Tbl,
    values: LevelValues,
) -> Result<BTreeMap<String, Decimal>, Bad> {
    every(t.table.iter().map(|(key, v)| {
        let name = t.name(key.get_ref());
        let d = match values {
            LevelValues::Positive => match Decimal::read(src, v, &name)? {
                d if d <= Decimal::ZERO => src.must(v, &name, "be above 0", d)?,
                d => d,
            },
            LevelValues::NonNegative => NonNeg::read(src, v, &name)?.0,
        };
        Ok((key.get_ref().to_string(), d))
    }))
}

/// One of a fixed set of words, mapped to its value: an unknown word is an error naming the choices.
pub(crate) fn choice<T: Copy>(
    src: &mut Src,
    t: &Tbl,
    key: &str,
    options: &[(&str, T)],
) -> Field<T> {
    t.with(src, key, |src, v, name| {
        let word = String::read(src, v, name)?;
        match options.iter().find(|(option, _)| *option == word) {
            Some((_, value)) => Ok(*value),
            None => {
                let names: Vec<&str> = options.iter().map(|(option, _)| *option).collect();
                let what = format!("be one of {}", names.join(", "));
                src.must(v, name, what, format!("\"{word}\""))
            }
        }
    })
}

fn is_rule_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Parses a program, returning it when it has no errors, and every diagnostic found either way.
pub fn parse(file: &str, text: &str) -> (Option<Program>, Vec<Diagnostic>) {
    let mut src = Src::new(file, text);
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    for e in &syntax_errors {
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().trim().to_string();
        src.error(span, format!("invalid TOML: {msg}"));
    }
    if !syntax_errors.is_empty() {
        return (None, src.diags);
    }
    let root = Tbl {
        table: root.get_ref(),
        span: root.span(),
        path: String::new(),
    };
    let program = build_program(&mut src, &root).ok();
    let has_errors = src.diags.iter().any(|d| d.severity == Severity::Error);
    (if has_errors { None } else { program }, src.diags)
}

fn build_program(src: &mut Src, root: &Tbl) -> Result<Program, Bad> {
    root.check_keys(
        src,
        &["program", "payout", "budget", "levels", "nudges", "rules"],
    );
    let header = root.section(src, "program", program_header);
    if let Ok(None) = header {
        src.error(0..0, "missing required table [program]");
    }
    let payout = root.section(src, "payout", payout_policy);
    let levels = root.section(src, "levels", levels);
    let nudges = root.section(src, "nudges", nudges);

    let mut seen = HashMap::new();
    let tables = root.tables(src, "rules");
    let rules = tables.iter().flatten().flatten();
    let rules: Vec<_> =
        (rules.map(|t| rule(src, t.as_ref().map_err(|b| *b)?, &mut seen))).collect();
    let rules_ok = tables.is_ok() && rules.iter().all(Result::is_ok);
    let rules: Vec<Rule> = rules.into_iter().flatten().collect();
    let budget = root.section(src, "budget", |src, t| budget(src, t, &rules, rules_ok));

    let (id, name, currency, rounding, clawback_days) = header?.ok_or(Bad)?;
    let (payout, levels, nudges, budget) = (payout?, levels?, nudges?, budget?);
    Ok(Program {
        file: src.file.to_string(),
        id,
        name,
        minor_units: crate::model::money::minor_units(&currency),
        currency,
        rounding,
        clawback_days,
        payout: payout.unwrap_or(PayoutPolicy {
            minimum: Decimal::ZERO,
            terms_days: 30,
            require_kyc: true,
        }),
        budget,
        levels,
        nudges,
        rules,
    })
}

type Header = (String, String, String, Rounding, i64);

fn program_header(src: &mut Src, t: &Tbl) -> Result<Header, Bad> {
    t.check_keys(
        src,
        &["id", "name", "currency", "rounding", "clawback_days"],
    );
    let id = t.require::<String>(src, "id");
    let name = t.require::<String>(src, "name");
    let currency = t.with(src, "currency", |src, v, name| {
        match String::read(src, v, name)? {
            c if is_currency_code(&c) => Ok(c),
            c => src.must(
                v,
                name,
                "be an ISO 4217 code like \"USD\"",
                format!("\"{c}\""),
            ),
        }
    });
    let currency = t.required(src, "currency", currency);
    let rounding = t.with(src, "rounding", |src, v, name| {
        let r = String::read(src, v, name)?;
        let what = "be \"half-up\" or \"half-even\"";
        Rounding::parse(&r).map_or_else(|| src.must(v, name, what, format!("\"{r}\"")), Ok)
    });
    let clawback_days = t.integer::<i64>(src, "clawback_days", 0, i64::MAX);
    Ok((
        id?,
        name?,
        currency?,
        rounding?.unwrap_or(Rounding::HalfUp),
        clawback_days?.unwrap_or(90),
    ))
}

fn payout_policy(src: &mut Src, t: &Tbl) -> Result<PayoutPolicy, Bad> {
    t.check_keys(src, &["minimum", "terms_days", "require_kyc"]);
    let minimum = t.non_negative(src, "minimum");
    let terms_days = t.integer::<i64>(src, "terms_days", 0, MAX_TERMS_DAYS);
    let require_kyc = t.boolean(src, "require_kyc");
    Ok(PayoutPolicy {
        minimum: minimum?.unwrap_or(Decimal::ZERO),
        terms_days: terms_days?.unwrap_or(30),
        require_kyc: require_kyc?.unwrap_or(true),
    })
}

fn budget(src: &mut Src, t: &Tbl, rules: &[Rule], rules_ok: bool) -> Result<Budget, Bad> {
    t.check_keys(src, &["total", "rules"]);
    let total = t.require::<NonNeg>(src, "total");
    let names = t.value::<Spanned<Vec<String>>>(src, "rules");
    let Some(names) = names? else {
        let unfunded = rules.iter().filter(|r| !r.is_fund());
        let rules = unfunded.map(|r| r.id.to_string()).collect();
        return Ok(Budget {
            total: total?.0,
            rules,
        });
    };
    let by_id: HashMap<&str, &Rule> = rules.iter().map(|r| (&*r.id, r)).collect();
    for name in names.get_ref() {
        match by_id.get(name.as_str()) {
            // An unknown id may be a rule that failed to parse; only report it when all parsed.
            None if rules_ok => src.error(
                names.span(),
                format!("`budget.rules` names unknown rule `{name}`"),
            ),
            Some(r) if r.is_fund() => src.error(
                names.span(),
                format!(
                    "`budget.rules` names fund rule `{name}`; fund claims are paid from \
                     their own balance and cannot be budgeted"
                ),
            ),
            _ => {}
        }
    }
    Ok(Budget {
        total: total?.0,
        rules: names.into_inner(),
    })
}

fn levels(src: &mut Src, t: &Tbl) -> Result<Levels, Bad> {
    t.check_keys(src, &["measure", "window_months", "tiers"]);
    let measure = choice(src, t, "measure", Measure::CHOICES);
    let measure = t.required(src, "measure", measure);
    let window = t.integer::<u32>(src, "window_months", 1, MAX_WINDOW_MONTHS);
    let window_months = t.required(src, "window_months", window);
    let mut ids = HashSet::new();
    let tiers = tier_list(src, t, &["id", "from"], |src, tt| {
        let id = tt.require::<String>(src, "id")?;
        if !ids.insert(id.clone()) {
            src.error(tt.span.clone(), format!("duplicate level id `{id}`"));
        }
        Ok(id)
    });
    Ok(Levels {
        measure: measure?,
        window_months: window_months?,
        tiers: tiers?
            .into_iter()
            .map(|(from, id)| LevelTier { id, from })
            .collect(),
    })
}

fn nudges(src: &mut Src, t: &Tbl) -> Result<Nudges, Bad> {
    t.check_keys(src, &["within"]);
    let within = t.with(src, "within", |src, v, name| {
        let within = NonNeg::read(src, v, name)?.0;
        if within > Decimal::ONE {
            src.error(
                v.span(),
                format!(
                    "`{name}` is a fraction of the next threshold between 0 and 1, found {within}"
                ),
            );
        }
        Ok(within)
    });
    let within = t.required(src, "within", within)?;
    Ok(Nudges { within })
}

/// The required `tiers` of `t`, each with `from` and what `rest` reads (both read on every tier);
/// the `from`s must start at 0 and strictly ascend (SPEC §4.3), every break reported.
fn tier_list<'t, 'i, X>(
    src: &mut Src,
    t: &Tbl<'t, 'i>,
    keys: &[&str],
    mut rest: impl FnMut(&mut Src, &Tbl<'t, 'i>) -> Result<X, Bad>,
) -> Result<Vec<(Decimal, X)>, Bad> {
    let tables = t.tables(src, "tiers");
    let tiers: Vec<_> = t
        .required(src, "tiers", tables)?
        .into_iter()
        .map(|tt| {
            let tt = tt?;
            tt.check_keys(src, keys);
            let from = tt
                .require::<NonNeg>(src, "from")
                .map(|d| (d.0, tt.span.clone()));
            Ok((from, rest(src, &tt)))
        })
        .collect::<Vec<_>>();
    let tiers: Vec<_> = tiers.into_iter().collect::<Result<_, Bad>>()?;
    let froms: Vec<(Decimal, Range<usize>)> = every(tiers.iter().map(|(f, _)| f.clone()))?;
    let name = t.name("tiers");
    match froms.first() {
        None => src.error(t.span.clone(), format!("`{name}` needs at least one tier")),
        Some((first, span)) if !first.is_zero() => src.error(
            span.clone(),
            format!("the first tier of `{name}` must start at from = 0, found {first}"),
        ),
        _ => {}
    }
    for (i, pair) in froms.windows(2).enumerate() {
        let ((lo, _), (hi, span)) = (&pair[0], &pair[1]);
        if hi <= lo {
            let message = format!(
                "tiers of `{name}` must ascend: tier {} starts at {hi} after {lo}",
                i + 2
            );
            src.error(span.clone(), message);
        }
    }
    let rests: Vec<X> = every(tiers.into_iter().map(|(_, rest)| rest))?;
    Ok(froms.into_iter().map(|(from, _)| from).zip(rests).collect())
}

/// The `when` keys: the lists first, the deal keys (an error on rules that do not measure deals,
/// SPEC §3) last.
const WHEN_KEYS: &[&str] = &[
    "partner_type",
    "level",
    "region",
    "product",
    "customer_type",
    "source",
    "min_amount",
    "max_amount",
];
const DEAL_KEYS: &[&str] = WHEN_KEYS.split_at(3).1;

fn when(src: &mut Src, t: &Tbl, allow_deal_keys: bool, rule_kind: &str) -> Result<When, Bad> {
    t.check_keys(src, WHEN_KEYS);
    // A deal key where it cannot be used is reported once below, whatever its value.
    let usable = |key: &str| allow_deal_keys || !DEAL_KEYS.contains(&key);
    let list = |src: &mut Src, key: &str| -> Field<Vec<String>> {
        if !usable(key) {
            return Ok(None);
        }
        t.with(src, key, |src, v, name| {
            let list = Vec::<String>::read(src, v, name)?;
            if list.is_empty() {
                src.error(
                    v.span(),
                    format!(
                        "`{name}` is an empty list, which no partner or deal matches; list at least \
                         one value, or remove the key to match every one"
                    ),
                );
            }
            let odd = list.iter().find(|s| *s != "sourced" && *s != "influenced");
            if let (Some(s), "source") = (odd, key) {
                src.error(
                    v.span(),
                    format!("`{name}` items must be \"sourced\" or \"influenced\", found \"{s}\""),
                );
            }
            Ok(list)
        })
    };
    let partner_type = list(src, "partner_type");
    let level = list(src, "level");
    let region = list(src, "region");
    let product = list(src, "product");
    let customer_type = list(src, "customer_type");
    let source = list(src, "source");
    let (min_amount, max_amount) = if allow_deal_keys {
        let min = t.value::<Spanned<NonNeg>>(src, "min_amount");
        (min, t.value::<Spanned<NonNeg>>(src, "max_amount"))
    } else {
        (Ok(None), Ok(None))
    };
    if let (Ok(Some(lo)), Ok(Some(hi))) = (&min_amount, &max_amount)
        && lo.get_ref().0 > hi.get_ref().0
    {
        let (name, lo_value, hi_value) = (t.name("min_amount"), lo.get_ref().0, hi.get_ref().0);
        src.error(
            lo.span(),
            format!("`{name}` ({lo_value}) is above `max_amount` ({hi_value}): no deal can match"),
        );
    }
    for key in DEAL_KEYS.iter().filter(|key| !usable(key)) {
        if let Some(v) = t.get(key) {
            let message = format!(
                "`{}` is a deal key and cannot be used on `{rule_kind}` rules",
                t.name(key)
            );
            src.error(v.span(), message);
        }
    }
    let amount = |a: Field<Spanned<NonNeg>>| a.map(|a| a.map(|a| a.into_inner().0));
    Ok(When {
        partner_type: partner_type?,
        level: level?,
        region: region?,
        product: product?,
        customer_type: customer_type?,
        source: source?,
        min_amount: amount(min_amount)?,
        max_amount: amount(max_amount)?,
    })
}

/// Keys every rule may have; each kind adds its own (`Kind::keys`).
const COMMON_KEYS: &[&str] = &["id", "kind", "when", "cap"];

/// A rule; `seen` holds the ids before it, with their line.
fn rule(src: &mut Src, t: &Tbl, seen: &mut HashMap<String, usize>) -> Result<Rule, Bad> {
    let id = t.with(src, "id", |src, v, name| {
        let id = String::read(src, v, name)?;
        // Checked before the id's form, so a duplicate is found even when the rule has other errors.
        if let Some(line) = seen.get(&id) {
            let message = format!("duplicate rule id `{id}` (first defined at line {line})");
            src.error(v.span(), message);
        } else {
            seen.insert(id.clone(), src.pos(v.span().start).line);
        }
        if !is_rule_id(&id) {
            let message = format!("rule id \"{id}\" must use only a-z, 0-9 and -");
            src.error(v.span(), message);
            return Err(Bad);
        }
        Ok(id)
    });
    let id = t.required(src, "id", id);
    let kind = t.with(src, "kind", |src, v, name| {
        let word = String::read(src, v, name)?;
        Kind::from_name(&word).ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
            let names = names.join(", ");
            let message = format!("unknown rule kind \"{word}\"; expected one of: {names}");
            src.error(v.span(), message);
            Bad
        })
    });
    let kind = t.required(src, "kind", kind);
    if let Ok(kind) = kind {
        let mut allowed: Vec<&str> = COMMON_KEYS.to_vec();
        allowed.extend_from_slice(kind.keys());
        t.check_keys(src, &allowed);
    }
    // Without a known kind its own keys cannot be read, but `when`, `cap` and `modifiers` still are.
    let (has_deals, kind_name) = kind.map_or((true, ""), |k| (k.has_deals(), k.name()));
    let when = t.section(src, "when", |src, w| when(src, w, has_deals, kind_name));
    let cap = t.non_negative(src, "cap");
    let modifiers = if kind.is_ok_and(|k| !k.is_deal_based()) {
        Ok(Vec::new())
    } else {
        modifiers(src, t)
    };
    let body = kind.and_then(|kind| RuleKind::parse(kind, src, t));

    let key_pos = t.table.iter();
    let key_pos = key_pos.map(|(key, _)| (key.get_ref().to_string(), src.pos(key.span().start)));
    Ok(Rule {
        id: id?.into(),
        when: when?.unwrap_or_default(),
        cap: cap?,
        modifiers: modifiers?,
        kind: body?,
        pos: src.pos(t.span.start),
        key_pos: key_pos.collect(),
    })
}

fn modifiers(src: &mut Src, t: &Tbl) -> Result<Vec<Modifier>, Bad> {
    let tables = t.tables(src, "modifiers")?.unwrap_or_default();
    every(tables.into_iter().map(|m| {
        let m = m?;
        m.check_keys(src, &["when", "multiplier"]);
        let when = m.section(src, "when", |src, w| when(src, w, true, "modifier"));
        let multiplier = m.require::<Rate>(src, "multiplier");
        Ok(Modifier {
            when: when?.unwrap_or_default(),
            multiplier: multiplier?.0,
        })
    }))
}

/// `amount` xor `rate`, for kinds that pay either.
pub(crate) fn pay(src: &mut Src, t: &Tbl) -> Result<Pay, Bad> {
    let amount = t.non_negative(src, "amount");
    let rate = t.value::<Spanned<Rate>>(src, "rate");
    match (amount?, rate?) {
        (Some(a), None) => Ok(Pay::Amount(a)),
        (None, Some(r)) => Ok(Pay::Rate(r.into_inner().0)),
        (Some(_), Some(r)) => {
            let message = format!("`{}` has both `amount` and `rate`; give one", t.path);
            src.error(r.span(), message);
            Err(Bad)
        }
        (None, None) => {
            let message = format!("`{}` needs `amount` or `rate`", t.path);
            src.error(t.span.clone(), message);
            Err(Bad)
        }
    }
}

pub(crate) fn tiers(src: &mut Src, t: &Tbl, amount_allowed: bool) -> Result<Vec<Tier>, Bad> {
    let keys: &[&str] = if amount_allowed {
        &["from", "rate", "amount"]
    } else {
        &["from", "rate"]
    };
    let tiers = tier_list(src, t, keys, |src, tt| match amount_allowed {
        true => pay(src, tt),
        false => Ok(Pay::Rate(tt.require::<Rate>(src, "rate")?.0)),
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
                amount: Decimal::new(5000, 2)
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
    fn float_literals_are_read_exactly() {
        let text = MINIMAL.replace("amount = \"50.00\"", "amount = 0.1");
        let (p, _) = parse("p.toml", &text);
        assert_eq!(
            p.unwrap().rules[0].kind,
            RuleKind::Flat(crate::engine::rules::flat::Config {
                amount: Decimal::new(1, 1)
            })
        );
    }
}
