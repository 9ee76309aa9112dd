//! The offline twin: a recorded campaign (its traces) run through the campaign's own code from
//! zero runs, in a given random order. Each run is decided by the model current when it
//! starts, obeyed or overridden (audit, advisory) as a live run would be, recorded with the
//! frames it would have simulated, and followed by the same retraining step. Because the traces
//! are complete, every decision is also judged against the truth.

use std::path::Path;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::decide::decide;
use crate::error::Result;
use crate::record::{Decision, Outcome, Override, RunRecord, StoredRun};
use crate::retrain::Retrain;
use crate::stats::Share;
use crate::Campaign;

/// One run as a live campaign handles it once its frames are known: the current model decides,
/// the audit or an advisory campaign may override, the run is recorded as it would have ended,
/// then retraining is given its chance. Returns the record and what retraining did.
pub fn play(
    c: &mut Campaign,
    run_id: &str,
    column: &str,
    frame_spacing: i64,
    values: &[f64],
) -> Result<(StoredRun, Decision, Retrain)> {
    let model = c.newest_model()?;
    let decision = match &model {
        Some((_, m)) => decide(m, values, c.config().tolerance)?,
        None => Decision::RunToEnd,
    };
    let overridden = c.override_for(run_id, &decision)?;
    let (outcome, kept) = match (decision, overridden) {
        (Decision::Halt { frame }, None) => (Outcome::Halted { frame }, frame),
        (
            Decision::Forecast {
                frame,
                mu_hat,
                lo,
                hi,
                ..
            },
            None,
        ) => (
            Outcome::Forecast {
                frame,
                mu_hat,
                lo,
                hi,
            },
            frame,
        ),
        _ => (Outcome::Finished, values.len()),
    };
    let stored = c.record_run(RunRecord {
        run_id: run_id.to_string(),
        column: column.to_string(),
        frame_spacing,
        values: values[..kept].to_vec(),
        // A LAMMPS run knows its length from its `run N`.
        declared_len: Some(values.len()),
        outcome,
        overridden: overridden.map(|o| (decision, o)),
        model: model.map(|m| m.0),
        restart: None,
    })?;
    let retrain = c.maybe_retrain()?;
    Ok((stored, decision, retrain))
}

/// The state of the replay after one run, judged against the truth.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    /// 1-based position in the order.
    pub index: usize,
    pub run_id: String,
    pub model: Option<u32>,
    pub decision: Decision,
    pub outcome: Outcome,
    pub overridden: Option<Override>,
    /// A halt acted on although the run was relevant.
    pub wrong_halt: bool,
    /// Cumulative, over runs 1..=index.
    pub frames_simulated: u64,
    pub full_frames: u64,
    pub saved_share: f64,
    pub halts: usize,
    pub wrong_halts: usize,
    /// What the audit claims (from the campaign's status) ...
    pub audited_precision: Share,
    /// ... and the truth over every would-be halt so far (acted or overridden).
    pub true_precision: Share,
    pub audited_coverage: Share,
    /// Coverage of every would-be forecast stop so far (acted or overridden), against μ.
    pub true_coverage: Share,
    pub advisory: bool,
    /// The model version published after this run.
    pub published: Option<u32>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Replay {
    pub seed: u64,
    pub runs: usize,
    /// Traces shorter than the tail (no μ): left out.
    pub left_out: usize,
    pub rows: Vec<Row>,
    pub models: usize,
    pub train_seconds: f64,
    pub seconds: f64,
}

