//! The monitor's states, the screening verdicts, and the model-free convergence mode's verdicts
//! and equilibration rules, with the numbers every foreign API uses.
//!
//! This file is their one definition: cbindgen reads it into the C header (`SF_STATE_*`,
//! `SF_VERDICT_*`, `SF_CONVERGENCE_VERDICT_*`, `SF_EQUILIBRATION_*`, see build.rs), the C++
//! header names the C constants, and the monitor's state bytes store the variants. Keep it to
//! these enums: cbindgen parses every item here.

use serde::{Deserialize, Serialize};

/// Where the monitor stands.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum State {
    /// Collecting frames, nothing decided yet.
    Collecting = 0,
    /// Screening finished, the run is worth finishing.
    ScreenedRelevant = 1,
    /// A screening stage called the run irrelevant.
    ScreenedIrrelevant = 2,
    /// The forecast is available.
    ForecastReady = 3,
}

/// What a screening stage says about a run.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Verdict {
    /// The run is worth finishing.
    Relevant = 0,
    /// The run's result will be past the threshold.
    Irrelevant = 1,
    /// Not confident at this window; keep collecting.
    Unsure = 2,
}

/// What a check of the model-free convergence estimator says (`convergence::Verdict` without its
/// numbers). Only `Converged` lets a run stop, and it is a verdict of the run's own statistics:
/// nothing calibrates it against finished runs.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConvergenceVerdict {
    /// Converged by own statistics: the interval is within tolerance and the halves agree.
    Converged = 0,
    /// Too few blocks of frames to estimate anything yet (no estimate).
    TooFewBlocks = 1,
    /// Before the minimum number of frames (the estimate is given, the stop is not).
    TooFewFrames = 2,
    /// The mean is 0: a relative tolerance cannot be met.
    ZeroMean = 3,
    /// The interval is wider than the tolerance.
    TooWide = 4,
    /// The means of the two halves after equilibration differ by more than the drift tolerance.
    Drifting = 5,
}

/// How the convergence estimator chooses the end of equilibration.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Equilibration {
    /// The t0 that leaves the most effective samples, (n − t0) / g (pymbar's criterion).
    MaxEffectiveSamples = 0,
    /// The t0 that minimises the marginal standard error of the block means after it (MSER).
    Mser = 1,
}

/// What a forecast rests on.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Evidence {
    /// A trained model's forecasting stage (calibrated on finished runs).
    Model = 0,
    /// The run's own statistics (the model-free convergence mode; nothing calibrates it).
    OwnStatistics = 1,
}
