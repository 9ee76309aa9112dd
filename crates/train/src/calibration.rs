//! Choosing the cuts of a screening stage from out-of-fold scores: the halting cut at a target
//! precision and the early-clearing cut at a tolerated miss rate.

use simforecast_runtime::stage::{Bound, Clearing, Cut};

/// The halting cut chosen out of fold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CutChoice {
    /// The lowest cut meeting the target.
    Reached(Cut),
    /// No cut meets the target: the one with the best guarded precision, None when no
    /// out-of-fold score lies in the range a cut may take.
    Best(Option<Cut>),
}

impl CutChoice {
    pub fn cut(&self) -> Option<Cut> {
        match self {
            CutChoice::Reached(c) => Some(*c),
            CutChoice::Best(c) => *c,
        }
    }
}

/// The cut on out-of-fold scores (None: the run cannot halt, e.g. below a vote floor): the
/// lowest (most recall) cut in `range` at which at least `min_halts` out-of-fold halts are true
/// and the precision, counted with `prior` extra false halts, reaches `target`. Requiring
/// several true halts keeps a cut from being trusted on one or two lucky votes. When no cut
/// qualifies, the one with the best guarded precision is returned as [`CutChoice::Best`].
pub fn choose_cut(
    scored: &[(Option<f64>, bool)],
    target: f64,
    prior: f64,
    min_halts: usize,
    range: CutRange,
) -> CutChoice {
    let positives = scored.iter().filter(|s| s.1).count().max(1) as f64;
    let mut cuts: Vec<f64> = scored
        .iter()
        .filter_map(|s| s.0)
        .filter(|&v| range.admits(v))
        .collect();
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let mut best: Option<(Cut, f64)> = None;
    for &c in &cuts {
        let halted = |irrelevant: bool| {
            scored
                .iter()
                .filter(|s| s.0.is_some_and(|v| v >= c) && s.1 == irrelevant)
                .count()
        };
        let (tp, fp) = (halted(true), halted(false));
        let guarded = tp as f64 / ((tp + fp) as f64 + prior);
        let cut = Cut {
            value: c,
            cv_precision: tp as f64 / (tp + fp) as f64,
            cv_recall: tp as f64 / positives,
            cv_halts: tp + fp,
            cv_true_halts: tp,
        };
        if guarded >= target && tp >= min_halts.max(1) {
            return CutChoice::Reached(cut);
        }
        if best.is_none_or(|b| guarded > b.1) {
            best = Some((cut, guarded));
        }
    }
    CutChoice::Best(best.map(|b| b.0))
}

/// Where cuts of a score may lie: strictly above `above` and at least `floor` (None: no such
/// bound). `clear_below`: runs are cleared as relevant only at scores strictly below it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CutRange {
    pub above: Option<f64>,
    pub floor: Option<f64>,
    pub clear_below: f64,
}

impl CutRange {
    /// Votes: a halt needs a majority and at least `min_cut`; clearing needs a minority.
    pub fn vote(min_cut: f64) -> Self {
        Self {
            above: Some(0.5),
            floor: Some(min_cut),
            clear_below: 0.5,
        }
    }

    /// Margins: a halt needs at least `min_score` (None: any); clearing needs the centre on the
    /// relevant side.
    pub fn margin(min_score: Option<f64>) -> Self {
        Self {
            above: None,
            floor: min_score,
            clear_below: 0.0,
        }
    }

    /// True when `v` may be a halting cut.
    pub fn admits(&self, v: f64) -> bool {
        self.above.is_none_or(|a| v > a) && self.floor.is_none_or(|f| v >= f)
    }

    /// The lowest cut the range allows, for messages (None: unbounded).
    pub fn lowest(&self) -> Option<Bound> {
        let above = self.above.map(|value| Bound {
            value,
            inclusive: false,
        });
        let floor = self.floor.map(|value| Bound {
            value,
            inclusive: true,
        });
        match (above, floor) {
            (Some(a), Some(f)) => Some(if f.value > a.value { f } else { a }),
            (a, f) => a.or(f),
        }
    }
}

