//! The streaming state machine over one running trace: frames are pushed one by one; when a
//! stage's window is full the stage is evaluated once and an [`Event`] says what it decided.
//!
//! Rules:
//! - a screening stage halts (`halt`) when its calibrated rule is confident that the run is
//!   irrelevant, the stage may halt (not advisory) and the trace is in distribution; the state
//!   becomes screened-irrelevant and nothing is forecast. An advisory stage's irrelevant verdict
//!   is reported and changes nothing else.
//! - a screening stage clears the run as relevant early when its score is at or below its
//!   calibrated relevant cut; the last screening stage clears a run it does not halt when most of
//!   its neighbours are relevant, and otherwise reports it as probably irrelevant (advisory, no
//!   halt); an out-of-distribution trace is never cleared.
//! - KNN forecasting stages learn from relevant runs only, so they forecast only for a cleared
//!   run: at the first one whose interval is within tolerance, else at the first one at or past
//!   the model's forecast deadline (or the last one), flagged `confident = false`. A run cleared
//!   after the deadline is forecast at the stage of its clearing window. A run that is never
//!   cleared gets no forecast and runs to its end.
//! - regression stages learn from every run, so they forecast any run not halted, and only at the
//!   first window whose interval is within the tolerance (the model's, or the one the caller set)
//!   with the trace in distribution: no deadline forces a forecast wider than asked. A run no
//!   window pins runs to its end. The stop rule in force is chosen once per tolerance from the
//!   model's table ([`crate::stage::tolerance`]), so a looser tolerance never stops a run later.
//! - a regression stage halts the run (a screening event of its own index, no vote) when the
//!   model's certified regression halting rule says its one-sided bound of ln μ lies past the
//!   threshold, the trace in distribution and not halted already; it is evaluated before the
//!   stage's forecast, so a halted run gets none.
//! - a non-finite sample is an error that leaves the monitor unchanged.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::stage::{
    ForecastOutcome, OodReason, RegressionHalting, Role, ScreenOutcome, Stage, StopPoint,
};

pub use crate::codes::{Evidence, State, Verdict};

/// A screening decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScreenEvent {
    pub stage: usize,
    pub verdict: Verdict,
    /// Weighted share of irrelevant neighbours (None: a regression stage's halt has none).
    pub vote: Option<f64>,
    /// The stage's calibrated score, compared with `cut`.
    pub score: f64,
    /// The stage's cut (None: it has none, nothing reaches it).
    pub cut: Option<f64>,
    pub halt: bool,
    pub advisory: bool,
    /// The trace is out of distribution here (the flag the C ABI carries) ...
    pub ood: bool,
    /// ... and why (Some exactly when `ood`).
    pub ood_reason: Option<OodReason>,
}

/// A forecast.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastEvent {
    pub stage: usize,
    pub mu_minus_sigma: f64,
    pub mu_plus_sigma: f64,
    pub mu_hat: f64,
    pub mu_low: f64,
    pub mu_high: f64,
    pub level: f64,
    pub confident: bool,
    /// The interval's relative half-width is within the tolerance in force (None: no tolerance,
    /// any width).
    pub within_tolerance: bool,
    pub tolerance: Option<f64>,
    pub evidence: Evidence,
    /// As in [`ScreenEvent`]: the flag, and why.
    pub ood: bool,
    pub ood_reason: Option<OodReason>,
}

/// What was decided on one push (either part may be absent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Frames seen when it was decided.
    pub frame: u64,
    pub screen: Option<ScreenEvent>,
    pub forecast: Option<ForecastEvent>,
}

impl Event {
    pub fn is_empty(&self) -> bool {
        self.screen.is_none() && self.forecast.is_none()
    }

    /// True when the caller should stop the run now.
    pub fn halt(&self) -> bool {
        self.screen.as_ref().is_some_and(|s| s.halt)
    }
}

/// When a forecasting stage's outcome becomes the run's forecast.
#[derive(Clone, Copy, PartialEq)]
enum Rule {
    /// A KNN stage: for a cleared run, within tolerance or at the deadline (flag) or last stage.
    Cleared { deadline: bool },
    /// A regression stage: for any run not halted, only within tolerance and in distribution.
    Tolerance,
}

/// A stage's outcome, with its forecasting rule, and for a regression stage its margin past the
/// threshold when the model's halting rule may act on it (in units of its scale).
enum Outcome {
    Screen(ScreenOutcome),
    Forecast(ForecastOutcome, Rule, Option<f64>),
}

