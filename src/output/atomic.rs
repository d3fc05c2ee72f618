//! The `--out` directory, all or nothing and safe (SPEC §1, §7 "`--out` is safe").
//!
//! [`OutDir::acquire`] runs at the very start of `payline run`, before any input is read: it refuses a
//! symbolic link, a file, or a path that is, contains or lies inside an input (on real, symlink-resolved
//! paths), takes an exclusive lock on `.NAME.payline-lock` beside `--out` (held until the guard is
//! dropped, so two runs on one `--out` cannot both write it), removes temporary directories left by
//! killed runs, and refuses a non-empty `--out` without `--force`. [`OutDir::commit`] then writes
//! into `.NAME.payline-tmp-PID` beside `--out`, flushes every file and directory to stable storage, and
//! moves it into place with one atomic rename (an atomic exchange when replacing, on Linux), flushing the
//! parent directory after it.
//!
//! A batch replaced by `--force` is renamed `.NAME.payline-trash-PID` once the new one is in place and
//! flushed, its manifest.json is removed, and the rest is removed as [`OldBatch`] says: here, or by a
//! detached child process ([`remove_work_dir`]) that the caller does not wait for. Whatever is named
//! `.NAME.payline-trash-*` is garbage: never restored, never read as a batch, removed by the next run
//! if its remover died, and removable by several processes at once (removal tolerates files that
//! vanish under it).
//!
//! The lock file is never removed: deleting it would let a third run lock a fresh file while a second
//! still holds the old, unlinked one.

use crate::error::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

const TMP_TAG: &str = ".payline-tmp-";
const OLD_TAG: &str = ".payline-old-";
const TRASH_TAG: &str = ".payline-trash-";

/// Whether a directory name is one payline gives unfinished output (`.NAME.payline-tmp-PID`), a
/// replaced batch on its way out (`.NAME.payline-old-PID`) or one being removed
/// (`.NAME.payline-trash-PID`): never a batch, whatever it holds.
pub fn is_payline_work_dir(name: &str) -> bool {
    name.starts_with('.')
        && (name.contains(TMP_TAG) || name.contains(OLD_TAG) || name.contains(TRASH_TAG))
}
const LOCK_TAG: &str = ".payline-lock";

/// The hidden subcommand of the `payline` binary that runs [`remove_work_dir`] on its one argument:
/// what [`OldBatch::in_background`] starts.
pub const REMOVER_SUBCOMMAND: &str = "__remove-work-dir";

/// How [`OutDir::commit`] disposes of the batch that `--force` replaced, once the new batch is in
/// place and flushed and the old one is renamed `.NAME.payline-trash-PID` without its manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OldBatch {
    /// Removed in this process before `commit` returns.
    #[default]
    RemoveNow,
    /// Removed by `program args… DIR`, started detached (no stdin, stdout or stderr, a process group
    /// of its own, never waited for), which must call [`remove_work_dir`] on `DIR`. If it cannot be
    /// started the batch is removed in this process instead.
    RemoveInBackground {
        program: PathBuf,
        args: Vec<OsString>,
    },
}

impl OldBatch {
    /// This executable's [`REMOVER_SUBCOMMAND`]: for the `payline` binary only, which dispatches it
    /// (any other executable would misread the arguments). [`OldBatch::RemoveNow`] when the
    /// executable cannot be named.
    pub fn in_background() -> OldBatch {
        match std::env::current_exe() {
            Ok(program) => OldBatch::RemoveInBackground {
                program,
                args: vec![REMOVER_SUBCOMMAND.into()],
            },
            Err(_) => OldBatch::RemoveNow,
        }
    }
}

