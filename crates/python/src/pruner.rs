//! The pruner's bookkeeping, for engines driven from Python the way Optuna and Ray Tune users
//! drive trials: run some steps, report the value, ask whether to stop. Each report is one frame
//! of the trace; the report's position (a frame count or a time step) must follow the previous
//! one, so a skipped or repeated frame, or a trace sampled at another spacing than the model's,
//! is an error instead of a silently wrong trace.

use std::sync::Arc;

use simforecast_runtime::model::Model;
use simforecast_runtime::monitor::{self, Monitor};

use crate::error::{Failure, Result};

/// What the first argument of `report` counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Frames: consecutive reports are 1 apart.
    Frame,
    /// Time steps: consecutive reports are the model's frame spacing apart.
    Step,
}

impl Unit {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "frame" => Ok(Unit::Frame),
            "step" => Ok(Unit::Step),
            _ => Err(Failure::invalid(format!(
                "unit is 'frame' or 'step', got '{name}'"
            ))),
        }
    }
}

/// A monitor fed by positioned reports.
#[derive(Clone, Debug)]
pub struct Pruner {
    monitor: Monitor,
    unit: Unit,
    stride: i64,
    stop_on_forecast: bool,
    /// Position of the last report.
    last: Option<i64>,
    halt_frame: Option<u64>,
    forecast: Option<monitor::Event>,
}

impl Pruner {
    pub fn new(model: Arc<Model>, unit: Unit, stop_on_forecast: bool) -> Self {
        let stride = match unit {
            Unit::Frame => 1,
            Unit::Step => model.meta.frame_spacing,
        };
        Self {
            monitor: Monitor::new(model),
            unit,
            stride,
            stop_on_forecast,
            last: None,
            halt_frame: None,
            forecast: None,
        }
    }

    /// Feeds the value reported at `at`; returns the event decided there, if any. An error
    /// (a position out of turn, a non-finite value) changes nothing.
    pub fn report(&mut self, at: i64, value: f64) -> Result<Option<monitor::Event>> {
        if let Some(last) = self.last {
            let want = last + self.stride;
            if at != want {
                let what = match self.unit {
                    Unit::Frame => "frame",
                    Unit::Step => "step",
                };
                let spacing = match self.unit {
                    Unit::Frame => String::new(),
                    Unit::Step => format!(
                        " (the model's frame spacing is {} steps: report once every {} steps)",
                        self.stride, self.stride
                    ),
                };
                return Err(Failure::invalid(format!(
                    "report at {what} {at} out of turn: the last report was at {what} {last}, \
                     the next one is {want}{spacing}"
                )));
            }
        }
        let event = self.monitor.push(value)?;
        self.last = Some(at);
        if let Some(e) = &event {
            if e.halt() && self.halt_frame.is_none() {
                self.halt_frame = Some(e.frame);
            }
            if e.forecast.is_some() && self.forecast.is_none() {
                self.forecast = Some(e.clone());
            }
        }
        Ok(event)
    }

    /// True once the model halted the run (or, with `stop_on_forecast`, once it forecast it).
    pub fn should_stop(&self) -> bool {
        self.halt_frame.is_some() || (self.stop_on_forecast && self.forecast.is_some())
    }

    pub fn halt_frame(&self) -> Option<u64> {
        self.halt_frame
    }

    /// The event that carried the forecast.
    pub fn forecast(&self) -> Option<&monitor::Event> {
        self.forecast.as_ref()
    }

    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    pub fn last_position(&self) -> Option<i64> {
        self.last
    }

    pub fn unit(&self) -> Unit {
        self.unit
    }

    pub fn stop_on_forecast(&self) -> bool {
        self.stop_on_forecast
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::{load, Request, Traces};
    use simforecast_runtime::model::Direction;
    use simforecast_train::{Preset, TrainParams};

    /// A small real model: 40 traces, the high ones rising fast.
    fn model() -> Arc<Model> {
        let series: Vec<Vec<f64>> = (0..40)
            .map(|i| {
                let level = 1.0 + (i % 10) as f64;
                (0..200)
                    .map(|t| {
                        level * (1.0 - (-(t as f64) / 20.0).exp())
                            + 0.01 * ((t * (i + 1)) as f64).cos()
                    })
                    .collect()
            })
            .collect();
        let loaded = load(
            Traces::Arrays {
                series,
                names: None,
            },
            &Request {
                column: None,
                frame_spacing: Some(5),
                threshold: 8.5,
                direction: Direction::Above,
                tail: 50,
                min_len: 0,
            },
        )
        .unwrap();
        let mut p = TrainParams::new(Preset::Paper);
        p.overrides.screen_windows = Some(vec![40]);
        p.overrides.forecast_windows = Some(vec![60]);
        Arc::new(crate::training::train(loaded, &p, None).unwrap().model)
    }

    fn rising(level: f64, t: usize) -> f64 {
        level * (1.0 - (-(t as f64) / 20.0).exp())
    }

    #[test]
    fn steps_must_follow_at_the_model_spacing() {
        let m = model();
        let mut p = Pruner::new(Arc::clone(&m), Unit::Step, false);
        p.report(5, 1.0).unwrap();
        let e = p.report(15, 1.0).unwrap_err();
        assert!(e.message.contains("the next one is 10"), "{e}");
        assert!(e.message.contains("frame spacing is 5 steps"), "{e}");
        assert_eq!(p.monitor().frames(), 1);
        assert!(p.report(10, f64::NAN).is_err());
        assert_eq!((p.monitor().frames(), p.last_position()), (1, Some(5)));
        p.report(10, 1.0).unwrap();
    }

    #[test]
    fn a_high_run_stops_and_a_low_one_gets_its_forecast() {
        let m = model();
        let mut high = Pruner::new(Arc::clone(&m), Unit::Frame, false);
        for t in 0..200 {
            high.report(t as i64, rising(10.0, t)).unwrap();
            if high.should_stop() {
                break;
            }
        }
        assert_eq!(high.halt_frame(), Some(40));
        let mut low = Pruner::new(Arc::clone(&m), Unit::Frame, true);
        for t in 0..200 {
            low.report(t as i64, rising(2.0, t)).unwrap();
            if low.should_stop() {
                break;
            }
        }
        assert_eq!(low.halt_frame(), None);
        assert_eq!(low.forecast().map(|e| e.frame), Some(60));
        assert_eq!(low.monitor().frames(), 60);
    }
}
