//! simforecast: predict the result of a LAMMPS NEMD run from its first frames and stop it early
//! when it will not be worth finishing.
//!
//! Offline: `trace` reads LAMMPS output, `train` fits and validates a `model::Model` (a list
//! of `stage::Stage`s built from [`basis`], [`fpca`] and [`knn`]). Online: `monitor::Monitor`
//! streams one trace through the model; `ffi` and `cxx_api` expose it to C and C++.

pub mod basis;
pub mod cxx_api;
pub mod error;
pub mod ffi;
pub mod fpca;
pub mod knn;
pub mod model;
pub mod monitor;
pub mod stage;
pub mod trace;
pub mod train;

pub use error::{Error, Result};