/// The body of the background remover: removes `dir`, which must be named
/// `.NAME.payline-trash-PID` (anything else is refused: this never removes a directory payline did
/// not put aside for removal). It first renames `dir` after its own process id, so that a later run
/// on the same --out sees a live remover and leaves the directory to it; if this process dies, that
/// run finds the id dead and removes the rest. Files that vanish meanwhile are not errors.
pub fn remove_work_dir(dir: &Path) -> Result<()> {
    // On bytes, so that an --out whose name is not UTF-8 is cleaned up too.
    let tag = TRASH_TAG.as_bytes();
    let prefix = dir.file_name().map(OsStr::as_encoded_bytes).and_then(|n| {
        let at = n.windows(tag.len()).rposition(|w| w == tag)? + tag.len();
        let pid = &n[at..];
        (n.starts_with(b".") && !pid.is_empty() && pid.iter().all(u8::is_ascii_digit))
            .then(|| trash_prefix(&n[..at]))
            .flatten()
    });
    let (Some(prefix), Some(parent)) = (prefix, dir.parent()) else {
        return Err(Error::Refused(format!(
            "{} is not a directory payline set aside for removal (.NAME{TRASH_TAG}PID); nothing was removed",
            dir.display()
        )));
    };
    let mut mine = prefix;
    mine.push(std::process::id().to_string());
    let mine = parent.join(mine);
    // A failed rename (another process removed it, or a dead remover's leftover holds the name)
    // leaves the directory where it was: remove it there.
    let at = if mine != dir && std::fs::rename(dir, &mine).is_ok() {
        mine
    } else {
        dir.to_path_buf()
    };
    remove_tree(&at)
}

/// `.NAME.payline-trash-` as a file name (from the bytes of one: on Unix any bytes, elsewhere UTF-8).
fn trash_prefix(bytes: &[u8]) -> Option<OsString> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Some(OsStr::from_bytes(bytes).to_os_string())
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(bytes).ok().map(OsString::from)
    }
}

/// What `--force` may replace at `--out`: never a folder of other files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaceable<'a> {
    /// A payline batch of this period (`run`: a re-run of the period).
    Batch { period: &'a str },
    /// A folder of statements payline rendered from a batch of this program and period (its
    /// statements.json says so): a re-render, never another month's statements.
    Statements {
        program_id: &'a str,
        period: &'a str,
    },
}

/// A locked, checked `--out`: the right to write it. Dropping it releases the lock.
#[derive(Debug)]
pub struct OutDir {
    /// As the user wrote it, for messages.
    shown: PathBuf,
    /// The real path: the canonical parent joined with the final name.
    real: PathBuf,
    parent: PathBuf,
    name: OsString,
    force: bool,
    /// The open lock file; closing it (on drop) releases the advisory lock.
    lock: File,
}

impl OutDir {
    /// Checks --out (symlink, overlap with `protected` inputs, existing non-empty without force, or
    /// with force anything but a batch of `period`), takes the lock, removes stale temp dirs. Refusals are Error::Refused (exit 2); a file system
    /// failure (cannot create the parent, open the lock file, remove a stale directory) is Error::Io.
    pub fn acquire(out: &Path, force: bool, protected: &[&Path], period: &str) -> Result<OutDir> {
        OutDir::acquire_for(out, force, protected, Replaceable::Batch { period })
    }

