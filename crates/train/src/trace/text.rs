//! Reading a file's text and its rows of numbers: what the two parsers share.

use std::fs;
use std::path::Path;

use super::error::TraceError;
use super::Trace;

/// A trace plus the source line of each frame, for error messages.
pub(crate) struct Parsed {
    pub trace: Trace,
    pub lines: Vec<usize>,
}

pub(crate) fn read_text(path: &Path) -> Result<String, TraceError> {
    let bytes = fs::read(path).map_err(|source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // Logs may hold stray non-UTF-8 bytes in echoed input; the numbers are ASCII either way.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Lines with their 1-based numbers, trailing whitespace (and CR) removed.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end()))
}

/// The file name without its extension: a trace's name.
pub(crate) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

pub(crate) fn starts_with_integer(t: &str) -> bool {
    t.split_whitespace()
        .next()
        .is_some_and(|w| w.parse::<i64>().is_ok())
}

/// Parse one row of `expected` numeric columns: the step (column 0) and the values after it.
pub(crate) fn parse_row(
    path: &Path,
    line: usize,
    text: &str,
    expected: usize,
) -> Result<(i64, Vec<f64>), TraceError> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.len() < expected {
        return Err(TraceError::Truncated {
            path: path.to_path_buf(),
            line,
            found: tokens.len(),
            expected,
        });
    }
    if tokens.len() > expected {
        return Err(TraceError::ExtraColumns {
            path: path.to_path_buf(),
            line,
            found: tokens.len(),
            expected,
        });
    }
    let bad = |token: &str, what| TraceError::Parse {
        path: path.to_path_buf(),
        line,
        token: token.to_string(),
        what,
    };
    let step = tokens[0]
        .parse::<i64>()
        .map_err(|_| bad(tokens[0], "a time step (integer)"))?;
    // Rust's parser reads "nan", "-nan", "inf", "-inf" as printed by C: they become non-finite
    // values (rejected later), not parse errors.
    let values = tokens[1..]
        .iter()
        .map(|t| t.parse::<f64>().map_err(|_| bad(t, "a number")))
        .collect::<Result<Vec<f64>, _>>()?;
    Ok((step, values))
}
