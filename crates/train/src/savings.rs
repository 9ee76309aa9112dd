//! Compute saved at a tolerance, counted the same way for every mode (model, own statistics, a
//! baseline): a run costs the frames simulated until the tool stopped it, and a stop counts only
//! if the user could bank what it left.
//!
//! - A halt (the run is not worth finishing) costs the frames up to the halt.
//! - A stop at an estimate of μ costs the frames up to the stop only if the estimate is as precise
//!   as the user asked: its interval's relative half-width (hi − lo) / 2 / |mid| is within the
//!   tolerance t. A wider estimate replaces nothing: the user runs that run to its end.
//! - A run the tool never stopped costs its full length.
//!
//! Compute saved is full frames / frames simulated (a ratio, 1 = nothing saved) and
//! 1 − simulated / full (a share). Beside it, what the banked estimates are worth: how many of
//! their intervals cover μ, and how many miss μ by more than t.
//!
//! A tool that offers several estimates for a run (a model's forecasting windows, a baseline at
//! each window) is described by its [`RunPath`]: at tolerance t the run stops at its halt or at
//! its first estimate within t, whichever comes first. [`SavingsSummary`] sums the accounting
//! over repeated splits.

use serde::{Deserialize, Serialize};

use crate::metrics::MeanStd;
use simforecast_runtime::error::{Error, Result};
use simforecast_runtime::stage::StopPoint;

/// The tolerance a campaign's headline is banked at: ±25 %, a usual precision for rheology.
pub const DEFAULT_BANK_AT: f64 = 0.25;

/// Where and why the tool stopped a run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Stop {
    /// Halted as not worth finishing after `frame` frames.
    Halted { frame: usize },
    /// Stopped after `frame` frames with the interval [lo, hi] for μ.
    Estimate { frame: usize, lo: f64, hi: f64 },
    /// Never stopped: ran all its frames.
    RanToEnd,
}

/// One run as the accounting sees it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStop {
    pub stop: Stop,
    /// Frames of the full run.
    pub len: usize,
    /// The run's true result (mean of its tail).
    pub mu: f64,
}

impl RunStop {
    fn check(&self, i: usize) -> Result<()> {
        let bad = |what: String| Err(Error::InvalidArgument(format!("run {i}: {what}")));
        if self.len == 0 {
            return bad("has no frames".into());
        }
        if !self.mu.is_finite() {
            return bad(format!("mu must be finite, got {}", self.mu));
        }
        match self.stop {
            Stop::Halted { frame } | Stop::Estimate { frame, .. }
                if frame == 0 || frame > self.len =>
            {
                bad(format!(
                    "stopped after {frame} frames, not within 1..={}",
                    self.len
                ))
            }
            Stop::Estimate { lo, hi, .. } if !(lo.is_finite() && hi.is_finite() && lo <= hi) => {
                bad(format!("interval [{lo}, {hi}] is not a finite interval"))
            }
            _ => Ok(()),
        }
    }
}

/// An interval's relative half-width (hi − lo) / 2 / |mid|: the runtime's one definition, the
/// measure a model's tolerance bounds.
pub use simforecast_runtime::stage::forecast::relative_half_width;

/// The accounting at one tolerance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Savings {
    pub tolerance: f64,
    pub runs: usize,
    /// Frames of all runs run to their ends.
    pub full_frames: u64,
    /// Frames simulated with the tool.
    pub frames_simulated: u64,
    /// full_frames / frames_simulated (1 = nothing saved).
    pub saved_ratio: f64,
    /// 1 − frames_simulated / full_frames.
    pub saved_share: f64,
    pub halted: usize,
    /// Estimates within the tolerance: the runs stopped at them.
    pub banked: usize,
    /// Banked intervals that contain μ (the others missed it).
    pub covered: usize,
    /// Estimates wider than the tolerance: those runs count as run to their ends.
    pub too_wide: usize,
    /// Runs never stopped.
    pub ran_to_end: usize,
    /// Share of the banked intervals that contain μ; None when nothing was banked.
    pub coverage: Option<f64>,
    /// Share of the banked estimates (interval middles) within ±t of μ; None when nothing was
    /// banked.
    pub within_tolerance: Option<f64>,
    /// Banked estimates whose middle misses μ by more than t·|μ|.
    pub missed: usize,
}

