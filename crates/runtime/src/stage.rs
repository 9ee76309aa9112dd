//! One decision point of a model: a window of frames, the affine map from its samples to
//! features (B-spline smoothing, FPCA scores, optional summaries and scaling, folded into one
//! matrix), a KNN over the training traces, and the calibration that says when to act.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::basis::BSplineBasis;
use crate::error::{Error, Result};
use crate::fpca::{ComponentRule, Fpca};
use crate::knn::{self, Neighbour, PointSet, Weighting};

/// How a window becomes features. The paper's recipe is [`Recipe::paper`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    /// Distinct knots = round(ratio × window).
    pub knot_ratio: f64,
    /// Roughness penalty λ on ∫(X'')² (0 = plain least squares, as in the paper).
    pub penalty: f64,
    /// Which FPCA components to keep.
    pub components: ComponentRule,
    /// Append the window mean and the mean of its last quarter as features.
    pub summaries: bool,
    /// Scale every feature to unit standard deviation over the training set.
    pub standardize: bool,
    /// Scale of the summary features after standardisation (their weight in the distance
    /// against the FPCA scores).
    pub summary_weight: f64,
}

impl Recipe {
    /// The published configuration: 60 % knots, no penalty, 99 % variance, raw scores.
    pub fn paper() -> Self {
        Self {
            knot_ratio: 0.6,
            penalty: 0.0,
            components: ComponentRule::VarianceFraction(0.99),
            summaries: false,
            standardize: false,
            summary_weight: 1.0,
        }
    }
}

/// The smoothing half of a recipe at one window: the B-spline basis, its smoother matrix and
/// Gram matrix. It does not depend on the training curves, so cross-validation builds it once
/// per window and shares it among folds and component counts.
#[derive(Clone, Debug)]
pub struct Smoothing {
    pub window: usize,
    knot_ratio: f64,
    penalty: f64,
    basis: BSplineBasis,
    smoother: DMatrix<f64>,
    gram: DMatrix<f64>,
}

impl Smoothing {
    pub fn new(window: usize, recipe: &Recipe) -> Result<Self> {
        let basis = BSplineBasis::for_window(window, recipe.knot_ratio)?;
        let smoother = basis.smoother(window, recipe.penalty)?;
        let gram = basis.gram();
        Ok(Self {
            window,
            knot_ratio: recipe.knot_ratio,
            penalty: recipe.penalty,
            basis,
            smoother,
            gram,
        })
    }
}

/// The affine map `features = A x + b` from the `window` raw samples of a trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureMap {
    pub window: usize,
    pub matrix: DMatrix<f64>,
    pub offset: DVector<f64>,
    /// Knots and kept components, for model cards.
    pub n_knots: usize,
    pub n_components: usize,
    /// Explained variance ratio of every FPCA component (reports).
    pub explained: Vec<f64>,
}

impl FeatureMap {
    /// Fits smoothing, FPCA and scaling on the training windows (rows of `windows`, N x window).
    pub fn fit(windows: &DMatrix<f64>, recipe: &Recipe) -> Result<Self> {
        Self::fit_smoothed(&Smoothing::new(windows.ncols(), recipe)?, windows, recipe)
    }

