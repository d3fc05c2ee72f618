use super::{CsvFile, FileDigest};
use crate::error::{Result, Warning, WarningCode};
use crate::model::money::is_currency_code;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;

/// FX rates (SPEC §2 fx.csv): program-currency units per one unit of a currency, each valid from its
/// date until the next row of that currency.
#[derive(Debug, Clone, Default)]
pub struct FxTable {
    program_currency: String,
    rates: BTreeMap<String, Vec<(NaiveDate, Decimal)>>,
    given: bool,
}

impl FxTable {
    pub fn none(program_currency: &str) -> FxTable {
        FxTable {
            program_currency: program_currency.to_string(),
            ..FxTable::default()
        }
    }

    pub fn load(path: &Path, program_currency: &str) -> Result<(FxTable, FileDigest)> {
        Self::load_as(path, program_currency, &super::Dialect::default())
    }

    /// [`FxTable::load`] of a file written in `dialect`.
    pub fn load_as(
        path: &Path,
        program_currency: &str,
        dialect: &super::Dialect,
    ) -> Result<(FxTable, FileDigest)> {
        let mut csv = CsvFile::open_as(path, &["date", "currency", "rate"], dialect)?;
        let mut rates: BTreeMap<String, Vec<(NaiveDate, Decimal)>> = BTreeMap::new();
        let mut lines: BTreeMap<(String, NaiveDate), u64> = BTreeMap::new();
        while let Some(row) = csv.next_row()? {
            match fx_row(&row, &mut lines) {
                Ok((currency, date, rate)) => rates.entry(currency).or_default().push((date, rate)),
                Err(e) => csv.reject(e),
            }
        }
        for list in rates.values_mut() {
            list.sort_by_key(|(d, _)| *d);
        }
        let digest = csv.finish()?;
        Ok((
            FxTable {
                program_currency: program_currency.to_string(),
                rates,
                given: true,
            },
            digest,
        ))
    }
}

/// One row of fx.csv: (currency, date, rate); `lines` holds the line of each (currency, date) seen.
fn fx_row(
    row: &super::Row,
    lines: &mut BTreeMap<(String, NaiveDate), u64>,
) -> Result<(String, NaiveDate, Decimal)> {
    let date = row.required_date("date")?;
    let currency = row.required("currency")?;
    if !is_currency_code(currency) {
        return Err(row.error("currency", currency, "expected an ISO 4217 code like EUR"));
    }
    let rate = row.required_decimal("rate")?;
    if rate <= Decimal::ZERO {
        let text = row.raw("rate").unwrap_or("");
        return Err(row.error("rate", text, "expected a rate greater than zero"));
    }
    if let Some(first) = lines.insert((currency.to_string(), date), row.line) {
        return Err(row.error(
            "date",
            &date.to_string(),
            format!("a second {currency} rate for the same date (first on line {first})"),
        ));
    }
    Ok((currency.to_string(), date, rate))
}

impl FxTable {
    /// A rate more than 10× above or below the same currency's rate before it is almost always quoted
    /// the wrong way round (yen per dollar instead of dollars per yen): a warning per jump, naming
    /// both rates and the direction fx.csv expects.
    pub fn plausibility_warnings(&self, file: &str) -> Vec<Warning> {
        let ten = Decimal::TEN;
        let mut out = Vec::new();
        for (currency, list) in &self.rates {
            for pair in list.windows(2) {
                let ((d0, r0), (d1, r1)) = (pair[0], pair[1]);
                let jumps = r1
                    .checked_div(r0)
                    .is_none_or(|q| q > ten || q * ten < Decimal::ONE);
                if !jumps {
                    continue;
                }
                let inverse = Decimal::ONE
                    .checked_div(r1)
                    .and_then(|v| v.round_sf(6))
                    .map(|v| v.normalize().to_string())
                    .unwrap_or_default();
                out.push(Warning::new(
                    WarningCode::FxRateJump,
                    format!(
                        "{file}: the {currency} rate {r1} from {d1} is more than 10× away from the rate before it ({r0} from {d0}); \
                         a rate is {} per one {currency}: if {r1} is {currency} per {}, the rate is {inverse}",
                        self.program_currency, self.program_currency
                    ),
                ));
            }
        }
        out
    }

    /// The rate in force on `date`, or why there is none.
    pub fn rate_on(&self, currency: &str, date: NaiveDate) -> std::result::Result<Decimal, String> {
        if currency == self.program_currency {
            return Ok(Decimal::ONE);
        }
        let found = self.rates.get(currency).and_then(|list| {
            let i = list.partition_point(|(d, _)| *d <= date);
            (i > 0).then(|| list[i - 1].1)
        });
        found.ok_or_else(|| {
            if self.given {
                format!("no {currency} rate in force on {date}: fx.csv has no {currency} row dated on or before it")
            } else {
                format!("no {currency} rate in force on {date}: converting {currency} needs --fx")
            }
        })
    }
}
