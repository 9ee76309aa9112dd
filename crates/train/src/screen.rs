//! Fitting a screening stage: grid search over recipes, k, power and weighting on out-of-fold
//! scores, then the halting and clearing cuts.

use simforecast_runtime::error::{Error, Result};
use simforecast_runtime::knn::{self, Weighting};
use simforecast_runtime::model::Direction;
use simforecast_runtime::stage::{self, Role, ScreenCalibration, ScreenScore, Stage, Targets};

use crate::calibration::{choose_cut, choose_relevant_cut, CutRange};
use crate::config::{Selection, TrainConfig};
use crate::cv::{folds, grid_candidates, oof_votes, FoldNeighbours};
use crate::dataset::Dataset;
use crate::fit::{fit_final, StageReport};
use crate::metrics::{average_precision, prf};

/// How margin scores are made: t(μ) of every dataset trace, t(threshold), sign.
struct MarginSpace {
    score: ScreenScore,
    t_all: Vec<f64>,
    t_threshold: f64,
    sign: f64,
    log_space: bool,
}

impl MarginSpace {
    fn new(ds: &Dataset, train_idx: &[usize], score: ScreenScore) -> Self {
        // ln μ when it is defined for every training run and the threshold: μ spans decades.
        let log_space = ds.threshold > 0.0 && train_idx.iter().all(|&i| ds.mu[i] > 0.0);
        Self {
            score,
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
            sign: match ds.direction {
                Direction::Above => 1.0,
                Direction::Below => -1.0,
            },
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
                let v = stage::margin_score(self.score, self.sign, c, s, self.t_threshold, floor);
                (i, v)
            })
            .collect();
        let resid = cs
            .iter()
            .map(|&(i, c, s)| {
                let r = self.sign * (c - self.t_all[i]);
                if self.score == ScreenScore::ScaledMargin {
                    r / (s + floor)
                } else {
                    r
                }
            })
            .collect();
        (scores, floor, resid)
    }
}

/// Fits one screening stage on `train_idx`.
pub(crate) fn fit_screen(
    ds: &Dataset,
    train_idx: &[usize],
    window: usize,
    cfg: &TrainConfig,
) -> Result<(Stage, StageReport)> {
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
    let (smoothing, candidates) = grid_candidates(ds, train_idx, &folds, window, k_max, cfg)?;
    let margin = (cfg.screen_score != ScreenScore::Vote)
        .then(|| MarginSpace::new(ds, train_idx, cfg.screen_score));
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
    // With a vote floor, runs below it cannot halt: they enter the halting cut below any score.
    let vote_floor = if margin.is_some() {
        cfg.margin_vote_floor
    } else {
        0.0
    };
    let halt_scored: Vec<(f64, bool)> = scored
        .iter()
        .zip(&votes)
        .map(|(&(v, y), &(_, vote))| {
            if vote_floor > 0.0 && vote < vote_floor {
                (f64::NEG_INFINITY, y)
            } else {
                (v, y)
            }
        })
        .collect();
    let (cut, cv_precision, cv_recall, cv_halts, reached) = choose_cut(
        &halt_scored,
        cfg.target_precision,
        cfg.precision_prior,
        cfg.min_halts,
        range,
    );
    let may_halt = cfg.halt_windows.is_empty() || cfg.halt_windows.contains(&window);
    let advisory = !reached || !may_halt;
    let (relevant_cut, cv_early_share, cv_early_miss) =
        choose_relevant_cut(&scored, cfg.max_early_miss, range);
    // The one-sided coverage the cut stands for: share of runs whose residual is within it.
    let cv_level = if resid.is_empty() {
        f64::NAN
    } else {
        resid.iter().filter(|&&r| r <= cut).count() as f64 / resid.len() as f64
    };

    let (fm, points, params, ood) =
        fit_final(ds, train_idx, &smoothing, &recipe, k, power, weighting, cfg)?;
    let labels: Vec<bool> = train_idx.iter().map(|&i| ds.irrelevant[i]).collect();
    let n_components = fm.n_components;
    let stage = Stage {
        role: Role::Screen,
        features: fm,
        params,
        points,
        targets: Targets::Labels(labels),
        screen: Some(ScreenCalibration {
            score: cfg.screen_score,
            cut,
            target_precision: cfg.target_precision,
            cv_precision,
            cv_recall,
            cv_halts,
            cv_f1_majority: f1_majority,
            advisory,
            relevant_cut,
            cv_early_share,
            cv_early_miss,
            train_t: margin
                .as_ref()
                .map(|m| train_idx.iter().map(|&i| m.t_all[i]).collect())
                .unwrap_or_default(),
            t_threshold: margin.as_ref().map_or(0.0, |m| m.t_threshold),
            sign: margin.as_ref().map_or(1.0, |m| m.sign),
            spread_floor,
            log_space: margin.as_ref().is_some_and(|m| m.log_space),
            cv_level,
            vote_floor,
        }),
        forecast: None,
        ood,
    };
    let score_name = match cfg.screen_score {
        ScreenScore::Vote => "vote",
        ScreenScore::Margin => "margin",
        ScreenScore::ScaledMargin => "scaled margin",
    };
    // What limits the cut, in words (an unbounded floor is not shown).
    let mut cut_limits = String::new();
    let lowest = range.floor.max(range.above);
    if lowest > f64::MIN {
        cut_limits.push_str(&format!(" >= {lowest:.2}"));
    }
    if vote_floor > 0.0 {
        cut_limits.push_str(&format!(" with vote >= {vote_floor:.2}"));
    }
    let mut verdict = if !may_halt {
        "not a halting window: logs its verdict, never halts".to_string()
    } else if advisory {
        format!(
            "advisory: no {score_name} cut{} reaches halting precision {:.2} with {} true halts out of fold ({}); this stage logs, never halts",
            cut_limits,
            cfg.target_precision,
            cfg.min_halts,
            if cv_precision.is_finite() {
                format!("best precision {cv_precision:.2} at recall {cv_recall:.2}")
            } else {
                "no out-of-fold run scored high enough to halt".to_string()
            }
        )
    } else {
        format!(
            "halts at {score_name} >= {cut:.3}{}{}: out-of-fold precision {cv_precision:.2}, recall {cv_recall:.2} ({cv_halts} halts)",
            if vote_floor > 0.0 {
                format!(" and vote >= {vote_floor:.2}")
            } else {
                String::new()
            },
            if cv_level.is_finite() {
                format!(" (one-sided bound at level {cv_level:.3})")
            } else {
                String::new()
            }
        )
    };
    if relevant_cut > range.never {
        verdict.push_str(&format!(
            "; clears runs as relevant at {score_name} <= {relevant_cut:.3} ({:.0}% of runs out of fold, {:.1}% of them irrelevant)",
            100.0 * cv_early_share,
            100.0 * cv_early_miss
        ));
    }
    let report = StageReport {
        role: Role::Screen,
        window,
        k: params.k,
        power,
        weighting,
        n_components,
        n_features: stage.features.dim(),
        n_train: train_idx.len(),
        cv_f1_majority: Some(f1_majority),
        cv_precision: Some(cv_precision),
        cv_recall: Some(cv_recall),
        cut: Some(cut),
        advisory: Some(advisory),
        cv_r2: None,
        cv_coverage: None,
        verdict,
    };
    Ok((stage, report))
}
