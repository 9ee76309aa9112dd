//! simforecast's runtime: what a running simulation links. A [`model::Model`] is a list of
//! [`stage::Stage`]s built from [`basis`] (B-spline smoothing), [`fpca`] (functional PCA) and
//! [`knn`]; [`monitor::Monitor`] streams one trace through it frame by frame; [`card::ModelCard`]
//! describes a model for people; [`convergence`] estimates a run's long-run mean from its own
//! frames (equilibration, statistical inefficiency). No I/O beyond reading and writing model files, no training, no
//! parsing of LAMMPS output.

pub mod basis;
pub mod card;
pub mod codes;
pub mod convergence;
pub mod error;
pub mod fpca;
pub mod knn;
pub mod model;
pub mod monitor;
pub mod stage;

pub use error::{Error, Result};
