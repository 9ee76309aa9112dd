//! The card as text for people: one fact per line, absent values said in words.

use std::fmt::{self, Display, Formatter};

use crate::fpca::ComponentRule;
use crate::knn::Weighting;
use crate::stage::{Cut, ForecastCalibration, ScoreKind, Side, SignalGuard};

use super::{
    AdvisoryReason, HaltingCard, ModelCard, RegressionCard, ScreenCard, StageCard, StageKind,
    ToleranceRow,
};
use crate::model::JointRisk;
use crate::stage::RegressionRule;

/// "600", "600 or 800", "100, 150 or 200".
fn windows(w: &[usize]) -> String {
    match w {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(usize::to_string).collect();
            format!("{} or {last}", init.join(", "))
        }
    }
}

impl Display for ModelCard {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simforecast model: {} preset, trained by simforecast {} (model format {}), created {}",
            self.preset, self.simforecast_version, self.format_version, self.created
        )?;
        let i = &self.input;
        let units = i.units.as_deref().map(|u| format!(" [{u}]"));
        writeln!(
            f,
            "input      column '{}'{}, one frame every {} steps",
            i.column,
            units.unwrap_or_default(),
            i.frame_spacing
        )?;
        let l = &self.label;
        writeln!(
            f,
            "label      irrelevant when mu {} {} (mu over the last {} frames)",
            l.direction.symbol(),
            l.threshold,
            l.tail
        )?;
        let t = &self.training;
        writeln!(
            f,
            "training   trained on {} traces ({} irrelevant), mean length {:.0} frames; {}-fold CV, seed {}; sha256 {}",
            t.traces,
            t.irrelevant,
            t.mean_length,
            t.cv_folds,
            t.seed,
            t.sha256.get(..16).unwrap_or(&t.sha256)
        )?;
        let r = &self.recipe;
        let penalty = if r.penalty == 0.0 {
            "none".to_string()
        } else {
            format!("{:e}", r.penalty)
        };
        let components = match (self.component_grid.as_slice(), r.components) {
            ([], ComponentRule::VarianceFraction(v)) => {
                format!("as many as explain {:.0}% of the variance", v * 100.0)
            }
            ([], ComponentRule::Count(n)) => n.to_string(),
            (grid, _) => {
                let grid: Vec<String> = grid.iter().map(usize::to_string).collect();
                format!(
                    "chosen per stage by cross-validation among {}",
                    grid.join(", ")
                )
            }
        };
        writeln!(
            f,
            "features   B-spline knots at {} x the window, roughness penalty {penalty}; FPCA components: {components}{}{}",
            r.knot_ratio,
            if r.summaries { "; window and tail means" } else { "" },
            if r.standardize { "; standardized" } else { "" }
        )?;
        let d = &self.decisions;
        let n_screens = self
            .stages
            .iter()
            .filter(|s| matches!(s.kind, StageKind::Screen(_)))
            .count();
        let regression_halts = self
            .regression
            .as_ref()
            .and_then(|r| r.halting)
            .is_some_and(|h| h.certified);
        match (d.halting_windows.as_slice(), d.last_screen) {
            (w, _) if regression_halts => writeln!(
                f,
                "halting    halts irrelevant runs at {} frames (the regression stages' one-sided bound past the threshold{})",
                windows(w),
                if n_screens > 0 { ", or a screening stage's cut" } else { "" }
            )?,
            (_, None) => writeln!(f, "halting    no screening stage: never halts")?,
            ([], Some(_)) => writeln!(
                f,
                "halting    never halts: every screening stage is advisory (see the stages)"
            )?,
            (w, Some(_)) => writeln!(
                f,
                "halting    halts irrelevant runs at {} frames{}",
                windows(w),
                if w.len() < n_screens {
                    "; the other screening stages never halt"
                } else {
                    ""
                }
            )?,
        }
        match (d.first_clearing, d.last_screen) {
            (_, None) => writeln!(f, "clearing   no screening: every run counts as cleared")?,
            (first, Some(last)) => {
                let early = first
                    .filter(|&w| w < last)
                    .map(|w| format!("from {w} frames at each stage's clearing cut; "))
                    .unwrap_or_default();
                writeln!(
                    f,
                    "clearing   {early}at {last} frames the last screening stage clears a run it does not halt when most of its neighbours are relevant"
                )?;
            }
        }
        match (d.forecast_by, d.level, d.tolerance_windows.as_slice()) {
            (_, Some(level), w @ [first, .., last]) | (_, Some(level), w @ [first @ last]) => {
                let within = d.tolerance.map_or("at any width".into(), |t| {
                    format!("within ±{:.0}% (tolerance {t})", 100.0 * t)
                });
                writeln!(
                    f,
                    "forecast   any run not halted is forecast at the first of {} windows ({first} to {last} frames) where its {:.0}% interval for mu is {within}; a run no window pins runs to its end",
                    w.len(),
                    level * 100.0,
                )?;
            }
            (Some(by), Some(level), []) => {
                let early = match d.tolerance {
                    Some(t) => format!(
                        "at the first forecasting stage whose interval's relative half-width is at most {t}"
                    ),
                    None => "at the first forecasting stage once cleared, at any width".into(),
                };
                writeln!(
                    f,
                    "forecast   a cleared run is forecast {early}, by {by} frames at the latest; {:.0}% interval for mu",
                    level * 100.0
                )?;
            }
            _ => writeln!(f, "forecast   no forecasting stage")?,
        }
        if let Some(r) = &self.regression {
            writeln!(f, "tolerance  {}", tolerance_line(r, &self.tolerances))?;
            if let Some(line) = regression_halting_line(r) {
                writeln!(f, "reg. halt  {line}")?;
            }
        }
        if let Some(r) = &self.risk {
            writeln!(f, "risk       {}", risk_line(r))?;
        }
        writeln!(f, "verdict    {}", self.verdict())?;
        write!(f, "stages:")?;
        for s in &self.stages {
            write!(f, "\n{s}")?;
        }
        Ok(())
    }
}

