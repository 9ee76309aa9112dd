//! simforecast's runtime: what a running simulation links. A [`model::Model`] is a list of
//! [`stage::Stage`]s built from [`basis`] (B-spline smoothing), [`fpca`] (functional PCA) and
//! [`knn`]; [`monitor::Monitor`] streams one trace through it frame by frame. No I/O beyond
//! reading and writing model files, no training, no parsing of LAMMPS output.

pub mod basis;
pub mod convergence;
pub mod error;
pub mod fpca;
pub mod knn;
pub mod model;
pub mod monitor;
pub mod stage;

pub use error::{Error, Result};
