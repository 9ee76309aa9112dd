//! The monitor's states and the screening verdicts, with the numbers every foreign API uses.
//!
//! This file is their one definition: cbindgen reads it into the C header (`SF_STATE_*`,
//! `SF_VERDICT_*`, see build.rs), the C++ header names the C constants, and the monitor's state
//! bytes store the variants. Keep it to these enums: cbindgen parses every item here.

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
