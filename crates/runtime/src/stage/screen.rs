//! A screening stage: classifies a run as relevant or irrelevant from its neighbours, halts it
//! when its calibrated score reaches the halting cut, and clears it early when the score is at
//! or below the clearing cut.

use serde::{Deserialize, Serialize};

use crate::knn::{self, Neighbour, Weighting};
use crate::model::Direction;

use super::{centre_spread, Neighbourhood, OodReason};

/// The kinds of score a screening stage can compare with its cuts (what a training
/// configuration asks for; [`Score`] is the fitted score with its data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScoreKind {
    /// Share of irrelevant neighbours, weighted (the paper's vote).
    Vote,
    /// Margin of the neighbours' mean t(μ) beyond t(threshold) (t = ln when every training μ is
    /// positive), in t units, signed so that larger means "further on the irrelevant side".
    Margin,
    /// The margin in units of the neighbours' spread of t(μ) plus a floor: halting at cut q is
    /// halting when the one-sided normalised conformal bound c − q·(s + floor) of t(μ) lies beyond
    /// t(threshold) (the forecast stage's interval, one-sided). A neighbour at μ = 90 counts for
    /// more than one at 34 with a threshold of 33, which a vote cannot see.
    ScaledMargin,
}

impl ScoreKind {
    /// The name people read ("vote", "margin", "scaled margin").
    pub fn name(self) -> &'static str {
        match self {
            ScoreKind::Vote => "vote",
            ScoreKind::Margin => "margin",
            ScoreKind::ScaledMargin => "scaled margin",
        }
    }
}

impl std::fmt::Display for ScoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The fitted score of a screening stage: the vote needs only the labels, a margin needs t(μ) of
/// the training traces and how to compare it with the threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Score {
    Vote,
    Margin(Margin),
    ScaledMargin(Margin),
}

/// What a margin score is computed from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Margin {
    /// t(μ) of every training trace, in the order of the stage's points.
    pub train_t: Vec<f64>,
    pub t_threshold: f64,
    /// Which side of the threshold is irrelevant (the margin's sign).
    pub direction: Direction,
    /// Floor added to the neighbours' spread of t(μ) (scaled margins).
    pub spread_floor: f64,
    /// t = ln (else the identity).
    pub log_space: bool,
    /// A halt also needs at least this vote of irrelevant neighbours (None: no vote needed).
    pub vote_floor: Option<f64>,
    /// Out-of-fold one-sided coverage of the bound the halting cut stands for (the share of runs
    /// whose true t(μ) lies on the near side of c − cut·(s + floor)); None without a cut.
    pub cv_level: Option<f64>,
}

impl Score {
    pub fn kind(&self) -> ScoreKind {
        match self {
            Score::Vote => ScoreKind::Vote,
            Score::Margin(_) => ScoreKind::Margin,
            Score::ScaledMargin(_) => ScoreKind::ScaledMargin,
        }
    }

    pub fn margin(&self) -> Option<&Margin> {
        match self {
            Score::Vote => None,
            Score::Margin(m) | Score::ScaledMargin(m) => Some(m),
        }
    }

    /// The score for given neighbours (`labels` of the training traces for votes).
    pub fn of(&self, nb: &[Neighbour], labels: &[bool], weighting: Weighting) -> f64 {
        match self {
            Score::Vote => knn::vote(nb, labels, weighting),
            Score::Margin(m) | Score::ScaledMargin(m) => {
                let (c, s) = centre_spread(nb.iter().map(|n| m.train_t[n.index]), nb, weighting);
                margin_value(
                    matches!(self, Score::ScaledMargin(_)),
                    m.direction,
                    c,
                    s,
                    m.t_threshold,
                    m.spread_floor,
                )
            }
        }
    }
}

/// Margin of a neighbour centre c and spread s of t(μ) beyond t(threshold), on the irrelevant
/// side positive; `scaled` divides it by the spread plus `floor`.
pub fn margin_value(
    scaled: bool,
    direction: Direction,
    centre: f64,
    spread: f64,
    t_threshold: f64,
    floor: f64,
) -> f64 {
    let m = direction.sign() * (centre - t_threshold);
    if scaled {
        m / (spread + floor)
    } else {
        m
    }
}

/// A cut on the score chosen out of fold, and what it did there.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cut {
    /// Halt when the score is at least this.
    pub value: f64,
    /// Out-of-fold precision and recall of halting at the cut, halts and true halts among them.
    pub cv_precision: f64,
    pub cv_recall: f64,
    pub cv_halts: usize,
    pub cv_true_halts: usize,
}

/// What the stage's halting cut had to reach out of fold to be allowed to halt.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HaltTarget {
    /// Precision counted with `prior` extra false halts: TP / (TP + FP + prior).
    pub precision: f64,
    pub prior: f64,
    /// Fewest true out-of-fold halts.
    pub min_halts: usize,
    /// Lowest cut the score may take; None: any.
    pub lowest_cut: Option<Bound>,
}

/// A lower bound on cuts: `value` itself allowed (`inclusive`) or only what lies above it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    pub value: f64,
    pub inclusive: bool,
}

impl std::fmt::Display for Bound {
    /// ">= 0.800" or "> 0.500".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = if self.inclusive { ">=" } else { ">" };
        write!(f, "{op} {:.3}", self.value)
    }
}

