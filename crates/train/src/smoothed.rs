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
