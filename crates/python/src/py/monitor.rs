//! `simforecast.Monitor`: the runtime's streaming monitor over one trace.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use simforecast_runtime::model::Model as RtModel;
use simforecast_runtime::monitor::Monitor as RtMonitor;

use super::convert::{call, float_array, to_pyerr};
use super::model::Model;
use crate::error::{Failure, Kind};
use crate::event::{state_name, Event};

/// Watches one running trace: push its values frame by frame; an event says what the model
/// decided at that frame (halt, clear, forecast). The same Rust monitor as the LAMMPS fix, so
/// the same decisions for the same frames.
#[pyclass(module = "simforecast", name = "Monitor")]
pub struct Monitor {
    inner: RtMonitor,
}

impl Monitor {
    pub fn new(model: Arc<RtModel>) -> Self {
        Self {
            inner: RtMonitor::new(model),
        }
    }
}

#[pymethods]
impl Monitor {
    /// A monitor over one new run; `tolerance` as the property of that name.
    #[new]
    #[pyo3(signature = (model, tolerance = None))]
    fn py_new(py: Python<'_>, model: &Model, tolerance: Option<f64>) -> PyResult<Self> {
        let mut m = Self::new(Arc::clone(model.inner()));
        m.set_tolerance(py, tolerance)?;
        Ok(m)
    }

    /// Appends one frame; returns the event decided at this frame, or None. A NaN or infinite
    /// value raises NonFiniteError and leaves the monitor as it was.
    fn push(&mut self, py: Python<'_>, value: f64) -> PyResult<Option<Event>> {
        let inner = &mut self.inner;
        call(py, || Ok(inner.push(value)?.as_ref().map(Event::from)))
    }

    /// Appends every value of a 1-D float64 array; returns the events decided, in order. A NaN or
    /// infinite value raises NonFiniteError naming its frame, and nothing is pushed.
    fn push_many(&mut self, py: Python<'_>, values: &Bound<'_, PyAny>) -> PyResult<Vec<Event>> {
        let arr = float_array(values, "values")?;
        let view = arr.as_array();
        let frames = self.inner.frames();
        // Checked first, so an error leaves the monitor unchanged.
        if let Some((i, &value)) = view.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            let frame = frames + i as u64;
            return Err(to_pyerr(
                py,
                Failure::new(
                    Kind::NonFinite { frame, value },
                    format!(
                        "non-finite sample {value} at frame {frame} (values[{i}]); nothing was \
                         pushed"
                    ),
                ),
            ));
        }
        let inner = &mut self.inner;
        call(py, || {
            let mut events = Vec::new();
            let mut push = |v: f64| -> crate::error::Result<()> {
                if let Some(e) = inner.push(v)? {
                    events.push(Event::from(&e));
                }
                Ok(())
            };
            match view.as_slice() {
                Some(s) => s.iter().try_for_each(|&v| push(v))?,
                None => view.iter().try_for_each(|&v| push(v))?,
            }
            Ok(events)
        })
    }

    /// Where the monitor stands: "collecting", "screened_relevant", "screened_irrelevant" or
    /// "forecast_ready".
    #[getter]
    fn state(&self) -> &'static str {
        state_name(self.inner.state())
    }

    /// Frames pushed so far.
    #[getter]
    fn frames(&self) -> u64 {
        self.inner.frames()
    }

    /// True once every stage has decided (later frames change nothing).
    #[getter]
    fn finished(&self) -> bool {
        self.inner.finished()
    }

    /// The last event, or None.
    #[getter]
    fn last_event(&self) -> Option<Event> {
        self.inner.last_event().map(Event::from)
    }

    /// The model this monitor runs.
    #[getter]
    fn model(&self) -> Model {
        Model::new(Arc::clone(self.inner.model()))
    }

    /// The tolerance in force: the relative half-width (high − low) / 2 / |middle| the 90 %
    /// interval for mu must reach before the monitor forecasts (the one set, else the model's;
    /// None: no tolerance, any width). Setting None returns to the model's; a value that is not a
    /// positive number, or outside the range the model was calibrated for, raises
    /// InvalidArgumentError and leaves the monitor unchanged. Kept by `reset` and by pickling.
    #[getter]
    fn tolerance(&self) -> Option<f64> {
        self.inner.tolerance()
    }

    #[setter]
    pub(crate) fn set_tolerance(&mut self, py: Python<'_>, tolerance: Option<f64>) -> PyResult<()> {
        let inner = &mut self.inner;
        call(py, || Ok(inner.set_tolerance(tolerance)?))
    }

    /// Starts a new trace with the same model (and tolerance).
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// The monitor's progress as bytes (restore with load_state, on a monitor of the same model).
    fn save_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = call(py, || Ok(self.inner.save_state()))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Restores progress saved by save_state; StateError if it belongs to another model or is
    /// corrupted (the monitor is then unchanged).
    fn load_state(&mut self, py: Python<'_>, state: &[u8]) -> PyResult<()> {
        let inner = &mut self.inner;
        call(py, || Ok(inner.load_state(state)?))
    }

    /// Pickles as the model file's bytes and the saved state (for multiprocessing, Ray...).
    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(
        Bound<'py, PyAny>,
        (Bound<'py, PyBytes>, Bound<'py, PyBytes>, Option<f64>),
    )> {
        let f = py
            .import("simforecast._simforecast")?
            .getattr("_monitor_from_state")?;
        let inner = &self.inner;
        let (model, state) = call(py, || Ok((inner.model().to_bytes(), inner.save_state())))?;
        // Only a tolerance set on this monitor travels; None means the model's.
        let own = inner
            .tolerance()
            .filter(|t| Some(*t) != inner.model().tolerance());
        Ok((f, (PyBytes::new(py, &model), PyBytes::new(py, &state), own)))
    }

    fn __repr__(&self) -> String {
        format!(
            "<simforecast.Monitor frames={} state={}>",
            self.inner.frames(),
            state_name(self.inner.state())
        )
    }
}

/// Unpickles a monitor: its model, then its progress and tolerance.
#[pyfunction]
#[pyo3(signature = (model, state, tolerance = None))]
pub fn _monitor_from_state(
    py: Python<'_>,
    model: &[u8],
    state: &[u8],
    tolerance: Option<f64>,
) -> PyResult<Monitor> {
    call(py, || {
        let model = RtModel::from_bytes(model, "<pickled monitor>")?;
        let mut inner = RtMonitor::new(Arc::new(model));
        inner.load_state(state)?;
        inner.set_tolerance(tolerance)?;
        Ok(Monitor { inner })
    })
}
