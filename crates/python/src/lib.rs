//! simforecast for Python: the package `simforecast` (PyO3, built by maturin from
//! `pyproject.toml` beside this crate's manifest).
//!
//! The plain Rust the Python API is made of lives in modules that know nothing of Python and
//! are tested by `cargo test`: [`error`] (failures and the exception each becomes), [`options`]
//! (the training keywords), [`traces`] (paths or arrays to a labelled dataset), [`training`]
//! (train and evaluate as the command line does), [`event`] (an event laid flat) and [`pruner`]
//! (report / should-stop bookkeeping). The `python` feature adds `py/`, the thin PyO3 glue.

pub mod error;
pub mod event;
pub mod options;
pub mod pruner;
pub mod traces;
pub mod training;

#[cfg(feature = "python")]
mod py;
