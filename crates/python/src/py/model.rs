//! `simforecast.Model`, `load_model` and `train`.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use simforecast_runtime::model::{Direction, Model as RtModel};
use simforecast_train::TrainParams;

use super::convert::{self, call, detached, warn};
use super::monitor::Monitor;
use crate::error::Failure;
use crate::event::Event;
use crate::traces::{self, Request, Traces};
use crate::{options, training};

/// A trained model: its stages, what it reads and how it labels runs. Load one with
/// `load_model(path)` or make one with `train(...)`; watch a run with `model.monitor()`.
#[pyclass(frozen, module = "simforecast", name = "Model")]
pub struct Model {
    inner: Arc<RtModel>,
}

impl Model {
    pub fn new(inner: Arc<RtModel>) -> Self {
        Self { inner }
    }

    pub fn inner(&self) -> &Arc<RtModel> {
        &self.inner
    }
}

fn steps(py: Python<'_>, value: Option<i64>, what: &str) -> PyResult<Option<i64>> {
    match value {
        Some(v) if v <= 0 => Err(convert::to_pyerr(
            py,
            Failure::invalid(format!(
                "{what} must be a positive number of steps, got {v}"
            )),
        )),
        v => Ok(v),
    }
}

#[pymethods]
impl Model {
    /// Reads a model file (ModelFileError when it is missing, foreign, truncated, corrupted or of
    /// another format version).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        detached(py, || Ok(Self::new(Arc::new(RtModel::load(&path)?))))
    }

    /// A model from the bytes of a model file (as `to_bytes` gives them).
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        call(py, || {
            Ok(Self::new(Arc::new(RtModel::from_bytes(data, "<bytes>")?)))
        })
    }

    /// The bytes of the model file.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = call(py, || Ok(self.inner.to_bytes()))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Writes the model file (atomically: a reader never sees half of it).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let inner = &self.inner;
        detached(py, || Ok(inner.save(&path)?))
    }

    /// The model card as a dict: the same as `simforecast inspect --json`.
    fn card<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let card = call(py, || Ok(self.inner.card()))?;
        convert::to_python(py, &card)
    }

    /// The model card as text: the same as `simforecast inspect` prints after the file name.
    fn card_text(&self, py: Python<'_>) -> PyResult<String> {
        call(py, || Ok(self.inner.card().to_string()))
    }

    /// A monitor over one new run. `frame_spacing`, when given, is checked against the model's
    /// (the steps between the values you will push); `tolerance` as `Monitor.tolerance`.
    #[pyo3(signature = (frame_spacing = None, tolerance = None))]
    fn monitor(
        &self,
        py: Python<'_>,
        frame_spacing: Option<i64>,
        tolerance: Option<f64>,
    ) -> PyResult<Monitor> {
        if let Some(s) = steps(py, frame_spacing, "frame_spacing")? {
            call(py, || {
                traces::check_spacing(s, self.inner.meta.frame_spacing, "the run writes")
            })?;
        }
        let mut m = Monitor::new(Arc::clone(&self.inner));
        m.set_tolerance(py, tolerance)?;
        Ok(m)
    }

    /// The model's default tolerance (relative half-width of the 90 % interval for mu a forecast
    /// must reach); None when it has none.
    #[getter]
    fn tolerance(&self) -> Option<f64> {
        self.inner.tolerance()
    }

    /// The tolerances (low, high) the model was calibrated for, what a monitor accepts; None
    /// when any positive tolerance is accepted.
    #[getter]
    fn tolerance_range(&self) -> Option<(f64, f64)> {
        self.inner.tolerance_range()
    }

    /// Replays a whole trace through a fresh monitor (as `simforecast predict`) at `tolerance`
    /// (None: the model's): the events, in order, until every stage has decided.
    #[pyo3(signature = (values, tolerance = None))]
    fn replay(
        &self,
        py: Python<'_>,
        values: &Bound<'_, PyAny>,
        tolerance: Option<f64>,
    ) -> PyResult<Vec<Event>> {
        let arr = convert::float_array(values, "values")?;
        let series = arr.as_array().to_vec();
        let inner = &self.inner;
        let events = detached(py, || {
            Ok(simforecast_runtime::monitor::Monitor::replay_at(
                inner, &series, tolerance,
            )?)
        })?;
        Ok(events.iter().map(Event::from).collect())
    }

    /// The model's evaluation on held-out traces, as `simforecast evaluate --json`: a dict
    /// (absent figures None) with the held-out metrics, the compute saved when a forecast must
    /// be within ±`bank_at` (relative 90 % half-width) to replace the rest of a run, its curve
    /// and each run's stop. `traces` are paths (files, directories, globs) or arrays, as for
    /// `train`; arrays need `frame_spacing`, which must be the model's. With `per_trace=True`,
    /// returns (evaluation, outcomes), one dict per trace.
    #[pyo3(signature = (traces, *, frame_spacing = None, column = None, names = None, per_trace = false, bank_at = 0.25))]
    // One argument per keyword of the Python signature above.
    #[allow(clippy::too_many_arguments)]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        traces: &Bound<'py, PyAny>,
        frame_spacing: Option<i64>,
        column: Option<String>,
        names: Option<Vec<String>>,
        per_trace: bool,
        bank_at: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let frame_spacing = steps(py, frame_spacing, "frame_spacing")?;
        let traces = convert::traces(traces, names)?;
        let req = Request::for_model(&self.inner, column, frame_spacing);
        let inner = &self.inner;
        let (loaded_warnings, evaluation) = detached(py, || {
            let loaded = traces::load(traces, &req)?;
            let result = training::evaluate(inner, &loaded, bank_at)?;
            Ok((loaded.warnings, result))
        })?;
        warn(py, &loaded_warnings)?;
        let report = convert::to_python(py, &evaluation)?;
        if per_trace {
            let outcomes = convert::to_python(py, &evaluation.outcomes)?;
            return Ok(PyTuple::new(py, [report, outcomes])?.into_any());
        }
        Ok(report)
    }

    /// Steps between frames of the traces the model was trained on.
    #[getter]
    fn frame_spacing(&self) -> i64 {
        self.inner.meta.frame_spacing
    }

    /// Frames after which no stage is left to decide.
    #[getter]
    fn max_window(&self) -> usize {
        self.inner.max_window()
    }

    /// Windows of the stages, in order.
    #[getter]
    fn windows(&self) -> Vec<usize> {
        self.inner.stages.iter().map(|s| s.window()).collect()
    }

    /// The threshold a run's result is compared with.
    #[getter]
    fn threshold(&self) -> f64 {
        self.inner.meta.threshold
    }

    /// True when a run is irrelevant below the threshold (else above it).
    #[getter]
    fn below(&self) -> bool {
        self.inner.meta.direction == Direction::Below
    }

    /// Frames at the end of a run over which its result (μ, σ) is taken.
    #[getter]
    fn tail(&self) -> usize {
        self.inner.meta.tail
    }

    /// The column the model was trained on.
    /// The column the model was trained on (the one it reads from trace files).
    #[getter]
    fn column(&self) -> String {
        self.inner.meta.column.clone()
    }

    /// Units of the column, when recorded.
    #[getter]
    fn units(&self) -> Option<String> {
        self.inner.meta.units.clone()
    }

    /// Name of the preset the model was trained with.
    #[getter]
    fn preset(&self) -> String {
        self.inner.meta.preset.clone()
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        self.card_text(py)
    }

    fn __repr__(&self) -> String {
        let m = &self.inner.meta;
        format!(
            "<simforecast.Model preset={} column={} threshold={} ({} stages, windows up to {}, \
             frame spacing {})>",
            m.preset,
            m.column,
            m.threshold,
            self.inner.stages.len(),
            self.inner.max_window(),
            m.frame_spacing
        )
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }

    /// Pickles as the model file's bytes.
    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let f = py
            .import("simforecast._simforecast")?
            .getattr("_model_from_bytes")?;
        Ok((f, (self.to_bytes(py)?,)))
    }
}