    /// [`OutDir::acquire`] for an `--out` whose `--force` replaces what `replaceable` says.
    pub fn acquire_for(
        out: &Path,
        force: bool,
        protected: &[&Path],
        replaceable: Replaceable,
    ) -> Result<OutDir> {
        let shown = out.to_path_buf();
        if out.as_os_str() == "-" {
            return Err(Error::Refused(
                "--out - is not supported: --out names the directory payline writes its files into"
                    .into(),
            ));
        }
        // Rebuilding from components drops a trailing slash, which would make lstat follow a link.
        let lexical: PathBuf = out.components().collect();
        if lexical.as_os_str().is_empty() {
            return Err(Error::Refused("--out is empty".into()));
        }
        let real = resolve(&lexical).map_err(|e| Error::io("resolve", &shown, e))?;
        let (parent, name) = match (real.parent(), real.file_name()) {
            (Some(p), Some(n)) => (p.to_path_buf(), n.to_os_string()),
            _ => {
                return Err(Error::Refused(format!(
                    "--out {} is the root of the file system; name a directory to write into",
                    shown.display()
                )));
            }
        };
        // A batch under a working directory's name would be removed as a leftover by a run on the
        // --out it seems to belong to.
        if name.to_str().is_some_and(is_payline_work_dir)
            || name.as_encoded_bytes().ends_with(LOCK_TAG.as_bytes())
        {
            return Err(Error::Refused(format!(
                "--out {} is named like one of payline's working files (`.NAME.payline-…`); choose another name",
                shown.display()
            )));
        }
        for input in protected {
            let input_real = resolve(input).map_err(|e| Error::io("resolve", input, e))?;
            let relation = if real == input_real {
                "is"
            } else if real.starts_with(&input_real) {
                "lies inside"
            } else if input_real.starts_with(&real) {
                "contains"
            } else {
                continue;
            };
            return Err(Error::Refused(format!(
                "--out {} {relation} the input {}: a run never writes over its own inputs or the \
                 previous run's output; choose another --out",
                shown.display(),
                input.display()
            )));
        }
        check_entry(&lexical, &shown)?;
        create_parent(&parent)?;

        let lock_path = parent.join(sibling_name(&name, LOCK_TAG, ""));
        let lock = open_lock(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Refused(format!(
                    "another payline run is writing --out {} right now; nothing was changed",
                    shown.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", &lock_path, e)),
        }

        // Checked again with the lock held: until now another run may have been creating --out.
        check_entry(&real, &shown)?;
        let dir = OutDir {
            shown,
            real,
            parent,
            name,
            force,
            lock,
        };
        // Before the emptiness check: it may move a set-aside old batch back to --out.
        dir.remove_stale()?;
        if non_empty(&dir.real)? {
            if !force {
                return Err(Error::Refused(format!(
                    "--out {} already exists and is not empty; pass --force to replace it",
                    dir.shown.display()
                )));
            }
            match replaceable {
                Replaceable::Batch { period } => dir.check_replaceable(period)?,
                Replaceable::Statements { program_id, period } => {
                    dir.check_statements(program_id, period)?
                }
            }
        }
        Ok(dir)
    }

    /// `statements --force` re-renders statements: it replaces only a folder payline rendered the
    /// same program's statements of the same period into (its statements.json), never a folder of
    /// other files or another month's statements (the index of that month links to them).
    fn check_statements(&self, program_id: &str, period: &str) -> Result<()> {
        let marker = std::fs::read(self.real.join(crate::render::STATEMENTS_MANIFEST))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .filter(|m| m["tool"] == "payline");
        let Some(marker) = marker else {
            return Err(Error::Refused(format!(
                "--out {} is not a folder of payline statements (it has no {}); --force only replaces statements rendered earlier: choose another --out",
                self.shown.display(),
                crate::render::STATEMENTS_MANIFEST
            )));
        };
        let held = (
            marker["program_id"].as_str().unwrap_or("?"),
            marker["period"].as_str().unwrap_or("?"),
        );
        if held != (program_id, period) {
            return Err(Error::Refused(format!(
                "--out {} holds the statements of {} {}; this batch is {program_id} {period}. --force only replaces statements of the same program and period (a re-render): choose another --out",
                self.shown.display(),
                held.0,
                held.1
            )));
        }
        Ok(())
    }

    /// `--force` re-runs a period: it replaces only a payline batch of the same period, never a
    /// folder of other files or another month's batch (a typo in --out must not erase history).
    fn check_replaceable(&self, period: &str) -> Result<()> {
        let manifest = std::fs::read(self.real.join("manifest.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .filter(|m| m["tool"] == "payline");
        let Some(manifest) = manifest else {
            return Err(Error::Refused(format!(
                "--out {} is not a payline batch (it has no payline manifest.json); --force only replaces an earlier run of the same period: choose another --out",
                self.shown.display()
            )));
        };
        let held = manifest["period"]["id"].as_str().unwrap_or("?");
        if held != period {
            return Err(Error::Refused(format!(
                "--out {} holds the batch of {held}; this run is for {period}. --force only replaces a batch of the same period (a re-run): choose another --out",
                self.shown.display()
            )));
        }
        Ok(())
    }

    /// Writes into a fresh temp dir beside --out, fsyncs, renames into place, fsyncs the parent;
    /// a replaced batch is then removed as `old_batch` says.
    pub fn commit(
        self,
        old_batch: &OldBatch,
        write: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        let temp = self.sibling(TMP_TAG);
        if std::fs::symlink_metadata(&temp).is_ok() {
            remove_tree(&temp)?;
        }
        std::fs::create_dir(&temp).map_err(|e| Error::io("create", &temp, e))?;
        let result = write(&temp)
            .and_then(|()| sync_tree(&temp))
            .and_then(|()| self.place(&temp, old_batch));
        if result.is_err() {
            // Whatever is left under the temporary name (a partial output, or the old batch after a
            // completed exchange) is not wanted.
            let _ = remove_tree(&temp);
        }
        result
    }

    /// `.NAME{tag}PID` beside --out, for this process.
    fn sibling(&self, tag: &str) -> PathBuf {
        self.parent.join(sibling_name(
            &self.name,
            tag,
            &std::process::id().to_string(),
        ))
    }

    /// Moves the complete, flushed `temp` to --out.
    fn place(&self, temp: &Path, old_batch: &OldBatch) -> Result<()> {
        match std::fs::symlink_metadata(&self.real) {
            Err(e) if e.kind() == ErrorKind::NotFound => self.rename_new(temp),
            Err(e) => Err(Error::io("read", &self.shown, e)),
            Ok(_) => {
                // The lock keeps other payline runs out, not people: look once more.
                check_entry(&self.real, &self.shown)?;
                if !self.force && non_empty(&self.real)? {
                    return Err(Error::Refused(format!(
                        "--out {} was filled by something else while payline was running; nothing \
                         was changed",
                        self.shown.display()
                    )));
                }
                self.replace(temp, old_batch)
            }
        }
    }

    /// --out does not exist: one rename that refuses to replace anything (where the system has one).
    fn rename_new(&self, temp: &Path) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{CWD, RenameFlags, renameat_with};
            match renameat_with(CWD, temp, CWD, &self.real, RenameFlags::NOREPLACE) {
                Ok(()) => return self.flush_parent_after_move(),
                Err(rustix::io::Errno::EXIST) | Err(rustix::io::Errno::NOTEMPTY) => {
                    return Err(Error::Refused(format!(
                        "--out {} was created by something else while payline was running; \
                         nothing was changed",
                        self.shown.display()
                    )));
                }
                Err(e) if unsupported(e) => {}
                Err(e) => return Err(Error::io("create", &self.shown, e.into())),
            }
        }
        std::fs::rename(temp, &self.real).map_err(|e| Error::io("create", &self.shown, e))?;
        self.flush_parent_after_move()
    }

    /// The new batch is in place once renamed: a failure to flush the parent afterwards must not
    /// read as "nothing was written".
    fn flush_parent_after_move(&self) -> Result<()> {
        sync_dir(&self.parent).map_err(|e| {
            Error::Calculation(format!(
                "the new batch is in {}, but flushing {} to disk failed ({e}): check the disk before relying on the batch",
                self.shown.display(),
                self.parent.display()
            ))
        })
    }

    /// --out exists (empty, or `--force`): swap it with the new output in one step, so there is never
    /// a moment without an --out; then remove the old batch, now under the temporary name.
    fn replace(&self, temp: &Path, old_batch: &OldBatch) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{CWD, RenameFlags, renameat_with};
            match renameat_with(CWD, temp, CWD, &self.real, RenameFlags::EXCHANGE) {
                Ok(()) => {
                    self.flush_parent_after_move()?;
                    self.discard(temp, old_batch);
                    return Ok(());
                }
                Err(e) if unsupported(e) => {}
                Err(e) => return Err(Error::io("replace", &self.shown, e.into())),
            }
        }
        // Two renames. A kill between them leaves the old batch in `.NAME.payline-old-PID` and no
        // --out; the next run moves it back (see `remove_stale`).
        let old = self.sibling(OLD_TAG);
        std::fs::rename(&self.real, &old).map_err(|e| Error::io("replace", &self.shown, e))?;
        if let Err(e) = std::fs::rename(temp, &self.real) {
            let _ = std::fs::rename(&old, &self.real);
            return Err(Error::io("create", &self.shown, e));
        }
        self.flush_parent_after_move()?;
        self.discard(&old, old_batch);
        Ok(())
    }

