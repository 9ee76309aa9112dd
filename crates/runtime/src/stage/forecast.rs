//! A forecasting stage: KNN regression of μ∓σ over the relevant training runs, and a normalised
//! split-conformal interval for μ.

use serde::{Deserialize, Serialize};

use crate::knn::{self, Neighbour, Weighting};

use super::{by_position, centre_spread, Neighbourhood, OodReason};

/// What a forecasting stage learns from one training trace: its result over the tail.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub mu_minus_sigma: f64,
    pub mu_plus_sigma: f64,
    pub mu: f64,
}

/// Calibration of a forecasting stage: normalised split-conformal interval for μ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastCalibration {
    /// Nominal coverage of the interval (e.g. 0.9).
    pub level: f64,
    /// Conformal quantile of |t(μ) − t(μ̂)| / (spread + floor).
    pub quantile: f64,
    /// Floor added to the neighbours' spread so a tight cluster still gets an interval.
    pub spread_floor: f64,
    /// t = ln when every training μ is positive, identity otherwise.
    pub log_space: bool,
    /// Out-of-fold R² of μ−σ and μ+σ (None: the training values do not vary), and coverage and
    /// mean relative width of the interval.
    pub cv_r2: [Option<f64>; 2],
    pub cv_coverage: f64,
    pub cv_relative_width: f64,
    /// Forecast here when the interval's relative half-width (high−low)/2/|middle| is at most
    /// this (None: at any finite width); the last forecasting stage always forecasts.
    pub tolerance: Option<f64>,
    /// At or past the forecast deadline: a cleared run without a forecast gets one here, within
    /// tolerance or not (its `confident` flag says which).
    pub deadline: bool,
    /// μ∓σ are predicted as the geometric mean of the neighbours' values (KNN in log space).
    pub log_targets: bool,
}

/// A fitted forecasting stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastStage {
    pub neighbourhood: Neighbourhood,
    /// Result of every training trace, in the order of the points.
    pub targets: Vec<Target>,
    pub calibration: ForecastCalibration,
}

/// A forecast from neighbours: KNN means of μ∓σ, and the conformal interval for μ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Forecast {
    pub mu_minus_sigma: f64,
    pub mu_plus_sigma: f64,
    pub mu_hat: f64,
    pub mu_low: f64,
    pub mu_high: f64,
}

/// What a forecasting stage says about one trace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ForecastOutcome {
    pub forecast: Forecast,
    /// Nominal coverage of the interval.
    pub level: f64,
    /// The interval is within the stage's tolerance and the trace is in distribution.
    pub confident: bool,
    /// The interval is within the tolerance (in distribution or not).
    pub within_tolerance: bool,
    /// Why the trace is out of distribution (None: it is in).
    pub ood: Option<OodReason>,
}

impl ForecastStage {
    pub fn window(&self) -> usize {
        self.neighbourhood.window()
    }

    /// Evaluates the stage on the first `window` samples of `x` at the stage's tolerance.
    pub fn evaluate(&self, x: &[f64]) -> crate::Result<ForecastOutcome> {
        self.evaluate_at(x, self.calibration.tolerance)
    }

    /// Evaluates the stage at tolerance `t` (None: any finite width).
    pub fn evaluate_at(&self, x: &[f64], t: Option<f64>) -> crate::Result<ForecastOutcome> {
        let (nb, ood) = self.neighbourhood.neighbours(x)?;
        Ok(self.outcome(&nb, ood, t))
    }

    /// The outcome for given neighbours and out-of-distribution verdict at tolerance `t`.
    pub fn outcome(
        &self,
        nb: &[Neighbour],
        ood: Option<OodReason>,
        t: Option<f64>,
    ) -> ForecastOutcome {
        let cal = &self.calibration;
        let f =
            forecast_from_neighbours(nb, &self.targets, self.neighbourhood.params.weighting, cal);
        let rel = relative_half_width(f.mu_low, f.mu_high);
        // An infinite or undefined relative width is never within tolerance.
        let within = rel.is_some_and(|r| r.is_finite() && t.is_none_or(|t| r <= t));
        ForecastOutcome {
            forecast: f,
            level: cal.level,
            confident: within && ood.is_none(),
            within_tolerance: within,
            ood,
        }
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        if self.targets.len() != self.neighbourhood.points.len() {
            return Err(format!(
                "{} targets for {} training traces",
                self.targets.len(),
                self.neighbourhood.points.len()
            ));
        }
        Ok(())
    }
}

/// Centre and spread of the neighbours' t(μ), the base of the normalised conformal score.
pub fn neighbour_centre_spread(
    nb: &[Neighbour],
    targets: &[Target],
    weighting: Weighting,
    log_space: bool,
) -> (f64, f64) {
    centre_spread(
        nb.iter().map(|n| to_space(targets[n.index].mu, log_space)),
        nb,
        weighting,
    )
}

pub fn forecast_from_neighbours(
    nb: &[Neighbour],
    targets: &[Target],
    weighting: Weighting,
    cal: &ForecastCalibration,
) -> Forecast {
    let m = regress_targets(nb, targets, weighting, cal.log_targets);
    let (centre, spread) = neighbour_centre_spread(nb, targets, weighting, cal.log_space);
    let half = cal.quantile * (spread + cal.spread_floor);
    Forecast {
        mu_minus_sigma: m[0],
        mu_plus_sigma: m[1],
        mu_hat: from_space(centre, cal.log_space),
        mu_low: from_space(centre - half, cal.log_space),
        mu_high: from_space(centre + half, cal.log_space),
    }
}

/// KNN estimate of μ−σ and μ+σ: the weighted mean of the neighbours' values, or with `log` the
/// weighted mean of their logarithms, mapped back (a geometric mean, robust to one large value).
pub fn regress_targets(
    nb: &[Neighbour],
    targets: &[Target],
    weighting: Weighting,
    log: bool,
) -> [f64; 2] {
    let t = |v: f64| if log { v.ln() } else { v };
    let values: Vec<f64> = nb
        .iter()
        .flat_map(|n| {
            let target = &targets[n.index];
            [t(target.mu_minus_sigma), t(target.mu_plus_sigma)]
        })
        .collect();
    let m = knn::regress(&by_position(nb), &values, 2, weighting);
    if log {
        [m[0].exp(), m[1].exp()]
    } else {
        [m[0], m[1]]
    }
}

/// An interval's relative half-width (hi − lo) / 2 / |middle| (None: its middle is 0). The
/// tolerance a user states is a bound on it.
pub fn relative_half_width(lo: f64, hi: f64) -> Option<f64> {
    let mid = (lo + hi) / 2.0;
    (mid != 0.0).then(|| (hi - lo) / 2.0 / mid.abs())
}

pub fn to_space(mu: f64, log_space: bool) -> f64 {
    if log_space {
        mu.ln()
    } else {
        mu
    }
}

pub fn from_space(t: f64, log_space: bool) -> f64 {
    if log_space {
        t.exp()
    } else {
        t
    }
}
