//! Training a model: every stage fitted in parallel, the shared final fit of a stage (feature
//! map, points, OOD guards), and the model's metadata.

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use simforecast_runtime::card::{HaltingCard, NeighboursCard, StageCard, StageKind};
use simforecast_runtime::error::{Error, Result};
use simforecast_runtime::knn::{PointSet, Weighting};
use simforecast_runtime::model::{Metadata, Model};
use simforecast_runtime::stage::{
    DistanceGuard, FeatureMap, KnnParams, Neighbourhood, Recipe, RegressionRule, Role, Signal,
    SignalGuard, Stage,
};

use crate::config::{Forecaster, TrainConfig};
use crate::cv::features_of;
use crate::dataset::Dataset;
use crate::forecast::fit_forecast;
use crate::regression::{fit_regression, halting_scores};
use crate::risk::{self, OofScores, RegressionEvidence};
use crate::screen::fit_screen;
use crate::smoothed::SmoothedWindow;

/// Per-stage figures from cross-validation, for reports (a row of a table; the stage's
/// [`StageCard`] says the same in words, as `verdict`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StageReport {
    pub role: Role,
    pub window: usize,
    /// The stage's KNN (None: a regression stage).
    pub neighbours: Option<NeighboursCard>,
    pub n_train: usize,
    /// Screening: out-of-fold F1 of the majority vote, and precision/recall at the stage's cut
    /// (None when it has none).
    pub cv_f1_majority: Option<f64>,
    pub cv_precision: Option<f64>,
    pub cv_recall: Option<f64>,
    pub cut: Option<f64>,
    pub advisory: Option<bool>,
    /// Forecasting: out-of-fold R² (None inside: undefined) and interval coverage.
    pub cv_r2: Option<[Option<f64>; 2]>,
    pub cv_coverage: Option<f64>,
    /// The stage card's decisions on one line.
    pub verdict: String,
}

impl StageReport {
    /// The report of stage `index` of a model.
    pub fn new(index: usize, stage: &Stage) -> Self {
        let card = StageCard::new(index, stage);
        let (mut f1, mut cut, mut advisory, mut r2, mut coverage) = (None, None, None, None, None);
        match &card.kind {
            StageKind::Screen(c) => {
                f1 = Some(c.cv_f1_majority);
                advisory = Some(!matches!(c.halting, HaltingCard::Halts { .. }));
                cut = match &c.halting {
                    HaltingCard::Halts { cut, .. } => Some(*cut),
                    HaltingCard::Advisory { best_cut, .. } => *best_cut,
                };
            }
            StageKind::Forecast(c) => {
                r2 = Some(c.cv_r2);
                coverage = Some(c.cv_coverage);
            }
            // The coverage of the model's stop rule is the model's, not a stage's.
            StageKind::Regression(_) => {}
        }
        Self {
            role: stage.role(),
            window: card.window,
            neighbours: card.neighbours.clone(),
            n_train: card.training_traces,
            cv_f1_majority: f1,
            cv_precision: cut.map(|c| c.cv_precision),
            cv_recall: cut.map(|c| c.cv_recall),
            cut: cut.map(|c| c.value),
            advisory,
            cv_r2: r2,
            cv_coverage: coverage,
            verdict: card.verdict(),
        }
    }
}

/// The stage's final feature map, training points, KNN parameters and OOD guards, fitted on all
/// of `idx` with the hyper-parameters the grid search chose. The signal guard is fitted whatever
/// the preset: a foreign column is no more welcome to the paper's recipe than to ours.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_final(
    ds: &Dataset,
    idx: &[usize],
    smoothed: &SmoothedWindow,
    recipe: &Recipe,
    k: usize,
    power: f64,
    weighting: Weighting,
    cfg: &TrainConfig,
) -> Result<Neighbourhood> {
    let window = smoothed.smoothing.window;
    let fm = FeatureMap::fit_each(
        &smoothed.smoothing,
        &ds.windows(idx, window),
        &smoothed.coefficients(idx),
        std::slice::from_ref(recipe),
    )?
    .remove(0);
    let points = PointSet::new(features_of(ds, idx, &fm), fm.dim())?;
    let params = KnnParams {
        k: k.min(points.len()),
        power,
        weighting,
    };
    let distance = distance_guard(&points, &params, cfg.ood_quantile);
    let signals: Vec<Signal> = idx
        .iter()
        .map(|&i| Signal::of(&ds.series[i][..window]))
        .collect();
    Ok(Neighbourhood {
        features: fm,
        params,
        points,
        distance,
        signal: SignalGuard::fit(&signals),
    })
}

/// The OOD threshold: a quantile of the training points' leave-one-out k-th neighbour distance
/// (None, no guard, at quantile 1 or with too few points to tell).
fn distance_guard(points: &PointSet, params: &KnnParams, quantile: f64) -> Option<DistanceGuard> {
    if quantile >= 1.0 || points.len() < 3 {
        return None;
    }
    let k = params.k.min(points.len() - 1);
    let mut d: Vec<f64> = (0..points.len())
        .into_par_iter()
        .map(|i| {
            points
                .nearest(points.point(i), k, params.power, Some(i))
                .last()
                .map_or(0.0, |n| n.distance)
        })
        .collect();
    d.sort_by(f64::total_cmp);
    let pos = ((quantile * d.len() as f64).ceil() as usize).clamp(1, d.len()) - 1;
    Some(DistanceGuard {
        quantile,
        max_distance: d[pos],
    })
}