impl ModelCard {
    /// The plain answer: will it halt, from which frame, how safely; what does it forecast, by
    /// when, how well. From the stages' own out-of-fold figures.
    pub fn verdict(&self) -> String {
        let first_halt = self.stages.iter().find_map(|s| match &s.kind {
            StageKind::Screen(ScreenCard {
                halting: HaltingCard::Halts { cut, .. },
                ..
            }) => Some((s.window, cut)),
            _ => None,
        });
        let regression_halt = self
            .regression
            .as_ref()
            .and_then(|r| r.halting)
            .filter(|h| h.certified);
        let halts = match (regression_halt, first_halt) {
            (Some(h), _) => {
                format!(
                    "halts irrelevant runs from {} frames on (at a halting window's cut or where the regression's one-sided bound lies past the threshold; out of fold the regression rule alone made {} halts, {} wrong)",
                    self.decisions.halting_windows.first().copied().unwrap_or(0),
                    h.cv_halts,
                    h.cv_wrong
                )
            }
            (None, Some((window, cut))) => format!(
                "halts irrelevant runs from {window} frames on (out-of-fold precision {:.2}, recall {:.2} there)",
                cut.cv_precision, cut.cv_recall
            ),
            (None, None) => match self.risk.as_ref().filter(|r| !r.certified) {
                Some(r) => format!("never halts: {}", uncertified(r)),
                None => match self.blocking_reason() {
                    Some(why) => format!("never halts: {why}"),
                    None => "never halts (no screening stage may halt)".into(),
                },
            },
        };
        // The stage that forecasts every run still without a forecast (the deadline's).
        let deadline = self.stages.iter().find_map(|s| match &s.kind {
            StageKind::Forecast(c) if Some(s.window) == self.decisions.forecast_by => {
                Some((s.window, c))
            }
            _ => None,
        });
        let forecasts = match (&self.regression, deadline) {
            (Some(r), _) => {
                let c = &r.table;
                let windows = &self.decisions.tolerance_windows;
                let figures = c.at(c.tolerance).map_or(
                    " (no stop rule is that precise out of fold: nothing is forecast)".into(),
                    |p| {
                        format!(
                            " (out of fold {:.0}% of runs stopped by a forecast, {:.0}% intervals covering {:.2} of mu)",
                            100.0 * p.cv_stopped,
                            100.0 * c.level,
                            p.cv_coverage
                        )
                    },
                );
                format!(
                    "forecasts any run it does not halt at the first window from {} to {} frames where mu is known within ±{:.0}%{figures}; others run to their end",
                    windows.first().copied().unwrap_or(0),
                    windows.last().copied().unwrap_or(0),
                    100.0 * c.tolerance
                )
            }
            (None, Some((w, c))) => {
                let r2 = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.2}"));
                format!(
                    "forecasts every cleared run by {w} frames (out-of-fold R2 {}/{}; its {:.0}% interval covers {:.2} of mu, mean relative width {:.2}, i.e. mu within about ±{:.0}%)",
                    r2(c.cv_r2[0]),
                    r2(c.cv_r2[1]),
                    c.level * 100.0,
                    c.cv_coverage,
                    c.cv_relative_width,
                    50.0 * c.cv_relative_width
                )
            }
            (None, None) => "makes no forecast".into(),
        };
        format!("it {halts}; it {forecasts}")
    }

    /// Why the stages at the halting windows cannot halt: the latest one's reason.
    fn blocking_reason(&self) -> Option<String> {
        self.stages.iter().rev().find_map(|s| match &s.kind {
            StageKind::Screen(c) => match &c.halting {
                HaltingCard::Advisory { reason, .. }
                    if !matches!(reason, AdvisoryReason::NotAHaltingWindow) =>
                {
                    let why = screen_details(c).remove(0);
                    let why = why.trim_start_matches("advisory, never halts: ");
                    Some(format!("at {} frames, {why}", s.window))
                }
                _ => None,
            },
            _ => None,
        })
    }
}

