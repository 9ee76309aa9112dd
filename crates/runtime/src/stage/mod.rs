//! One decision point of a model: a window of frames, the features of its samples
//! ([`features`]), a KNN over the training traces and out-of-distribution guards ([`guard`]; the
//! [`Neighbourhood`] every stage has), and what the stage decides from its neighbours: a
//! [`ScreenStage`] screens runs ([`screen`]), a [`ForecastStage`] forecasts them ([`forecast`]).

pub mod features;
pub mod forecast;
pub mod guard;
pub mod regression;
pub mod screen;
pub mod tolerance;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::knn::{self, Neighbour, PointSet, Weighting};

pub use crate::codes::Verdict;
pub use features::{FeatureMap, Recipe, Smoothing};
pub use forecast::{
    forecast_from_neighbours, from_space, neighbour_centre_spread, regress_targets, to_space,
    Forecast, ForecastCalibration, ForecastOutcome, ForecastStage, Target,
};
pub use guard::{DistanceGuard, OodReason, Range, Side, Signal, SignalGuard};
pub use regression::{Linear, RegressionOutcome, RegressionStage, WindowStats};
pub use screen::{
    margin_value, Bound, Clearing, Cut, HaltTarget, Halting, Margin, Score, ScoreKind,
    ScreenCalibration, ScreenOutcome, ScreenStage,
};
pub use tolerance::{RegressionHalting, RegressionRule, StopPoint, ToleranceTable};

/// What a stage is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Classify relevant / irrelevant; may halt the run.
    Screen,
    /// Regress μ−σ and μ+σ (and an interval for μ) for relevant runs.
    Forecast,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Screen => "screen",
            Role::Forecast => "forecast",
        })
    }
}

/// KNN hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnnParams {
    pub k: usize,
    pub power: f64,
    pub weighting: Weighting,
}

/// What every stage has: the window's feature map, the training traces as points in feature
/// space, the KNN parameters, and the out-of-distribution guards (each None when absent): the
/// distance in feature space, and the window's level, scale and sign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Neighbourhood {
    pub features: FeatureMap,
    pub params: KnnParams,
    pub points: PointSet,
    pub distance: Option<DistanceGuard>,
    pub signal: Option<SignalGuard>,
}

impl Neighbourhood {
    pub fn window(&self) -> usize {
        self.features.window
    }

    /// The k nearest training traces of the first `window` samples of `x`, and why the window
    /// is out of distribution when it is.
    pub fn neighbours(&self, x: &[f64]) -> Result<(Vec<Neighbour>, Option<OodReason>)> {
        let window = self.window();
        if x.len() < window {
            return Err(Error::InvalidArgument(format!(
                "stage needs {window} frames, got {}",
                x.len()
            )));
        }
        if let Some((frame, &value)) = x[..window].iter().enumerate().find(|(_, v)| !v.is_finite())
        {
            return Err(Error::NonFinite { frame, value });
        }
        let f = self.features.apply(x);
        let nb = self
            .points
            .nearest(&f, self.params.k, self.params.power, None);
        let ood = self.ood(&x[..window], &nb);
        Ok((nb, ood))
    }

    /// Why a window with neighbours `nb` is out of distribution: its signal first (level, scale
    /// and sign say more to a person than a distance), then its k-th neighbour's distance.
    pub fn ood(&self, window: &[f64], nb: &[Neighbour]) -> Option<OodReason> {
        self.signal
            .and_then(|g| g.check(Signal::of(window)))
            .or_else(|| {
                self.distance
                    .filter(|g| nb.last().is_some_and(|n| n.distance > g.max_distance))
                    .map(|_| OodReason::Distance)
            })
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let fm = &self.features;
        if fm.window == 0 || fm.matrix.ncols() != fm.window || fm.offset.len() != fm.dim() {
            return Err(format!(
                "feature map shape {:?} does not fit window {}",
                fm.matrix.shape(),
                fm.window
            ));
        }
        let finite = fm
            .matrix
            .iter()
            .chain(fm.offset.iter())
            .all(|v| v.is_finite());
        if fm.dim() == 0 || !finite {
            return Err("feature map is empty or not finite".into());
        }
        self.points.check().map_err(|e| e.to_string())?;
        if self.points.dim() != fm.dim() || self.points.is_empty() {
            return Err("training points do not match its features".into());
        }
        if self.params.k == 0 || self.params.k > self.points.len() {
            return Err(format!(
                "k = {} with {} training traces",
                self.params.k,
                self.points.len()
            ));
        }
        knn::check_power(self.params.power).map_err(|e| e.to_string())?;
        if let Some(g) = self.distance {
            if g.max_distance.is_nan() || g.max_distance < 0.0 {
                return Err("OOD threshold is not a distance".into());
            }
        }
        self.signal.as_ref().map_or(Ok(()), SignalGuard::validate)
    }
}

