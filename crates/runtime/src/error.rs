//! The crate-wide error type: one variant per kind of failure a caller may handle differently.
//! Every message names the thing that was wrong and why.

use thiserror::Error;

use crate::model::ModelFileError;

/// Errors returned by the library; the C ABI maps each variant to one status code.
#[derive(Debug, Error)]
pub enum Error {
    /// An argument was outside its valid domain (message says which and why).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A sample was NaN or infinite.
    #[error("non-finite sample {value} at frame {frame}")]
    NonFinite { frame: usize, value: f64 },
    /// A model file could not be read or used (missing, foreign, truncated, corrupted, wrong
    /// version).
    #[error(transparent)]
    ModelFile(#[from] ModelFileError),
    /// Saved monitor state that does not belong to this model, or corrupted state bytes.
    #[error("monitor state: {0}")]
    State(String),
    /// A numerical step failed (singular matrix, no variance, ...).
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// An I/O failure other than reading a model file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// The text of a caught panic's payload, for the error message a foreign caller gets instead of
/// the panic (the C ABIs and the Python package catch every panic at their boundary).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