    /// Removes the replaced batch at `old` (the new one is in place and flushed), best effort: a
    /// leftover is removed by the next run. It is renamed `.NAME.payline-trash-PID` first (a name
    /// never restored to --out, unlike `.payline-old-`), then its manifest goes, here, so that no
    /// half-removed directory passes for a batch, then the rest as `old_batch` says.
    fn discard(&self, old: &Path, old_batch: &OldBatch) {
        let trash = self.sibling(TRASH_TAG);
        if std::fs::rename(old, &trash).is_err() {
            // The name is held by a dead remover's leftover: remove the old batch where it is.
            let _ = remove_tree(old);
            return;
        }
        if remove_manifest(&trash).is_err() {
            let _ = remove_tree(&trash);
            return;
        }
        match old_batch {
            OldBatch::RemoveNow => {
                let _ = remove_tree(&trash);
            }
            OldBatch::RemoveInBackground { program, args } => {
                // The batch is in place; the trash is this process's alone (named by its id, which
                // the next run sees alive). Unlocking first means the child, which holds a copy of
                // the lock file until it execs, can never make the next run think one is writing.
                let _ = self.lock.unlock();
                if spawn_detached(program, args, &trash).is_err() {
                    let _ = remove_tree(&trash);
                }
            }
        }
    }