/// The accounting of `runs` at tolerance `t`. Refuses an empty list, a non-positive tolerance
/// and runs that do not make sense (stop past the end, non-finite μ or interval).
pub fn savings(runs: &[RunStop], t: f64) -> Result<Savings> {
    if !(t.is_finite() && t > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "tolerance must be a positive relative half-width, got {t}"
        )));
    }
    if runs.is_empty() {
        return Err(Error::InvalidArgument(
            "no runs to account for: compute saved needs at least one".into(),
        ));
    }
    let mut s = Savings {
        tolerance: t,
        runs: runs.len(),
        full_frames: 0,
        frames_simulated: 0,
        saved_ratio: 1.0,
        saved_share: 0.0,
        halted: 0,
        banked: 0,
        covered: 0,
        too_wide: 0,
        ran_to_end: 0,
        coverage: None,
        within_tolerance: None,
        missed: 0,
    };
    let mut within = 0usize;
    for (i, r) in runs.iter().enumerate() {
        r.check(i)?;
        s.full_frames += r.len as u64;
        let simulated = match r.stop {
            Stop::Halted { frame } => {
                s.halted += 1;
                frame
            }
            Stop::Estimate { frame, lo, hi } => {
                if relative_half_width(lo, hi).is_some_and(|w| w <= t) {
                    s.banked += 1;
                    s.covered += usize::from(lo <= r.mu && r.mu <= hi);
                    let mid = (lo + hi) / 2.0;
                    if (mid - r.mu).abs() <= t * r.mu.abs() {
                        within += 1;
                    } else {
                        s.missed += 1;
                    }
                    frame
                } else {
                    s.too_wide += 1;
                    r.len
                }
            }
            Stop::RanToEnd => {
                s.ran_to_end += 1;
                r.len
            }
        };
        s.frames_simulated += simulated as u64;
    }
    s.saved_ratio = s.full_frames as f64 / s.frames_simulated as f64;
    s.saved_share = 1.0 - s.frames_simulated as f64 / s.full_frames as f64;
    if s.banked > 0 {
        s.coverage = Some(s.covered as f64 / s.banked as f64);
        s.within_tolerance = Some(within as f64 / s.banked as f64);
    }
    Ok(s)
}

/// The tolerances of the honest curve: 0.10, 0.15, …, 1.00.
pub fn curve_tolerances() -> impl Iterator<Item = f64> {
    (10..=100).step_by(5).map(|p| p as f64 / 100.0)
}

/// The accounting at every tolerance of [`curve_tolerances`].
pub fn curve(runs: &[RunStop]) -> Result<Vec<Savings>> {
    curve_tolerances().map(|t| savings(runs, t)).collect()
}

/// An estimate a tool offers for a run after `frame` frames: the interval [lo, hi] for μ.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub frame: usize,
    pub lo: f64,
    pub hi: f64,
}

impl Offer {
    fn within(&self, t: f64) -> bool {
        relative_half_width(self.lo, self.hi).is_some_and(|w| w <= t)
    }

    fn stop(&self) -> Stop {
        Stop::Estimate {
            frame: self.frame,
            lo: self.lo,
            hi: self.hi,
        }
    }
}

/// A regression stage's estimate after `frame` frames, before a stop rule is chosen: ln μ̂ and
/// its interval's scale. At tolerance t the model's stop rule in force banks it when its scale is
/// within the rule's threshold, with the interval ln μ̂ ± quantile · scale.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaledOffer {
    pub frame: usize,
    pub centre: f64,
    pub scale: f64,
}