/// The highest score at or below which runs are cleared as relevant early: among out-of-fold
/// runs with such scores, the share of irrelevant ones, counted with one extra miss so a handful
/// of lucky runs do not qualify, stays at most `max_miss`. None when no score qualifies.
pub fn choose_relevant_cut(
    scored: &[(f64, bool)],
    max_miss: f64,
    range: CutRange,
) -> Option<Clearing> {
    if max_miss <= 0.0 || scored.is_empty() {
        return None;
    }
    let mut cuts: Vec<f64> = scored
        .iter()
        .map(|s| s.0)
        .filter(|&v| v < range.clear_below)
        .collect();
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let mut chosen = None;
    for &c in &cuts {
        let below: Vec<&(f64, bool)> = scored.iter().filter(|s| s.0 <= c).collect();
        let misses = below.iter().filter(|s| s.1).count() as f64;
        if (misses + 1.0) / (below.len() as f64 + 1.0) <= max_miss {
            chosen = Some(Clearing {
                cut: c,
                cv_share: below.len() as f64 / scored.len() as f64,
                cv_miss: misses / below.len() as f64,
            });
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::{choose_cut, choose_relevant_cut, CutChoice, CutRange};

    /// Votes with labels: `n_true` irrelevant traces at vote 0.9, `n_false` relevant ones at 0.8,
    /// and a bulk of relevant traces at low votes.
    fn scored(n_true: usize, n_false: usize) -> Vec<(Option<f64>, bool)> {
        let mut v = vec![(Some(0.9), true); n_true];
        v.extend(vec![(Some(0.8), false); n_false]);
        v.extend((0..50).map(|i| (Some(i as f64 / 100.0), false)));
        v
    }

    fn reached(c: CutChoice) -> bool {
        matches!(c, CutChoice::Reached(_))
    }

    #[test]
    fn relevant_cut_bounds_the_misses() {
        // 60 clean low votes, then a miss at 0.2: clearing up to 0.1 is allowed, 0.2 is not.
        let mut scored: Vec<(f64, bool)> = (0..60).map(|i| (0.1 * (i % 2) as f64, false)).collect();
        scored.push((0.2, true));
        scored.extend((0..10).map(|_| (0.2, false)));
        scored.extend((0..5).map(|_| (0.9, true)));
        let c = choose_relevant_cut(&scored, 0.02, CutRange::vote(0.5)).unwrap();
        assert_eq!(c.cut, 0.1);
        assert!((c.cv_share - 60.0 / 76.0).abs() < 1e-12);
        assert_eq!(c.cv_miss, 0.0);
        // Too few runs to trust: one extra miss counted makes 1/(n+1) > 0.02.
        assert_eq!(
            choose_relevant_cut(&scored[..30], 0.02, CutRange::vote(0.5)),
            None
        );
        assert_eq!(choose_relevant_cut(&scored, 0.0, CutRange::vote(0.5)), None);
    }

    #[test]
    fn margin_range_skips_runs_below_the_vote_floor() {
        // Runs the vote floor excludes cannot halt and never become a cut, even with no score
        // floor.
        let mut s: Vec<(Option<f64>, bool)> = vec![(None, false); 20];
        s.extend((0..6).map(|i| (Some(0.2 + 0.1 * i as f64), true)));
        s.push((Some(0.1), false));
        let CutChoice::Reached(cut) = choose_cut(&s, 0.95, 0.0, 5, CutRange::margin(None)) else {
            panic!("six clean true halts reach the target");
        };
        assert_eq!((cut.value, cut.cv_halts, cut.cv_true_halts), (0.2, 6, 6));
        assert_eq!(cut.cv_precision, 1.0);
        // A score floor above every true halt leaves the stage without a cut.
        assert_eq!(
            choose_cut(&s, 0.95, 0.0, 1, CutRange::margin(Some(1.0))),
            CutChoice::Best(None)
        );
        // Clearing only below 0 (centre on the relevant side).
        let plain: Vec<(f64, bool)> = s.iter().filter_map(|&(v, y)| v.map(|v| (v, y))).collect();
        let with_negative: Vec<(f64, bool)> = plain
            .iter()
            .copied()
            .chain((0..60).map(|i| (-1.0 - i as f64, false)))
            .collect();
        let rc = choose_relevant_cut(&with_negative, 0.5, CutRange::margin(Some(0.0))).unwrap();
        assert!(rc.cut < 0.0);
        assert_eq!(
            choose_relevant_cut(&plain, 0.5, CutRange::margin(None)),
            None
        );
    }

    #[test]
    fn margin_value_is_signed_and_scaled() {
        use simforecast_runtime::model::Direction;
        use simforecast_runtime::stage::margin_value;
        let t = 33.1f64.ln();
        // Neighbours centred at ln 90, spread 0.5, floor 0.1: margin ln(90/33.1), scaled by 0.6.
        let m = margin_value(false, Direction::Above, 90f64.ln(), 0.5, t, 0.1);
        assert!((m - (90.0f64 / 33.1).ln()).abs() < 1e-12);
        let z = margin_value(true, Direction::Above, 90f64.ln(), 0.5, t, 0.1);
        assert!((z - m / 0.6).abs() < 1e-12);
        // Direction Below flips the sign: a high centre is far on the relevant side.
        assert!(margin_value(true, Direction::Below, 90f64.ln(), 0.5, t, 0.1) < 0.0);
    }

    #[test]
    fn cut_needs_min_halts() {
        // 4 clean true halts above every false one: enough for min_halts 4, not for 5.
        let s = scored(4, 1);
        let CutChoice::Reached(cut) = choose_cut(&s, 0.95, 0.0, 4, CutRange::vote(0.5)) else {
            panic!("four clean true halts reach min_halts = 4");
        };
        assert_eq!(
            (cut.value, cut.cv_precision, cut.cv_recall, cut.cv_halts),
            (0.9, 1.0, 1.0, 4)
        );
        // Not enough for 5: the best cut is reported, with its four true halts.
        let CutChoice::Best(Some(best)) = choose_cut(&s, 0.95, 0.0, 5, CutRange::vote(0.5)) else {
            panic!("four true halts must not satisfy min_halts = 5");
        };
        assert_eq!((best.value, best.cv_true_halts), (0.9, 4));
    }

    #[test]
    fn cut_respects_vote_floor() {
        // The clean cut is at 0.9; a floor above it leaves no cut.
        let s = scored(6, 0);
        assert!(reached(choose_cut(&s, 0.95, 0.0, 1, CutRange::vote(0.9))));
        assert_eq!(
            choose_cut(&s, 0.95, 0.0, 1, CutRange::vote(0.95)),
            CutChoice::Best(None)
        );
        let bound = |r: CutRange| r.lowest().map(|b| b.to_string());
        assert_eq!(bound(CutRange::vote(0.8)).as_deref(), Some(">= 0.800"));
        assert_eq!(bound(CutRange::vote(0.5)).as_deref(), Some("> 0.500"));
        assert_eq!(bound(CutRange::vote(0.3)).as_deref(), Some("> 0.500"));
        assert_eq!(
            bound(CutRange::margin(Some(0.0))).as_deref(),
            Some(">= 0.000")
        );
        assert_eq!(CutRange::margin(None).lowest(), None);
    }

    #[test]
    fn cut_prior_counts_as_false_halts() {
        // 10 true halts, no false one: 10 / (10 + 1) < 0.95 with a prior of one false halt.
        let s = scored(10, 0);
        assert!(reached(choose_cut(&s, 0.95, 0.0, 1, CutRange::vote(0.5))));
        assert!(!reached(choose_cut(&s, 0.95, 1.0, 1, CutRange::vote(0.5))));
    }

    #[test]
    fn cut_takes_lowest_qualifying_vote() {
        // 19 true at 0.9 and one false at 0.8: precision 0.95 at cut 0.8, so 0.8 is chosen
        // (more recall is not possible, but the lower cut is the documented choice).
        let s = scored(19, 1);
        let CutChoice::Reached(cut) = choose_cut(&s, 0.95, 0.0, 1, CutRange::vote(0.5)) else {
            panic!("precision 0.95 at 0.8 reaches the target");
        };
        assert_eq!((cut.value, cut.cv_halts), (0.8, 20));
        assert!((cut.cv_precision - 0.95).abs() < 1e-12);
        // No positive at all: no usable cut, nothing reached.
        let none: Vec<(Option<f64>, bool)> =
            (0..10).map(|i| (Some(i as f64 / 10.0), false)).collect();
        assert!(!reached(choose_cut(
            &none,
            0.95,
            0.0,
            1,
            CutRange::vote(0.5)
        )));
    }
}
