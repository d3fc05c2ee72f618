//! payline: a partner-incentive calculator over flat files.
//!
//! The library does the work; the `payline` binary only parses arguments and prints. Data flow:
//! [`program`] (TOML → typed model) and [`input`] (CSV → typed records, streamed) feed the pure
//! [`engine`]; [`output`] writes what it returns. [`run`] wires those for the commands, and
//! [`check`], [`diff`] and [`explain`] build on it. See docs/ARCHITECTURE.md.

pub mod check;
pub mod diff;
pub mod digest;
pub mod engine;
pub mod error;
pub mod explain;
pub mod input;
pub mod inspect;
pub mod model;
pub mod output;
pub mod program;
pub mod render;
pub mod run;
pub mod workspace;

pub use error::{Error, Result, Warning, WarningCode};
// `payline::period::Period` and `payline::money` read as before: they live in `model`.
pub use model::{money, period};

/// How many threads a run's parallel steps (the deal stream, evaluation, writing) use: one per core,
/// at most eight.
pub(crate) fn worker_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 8)
}
