//! Training a model: every stage fitted in parallel, the shared final fit of a stage (feature
//! map, points, OOD guard), and the model's metadata.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use simforecast_runtime::error::{Error, Result};
use simforecast_runtime::knn::{PointSet, Weighting};
use simforecast_runtime::model::{Metadata, Model};
use simforecast_runtime::stage::{FeatureMap, KnnParams, OodGuard, Recipe, Role, Smoothing, Stage};

use crate::config::TrainConfig;
use crate::cv::features_of;
use crate::dataset::Dataset;
use crate::forecast::fit_forecast;
use crate::screen::fit_screen;

/// Per-stage figures from cross-validation, for reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StageReport {
    pub role: Role,
    pub window: usize,
    pub k: usize,
    pub power: f64,
    pub weighting: Weighting,
    pub n_components: usize,
    pub n_features: usize,
    pub n_train: usize,
    /// Screening: out-of-fold F1 of the majority vote and calibrated precision/recall.
    pub cv_f1_majority: Option<f64>,
    pub cv_precision: Option<f64>,
    pub cv_recall: Option<f64>,
    pub cut: Option<f64>,
    pub advisory: Option<bool>,
    /// Forecasting: out-of-fold R² and interval coverage.
    pub cv_r2: Option<[f64; 2]>,
    pub cv_coverage: Option<f64>,
    pub verdict: String,
}

/// The stage's final feature map, training points, KNN parameters and OOD guard, fitted on all
/// of `idx` with the hyper-parameters the grid search chose.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_final(
    ds: &Dataset,
    idx: &[usize],
    smoothing: &Smoothing,
    recipe: &Recipe,
    k: usize,
    power: f64,
    weighting: Weighting,
    cfg: &TrainConfig,
) -> Result<(FeatureMap, PointSet, KnnParams, OodGuard)> {
    let fm = FeatureMap::fit_smoothed(smoothing, &ds.windows(idx, smoothing.window), recipe)?;
    let points = PointSet::new(features_of(ds, idx, &fm), fm.dim())?;
    let params = KnnParams {
        k: k.min(points.len()),
        power,
        weighting,
    };
    let ood = ood_guard(&points, &params, cfg.ood_quantile);
    Ok((fm, points, params, ood))
}

/// The OOD threshold: a quantile of the training points' leave-one-out k-th neighbour distance.
fn ood_guard(points: &PointSet, params: &KnnParams, quantile: f64) -> OodGuard {
    if quantile >= 1.0 || points.len() < 3 {
        return OodGuard {
            quantile: 1.0,
            max_distance: f64::MAX,
        };
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
    OodGuard {
        quantile,
        max_distance: d[pos],
    }
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
    let mut jobs: Vec<(Role, usize)> = cfg
        .screen_windows
        .iter()
        .map(|&w| (Role::Screen, w))
        .chain(cfg.forecast_windows.iter().map(|&w| (Role::Forecast, w)))
        .collect();
    jobs.sort_by_key(|&(r, w)| (w, r == Role::Forecast));
    jobs.dedup();
    let fitted: Vec<(Stage, StageReport)> = jobs
        .par_iter()
        .map(|&(role, w)| match role {
            Role::Screen => fit_screen(ds, train_idx, w, cfg),
            Role::Forecast => fit_forecast(ds, train_idx, w, cfg),
        })
        .collect::<Result<_>>()?;
    let (stages, reports): (Vec<Stage>, Vec<StageReport>) = fitted.into_iter().unzip();
    let notes = reports
        .iter()
        .map(|r| format!("{} stage at {} frames: {}", r.role, r.window, r.verdict))
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
        cv_folds: cfg.folds,
        seed: cfg.seed,
        notes,
    };
    let model = Model { meta, stages };
    model.validate()?;
    Ok((model, reports))
}