/// Everything a tool would do to one run that nobody stopped: the frame of its halt, and the
/// estimates it would offer, in frame order (those at or after the halt are never offered).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunPath {
    /// Frames of the full run.
    pub len: usize,
    /// The run's true result.
    pub mu: f64,
    pub halt: Option<usize>,
    pub offers: Vec<Offer>,
    /// Regression stages' estimates, and the model's stop rules that bank them (empty: none).
    #[serde(default)]
    pub scaled: Vec<ScaledOffer>,
    #[serde(default)]
    pub rules: Vec<StopPoint>,
}

impl RunPath {
    /// Where the run stops at tolerance `t`: at the first offer within t if it comes before the
    /// halt, else at the halt; a run with neither stops at its first offer, which the
    /// accounting counts as too wide (run to its end), or runs to its end without one.
    pub fn stop_at(&self, t: f64) -> RunStop {
        let before_halt = |o: &&Offer| self.halt.is_none_or(|h| o.frame < h);
        let knn = self.offers.iter().filter(before_halt).find(|o| o.within(t));
        // The regression stages' offer: the first window within the stop rule in force at t
        // (the loosest rule whose half-width is within t), with that rule's interval.
        let rule = self.rules.iter().rev().find(|p| p.tolerance <= t);
        let regression = rule.and_then(|p| {
            self.scaled
                .iter()
                .find(|o| o.scale <= p.max_scale)
                .map(|o| Offer {
                    frame: o.frame,
                    lo: (o.centre - p.quantile * o.scale).exp(),
                    hi: (o.centre + p.quantile * o.scale).exp(),
                })
        });
        let regression = regression.filter(|o| before_halt(&o));
        let banked = match (knn, regression.as_ref()) {
            (Some(k), Some(r)) => Some(if r.frame < k.frame { r } else { k }),
            (k, r) => k.or(r),
        };
        let stop = match (banked, self.halt) {
            (Some(o), _) => o.stop(),
            (None, Some(frame)) => Stop::Halted { frame },
            // A regression stage never offers an interval wider than the tolerance.
            (None, None) => self.offers.first().map_or(Stop::RanToEnd, Offer::stop),
        };
        RunStop {
            stop,
            len: self.len,
            mu: self.mu,
        }
    }
}

/// The accounting of `paths` at tolerance `t`, each run stopped as [`RunPath::stop_at`] says.
pub fn path_savings(paths: &[RunPath], t: f64) -> Result<Savings> {
    let stops: Vec<RunStop> = paths.iter().map(|p| p.stop_at(t)).collect();
    savings(&stops, t)
}

/// The accounting summed over repeated splits (each a list of runs) at one tolerance: the
/// ratios and counts as mean ± std over splits, the banked estimates pooled (coverage is their
/// share that contains μ, every banked estimate counted once, whatever the run turned out to be).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavingsSummary {
    pub tolerance: f64,
    pub splits: usize,
    pub saved_ratio: MeanStd,
    pub saved_share: MeanStd,
    /// Runs per split: halted, stopped at an estimate within t, not stopped (run to their end,
    /// with or without a wider estimate), and of those the ones with a wider estimate.
    pub halted: MeanStd,
    pub banked: MeanStd,
    pub unstopped: MeanStd,
    pub too_wide: MeanStd,
    /// Over every split: estimates banked, their intervals that missed μ, and their middles
    /// off μ by more than t.
    pub banked_total: usize,
    pub intervals_missed: usize,
    pub estimates_off: usize,
    /// Share of the banked intervals that contain μ, pooled; None when nothing was banked.
    pub coverage: Option<f64>,
}