    /// Removes the temporary directories of runs on this --out that were killed, and replaced batches
    /// whose background remover died. With the lock held no payline can be writing one; a directory
    /// whose process still lives is left alone anyway (a live remover finishes its own). A remover
    /// that still runs though its id looks dead only removes what this removes too: both tolerate
    /// files vanishing under them.
    /// An old batch set aside by a run killed between two renames goes back to --out if --out is
    /// missing or empty (its replacement never arrived); otherwise it was superseded and goes too.
    fn remove_stale(&self) -> Result<()> {
        let tmp_prefix = sibling_name(&self.name, TMP_TAG, "");
        let old_prefix = sibling_name(&self.name, OLD_TAG, "");
        let trash_prefix = sibling_name(&self.name, TRASH_TAG, "");
        let entries =
            std::fs::read_dir(&self.parent).map_err(|e| Error::io("read", &self.parent, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read", &self.parent, e))?;
            let file_name = entry.file_name();
            let bytes = file_name.as_encoded_bytes();
            let (pid, is_old) =
                if let Some(rest) = bytes.strip_prefix(tmp_prefix.as_encoded_bytes()) {
                    (rest, false)
                } else if let Some(rest) = bytes.strip_prefix(old_prefix.as_encoded_bytes()) {
                    (rest, true)
                } else if let Some(rest) = bytes.strip_prefix(trash_prefix.as_encoded_bytes()) {
                    // Being removed by process PID (a background remover), or left by one that died.
                    (rest, false)
                } else {
                    continue;
                };
            let Some(pid) = std::str::from_utf8(pid)
                .ok()
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != std::process::id() && process_alive(pid) {
                continue;
            }
            let path = entry.path();
            if is_old && !non_empty(&self.real)? {
                std::fs::rename(&path, &self.real).map_err(|e| Error::io("restore", &path, e))?;
                sync_dir(&self.parent)?;
            } else {
                remove_tree(&path)?;
            }
        }
        Ok(())
    }
}

/// `.NAME{tag}{suffix}`.
fn sibling_name(name: &OsStr, tag: &str, suffix: &str) -> OsString {
    let mut s = OsString::from(".");
    s.push(name);
    s.push(tag);
    s.push(suffix);
    s
}

/// Refuses a symbolic link or a non-directory at `path`; a missing path is fine.
fn check_entry(path: &Path, shown: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::Refused(format!(
            "--out {} is a symbolic link; payline would replace the link and leave its target's \
             files behind. Pass the real directory",
            shown.display()
        ))),
        Ok(m) if !m.is_dir() => Err(Error::Refused(format!(
            "--out {} exists and is not a directory",
            shown.display()
        ))),
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => Ok(()),
        Err(e) => Err(Error::io("read", shown, e)),
    }
}

