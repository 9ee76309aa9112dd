//! One risk budget across the halting windows, valid in small samples.
//!
//! Each screening stage chooses its halting cut alone ([`crate::calibration::choose_cut`]), so a
//! relevant run may be halted at any of several windows and the stages' false halts add up. Here
//! the stages' cuts are taken together: every training run is replayed out of fold as the
//! monitor does it (a run halts at the first halting stage whose cut its score reaches, with the
//! vote floor where there is one), and the halts and wrong halts of all windows are counted
//! together. The rule acts only when the one-sided Clopper–Pearson bound on its wrong-halt share,
//! at [`CONFIDENCE`], is within 1 − target. When it is not, the rule is tightened jointly, one
//! step at a time, by the change that lowers the bound most: raise one stage's cut just past the
//! lowest-scoring wrong halt that stage makes, or make the stage advisory. When no tightening
//! certifies, every halting stage is advisory.
//!
//! Why 0.9 rather than 0.95: with no wrong halt, the bound reaches 0.05 (the default target
//! 0.95) after 45 clean out-of-fold halts at 0.9, after 59 at 0.95, so a campaign needs at least
//! that many irrelevant runs, halted cleanly, before the default may halt anything. The shipped
//! campaigns hold 30 and 31: at 0.95 precision neither certifies at either level (their held-out
//! protocol shows why that is right: the stages' own cuts halt 1 to 2 relevant runs in 20 splits
//! on the wide campaign, 2 of 5 halts on nemd-public); lower targets do (eager's 0.55 needs 4
//! clean halts). The walk tests a handful of rules on the same runs without correction for that
//! choice: the bound is the chosen rule's as if it had been fixed beforehand, and the held-out
//! protocol (`protocol --train-sizes`) measures what it really does.
//!
//! The regression stages' halting rule joins the same budget as one more halting "stage": a run
//! halts at the first regression window whose one-sided bound of ln μ lies past ln threshold,
//! i.e. whose margin (ln μ̂ − ln threshold)/scale (mirrored for `--below`) reaches the rule's
//! quantile; over all windows that is "the run's largest margin reaches the quantile", so its
//! score is that largest margin, counted once per run whatever window it halts at. Its own
//! quantile is the smallest at which its out-of-fold halts alone reach the target precision;
//! the walk then tightens it with the screening stages' cuts.
//!
//! Out of fold, the out-of-distribution guards are not applied (they are fitted on the whole
//! training set); at run time they only keep a run from halting.

use simforecast_runtime::model::JointRisk;
use simforecast_runtime::stage::{Cut, Halting, RegressionHalting, Stage};

use crate::dataset::Dataset;

/// Confidence of the Clopper–Pearson bound on the wrong-halt share.
pub const CONFIDENCE: f64 = 0.9;

/// One-sided Clopper–Pearson upper bound, at `confidence`, of a binomial proportion observed as
/// `wrong` of `n`: the p at which seeing at most `wrong` has probability 1 − confidence
/// (1 when n = 0 or every trial failed).
pub fn cp_upper(wrong: usize, n: usize, confidence: f64) -> f64 {
    if n == 0 || wrong >= n {
        return 1.0;
    }
    let tail = 1.0 - confidence;
    if wrong == 0 {
        // P(X = 0) = (1 − p)^n = tail, in closed form.
        return -(tail.ln() / n as f64).exp_m1();
    }
    // P(X <= wrong) falls as p grows: bisect.
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if binomial_cdf(wrong, n, mid) > tail {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// P(X <= k) for X ~ Binomial(n, p), summed in log space (no overflow for n in the thousands).
fn binomial_cdf(k: usize, n: usize, p: f64) -> f64 {
    if p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return if k >= n { 1.0 } else { 0.0 };
    }
    let (lp, lq) = (p.ln(), (-p).ln_1p());
    // ln C(n, j) built up term by term.
    let mut ln_choose = 0.0;
    let mut terms = Vec::with_capacity(k + 1);
    for j in 0..=k.min(n) {
        if j > 0 {
            ln_choose += ((n - j + 1) as f64).ln() - (j as f64).ln();
        }
        terms.push(ln_choose + j as f64 * lp + (n - j) as f64 * lq);
    }
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln()).exp()
}

