//! Fitting a forecasting stage: KNN regression of μ∓σ on the relevant runs, chosen by
//! out-of-fold R², and its normalised split-conformal interval for μ.

use simforecast_runtime::error::{Error, Result};
use simforecast_runtime::knn::Weighting;
use simforecast_runtime::stage::{self, ForecastCalibration, ForecastStage, Stage, Target};

use crate::config::TrainConfig;
use crate::cv::{folds, grid_candidates, FoldNeighbours};
use crate::dataset::Dataset;
use crate::fit::fit_final;
use crate::metrics::{mean2, r2};

/// The results (μ−σ, μ+σ, μ) of the given traces.
fn targets(ds: &Dataset, idx: &[usize]) -> Vec<Target> {
    idx.iter()
        .map(|&i| Target {
            mu_minus_sigma: ds.mu[i] - ds.sigma[i],
            mu_plus_sigma: ds.mu[i] + ds.sigma[i],
            mu: ds.mu[i],
        })
        .collect()
}

/// Fits one forecasting stage on the relevant traces of `train_idx`.
pub(crate) fn fit_forecast(
    ds: &Dataset,
    train_idx: &[usize],
    window: usize,
    cfg: &TrainConfig,
) -> Result<Stage> {
    let rel: Vec<usize> = train_idx
        .iter()
        .copied()
        .filter(|&i| !ds.irrelevant[i])
        .collect();
    if rel.len() < cfg.folds.max(4) {
        return Err(Error::InvalidArgument(format!(
            "forecasting needs at least {} relevant traces, got {}",
            cfg.folds.max(4),
            rel.len()
        )));
    }
    let folds = folds(&rel, None, cfg.folds, cfg.seed ^ (window as u64) << 1);
    let k_max = (*cfg.k_grid.iter().max().unwrap())
        .min(rel.len() - rel.len() / cfg.folds - 1)
        .max(1);
    let values_all = targets(ds, &(0..ds.len()).collect::<Vec<_>>());
    let log_targets = cfg.log_targets && rel.iter().all(|&i| ds.mu[i] - ds.sigma[i] > 0.0);
    let (smoothing, candidates) = grid_candidates(ds, &rel, &folds, window, k_max, cfg)?;
    let mut best: Option<(Option<f64>, usize, f64, usize, Weighting)> = None;
    for (ci, cand) in candidates.iter().enumerate() {
        for (power, lists) in &cand.per_power {
            for &k in cfg.k_grid.iter().filter(|&&k| k <= k_max) {
                for &w in &cfg.weightings {
                    let (y, p) = oof_regression(lists, &values_all, k, w, log_targets);
                    // R² is undefined for every candidate or for none (the truth is the same).
                    let score = mean2(r2(&y[0], &p[0]), r2(&y[1], &p[1]));
                    if best.is_none_or(|b| score > b.0) {
                        best = Some((score, ci, *power, k, w));
                    }
                }
            }
        }
    }
    let (_, ci, power, k, weighting) = best.ok_or_else(|| {
        Error::InvalidArgument("no k in the grid fits the number of relevant traces".into())
    })?;
    let (_, lists) = &candidates[ci]
        .per_power
        .iter()
        .find(|(p, _)| *p == power)
        .unwrap();
    let (y, p) = oof_regression(lists, &values_all, k, weighting, log_targets);
    let cv_r2 = [r2(&y[0], &p[0]), r2(&y[1], &p[1])];

    // Normalised conformal scores on the out-of-fold predictions.
    let log_space = rel.iter().all(|&i| ds.mu[i] > 0.0);
    let mut centre_spread = Vec::new();
    for f in lists.iter() {
        for (&i, nb) in f.val.iter().zip(&f.lists) {
            let nb = &nb[..k.min(nb.len())];
            let (c, s) = stage::neighbour_centre_spread(nb, &values_all, weighting, log_space);
            centre_spread.push((stage::to_space(ds.mu[i], log_space), c, s));
        }
    }
    let mut spreads: Vec<f64> = centre_spread.iter().map(|t| t.2).collect();
    spreads.sort_by(f64::total_cmp);
    let spread_floor = 0.1 * spreads[spreads.len() / 2] + 1e-9;
    let mut scores: Vec<f64> = centre_spread
        .iter()
        .map(|(t, c, s)| (t - c).abs() / (s + spread_floor))
        .collect();
    scores.sort_by(f64::total_cmp);
    let n = scores.len();
    let rank = ((cfg.level * (n + 1) as f64).ceil() as usize).clamp(1, n);
    let quantile = scores[rank - 1];
    let covered = centre_spread
        .iter()
        .filter(|(t, c, s)| (t - c).abs() <= quantile * (s + spread_floor))
        .count() as f64
        / n as f64;
    let rel_width = centre_spread
        .iter()
        .map(|(_, c, s)| {
            let h = quantile * (s + spread_floor);
            let (lo, hi, mid) = (
                stage::from_space(c - h, log_space),
                stage::from_space(c + h, log_space),
                stage::from_space(*c, log_space),
            );
            (hi - lo) / mid.abs()
        })
        .sum::<f64>()
        / n as f64;

    let recipe = candidates[ci].recipe.clone();
    let neighbourhood = fit_final(ds, &rel, &smoothing, &recipe, k, power, weighting, cfg)?;
    Ok(Stage::Forecast(ForecastStage {
        neighbourhood,
        targets: targets(ds, &rel),
        calibration: ForecastCalibration {
            level: cfg.level,
            quantile,
            spread_floor,
            log_space,
            cv_r2,
            cv_coverage: covered,
            cv_relative_width: rel_width,
            tolerance: cfg.tolerance,
            deadline: cfg.forecast_deadline.is_some_and(|d| window >= d),
            log_targets,
        },
    }))
}

/// Out-of-fold (truth, prediction) of μ−σ and μ+σ.
fn oof_regression(
    lists: &[FoldNeighbours],
    values_all: &[Target],
    k: usize,
    w: Weighting,
    log: bool,
) -> ([Vec<f64>; 2], [Vec<f64>; 2]) {
    let mut y = [Vec::new(), Vec::new()];
    let mut p = [Vec::new(), Vec::new()];
    for f in lists {
        for (&i, nb) in f.val.iter().zip(&f.lists) {
            let pred = stage::regress_targets(&nb[..k.min(nb.len())], values_all, w, log);
            let truth = &values_all[i];
            y[0].push(truth.mu_minus_sigma);
            y[1].push(truth.mu_plus_sigma);
            p[0].push(pred[0]);
            p[1].push(pred[1]);
        }
    }
    (y, p)
}