    /// As [`FeatureMap::fit`], with the smoothing of `recipe` at this window already built.
    pub fn fit_smoothed(
        smoothing: &Smoothing,
        windows: &DMatrix<f64>,
        recipe: &Recipe,
    ) -> Result<Self> {
        let (n_traces, window) = windows.shape();
        if window != smoothing.window
            || recipe.knot_ratio != smoothing.knot_ratio
            || recipe.penalty != smoothing.penalty
        {
            return Err(Error::InvalidArgument(format!(
                "smoothing built for {} frames, knot ratio {}, penalty {}; asked for {window}, {}, {}",
                smoothing.window,
                smoothing.knot_ratio,
                smoothing.penalty,
                recipe.knot_ratio,
                recipe.penalty
            )));
        }
        let Smoothing {
            basis,
            smoother,
            gram,
            ..
        } = smoothing;
        let coefs = (smoother * windows.transpose()).transpose();
        let fpca = Fpca::fit(&coefs, gram, recipe.components)?;
        // scores = Mᵀ (S x - c̄) = (Mᵀ S) x - Mᵀ c̄, with M the score map.
        let score_rows = fpca.score_map.transpose() * smoother;
        let score_offset = -(fpca.score_map.transpose() * &fpca.mean);
        let n_extra = if recipe.summaries { 2 } else { 0 };
        let d = fpca.n_components + n_extra;
        let mut matrix = DMatrix::zeros(d, window);
        let mut offset = DVector::zeros(d);
        matrix.rows_mut(0, fpca.n_components).copy_from(&score_rows);
        offset
            .rows_mut(0, fpca.n_components)
            .copy_from(&score_offset);
        if recipe.summaries {
            let m = fpca.n_components;
            matrix.row_mut(m).fill(1.0 / window as f64);
            let tail = (window / 4).max(1);
            for k in window - tail..window {
                matrix[(m + 1, k)] = 1.0 / tail as f64;
            }
        }
        if recipe.standardize {
            let feats = &matrix * windows.transpose(); // d x N, offsets do not change the spread
            for r in 0..d {
                let row = feats.row(r);
                let mean = row.mean();
                let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n_traces as f64;
                let sd = var.sqrt();
                if sd > 0.0 && sd.is_finite() {
                    matrix.row_mut(r).scale_mut(1.0 / sd);
                    offset[r] /= sd;
                }
            }
        }
        if recipe.summaries && recipe.summary_weight != 1.0 {
            for r in fpca.n_components..d {
                matrix.row_mut(r).scale_mut(recipe.summary_weight);
                offset[r] *= recipe.summary_weight;
            }
        }
        Ok(Self {
            window,
            matrix,
            offset,
            n_knots: basis.n_knots(),
            n_components: fpca.n_components,
            explained: fpca.explained_ratio(),
        })
    }

    pub fn dim(&self) -> usize {
        self.matrix.nrows()
    }

    /// Features of the first `window` samples of `x` into `out` (no allocation).
    pub fn apply_into(&self, x: &[f64], out: &mut [f64]) {
        debug_assert!(x.len() >= self.window && out.len() == self.dim());
        for (r, o) in out.iter_mut().enumerate() {
            let row = self.matrix.row(r);
            let mut acc = self.offset[r];
            for (a, v) in row.iter().zip(&x[..self.window]) {
                acc += a * v;
            }
            *o = acc;
        }
    }

    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.dim()];
        self.apply_into(x, &mut out);
        out
    }
}

/// What a stage is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Classify relevant / irrelevant; may halt the run.
    Screen,
    /// Regress μ−σ and μ+σ (and an interval for μ) for relevant runs.
    Forecast,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Screen => "screen",
            Role::Forecast => "forecast",
        })
    }
}

/// KNN hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnnParams {
    pub k: usize,
    pub power: f64,
    pub weighting: Weighting,
}

/// The number a screening stage compares with its cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScreenScore {
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

/// Calibration of a screening stage, from out-of-fold scores on the training set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScreenCalibration {
    /// What `cut` is compared with (the outcome's `vote` field carries this score).
    pub score: ScreenScore,
    /// Halt when the score is at least this (1 for votes, f64::MAX for margins, when no score
    /// qualifies).
    pub cut: f64,
    /// Precision the cut was chosen for.
    pub target_precision: f64,
    /// Out-of-fold precision, recall and number of halts at the cut.
    pub cv_precision: f64,
    pub cv_recall: f64,
    pub cv_halts: usize,
    /// Out-of-fold F1 of the plain majority vote (the paper's rule), for reports.
    pub cv_f1_majority: f64,
    /// True when the stage must not halt (CV precision below target, or no usable cut).
    pub advisory: bool,
    /// Clear the run as relevant when the vote is at most this (−1: never before the last
    /// screening stage); share of out-of-fold runs it cleared and share of irrelevant among them.
    pub relevant_cut: f64,
    pub cv_early_share: f64,
    pub cv_early_miss: f64,
    /// Margin scores: t(μ) of every training trace (empty for votes), t(threshold), the sign
    /// (+1 when irrelevant means above the threshold), the spread floor and whether t = ln.
    pub train_t: Vec<f64>,
    pub t_threshold: f64,
    pub sign: f64,
    pub spread_floor: f64,
    pub log_space: bool,
    /// Margin scores: out-of-fold one-sided coverage of the bound the cut stands for (the share
    /// of runs whose true t(μ) lies on the near side of c − cut·(s + floor)); NaN for votes.
    pub cv_level: f64,
    /// Margin scores: a halt also needs this share of irrelevant neighbours (0: no vote needed).
    pub vote_floor: f64,
}

