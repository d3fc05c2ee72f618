//! Import maps (SPEC §2): a raw export read into payline's own format by one reusable TOML file per
//! source. `map` reads the file, `encoding` decodes the bytes, `cells` reads dates and numbers as
//! declared, `transform` writes the payline-format copy the usual loader reads, `report` says what
//! was done (for `payline inspect` and the run summary).

pub mod cells;
pub mod encoding;
pub mod map;
pub mod report;
pub mod transform;

pub use map::{EncodingChoice, Filter, InputMap, load as load_map};
pub use report::Report;
pub use transform::{Context, Imported, import};