impl SavingsSummary {
    /// None without splits, or with splits accounted at different tolerances.
    pub fn of(splits: &[Savings]) -> Option<Self> {
        let first = splits.first()?;
        if splits.iter().any(|s| s.tolerance != first.tolerance) {
            return None;
        }
        let m = |f: &dyn Fn(&Savings) -> f64| MeanStd::of(splits.iter().map(|s| Some(f(s))));
        let banked_total: usize = splits.iter().map(|s| s.banked).sum();
        let covered: usize = splits.iter().map(|s| s.covered).sum();
        Some(Self {
            tolerance: first.tolerance,
            splits: splits.len(),
            saved_ratio: m(&|s| s.saved_ratio)?,
            saved_share: m(&|s| s.saved_share)?,
            halted: m(&|s| s.halted as f64)?,
            banked: m(&|s| s.banked as f64)?,
            unstopped: m(&|s| (s.ran_to_end + s.too_wide) as f64)?,
            too_wide: m(&|s| s.too_wide as f64)?,
            banked_total,
            intervals_missed: banked_total - covered,
            estimates_off: splits.iter().map(|s| s.missed).sum(),
            coverage: (banked_total > 0).then(|| covered as f64 / banked_total as f64),
        })
    }

    /// The accounting of every split's runs at tolerance `t`.
    pub fn at(splits: &[Vec<RunPath>], t: f64) -> Result<Self> {
        let per_split = splits
            .iter()
            .map(|p| path_savings(p, t))
            .collect::<Result<Vec<_>>>()?;
        Self::of(&per_split).ok_or_else(|| {
            Error::InvalidArgument("no split to account for: compute saved needs one".into())
        })
    }

