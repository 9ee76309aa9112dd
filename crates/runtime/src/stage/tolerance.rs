//! The model's one rule for its regression stages together: when a run is pinned well enough to
//! be forecast (the tolerance table), and when its forecast is far enough past the threshold to
//! halt it (the halting quantile).
//!
//! Stop rules, not tolerances, are calibrated: entry s says "stop at the first window whose
//! interval scale is at most `max_scale`, with the interval ±`quantile`·scale"; its quantile is
//! the split-conformal one over the out-of-fold runs that stop under that rule, at any window.
//! Its interval's relative half-width is then at most tanh(quantile·max_scale), the entry's
//! `tolerance`. At a tolerance t the rule in force is the entry with the loosest stop threshold
//! among those whose tolerance is within t. Each entry is one fixed stop rule with its own
//! calibrated coverage, and t only chooses among them, so
//! - a run stopped at t is stopped at the same frame or earlier at any looser t (the set of
//!   entries grows with t, the chosen threshold can only grow): the stop frame is non-increasing
//!   in t, by construction, in calibration and at run time alike;
//! - a tolerance between the entries' is served by the entry at or below it (no interpolation of
//!   quantiles: an interpolated quantile was calibrated for no rule);
//! - the interval issued is the chosen entry's, narrower than t or as wide, covering μ at the
//!   entry's calibrated level.
//!
//! The table keeps only the entries some tolerance chooses (tolerance and stop threshold both
//! increasing).

use serde::{Deserialize, Serialize};

/// One calibrated stop rule of the regression stages.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StopPoint {
    /// The widest relative half-width its interval can have: tanh(quantile · max_scale).
    pub tolerance: f64,
    /// Stop at the first window whose interval scale is at most this.
    pub max_scale: f64,
    /// The interval there: ln μ̂ ± quantile · scale.
    pub quantile: f64,
    /// Out of fold: share of training runs this rule stops, and the share of them covered.
    pub cv_stopped: f64,
    pub cv_coverage: f64,
}

/// The regression stages' stop rules, calibrated out of fold over all windows together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToleranceTable {
    /// Nominal coverage of the interval (e.g. 0.9).
    pub level: f64,
    /// The model's tolerance: the relative half-width a forecast must reach unless the caller
    /// sets another.
    pub tolerance: f64,
    /// The tolerances a caller may set (those the calibration considered).
    pub range: [f64; 2],
    /// The stop rules some tolerance chooses, in increasing tolerance and stop threshold.
    pub points: Vec<StopPoint>,
}

impl ToleranceTable {
    /// The stop rule in force at tolerance `t`: the loosest whose half-width is within t (None:
    /// no rule is that precise; nothing is forecast at t).
    pub fn at(&self, t: f64) -> Option<&StopPoint> {
        self.points.iter().rev().find(|p| p.tolerance <= t)
    }

    /// The smallest and largest tolerance a caller may set.
    pub fn range(&self) -> (f64, f64) {
        (self.range[0], self.range[1])
    }

    /// Keeps, of stop rules in any order, those some tolerance chooses: sorted by tolerance, each
    /// with a looser stop threshold than every more precise one.
    pub fn front(mut points: Vec<StopPoint>) -> Vec<StopPoint> {
        points.sort_by(|a, b| {
            a.tolerance
                .total_cmp(&b.tolerance)
                .then(b.max_scale.total_cmp(&a.max_scale))
        });
        let mut out: Vec<StopPoint> = Vec::new();
        for p in points {
            if out.last().is_none_or(|l| p.max_scale > l.max_scale) {
                out.push(p);
            }
        }
        out
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let monotone = self
            .points
            .windows(2)
            .all(|p| p[0].tolerance <= p[1].tolerance && p[0].max_scale < p[1].max_scale);
        let finite = self.points.iter().all(|p| {
            p.tolerance > 0.0
                && p.max_scale > 0.0
                && p.max_scale.is_finite()
                && p.quantile > 0.0
                && p.quantile.is_finite()
        });
        let range = self.range[0] > 0.0 && self.range[0] <= self.range[1];
        if !(monotone && finite && range && self.level > 0.0 && self.level < 1.0) {
            return Err("tolerance table is not monotone, finite or in range".into());
        }
        if !(self.tolerance > 0.0 && self.tolerance.is_finite()) {
            return Err(format!("tolerance {} is not positive", self.tolerance));
        }
        Ok(())
    }
}

/// When the regression stages halt a run: at the first window where the one-sided bound of
/// ln μ, ln μ̂ ∓ quantile · scale (lower when irrelevant is above the threshold, upper when
/// below), lies past ln threshold, the trace in distribution.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressionHalting {
    /// The first window that may halt (the earlier ones only forecast): the preset's first
    /// halting window. Early windows' scales are least reliable, and one early transient
    /// is enough to halt a good run at a quantile the late windows need.
    pub from_window: usize,
    /// The one-sided multiplier of the scale, calibrated out of fold over all windows together
    /// with the screening stages' cuts (the model's joint risk budget).
    pub quantile: f64,
    /// The joint risk budget was certified with this rule in it: it halts. Otherwise it is
    /// advisory (reported, never acted on).
    pub certified: bool,
    /// Out of fold, this rule alone: runs halted and the wrong ones among them.
    pub cv_halts: usize,
    pub cv_wrong: usize,
}

/// The model's rule for its regression stages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressionRule {
    pub table: ToleranceTable,
    /// None: no halting rule was proposed (nothing out of fold lay past the threshold safely).
    pub halting: Option<RegressionHalting>,
}

impl RegressionRule {
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.table.validate()?;
        match self.halting {
            Some(h) if !(h.quantile.is_finite() && h.cv_wrong <= h.cv_halts) => {
                Err("regression halting rule is invalid".into())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(tolerance: f64, max_scale: f64) -> StopPoint {
        StopPoint {
            tolerance,
            max_scale,
            quantile: 1.0,
            cv_stopped: 0.5,
            cv_coverage: 0.9,
        }
    }

    #[test]
    fn the_loosest_rule_within_the_tolerance_is_in_force() {
        // (0.3, 0.2) is dominated by (0.2, 0.3): a looser stop at a tighter half-width.
        let points = ToleranceTable::front(vec![
            point(0.3, 0.2),
            point(0.1, 0.1),
            point(0.2, 0.3),
            point(0.5, 0.6),
            point(0.2, 0.25),
        ]);
        let thresholds: Vec<f64> = points.iter().map(|p| p.max_scale).collect();
        assert_eq!(thresholds, vec![0.1, 0.3, 0.6]);
        let table = ToleranceTable {
            level: 0.9,
            tolerance: 0.25,
            range: [0.05, 1.0],
            points,
        };
        table.validate().unwrap();
        assert_eq!(table.at(0.05), None);
        assert_eq!(table.at(0.1).unwrap().max_scale, 0.1);
        // Between entries: the entry below.
        assert_eq!(table.at(0.25).unwrap().max_scale, 0.3);
        assert_eq!(table.at(0.49).unwrap().max_scale, 0.3);
        assert_eq!(table.at(1.0).unwrap().max_scale, 0.6);
        // The stop threshold never falls as the tolerance grows.
        let mut last = 0.0;
        for i in 1..=100 {
            let s = table.at(i as f64 / 100.0).map_or(0.0, |p| p.max_scale);
            assert!(s >= last);
            last = s;
        }
    }
}
