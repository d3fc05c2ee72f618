//! Spreadsheet safety for the files people open (SPEC §7, OWASP CSV injection).

use std::borrow::Cow;

/// A text cell (a name, id or note) as written into a file people open in a spreadsheet: when it
/// begins with `=`, `+`, `-`, `@`, a tab or a carriage return, a leading `'` makes the spreadsheet
/// show it as text instead of evaluating it as a formula. Never apply this to a number column
/// (`-1650.00` stays a number); machine files (lines.csv, ledger.csv, balances.csv) keep values exactly.
pub fn spreadsheet_text(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_get_a_leading_quote() {
        assert_eq!(spreadsheet_text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_text("+cmd"), "'+cmd");
        assert_eq!(spreadsheet_text("-P1"), "'-P1");
        assert_eq!(spreadsheet_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_text("\tx"), "'\tx");
        assert_eq!(spreadsheet_text("\rx"), "'\rx");
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for s in [
            "",
            "Acme",
            "P001",
            "a=b",
            "x-1",
            "'=already",
            " =x",
            "1250.10",
            "ü=1",
        ] {
            let out = spreadsheet_text(s);
            assert!(matches!(out, Cow::Borrowed(_)), "{s:?}");
            assert_eq!(out, s);
        }
    }
}