/// What a stage says about one trace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    Screen(ScreenOutcome),
    Forecast(ForecastOutcome),
}

/// A fitted stage, of one of its kinds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Stage {
    Screen(ScreenStage),
    /// KNN forecast over the relevant training runs (the paper's forecaster).
    Forecast(ForecastStage),
    /// Regression forecast over every training run, at a tolerance ([`regression`]).
    Regression(RegressionStage),
}

impl Stage {
    pub fn role(&self) -> Role {
        match self {
            Stage::Screen(_) => Role::Screen,
            Stage::Forecast(_) | Stage::Regression(_) => Role::Forecast,
        }
    }

    /// The KNN neighbourhood of a screening or KNN forecasting stage (None: a regression stage).
    pub fn neighbourhood(&self) -> Option<&Neighbourhood> {
        match self {
            Stage::Screen(s) => Some(&s.neighbourhood),
            Stage::Forecast(f) => Some(&f.neighbourhood),
            Stage::Regression(_) => None,
        }
    }

    /// The signal guard of the stage (None: it has none).
    pub fn signal_guard(&self) -> Option<&SignalGuard> {
        match self {
            Stage::Regression(r) => r.signal.as_ref(),
            _ => self.neighbourhood().and_then(|n| n.signal.as_ref()),
        }
    }

    pub fn window(&self) -> usize {
        match self {
            Stage::Regression(r) => r.window(),
            _ => self.neighbourhood().map_or(0, Neighbourhood::window),
        }
    }

    /// Evaluates the stage on the first `window` samples of `x` (a regression stage under the
    /// stop rule `stop` at coverage `level`, the model's: see [`RegressionRule`]).
    pub fn evaluate(&self, x: &[f64], stop: Option<&StopPoint>, level: f64) -> Result<Outcome> {
        Ok(match self {
            Stage::Screen(s) => Outcome::Screen(s.evaluate(x)?),
            Stage::Forecast(f) => Outcome::Forecast(f.evaluate(x)?),
            Stage::Regression(r) => Outcome::Forecast(r.evaluate(x, stop, level)?.outcome),
        })
    }

    /// Checks internal consistency (after deserialisation, where a bad file could lie).
    pub fn validate(&self) -> Result<()> {
        let own = match self {
            Stage::Screen(s) => s.validate(),
            Stage::Forecast(f) => f.validate(),
            Stage::Regression(r) => r.validate(),
        };
        self.neighbourhood()
            .map_or(Ok(()), Neighbourhood::validate)
            .and(own)
            .map_err(|why| Error::InvalidArgument(format!("{} stage: {why}", self.role())))
    }
}

/// The neighbours re-indexed by their position, to weight values listed in neighbour order.
fn by_position(nb: &[Neighbour]) -> Vec<Neighbour> {
    nb.iter()
        .enumerate()
        .map(|(i, n)| Neighbour {
            index: i,
            distance: n.distance,
        })
        .collect()
}

/// Weighted mean and (unweighted) spread of per-neighbour values `t` (in neighbour order).
pub fn centre_spread(
    t: impl Iterator<Item = f64>,
    nb: &[Neighbour],
    weighting: Weighting,
) -> (f64, f64) {
    let t: Vec<f64> = t.collect();
    let mean = knn::regress(&by_position(nb), &t, 1, weighting)[0];
    let var = t.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / t.len() as f64;
    (mean, var.sqrt())
}