/// Fewest halts, none wrong, whose bound at `confidence` reaches `target` precision.
pub fn halts_needed(target: f64, confidence: f64) -> usize {
    let alpha = 1.0 - target;
    if alpha >= 1.0 {
        return 1;
    }
    if alpha <= 0.0 {
        return usize::MAX;
    }
    // 1 − (1 − c)^(1/n) <= α  ⇔  n >= ln(1 − c) / ln(1 − α).
    let n = ((1.0 - confidence).ln() / (-alpha).ln_1p()).ceil() as usize;
    // Guard the rounding at the boundary.
    (n.saturating_sub(1)..n + 2)
        .find(|&m| m > 0 && cp_upper(0, m, confidence) <= alpha)
        .unwrap_or(n)
}

/// Roughly how many more labelled runs would certify a rule that halted `halts` of `runs` out of
/// fold, `wrong` of them wrongly: the fewest runs at which the same halt and wrong-halt rates
/// give a bound within 1 − target. None when nothing was halted, or when the observed wrong-halt
/// share is itself too high for more runs to help (or would need over a hundred times as many).
pub fn more_runs(
    halts: usize,
    wrong: usize,
    runs: usize,
    target: f64,
    confidence: f64,
) -> Option<usize> {
    let alpha = 1.0 - target;
    if halts == 0 || runs == 0 || wrong as f64 >= alpha * halts as f64 {
        return None;
    }
    let scale = |total: usize| {
        let f = total as f64 / runs as f64;
        (
            (wrong as f64 * f).round() as usize,
            (halts as f64 * f).round() as usize,
        )
    };
    (runs..=100 * runs)
        .find(|&total| {
            let (w, h) = scale(total);
            cp_upper(w, h, confidence) <= alpha
        })
        .map(|total| total - runs)
}

/// A halting stage's out-of-fold evidence: its score per training run (None: that run cannot
/// halt there, e.g. below the vote floor) and the cut it chose alone.
#[derive(Clone, Debug)]
pub struct HaltingStage {
    pub window: usize,
    pub cut: f64,
    pub scores: Vec<Option<f64>>,
    /// The regression stages' halting rule (over all their windows), not a screening stage:
    /// left out of the lists of windows raised or dropped.
    pub regression: bool,
}

/// The joint rule: a cut per halting stage (None: the stage is advisory).
#[derive(Clone, Debug, PartialEq)]
pub struct JointRule {
    pub cuts: Vec<Option<f64>>,
}

/// Out-of-fold halts, wrong halts, and which stage halted each run (None: not halted).
#[derive(Clone, Debug, PartialEq)]
pub struct Replay {
    pub halts: usize,
    pub wrong: usize,
    pub by: Vec<Option<usize>>,
}

impl JointRule {
    /// Replays every run through the stages in window order, as the monitor does.
    pub fn replay(&self, stages: &[HaltingStage], irrelevant: &[bool]) -> Replay {
        let by: Vec<Option<usize>> = (0..irrelevant.len())
            .map(|i| {
                stages
                    .iter()
                    .zip(&self.cuts)
                    .position(|(s, c)| c.zip(s.scores[i]).is_some_and(|(cut, score)| score >= cut))
            })
            .collect();
        let halts = by.iter().filter(|b| b.is_some()).count();
        let wrong = by
            .iter()
            .zip(irrelevant)
            .filter(|(b, &y)| b.is_some() && !y)
            .count();
        Replay { halts, wrong, by }
    }

