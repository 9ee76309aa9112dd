//! simforecast's training side: reading LAMMPS output ([`trace`]), labelled datasets
//! ([`dataset`]), configuration and presets ([`config`]), what a user asks for and its check
//! against the traces ([`params`]), cross-validation ([`cv`]), cut
//! calibration ([`calibration`]), metrics, the two stage fitters ([`screen`], [`forecast`]), the
//! model fit ([`fit`]), held-out evaluation and the paper's protocol ([`protocol`]), the honest
//! accounting of compute saved ([`savings`]), the baselines a model must beat ([`baseline`]), and
//! plots.

pub mod baseline;
pub mod calibration;
pub mod config;
pub mod cv;
pub mod dataset;
pub mod evaluation;
pub mod fit;
pub mod forecast;
pub mod metrics;
pub mod params;
pub mod plots;
pub mod protocol;
pub mod regression;
pub mod risk;
pub mod savings;
pub mod screen;
pub mod sizes;
pub mod smoothed;
pub mod trace;

pub use config::{Forecaster, Selection, TrainConfig};
pub use dataset::{tail_stats, Dataset};
pub use fit::{fit_model, StageReport};
pub use metrics::{average_precision, mean2, prf, r2};
pub use params::{Adapted, Deadline, Overrides, Preset, TrainParams};
