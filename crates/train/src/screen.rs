//! Fitting a screening stage: grid search over recipes, k, power and weighting on out-of-fold
//! scores, then the halting and clearing cuts.

use std::time::Instant;

use simforecast_runtime::error::{Error, Result};
use simforecast_runtime::knn::{self, Weighting};
use simforecast_runtime::model::Direction;
use simforecast_runtime::stage::{
    self, HaltTarget, Halting, Margin, Score, ScoreKind, ScreenCalibration, ScreenStage, Stage,
};

use crate::calibration::{choose_cut, choose_relevant_cut, CutChoice, CutRange};
use crate::config::{Selection, TrainConfig};
use crate::cv::{folds, grid_candidates, oof_votes, FoldNeighbours};
use crate::dataset::Dataset;
use crate::fit::fit_final;
use crate::metrics::{average_precision, prf};
use crate::risk::OofScores;

/// How margin scores are made: t(μ) of every dataset trace, t(threshold), direction.
struct MarginSpace {
    scaled: bool,
    t_all: Vec<f64>,
    t_threshold: f64,
    direction: Direction,
    log_space: bool,
}

impl MarginSpace {
    fn new(ds: &Dataset, train_idx: &[usize], scaled: bool) -> Self {
        // ln μ when it is defined for every training run and the threshold: μ spans decades.
        let log_space = ds.threshold > 0.0 && train_idx.iter().all(|&i| ds.mu[i] > 0.0);
        Self {
            scaled,
            t_all: ds
                .mu
                .iter()
                .map(|&m| {
                    if log_space {
                        m.max(f64::MIN_POSITIVE).ln()
                    } else {
                        m
                    }
                })
                .collect(),
            t_threshold: stage::to_space(ds.threshold, log_space),
            direction: ds.direction,
            log_space,
        }
    }

    /// Out-of-fold (index, score) and the spread floor, plus each run's normalised residual
    /// sign·(c − t)/(s + floor) (or sign·(c − t) unscaled) for the implied level.
    fn oof(
        &self,
        lists: &[FoldNeighbours],
        k: usize,
        w: Weighting,
    ) -> (Vec<(usize, f64)>, f64, Vec<f64>) {
        let cs: Vec<(usize, f64, f64)> = lists
            .iter()
            .flat_map(|f| {
                f.val.iter().zip(&f.lists).map(move |(&i, nb)| {
                    let nb = &nb[..k.min(nb.len())];
                    let (c, s) =
                        stage::centre_spread(nb.iter().map(|n| self.t_all[n.index]), nb, w);
                    (i, c, s)
                })
            })
            .collect();
        let mut spreads: Vec<f64> = cs.iter().map(|t| t.2).collect();
        spreads.sort_by(f64::total_cmp);
        let floor = 0.1 * spreads[spreads.len() / 2] + 1e-9;
        let scores = cs
            .iter()
            .map(|&(i, c, s)| {
                let v =
                    stage::margin_value(self.scaled, self.direction, c, s, self.t_threshold, floor);
                (i, v)
            })
            .collect();
        let resid = cs
            .iter()
            .map(|&(i, c, s)| {
                let r = self.direction.sign() * (c - self.t_all[i]);
                if self.scaled {
                    r / (s + floor)
                } else {
                    r
                }
            })
            .collect();
        (scores, floor, resid)
    }
}

