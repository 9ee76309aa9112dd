//! The smoothing of every trace of a dataset at one window, built once and shared by every fold,
//! component count, stage, split and preset that smooths that window the same way (the protocol
//! fits hundreds of feature maps on overlapping subsets of the same traces).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use nalgebra::DMatrix;

use simforecast_runtime::error::Result;
use simforecast_runtime::stage::{Recipe, Smoothing};

/// One window's smoothing and the B-spline coefficients of every dataset trace at it.
pub struct SmoothedWindow {
    pub smoothing: Smoothing,
    /// Row i: the coefficients of trace i's first `window` frames (NaN for a shorter trace).
    coefs: DMatrix<f64>,
}

impl SmoothedWindow {
    fn new(series: &[Vec<f64>], window: usize, recipe: &Recipe) -> Result<Self> {
        let smoothing = Smoothing::new(window, recipe)?;
        let windows = DMatrix::from_fn(series.len(), window, |r, c| {
            series[r].get(c).copied().unwrap_or(f64::NAN)
        });
        // Each row of the product depends on its own window alone, so the rows picked later are
        // exactly what smoothing those traces alone would give.
        let coefs = smoothing.coefficients(&windows);
        Ok(Self { smoothing, coefs })
    }

    /// The coefficients of the traces `idx`, as rows.
    pub fn coefficients(&self, idx: &[usize]) -> DMatrix<f64> {
        self.coefs.select_rows(idx)
    }
}

/// (window, knot ratio bits, penalty bits): what a smoothing depends on.
type Key = (usize, u64, u64);

/// One key's smoothed window, None until built.
type Slot = Arc<Mutex<Option<Arc<SmoothedWindow>>>>;

/// Smoothed windows by key, built on first use. Each key has its own lock, so two threads asking
/// for the same window build it once, and different windows are built in parallel. Building
/// uses no rayon task (a thread blocked on a key's lock never holds a task another needs).
#[derive(Default)]
pub struct SmoothingCache {
    slots: Mutex<HashMap<Key, Slot>>,
}

impl SmoothingCache {
    /// The smoothing of `series` at `window` under `recipe`'s knots and penalty. `series` must
    /// be the same every call (the dataset that owns the cache).
    pub fn get(
        &self,
        series: &[Vec<f64>],
        window: usize,
        recipe: &Recipe,
    ) -> Result<Arc<SmoothedWindow>> {
        let key = (
            window,
            recipe.knot_ratio.to_bits(),
            recipe.penalty.to_bits(),
        );
        let slot = Arc::clone(
            self.slots
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(key)
                .or_default(),
        );
        let mut built = slot.lock().unwrap_or_else(|e| e.into_inner());
        // A dataset whose traces were added to since is smoothed anew.
        if let Some(sw) = built.as_ref().filter(|sw| sw.coefs.nrows() == series.len()) {
            return Ok(Arc::clone(sw));
        }
        // An error is returned, not kept: it is cheap to meet again and keeps its kind.
        let sw = Arc::new(SmoothedWindow::new(series, window, recipe)?);
        *built = Some(Arc::clone(&sw));
        Ok(sw)
    }
}

/// A copy of a dataset starts with an empty cache: its traces may be changed.
impl Clone for SmoothingCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for SmoothingCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.slots.lock().map_or(0, |s| s.len());
        write!(f, "SmoothingCache({n} windows)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe() -> Recipe {
        Recipe {
            penalty: 1e-6,
            ..Recipe::paper()
        }
    }

    /// Thirty irregular traces, one shorter than the window.
    fn series() -> Vec<Vec<f64>> {
        (0..30)
            .map(|i| {
                let len = if i == 4 { 30 } else { 60 + i };
                (0..len)
                    .map(|k| {
                        ((i * 7 + k * 3) as f64 * 0.37).sin() * (1.0 + i as f64) + k as f64 * 0.01
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn cached_rows_are_what_smoothing_those_traces_alone_gives() {
        let series = series();
        let cache = SmoothingCache::default();
        let sw = cache.get(&series, 50, &recipe()).unwrap();
        let idx = [3, 7, 8, 20, 29, 1, 12, 0];
        let alone = sw
            .smoothing
            .coefficients(&DMatrix::from_fn(idx.len(), 50, |r, c| series[idx[r]][c]));
        // Bit for bit: training on cached rows changes no result.
        assert_eq!(sw.coefficients(&idx), alone);
        assert!(sw.coefficients(&[4]).iter().all(|v| v.is_nan()));
        assert!(Arc::ptr_eq(
            &sw,
            &cache.get(&series, 50, &recipe()).unwrap()
        ));
        let other = Recipe {
            penalty: 0.0,
            ..recipe()
        };
        assert!(!Arc::ptr_eq(&sw, &cache.get(&series, 50, &other).unwrap()));
    }

    #[test]
    fn a_window_that_cannot_be_smoothed_is_an_error_every_time() {
        let series = series();
        let cache = SmoothingCache::default();
        let few_knots = Recipe {
            knot_ratio: 2.0,
            ..recipe()
        };
        assert!(cache.get(&series, 50, &few_knots).is_err());
        assert!(cache.get(&series, 50, &few_knots).is_err());
    }
}
