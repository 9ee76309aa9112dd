//! When and how the campaign retrains: the first model once `first_model_at` labelled runs are
//! recorded, then one each time `retrain_every` more have arrived. Labelled runs are the finished
//! ones (audited runs included): halted and forecast runs have no μ. That biases training
//! towards the runs the model lets finish; the audit's finished would-be stops are what keeps
//! the halted kind in the training set.
//!
//! Training runs outside the campaign lock, under a training claim (`DIR/train.lock`) that one
//! process holds at a time; the others carry on. The new model is published under the lock.

use std::time::Instant;

use simforecast_train::{fit_model, Dataset, Preset, TrainParams};

use crate::config::Config;
use crate::error::{CampaignError, Result};
use crate::lock::{Lock, LockPolicy};
use crate::models::{self, ModelInfo};
use crate::publish;
use crate::Campaign;

/// What [`Campaign::maybe_retrain`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Retrain {
    /// Not due yet: `labelled` finished runs now, and when the next model is due.
    NotDue { labelled: usize, next: NextModel },
    /// Another process is training.
    Busy,
    /// A new model version was published.
    Published(ModelInfo),
    /// Training failed (e.g. every labelled run has the same label); retried once more runs
    /// have arrived. The reason is in the log.
    Failed(String),
}

/// Labelled runs (sorted by id, so that the same runs give the same model in any order).
fn labelled(c: &mut Campaign) -> Result<Vec<String>> {
    let tail = c.config.tail;
    Ok(c.refresh()?
        .values()
        .filter(|r| r.labelled() && r.frames >= tail)
        .map(|r| r.run_id.clone())
        .collect())
}

/// When the next model is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextModel {
    /// Once this many runs have finished (the first model, or a retry after a failed training).
    AtFinished(usize),
    /// Once this many runs are recorded, however they ended, and one more has finished.
    AtRecorded(usize),
}

impl std::fmt::Display for NextModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NextModel::AtFinished(n) => write!(f, "next model due at {n} finished runs"),
            NextModel::AtRecorded(n) => write!(
                f,
                "next model due at {n} runs of any outcome, with one more finished"
            ),
        }
    }
}

/// The first model once `first_model_at` runs have finished; then a new one each time
/// `retrain_every` more runs are recorded, however they ended, provided one more has finished.
/// Counting recorded runs, not finished ones, keeps the model current once it acts: most runs
/// then stop at a forecast and leave no μ, and a schedule counted in finished runs would leave
/// an early model in charge for hundreds of runs (replayed on the shipped campaigns, the
/// coverage of its forecasts then strays further from the target from one order to another).
fn next_model(c: &Campaign, history: &[ModelInfo]) -> NextModel {
    let retry = c
        .failed_at
        .map(|(labelled, _)| labelled + c.config.retrain_every);
    match history.last() {
        None => NextModel::AtFinished(c.config.first_model_at.max(retry.unwrap_or(0))),
        Some(m) => {
            let since = c
                .failed_at
                .map_or(m.recorded_runs, |(_, recorded)| recorded);
            NextModel::AtRecorded(since.max(m.recorded_runs) + c.config.retrain_every)
        }
    }
}

/// The labelled runs when a retraining is due, else why not.
fn due(c: &mut Campaign) -> Result<std::result::Result<Vec<String>, Retrain>> {
    let ids = labelled(c)?;
    let history = c.model_history()?;
    let next = next_model(c, &history);
    let is_due = match next {
        NextModel::AtFinished(n) => ids.len() >= n,
        NextModel::AtRecorded(n) => {
            c.runs.len() >= n && history.last().is_none_or(|m| ids.len() > m.labelled_runs)
        }
    };
    Ok(if is_due {
        Ok(ids)
    } else {
        Err(Retrain::NotDue {
            labelled: ids.len(),
            next,
        })
    })
}

pub fn maybe_retrain(c: &mut Campaign) -> Result<Retrain> {
    if let Err(not_due) = due(c)? {
        return Ok(not_due);
    }
    let dir = c.dir.clone();
    let claim = Lock::try_acquire(
        &dir.join("train.lock"),
        LockPolicy::TRAINING,
        &mut |l: &str| crate::log_line(&dir, l),
    )?;
    let Some(claim) = claim else {
        return Ok(Retrain::Busy);
    };
    // Someone may have published while we looked.
    let ids = match due(c)? {
        Ok(ids) => ids,
        Err(not_due) => return Ok(not_due),
    };
    let start = Instant::now();
    let trained = train(c, &ids);
    let seconds = start.elapsed().as_secs_f64();
    let (model, ds) = match trained {
        Ok(x) => x,
        Err(e) => {
            c.failed_at = Some((ids.len(), c.runs.len()));
            let why = e.to_string();
            c.log(&format!(
                "training on {} labelled runs failed after {seconds:.1} s: {why}",
                ids.len()
            ))?;
            return Ok(Retrain::Failed(why));
        }
    };
    let info = ModelInfo {
        version: 0,
        labelled_runs: ids.len(),
        irrelevant: ds.irrelevant.iter().filter(|x| **x).count(),
        recorded_runs: c.runs.len(),
        trained_unix: publish::now_unix(),
        train_seconds: seconds,
        training_hash: model.meta.training_hash.clone(),
    };
    let lock = c.lock()?;
    if !lock.still_held() {
        return Err(CampaignError::LockLost(c.dir.join("lock")));
    }
    let info = models::publish_model(&c.dir, &model, info)?;
    publish::append_log(
        &c.dir,
        &format!(
            "published {} trained on {} labelled runs ({} irrelevant) of {} recorded, in {seconds:.1} s",
            models::file_name(info.version),
            info.labelled_runs,
            info.irrelevant,
            info.recorded_runs
        ),
    )?;
    drop(lock);
    drop(claim);
    Ok(Retrain::Published(info))
}

/// Fits the default preset (windows fitted to the shortest labelled run) on the labelled runs.
fn train(c: &mut Campaign, ids: &[String]) -> Result<(simforecast_runtime::model::Model, Dataset)> {
    let mut series = Vec::with_capacity(ids.len());
    for id in ids {
        series.push(c.trace(id)?.to_vec());
    }
    fit(&c.config, ids.to_vec(), series)
}

/// The campaign's training: the default preset, its windows fitted to the shortest run, on the
/// runs `names` with frames `series` (all finished).
pub fn fit(
    cfg: &Config,
    names: Vec<String>,
    series: Vec<Vec<f64>>,
) -> Result<(simforecast_runtime::model::Model, Dataset)> {
    let ds = Dataset::new(
        names,
        series,
        cfg.threshold,
        cfg.direction,
        cfg.tail,
        cfg.frame_spacing.unwrap_or(1),
        cfg.column.clone().unwrap_or_default(),
    )?;
    let shortest = ds.series.iter().map(Vec::len).min().unwrap_or(0);
    // The model is calibrated at the campaign's tolerance: its forecasts are the stops.
    let mut params = TrainParams::new(Preset::Default);
    params.overrides.tolerance = Some(cfg.tolerance);
    // Halts are certified against the campaign's own target, the one its audit judges.
    params.overrides.target_precision = Some(cfg.target_precision);
    params.overrides.regression_halts = Some(cfg.halting == crate::config::Halting::Accumulated);
    let (train_cfg, _) = params.check(shortest)?;
    let idx: Vec<usize> = (0..ds.len()).collect();
    let (model, _) = fit_model(&ds, &idx, &train_cfg)?;
    Ok((model, ds))
}
