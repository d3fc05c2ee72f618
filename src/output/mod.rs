//! Writers for everything a run produces (SPEC §5) and the all-or-nothing `--out` directory.

mod files;
mod manifest;
mod safe;
mod summary;

pub use files::{statement_file_name, write_outputs};
pub use manifest::Manifest;
pub use summary::{Summary, render_table};

use crate::error::{Error, Result};
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use std::path::{Path, PathBuf};

/// Writes a run into `out` all or nothing: everything goes into a temporary directory beside `out`,
/// which is renamed into place only when complete. An existing non-empty `out` is refused unless
/// `force`; with `force` it is replaced only after the new output is complete.
pub fn write_atomically(
    out: &Path,
    force: bool,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let exists_non_empty = match std::fs::read_dir(out) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return Err(Error::Refused(format!(
                "--out {} exists and is not a directory",
                out.display()
            )));
        }
        Err(e) => return Err(Error::io("read", out, e)),
    };
    if exists_non_empty && !force {
        return Err(Error::Refused(format!(
            "--out {} already exists and is not empty; pass --force to replace it",
            out.display()
        )));
    }
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io("create", &parent, e))?;
    let temp = parent.join(format!(".{name}.payline-tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temp);
    std::fs::create_dir(&temp).map_err(|e| Error::io("create", &temp, e))?;
    if let Err(e) = write(&temp) {
        let _ = std::fs::remove_dir_all(&temp);
        return Err(e);
    }
    let old = parent.join(format!(".{name}.payline-old-{}", std::process::id()));
    let had_old = out.exists();
    if had_old && let Err(e) = std::fs::rename(out, &old) {
        let _ = std::fs::remove_dir_all(&temp);
        return Err(Error::io("replace", out, e));
    }
    if let Err(e) = std::fs::rename(&temp, out) {
        if had_old {
            let _ = std::fs::rename(&old, out);
        }
        let _ = std::fs::remove_dir_all(&temp);
        return Err(Error::io("create", out, e));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

/// A plain ASCII table with a header: the same in a terminal and in a pipe (no width detection).
pub fn plain_table(header: Vec<&str>) -> Table {
    let mut t = Table::new();
    t.load_style(presets::ASCII_MARKDOWN)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    t
}

/// Right-aligns the given columns (money and counts).
pub fn align_right(t: &mut Table, columns: impl IntoIterator<Item = usize>) {
    for c in columns {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}
