//! Rule precedence (SPEC §9.5): deal-based rules that say `group = "ID"` take a deal row in program
//! order — the first rule of the group that matches the row takes it, and the group's later rules do
//! not see it at all (not in their lines, tier totals or caps). Rules outside groups add up as before.

use crate::program::parse::{Field, Tbl, Val, string};

/// Reads the optional `group` key: an id of `[a-z0-9-]+`.
pub(crate) fn parse(t: &Tbl) -> Field<crate::model::Text> {
    t.value("group", |v: &Val| {
        let id = string(v)?;
        let valid = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
        match !id.is_empty() && id.bytes().all(valid) {
            true => Ok(id.into()),
            false => Err(v.error(format!("group id \"{id}\" must use only a-z, 0-9 and -"))),
        }
    })
}
