//! Python values to the crate's types and back: failures to exceptions, traces and option
//! values from Python objects, JSON-able values to Python objects, warnings.

use numpy::{PyArrayDescrMethods, PyReadonlyArray1, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

use crate::error::{Failure, Kind};
use crate::options::Value;
use crate::traces::Traces;

/// The module that defines the exception classes (in Python: they have several bases).
const ERRORS: &str = "simforecast.errors";

macro_rules! class {
    ($py:expr, $name:literal) => {{
        static CELL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        CELL.import($py, ERRORS, $name)
    }};
}

/// The exception a failure becomes.
pub fn to_pyerr(py: Python<'_>, f: Failure) -> PyErr {
    let class = match f.kind {
        Kind::InvalidArgument => class!(py, "InvalidArgumentError"),
        Kind::ArgumentType => class!(py, "ArgumentTypeError"),
        Kind::NonFinite { .. } => class!(py, "NonFiniteError"),
        Kind::ModelFile => class!(py, "ModelFileError"),
        Kind::Trace => class!(py, "TraceFileError"),
        Kind::State => class!(py, "StateError"),
        Kind::Numerical => class!(py, "NumericalError"),
        Kind::Io => class!(py, "SimforecastIOError"),
        Kind::Internal => class!(py, "SimforecastError"),
    };
    let class = match class {
        Ok(c) => c.clone(),
        // The package is broken (errors.py missing): say so rather than lose the message.
        Err(e) => return e,
    };
    match f.kind {
        Kind::NonFinite { frame, value } => PyErr::from_type(class, (f.message, frame, value)),
        _ => PyErr::from_type(class, (f.message,)),
    }
}

/// Runs `f` guarded against panics and turns its failure into the exception.
pub fn call<T>(py: Python<'_>, f: impl FnOnce() -> crate::error::Result<T>) -> PyResult<T> {
    crate::error::guard(f).map_err(|e| to_pyerr(py, e))
}

/// Runs `f` with the GIL released (it must hold no Python object), guarded against panics.
pub fn detached<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> crate::error::Result<T> + Send,
) -> PyResult<T> {
    py.detach(|| crate::error::guard(f))
        .map_err(|e| to_pyerr(py, e))
}

/// Issues each message as a `SimforecastWarning`.
pub fn warn(py: Python<'_>, messages: &[String]) -> PyResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let category = class!(py, "SimforecastWarning")?;
    let warnings = py.import("warnings")?;
    for m in messages {
        // stacklevel 1: the innermost Python frame, the caller of the simforecast function
        warnings.call_method1("warn", (m, category, 1))?;
    }
    Ok(())
}

/// A JSON-serialisable value as the Python object `json.loads` gives.
pub fn to_python<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| to_pyerr(py, Failure::new(Kind::Internal, e.to_string())))?;
    py.import("json")?.call_method1("loads", (text,))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "object".into(), |n| n.to_string())
}

fn type_error(py: Python<'_>, message: String) -> PyErr {
    to_pyerr(py, Failure::type_error(message))
}

/// A 1-D float64 array's values, or an `ArgumentTypeError` saying what `what` was instead.
pub fn float_array<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<PyReadonlyArray1<'py, f64>> {
    let py = obj.py();
    let Ok(arr) = obj.cast::<PyUntypedArray>() else {
        return Err(type_error(
            py,
            format!(
                "{what} must be a 1-D NumPy array of float64, got {} (convert with \
                 numpy.asarray(x, dtype=numpy.float64))",
                type_name(obj)
            ),
        ));
    };
    let dtype = arr.dtype();
    if !dtype.is_equiv_to(&numpy::dtype::<f64>(py)) || arr.ndim() != 1 {
        let dtype = dtype.str().map_or_else(|_| "?".into(), |s| s.to_string());
        return Err(type_error(
            py,
            format!(
                "{what} must be a 1-D NumPy array of float64, got a {}-D array of {dtype} \
                 (convert with numpy.asarray(x, dtype=numpy.float64){})",
                arr.ndim(),
                if arr.ndim() == 1 { "" } else { ".ravel()" }
            ),
        ));
    }
    obj.extract::<PyReadonlyArray1<'py, f64>>()
        .map_err(|e| type_error(py, format!("{what}: {e}")))
}

