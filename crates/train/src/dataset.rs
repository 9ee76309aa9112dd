//! Traces with their labels (irrelevant or not) and targets (μ, σ of the tail): what training
//! and evaluation read.

use std::sync::Arc;

use nalgebra::DMatrix;
use sha2::{Digest, Sha256};

use simforecast_runtime::error::{Error, Result};
use simforecast_runtime::model::Direction;
use simforecast_runtime::stage::Recipe;

use crate::smoothed::{SmoothedWindow, SmoothingCache};
use crate::trace::TraceSet;

/// μ and σ (ddof = 1) of the last `tail` values; None when the trace is shorter than `tail`.
pub fn tail_stats(values: &[f64], tail: usize) -> Option<(f64, f64)> {
    if tail < 2 || values.len() < tail {
        return None;
    }
    let t = &values[values.len() - tail..];
    let mu = t.iter().sum::<f64>() / tail as f64;
    let var = t.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (tail - 1) as f64;
    Some((mu, var.sqrt()))
}

/// Traces with their labels and targets, ready for training. Training smooths each window of
/// every trace once and keeps it with the dataset: change no trace of a dataset already trained
/// on (a clone starts afresh).
#[derive(Clone, Debug)]
pub struct Dataset {
    pub names: Vec<String>,
    pub series: Vec<Vec<f64>>,
    pub mu: Vec<f64>,
    pub sigma: Vec<f64>,
    pub irrelevant: Vec<bool>,
    pub threshold: f64,
    pub direction: Direction,
    pub tail: usize,
    pub frame_spacing: i64,
    pub column: String,
    smoothed: SmoothingCache,
}

impl Dataset {
    /// Labels every trace. Traces shorter than `tail` frames cannot be labelled: an error names
    /// them (the caller filters lengths before, with its own report).
    pub fn new(
        names: Vec<String>,
        series: Vec<Vec<f64>>,
        threshold: f64,
        direction: Direction,
        tail: usize,
        frame_spacing: i64,
        column: String,
    ) -> Result<Self> {
        if !threshold.is_finite() {
            return Err(Error::InvalidArgument(format!(
                "threshold must be finite, got {threshold}"
            )));
        }
        let mut mu = Vec::with_capacity(series.len());
        let mut sigma = Vec::with_capacity(series.len());
        for (name, s) in names.iter().zip(&series) {
            let (m, sd) = tail_stats(s, tail).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "trace '{name}' has {} frames, fewer than the tail of {tail} its result is taken over",
                    s.len()
                ))
            })?;
            mu.push(m);
            sigma.push(sd);
        }
        let irrelevant = mu
            .iter()
            .map(|&m| direction.is_irrelevant(m, threshold))
            .collect();
        Ok(Self {
            names,
            series,
            mu,
            sigma,
            irrelevant,
            threshold,
            direction,
            tail,
            frame_spacing,
            column,
            smoothed: SmoothingCache::default(),
        })
    }

    /// Labels the traces of a loaded set: their names, values, frame spacing and column come
    /// from the set.
    pub fn from_traces(
        set: TraceSet,
        threshold: f64,
        direction: Direction,
        tail: usize,
    ) -> Result<Self> {
        let names = set.traces.iter().map(|t| t.name.clone()).collect();
        let series = set.traces.into_iter().map(|t| t.values).collect();
        Self::new(
            names,
            series,
            threshold,
            direction,
            tail,
            set.spacing,
            set.column,
        )
    }

    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The first `window` frames of the given traces as rows.
    pub fn windows(&self, idx: &[usize], window: usize) -> DMatrix<f64> {
        DMatrix::from_fn(idx.len(), window, |r, c| self.series[idx[r]][c])
    }

    /// Every trace smoothed at `window` as `recipe` asks (built on first use, then shared).
    pub(crate) fn smoothed(&self, window: usize, recipe: &Recipe) -> Result<Arc<SmoothedWindow>> {
        self.smoothed.get(&self.series, window, recipe)
    }

    /// SHA-256 over names and values of the given traces.
    pub fn hash(&self, idx: &[usize]) -> String {
        let mut h = Sha256::new();
        for &i in idx {
            h.update(self.names[i].as_bytes());
            h.update([0]);
            for v in &self.series[i] {
                h.update(v.to_le_bytes());
            }
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn mean_len(&self, idx: &[usize]) -> f64 {
        idx.iter()
            .map(|&i| self.series[i].len() as f64)
            .sum::<f64>()
            / idx.len().max(1) as f64
    }
}
