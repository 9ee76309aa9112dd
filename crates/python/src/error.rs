//! What a call into simforecast from Python can fail with: one [`Kind`] per Python exception
//! class (`simforecast.errors`), the library's message kept as is. The glue turns a [`Failure`]
//! into the exception; nothing here knows Python.

use std::panic::{catch_unwind, AssertUnwindSafe};

use simforecast_runtime::Error;
use simforecast_train::trace::TraceError;

/// Which exception a failure becomes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A value outside its domain (`InvalidArgumentError`, a `ValueError`).
    InvalidArgument,
    /// A value of the wrong type: an unknown option, a wrong dtype (`ArgumentTypeError`, a
    /// `TypeError`).
    ArgumentType,
    /// A NaN or infinite sample (`NonFiniteError`, a `ValueError`); `frame` counts from 0.
    NonFinite { frame: u64, value: f64 },
    /// A model file that cannot be read or used (`ModelFileError`).
    ModelFile,
    /// Trace files that cannot be read or do not agree (`TraceFileError`).
    Trace,
    /// Monitor state bytes that are corrupted or belong to another model (`StateError`).
    State,
    /// A numerical step failed (`NumericalError`).
    Numerical,
    /// Writing or reading a file failed (`SimforecastIOError`, an `OSError`).
    Io,
    /// A bug: a panic caught before it reached Python (`SimforecastError`).
    Internal,
}

/// A failure with the message the library gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Failure>;

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Kind::InvalidArgument, message)
    }

    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new(Kind::ArgumentType, message)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::InvalidArgument(_) => Kind::InvalidArgument,
            Error::NonFinite { frame, value } => Kind::NonFinite {
                frame: *frame as u64,
                value: *value,
            },
            Error::ModelFile(_) => Kind::ModelFile,
            Error::State(_) => Kind::State,
            Error::Numerical(_) => Kind::Numerical,
            Error::Io(_) => Kind::Io,
        };
        Self::new(kind, python_names(&e.to_string()))
    }
}

impl From<simforecast_runtime::model::ModelFileError> for Failure {
    fn from(e: simforecast_runtime::model::ModelFileError) -> Self {
        Self::new(Kind::ModelFile, e.to_string())
    }
}

impl From<TraceError> for Failure {
    fn from(e: TraceError) -> Self {
        Self::new(Kind::Trace, e.to_string())
    }
}

/// Runs `f`, turning a panic into an [`Kind::Internal`] failure: no panic crosses into Python.
pub fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = simforecast_runtime::error::panic_message(&*payload);
        Err(Failure::new(
            Kind::Internal,
            format!("internal error in simforecast (please report it): {what}"),
        ))
    })
}

/// The command-line options the training messages name, and their Python keywords.
const OPTION_NAMES: [(&str, &str); 18] = [
    ("--screen-windows", "screen_windows"),
    ("--forecast-windows", "forecast_windows"),
    ("--halt-windows", "halt_windows"),
    ("--forecast-by", "forecast_by"),
    ("--k-grid", "k_grid"),
    ("--powers", "powers"),
    ("--target-precision", "target_precision"),
    ("--min-cut", "min_cut"),
    ("--min-halts", "min_halts"),
    ("--screen-score", "screen_score"),
    ("--early-miss", "early_miss"),
    ("--tolerance", "tolerance"),
    ("--variance", "variance"),
    ("--folds", "folds"),
    ("--level", "level"),
    ("--seed", "seed"),
    ("--tail", "tail"),
    ("--threshold", "threshold"),
];

/// A training message with its command-line options named as the Python keywords
/// (`--screen-windows` → `screen_windows`), so a Python user reads the names they pass.
pub fn python_names(message: &str) -> String {
    let mut out = message.to_string();
    for (cli, py) in OPTION_NAMES {
        out = out.replace(cli, py);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_keep_their_message_and_kind() {
        let f = Failure::from(Error::NonFinite {
            frame: 7,
            value: f64::NAN,
        });
        assert!(matches!(f.kind, Kind::NonFinite { frame: 7, value } if value.is_nan()));
        assert_eq!(f.message, "non-finite sample NaN at frame 7");
        let f = Failure::from(Error::InvalidArgument(
            "choose windows below 600 for all of --screen-windows and --forecast-by".into(),
        ));
        assert_eq!(f.kind, Kind::InvalidArgument);
        assert_eq!(
            f.message,
            "invalid argument: choose windows below 600 for all of screen_windows and forecast_by"
        );
    }

    #[test]
    fn a_panic_becomes_an_internal_failure() {
        let f = guard::<()>(|| panic!("boom")).unwrap_err();
        assert_eq!(f.kind, Kind::Internal);
        assert!(f.message.contains("boom"), "{}", f.message);
        assert_eq!(guard(|| Ok(3)), Ok(3));
    }
}
