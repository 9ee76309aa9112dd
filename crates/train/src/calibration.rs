//! Choosing the cuts of a screening stage from out-of-fold scores: the halting cut at a target
//! precision and the early-clearing cut at a tolerated miss rate.

/// The cut on out-of-fold votes: the lowest (most recall) cut above one half at which at least
/// `min_halts` out-of-fold halts are true and the precision, counted with `prior` extra false
/// halts, reaches `target`. Requiring several true halts keeps a cut from being trusted on one or
/// two lucky votes. Returns (cut, precision, recall, halts, reached); when no cut qualifies, the
/// best guarded precision is reported and `reached` is false.
pub fn choose_cut(
    scored: &[(f64, bool)],
    target: f64,
    prior: f64,
    min_halts: usize,
    range: CutRange,
) -> (f64, f64, f64, usize, bool) {
    let positives = scored.iter().filter(|s| s.1).count().max(1) as f64;
    let mut cuts: Vec<f64> = scored
        .iter()
        .map(|s| s.0)
        .filter(|&v| v > range.above && v >= range.floor)
        .collect();
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let mut best: Option<(f64, f64, f64, usize, f64)> = None;
    for &c in &cuts {
        let tp = scored.iter().filter(|s| s.0 >= c && s.1).count() as f64;
        let fp = scored.iter().filter(|s| s.0 >= c && !s.1).count() as f64;
        let guarded = tp / (tp + fp + prior);
        let precision = tp / (tp + fp);
        let recall = tp / positives;
        let halts = (tp + fp) as usize;
        if guarded >= target && tp >= min_halts.max(1) as f64 {
            return (c, precision, recall, halts, true);
        }
        if best.is_none_or(|b| guarded > b.4) {
            best = Some((c, precision, recall, halts, guarded));
        }
    }
    match best {
        Some((c, p, r, h, _)) => (c, p, r, h, false),
        None => (range.none, f64::NAN, 0.0, 0, false),
    }
}

/// Where cuts of a score may lie: strictly above `above`, at least `floor`; `none` when no score
/// qualifies. `clear_below`: runs are cleared as relevant only at scores strictly below it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CutRange {
    pub above: f64,
    pub floor: f64,
    pub none: f64,
    pub clear_below: f64,
    /// The relevant cut that never clears.
    pub never: f64,
}

impl CutRange {
    /// Votes: a halt needs a majority and at least `min_cut`; clearing needs a minority.
    pub fn vote(min_cut: f64) -> Self {
        Self {
            above: 0.5,
            floor: min_cut,
            none: 1.0,
            clear_below: 0.5,
            never: -1.0,
        }
    }

    /// Margins: a halt needs at least `min_score`; clearing needs the centre on the relevant side.
    pub fn margin(min_score: f64) -> Self {
        Self {
            above: f64::NEG_INFINITY,
            floor: min_score,
            none: f64::MAX,
            clear_below: 0.0,
            never: f64::MIN,
        }
    }
}

/// The highest vote at or below which runs are cleared as relevant early: among out-of-fold runs
/// with such votes, the share of irrelevant ones, counted with one extra miss so a handful of
/// lucky runs do not qualify, stays at most `max_miss`. Returns (cut, share of runs cleared, miss
/// rate among them); cut `range.never` when no score qualifies.
pub fn choose_relevant_cut(
    scored: &[(f64, bool)],
    max_miss: f64,
    range: CutRange,
) -> (f64, f64, f64) {
    let mut none = (range.never, 0.0, f64::NAN);
    if max_miss <= 0.0 || scored.is_empty() {
        return none;
    }
    let mut cuts: Vec<f64> = scored
        .iter()
        .map(|s| s.0)
        .filter(|&v| v < range.clear_below)
        .collect();
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    for &c in &cuts {
        let below: Vec<&(f64, bool)> = scored.iter().filter(|s| s.0 <= c).collect();
        let misses = below.iter().filter(|s| s.1).count() as f64;
        if (misses + 1.0) / (below.len() as f64 + 1.0) <= max_miss {
            none = (
                c,
                below.len() as f64 / scored.len() as f64,
                misses / below.len() as f64,
            );
        }
    }
    none
}

#[cfg(test)]
mod tests {
    use super::{choose_cut, choose_relevant_cut, CutRange};

    /// Votes with labels: `n_true` irrelevant traces at vote 0.9, `n_false` relevant ones at 0.8,
    /// and a bulk of relevant traces at low votes.
    fn scored(n_true: usize, n_false: usize) -> Vec<(f64, bool)> {
        let mut v = vec![(0.9, true); n_true];
        v.extend(vec![(0.8, false); n_false]);
        v.extend((0..50).map(|i| (i as f64 / 100.0, false)));
        v
    }

