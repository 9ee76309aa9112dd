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

use serde::{Deserialize, Serialize};

use simforecast_runtime::error::{Error, Result};

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

/// An interval's relative half-width (hi − lo) / 2 / |mid|; None when its middle is 0.
pub fn relative_half_width(lo: f64, hi: f64) -> Option<f64> {
    let mid = (lo + hi) / 2.0;
    (mid != 0.0).then(|| (hi - lo) / 2.0 / mid.abs())
}

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
        too_wide: 0,
        ran_to_end: 0,
        coverage: None,
        within_tolerance: None,
        missed: 0,
    };
    let (mut covered, mut within) = (0usize, 0usize);
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
                    covered += usize::from(lo <= r.mu && r.mu <= hi);
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
        s.coverage = Some(covered as f64 / s.banked as f64);
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