impl ScreenCalibration {
    /// The stage's score for given neighbours (`labels` of the training traces for votes).
    pub fn score_of(&self, nb: &[Neighbour], labels: &[bool], weighting: Weighting) -> f64 {
        match self.score {
            ScreenScore::Vote => knn::vote(nb, labels, weighting),
            ScreenScore::Margin | ScreenScore::ScaledMargin => {
                let (c, s) = centre_spread(nb.iter().map(|n| self.train_t[n.index]), nb, weighting);
                margin_score(
                    self.score,
                    self.sign,
                    c,
                    s,
                    self.t_threshold,
                    self.spread_floor,
                )
            }
        }
    }
}

/// Margin score of a neighbour centre c and spread s of t(μ).
pub fn margin_score(
    score: ScreenScore,
    sign: f64,
    centre: f64,
    spread: f64,
    t_threshold: f64,
    floor: f64,
) -> f64 {
    let m = sign * (centre - t_threshold);
    match score {
        ScreenScore::ScaledMargin => m / (spread + floor),
        _ => m,
    }
}

/// Calibration of a forecasting stage: normalised split-conformal interval for μ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastCalibration {
    /// Nominal coverage of the interval (e.g. 0.9).
    pub level: f64,
    /// Conformal quantile of |t(μ) − t(μ̂)| / (spread + floor).
    pub quantile: f64,
    /// Floor added to the neighbours' spread so a tight cluster still gets an interval.
    pub spread_floor: f64,
    /// t = ln when every training μ is positive, identity otherwise.
    pub log_space: bool,
    /// Out-of-fold R² of μ−σ and μ+σ, and coverage and mean relative width of the interval.
    pub cv_r2: [f64; 2],
    pub cv_coverage: f64,
    pub cv_relative_width: f64,
    /// Forecast here when the relative interval width (high−low)/μ̂ is at most this; the last
    /// forecasting stage always forecasts.
    pub tolerance: f64,
    /// At or past the forecast deadline: a cleared run without a forecast gets one here, within
    /// tolerance or not (its `confident` flag says which).
    pub deadline: bool,
    /// μ∓σ are predicted as the geometric mean of the neighbours' values (KNN in log space).
    pub log_targets: bool,
}

/// Out-of-distribution guard: the k-th neighbour distance of a query against a quantile of the
/// training traces' own (leave-one-out) k-th neighbour distances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OodGuard {
    pub quantile: f64,
    pub max_distance: f64,
}

/// Training targets of a stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Targets {
    /// Irrelevant (true) / relevant (false) per training trace.
    Labels(Vec<bool>),
    /// Per training trace: μ−σ, μ+σ, μ (row-major, 3 wide).
    Values(Vec<f64>),
}

/// A fitted stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub role: Role,
    pub features: FeatureMap,
    pub params: KnnParams,
    pub points: PointSet,
    pub targets: Targets,
    pub screen: Option<ScreenCalibration>,
    pub forecast: Option<ForecastCalibration>,
    pub ood: OodGuard,
}

/// Screening verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Relevant,
    Irrelevant,
    /// Not confident at this window.
    Unsure,
}

/// What a stage says about one trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Screen {
        /// Weighted share of irrelevant neighbours.
        vote: f64,
        /// The stage's calibrated score (see [`ScreenScore`]): the vote, or a margin; `cut` and
        /// the relevant cut apply to it.
        score: f64,
        cut: f64,
        /// score >= cut (and the vote reaches the vote floor), the trace is not out of distribution.
        confident_irrelevant: bool,
        /// score <= the stage's relevant cut, the trace is not out of distribution.
        confident_relevant: bool,
        advisory: bool,
        ood: bool,
    },
    Forecast {
        mu_minus_sigma: f64,
        mu_plus_sigma: f64,
        mu_hat: f64,
        mu_low: f64,
        mu_high: f64,
        level: f64,
        /// The interval is within the stage's tolerance and the trace is in distribution.
        confident: bool,
        ood: bool,
    },
}

impl Stage {
    pub fn window(&self) -> usize {
        self.features.window
    }

