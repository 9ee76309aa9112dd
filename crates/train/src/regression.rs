//! Fitting the regression forecasting stages of a model together: a ridge fit of ln μ and ln σ
//! on each window's running statistics, the scale of each run's interval from its own block
//! noise, and one tolerance table calibrated out of fold over all windows at once.
//!
//! Why jointly: a run is forecast at the first window whose interval is within the tolerance.
//! Calibrating each window alone would ignore that choice, which favours the windows where the
//! interval happens to be narrow. Here stop rules are calibrated: for each threshold s of a grid,
//! the out-of-fold runs that stop at their first window with scale ≤ s give the split-conformal
//! quantile q(s) of |ln μ − ln μ̂| / scale at that window (the ⌈level·(m + 1)⌉-th smallest of
//! the m stopped runs; fewer than level/(1 − level) stopped runs give none, so a small training
//! set forecasts nothing it cannot certify). Rule s keeps every interval within the relative
//! half-width tanh(q(s)·s); at a tolerance t the loosest rule within t is in force
//! ([`simforecast_runtime::stage::tolerance`]), monotone in t by construction.
//!
//! The same out-of-fold paths give the halting rule's evidence: each run's largest one-sided
//! margin past the threshold over the windows ([`halting_scores`]), certified with the screening
//! stages' cuts in the one risk budget (`risk.rs`).

use std::time::Instant;

use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

use simforecast_runtime::error::{Error, Result};
use simforecast_runtime::model::Direction;
use simforecast_runtime::stage::regression::{LOG_MU_OFFSET, LOG_SIGMA_OFFSET, N_FEATURES};
use simforecast_runtime::stage::{
    Linear, RegressionStage, Signal, SignalGuard, Stage, StopPoint, ToleranceTable, WindowStats,
};

use crate::config::TrainConfig;
use crate::cv::{complement, folds};
use crate::dataset::Dataset;
use crate::metrics::r2;

/// Ridge penalties on the standardised statistics (relative to the number of runs), chosen by
/// cross-validation: the smallest only keeps collinear quarter means from blowing up, the largest
/// leaves the offset (the run's own plateau) nearly alone.
const PENALTIES: [f64; 6] = [1e-3, 1e-2, 0.1, 1.0, 10.0, 1e3];

/// The tolerances of the table: 0.05, 0.10, …, 1.00.
pub fn table_tolerances() -> impl Iterator<Item = f64> {
    (1..=20).map(|i| i as f64 * 0.05)
}

/// A window's fit: ln μ, ln σ and the scale model.
struct WindowFit {
    log_mu: Linear,
    log_sigma: Linear,
    scale: [f64; 2],
}

impl WindowFit {
    fn centre_scale(&self, s: &WindowStats) -> (f64, f64) {
        (
            self.log_mu.predict(&s.features),
            (self.scale[0] + self.scale[1] * s.noise).exp(),
        )
    }
}

/// The standardised statistics of some runs, shared by every ridge fit on those runs (both
/// targets, every penalty): only the right-hand side and the diagonal change between them, so
/// the design and XᵀX are built once (the same operations as building them per fit: same bits).
struct Design {
    n: f64,
    centre: Vec<f64>,
    spread: Vec<f64>,
    /// Xᵀ, X's columns the intercept and the standardised statistics.
    xt: DMatrix<f64>,
    xtx: DMatrix<f64>,
}

impl Design {
    fn new(rows: &[[f64; N_FEATURES]]) -> Self {
        let n = rows.len().max(1) as f64;
        let mut centre = vec![0.0; N_FEATURES];
        let mut spread = vec![1.0; N_FEATURES];
        for j in 1..N_FEATURES {
            let m = rows.iter().map(|r| r[j]).sum::<f64>() / n;
            let v = rows.iter().map(|r| (r[j] - m).powi(2)).sum::<f64>() / n;
            centre[j] = m;
            spread[j] = if v > 1e-12 { v.sqrt() } else { 1.0 };
        }
        let x = DMatrix::from_fn(rows.len(), N_FEATURES, |i, j| {
            if j == 0 {
                1.0
            } else {
                (rows[i][j] - centre[j]) / spread[j]
            }
        });
        let xt = x.transpose();
        let xtx = &xt * &x;
        Self {
            n,
            centre,
            spread,
            xt,
            xtx,
        }
    }
}