/// Trains a model on the traces `train_idx` of `ds`.
pub fn fit_model(
    ds: &Dataset,
    train_idx: &[usize],
    cfg: &TrainConfig,
) -> Result<(Model, Vec<StageReport>)> {
    cfg.validate()?;
    let max_w = cfg.max_window();
    if let Some(&i) = train_idx.iter().find(|&&i| ds.series[i].len() < max_w) {
        return Err(Error::InvalidArgument(format!(
            "trace '{}' has {} frames, fewer than the largest window {max_w}",
            ds.names[i],
            ds.series[i].len()
        )));
    }
    let knn_forecasts = match cfg.forecaster {
        Forecaster::Knn => cfg.forecast_windows.as_slice(),
        Forecaster::Regression => &[],
    };
    let mut jobs: Vec<(Role, usize)> = cfg
        .screen_windows
        .iter()
        .map(|&w| (Role::Screen, w))
        .chain(knn_forecasts.iter().map(|&w| (Role::Forecast, w)))
        .collect();
    jobs.sort_by_key(|&(r, w)| (w, r == Role::Forecast));
    jobs.dedup();
    // The regression stages do not depend on the screening ones: both are fitted at once, so
    // neither waits for the other's slowest window.
    let started = Instant::now();
    let (fitted, regression) = rayon::join(
        || {
            let fitted = jobs
                .par_iter()
                .map(|&(role, w)| match role {
                    Role::Screen => {
                        fit_screen(ds, train_idx, w, cfg).map(|(s, oof)| (s, Some(oof)))
                    }
                    Role::Forecast => fit_forecast(ds, train_idx, w, cfg).map(|s| (s, None)),
                })
                .collect::<Result<Vec<(Stage, Option<OofScores>)>>>();
            log::debug!(
                "screening and KNN forecasting stages: {:.2} s",
                started.elapsed().as_secs_f64()
            );
            fitted
        },
        || {
            if cfg.forecaster != Forecaster::Regression || cfg.forecast_windows.is_empty() {
                return Ok(None);
            }
            let mut windows = cfg.forecast_windows.clone();
            windows.sort_unstable();
            windows.dedup();
            let fit = fit_regression(ds, train_idx, &windows, cfg);
            log::debug!(
                "regression stages: {:.2} s",
                started.elapsed().as_secs_f64()
            );
            fit.map(Some)
        },
    );
    let (mut stages, evidence): (Vec<Stage>, Vec<Option<OofScores>>) = fitted?.into_iter().unzip();
    let regression = regression?;
    // The regression stages' halting evidence, when they may halt: from the preset's first
    // halting window on (none: the regression stages do not halt either).
    let regression_evidence = regression
        .as_ref()
        .filter(|_| cfg.regression_halts)
        .and_then(|r| {
            let first = *cfg.halt_windows.iter().min()?;
            let from = r.stages.iter().position(|s| s.window() >= first)?;
            let scores = halting_scores(&r.paths, from, ds.threshold, ds.direction)?;
            let window = r.stages[from].window();
            Some(RegressionEvidence { window, scores })
        });
    // The halting windows' cuts, chosen stage by stage, and the regression stages' halting
    // rule, certified together.
    let (risk, regression_halting) = risk::apply(
        &mut stages,
        &evidence,
        regression_evidence.as_ref(),
        ds,
        train_idx,
        cfg.target_precision,
    );
    let regression = regression.map(|r| {
        stages.extend(r.stages);
        stages.sort_by_key(|s| (s.window(), s.role() == Role::Forecast));
        RegressionRule {
            table: r.table,
            halting: regression_halting,
        }
    });
    log::debug!(
        "model of {} stages on {} traces: {:.2} s",
        stages.len(),
        train_idx.len(),
        started.elapsed().as_secs_f64()
    );
    let reports = stages
        .iter()
        .enumerate()
        .map(|(i, s)| StageReport::new(i, s))
        .collect();
    let meta = Metadata {
        crate_version: env!("CARGO_PKG_VERSION").into(),
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        column: ds.column.clone(),
        units: None,
        frame_spacing: ds.frame_spacing,
        threshold: ds.threshold,
        direction: ds.direction,
        tail: ds.tail,
        n_traces: train_idx.len(),
        n_irrelevant: train_idx.iter().filter(|&&i| ds.irrelevant[i]).count(),
        training_hash: ds.hash(train_idx),
        mean_trace_len: ds.mean_len(train_idx),
        preset: cfg.preset.clone(),
        recipe: cfg.recipe.clone(),
        component_grid: cfg.component_grid.clone(),
        cv_folds: cfg.folds,
        seed: cfg.seed,
    };
    let model = Model {
        meta,
        stages,
        risk,
        regression,
    };
    model.validate()?;
    Ok((model, reports))
}
