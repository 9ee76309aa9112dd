//! The out-of-distribution guards of a stage's neighbourhood, and why a window was refused.
//!
//! - [`DistanceGuard`]: the window's k-th neighbour in feature space is further than the training
//!   traces' own (leave-one-out) k-th neighbours. Standardized features ignore the signal's level,
//!   scale and sign, so a foreign column (a pressure component fed to a viscosity model) can sit
//!   among the training traces there.
//! - [`SignalGuard`]: the window's level (mean), scale (standard deviation) and sign against the
//!   ranges seen in training, with margins. Two sums over the window, no allocation.

use serde::{Deserialize, Serialize};

/// Margin of the level and scale ranges, as a fraction of the training range of their logarithm
/// (on each side). Measured on the shipped campaigns (windows 50-800): 0.25 keeps every held-out
/// trace of a campaign inside the ranges of a model trained on the other half, and about 0.6 % of
/// held-out windows fall outside the ranges of a model trained on only 25 traces; a signal scaled
/// by 1e-3 still falls outside in 99 % of cases.
pub const RANGE_MARGIN: f64 = 0.25;

/// How far past zero (in units of the window's own standard deviation) a window's level may lie
/// beyond the furthest training window. The early windows of slow runs are noise about zero: a
/// held-out trace of the wide campaign has level −0.26 sd at 50 frames while every training
/// level is positive. 0.5 keeps them in and refuses a viscosity negated (or a −rate·η pressure
/// component) whose level exceeds half its noise, 91-98 % of held-out traces at 50 frames.
pub const SIGN_TOLERANCE: f64 = 0.5;

/// Why a window is out of distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OodReason {
    /// Its level lies on the other side of zero than the training traces' levels.
    Sign,
    /// Its level is further from zero than the training traces' levels.
    Level,
    /// Its standard deviation is outside the training traces' range.
    Scale,
    /// Its k-th neighbour in feature space is further than the training traces' own.
    Distance,
}

impl OodReason {
    /// What was wrong, in words ("its level has the wrong sign").
    pub fn describe(self) -> &'static str {
        match self {
            OodReason::Sign => "its level has the other sign than the training traces'",
            OodReason::Level => "its level is beyond the training traces' range",
            OodReason::Scale => "its standard deviation is outside the training traces' range",
            OodReason::Distance => "its neighbours are further than the training traces' own",
        }
    }
}

impl std::fmt::Display for OodReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OodReason::Sign => "sign",
            OodReason::Level => "level",
            OodReason::Scale => "scale",
            OodReason::Distance => "distance",
        })
    }
}

/// Distance guard: the k-th neighbour distance of a query against a quantile of the training
/// traces' own (leave-one-out) k-th neighbour distances.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistanceGuard {
    pub quantile: f64,
    pub max_distance: f64,
}

/// The level and scale of one window: its mean and standard deviation (ddof = 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Signal {
    pub level: f64,
    pub scale: f64,
}

impl Signal {
    /// Mean and standard deviation of `window` (two passes: a level far above the noise does
    /// not cancel the scale away). No allocation.
    pub fn of(window: &[f64]) -> Self {
        let n = window.len().max(1) as f64;
        let level = window.iter().sum::<f64>() / n;
        let var = window.iter().map(|v| (v - level).powi(2)).sum::<f64>() / n;
        Self {
            level,
            scale: var.sqrt(),
        }
    }
}

/// The side of zero a quantity lies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    Positive,
    Negative,
}

impl Side {
    pub fn sign(self) -> f64 {
        match self {
            Side::Positive => 1.0,
            Side::Negative => -1.0,
        }
    }
}

/// A closed range of values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

impl Range {
    pub fn contains(&self, v: f64) -> bool {
        self.min <= v && v <= self.max
    }

    /// The range of the logarithms of `values` (all positive) widened by `margin` times its width
    /// on each side, mapped back.
    fn log_widened(values: impl Iterator<Item = f64>, margin: f64) -> Option<Self> {
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            let l = v.ln();
            (lo.min(l), hi.max(l))
        });
        let pad = margin * (hi - lo);
        (lo.is_finite() && hi.is_finite()).then(|| Self {
            min: (lo - pad).exp(),
            max: (hi + pad).exp(),
        })
    }
}