/// Ridge regression of `y − f[offset]` on the rows' statistics at penalty `penalty` (intercept
/// unpenalised), on the rows' `design` (asked for only when there is a fit to make); None: no
/// fit, the offset alone.
fn ridge<D: std::borrow::Borrow<Design>>(
    design: impl FnOnce() -> D,
    rows: &[[f64; N_FEATURES]],
    y: &[f64],
    offset: Option<usize>,
    penalty: Option<f64>,
) -> Linear {
    let y: Vec<f64> = rows
        .iter()
        .zip(y)
        .map(|(r, v)| v - offset.map_or(0.0, |j| r[j]))
        .collect();
    let correction = y
        .iter()
        .fold([f64::INFINITY, f64::NEG_INFINITY], |[lo, hi], &v| {
            [lo.min(v), hi.max(v)]
        });
    let correction = if correction[0] <= correction[1] {
        correction
    } else {
        [0.0, 0.0]
    };
    let Some(penalty) = penalty else {
        return Linear {
            offset,
            centre: vec![0.0; N_FEATURES],
            spread: vec![1.0; N_FEATURES],
            coef: vec![0.0; N_FEATURES],
            penalty: None,
            correction: [0.0, 0.0],
        };
    };
    let design = design();
    let Design {
        n,
        centre,
        spread,
        xt,
        xtx,
    } = design.borrow();
    let mut a = xtx.clone();
    for j in 1..N_FEATURES {
        a[(j, j)] += penalty * n;
    }
    let b = xt * DVector::from_column_slice(&y);
    let coef = a
        .lu()
        .solve(&b)
        .map(|c| c.iter().copied().collect())
        .unwrap_or_else(|| {
            let mut c = vec![0.0; N_FEATURES];
            c[0] = y.iter().sum::<f64>() / n;
            c
        });
    Linear {
        offset,
        centre: centre.clone(),
        spread: spread.clone(),
        coef,
        penalty: Some(penalty),
        correction,
    }
}

/// A regression target: the values and the statistic it is taken relative to.
type Target<'a> = (&'a [f64], Option<usize>);

/// The penalty of [`PENALTIES`], or none (the offset alone), for each target, by
/// cross-validation with the one-standard-error rule: the simplest candidate (the offset alone
/// first, then from the largest penalty down) whose out-of-fold mean squared error of the target
/// is within one standard error of the best's. A fit must beat the run's own window clearly, not
/// by the luck of a few folds. The targets share the folds, and each fold's design serves every
/// target and candidate.
fn choose_penalties<const T: usize>(
    rows: &[[f64; N_FEATURES]],
    targets: [Target; T],
    n_folds: usize,
    seed: u64,
) -> [Option<f64>; T] {
    let all: Vec<usize> = (0..rows.len()).collect();
    let parts = folds(&all, None, n_folds.min(rows.len()).max(2), seed);
    let candidates: Vec<Option<f64>> = std::iter::once(None)
        .chain(PENALTIES.iter().rev().map(|&p| Some(p)))
        .collect();
    // errors[target][candidate]: out-of-fold squared errors, fold by fold.
    let mut errors = vec![vec![Vec::with_capacity(rows.len()); candidates.len()]; T];
    for val in &parts {
        let fit_on = complement(&all, val);
        if fit_on.is_empty() {
            continue;
        }
        let r: Vec<[f64; N_FEATURES]> = fit_on.iter().map(|&i| rows[i]).collect();
        let design = Design::new(&r);
        for ((y, offset), errors) in targets.iter().zip(&mut errors) {
            let t: Vec<f64> = fit_on.iter().map(|&i| y[i]).collect();
            for (&penalty, errors) in candidates.iter().zip(errors.iter_mut()) {
                let fit = ridge(|| &design, &r, &t, *offset, penalty);
                errors.extend(val.iter().map(|&i| (y[i] - fit.predict(&rows[i])).powi(2)));
            }
        }
    }
    let choose = |errors: &[Vec<f64>]| {
        // (mean, standard error) of each candidate's out-of-fold squared errors.
        let scores: Vec<(f64, f64)> = errors
            .iter()
            .map(|errors| {
                let n = errors.len().max(1) as f64;
                let mean = errors.iter().sum::<f64>() / n;
                let var =
                    errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
                (mean, (var / n).sqrt())
            })
            .collect();
        let best = scores
            .iter()
            .copied()
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap_or((0.0, 0.0));
        candidates
            .iter()
            .zip(&scores)
            .find(|(_, s)| s.0 <= best.0 + best.1)
            .and_then(|(c, _)| *c)
    };
    std::array::from_fn(|t| choose(&errors[t]))
}

