//! The documents people read, rendered from a batch: each partner's statement (HTML and CSV) and
//! the batch's index.html. Pages are maud templates (every text from the inputs escaped); the words
//! they use (money, labels, notes) are in `words`, a rule's terms in `terms`, file names in `names`.

pub mod names;
pub mod terms;
pub mod words;

pub use words::display_money;