/// The joint rule's certificate on one line.
fn risk_line(r: &JointRisk) -> String {
    let bound = format!(
        "{} wrong of {} out-of-fold halts over all halting windows: wrong-halt share <= {:.3} at {:.0}% confidence (Clopper-Pearson), target <= {:.3}",
        r.wrong,
        r.halts,
        r.upper,
        100.0 * r.confidence,
        1.0 - r.target
    );
    if !r.certified {
        return format!(
            "{bound}: not certified, every screening stage is advisory; {}",
            more_runs(r)
        );
    }
    let mut s = format!("{bound}: certified");
    if (r.halts, r.wrong) != (r.proposed_halts, r.proposed_wrong) {
        let mut what = Vec::new();
        if !r.raised.is_empty() {
            what.push(format!("cuts raised at {} frames", windows(&r.raised)));
        }
        if !r.dropped.is_empty() {
            what.push(format!("advisory at {} frames", windows(&r.dropped)));
        }
        s.push_str(&format!(
            " after tightening the stages' own cuts ({} wrong of {} halts): {}",
            r.proposed_wrong,
            r.proposed_halts,
            what.join(", ")
        ));
    }
    s
}

/// Roughly what would let an uncertified rule act.
fn more_runs(r: &JointRisk) -> String {
    match r.more_runs {
        Some(n) => format!(
            "{} clean halts would certify; about {n} more labelled runs like these would let it act",
            r.halts_needed
        ),
        None if r.proposed_halts == 0 => "no training run was halted out of fold".into(),
        None => format!(
            "more runs like these would not help: {} wrong of {} halts is too many",
            r.proposed_wrong, r.proposed_halts
        ),
    }
}

/// Why an uncertified rule never halts, and roughly what would let it act.
fn uncertified(r: &JointRisk) -> String {
    format!(
        "its halting windows together are not certified ({} wrong of {} out-of-fold halts bound the wrong-halt share at {:.3}, above {:.3}, at {:.0}% confidence); {}",
        r.proposed_wrong,
        r.proposed_halts,
        r.upper,
        1.0 - r.target,
        100.0 * r.confidence,
        more_runs(r)
    )
}

impl Display for StageCard {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (role, score) = match &self.kind {
            StageKind::Screen(c) => ("screen", format!("{}, ", score_of(c))),
            StageKind::Forecast(_) => ("forecast", String::new()),
            StageKind::Regression(_) => ("forecast", String::new()),
        };
        match &self.neighbours {
            Some(n) => write!(
                f,
                "  [{}] {role} at {} frames: {score}k={} p={} {}, {} features ({} FPCA components, {} knots), {} training traces",
                self.index,
                self.window,
                n.k,
                n.power,
                match n.weighting {
                    Weighting::Uniform => "uniform",
                    Weighting::Distance => "distance-weighted",
                },
                n.features,
                n.components,
                n.knots,
                self.training_traces,
            )?,
            None => write!(
                f,
                "  [{}] {role} at {} frames: ridge regression of ln mu on the window's running statistics, {} training traces",
                self.index, self.window, self.training_traces,
            )?,
        }
        for line in self.details() {
            write!(f, "\n      {line}")?;
        }
        write!(f, "\n      {}", self.guards())
    }
}