/// Least squares of `y` on [1, x]: (intercept, slope); slope 0 when x does not vary.
fn line(x: &[f64], y: &[f64]) -> [f64; 2] {
    let n = x.len().max(1) as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let slope = if sxx > 1e-12 { sxy / sxx } else { 0.0 };
    [my - slope * mx, slope]
}

/// The runs' statistics and targets at one window.
struct WindowData<'a> {
    stats: &'a [Option<WindowStats>],
    log_mu: &'a [f64],
    log_sigma: &'a [f64],
}

impl WindowData<'_> {
    /// Fits ln μ and ln σ on the runs `idx` (positions), and the scale model on their own
    /// out-of-fold residuals.
    fn fit(&self, idx: &[usize], n_folds: usize, seed: u64) -> WindowFit {
        let usable: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| self.stats[i].is_some())
            .collect();
        let rows = |ids: &[usize]| -> Vec<[f64; N_FEATURES]> {
            ids.iter()
                .map(|&i| self.stats[i].as_ref().unwrap().features)
                .collect()
        };
        let pick = |v: &[f64], ids: &[usize]| -> Vec<f64> { ids.iter().map(|&i| v[i]).collect() };
        let (x, y_mu, y_sigma) = (
            rows(&usable),
            pick(self.log_mu, &usable),
            pick(self.log_sigma, &usable),
        );
        // Ten folds: the choice between the window alone and a fit is made on few runs in a
        // small campaign, and fewer folds make it flip from window to window.
        let choice_folds = n_folds.max(10);
        let [mu_penalty, sigma_penalty] = choose_penalties(
            &x,
            [
                (&y_mu, Some(LOG_MU_OFFSET)),
                (&y_sigma, Some(LOG_SIGMA_OFFSET)),
            ],
            choice_folds,
            seed,
        );
        let design = std::cell::OnceCell::new();
        let design = || design.get_or_init(|| Design::new(&x));
        let log_mu = ridge(design, &x, &y_mu, Some(LOG_MU_OFFSET), mu_penalty);
        let log_sigma = ridge(design, &x, &y_sigma, Some(LOG_SIGMA_OFFSET), sigma_penalty);
        // The scale: how far ln μ lies from its fit, out of fold, against the run's noise.
        let (mut noise, mut resid) = (Vec::new(), Vec::new());
        for val in folds(&usable, None, n_folds.min(usable.len()).max(2), seed) {
            let fit_on = complement(&usable, &val);
            if fit_on.is_empty() {
                continue;
            }
            let r = rows(&fit_on);
            let inner = ridge(
                || Design::new(&r),
                &r,
                &pick(self.log_mu, &fit_on),
                Some(LOG_MU_OFFSET),
                mu_penalty,
            );
            for &i in &val {
                let s = self.stats[i].as_ref().unwrap();
                noise.push(s.noise);
                resid.push(((self.log_mu[i] - inner.predict(&s.features)).abs() + 1e-6).ln());
            }
        }
        WindowFit {
            log_mu,
            log_sigma,
            scale: line(&noise, &resid),
        }
    }
}

