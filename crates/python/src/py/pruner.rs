//! `simforecast.Pruner`: report a value every frame, ask whether to stop.

use std::sync::Arc;

use pyo3::prelude::*;

use super::convert::call;
use super::model::Model;
use crate::event::{state_name, Event};
use crate::pruner::{Pruner as RtPruner, Unit};

/// The shape Optuna and Ray Tune users know, for an engine driven from Python: run some steps,
/// `report(step, value)` each frame, stop when `should_stop()`.
///
/// `unit="frame"`: the first argument of report counts frames, one apart. `unit="step"`: it is
/// the time step, the model's frame spacing apart (a trace sampled otherwise is an error).
/// `stop_on_forecast=True` also stops a run once its forecast is known.
#[pyclass(module = "simforecast", name = "Pruner")]
pub struct Pruner {
    inner: RtPruner,
}

#[pymethods]
impl Pruner {
    #[new]
    #[pyo3(signature = (model, *, unit = "frame", stop_on_forecast = false))]
    fn new(py: Python<'_>, model: &Model, unit: &str, stop_on_forecast: bool) -> PyResult<Self> {
        let unit = call(py, || Unit::parse(unit))?;
        Ok(Self {
            inner: RtPruner::new(Arc::clone(model.inner()), unit, stop_on_forecast),
        })
    }

    /// Feeds the value of the frame at `step` (a frame count or time step, see the class);
    /// returns the event decided there, or None. A report out of turn or a non-finite value
    /// raises and changes nothing.
    fn report(&mut self, py: Python<'_>, step: i64, value: f64) -> PyResult<Option<Event>> {
        let inner = &mut self.inner;
        call(py, || {
            Ok(inner.report(step, value)?.as_ref().map(Event::from))
        })
    }

    /// True once the model halted the run (or forecast it, with stop_on_forecast).
    fn should_stop(&self) -> bool {
        self.inner.should_stop()
    }

    /// The frame at which the model halted the run, or None.
    #[getter]
    fn halt_frame(&self) -> Option<u64> {
        self.inner.halt_frame()
    }

    /// The event that carried the forecast, or None.
    #[getter]
    fn forecast(&self) -> Option<Event> {
        self.inner.forecast().map(Event::from)
    }

    /// Frames reported so far.
    #[getter]
    fn frames(&self) -> u64 {
        self.inner.monitor().frames()
    }

    /// The monitor's state (see Monitor.state).
    #[getter]
    fn state(&self) -> &'static str {
        state_name(self.inner.monitor().state())
    }

    /// Position of the last report, or None.
    #[getter]
    fn last_step(&self) -> Option<i64> {
        self.inner.last_position()
    }

    /// What report's first argument counts: "frame" or "step".
    #[getter]
    fn unit(&self) -> &'static str {
        match self.inner.unit() {
            Unit::Frame => "frame",
            Unit::Step => "step",
        }
    }

    /// True when a forecast also stops the run.
    #[getter]
    fn stop_on_forecast(&self) -> bool {
        self.inner.stop_on_forecast()
    }

    fn __repr__(&self) -> String {
        format!(
            "<simforecast.Pruner frames={} state={} should_stop={}>",
            self.inner.monitor().frames(),
            state_name(self.inner.monitor().state()),
            if self.inner.should_stop() {
                "True"
            } else {
                "False"
            }
        )
    }
}