fn exists(path: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

fn non_empty(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("read", dir, e)),
    }
}

/// The real path of `path`, which need not exist: its nearest existing ancestor canonicalized
/// (symlinks resolved), with the missing rest appended (a `..` in the rest undoes the component
/// before it, which payline itself will create as a real directory).
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut existing = abs.as_path();
    let mut rest: Vec<Component> = Vec::new();
    loop {
        match std::fs::canonicalize(existing) {
            Ok(mut real) => {
                for c in rest.iter().rev() {
                    match c {
                        Component::ParentDir => {
                            real.pop();
                        }
                        Component::Normal(n) => real.push(n),
                        _ => {}
                    }
                }
                return Ok(real);
            }
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                let (Some(last), Some(up)) = (existing.components().next_back(), existing.parent())
                else {
                    return Err(e);
                };
                rest.push(last);
                existing = up;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Creates the parent of --out if needed, flushing each new directory entry.
fn create_parent(parent: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut p = parent;
    while !exists(p)? {
        missing.push(p);
        match p.parent() {
            Some(up) => p = up,
            None => break,
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    sync_dir(p)?;
    for dir in missing.iter().rev() {
        sync_dir(dir)?;
    }
    Ok(())
}

fn open_lock(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(target_os = "linux")]
    {
        // Never follow a planted link to some other file.
        use std::os::unix::fs::OpenOptionsExt;
        // O_NOFOLLOW is a small positive flag: it fits an i32.
        options.custom_flags(i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or(0));
    }
    options
        .open(path)
        .map_err(|e| Error::io("open lock file", path, e))
}

/// Removes a leftover directory; its manifest.json first, so that an interrupted removal can never
/// leave something that passes for a complete output. A file or directory that vanishes meanwhile
/// (another process removing the same leftover) is not an error.
fn remove_tree(path: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    if meta.is_dir() {
        remove_manifest(path)?;
        remove_all(path)
    } else {
        gone(std::fs::remove_file(path)).map_err(|e| Error::io("remove", path, e))
    }
}

fn remove_manifest(dir: &Path) -> Result<()> {
    let manifest = dir.join("manifest.json");
    gone(std::fs::remove_file(&manifest)).map_err(|e| Error::io("remove", &manifest, e))
}

/// `std::fs::remove_dir_all`, but where another process may be removing the same tree: whatever is
/// already gone counts as removed.
fn remove_all(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("read", dir, e)),
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("read", dir, e)),
        };
        let path = entry.path();
        let kind = match entry.file_type() {
            Ok(kind) => kind,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        if kind.is_dir() {
            remove_all(&path)?;
        } else {
            gone(std::fs::remove_file(&path)).map_err(|e| Error::io("remove", &path, e))?;
        }
    }
    gone(std::fs::remove_dir(dir)).map_err(|e| Error::io("remove", dir, e))
}

/// A removal whose target is already gone succeeded.
fn gone(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Starts `program args… dir` detached: stdin, stdout and stderr null (a caller reading this
/// process's output is not held up by it), in a process group of its own (a Ctrl-C at the terminal
/// after this process exits does not reach it), and never waited for. It inherits no open file of
/// this process (Rust opens every file close-on-exec), so not the --out lock either.
fn spawn_detached(program: &Path, args: &[OsString], dir: &Path) -> std::io::Result<()> {
    let mut command = std::process::Command::new(program);
    command
        .args(args)
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    // Dropping the handle neither waits for nor kills the child.
    command.spawn().map(drop)
}

/// Flushes every file under `dir`, then each directory (children before parents). The files are
/// flushed by a few threads at once: the file system commits concurrent flushes together, which for
/// thousands of statements is several times faster than one after another.
fn sync_tree(dir: &Path) -> Result<()> {
    // On Linux one syncfs flushes every file and directory of the file system the batch is on:
    // the same guarantee as an fsync per file, without 20,000 round trips to the disk for as many
    // statements.
    #[cfg(target_os = "linux")]
    {
        let handle = std::fs::File::open(dir).map_err(|e| Error::io("flush", dir, e))?;
        if rustix::fs::syncfs(&handle).is_ok() {
            return Ok(());
        }
    }
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    collect_tree(dir, &mut files, &mut dirs)?;
    const WORKERS: usize = 8;
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS.min(files.len()))
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    while let Some(file) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                        sync_file(file)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("a flushing thread panicked"))
    })?;
    dirs.iter().try_for_each(|d| sync_dir(d))
}