/// Signal guard: the level, scale and sign of the training windows, with margins.
///
/// Levels are measured along `side` (the side of zero of the training levels' median), so the
/// same rule serves a viscosity (positive) and a column that is negative by nature.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalGuard {
    pub side: Side,
    /// Sign: a window is refused when its level along `side` is below this many of its own
    /// standard deviations (at most −[`SIGN_TOLERANCE`]).
    pub min_relative_level: f64,
    /// Level: a window is refused when its level along `side` is above this (the log range of
    /// the training levels on that side, widened by [`RANGE_MARGIN`]).
    pub max_level: f64,
    /// Scale: a window is refused when its standard deviation is outside this (the log range of
    /// the training ones, widened by [`RANGE_MARGIN`]); None when a training window was constant.
    pub scale: Option<Range>,
}

impl SignalGuard {
    /// The guard of the training windows' signals; None with fewer than 3 windows (too few to
    /// tell a range) or when no training level lies off zero.
    pub fn fit(signals: &[Signal]) -> Option<Self> {
        if signals.len() < 3
            || signals
                .iter()
                .any(|s| !s.level.is_finite() || !s.scale.is_finite())
        {
            return None;
        }
        let mut levels: Vec<f64> = signals.iter().map(|s| s.level).collect();
        levels.sort_by(f64::total_cmp);
        let side = if levels[levels.len() / 2] < 0.0 {
            Side::Negative
        } else {
            Side::Positive
        };
        let along = |s: &Signal| side.sign() * s.level;
        let max_level =
            Range::log_widened(signals.iter().map(along).filter(|&u| u > 0.0), RANGE_MARGIN)?.max;
        let lowest_relative = signals
            .iter()
            .filter(|s| s.scale > 0.0)
            .map(|s| along(s) / s.scale)
            .fold(0.0, f64::min);
        let scale = if signals.iter().all(|s| s.scale > 0.0) {
            Range::log_widened(signals.iter().map(|s| s.scale), RANGE_MARGIN)
        } else {
            None
        };
        Some(Self {
            side,
            min_relative_level: lowest_relative - SIGN_TOLERANCE,
            max_level,
            scale,
        })
    }