    /// [`SavingsSummary::at`] at every tolerance of [`curve_tolerances`].
    pub fn curve(splits: &[Vec<RunPath>]) -> Result<Vec<Self>> {
        curve_tolerances().map(|t| Self::at(splits, t)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stop: Stop, len: usize, mu: f64) -> RunStop {
        RunStop { stop, len, mu }
    }

    fn campaign() -> Vec<RunStop> {
        vec![
            // Halted at 200 of 1000.
            run(Stop::Halted { frame: 200 }, 1000, 50.0),
            // Banked at ±10 %, covers μ = 10.
            run(
                Stop::Estimate {
                    frame: 100,
                    lo: 9.0,
                    hi: 11.0,
                },
                1000,
                10.0,
            ),
            // Banked at ±20 %, misses μ = 14 by 40 %.
            run(
                Stop::Estimate {
                    frame: 300,
                    lo: 8.0,
                    hi: 12.0,
                },
                1000,
                14.0,
            ),
            // ±50 %: banked only from t = 0.5 on, covers μ = 12.
            run(
                Stop::Estimate {
                    frame: 400,
                    lo: 5.0,
                    hi: 15.0,
                },
                1000,
                12.0,
            ),
            run(Stop::RanToEnd, 1000, 20.0),
        ]
    }

    #[test]
    fn stops_count_only_within_the_tolerance() {
        let runs = campaign();
        let s = savings(&runs, 0.25).unwrap();
        assert_eq!(s.full_frames, 5000);
        // 200 + 100 + 300 + 1000 (too wide) + 1000.
        assert_eq!(s.frames_simulated, 2600);
        assert!((s.saved_ratio - 5000.0 / 2600.0).abs() < 1e-12);
        assert!((s.saved_share - 0.48).abs() < 1e-12);
        assert_eq!((s.halted, s.banked, s.too_wide, s.ran_to_end), (1, 2, 1, 1));
        assert_eq!(s.coverage, Some(0.5));
        assert_eq!(s.within_tolerance, Some(0.5));
        assert_eq!(s.missed, 1);

        let s = savings(&runs, 0.5).unwrap();
        assert_eq!(s.frames_simulated, 2000);
        assert_eq!((s.banked, s.too_wide), (3, 0));
        assert_eq!(s.coverage, Some(2.0 / 3.0));
        // |10 − 14| / 14 = 0.29 ≤ 0.5: within at this tolerance.
        assert_eq!((s.missed, s.within_tolerance), (0, Some(1.0)));

        let s = savings(&runs, 0.05).unwrap();
        assert_eq!((s.banked, s.too_wide), (0, 3));
        assert_eq!(s.frames_simulated, 4200);
        assert_eq!((s.coverage, s.within_tolerance), (None, None));
    }

    #[test]
    fn nothing_stopped_saves_nothing() {
        let runs = [
            run(Stop::RanToEnd, 1500, 3.0),
            run(Stop::RanToEnd, 1700, 4.0),
        ];
        let s = savings(&runs, 0.25).unwrap();
        assert_eq!((s.saved_ratio, s.saved_share), (1.0, 0.0));
    }

    #[test]
    fn an_interval_around_zero_is_never_within_a_relative_tolerance() {
        assert_eq!(relative_half_width(-1.0, 1.0), None);
        let runs = [run(
            Stop::Estimate {
                frame: 10,
                lo: -1.0,
                hi: 1.0,
            },
            100,
            0.1,
        )];
        let s = savings(&runs, 1.0).unwrap();
        assert_eq!((s.banked, s.too_wide, s.frames_simulated), (0, 1, 100));
    }

    #[test]
    fn the_curve_grows_with_the_tolerance() {
        let c = curve(&campaign()).unwrap();
        let ts: Vec<f64> = c.iter().map(|s| s.tolerance).collect();
        assert_eq!(ts.len(), 19);
        assert!((ts[0] - 0.10).abs() < 1e-12 && (ts[18] - 1.0).abs() < 1e-12);
        for w in c.windows(2) {
            assert!(w[1].saved_ratio >= w[0].saved_ratio);
            assert!(w[1].banked >= w[0].banked);
        }
        assert_eq!(c[0].banked, 1); // only the ±10 % estimate
        assert_eq!(c[18].banked, 3);
    }

    #[test]
    fn nonsense_is_refused_naming_the_run() {
        let bad = [
            (run(Stop::Halted { frame: 0 }, 10, 1.0), "not within 1..=10"),
            (
                run(Stop::Halted { frame: 11 }, 10, 1.0),
                "not within 1..=10",
            ),
            (run(Stop::RanToEnd, 0, 1.0), "no frames"),
            (run(Stop::RanToEnd, 10, f64::NAN), "mu must be finite"),
            (
                run(
                    Stop::Estimate {
                        frame: 5,
                        lo: 2.0,
                        hi: 1.0,
                    },
                    10,
                    1.0,
                ),
                "not a finite interval",
            ),
        ];
        for (r, want) in bad {
            let msg = savings(&[run(Stop::RanToEnd, 5, 1.0), r], 0.25)
                .unwrap_err()
                .to_string();
            assert!(msg.contains("run 1") && msg.contains(want), "{msg}");
        }
        assert!(savings(&[], 0.25).is_err());
        assert!(savings(&campaign(), 0.0).is_err());
        assert!(savings(&campaign(), f64::NAN).is_err());
    }

    fn offer(frame: usize, lo: f64, hi: f64) -> Offer {
        Offer { frame, lo, hi }
    }

    /// Five runs of 1000 frames as a model would treat them.
    fn paths() -> Vec<RunPath> {
        let path = |mu: f64, halt: Option<usize>, offers: Vec<Offer>| RunPath {
            len: 1000,
            mu,
            halt,
            offers,
            scaled: Vec::new(),
            rules: Vec::new(),
        };
        vec![
            // A doomed run cleared early, offered a wide forecast, then halted at 600.
            path(60.0, Some(600), vec![offer(200, 10.0, 50.0)]),
            // A doomed run the tool wrongly trusts: a ±10 % forecast at 300 that misses μ = 60,
            // before its halt at 800.
            path(60.0, Some(800), vec![offer(300, 27.0, 33.0)]),
            // A good run: too wide at 200 (±50 %), within ±20 % at 400, covering μ = 10.
            path(
                10.0,
                None,
                vec![offer(200, 5.0, 15.0), offer(400, 8.0, 12.0)],
            ),
            // A good run offered only forecasts wider than ±25 %.
            path(
                20.0,
                None,
                vec![offer(200, 5.0, 35.0), offer(400, 10.0, 30.0)],
            ),
            // A run never cleared: nothing offered.
            path(30.0, None, vec![]),
        ]
    }

    #[test]
    fn a_run_stops_at_its_halt_or_its_first_forecast_within_the_tolerance() {
        let p = paths();
        let at = |i: usize, t: f64| p[i].stop_at(t).stop;
        assert_eq!(at(0, 0.25), Stop::Halted { frame: 600 });
        // At ±70 % the wide forecast at 200 comes before the halt: the run stops there.
        assert_eq!(
            at(0, 0.7),
            Stop::Estimate {
                frame: 200,
                lo: 10.0,
                hi: 50.0
            }
        );
        assert_eq!(
            at(1, 0.25),
            Stop::Estimate {
                frame: 300,
                lo: 27.0,
                hi: 33.0
            }
        );
        assert_eq!(
            at(2, 0.25),
            Stop::Estimate {
                frame: 400,
                lo: 8.0,
                hi: 12.0
            }
        );
        // Only wider forecasts: the first is kept, and the accounting runs the run to its end.
        assert!(matches!(at(3, 0.25), Stop::Estimate { frame: 200, .. }));
        assert_eq!(at(4, 0.25), Stop::RanToEnd);
        // An offer at or after the halt is never made.
        let late = RunPath {
            len: 1000,
            mu: 50.0,
            halt: Some(600),
            offers: vec![offer(600, 49.0, 51.0), offer(800, 49.0, 51.0)],
            scaled: Vec::new(),
            rules: Vec::new(),
        };
        assert_eq!(late.stop_at(0.25).stop, Stop::Halted { frame: 600 });
    }

    #[test]
    fn path_accounting_counts_halts_misses_and_wide_forecasts() {
        let s = path_savings(&paths(), 0.25).unwrap();
        // 600 (halt) + 300 (banked, missed) + 400 (banked) + 1000 (too wide) + 1000.
        assert_eq!((s.full_frames, s.frames_simulated), (5000, 3300));
        assert_eq!((s.halted, s.banked, s.too_wide, s.ran_to_end), (1, 2, 1, 1));
        // The doomed run's banked forecast counts in coverage and misses μ by far.
        assert_eq!((s.covered, s.coverage, s.missed), (1, Some(0.5), 1));
    }

    #[test]
    fn the_summary_pools_banked_forecasts_over_splits() {
        let splits = vec![paths(), paths()[2..].to_vec()];
        let s = SavingsSummary::at(&splits, 0.25).unwrap();
        assert_eq!((s.tolerance, s.splits), (0.25, 2));
        // Split 1: 5000 / 3300; split 2: 3000 / 2400.
        let (r1, r2) = (5000.0 / 3300.0, 3000.0 / 2400.0);
        assert!((s.saved_ratio.mean - (r1 + r2) / 2.0).abs() < 1e-12);
        assert_eq!((s.halted.mean, s.banked.mean), (0.5, 1.5));
        // Run to their end: 2 in each split, one with a wider forecast in each.
        assert_eq!((s.unstopped.mean, s.too_wide.mean), (2.0, 1.0));
        // Pooled: 3 banked, 1 missed (not the mean of 0.5 and 1.0 over splits).
        assert_eq!(
            (s.banked_total, s.intervals_missed, s.estimates_off),
            (3, 1, 1)
        );
        assert_eq!(s.coverage, Some(2.0 / 3.0));
        let c = SavingsSummary::curve(&splits).unwrap();
        assert_eq!(c.len(), 19);
        assert!(SavingsSummary::at(&[], 0.25).is_err());
        let mixed = [
            path_savings(&paths(), 0.25).unwrap(),
            path_savings(&paths(), 0.5).unwrap(),
        ];
        assert_eq!(SavingsSummary::of(&mixed), None);
    }

    #[test]
    fn results_serialize() {
        let s = savings(&campaign(), 0.25).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: Savings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let none = savings(&[run(Stop::RanToEnd, 5, 1.0)], 0.25).unwrap();
        assert!(serde_json::to_string(&none)
            .unwrap()
            .contains("\"coverage\":null"));
    }
}