/// The files under `dir`, and its directories in post-order (`dir` itself last).
fn collect_tree(dir: &Path, files: &mut Vec<PathBuf>, dirs: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read", dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io("read", &path, e))?;
        if kind.is_dir() {
            collect_tree(&path, files, dirs)?;
        } else if kind.is_file() {
            files.push(path);
        }
    }
    dirs.push(dir.to_path_buf());
    Ok(())
}

fn sync_file(path: &Path) -> Result<()> {
    #[cfg(unix)]
    let file = File::open(path);
    #[cfg(not(unix))]
    let file = OpenOptions::new().write(true).open(path);
    file.and_then(|f| f.sync_all())
        .map_err(|e| Error::io("flush", path, e))
}

fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io("flush", dir, e))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Errors of `renameat2` that mean "this system or file system cannot do that": use plain renames.
#[cfg(target_os = "linux")]
fn unsupported(e: rustix::io::Errno) -> bool {
    use rustix::io::Errno;
    matches!(
        e,
        Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP | Errno::PERM
    )
}

/// Whether process `pid` is running (a zombie is not).
#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // `pid (comm) STATE ...`; comm may hold spaces and parentheses, so look after the last `)`.
            let state = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].trim_start().chars().next());
            !matches!(state, Some('Z') | Some('X'))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => false,
        Err(_) => true,
    }
}

