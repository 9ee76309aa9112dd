//! A regression forecasting stage: a ridge fit of ln μ (and ln σ) on running statistics of the
//! window, learnt from every training run (relevant or not), with a normalised conformal interval
//! whose quantile depends on the tolerance the run is stopped at.
//!
//! Why not only KNN: KNN cannot forecast beyond the training range, and the runs most worth
//! stopping sit at its edge; a linear fit in log space on the window's own means extrapolates. The
//! interval's width follows the run's own noise (block-averaged standard error of the window's
//! second half), so a run whose plateau already pins μ gets a narrow interval and a noisy one a
//! wide one.
//!
//! Tolerance: a run is stopped at the first window whose interval's relative half-width is within
//! the tolerance t. Stopping at the first narrow interval selects lucky ones, so the stop rules
//! and their quantiles are calibrated jointly over all windows, out of fold, and kept once for
//! the model ([`super::tolerance`]); a stage is evaluated under the stop rule in force.

use serde::{Deserialize, Serialize};

use super::forecast::Forecast;
use super::tolerance::StopPoint;
use super::{ForecastOutcome, OodReason, Signal, SignalGuard};

/// What a regression stage says about one trace: its forecast under the stop rule in force, and
/// the centre (ln μ̂) and scale it came from (None: an identically zero window), which the
/// halting rule reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegressionOutcome {
    pub outcome: ForecastOutcome,
    pub centre_scale: Option<(f64, f64)>,
}

/// Number of statistics of a window: intercept, log-means of its four quarters, the log of the
/// second half's standard deviation, the log of the second half's relative block noise, the
/// log-mean of the second half, and the log-mean and log standard deviation of the whole window.
pub const N_FEATURES: usize = 10;

/// The statistic a fit of ln μ starts from: the log-mean of the window (the persistence
/// forecast). A ridge fit corrects it only as far as cross-validation trusts the other
/// statistics: with a large penalty the stage is the run's own plateau.
pub const LOG_MU_OFFSET: usize = 8;
/// ... and of ln σ: the log of the window's standard deviation.
pub const LOG_SIGMA_OFFSET: usize = 9;

/// Frames per block of the block-averaged noise estimate.
pub const BLOCK: usize = 25;

/// The statistics of one window the regression reads, and the noise its interval scales with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowStats {
    pub features: [f64; N_FEATURES],
    /// ln of the relative block-averaged standard error of the second half's mean.
    pub noise: f64,
}

impl WindowStats {
    /// The statistics of `window` (its whole length is the window). None when the window is
    /// shorter than 8 frames or identically zero: nothing relative can be said.
    pub fn of(window: &[f64]) -> Option<Self> {
        let w = window.len();
        if w < 8 {
            return None;
        }
        let scale = window.iter().map(|v| v.abs()).sum::<f64>() / w as f64;
        if !(scale > 0.0 && scale.is_finite()) {
            return None;
        }
        // Means of the early parts of a slow run are noise about zero: a floor keeps their
        // logarithms finite and small.
        let floor = 0.02 * scale;
        let mean = |a: &[f64]| a.iter().sum::<f64>() / a.len() as f64;
        let log_mean = |a: &[f64]| mean(a).max(floor).ln();
        let (q1, q2, q3) = (w / 4, w / 2, w - w / 4);
        let half = &window[q2..];
        let half_mean = mean(half);
        let sd = (half.iter().map(|v| (v - half_mean).powi(2)).sum::<f64>() / half.len() as f64)
            .sqrt()
            .max(1e-12 * scale);
        let whole_mean = mean(window);
        let whole_sd = (window.iter().map(|v| (v - whole_mean).powi(2)).sum::<f64>() / w as f64)
            .sqrt()
            .max(1e-12 * scale);
        let noise = (block_se(half) / half_mean.max(floor))
            .clamp(1e-3, 10.0)
            .ln();
        Some(Self {
            features: [
                1.0,
                log_mean(&window[q3..]),
                log_mean(&window[q2..q3]),
                log_mean(&window[q1..q2]),
                log_mean(&window[..q1]),
                sd.ln(),
                noise,
                log_mean(half),
                log_mean(window),
                whole_sd.ln(),
            ],
            noise,
        })
    }
}