/// Replays the recorded runs into a fresh campaign `c`, in the order drawn from `seed`;
/// `each` sees every row as it is made.
pub fn replay(
    c: &mut Campaign,
    recorded: &Recorded,
    seed: u64,
    each: &mut dyn FnMut(&Row),
) -> Result<Replay> {
    let start = Instant::now();
    let cfg = c.config().clone();
    let traces = &recorded.runs;
    let (column, frame_spacing) = (recorded.column.as_str(), recorded.frame_spacing);
    let order = arrival_order(recorded, cfg.tail, seed);
    let left_out = traces.len() - order.len();
    let mut rows = Vec::with_capacity(order.len());
    let (mut simulated, mut full, mut halts, mut wrong) = (0u64, 0u64, 0usize, 0usize);
    let (mut pk, mut pn, mut ck, mut cn) = (0usize, 0usize, 0usize, 0usize);
    for (index, &i) in (1..).zip(&order) {
        let (name, values) = &traces[i];
        let (stored, decision, retrain) = play(c, name, column, frame_spacing, values)?;
        let (mu, _) = simforecast_train::tail_stats(values, cfg.tail).expect("long enough");
        let irrelevant = cfg.direction.is_irrelevant(mu, cfg.threshold);
        match decision {
            Decision::Halt { .. } => {
                pn += 1;
                pk += usize::from(irrelevant);
            }
            Decision::Forecast { lo, hi, .. } => {
                cn += 1;
                ck += usize::from(lo <= mu && mu <= hi);
            }
            Decision::RunToEnd => {}
        }
        let halted = matches!(stored.outcome, Outcome::Halted { .. });
        let wrong_halt = halted && !irrelevant;
        halts += usize::from(halted);
        wrong += usize::from(wrong_halt);
        simulated += stored.frames as u64;
        full += values.len() as u64;
        let status = c.status_quick();
        let row = Row {
            index,
            run_id: name.clone(),
            model: stored.model,
            decision,
            outcome: stored.outcome,
            overridden: stored.overridden.map(|o| o.1),
            wrong_halt,
            frames_simulated: simulated,
            full_frames: full,
            saved_share: 1.0 - simulated as f64 / full as f64,
            halts,
            wrong_halts: wrong,
            audited_precision: status.0,
            true_precision: Share::new(pk, pn),
            audited_coverage: status.1,
            true_coverage: Share::new(ck, cn),
            advisory: status.2,
            published: match retrain {
                Retrain::Published(m) => Some(m.version),
                _ => None,
            },
        };
        each(&row);
        rows.push(row);
    }
    let history = c.model_history()?;
    Ok(Replay {
        seed,
        runs: rows.len(),
        left_out,
        rows,
        models: history.len(),
        train_seconds: history.iter().map(|m| m.train_seconds).sum(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// A recorded campaign: its runs (name, frames), their column and frame spacing.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub runs: Vec<(String, Vec<f64>)>,
    pub column: String,
    pub frame_spacing: i64,
}

/// Reads the traces of `inputs` for a replay.
pub fn load(inputs: &[String], column: &str) -> Result<Recorded> {
    use std::str::FromStr;
    let col = simforecast_train::trace::Column::from_str(column)
        .map_err(crate::CampaignError::Invalid)?;
    let set = simforecast_train::trace::load_traces(inputs, &col, 1)?;
    Ok(Recorded {
        runs: set.traces.into_iter().map(|t| (t.name, t.values)).collect(),
        column: set.column,
        frame_spacing: set.spacing,
    })
}

/// A fresh directory for a replay's campaign when none is given: removed by the caller.
pub fn scratch_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "simforecast-replay-{}",
        crate::publish::unique_token()
    ))
}

/// True when `dir` may receive a replay's campaign: missing or empty.
pub fn fresh(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_none())
}

/// What a model trained offline saves on the same runs, for comparison with the replay: the
/// runs in `folds` folds, each fold decided by a model trained on the others (cross-fitted, so
/// no run is decided by a model that saw it), every decision obeyed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Offline {
    pub folds: usize,
    pub runs: usize,
    pub saved_share: f64,
    pub halts: usize,
    pub wrong_halts: usize,
    pub forecast_stops: usize,
    pub covered: usize,
    pub seconds: f64,
}

/// The runs long enough to have a μ, in the order drawn from `seed`: the replay and its
/// same-runs reference must see the runs arrive alike.
fn arrival_order(recorded: &Recorded, tail: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..recorded.runs.len())
        .filter(|&i| recorded.runs[i].1.len() >= tail)
        .collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    order
}

