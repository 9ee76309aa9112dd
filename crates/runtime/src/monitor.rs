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
//! - forecasting stages learn from relevant runs only, so they forecast only for a cleared run:
//!   at the first one whose interval is within tolerance, else at the first one at or past the
//!   model's forecast deadline (or the last one), flagged `confident = false`. A run cleared after
//!   the deadline is forecast at the stage of its clearing window. A run that is never cleared
//!   gets no forecast and runs to its end.
//! - a non-finite sample is an error that leaves the monitor unchanged.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::stage::{ForecastOutcome, OodReason, Role, ScreenOutcome, Stage};

pub use crate::codes::{State, Verdict};

/// A screening decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScreenEvent {
    pub stage: usize,
    pub verdict: Verdict,
    /// Weighted share of irrelevant neighbours.
    pub vote: f64,
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

/// A stage's outcome, with the forecasting stage's deadline flag.
enum Outcome {
    Screen(ScreenOutcome),
    Forecast(ForecastOutcome, bool),
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

// Version 3: events say why a trace is out of distribution.
const STATE_MAGIC: [u8; 8] = *b"SFMONST\x03";

/// A monitor over one trace.
#[derive(Clone, Debug)]
pub struct Monitor {
    model: Arc<Model>,
    fingerprint: u32,
    last_screen: Option<usize>,
    last_forecast: Option<usize>,
    max_window: usize,
    progress: Progress,
}

impl Monitor {
    pub fn new(model: Arc<Model>) -> Self {
        let fingerprint = model.fingerprint();
        let last_of = |role| model.stages.iter().rposition(|s| s.role() == role);
        let last_screen = last_of(Role::Screen);
        let last_forecast = last_of(Role::Forecast);
        let capacity = model.max_window();
        Self {
            model,
            fingerprint,
            last_screen,
            last_forecast,
            max_window: capacity,
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
            let outcome = match stage {
                Stage::Screen(s) => Outcome::Screen(s.evaluate(&self.progress.buffer)?),
                Stage::Forecast(f) => {
                    Outcome::Forecast(f.evaluate(&self.progress.buffer)?, f.calibration.deadline)
                }
            };
            self.progress.next_stage += 1;
            let ev = event.get_or_insert_with(|| Event {
                frame: self.progress.frames,
                ..Event::default()
            });
            match outcome {
                Outcome::Screen(o) => self.apply_screen(index, o, ev),
                Outcome::Forecast(o, deadline) => self.apply_forecast(index, o, deadline, ev),
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
            vote,
            score,
            cut,
            halt,
            advisory,
            ood,
            ood_reason,
        });
    }

    fn apply_forecast(
        &mut self,
        index: usize,
        outcome: ForecastOutcome,
        deadline: bool,
        ev: &mut Event,
    ) {
        let p = &mut self.progress;
        // Forecasting stages learn from relevant runs only, so their forecast means nothing for a
        // run screened irrelevant, or before screening cleared it (or ended).
        if p.forecast_done || p.state == State::ScreenedIrrelevant {
            return;
        }
        let screened = p.state == State::ScreenedRelevant || self.last_screen.is_none();
        let last = Some(index) == self.last_forecast;
        if !(screened && (outcome.confident || last || deadline)) {
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
            ood: outcome.ood.is_some(),
            ood_reason: outcome.ood,
        });
    }

    /// Streams a recorded trace through a fresh monitor frame by frame, exactly as the fix sees a
    /// live run, and returns every event (it stops once every stage has been evaluated).
    pub fn replay(model: &Arc<Model>, series: &[f64]) -> Result<Vec<Event>> {
        let mut mon = Monitor::new(Arc::clone(model));
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
