//! A model's evaluation on held-out traces as `simforecast evaluate --json` writes it (and the
//! Python package returns it): the held-out metrics, then the compute saved at the precision the
//! user asks for, its curve, and where each run stops.

use std::sync::Arc;

use serde::Serialize;

use simforecast_runtime::error::Result;
use simforecast_runtime::model::Model;

use crate::dataset::Dataset;
use crate::protocol::{self, Metrics, TraceOutcome};
use crate::savings::{self, Savings, Stop};

/// The evaluation of a model on some traces.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    /// The held-out metrics (names unchanged for scripts; `compute_saved` is the paper's
    /// accounting, every forecast counted as final).
    #[serde(flatten)]
    pub metrics: Metrics,
    /// The relative 90 % half-width a forecast must be within to replace the rest of a run.
    pub bank_at: f64,
    pub honest: Savings,
    /// `honest` at every tolerance of [`savings::curve_tolerances`].
    pub curve: Vec<Savings>,
    /// Where each run stops at `bank_at`.
    pub runs: Vec<RunRow>,
    #[serde(skip)]
    pub outcomes: Vec<TraceOutcome>,
}

/// One run of the honest accounting.
#[derive(Clone, Debug, Serialize)]
pub struct RunRow {
    pub name: String,
    pub frames: usize,
    pub mu: f64,
    pub irrelevant: bool,
    pub stop: Stop,
}

impl Evaluation {
    /// Replays every trace of `ds` through `model` and accounts for it at `bank_at`.
    pub fn new(model: &Arc<Model>, ds: &Dataset, bank_at: f64) -> Result<Self> {
        let idx: Vec<usize> = (0..ds.len()).collect();
        let (metrics, outcomes) = protocol::evaluate(model, ds, &idx)?;
        let paths = protocol::run_paths(&outcomes);
        let honest = savings::path_savings(&paths, bank_at)?;
        let curve = savings::curve_tolerances()
            .map(|t| savings::path_savings(&paths, t))
            .collect::<Result<_>>()?;
        let runs = outcomes
            .iter()
            .filter_map(|o| {
                let (actual, path) = (o.actual?, o.path()?);
                Some(RunRow {
                    name: o.name.clone(),
                    frames: o.frames,
                    mu: actual.mu,
                    irrelevant: actual.irrelevant,
                    stop: path.stop_at(bank_at).stop,
                })
            })
            .collect();
        Ok(Self {
            metrics,
            bank_at,
            honest,
            curve,
            runs,
            outcomes,
        })
    }
}