/// Reads a model file (ModelFileError when it cannot be used).
#[pyfunction]
pub fn load_model(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
    Model::load(py, path)
}

/// Unpickles a model.
#[pyfunction]
pub fn _model_from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Model> {
    Model::from_bytes(py, data)
}

/// Trains a model on every trace, as `simforecast train` does (the GIL is released meanwhile).
#[pyfunction]
#[pyo3(signature = (traces, threshold, *, below = false, preset = None, frame_spacing = None, column = None, tail = 1000, names = None, units = None, **options))]
#[allow(clippy::too_many_arguments)]
pub fn train(
    py: Python<'_>,
    traces: &Bound<'_, PyAny>,
    threshold: f64,
    below: bool,
    preset: Option<&str>,
    frame_spacing: Option<i64>,
    column: Option<String>,
    tail: i64,
    names: Option<Vec<String>>,
    units: Option<String>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Model> {
    let options = convert::options(options)?;
    let params = call(py, || {
        Ok(TrainParams {
            preset: options::preset(preset)?,
            overrides: options::overrides(&options)?,
        })
    })?;
    let tail = call(py, || {
        usize::try_from(tail)
            .ok()
            .filter(|&t| t >= 2)
            .ok_or_else(|| Failure::invalid(format!("tail must be at least 2 frames, got {tail}")))
    })?;
    let frame_spacing = steps(py, frame_spacing, "frame_spacing")?;
    let traces: Traces = convert::traces(traces, names)?;
    let req = Request {
        column,
        frame_spacing,
        threshold,
        direction: if below {
            Direction::Below
        } else {
            Direction::Above
        },
        tail,
        min_len: 0,
    };
    let trained = detached(py, || {
        training::train(traces::load(traces, &req)?, &params, units)
    })?;
    warn(py, &trained.warnings)?;
    Ok(Model::new(Arc::new(trained.model)))
}