    /// The rules one step tighter: per stage making a wrong halt, its cut raised past the
    /// lowest-scoring of them (to the next score above, else advisory), or the stage advisory.
    fn tighter(
        &self,
        stages: &[HaltingStage],
        irrelevant: &[bool],
        r: &Replay,
        drops: bool,
    ) -> Vec<Self> {
        let mut out = Vec::new();
        for (s, stage) in stages.iter().enumerate() {
            let lowest_wrong = (0..irrelevant.len())
                .filter(|&i| r.by[i] == Some(s) && !irrelevant[i])
                .filter_map(|i| stage.scores[i])
                .min_by(f64::total_cmp);
            let Some(w) = lowest_wrong else { continue };
            let next = stage
                .scores
                .iter()
                .flatten()
                .copied()
                .filter(|&v| v > w)
                .min_by(f64::total_cmp);
            let mut raised = self.clone();
            raised.cuts[s] = next;
            let mut dropped = self.clone();
            dropped.cuts[s] = None;
            out.push(raised);
            if next.is_some() && drops {
                out.push(dropped);
            }
        }
        out
    }
}

/// The outcome of certifying the stages' own cuts jointly.
#[derive(Clone, Debug, PartialEq)]
pub struct Certificate {
    /// The rule the model acts on when certified (else the proposed one).
    pub rule: JointRule,
    pub risk: JointRisk,
}

/// Certifies the halting stages' cuts together against `target` precision, tightening them
/// jointly until the Clopper–Pearson bound at `confidence` is within 1 − target.
pub fn certify(
    stages: &[HaltingStage],
    irrelevant: &[bool],
    target: f64,
    confidence: f64,
) -> Certificate {
    let alpha = 1.0 - target;
    let bound = |r: &Replay| cp_upper(r.wrong, r.halts, confidence);
    let proposed = JointRule {
        cuts: stages.iter().map(|s| Some(s.cut)).collect(),
    };
    let first = proposed.replay(stages, irrelevant);
    // Two walks: one that may make a stage advisory at each step, one that only raises cuts
    // (a greedy drop can strand a rule just short of certifying, where raising past one more
    // wrong halt would have kept enough true ones). The certified one with more halts wins.
    let walk = |drops: bool| -> (JointRule, Replay) {
        let mut rule = proposed.clone();
        let mut r = first.clone();
        // Raising cuts only removes halts: once no wrong halt is left, the bound cannot fall.
        while bound(&r) > alpha && r.wrong > 0 {
            let best = rule
                .tighter(stages, irrelevant, &r, drops)
                .into_iter()
                .map(|c| {
                    let rc = c.replay(stages, irrelevant);
                    (c, rc)
                })
                .min_by(|a, b| {
                    bound(&a.1)
                        .total_cmp(&bound(&b.1))
                        .then(b.1.halts.cmp(&a.1.halts))
                });
            let Some((c, rc)) = best else { break };
            rule = c;
            r = rc;
        }
        (rule, r)
    };
    let certifies = |r: &Replay| r.halts > 0 && bound(r) <= alpha;
    let (mut rule, mut r) = [walk(true), walk(false)]
        .into_iter()
        .max_by(|a, b| {
            (certifies(&a.1), a.1.halts)
                .cmp(&(certifies(&b.1), b.1.halts))
                .then(bound(&b.1).total_cmp(&bound(&a.1)))
        })
        .unwrap_or_else(|| (proposed.clone(), first.clone()));
    let certified = r.halts > 0 && bound(&r) <= alpha;
    if !certified {
        rule = proposed.clone();
        r = first.clone();
    }
    let windows = |keep: &dyn Fn(Option<f64>, f64) -> bool| -> Vec<usize> {
        stages
            .iter()
            .zip(&rule.cuts)
            .filter(|(s, &c)| !s.regression && keep(c, s.cut))
            .map(|(s, _)| s.window)
            .collect()
    };
    let (raised, dropped) = if certified {
        (
            windows(&|c, own| c.is_some_and(|c| c > own)),
            windows(&|c, _| c.is_none()),
        )
    } else {
        (Vec::new(), windows(&|_, _| true))
    };
    let needed = halts_needed(target, confidence);
    let more_runs = (!certified)
        .then(|| {
            more_runs(
                first.halts,
                first.wrong,
                irrelevant.len(),
                target,
                confidence,
            )
        })
        .flatten();
    let runs = irrelevant.len();
    Certificate {
        risk: JointRisk {
            target,
            confidence,
            runs,
            proposed_halts: first.halts,
            proposed_wrong: first.wrong,
            halts: r.halts,
            wrong: r.wrong,
            upper: bound(&r),
            certified,
            raised,
            dropped,
            halts_needed: needed,
            more_runs,
        },
        rule,
    }
}