/// Out-of-fold (centre, scale) of every run at every window (None: no statistics there).
pub(crate) type Paths = Vec<Vec<Option<(f64, f64)>>>;

/// Where a run stops under the stop rule "scale ≤ `max_scale`", and its normalised score
/// |ln μ − centre| / scale there.
fn stop(path: &[Option<(f64, f64)>], log_mu: f64, max_scale: f64) -> Option<(usize, f64)> {
    path.iter().enumerate().find_map(|(w, cs)| {
        let (c, s) = (*cs)?;
        (s <= max_scale).then(|| (w, (log_mu - c).abs() / s))
    })
}

/// Stop rule s: the runs that stop under it and their split-conformal quantile at `level`
/// (None: too few stopped runs to calibrate anything).
fn stop_point(paths: &Paths, log_mu: &[f64], max_scale: f64, level: f64) -> Option<StopPoint> {
    let mut scores: Vec<f64> = paths
        .iter()
        .zip(log_mu)
        .filter_map(|(p, &m)| stop(p, m, max_scale).map(|s| s.1))
        .collect();
    let m = scores.len();
    let rank = (level * (m + 1) as f64).ceil() as usize;
    if m == 0 || rank > m {
        return None;
    }
    scores.sort_by(f64::total_cmp);
    let quantile = scores[rank - 1].max(1e-9);
    let covered = scores.iter().filter(|&&v| v <= quantile).count();
    Some(StopPoint {
        tolerance: (quantile * max_scale).tanh(),
        max_scale,
        quantile,
        cv_stopped: m as f64 / paths.len() as f64,
        cv_coverage: covered as f64 / m as f64,
    })
}

/// The tolerance table: a stop rule per threshold of a geometric grid (2 % steps) over the
/// scales seen out of fold, kept where some tolerance of [`table_tolerances`]' range chooses it.
fn calibrate(paths: &Paths, log_mu: &[f64], level: f64, tolerance: f64) -> ToleranceTable {
    let scales = paths.iter().flatten().flatten().map(|cs| cs.1);
    let (lo, hi) = scales.fold((f64::INFINITY, 0.0f64), |(a, b), s| (a.min(s), b.max(s)));
    let mut grid = Vec::new();
    let mut s = lo;
    while s.is_finite() && s > 0.0 && s < hi * 1.02 {
        grid.push(s.min(hi));
        s *= 1.02;
    }
    let points = grid
        .iter()
        .filter_map(|&s| stop_point(paths, log_mu, s, level))
        .collect();
    let (t_lo, t_hi) = tolerance_range();
    ToleranceTable {
        level,
        tolerance,
        range: [t_lo, t_hi],
        points: ToleranceTable::front(points),
    }
}

/// The smallest and largest tolerance a model accepts.
pub fn tolerance_range() -> (f64, f64) {
    table_tolerances().fold((f64::INFINITY, 0.0f64), |(a, b), t| (a.min(t), b.max(t)))
}

/// Each run's largest one-sided margin past the threshold over the windows from position
/// `from` on, in units of its scale, out of fold: the halting rule at quantile q halts it (at its
/// first such window with a margin ≥ q) exactly when this reaches q. None for a run with no
/// statistics there; None for all when the threshold is not positive (no log).
pub(crate) fn halting_scores(
    paths: &Paths,
    from: usize,
    threshold: f64,
    direction: Direction,
) -> Option<Vec<Option<f64>>> {
    if !(threshold > 0.0 && threshold.is_finite()) {
        return None;
    }
    let lt = threshold.ln();
    let sign = direction.sign();
    Some(
        paths
            .iter()
            .map(|p| {
                p.iter()
                    .skip(from)
                    .flatten()
                    .map(|&(c, s)| RegressionStage::margin(c, s, lt, sign))
                    .max_by(f64::total_cmp)
            })
            .collect(),
    )
}

/// The regression stages of a model, their shared tolerance table, and the out-of-fold paths
/// (positions of the training runs) the halting rule is certified on.
pub(crate) struct RegressionFit {
    pub stages: Vec<Stage>,
    pub table: ToleranceTable,
    pub paths: Paths,
}

