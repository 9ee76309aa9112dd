//! Reading LAMMPS output into traces: `fix ave/time` files (scalar mode) and the thermo columns of
//! `log.lammps`.
//!
//! This module only reads and checks the shape of the data: which column, which steps, whether the
//! frames are evenly spaced, whether a value is NaN/Inf. It does no arithmetic on the values.
//! Every error names the file (and the line when there is one) and says what is wrong.
//!
//! The path of a load: `inputs` turns the user's files, directories and globs into files to
//! read (and files skipped, with reasons); `format` tells a `fix ave/time` file from a log;
//! `ave_time` and `log` parse them (over `text`) for the [`Column`] asked for; `load` checks
//! that the traces agree and sets aside the unusable ones, and `group_glob` finds the glob an
//! error suggests when they do not.

mod ave_time;
mod column;
mod error;
mod format;
mod group_glob;
mod inputs;
mod load;
mod log;
#[cfg(test)]
mod testutil;
mod text;

use std::path::PathBuf;

pub use ave_time::read_ave_time;
pub use column::{looks_like_viscosity, Column};
pub use error::TraceError;
pub use format::{detect_format, Format};
pub use inputs::{describe_skipped, expand_inputs, natural_cmp, Expanded, SkipReason, Skipped};
pub use load::{load_traces, read_traces, RejectReason, Rejected, TraceSet};
pub use log::{read_log, read_log_column};

/// One time series read from one file (or one `run` section of a log).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// File stem (`run_0001`), or `stem#runK` for the K-th run section of a log having the column.
    pub name: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// Time step of each frame.
    pub steps: Vec<i64>,
    /// Value of each frame, as written (NaN/Inf included).
    pub values: Vec<f64>,
    /// The column name as written in the file header.
    pub column: String,
}

impl Trace {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the trace has no frame.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The constant step spacing between frames; `None` if it is irregular, not increasing, or
    /// there are fewer than 2 frames.
    pub fn spacing(&self) -> Option<i64> {
        if self.steps.len() < 2 || self.irregular_frame().is_some() {
            return None;
        }
        Some(self.steps[1] - self.steps[0])
    }

    /// Index of the first frame whose step breaks the spacing set by the first two frames (or
    /// does not increase). `None` when the spacing is constant or there are fewer than 2 frames.
    pub fn irregular_frame(&self) -> Option<usize> {
        let s = &self.steps;
        if s.len() < 2 {
            return None;
        }
        let d = s[1] - s[0];
        if d <= 0 {
            return Some(1);
        }
        (2..s.len()).find(|&i| s[i] - s[i - 1] != d)
    }

    /// The first NaN or infinite value, as (frame index, value).
    pub fn first_non_finite(&self) -> Option<(usize, f64)> {
        self.values
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
            .map(|(i, v)| (i, *v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_and_irregularity() {
        let t = |steps: Vec<i64>| Trace {
            name: "x".into(),
            path: PathBuf::from("x"),
            values: vec![0.0; steps.len()],
            steps,
            column: "v".into(),
        };
        assert_eq!(t(vec![]).spacing(), None);
        assert_eq!(t(vec![10]).spacing(), None);
        assert_eq!(t(vec![10, 20, 30]).spacing(), Some(10));
        assert_eq!(t(vec![10, 20, 35]).spacing(), None);
        assert_eq!(t(vec![10, 20, 35]).irregular_frame(), Some(2));
        assert_eq!(t(vec![20, 10]).irregular_frame(), Some(1));
        assert_eq!(t(vec![10, 10]).spacing(), None);
        assert!(t(vec![]).is_empty());
    }
}