/// A stage's out-of-fold scores as the trainer records them: (dataset index, score or None).
pub(crate) type OofScores = Vec<(usize, Option<f64>)>;

/// The regression halting rule's own quantile: the smallest positive score at which its halts
/// alone reach `target` precision out of fold (None: no such score, or nothing to halt).
fn regression_own_cut(scores: &[Option<f64>], irrelevant: &[bool], target: f64) -> Option<f64> {
    let mut candidates: Vec<f64> = scores
        .iter()
        .flatten()
        .copied()
        .filter(|&v| v > 0.0)
        .collect();
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    candidates.into_iter().find(|&cut| {
        let (h, w) = halts_at(scores, irrelevant, cut);
        h > 0 && (w as f64) <= (1.0 - target) * h as f64
    })
}

/// Out-of-fold halts and wrong halts of one rule at `cut`.
fn halts_at(scores: &[Option<f64>], irrelevant: &[bool], cut: f64) -> (usize, usize) {
    let halted = scores
        .iter()
        .zip(irrelevant)
        .filter(|(s, _)| s.is_some_and(|v| v >= cut));
    let (mut h, mut w) = (0, 0);
    for (_, &y) in halted {
        h += 1;
        w += usize::from(!y);
    }
    (h, w)
}

/// The regression stages' halting evidence: the first regression window that may halt, and each
/// training run's largest out-of-fold margin from there on (by position among the training
/// runs).
pub(crate) struct RegressionEvidence {
    pub window: usize,
    pub scores: Vec<Option<f64>>,
}