impl HaltTarget {
    /// The precision of a cut as the target counts it.
    pub fn guarded_precision(&self, cut: &Cut) -> f64 {
        cut.cv_true_halts as f64 / (cut.cv_halts as f64 + self.prior)
    }
}

/// Whether a screening stage may halt runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Halting {
    /// Halts runs whose score reaches the cut, which met the stage's target out of fold.
    Halts(Cut),
    /// Never halts: the stage is not at a halting window. Its cut, when it has one, only says
    /// "irrelevant" in an advisory verdict.
    NotAHaltingWindow(Option<Cut>),
    /// Never halts: no cut met the target out of fold; the best one found, when any out-of-fold
    /// run scored within the allowed range, only says "irrelevant" in an advisory verdict.
    BelowTarget(Option<Cut>),
    /// Never halts: its cut met the stage's own target, but the model's one risk budget over
    /// all its halting windows together could not be certified with it (see
    /// [`crate::model::JointRisk`]); the cut only says "irrelevant" in an advisory verdict.
    Uncertified(Cut),
}

impl Halting {
    /// The cut the score is compared with (halting or advisory); None: nothing reaches it.
    pub fn cut(&self) -> Option<&Cut> {
        match self {
            Halting::Halts(c) => Some(c),
            Halting::NotAHaltingWindow(c) | Halting::BelowTarget(c) => c.as_ref(),
            Halting::Uncertified(c) => Some(c),
        }
    }

    /// True when the stage never halts.
    pub fn is_advisory(&self) -> bool {
        !matches!(self, Halting::Halts(_))
    }
}

/// Early clearing: a run scoring at or below `cut` is cleared as relevant before the last
/// screening stage.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Clearing {
    pub cut: f64,
    /// Share of out-of-fold runs it cleared, and share of irrelevant runs among them.
    pub cv_share: f64,
    pub cv_miss: f64,
}

/// Calibration of a screening stage, from out-of-fold scores on the training set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScreenCalibration {
    /// What the cuts are compared with (the outcome's `score`).
    pub score: Score,
    pub halting: Halting,
    pub target: HaltTarget,
    /// None: the stage never clears a run early.
    pub clearing: Option<Clearing>,
    /// Out-of-fold F1 of the plain majority vote (the paper's rule), for reports.
    pub cv_f1_majority: f64,
}

/// A fitted screening stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScreenStage {
    pub neighbourhood: Neighbourhood,
    /// Irrelevant (true) / relevant (false) per training trace, in the order of the points.
    pub labels: Vec<bool>,
    pub calibration: ScreenCalibration,
}

/// What a screening stage says about one trace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScreenOutcome {
    /// Weighted share of irrelevant neighbours.
    pub vote: f64,
    /// The stage's calibrated score (see [`ScoreKind`]): the vote, or a margin.
    pub score: f64,
    /// The cut `score` is compared with; None when the stage has none.
    pub cut: Option<f64>,
    /// score >= cut (and the vote reaches the vote floor), the trace is not out of distribution.
    pub confident_irrelevant: bool,
    /// score <= the stage's clearing cut, the trace is not out of distribution.
    pub confident_relevant: bool,
    /// The stage never halts.
    pub advisory: bool,
    /// Why the trace is out of distribution (None: it is in).
    pub ood: Option<OodReason>,
}

impl ScreenStage {
    pub fn window(&self) -> usize {
        self.neighbourhood.window()
    }

    /// Evaluates the stage on the first `window` samples of `x`.
    pub fn evaluate(&self, x: &[f64]) -> crate::Result<ScreenOutcome> {
        let (nb, ood) = self.neighbourhood.neighbours(x)?;
        Ok(self.outcome(&nb, ood))
    }

    /// The outcome for given neighbours and out-of-distribution verdict.
    pub fn outcome(&self, nb: &[Neighbour], ood: Option<OodReason>) -> ScreenOutcome {
        let cal = &self.calibration;
        let refused = ood.is_some();
        let weighting = self.neighbourhood.params.weighting;
        let score = cal.score.of(nb, &self.labels, weighting);
        let vote = knn::vote(nb, &self.labels, weighting);
        let votes_enough = cal
            .score
            .margin()
            .and_then(|m| m.vote_floor)
            .is_none_or(|floor| vote >= floor);
        let cut = cal.halting.cut().map(|c| c.value);
        ScreenOutcome {
            vote,
            score,
            cut,
            confident_irrelevant: cut.is_some_and(|c| score >= c) && votes_enough && !refused,
            confident_relevant: cal.clearing.is_some_and(|c| score <= c.cut) && !refused,
            advisory: cal.halting.is_advisory(),
            ood,
        }
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        if self.labels.len() != self.neighbourhood.points.len() {
            return Err(format!(
                "{} labels for {} training traces",
                self.labels.len(),
                self.neighbourhood.points.len()
            ));
        }
        if let Some(m) = self.calibration.score.margin() {
            if m.train_t.len() != self.labels.len() || !m.train_t.iter().all(|t| t.is_finite()) {
                return Err("margin score without a finite t(mu) per training trace".into());
            }
        }
        Ok(())
    }
}