impl Offline {
    fn new(folds: usize, runs: usize) -> Self {
        Offline {
            folds,
            runs,
            saved_share: 0.0,
            halts: 0,
            wrong_halts: 0,
            forecast_stops: 0,
            covered: 0,
            seconds: 0.0,
        }
    }

    /// Counts an obeyed decision on a complete trace, judged against its μ; returns the frames
    /// the run would have simulated.
    fn tally(&mut self, config: &crate::Config, decision: Decision, values: &[f64]) -> usize {
        let (mu, _) = simforecast_train::tail_stats(values, config.tail).expect("long enough");
        match decision {
            Decision::Halt { frame } => {
                self.halts += 1;
                self.wrong_halts +=
                    usize::from(!config.direction.is_irrelevant(mu, config.threshold));
                frame
            }
            Decision::Forecast { frame, lo, hi, .. } => {
                self.forecast_stops += 1;
                self.covered += usize::from(lo <= mu && mu <= hi);
                frame
            }
            Decision::RunToEnd => values.len(),
        }
    }
}

pub fn offline(config: &crate::Config, recorded: &Recorded, folds: usize) -> Result<Offline> {
    let start = Instant::now();
    let runs: Vec<&(String, Vec<f64>)> = recorded
        .runs
        .iter()
        .filter(|r| r.1.len() >= config.tail)
        .collect();
    let folds = folds.clamp(2, runs.len().max(2));
    let mut out = Offline::new(folds, runs.len());
    let (mut simulated, mut full) = (0u64, 0u64);
    for k in 0..folds {
        let (test, train): (Vec<(usize, _)>, Vec<(usize, _)>) =
            runs.iter().enumerate().partition(|(i, _)| i % folds == k);
        let (model, _) = crate::retrain::fit(
            config,
            train.iter().map(|(_, r)| r.0.clone()).collect(),
            train.iter().map(|(_, r)| r.1.clone()).collect(),
        )?;
        let model = std::sync::Arc::new(model);
        for (_, (_, values)) in test {
            let decision = decide(&model, values, config.tolerance)?;
            simulated += out.tally(config, decision, values) as u64;
            full += values.len() as u64;
        }
    }
    out.saved_share = 1.0 - simulated as f64 / full.max(1) as f64;
    out.seconds = start.elapsed().as_secs_f64();
    Ok(out)
}

/// What a learner that saw every label saves on the same runs in the same order: before run
/// *i* it holds a model trained offline on all of runs 1..*i*−1 (retrained on the campaign's
/// schedule counted in runs: the first at `first_model_at` runs, then every `retrain_every`),
/// and every decision is obeyed. The campaign sees only the labels of the runs it lets finish;
/// this twin is "a model trained offline on the same number of runs", so the ratio of the two
/// savings is what learning online costs.
pub fn same_runs_offline(
    config: &crate::Config,
    recorded: &Recorded,
    seed: u64,
) -> Result<Offline> {
    let start = Instant::now();
    let order = arrival_order(recorded, config.tail, seed);
    let mut out = Offline::new(0, order.len());
    let (mut simulated, mut full) = (0u64, 0u64);
    let mut model: Option<std::sync::Arc<simforecast_runtime::model::Model>> = None;
    let mut next_fit = config.first_model_at;
    for (seen, &i) in order.iter().enumerate() {
        if seen >= next_fit {
            let past = &order[..seen];
            // A fit can fail on few runs (e.g. one class only); the previous model stays.
            if let Ok((m, _)) = crate::retrain::fit(
                config,
                past.iter().map(|&j| recorded.runs[j].0.clone()).collect(),
                past.iter().map(|&j| recorded.runs[j].1.clone()).collect(),
            ) {
                model = Some(std::sync::Arc::new(m));
            }
            next_fit = seen + config.retrain_every;
        }
        let values = &recorded.runs[i].1;
        let decision = match &model {
            Some(m) => decide(m, values, config.tolerance)?,
            None => Decision::RunToEnd,
        };
        simulated += out.tally(config, decision, values) as u64;
        full += values.len() as u64;
    }
    out.saved_share = 1.0 - simulated as f64 / full.max(1) as f64;
    out.seconds = start.elapsed().as_secs_f64();
    Ok(out)
}