    /// Evaluates the stage on the first `window` samples of `x`.
    pub fn evaluate(&self, x: &[f64]) -> Result<Outcome> {
        if x.len() < self.window() {
            return Err(Error::InvalidArgument(format!(
                "stage needs {} frames, got {}",
                self.window(),
                x.len()
            )));
        }
        if let Some((frame, &value)) = x[..self.window()]
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
        {
            return Err(Error::NonFinite { frame, value });
        }
        let f = self.features.apply(x);
        let nb = self
            .points
            .nearest(&f, self.params.k, self.params.power, None);
        Ok(self.outcome(&nb))
    }

    /// The outcome for given neighbours (shared by `evaluate` and the cross-validation).
    pub fn outcome(&self, nb: &[Neighbour]) -> Outcome {
        let ood = nb
            .last()
            .is_some_and(|n| n.distance > self.ood.max_distance);
        match (&self.targets, self.role) {
            (Targets::Labels(labels), Role::Screen) => {
                let cal = self
                    .screen
                    .as_ref()
                    .expect("screen stage has a calibration");
                let score = cal.score_of(nb, labels, self.params.weighting);
                let vote = knn::vote(nb, labels, self.params.weighting);
                let votes_enough = cal.vote_floor <= 0.0 || vote >= cal.vote_floor;
                Outcome::Screen {
                    vote,
                    score,
                    cut: cal.cut,
                    confident_irrelevant: score >= cal.cut && votes_enough && !ood,
                    confident_relevant: score <= cal.relevant_cut && !ood,
                    advisory: cal.advisory,
                    ood,
                }
            }
            (Targets::Values(values), Role::Forecast) => {
                let cal = self
                    .forecast
                    .as_ref()
                    .expect("forecast stage has a calibration");
                let f = forecast_from_neighbours(nb, values, self.params.weighting, cal);
                let rel = (f.mu_high - f.mu_low) / f.mu_hat.abs();
                Outcome::Forecast {
                    mu_minus_sigma: f.mu_minus_sigma,
                    mu_plus_sigma: f.mu_plus_sigma,
                    mu_hat: f.mu_hat,
                    mu_low: f.mu_low,
                    mu_high: f.mu_high,
                    level: cal.level,
                    confident: rel <= cal.tolerance && !ood,
                    ood,
                }
            }
            _ => unreachable!("stage role and targets always agree (checked at load)"),
        }
    }

    /// Checks internal consistency (after deserialisation, where a bad file could lie).
    pub fn validate(&self) -> Result<()> {
        let fm = &self.features;
        let bad = |why: String| Err(Error::InvalidArgument(why));
        if fm.window == 0 || fm.matrix.ncols() != fm.window || fm.offset.len() != fm.dim() {
            return bad(format!(
                "stage feature map shape {:?} does not fit window {}",
                fm.matrix.shape(),
                fm.window
            ));
        }
        let finite = fm
            .matrix
            .iter()
            .chain(fm.offset.iter())
            .all(|v| v.is_finite());
        if fm.dim() == 0 || !finite {
            return bad("stage feature map is empty or not finite".into());
        }
        self.points.check()?;
        if self.points.dim() != fm.dim() || self.points.is_empty() {
            return bad("stage training points do not match its features".into());
        }
        if self.params.k == 0 || self.params.k > self.points.len() {
            return bad(format!(
                "k = {} with {} training traces",
                self.params.k,
                self.points.len()
            ));
        }
        knn::check_power(self.params.power)?;
        if self.ood.max_distance.is_nan() || self.ood.max_distance < 0.0 {
            return bad("stage OOD threshold is not a distance".into());
        }
        match (&self.targets, self.role) {
            (Targets::Labels(l), Role::Screen)
                if l.len() == self.points.len()
                    && self.screen.as_ref().is_some_and(|c| {
                        c.score == ScreenScore::Vote
                            || (c.train_t.len() == l.len()
                                && c.train_t.iter().all(|t| t.is_finite()))
                    }) =>
            {
                Ok(())
            }
            (Targets::Values(v), Role::Forecast)
                if v.len() == 3 * self.points.len() && self.forecast.is_some() =>
            {
                Ok(())
            }
            _ => bad(format!(
                "{} stage has targets or calibration of the wrong kind",
                self.role
            )),
        }
    }
}

/// A forecast from neighbours: KNN means of μ∓σ, and the conformal interval for μ.
pub struct Forecast {
    pub mu_minus_sigma: f64,
    pub mu_plus_sigma: f64,
    pub mu_hat: f64,
    pub mu_low: f64,
    pub mu_high: f64,
}