fn fspath(obj: &Bound<'_, PyAny>) -> Option<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Some(s.to_string());
    }
    obj.py()
        .import("os")
        .and_then(|os| os.call_method1("fspath", (obj,)))
        .and_then(|p| p.extract::<String>())
        .ok()
}

/// Traces as a Python caller names them: a path (str or os.PathLike), a list of paths (files,
/// directories, globs), a list of 1-D float64 arrays, or a 2-D float64 array (one trace a row).
pub fn traces(obj: &Bound<'_, PyAny>, names: Option<Vec<String>>) -> PyResult<Traces> {
    let py = obj.py();
    let paths_only = |t: Traces| match (&t, &names) {
        (Traces::Paths(_), Some(_)) => Err(to_pyerr(
            py,
            Failure::invalid(
                "names are for arrays: traces read from files are named by their files",
            ),
        )),
        _ => Ok(t),
    };
    if let Some(p) = fspath(obj) {
        return paths_only(Traces::Paths(vec![p]));
    }
    if let Ok(arr) = obj.cast::<PyUntypedArray>() {
        if arr.ndim() != 2 {
            return Err(type_error(
                py,
                format!(
                    "traces as one array must be 2-D (one trace a row), got a {}-D array; pass \
                     a list of 1-D arrays for traces of different lengths",
                    arr.ndim()
                ),
            ));
        }
        let mut series = Vec::new();
        for (i, row) in obj.try_iter()?.enumerate() {
            series.push(
                float_array(&row?, &format!("trace {i}"))?
                    .as_array()
                    .to_vec(),
            );
        }
        return Ok(Traces::Arrays { series, names });
    }
    let items: Vec<Bound<'_, PyAny>> =
        if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
            obj.try_iter()?.collect::<PyResult<_>>()?
        } else {
            return Err(type_error(
                py,
                format!(
                    "traces are a path, a list of paths (files, directories, globs) or a list of \
                 1-D float64 NumPy arrays, got {}",
                    type_name(obj)
                ),
            ));
        };
    if items.is_empty() {
        return Err(to_pyerr(
            py,
            Failure::invalid("no traces: the list is empty"),
        ));
    }
    if items.iter().all(|i| i.cast::<PyUntypedArray>().is_ok()) {
        let series = items
            .iter()
            .enumerate()
            .map(|(i, a)| Ok(float_array(a, &format!("trace {i}"))?.as_array().to_vec()))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Traces::Arrays { series, names });
    }
    let paths: Option<Vec<String>> = items.iter().map(fspath).collect();
    match paths {
        Some(p) => paths_only(Traces::Paths(p)),
        None => Err(type_error(
            py,
            "traces are either all paths or all 1-D float64 NumPy arrays, not a mix (nor lists of \
             numbers: convert each with numpy.asarray(x, dtype=numpy.float64))"
                .into(),
        )),
    }
}

/// A keyword option's value as the options parser sees it.
pub fn option_value(obj: &Bound<'_, PyAny>) -> Value {
    if obj.is_instance_of::<pyo3::types::PyBool>() {
        return Value::Other("bool".into());
    }
    if let Ok(i) = obj.extract::<i64>() {
        if obj.is_instance_of::<pyo3::types::PyInt>() || obj.hasattr("__index__").unwrap_or(false) {
            return Value::Int(i);
        }
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Value::Str(s.to_string());
    }
    if let Ok(x) = obj.extract::<f64>() {
        return Value::Float(x);
    }
    let listish = obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
        || obj.cast::<PyUntypedArray>().is_ok();
    if listish {
        if let Ok(iter) = obj.try_iter() {
            let items: PyResult<Vec<Value>> = iter.map(|i| i.map(|i| option_value(&i))).collect();
            if let Ok(items) = items {
                return Value::List(items);
            }
        }
    }
    Value::Other(type_name(obj))
}

/// The keyword options of a call, name and value.
pub fn options(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, Value)>> {
    let Some(kwargs) = kwargs else {
        return Ok(Vec::new());
    };
    kwargs
        .iter()
        .map(|(k, v)| Ok((k.extract::<String>()?, option_value(&v))))
        .collect()
}