/// Fits one regression stage per window of `windows` on the traces `train_idx`, with their
/// shared tolerance table. Needs positive μ and σ for every training trace (ln space).
pub(crate) fn fit_regression(
    ds: &Dataset,
    train_idx: &[usize],
    windows: &[usize],
    cfg: &TrainConfig,
) -> Result<RegressionFit> {
    if let Some(&i) = train_idx
        .iter()
        .find(|&&i| !(ds.mu[i] > 0.0 && ds.sigma[i] > 0.0))
    {
        return Err(Error::InvalidArgument(format!(
            "the regression forecaster works in log space and needs a positive mu and sigma for \
             every training trace; '{}' has mu {} and sigma {} (use a KNN preset such as \
             --preset paper for such a column)",
            ds.names[i], ds.mu[i], ds.sigma[i]
        )));
    }
    let n_min = cfg.folds.max(4);
    if train_idx.len() < n_min {
        return Err(Error::InvalidArgument(format!(
            "the regression forecaster needs at least {n_min} training traces, got {}",
            train_idx.len()
        )));
    }
    let tolerance = cfg.tolerance.unwrap_or(0.25);
    // Positions 0..n of the training traces.
    let n = train_idx.len();
    let log_mu: Vec<f64> = train_idx.iter().map(|&i| ds.mu[i].ln()).collect();
    let log_sigma: Vec<f64> = train_idx.iter().map(|&i| ds.sigma[i].ln()).collect();
    let started = Instant::now();
    let stats: Vec<Vec<Option<WindowStats>>> = windows
        .par_iter()
        .map(|&w| {
            train_idx
                .iter()
                .map(|&i| WindowStats::of(&ds.series[i][..w]))
                .collect()
        })
        .collect();
    let data = |wi: usize| WindowData {
        stats: &stats[wi],
        log_mu: &log_mu,
        log_sigma: &log_sigma,
    };
    let stats_at = started.elapsed().as_secs_f64();
    let all: Vec<usize> = (0..n).collect();
    let outer = folds(&all, None, cfg.folds, cfg.seed ^ 0x7e6e);
    // Out of fold: every run's centre and scale at every window.
    let oof: Vec<Vec<Option<(f64, f64)>>> = (0..windows.len())
        .into_par_iter()
        .map(|wi| {
            let d = data(wi);
            let mut col = vec![None; n];
            for val in &outer {
                let fit_on = complement(&all, val);
                let fit = d.fit(&fit_on, cfg.folds, cfg.seed ^ wi as u64);
                for &i in val {
                    col[i] = d.stats[i].as_ref().map(|s| fit.centre_scale(s));
                }
            }
            col
        })
        .collect();
    let oof_at = started.elapsed().as_secs_f64();
    let paths: Paths = (0..n)
        .map(|i| oof.iter().map(|col| col[i]).collect())
        .collect();
    let table = calibrate(&paths, &log_mu, cfg.level, tolerance);
    let table_at = started.elapsed().as_secs_f64();
    let stages = windows
        .par_iter()
        .enumerate()
        .map(|(wi, &w)| {
            let d = data(wi);
            let fit = d.fit(&all, cfg.folds, cfg.seed ^ wi as u64);
            let (y, p): (Vec<f64>, Vec<f64>) = oof[wi]
                .iter()
                .zip(&log_mu)
                .filter_map(|(cs, &m)| cs.map(|(c, _)| (m, c)))
                .unzip();
            let signals: Vec<Signal> = train_idx
                .iter()
                .map(|&i| Signal::of(&ds.series[i][..w]))
                .collect();
            Ok(Stage::Regression(RegressionStage {
                window: w,
                log_mu: fit.log_mu,
                log_sigma: fit.log_sigma,
                scale: fit.scale,
                cv_r2_log_mu: r2(&y, &p),
                signal: SignalGuard::fit(&signals),
                training_traces: n,
            }))
        })
        .collect::<Result<Vec<Stage>>>()?;
    log::debug!(
        "regression stages at {} windows: statistics {stats_at:.2} s, out of fold {:.2} s, \
         tolerance table {:.2} s, final fits {:.2} s",
        windows.len(),
        oof_at - stats_at,
        table_at - oof_at,
        started.elapsed().as_secs_f64() - table_at
    );
    Ok(RegressionFit {
        stages,
        table,
        paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ridge_recovers_a_linear_law() {
        let rows: Vec<[f64; N_FEATURES]> = (0..50)
            .map(|i| {
                let a = i as f64 / 10.0;
                [
                    1.0,
                    a,
                    (a * 1.3).sin(),
                    0.2 * a * a,
                    0.0,
                    1.0,
                    -(i as f64),
                    0.3 * a,
                    0.0,
                    0.0,
                ]
            })
            .collect();
        let y: Vec<f64> = rows
            .iter()
            .map(|r| 2.0 + 0.5 * r[1] - r[2] + r[7])
            .collect();
        let fit = ridge(|| Design::new(&rows), &rows, &y, Some(7), Some(1e-3));
        for (r, want) in rows.iter().zip(&y) {
            assert!((fit.predict(r) - want).abs() < 0.05, "{}", fit.predict(r));
        }
        // Where the offset is the law, cross-validation picks the largest penalty.
        let plain: Vec<f64> = rows.iter().map(|r| 1.0 + r[7]).collect();
        let [p] = choose_penalties(&rows, [(&plain, Some(7))], 5, 1);
        assert!(p.is_none_or(|p| p >= 10.0));
        let exact: Vec<f64> = rows.iter().map(|r| r[7]).collect();
        assert_eq!(choose_penalties(&rows, [(&exact, Some(7))], 5, 1), [None]);
        let [p] = choose_penalties(&rows, [(&y, Some(7))], 5, 1);
        assert!(p.is_some_and(|p| p <= 0.1));
    }

    #[test]
    fn calibration_needs_enough_stopped_runs() {
        // Nine runs with one window whose interval scale is 0.1 and score 0.5: 9 of 9 stopped
        // meets ceil(0.9 * 10) = 9; eight runs never can.
        let paths: Paths = (0..9).map(|_| vec![Some((0.0, 0.1))]).collect();
        let log_mu = vec![0.05; 9];
        let p = stop_point(&paths, &log_mu, 0.1, 0.9).unwrap();
        assert!((p.quantile - 0.5).abs() < 1e-12, "{p:?}");
        assert!((p.tolerance - 0.05f64.tanh()).abs() < 1e-12);
        assert_eq!((p.cv_stopped, p.cv_coverage), (1.0, 1.0));
        assert_eq!(stop_point(&paths, &log_mu, 0.09, 0.9), None);
        assert_eq!(
            stop_point(&paths[..8].to_vec(), &log_mu[..8], 0.1, 0.9),
            None
        );
        let table = calibrate(&paths, &log_mu, 0.9, 0.25);
        assert_eq!(table.points.len(), 1);
        assert_eq!(table.at(0.25).map(|p| p.max_scale), Some(0.1));
        assert_eq!(table.at(0.04), None);
    }

    #[test]
    fn halting_scores_are_the_largest_margin_on_the_irrelevant_side() {
        let paths: Paths = vec![
            vec![Some((2.0, 0.5)), Some((3.0, 0.5)), None],
            vec![None, None],
        ];
        let above = halting_scores(&paths, 0, 1f64.exp(), Direction::Above).unwrap();
        assert_eq!(above, vec![Some(4.0), None]);
        let below = halting_scores(&paths, 0, 1f64.exp(), Direction::Below).unwrap();
        assert_eq!(below, vec![Some(-2.0), None]);
        // From the second window on: the first window's margin is not counted.
        let late = halting_scores(&paths, 1, 1f64.exp(), Direction::Below).unwrap();
        assert_eq!(late, vec![Some(-4.0), None]);
        assert!(halting_scores(&paths, 0, 0.0, Direction::Above).is_none());
    }
}