/// Centre and spread of the neighbours' t(μ), the base of the normalised conformal score.
pub fn neighbour_centre_spread(
    nb: &[Neighbour],
    values: &[f64],
    weighting: Weighting,
    log_space: bool,
) -> (f64, f64) {
    centre_spread(
        nb.iter()
            .map(|n| to_space(values[3 * n.index + 2], log_space)),
        nb,
        weighting,
    )
}

/// The neighbours re-indexed by their position, to weight values listed in neighbour order.
fn by_position(nb: &[Neighbour]) -> Vec<Neighbour> {
    nb.iter()
        .enumerate()
        .map(|(i, n)| Neighbour {
            index: i,
            distance: n.distance,
        })
        .collect()
}

/// Weighted mean and (unweighted) spread of per-neighbour values `t` (in neighbour order).
pub fn centre_spread(
    t: impl Iterator<Item = f64>,
    nb: &[Neighbour],
    weighting: Weighting,
) -> (f64, f64) {
    let t: Vec<f64> = t.collect();
    let mean = knn::regress(&by_position(nb), &t, 1, weighting)[0];
    let var = t.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / t.len() as f64;
    (mean, var.sqrt())
}

pub fn forecast_from_neighbours(
    nb: &[Neighbour],
    values: &[f64],
    weighting: Weighting,
    cal: &ForecastCalibration,
) -> Forecast {
    let m = regress_targets(nb, values, weighting, cal.log_targets);
    let (centre, spread) = neighbour_centre_spread(nb, values, weighting, cal.log_space);
    let half = cal.quantile * (spread + cal.spread_floor);
    Forecast {
        mu_minus_sigma: m[0],
        mu_plus_sigma: m[1],
        mu_hat: from_space(centre, cal.log_space),
        mu_low: from_space(centre - half, cal.log_space),
        mu_high: from_space(centre + half, cal.log_space),
    }
}

/// KNN estimate of μ−σ and μ+σ: the weighted mean of the neighbours' values, or with `log` the
/// weighted mean of their logarithms, mapped back (a geometric mean, robust to one large value).
pub fn regress_targets(
    nb: &[Neighbour],
    values: &[f64],
    weighting: Weighting,
    log: bool,
) -> [f64; 2] {
    if !log {
        let m = knn::regress(nb, values, 3, weighting);
        return [m[0], m[1]];
    }
    let t: Vec<f64> = nb
        .iter()
        .flat_map(|n| [values[3 * n.index].ln(), values[3 * n.index + 1].ln()])
        .collect();
    let m = knn::regress(&by_position(nb), &t, 2, weighting);
    [m[0].exp(), m[1].exp()]
}

pub fn to_space(mu: f64, log_space: bool) -> f64 {
    if log_space {
        mu.ln()
    } else {
        mu
    }
}

pub fn from_space(t: f64, log_space: bool) -> f64 {
    if log_space {
        t.exp()
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn windows(n: usize, window: usize) -> DMatrix<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        DMatrix::from_fn(n, window, |i, k| {
            (i as f64 * 0.3).sin() * (k as f64 / 9.0).cos() + rng.gen_range(-0.2..0.2)
        })
    }

    fn recipe() -> Recipe {
        Recipe {
            components: ComponentRule::Count(3),
            summaries: true,
            standardize: true,
            ..Recipe::paper()
        }
    }

    #[test]
    fn a_shared_smoothing_gives_the_same_map() {
        let x = windows(25, 40);
        let smoothing = Smoothing::new(40, &recipe()).unwrap();
        let own = FeatureMap::fit(&x, &recipe()).unwrap();
        let shared = FeatureMap::fit_smoothed(&smoothing, &x, &recipe()).unwrap();
        assert_eq!(own, shared);
    }

    #[test]
    fn a_smoothing_built_for_another_recipe_or_window_is_refused() {
        let x = windows(25, 40);
        let smoothing = Smoothing::new(40, &recipe()).unwrap();
        let other_penalty = Recipe {
            penalty: 1e-3,
            ..recipe()
        };
        let e = FeatureMap::fit_smoothed(&smoothing, &x, &other_penalty).unwrap_err();
        assert!(e.to_string().contains("penalty"), "{e}");
        let shorter = windows(25, 30);
        assert!(FeatureMap::fit_smoothed(&smoothing, &shorter, &recipe()).is_err());
    }
}