impl StageCard {
    /// When the stage refuses a window as out of distribution, on one line.
    pub fn guards(&self) -> String {
        let mut when = Vec::new();
        if let Some(g) = &self.signal_guard {
            when.extend(signal_bounds(g));
        }
        if let Some(d) = self.neighbours.as_ref().and_then(|n| n.ood_max_distance) {
            when.push(format!("its k-th neighbour distance > {d:.3}"));
        }
        match when.split_last() {
            None => "no out-of-distribution guard".into(),
            Some((last, [])) => format!("out of distribution when {last}"),
            Some((last, init)) => {
                format!("out of distribution when {} or {last}", init.join(", "))
            }
        }
    }
}

/// "its mean < -0.50 sd (sign)", "its mean > 290 (level)", "its sd is outside 0.0283-120 (scale)".
fn signal_bounds(g: &SignalGuard) -> Vec<String> {
    let (far, near, tolerance) = match g.side {
        Side::Positive => (
            format!("> {}", significant(g.max_level)),
            "<",
            g.min_relative_level,
        ),
        Side::Negative => (
            format!("< {}", significant(-g.max_level)),
            ">",
            -g.min_relative_level,
        ),
    };
    let mut out = vec![
        format!("its mean {near} {tolerance:.2} sd (sign)"),
        format!("its mean {far} (level)"),
    ];
    if let Some(r) = g.scale {
        out.push(format!(
            "its sd is outside {}-{} (scale)",
            significant(r.min),
            significant(r.max)
        ));
    }
    out
}