/// Elsewhere the lock alone guarantees that no payline is writing the directory.
#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: &str = "2026-10";

    fn batch(dir: &Path, tag: &str) -> Result<()> {
        std::fs::create_dir(dir.join("statements")).unwrap();
        for p in 0..20 {
            std::fs::write(dir.join(format!("statements/P{p}.txt")), tag).unwrap();
        }
        std::fs::write(dir.join("payouts.csv"), tag).unwrap();
        let manifest =
            format!(r#"{{"tool":"payline","period":{{"id":"{PERIOD}"}},"tag":"{tag}"}}"#);
        std::fs::write(dir.join("manifest.json"), manifest).unwrap();
        Ok(())
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// `OutDir::acquire` with `--force`, waiting while the lock is held by a child that another test
    /// forked while holding it: a forked child holds a copy of every open file until it execs.
    fn acquire_retrying(out: &Path) -> OutDir {
        let mut attempts = 0;
        loop {
            match OutDir::acquire(out, true, &[], PERIOD) {
                Err(Error::Refused(m)) if m.contains("another payline run") && attempts < 2000 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                other => return other.unwrap(),
            }
        }
    }

    /// Writes batch "old" to `root/out`, then replaces it with batch "new" removing the old one as
    /// `old_batch` says.
    fn replace(root: &Path, old_batch: &OldBatch) -> PathBuf {
        let out = root.join("out");
        OutDir::acquire(&out, false, &[], PERIOD)
            .unwrap()
            .commit(&OldBatch::RemoveNow, |d| batch(d, "old"))
            .unwrap();
        acquire_retrying(&out)
            .commit(old_batch, |d| batch(d, "new"))
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("payouts.csv")).unwrap(),
            "new"
        );
        out
    }

    #[test]
    fn a_replaced_batch_is_removed_before_commit_returns_by_default() {
        let root = tempfile::tempdir().unwrap();
        replace(root.path(), &OldBatch::RemoveNow);
        assert_eq!(names(root.path()), [".out.payline-lock", "out"]);
    }

    #[test]
    fn a_replaced_batch_is_removed_here_when_its_remover_cannot_start() {
        let root = tempfile::tempdir().unwrap();
        let missing = OldBatch::RemoveInBackground {
            program: root.path().join("no-such-program"),
            args: vec![REMOVER_SUBCOMMAND.into()],
        };
        replace(root.path(), &missing);
        assert_eq!(names(root.path()), [".out.payline-lock", "out"]);
    }

    /// A remover that exits without removing anything (`true`) stands for one that died: the old
    /// batch waits under its trash name, without its manifest, until the next run removes it.
    #[cfg(unix)]
    #[test]
    fn a_replaced_batch_whose_remover_died_waits_as_trash_for_the_next_run() {
        let root = tempfile::tempdir().unwrap();
        let dies = OldBatch::RemoveInBackground {
            program: "true".into(),
            args: Vec::new(),
        };
        let out = replace(root.path(), &dies);
        let trash = format!(".out{TRASH_TAG}{}", std::process::id());
        assert_eq!(names(root.path()), [".out.payline-lock", &trash, "out"]);
        assert!(is_payline_work_dir(&trash));
        let left = root.path().join(&trash);
        assert!(
            !left.join("manifest.json").exists(),
            "the manifest goes first"
        );
        assert_eq!(
            std::fs::read_to_string(left.join("payouts.csv")).unwrap(),
            "old"
        );
        // The next run on the same --out: the batch in place is untouched, the trash goes.
        let dir = acquire_retrying(&out);
        assert_eq!(names(root.path()), [".out.payline-lock", "out"]);
        assert_eq!(
            std::fs::read_to_string(out.join("payouts.csv")).unwrap(),
            "new"
        );
        drop(dir);
    }

    #[test]
    fn removal_tolerates_other_processes_removing_the_same_tree() {
        let root = tempfile::tempdir().unwrap();
        for round in 0..20 {
            let tree = root.path().join(format!(".out{TRASH_TAG}{round}"));
            std::fs::create_dir(&tree).unwrap();
            for d in 0..4 {
                let sub = tree.join(format!("d{d}"));
                std::fs::create_dir(&sub).unwrap();
                for f in 0..50 {
                    std::fs::write(sub.join(format!("f{f}")), "x").unwrap();
                }
            }
            std::fs::write(tree.join("manifest.json"), "{}").unwrap();
            let results: Vec<Result<()>> = std::thread::scope(|s| {
                let removers: Vec<_> = (0..4).map(|_| s.spawn(|| remove_tree(&tree))).collect();
                removers.into_iter().map(|r| r.join().unwrap()).collect()
            });
            for r in results {
                r.unwrap();
            }
            assert!(!tree.exists());
        }
    }

    /// An --out whose name is not UTF-8 gets its replaced batch removed too.
    #[cfg(unix)]
    #[test]
    fn the_remover_removes_trash_whose_name_is_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let root = tempfile::tempdir().unwrap();
        let trash = root
            .path()
            .join(OsStr::from_bytes(b".o\xffut.payline-trash-4"));
        std::fs::create_dir(&trash).unwrap();
        batch(&trash, "old").unwrap();
        remove_work_dir(&trash).unwrap();
        assert!(names(root.path()).is_empty(), "{:?}", names(root.path()));
    }

    #[test]
    fn the_remover_removes_only_trash() {
        let root = tempfile::tempdir().unwrap();
        for name in [
            "out",
            ".out.payline-tmp-12",
            ".out.payline-old-12",
            ".out.payline-trash-",
            "x.payline-trash-12",
            ".out.payline-trash-1x",
        ] {
            let dir = root.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("keep"), "x").unwrap();
            assert!(
                matches!(remove_work_dir(&dir), Err(Error::Refused(_))),
                "{name}"
            );
            assert!(dir.join("keep").exists(), "{name}");
        }
        let trash = root.path().join(".out.payline-trash-13");
        std::fs::create_dir(&trash).unwrap();
        batch(&trash, "old").unwrap();
        remove_work_dir(&trash).unwrap();
        let renamed = format!(".out{TRASH_TAG}{}", std::process::id());
        assert!(!trash.exists() && !root.path().join(renamed).exists());
        // Already gone (another remover was first): nothing to do.
        remove_work_dir(&trash).unwrap();
    }
}
