//! Python methods of [`crate::event::Event`].

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::event::{Event, Field};

#[pymethods]
impl Event {
    /// True when this event carries a forecast.
    #[getter(is_forecast)]
    fn py_is_forecast(&self) -> bool {
        self.is_forecast()
    }

    /// The event as a dict of its fields (absent ones as None).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, v) in self.fields() {
            match v {
                Field::None => d.set_item(name, py.None())?,
                Field::Bool(b) => d.set_item(name, b)?,
                Field::Count(c) => d.set_item(name, c)?,
                Field::Float(x) => d.set_item(name, x)?,
                Field::Text(t) => d.set_item(name, t)?,
            }
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        self.repr()
    }
}
