//! The PyO3 glue: Python objects in, the plain Rust of the crate called (with the GIL released
//! where it computes long), Python objects and exceptions out. Every call runs under
//! [`crate::error::guard`], so a panic becomes a `SimforecastError`, never a `PanicException`.

mod convert;
mod event;
mod model;
mod monitor;
mod pruner;

use pyo3::prelude::*;

/// The native part of the `simforecast` package (import `simforecast`, not this).
#[pymodule]
fn _simforecast(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "TRAINING_OPTIONS",
        crate::options::OPTIONS
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>(),
    )?;
    m.add_class::<crate::event::Event>()?;
    m.add_class::<model::Model>()?;
    m.add_class::<monitor::Monitor>()?;
    m.add_class::<pruner::Pruner>()?;
    m.add_function(wrap_pyfunction!(model::load_model, m)?)?;
    m.add_function(wrap_pyfunction!(model::train, m)?)?;
    m.add_function(wrap_pyfunction!(model::_model_from_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(monitor::_monitor_from_state, m)?)?;
    Ok(())
}