/// The serialisable part of a monitor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Progress {
    buffer: Vec<f64>,
    frames: u64,
    next_stage: usize,
    state: State,
    halted: bool,
    forecast_done: bool,
    last_event: Option<Event>,
}

// Version 5: a screening event's vote is optional (a regression stage's halt has none).
// Version 4: forecasts say their tolerance and evidence. Version 3: events say why a trace is
// out of distribution.
const STATE_MAGIC: [u8; 8] = *b"SFMONST\x05";

/// A monitor over one trace.
#[derive(Clone, Debug)]
pub struct Monitor {
    model: Arc<Model>,
    fingerprint: u32,
    last_screen: Option<usize>,
    last_forecast: Option<usize>,
    max_window: usize,
    /// The tolerance the caller set (None: each stage's own).
    tolerance: Option<f64>,
    /// The regression stages' stop rule in force at the tolerance (None: none that precise, or
    /// no regression stage).
    stop: Option<StopPoint>,
    /// The regression stages' certified halting rule, ln threshold and the sign of the
    /// irrelevant side (None: they do not halt).
    halting: Option<(RegressionHalting, f64, f64)>,
    progress: Progress,
}

impl Monitor {
    pub fn new(model: Arc<Model>) -> Self {
        let fingerprint = model.fingerprint();
        let last_of = |role| model.stages.iter().rposition(|s| s.role() == role);
        let last_screen = last_of(Role::Screen);
        let last_forecast = last_of(Role::Forecast);
        let capacity = model.max_window();
        let stop = Self::stop_at(&model, None);
        let meta = &model.meta;
        let halting = model
            .regression
            .as_ref()
            .and_then(|r| r.halting)
            .filter(|h| h.certified && meta.threshold > 0.0)
            .map(|h| (h, meta.threshold.ln(), meta.direction.sign()));
        Self {
            model,
            fingerprint,
            last_screen,
            last_forecast,
            max_window: capacity,
            tolerance: None,
            stop,
            halting,
            progress: Progress {
                buffer: Vec::with_capacity(capacity),
                frames: 0,
                next_stage: 0,
                state: State::Collecting,
                halted: false,
                forecast_done: false,
                last_event: None,
            },
        }
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    pub fn state(&self) -> State {
        self.progress.state
    }

    pub fn frames(&self) -> u64 {
        self.progress.frames
    }

    /// Sets the relative half-width of the interval a forecast must reach (None: the model's).
    /// Refused when it is not a positive number, or outside the tolerances the model's
    /// regression stages were calibrated for.
    pub fn set_tolerance(&mut self, t: Option<f64>) -> Result<()> {
        if let Some(t) = t {
            if !(t.is_finite() && t > 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "tolerance must be a positive relative half-width, got {t}"
                )));
            }
            if let Some((lo, hi)) = self.model.tolerance_range() {
                if !(lo..=hi).contains(&t) {
                    return Err(Error::InvalidArgument(format!(
                        "tolerance {t} is outside the range the model was calibrated for \
                         ({lo}..={hi})"
                    )));
                }
            }
        }
        self.tolerance = t;
        self.stop = Self::stop_at(&self.model, t);
        Ok(())
    }

    /// The regression stages' stop rule at tolerance `t` (None: the model's).
    fn stop_at(model: &Model, t: Option<f64>) -> Option<StopPoint> {
        let table = &model.regression.as_ref()?.table;
        table.at(t.unwrap_or(table.tolerance)).copied()
    }

    /// The tolerance in force: the caller's, else the model's (None: no tolerance).
    pub fn tolerance(&self) -> Option<f64> {
        self.tolerance.or(self.model.tolerance())
    }

    pub fn last_event(&self) -> Option<&Event> {
        self.progress.last_event.as_ref()
    }

    /// True when every stage has been evaluated (further pushes only count frames).
    pub fn finished(&self) -> bool {
        self.progress.next_stage >= self.model.stages.len()
    }

    /// Starts a new trace with the same model.
    pub fn reset(&mut self) {
        let p = &mut self.progress;
        p.buffer.clear();
        p.frames = 0;
        p.next_stage = 0;
        p.state = State::Collecting;
        p.halted = false;
        p.forecast_done = false;
        p.last_event = None;
    }

    /// Appends one frame. Returns the event decided at this frame, if any.
    pub fn push(&mut self, value: f64) -> Result<Option<Event>> {
        if !value.is_finite() {
            return Err(Error::NonFinite {
                frame: self.progress.frames as usize,
                value,
            });
        }
        let p = &mut self.progress;
        if p.buffer.len() < self.max_window {
            p.buffer.push(value);
        }
        p.frames += 1;
        let mut event: Option<Event> = None;
        while let Some(stage) = self.model.stages.get(self.progress.next_stage) {
            if stage.window() as u64 != self.progress.frames {
                break;
            }
            let index = self.progress.next_stage;
            // Evaluated before anything changes, so an error leaves the monitor as it was.
            let x = &self.progress.buffer;
            let outcome = match stage {
                Stage::Screen(s) => Outcome::Screen(s.evaluate(x)?),
                Stage::Forecast(f) => {
                    let t = self.tolerance.or(f.calibration.tolerance);
                    let deadline = f.calibration.deadline;
                    Outcome::Forecast(f.evaluate_at(x, t)?, Rule::Cleared { deadline }, None)
                }
                Stage::Regression(r) => {
                    let level = self
                        .model
                        .regression
                        .as_ref()
                        .map_or(0.9, |m| m.table.level);
                    let o = r.evaluate(x, self.stop.as_ref(), level)?;
                    let margin = self
                        .halting
                        .filter(|h| r.window >= h.0.from_window)
                        .zip(o.centre_scale)
                        .map(|((_, lt, sign), (c, s))| {
                            crate::stage::RegressionStage::margin(c, s, lt, sign)
                        });
                    Outcome::Forecast(o.outcome, Rule::Tolerance, margin)
                }
            };
            self.progress.next_stage += 1;
            let ev = event.get_or_insert_with(|| Event {
                frame: self.progress.frames,
                ..Event::default()
            });
            match outcome {
                Outcome::Screen(o) => self.apply_screen(index, o, ev),
                Outcome::Forecast(o, rule, margin) => {
                    if let Some(m) = margin {
                        self.apply_regression_halt(index, m, &o, ev);
                    }
                    self.apply_forecast(index, o, rule, ev)
                }
            }
        }
        let event = event.filter(|e| !e.is_empty());
        if let Some(e) = &event {
            self.progress.last_event = Some(e.clone());
        }
        Ok(event)
    }

    fn apply_screen(&mut self, index: usize, outcome: ScreenOutcome, ev: &mut Event) {
        let p = &mut self.progress;
        let ScreenOutcome {
            vote,
            score,
            cut,
            confident_irrelevant,
            confident_relevant,
            advisory,
            ood,
        } = outcome;
        // Once a halt was called, later screening adds nothing.
        if p.halted {
            return;
        }
        let last = Some(index) == self.last_screen;
        let ood_reason = ood;
        let ood = ood.is_some();
        // At the last screening stage a run the stage cannot halt is cleared only if most of its
        // neighbours are relevant; otherwise it is reported as probably irrelevant (advisory) and
        // gets no forecast: the model does not know, the run goes on.
        let leans_irrelevant = crate::knn::majority(vote);
        let verdict = if confident_irrelevant {
            Verdict::Irrelevant
        } else if confident_relevant || (last && !ood && !leans_irrelevant) {
            Verdict::Relevant
        } else if last && !ood {
            Verdict::Irrelevant
        } else {
            Verdict::Unsure
        };
        let advisory = advisory || (verdict == Verdict::Irrelevant && !confident_irrelevant);
        match verdict {
            // An advisory verdict is information only: the run goes on as if unscreened.
            Verdict::Irrelevant if !advisory => p.state = State::ScreenedIrrelevant,
            Verdict::Relevant if p.state == State::Collecting => {
                p.state = State::ScreenedRelevant;
            }
            _ => {}
        }
        let halt = confident_irrelevant && !advisory;
        p.halted |= halt;
        ev.screen = Some(ScreenEvent {
            stage: index,
            verdict,
            vote: Some(vote),
            score,
            cut,
            halt,
            advisory,
            ood,
            ood_reason,
        });
    }

    /// A regression stage's halt: the model's certified one-sided bound lies past the threshold
    /// (`margin`, in units of the stage's scale, reaches the halting quantile), in distribution.
    fn apply_regression_halt(
        &mut self,
        index: usize,
        margin: f64,
        outcome: &ForecastOutcome,
        ev: &mut Event,
    ) {
        let Some((rule, _, _)) = self.halting else {
            return;
        };
        let quantile = rule.quantile;
        let p = &mut self.progress;
        // A screening stage of the same window that did not halt is overruled: its event is
        // replaced by the halt.
        if p.halted || outcome.ood.is_some() || margin < quantile || margin.is_nan() {
            return;
        }
        p.halted = true;
        p.state = State::ScreenedIrrelevant;
        ev.screen = Some(ScreenEvent {
            stage: index,
            verdict: Verdict::Irrelevant,
            vote: None,
            score: margin,
            cut: Some(quantile),
            halt: true,
            advisory: false,
            ood: false,
            ood_reason: None,
        });
    }

    fn apply_forecast(
        &mut self,
        index: usize,
        outcome: ForecastOutcome,
        rule: Rule,
        ev: &mut Event,
    ) {
        let tolerance = self.tolerance();
        let p = &mut self.progress;
        if p.forecast_done || p.state == State::ScreenedIrrelevant {
            return;
        }
        let issue = match rule {
            // KNN stages learn from relevant runs only: their forecast means nothing before
            // screening cleared the run (or ended).
            Rule::Cleared { deadline } => {
                let screened = p.state == State::ScreenedRelevant || self.last_screen.is_none();
                let last = Some(index) == self.last_forecast;
                screened && (outcome.confident || last || deadline)
            }
            Rule::Tolerance => outcome.confident,
        };
        if !issue {
            return;
        }
        p.forecast_done = true;
        p.state = State::ForecastReady;
        let f = outcome.forecast;
        ev.forecast = Some(ForecastEvent {
            stage: index,
            mu_minus_sigma: f.mu_minus_sigma,
            mu_plus_sigma: f.mu_plus_sigma,
            mu_hat: f.mu_hat,
            mu_low: f.mu_low,
            mu_high: f.mu_high,
            level: outcome.level,
            confident: outcome.confident,
            within_tolerance: outcome.within_tolerance,
            tolerance,
            evidence: Evidence::Model,
            ood: outcome.ood.is_some(),
            ood_reason: outcome.ood,
        });
    }

    /// Streams a recorded trace through a fresh monitor frame by frame, exactly as the fix sees a
    /// live run, and returns every event (it stops once every stage has been evaluated).
    pub fn replay(model: &Arc<Model>, series: &[f64]) -> Result<Vec<Event>> {
        Self::replay_at(model, series, None)
    }

    /// [`Monitor::replay`] at tolerance `t` (None: the model's).
    pub fn replay_at(model: &Arc<Model>, series: &[f64], t: Option<f64>) -> Result<Vec<Event>> {
        let mut mon = Monitor::new(Arc::clone(model));
        mon.set_tolerance(t)?;
        let mut events = Vec::new();
        for &v in series {
            if let Some(e) = mon.push(v)? {
                events.push(e);
            }
            if mon.finished() {
                break;
            }
        }
        Ok(events)
    }

    /// The monitor's progress as bytes (for LAMMPS restart files).
    pub fn save_state(&self) -> Vec<u8> {
        let mut out = STATE_MAGIC.to_vec();
        out.extend_from_slice(&self.fingerprint.to_le_bytes());
        out.extend_from_slice(
            &crate::model::encode_state(&self.progress).expect("monitor state serialises"),
        );
        out
    }

    /// Restores progress saved by [`Monitor::save_state`] for the same model.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        let bad = |why: &str| Err(Error::State(why.into()));
        if bytes.len() < 12 || bytes[..8] != STATE_MAGIC {
            return bad("not a simforecast monitor state (wrong magic or too short)");
        }
        let fp = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if fp != self.fingerprint {
            return bad("it was saved with a different model");
        }
        let mut progress: Progress = crate::model::decode_state(&bytes[12..])
            .map_err(|e| Error::State(format!("corrupted ({e})")))?;
        let capacity = self.model.max_window();
        let consistent = progress.next_stage <= self.model.stages.len()
            && progress.buffer.len() <= capacity
            && progress.buffer.len() as u64 == progress.frames.min(capacity as u64)
            && progress.buffer.iter().all(|v| v.is_finite());
        if !consistent {
            return bad("inconsistent contents");
        }
        progress
            .buffer
            .reserve_exact(capacity - progress.buffer.len());
        self.progress = progress;
        Ok(())
    }
}
