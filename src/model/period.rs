//! Periods (`2026-10`, `2026-Q4`, `2026`) and the rule that decides whether a deal counts in one.

use chrono::{Datelike, Months, NaiveDate};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    Month,
    Quarter,
    Year,
}

/// The years a period may fall in.
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2999;

/// A run's period: whole days from `start` to `end`, both inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub kind: PeriodKind,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    /// Parses `YYYY-MM`, `YYYY-QN` or `YYYY`.
    pub fn parse(text: &str) -> Option<Period> {
        let t = text.trim();
        let year: i32 = t.get(0..4)?.parse().ok()?;
        // A batch is for a real fiscal period: a typo such as `0206-10` is refused, and every date
        // payline derives (a due date 10 years on) stays an ISO `YYYY-MM-DD`.
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return None;
        }
        if !t.get(0..4)?.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let rest = &t[4..];
        let (kind, start_month) = if rest.is_empty() {
            (PeriodKind::Year, 1)
        } else if let Some(q) = rest.strip_prefix("-Q") {
            let q: u32 = match q {
                "1" => 1,
                "2" => 2,
                "3" => 3,
                "4" => 4,
                _ => return None,
            };
            (PeriodKind::Quarter, (q - 1) * 3 + 1)
        } else if let Some(m) = rest.strip_prefix('-') {
            if m.len() != 2 || !m.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let m: u32 = m.parse().ok()?;
            if !(1..=12).contains(&m) {
                return None;
            }
            (PeriodKind::Month, m)
        } else {
            return None;
        };
        let start = NaiveDate::from_ymd_opt(year, start_month, 1)?;
        Some(Period::from_start(kind, start))
    }

    fn months(kind: PeriodKind) -> u32 {
        match kind {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Year => 12,
        }
    }

    fn from_start(kind: PeriodKind, start: NaiveDate) -> Period {
        let next = start + Months::new(Self::months(kind));
        Period {
            kind,
            start,
            end: next.pred_opt().expect("a period end exists"),
        }
    }

    /// The period of the same length just before this one.
    pub fn previous(&self) -> Period {
        Period::from_start(self.kind, self.start - Months::new(Self::months(self.kind)))
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }

    /// The first day of the trailing window of `months` months that ends on this period's last day;
    /// `None` when that day is outside the calendar payline can represent (about 262,000 years).
    pub fn trailing_window_start(&self, months: u32) -> Option<NaiveDate> {
        self.end.succ_opt()?.checked_sub_months(Months::new(months))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PeriodKind::Year => write!(f, "{:04}", self.start.year()),
            PeriodKind::Quarter => {
                write!(
                    f,
                    "{:04}-Q{}",
                    self.start.year(),
                    self.start.month0() / 3 + 1
                )
            }
            PeriodKind::Month => write!(f, "{:04}-{:02}", self.start.year(), self.start.month()),
        }
    }
}

/// SPEC §2: a deal row counts in a period when it closed inside the period and was not reversed on or
/// before the period's last day. Re-running an old period later therefore gives the same answer.
pub fn counts_in(period: &Period, closed_on: NaiveDate, reversed_on: Option<NaiveDate>) -> bool {
    period.contains(closed_on) && reversed_on.is_none_or(|r| r > period.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn parses_months_quarters_and_years() {
        let m = Period::parse("2026-02").unwrap();
        assert_eq!((m.start, m.end), (date("2026-02-01"), date("2026-02-28")));
        let q = Period::parse("2026-Q4").unwrap();
        assert_eq!((q.start, q.end), (date("2026-10-01"), date("2026-12-31")));
        let y = Period::parse("2024").unwrap();
        assert_eq!((y.start, y.end), (date("2024-01-01"), date("2024-12-31")));
        for bad in [
            "2026-13", "2026-Q5", "26-10", "2026-1", "2026/10", "", "2026-Q",
        ] {
            assert!(Period::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(q.to_string(), "2026-Q4");
        assert_eq!(m.to_string(), "2026-02");
    }

    #[test]
    fn previous_period_has_the_same_length() {
        assert_eq!(
            Period::parse("2026-01").unwrap().previous().to_string(),
            "2025-12"
        );
        assert_eq!(
            Period::parse("2026-Q1").unwrap().previous().to_string(),
            "2025-Q4"
        );
        assert_eq!(
            Period::parse("2026").unwrap().previous().to_string(),
            "2025"
        );
    }

    #[test]
    fn refund_on_the_last_day_does_not_count_but_after_does() {
        let p = Period::parse("2026-10").unwrap();
        assert!(counts_in(&p, date("2026-10-05"), None));
        assert!(!counts_in(&p, date("2026-10-05"), Some(date("2026-10-31"))));
        assert!(counts_in(&p, date("2026-10-05"), Some(date("2026-11-01"))));
        assert!(!counts_in(&p, date("2026-09-30"), None));
    }

    #[test]
    fn trailing_window_of_twelve_months() {
        let p = Period::parse("2026-10").unwrap();
        assert_eq!(p.trailing_window_start(12), Some(date("2025-11-01")));
    }

    #[test]
    fn a_trailing_window_beyond_the_calendar_is_none_not_a_panic() {
        let p = Period::parse("2026-10").unwrap();
        assert_eq!(p.trailing_window_start(4_000_000), None);
        assert_eq!(p.trailing_window_start(u32::MAX), None);
        let last = Period::parse("2999-12").unwrap();
        assert_eq!(last.trailing_window_start(1), Some(date("2999-12-01")));
    }

    #[test]
    fn periods_are_real_fiscal_years() {
        assert!(Period::parse("0206-10").is_none(), "a typo for 2026-10");
        assert!(Period::parse("1899").is_none());
        assert!(Period::parse("3000-Q1").is_none());
        assert_eq!(Period::parse("1900-01").unwrap().to_string(), "1900-01");
        assert_eq!(Period::parse("2999-Q4").unwrap().to_string(), "2999-Q4");
    }
}