/// Three significant digits, in plain notation from 0.001 to 10^6 ("0.0283", "4.57", "290").
fn significant(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || !(1e-3..1e6).contains(&a) {
        return format!("{v:.2e}");
    }
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

/// "vote", "scaled margin of ln mu", "margin of mu".
fn score_of(c: &ScreenCard) -> String {
    match c.log_space {
        None => c.score.to_string(),
        Some(log) => format!("{} of {}", c.score, if log { "ln mu" } else { "mu" }),
    }
}

/// "scaled margin >= 0.189 and vote >= 0.80".
fn at_cut(score: ScoreKind, cut: &Cut, vote_floor: Option<f64>) -> String {
    let floor = vote_floor
        .map(|v| format!(" and vote >= {v:.2}"))
        .unwrap_or_default();
    format!("{score} >= {:.3}{floor}", cut.value)
}

impl StageCard {
    /// What the stage decides, as a line each (halting, clearing; or the forecast's figures).
    pub fn details(&self) -> Vec<String> {
        match &self.kind {
            StageKind::Screen(c) => screen_details(c),
            StageKind::Forecast(c) => vec![forecast_details(c)],
            StageKind::Regression(c) => vec![regression_details(c)],
        }
    }

    /// The details on one line.
    pub fn verdict(&self) -> String {
        self.details().join("; ")
    }
}

fn screen_details(c: &ScreenCard) -> Vec<String> {
    let mut out = Vec::new();
    out.push(match &c.halting {
        HaltingCard::Halts { cut, cv_level } => format!(
            "halts at {}: out-of-fold precision {:.2}, recall {:.2} ({} halts){}",
            at_cut(c.score, cut, c.vote_floor),
            cut.cv_precision,
            cut.cv_recall,
            cut.cv_halts,
            cv_level
                .map(|l| format!("; one-sided bound at level {l:.3}"))
                .unwrap_or_default()
        ),
        HaltingCard::Advisory { reason, best_cut } => {
            let why = match reason {
                AdvisoryReason::NotAHaltingWindow => "not a halting window".to_string(),
                AdvisoryReason::NoCandidate { lowest_cut } => format!(
                    "no out-of-fold run scored {}{}",
                    lowest_cut.map_or("high enough to halt".into(), |l| format!(
                        "{} {l}",
                        c.score
                    )),
                    c.vote_floor
                        .map(|v| format!(" with vote >= {v:.2}"))
                        .unwrap_or_default()
                ),
                AdvisoryReason::LowPrecision { precision, target } => format!(
                    "out-of-fold precision {precision:.2} where {target:.2} is required"
                ),
                AdvisoryReason::TooFewHalts {
                    true_halts,
                    required,
                } => format!(
                    "{true_halts} true out-of-fold halts where {required} are required"
                ),
                AdvisoryReason::Uncertified => {
                    "its cut meets the stage's own target, but the halting windows together are not certified (see risk)".to_string()
                }
            };
            let best = best_cut
                .map(|cut| {
                    format!(
                        " (best cut {}: precision {:.2}, recall {:.2}, {} true of {} halts; its irrelevant verdicts are advisory)",
                        at_cut(c.score, &cut, c.vote_floor),
                        cut.cv_precision,
                        cut.cv_recall,
                        cut.cv_true_halts,
                        cut.cv_halts
                    )
                })
                .unwrap_or_default();
            format!("advisory, never halts: {why}{best}")
        }
    });
    if let Some(cl) = &c.clearing {
        out.push(format!(
            "clears runs as relevant at {} <= {:.3} ({:.0}% of runs out of fold, {:.1}% of them irrelevant)",
            c.score,
            cl.cut,
            100.0 * cl.cv_share,
            100.0 * cl.cv_miss
        ));
    }
    out
}

fn regression_details(card: &RegressionCard) -> String {
    let fit = match card.penalty {
        Some(p) => format!("ridge fit (penalty {p}) from the window's log-mean"),
        None => "the window's own mean (persistence forecast best out of fold)".into(),
    };
    let r2 = card
        .cv_r2_log_mu
        .map_or("n/a".into(), |v| format!("{v:.2}"));
    format!(
        "{fit}; out-of-fold R2 of ln mu {r2}; interval and stop rule: the model's tolerance table"
    )
}

/// The tolerance table read at a few tolerances, on one line.
fn tolerance_line(r: &RegressionRule, rows: &[ToleranceRow]) -> String {
    let t = &r.table;
    let rows: Vec<String> = rows
        .iter()
        .map(|row| match &row.rule {
            Some(p) => format!(
                "±{:.0}%: stop at scale <= {:.3}, interval ±{:.2} x scale, {:.0}% of runs stopped out of fold, covered {:.2}",
                100.0 * row.tolerance,
                p.max_scale,
                p.quantile,
                100.0 * p.cv_stopped,
                p.cv_coverage
            ),
            None => format!("±{:.0}%: no stop rule that precise", 100.0 * row.tolerance),
        })
        .collect();
    format!(
        "model tolerance ±{:.0}% (settable {}..{}); {} stop rules calibrated out of fold over all windows together, {:.0}% intervals; at tolerance t the loosest rule whose half-width is within t stops the run, so a looser t never stops later; {}",
        100.0 * t.tolerance,
        t.range[0],
        t.range[1],
        t.points.len(),
        100.0 * t.level,
        rows.join("; ")
    )
}

/// The regression stages' halting rule on one line (None: none was proposed).
fn regression_halting_line(r: &RegressionRule) -> Option<String> {
    let h = r.halting?;
    Some(format!(
        "the regression stages halt at the first window from {} frames on whose one-sided bound of ln mu (ln mu_hat -/+ {:.2} x scale) lies past the threshold: {} halts, {} wrong out of fold by this rule alone; {}",
        h.from_window,
        h.quantile,
        h.cv_halts,
        h.cv_wrong,
        if h.certified {
            "certified with the screening stages in the joint risk budget (see risk)"
        } else {
            "advisory, never halts: the joint risk budget is not certified (see risk)"
        }
    ))
}

fn forecast_details(c: &ForecastCalibration) -> String {
    let r2 = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.2}"));
    let mut s = format!(
        "out-of-fold R2 {}/{} (mu-sigma/mu+sigma); {:.0}% interval for mu ({} space) covers {:.2}, mean relative width {:.2}",
        r2(c.cv_r2[0]),
        r2(c.cv_r2[1]),
        c.level * 100.0,
        if c.log_space { "log" } else { "linear" },
        c.cv_coverage,
        c.cv_relative_width
    );
    if c.cv_r2.iter().any(|v| v.is_none_or(|v| v < 0.3)) {
        s.push_str(
            "; weak: the early frames say little about mu here, trust the interval, not the point forecast",
        );
    }
    s.push_str(&match c.tolerance {
        Some(t) => format!("; forecasts early when the relative half-width is at most {t}"),
        None => "; forecasts at any width".into(),
    });
    if c.deadline {
        s.push_str("; at or past the deadline: forecasts any cleared run still without one");
    }
    s
}