/// Standard error of the mean of `x` from block means: the largest over blocks of [`BLOCK`],
/// 2·[`BLOCK`], 4·[`BLOCK`], … frames while at least four blocks fit (two for a short window).
/// Correlated frames make small blocks' error too small; where it still grows with the block
/// size, the correlation is longer than the blocks resolve, and the largest is the least wrong.
fn block_se(x: &[f64]) -> f64 {
    let mut best = se_of_blocks(x, (x.len() / BLOCK).max(2));
    let mut size = 2 * BLOCK;
    while x.len() / size >= 4 {
        best = best.max(se_of_blocks(x, x.len() / size));
        size *= 2;
    }
    best
}

/// Standard error of the mean of `x` from the means of `nb` equal blocks.
fn se_of_blocks(x: &[f64], nb: usize) -> f64 {
    let size = x.len() / nb;
    if size == 0 || nb < 2 {
        return 0.0;
    }
    let mut sum = 0.0;
    let mut sum2 = 0.0;
    for b in 0..nb {
        let m = x[b * size..(b + 1) * size].iter().sum::<f64>() / size as f64;
        sum += m;
        sum2 += m * m;
    }
    let m = sum / nb as f64;
    let var = ((sum2 - nb as f64 * m * m) / (nb - 1) as f64).max(0.0);
    (var / nb as f64).sqrt()
}

/// A linear model on standardised statistics, from an offset statistic:
/// `f[offset] + coef[0] + Σ coef[j] (f[j] − mean[j]) / sd[j]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Linear {
    /// The statistic the fit starts from (None: from zero).
    pub offset: Option<usize>,
    /// Per statistic (index 0, the intercept, unused): mean and standard deviation in training.
    pub centre: Vec<f64>,
    pub spread: Vec<f64>,
    pub coef: Vec<f64>,
    /// The ridge penalty cross-validation chose (relative to the number of runs); None: no fit,
    /// the offset alone (the run's own window, when that forecasts best out of fold).
    pub penalty: Option<f64>,
    /// The range of the correction `y − f[offset]` over the training runs: the fit's correction
    /// is clamped to it. The offset (the run's own level) extrapolates; the correction learnt
    /// from a few runs does not.
    pub correction: [f64; 2],
}

impl Linear {
    pub fn predict(&self, f: &[f64; N_FEATURES]) -> f64 {
        let correction = self.coef[0]
            + (1..N_FEATURES)
                .map(|j| self.coef[j] * (f[j] - self.centre[j]) / self.spread[j])
                .sum::<f64>();
        self.offset.map_or(0.0, |j| f[j]) + correction.clamp(self.correction[0], self.correction[1])
    }

    fn validate(&self) -> Result<(), String> {
        let ok = [&self.centre, &self.spread, &self.coef]
            .iter()
            .all(|v| v.len() == N_FEATURES && v.iter().all(|x| x.is_finite()))
            && self.spread.iter().skip(1).all(|&s| s > 0.0)
            && self.correction[0] <= self.correction[1]
            && self.offset.is_none_or(|j| (1..N_FEATURES).contains(&j));
        ok.then_some(())
            .ok_or_else(|| "linear model has the wrong shape or non-finite values".into())
    }
}

/// A fitted regression stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressionStage {
    pub window: usize,
    /// ln μ and ln σ of the tail.
    pub log_mu: Linear,
    pub log_sigma: Linear,
    /// ln of the interval's scale: `scale[0] + scale[1] · noise`.
    pub scale: [f64; 2],
    /// Out-of-fold R² of ln μ at this window.
    pub cv_r2_log_mu: Option<f64>,
    pub signal: Option<SignalGuard>,
    pub training_traces: usize,
}