    #[test]
    fn relevant_cut_bounds_the_misses() {
        // 60 clean low votes, then a miss at 0.2: clearing up to 0.1 is allowed, 0.2 is not.
        let mut scored: Vec<(f64, bool)> = (0..60).map(|i| (0.1 * (i % 2) as f64, false)).collect();
        scored.push((0.2, true));
        scored.extend((0..10).map(|_| (0.2, false)));
        scored.extend((0..5).map(|_| (0.9, true)));
        let (cut, share, miss) = choose_relevant_cut(&scored, 0.02, CutRange::vote(0.5));
        assert_eq!(cut, 0.1);
        assert!((share - 60.0 / 76.0).abs() < 1e-12);
        assert_eq!(miss, 0.0);
        // Too few runs to trust: one extra miss counted makes 1/(n+1) > 0.02.
        let (cut, ..) = choose_relevant_cut(&scored[..30], 0.02, CutRange::vote(0.5));
        assert_eq!(cut, -1.0);
        assert_eq!(
            choose_relevant_cut(&scored, 0.0, CutRange::vote(0.5)).0,
            -1.0
        );
    }

    #[test]
    fn margin_range_skips_runs_below_the_vote_floor() {
        // Runs the vote floor excludes carry −∞ and never become a cut, even with no score floor.
        let mut s: Vec<(f64, bool)> = vec![(f64::NEG_INFINITY, false); 20];
        s.extend((0..6).map(|i| (0.2 + 0.1 * i as f64, true)));
        s.push((0.1, false));
        let (cut, p, _, h, ok) = choose_cut(&s, 0.95, 0.0, 5, CutRange::margin(f64::MIN));
        assert!(ok);
        assert_eq!((cut, h), (0.2, 6));
        assert_eq!(p, 1.0);
        // A score floor above every true halt leaves the stage without a cut.
        let (cut, _, _, _, ok) = choose_cut(&s, 0.95, 0.0, 1, CutRange::margin(1.0));
        assert!(!ok);
        assert_eq!(cut, f64::MAX);
        // Clearing only below 0 (centre on the relevant side), never for the −∞ runs' sake alone.
        let (rc, ..) = choose_relevant_cut(&s, 0.5, CutRange::margin(0.0));
        assert!(rc < 0.0);
    }

    #[test]
    fn margin_score_is_signed_and_scaled() {
        use simforecast_runtime::stage::{margin_score, ScreenScore};
        let t = 33.1f64.ln();
        // Neighbours centred at ln 90, spread 0.5, floor 0.1: margin ln(90/33.1), scaled by 0.6.
        let m = margin_score(ScreenScore::Margin, 1.0, 90f64.ln(), 0.5, t, 0.1);
        assert!((m - (90.0f64 / 33.1).ln()).abs() < 1e-12);
        let z = margin_score(ScreenScore::ScaledMargin, 1.0, 90f64.ln(), 0.5, t, 0.1);
        assert!((z - m / 0.6).abs() < 1e-12);
        // Direction Below flips the sign: a high centre is far on the relevant side.
        assert!(margin_score(ScreenScore::ScaledMargin, -1.0, 90f64.ln(), 0.5, t, 0.1) < 0.0);
    }

    #[test]
    fn cut_needs_min_halts() {
        // 4 clean true halts above every false one: enough for min_halts 4, not for 5.
        let s = scored(4, 1);
        let (cut, p, r, h, ok) = choose_cut(&s, 0.95, 0.0, 4, CutRange::vote(0.5));
        assert!(ok);
        assert_eq!((cut, p, r, h), (0.9, 1.0, 1.0, 4));
        let (_, _, _, _, ok) = choose_cut(&s, 0.95, 0.0, 5, CutRange::vote(0.5));
        assert!(!ok, "four true halts must not satisfy min_halts = 5");
    }

    #[test]
    fn cut_respects_vote_floor() {
        // The clean cut is at 0.9; a floor above it leaves no cut.
        let s = scored(6, 0);
        assert!(choose_cut(&s, 0.95, 0.0, 1, CutRange::vote(0.9)).4);
        let (cut, _, _, h, ok) = choose_cut(&s, 0.95, 0.0, 1, CutRange::vote(0.95));
        assert!(!ok);
        assert_eq!((cut, h), (1.0, 0));
    }

    #[test]
    fn cut_prior_counts_as_false_halts() {
        // 10 true halts, no false one: 10 / (10 + 1) < 0.95 with a prior of one false halt.
        let s = scored(10, 0);
        assert!(choose_cut(&s, 0.95, 0.0, 1, CutRange::vote(0.5)).4);
        assert!(!choose_cut(&s, 0.95, 1.0, 1, CutRange::vote(0.5)).4);
    }

    #[test]
    fn cut_takes_lowest_qualifying_vote() {
        // 19 true at 0.9 and one false at 0.8: precision 0.95 at cut 0.8, so 0.8 is chosen
        // (more recall is not possible, but the lower cut is the documented choice).
        let s = scored(19, 1);
        let (cut, p, _, h, ok) = choose_cut(&s, 0.95, 0.0, 1, CutRange::vote(0.5));
        assert!(ok);
        assert_eq!((cut, h), (0.8, 20));
        assert!((p - 0.95).abs() < 1e-12);
        // No positive at all: no usable cut, nothing reached.
        let none: Vec<(f64, bool)> = (0..10).map(|i| (i as f64 / 10.0, false)).collect();
        assert!(!choose_cut(&none, 0.95, 0.0, 1, CutRange::vote(0.5)).4);
    }
}