/// Fits one screening stage on `train_idx`; with it, each training run's out-of-fold halting
/// score (None below the vote floor), for the joint risk rule ([`crate::risk`]).
pub(crate) fn fit_screen(
    ds: &Dataset,
    train_idx: &[usize],
    window: usize,
    cfg: &TrainConfig,
) -> Result<(Stage, OofScores)> {
    let n_pos = train_idx.iter().filter(|&&i| ds.irrelevant[i]).count();
    if n_pos < 2 || n_pos + 2 > train_idx.len() {
        return Err(Error::InvalidArgument(format!(
            "screening needs at least 2 irrelevant and 2 relevant traces, got {n_pos} of {}",
            train_idx.len()
        )));
    }
    let folds = folds(
        train_idx,
        Some(&ds.irrelevant),
        cfg.folds,
        cfg.seed ^ window as u64,
    );
    let k_max = *cfg.k_grid.iter().max().unwrap();
    let started = Instant::now();
    let (smoothing, candidates) = grid_candidates(ds, train_idx, &folds, window, k_max, cfg)?;
    let neighbours_at = started.elapsed().as_secs_f64();
    let margin = (cfg.screen_score != ScoreKind::Vote)
        .then(|| MarginSpace::new(ds, train_idx, cfg.screen_score == ScoreKind::ScaledMargin));
    // Out-of-fold (index, score), spread floor and residuals of one grid point.
    let score_of = |lists: &[FoldNeighbours], k: usize, w: Weighting| match &margin {
        None => (oof_votes(lists, &ds.irrelevant, k, w), 0.0, Vec::new()),
        Some(m) => m.oof(lists, k, w),
    };
    // Grid search: every candidate recipe x power x k x weighting, ranked by the selection rule.
    // (score, candidate, power, k, weighting) of the best grid point.
    let mut best: Option<(f64, usize, f64, usize, Weighting)> = None;
    for (ci, cand) in candidates.iter().enumerate() {
        for (power, lists) in &cand.per_power {
            for &k in &cfg.k_grid {
                for &w in &cfg.weightings {
                    let score = match cfg.selection {
                        // The paper's F1 is that of the majority vote, whatever the score.
                        Selection::F1 => {
                            let votes = oof_votes(lists, &ds.irrelevant, k, w);
                            let pred: Vec<bool> =
                                votes.iter().map(|s| knn::majority(s.1)).collect();
                            let act: Vec<bool> = votes.iter().map(|s| ds.irrelevant[s.0]).collect();
                            prf(&pred, &act).2
                        }
                        Selection::AveragePrecision => {
                            let scored: Vec<(f64, bool)> = score_of(lists, k, w)
                                .0
                                .iter()
                                .map(|&(i, v)| (v, ds.irrelevant[i]))
                                .collect();
                            average_precision(&scored)
                        }
                    };
                    if best.is_none_or(|b| score > b.0) {
                        best = Some((score, ci, *power, k, w));
                    }
                }
            }
        }
    }
    let (_, ci, power, k, weighting) = best.expect("grid is not empty");
    let recipe = candidates[ci].recipe.clone();
    let lists = &candidates[ci]
        .per_power
        .iter()
        .find(|(p, _)| *p == power)
        .expect("chosen power is in the grid")
        .1;
    let (scores, spread_floor, resid) = score_of(lists, k, weighting);
    let scored: Vec<(f64, bool)> = scores.iter().map(|&(i, v)| (v, ds.irrelevant[i])).collect();
    let votes = oof_votes(lists, &ds.irrelevant, k, weighting);
    let pred: Vec<bool> = votes.iter().map(|s| knn::majority(s.1)).collect();
    let act: Vec<bool> = votes.iter().map(|s| ds.irrelevant[s.0]).collect();
    let f1_majority = prf(&pred, &act).2;
    let range = match margin {
        None => CutRange::vote(cfg.min_cut),
        Some(_) => CutRange::margin(cfg.min_score),
    };
    // With a vote floor, runs below it cannot halt: they take no part in the halting cut.
    let vote_floor = margin.as_ref().and(cfg.margin_vote_floor);
    let halt_scored: Vec<(Option<f64>, bool)> = scored
        .iter()
        .zip(&votes)
        .map(|(&(v, y), &(_, vote))| (vote_floor.is_none_or(|f| vote >= f).then_some(v), y))
        .collect();
    let choice = choose_cut(
        &halt_scored,
        cfg.target_precision,
        cfg.precision_prior,
        cfg.min_halts,
        range,
    );
    let oof: OofScores = scores
        .iter()
        .zip(&halt_scored)
        .map(|(&(i, _), &(v, _))| (i, v))
        .collect();
    let may_halt = cfg.halt_windows.is_empty() || cfg.halt_windows.contains(&window);
    let halting = match choice {
        _ if !may_halt => Halting::NotAHaltingWindow(choice.cut()),
        CutChoice::Reached(cut) => Halting::Halts(cut),
        CutChoice::Best(cut) => Halting::BelowTarget(cut),
    };
    let clearing = choose_relevant_cut(&scored, cfg.max_early_miss, range);
    let grid_at = started.elapsed().as_secs_f64();

    let neighbourhood = fit_final(ds, train_idx, &smoothing, &recipe, k, power, weighting, cfg)?;
    log::debug!(
        "screening stage at {window} frames: out-of-fold neighbours {neighbours_at:.2} s, grid \
         and cuts {:.2} s, final fit {:.2} s",
        grid_at - neighbours_at,
        started.elapsed().as_secs_f64() - grid_at
    );
    let labels: Vec<bool> = train_idx.iter().map(|&i| ds.irrelevant[i]).collect();
    let score = match margin {
        None => Score::Vote,
        Some(m) => {
            // The one-sided coverage the cut stands for: share of runs whose residual is within.
            let cv_level = halting.cut().map(|cut| {
                resid.iter().filter(|&&r| r <= cut.value).count() as f64 / resid.len() as f64
            });
            let fitted = Margin {
                train_t: train_idx.iter().map(|&i| m.t_all[i]).collect(),
                t_threshold: m.t_threshold,
                direction: m.direction,
                spread_floor,
                log_space: m.log_space,
                vote_floor,
                cv_level,
            };
            if m.scaled {
                Score::ScaledMargin(fitted)
            } else {
                Score::Margin(fitted)
            }
        }
    };
    let stage = Stage::Screen(ScreenStage {
        neighbourhood,
        labels,
        calibration: ScreenCalibration {
            score,
            halting,
            target: HaltTarget {
                precision: cfg.target_precision,
                prior: cfg.precision_prior,
                min_halts: cfg.min_halts,
                lowest_cut: range.lowest(),
            },
            clearing,
            cv_f1_majority: f1_majority,
        },
    });
    Ok((stage, oof))
}