/// Applies the joint rule to a fitted model's stages: the stages that halt on their own cut, and
/// the regression stages' halting rule when it has one, are certified together; the screening
/// stages' halting becomes the certified rule's, or advisory ([`Halting::Uncertified`]), and the
/// regression rule is returned with its certified quantile (or its own, advisory).
/// `evidence[s]` holds stage `s`'s out-of-fold scores (screening stages). The risk is None when
/// nothing halts on its own cut.
pub(crate) fn apply(
    stages: &mut [Stage],
    evidence: &[Option<OofScores>],
    regression: Option<&RegressionEvidence>,
    ds: &Dataset,
    train_idx: &[usize],
    target: f64,
) -> (Option<JointRisk>, Option<RegressionHalting>) {
    // Dataset index -> position among the training runs.
    let position: std::collections::HashMap<usize, usize> =
        train_idx.iter().enumerate().map(|(p, &i)| (i, p)).collect();
    let irrelevant: Vec<bool> = train_idx.iter().map(|&i| ds.irrelevant[i]).collect();
    let mut halting: Vec<(Option<usize>, HaltingStage)> = Vec::new();
    for (s, (stage, ev)) in stages.iter().zip(evidence).enumerate() {
        let (Stage::Screen(sc), Some(ev)) = (stage, ev) else {
            continue;
        };
        let Halting::Halts(cut) = sc.calibration.halting else {
            continue;
        };
        let mut scores = vec![None; train_idx.len()];
        for &(i, v) in ev {
            if let Some(&p) = position.get(&i) {
                scores[p] = v;
            }
        }
        halting.push((
            Some(s),
            HaltingStage {
                window: stage.window(),
                cut: cut.value,
                scores,
                regression: false,
            },
        ));
    }
    let regression_cut =
        regression.and_then(|r| regression_own_cut(&r.scores, &irrelevant, target).map(|c| (r, c)));
    if let Some((r, cut)) = regression_cut {
        halting.push((
            None,
            HaltingStage {
                window: r.window,
                cut,
                scores: r.scores.clone(),
                regression: true,
            },
        ));
    }
    if halting.is_empty() {
        return (None, None);
    }
    let hs: Vec<HaltingStage> = halting.iter().map(|h| h.1.clone()).collect();
    let cert = certify(&hs, &irrelevant, target, CONFIDENCE);
    let mut regression_halting = None;
    for ((s, h), c) in halting.iter().zip(&cert.rule.cuts) {
        let Some(s) = s else {
            // The regression rule: its certified quantile, else its own, advisory.
            let (quantile, certified) = match c {
                Some(v) if cert.risk.certified => (*v, true),
                _ => (h.cut, false),
            };
            let (cv_halts, cv_wrong) = halts_at(&h.scores, &irrelevant, quantile);
            regression_halting = Some(RegressionHalting {
                from_window: h.window,
                quantile,
                certified,
                cv_halts,
                cv_wrong,
            });
            continue;
        };
        let Stage::Screen(sc) = &mut stages[*s] else {
            continue;
        };
        let Halting::Halts(own) = sc.calibration.halting else {
            continue;
        };
        sc.calibration.halting = match c {
            Some(v) if cert.risk.certified => Halting::Halts(cut_at(&h.scores, &irrelevant, *v)),
            _ => Halting::Uncertified(own),
        };
    }
    (Some(cert.risk), regression_halting)
}

