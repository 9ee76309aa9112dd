//! The crate-wide error type. Every message names the thing that was wrong and why.

use thiserror::Error;

/// Errors returned by the library; the C ABI turns them into status codes plus a message.
#[derive(Debug, Error)]
pub enum Error {
    /// An argument was outside its valid domain (message says which and why).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A sample was NaN or infinite.
    #[error("non-finite sample {value} at frame {frame}")]
    NonFinite { frame: usize, value: f64 },
    /// A numerical step failed (singular matrix, no variance, ...).
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// An I/O failure.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