impl RegressionStage {
    pub fn window(&self) -> usize {
        self.window
    }

    /// Centre (ln μ̂) and scale of the interval for a window's statistics.
    pub fn centre_scale(&self, s: &WindowStats) -> (f64, f64) {
        let centre = self.log_mu.predict(&s.features);
        let scale = (self.scale[0] + self.scale[1] * s.noise).exp();
        (centre, scale)
    }

    /// Evaluates the stage on the first `window` samples of `x` under the stop rule `stop` (None:
    /// no rule is in force, the interval is unbounded and nothing is within tolerance), at
    /// nominal coverage `level`.
    pub fn evaluate(
        &self,
        x: &[f64],
        stop: Option<&StopPoint>,
        level: f64,
    ) -> crate::Result<RegressionOutcome> {
        let window = &x[..self.window.min(x.len())];
        if window.len() < self.window {
            return Err(crate::Error::InvalidArgument(format!(
                "stage needs {} frames, got {}",
                self.window,
                x.len()
            )));
        }
        if let Some((frame, &value)) = window.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(crate::Error::NonFinite { frame, value });
        }
        let ood = self.signal.and_then(|g| g.check(Signal::of(window)));
        let Some(stats) = WindowStats::of(window) else {
            // An identically zero window: nothing relative can be forecast.
            let nan = f64::NAN;
            return Ok(RegressionOutcome {
                outcome: ForecastOutcome {
                    forecast: Forecast {
                        mu_minus_sigma: nan,
                        mu_plus_sigma: nan,
                        mu_hat: nan,
                        mu_low: nan,
                        mu_high: nan,
                    },
                    level,
                    confident: false,
                    within_tolerance: false,
                    ood: ood.or(Some(OodReason::Level)),
                },
                centre_scale: None,
            });
        };
        let (centre, scale) = self.centre_scale(&stats);
        let sigma = self.log_sigma.predict(&stats.features).exp();
        let mu_hat = centre.exp();
        let (half, within) = match stop {
            Some(p) => (p.quantile * scale, scale <= p.max_scale),
            None => (f64::INFINITY, false),
        };
        Ok(RegressionOutcome {
            outcome: ForecastOutcome {
                forecast: Forecast {
                    mu_minus_sigma: mu_hat - sigma,
                    mu_plus_sigma: mu_hat + sigma,
                    mu_hat,
                    mu_low: (centre - half).exp(),
                    mu_high: (centre + half).exp(),
                },
                level,
                confident: within && ood.is_none(),
                within_tolerance: within,
                ood,
            },
            centre_scale: Some((centre, scale)),
        })
    }

    /// The one-sided margin of a run past the threshold in units of its interval scale: positive
    /// when ln μ̂ lies on the irrelevant side of ln threshold (`sign` +1: above, −1: below). The
    /// halting rule halts where it reaches its quantile.
    pub fn margin(centre: f64, scale: f64, log_threshold: f64, sign: f64) -> f64 {
        sign * (centre - log_threshold) / scale
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        self.log_mu.validate()?;
        self.log_sigma.validate()?;
        if !(self.window >= 8 && self.scale.iter().all(|v| v.is_finite())) {
            return Err("regression stage: window or scale is invalid".into());
        }
        self.signal.as_ref().map_or(Ok(()), SignalGuard::validate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_a_plateau() {
        let x: Vec<f64> = (0..200).map(|i| 5.0 + 0.1 * ((i * 7) % 5) as f64).collect();
        let s = WindowStats::of(&x).unwrap();
        assert_eq!(s.features[0], 1.0);
        for j in 1..=4 {
            assert!(
                (s.features[j] - 5.2f64.ln()).abs() < 0.01,
                "{:?}",
                s.features
            );
        }
        // A steady signal has small block noise.
        assert!(s.noise < (0.01f64).ln(), "{}", s.noise);
        assert!(WindowStats::of(&[0.0; 100]).is_none());
        assert!(WindowStats::of(&[1.0; 5]).is_none());
    }
}