/// A stage's out-of-fold figures at cut `value` (the stage alone).
fn cut_at(scores: &[Option<f64>], irrelevant: &[bool], value: f64) -> Cut {
    let halted = |y: bool| {
        scores
            .iter()
            .zip(irrelevant)
            .filter(|(s, &l)| s.is_some_and(|v| v >= value) && l == y)
            .count()
    };
    let (tp, fp) = (halted(true), halted(false));
    let positives = irrelevant.iter().filter(|y| **y).count().max(1);
    Cut {
        value,
        cv_precision: if tp + fp > 0 {
            tp as f64 / (tp + fp) as f64
        } else {
            0.0
        },
        cv_recall: tp as f64 / positives as f64,
        cv_halts: tp + fp,
        cv_true_halts: tp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_matches_exact_values() {
        // 0 wrong of n: 1 − 0.1^(1/n) at 0.9.
        assert!((cp_upper(0, 20, 0.9) - 0.108749).abs() < 1e-6);
        assert!((cp_upper(0, 45, 0.9) - 0.049881).abs() < 1e-6);
        assert!((cp_upper(0, 44, 0.9) - 0.050986).abs() < 1e-6);
        assert!((cp_upper(0, 59, 0.95) - 0.049508).abs() < 1e-6);
        // 1 wrong of 20 at 0.9 and 2 of 100 at 0.95 (exact: P(X <= w) = 1 − c at the bound).
        assert!((cp_upper(1, 20, 0.9) - 0.180961).abs() < 1e-6);
        assert!((cp_upper(2, 100, 0.95) - 0.061619).abs() < 1e-6);
        for (w, n, c) in [(1, 20, 0.9), (2, 100, 0.95), (5, 40, 0.9)] {
            let p = cp_upper(w, n, c);
            assert!((binomial_cdf(w, n, p) - (1.0 - c)).abs() < 1e-9);
        }
        assert_eq!(cp_upper(0, 0, 0.9), 1.0);
        assert_eq!(cp_upper(3, 3, 0.9), 1.0);
    }

    #[test]
    fn halts_needed_is_the_first_certifying_count() {
        assert_eq!(halts_needed(0.95, 0.9), 45);
        assert_eq!(halts_needed(0.95, 0.95), 59);
        assert_eq!(halts_needed(0.6, 0.9), 5);
        assert_eq!(halts_needed(0.55, 0.9), 4);
        assert_eq!(halts_needed(0.0, 0.9), 1);
        // 0 wrong of 20 halts does not certify 0.95 at 0.9; of 45 it does.
        assert!(cp_upper(0, 20, 0.9) > 0.05);
        assert!(cp_upper(0, 45, 0.9) <= 0.05);
    }

    /// `n` runs, the first `bad` of them irrelevant, scored at stage windows by `f`.
    fn stage(window: usize, cut: f64, scores: Vec<Option<f64>>) -> HaltingStage {
        HaltingStage {
            window,
            cut,
            scores,
            regression: false,
        }
    }

    #[test]
    fn windows_add_up_and_the_first_halting_stage_counts() {
        // 60 irrelevant runs, halted at 600 (the first 30, score 1) or at 800; one relevant run
        // reaches the cut at 600 only, another at 800 only (score 0.7 each): one wrong halt per
        // window, two over the windows.
        let mut y = vec![true; 60];
        y.extend(vec![false; 40]);
        let score = |hit: &dyn Fn(usize) -> bool, wrong: usize| -> Vec<Option<f64>> {
            (0..100)
                .map(|i| {
                    Some(if hit(i) {
                        1.0
                    } else if i == wrong {
                        0.7
                    } else {
                        0.0
                    })
                })
                .collect()
        };
        let stages = [
            stage(600, 0.5, score(&|i| i < 30, 60)),
            stage(800, 0.5, score(&|i| i < 60, 61)),
        ];
        let r = JointRule {
            cuts: vec![Some(0.5), Some(0.5)],
        }
        .replay(&stages, &y);
        assert_eq!((r.halts, r.wrong), (62, 2));
        assert_eq!(
            (r.by[0], r.by[45], r.by[60], r.by[61]),
            (Some(0), Some(1), Some(0), Some(1))
        );
        // 2 wrong of 62 bounds the share at 0.084 (0.9), above 0.05: each stage's cut is raised
        // past its wrong halt, leaving 60 clean halts, bound 0.0376.
        let c = certify(&stages, &y, 0.95, 0.9);
        assert!((c.risk.upper - 0.037649).abs() < 1e-6, "{:?}", c.risk);
        assert!(c.risk.certified);
        assert_eq!((c.risk.proposed_halts, c.risk.proposed_wrong), (62, 2));
        assert_eq!((c.risk.halts, c.risk.wrong), (60, 0));
        assert_eq!(c.risk.raised, vec![600, 800]);
        assert!(c.risk.dropped.is_empty());
        assert_eq!(c.rule.cuts, vec![Some(1.0), Some(1.0)]);
        assert_eq!(c.risk.more_runs, None);
        // With one wrong halt that scores like the true ones, the walk cannot raise past it and
        // drops the window.
        let flat = [stage(600, 0.5, score(&|i| i < 60 || i == 61, 0))];
        let c = certify(&flat, &y, 0.95, 0.9);
        assert_eq!((c.risk.proposed_halts, c.risk.proposed_wrong), (61, 1));
        assert!(!c.risk.certified);
        assert_eq!(c.risk.dropped, vec![600]);
        // At the same rates, 126 runs give 77 halts, 1 wrong: bound 0.0497.
        assert_eq!(c.risk.more_runs, more_runs(61, 1, 100, 0.95, 0.9));
        assert_eq!(more_runs(61, 1, 100, 0.95, 0.9), Some(26));
    }

    #[test]
    fn the_regression_rule_joins_the_budget_counted_once_per_run() {
        // 60 irrelevant runs, 40 relevant. A screening stage halts the first 20 irrelevant runs
        // cleanly: 20 halts bound the wrong share at 0.109, not certified at 0.95. The
        // regression rule's largest margins: irrelevant runs 10..60 score 3 (runs 10..20 are
        // halted by both, counted once), one relevant run scores 2, the others 0.
        let mut y = vec![true; 60];
        y.extend(vec![false; 40]);
        let knn: Vec<Option<f64>> = (0..100).map(|i| Some(f64::from(i < 20))).collect();
        let margins: Vec<Option<f64>> = (0..100)
            .map(|i| {
                Some(if (10..60).contains(&i) {
                    3.0
                } else if i == 60 {
                    2.0
                } else {
                    0.0
                })
            })
            .collect();
        // Its own quantile: the smallest positive margin at which it alone reaches 0.95
        // (at 2: 1 wrong of 51 halts, 0.0196 <= 0.05).
        assert_eq!(regression_own_cut(&margins, &y, 0.95), Some(2.0));
        assert_eq!(regression_own_cut(&margins, &y, 0.99), Some(3.0));
        let regression = HaltingStage {
            window: 100,
            cut: 2.0,
            scores: margins,
            regression: true,
        };
        let alone = certify(&[stage(600, 0.5, knn.clone())], &y, 0.95, 0.9);
        assert!(!alone.risk.certified);
        let c = certify(&[stage(600, 0.5, knn), regression], &y, 0.95, 0.9);
        // 61 halts, 1 wrong (bound 0.063) -> the regression quantile is raised past the wrong
        // run: 60 clean halts, each run once.
        assert_eq!((c.risk.proposed_halts, c.risk.proposed_wrong), (61, 1));
        assert_eq!((c.risk.halts, c.risk.wrong), (60, 0));
        assert!(c.risk.certified);
        assert_eq!(c.rule.cuts, vec![Some(0.5), Some(3.0)]);
        // The regression rule is never listed among the screening windows.
        assert_eq!(c.risk.raised, Vec::<usize>::new());
        assert!(c.risk.dropped.is_empty());
    }

    #[test]
    fn twenty_five_runs_certify_nothing() {
        // 25 runs, 10 irrelevant, every one of them halted rightly: 10 clean halts bound the
        // wrong share at 0.206 only, so the rule stays advisory, and about 87 more runs (45
        // halts at 10 per 25 runs: 112 runs) would let it act.
        let mut y = vec![true; 10];
        y.extend(vec![false; 15]);
        let scores: Vec<Option<f64>> = (0..25)
            .map(|i| Some(if i < 10 { 1.0 } else { 0.0 }))
            .collect();
        let c = certify(&[stage(600, 0.5, scores)], &y, 0.95, 0.9);
        assert!(!c.risk.certified);
        assert_eq!((c.risk.halts, c.risk.wrong), (10, 0));
        assert!((c.risk.upper - cp_upper(0, 10, 0.9)).abs() < 1e-12);
        assert!(c.risk.upper > 0.2);
        assert_eq!(c.risk.dropped, vec![600]);
        assert_eq!(c.risk.more_runs, Some(87));
        assert_eq!(more_runs(10, 0, 25, 0.95, 0.9), Some(87));
        // A wrong-halt share at or above 1 − target cannot be certified by more of the same.
        assert_eq!(more_runs(20, 1, 25, 0.95, 0.9), None);
        assert_eq!(more_runs(0, 0, 25, 0.95, 0.9), None);
        // A lower target (0.6) is certified by the same 10 clean halts.
        let scores: Vec<Option<f64>> = (0..25)
            .map(|i| Some(if i < 10 { 1.0 } else { 0.0 }))
            .collect();
        assert!(
            certify(&[stage(100, 0.5, scores)], &y, 0.6, 0.9)
                .risk
                .certified
        );
    }
}
