//! Writers for everything a run produces (SPEC §5) and the all-or-nothing `--out` directory.

mod atomic;
pub mod details;
mod files;
pub mod journal;
mod manifest;
mod safe;
mod summary;

pub use atomic::{
    OldBatch, OutDir, REMOVER_SUBCOMMAND, Replaceable, is_payline_work_dir, remove_work_dir,
};
pub use files::{Documents, NUDGE_COLUMNS, PAYOUT_COLUMNS, PreviousFiles, write_outputs};
pub use manifest::Manifest;
pub use safe::spreadsheet_text;
pub use summary::{Summary, render_table};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

/// A plain ASCII table with a header: the same in a terminal and in a pipe (no width detection).
pub fn plain_table(header: Vec<&str>) -> Table {
    let mut t = Table::new();
    t.load_style(presets::ASCII_MARKDOWN)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    t
}

/// Text from the inputs (a partner's name) as one table cell in a terminal: control characters
/// (a line break inside a quoted name) as spaces, `|` escaped (the tables are Markdown), and at
/// most `max` characters, the rest shown as `…`.
pub fn cell_text(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for (n, c) in one_line(text).chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        match c {
            '|' => out.push_str("\\|"),
            c => out.push(c),
        }
    }
    out
}

/// Text from the inputs on one terminal line: control characters (a line break or a tab inside a
/// quoted name) as spaces.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Right-aligns the given columns (money and counts).
pub fn align_right(t: &mut Table, columns: impl IntoIterator<Item = usize>) {
    for c in columns {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cell_from_the_inputs_stays_one_cell_of_one_line() {
        assert_eq!(super::cell_text("Pipe | Partners", 40), "Pipe \\| Partners");
        assert_eq!(super::cell_text("Two\nLines\tLtd", 40), "Two Lines Ltd");
        assert_eq!(super::cell_text("Abcdef", 3), "Abc…");
    }
}
