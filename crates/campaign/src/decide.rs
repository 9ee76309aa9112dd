//! What the current model decides for a run, through the monitor exactly as the fix runs it:
//! its halt, else its forecast when the interval is within the campaign's tolerance (a wider
//! forecast replaces nothing, as in the savings accounting), else nothing.

use std::sync::Arc;

use simforecast_runtime::model::Model;
use simforecast_runtime::monitor::Monitor;
use simforecast_train::savings::relative_half_width;

use crate::error::Result;
use crate::record::Decision;

/// The model's decision for the frames `values` (a live run's frames so far, or a recorded one).
pub fn decide(model: &Arc<Model>, values: &[f64], tolerance: f64) -> Result<Decision> {
    // The campaign's tolerance where the model was calibrated for it (a KNN model takes any).
    let t = model
        .tolerance_range()
        .is_none_or(|(lo, hi)| (lo..=hi).contains(&tolerance))
        .then_some(tolerance);
    for e in Monitor::replay_at(model, values, t)? {
        let frame = e.frame as usize;
        if e.halt() {
            return Ok(Decision::Halt { frame });
        }
        if let Some(f) = &e.forecast {
            let precise = relative_half_width(f.mu_low, f.mu_high).is_some_and(|w| w <= tolerance);
            if precise && !f.ood && f.mu_low <= f.mu_high {
                return Ok(Decision::Forecast {
                    frame,
                    mu_hat: f.mu_hat,
                    lo: f.mu_low,
                    hi: f.mu_high,
                    level: f.level,
                });
            }
        }
    }
    Ok(Decision::RunToEnd)
}