    /// Why `signal` is out of distribution, if it is (sign first, then level, then scale).
    pub fn check(&self, signal: Signal) -> Option<OodReason> {
        let u = self.side.sign() * signal.level;
        if u < self.min_relative_level * signal.scale {
            Some(OodReason::Sign)
        } else if u > self.max_level {
            Some(OodReason::Level)
        } else if self.scale.is_some_and(|r| !r.contains(signal.scale)) {
            Some(OodReason::Scale)
        } else {
            None
        }
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        let scale_ok = self.scale.is_none_or(|r| {
            r.min.is_finite() && r.max.is_finite() && 0.0 <= r.min && r.min <= r.max
        });
        if self.min_relative_level.is_finite()
            && self.min_relative_level <= 0.0
            && self.max_level.is_finite()
            && self.max_level > 0.0
            && scale_ok
        {
            Ok(())
        } else {
            Err("signal guard ranges are not ranges".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(level: f64, scale: f64) -> Signal {
        Signal { level, scale }
    }

    /// Levels 1-100 (ln range 4.6), scales 0.5-8 (ln range 2.77), all positive.
    fn training() -> Vec<Signal> {
        vec![
            sig(1.0, 0.5),
            sig(10.0, 2.0),
            sig(100.0, 8.0),
            sig(5.0, 1.0),
            sig(30.0, 4.0),
        ]
    }

    #[test]
    fn signal_is_the_mean_and_sd_of_the_window() {
        let s = Signal::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.level, 2.5);
        assert!((s.scale - 1.25f64.sqrt()).abs() < 1e-15);
        // A level far above the noise keeps its scale (one-pass sums would cancel it away).
        let s = Signal::of(&[1e9 + 1.0, 1e9 - 1.0, 1e9 + 1.0, 1e9 - 1.0]);
        assert!((s.scale - 1.0).abs() < 1e-6, "{s:?}");
        assert_eq!(Signal::of(&[3.0; 5]).scale, 0.0);
    }

    #[test]
    fn ranges_are_log_ranges_widened_by_the_margin() {
        let g = SignalGuard::fit(&training()).unwrap();
        assert_eq!(g.side, Side::Positive);
        let pad = RANGE_MARGIN * 100f64.ln();
        assert!((g.max_level.ln() - (100f64.ln() + pad)).abs() < 1e-12);
        let r = g.scale.unwrap();
        let pad = RANGE_MARGIN * 16f64.ln();
        assert!((r.min.ln() - (0.5f64.ln() - pad)).abs() < 1e-12);
        assert!((r.max.ln() - (8f64.ln() + pad)).abs() < 1e-12);
        // Every training level is positive: a level may go below zero by the tolerance alone.
        assert_eq!(g.min_relative_level, -SIGN_TOLERANCE);
        for s in training() {
            assert_eq!(g.check(s), None, "{s:?}");
        }
    }

    #[test]
    fn each_way_out_has_its_reason() {
        let g = SignalGuard::fit(&training()).unwrap();
        // Negated: the level is several of its sds below zero.
        assert_eq!(g.check(sig(-10.0, 2.0)), Some(OodReason::Sign));
        // Near zero within the tolerance: the early window of a slow run.
        assert_eq!(g.check(sig(-0.4, 1.0)), None);
        assert_eq!(g.check(sig(-0.6, 1.0)), Some(OodReason::Sign));
        assert_eq!(g.check(sig(0.01, 1.0)), None);
        // Far above every training level.
        assert_eq!(g.check(sig(1e4, 5.0)), Some(OodReason::Level));
        assert_eq!(g.check(sig(200.0, 5.0)), None);
        // Scaled by 1e-3, and noise far larger than any training trace's.
        assert_eq!(g.check(sig(0.01, 0.002)), Some(OodReason::Scale));
        assert_eq!(g.check(sig(10.0, 100.0)), Some(OodReason::Scale));
        // A constant window has no scale at all.
        assert_eq!(g.check(sig(10.0, 0.0)), Some(OodReason::Scale));
        // Sign is said before level and scale.
        assert_eq!(g.check(sig(-1e5, 1e-6)), Some(OodReason::Sign));
    }

    #[test]
    fn training_windows_past_zero_widen_the_sign_rule() {
        let mut t = training();
        t.push(sig(-0.3, 1.0));
        let g = SignalGuard::fit(&t).unwrap();
        assert!((g.min_relative_level - (-0.3 - SIGN_TOLERANCE)).abs() < 1e-15);
        assert_eq!(g.check(sig(-0.3, 1.0)), None);
        assert_eq!(g.check(sig(-0.9, 1.0)), Some(OodReason::Sign));
    }

    #[test]
    fn a_negative_column_is_guarded_the_other_way() {
        let neg: Vec<Signal> = training().iter().map(|s| sig(-s.level, s.scale)).collect();
        let g = SignalGuard::fit(&neg).unwrap();
        assert_eq!(g.side, Side::Negative);
        for s in &neg {
            assert_eq!(g.check(*s), None);
        }
        assert_eq!(g.check(sig(10.0, 2.0)), Some(OodReason::Sign));
        assert_eq!(g.check(sig(-1e4, 5.0)), Some(OodReason::Level));
    }

    #[test]
    fn absent_where_nothing_can_be_told() {
        assert_eq!(SignalGuard::fit(&training()[..2]), None);
        assert_eq!(SignalGuard::fit(&[sig(0.0, 1.0); 4]), None);
        assert_eq!(
            SignalGuard::fit(&[sig(1.0, f64::NAN), sig(2.0, 1.0), sig(3.0, 1.0)]),
            None
        );
        // A constant training window: no scale range, level and sign still guarded.
        let mut t = training();
        t.push(sig(7.0, 0.0));
        let g = SignalGuard::fit(&t).unwrap();
        assert_eq!(g.scale, None);
        assert_eq!(g.check(sig(-10.0, 2.0)), Some(OodReason::Sign));
        assert!(g.validate().is_ok());
    }

    #[test]
    fn a_malformed_guard_is_refused() {
        let g = SignalGuard::fit(&training()).unwrap();
        for bad in [
            SignalGuard {
                min_relative_level: 0.5,
                ..g
            },
            SignalGuard {
                max_level: f64::NAN,
                ..g
            },
            SignalGuard {
                scale: Some(Range { min: 2.0, max: 1.0 }),
                ..g
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert!(g.validate().is_ok());
    }
}
