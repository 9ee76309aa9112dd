//! What can go wrong while finding, reading and checking traces. Every message names the file
//! (and the line when there is one) and says what is wrong.

use std::path::PathBuf;

use thiserror::Error;

use super::inputs::{describe_skipped, Skipped};

/// What went wrong while finding or reading traces.
#[derive(Debug, Error)]
pub enum TraceError {
    #[error("no input given: pass trace files, directories or glob patterns")]
    NoInputs,
    #[error("input '{input}' matches nothing: no such file or directory, and no glob match")]
    NoMatch { input: String },
    #[error(
        "input '{input}': directory {} holds no trace file (fix ave/time output); skipped {}",
        .dir.display(),
        describe_skipped(.skipped)
    )]
    EmptyDir {
        input: String,
        dir: PathBuf,
        /// Everything the directory holds, and why each was not taken.
        skipped: Vec<Skipped>,
    },
    #[error(
        "input '{input}' matches no trace file (fix ave/time output or log); skipped {}",
        describe_skipped(.skipped)
    )]
    GlobAllSkipped {
        input: String,
        skipped: Vec<Skipped>,
    },
    #[error("input '{input}' is not a valid glob pattern: {message}")]
    BadGlob { input: String, message: String },
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: file is empty", .path.display())]
    Empty { path: PathBuf },
    #[error(
        "{}:{line}: neither a LAMMPS fix ave/time file (starting with '#' comment lines) nor a \
         log.lammps (with 'LAMMPS (' or a 'Step ...' thermo header); first line: '{text}'",
        .path.display()
    )]
    UnknownFormat {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error(
        "{}:{line}: fix ave/time vector mode ('Number-of-rows' / '# Row' headers) is not \
         supported; output the quantity in scalar mode",
        .path.display()
    )]
    VectorMode { path: PathBuf, line: usize },
    #[error(
        "{}:{line}: thermo_style {style} is not supported; use thermo_style one or custom, whose \
         output is a 'Step ...' header line followed by rows of numbers",
        .path.display()
    )]
    UnsupportedThermo {
        path: PathBuf,
        line: usize,
        style: &'static str,
    },
    #[error(
        "{}:{line}: data row before any column header line ('# TimeStep name ...')",
        .path.display()
    )]
    NoHeader { path: PathBuf, line: usize },
    #[error(
        "{}:{line}: column header '{header}' names no value column after the time step",
        .path.display()
    )]
    NoValueColumns {
        path: PathBuf,
        line: usize,
        header: String,
    },
    #[error("{}: no column {column}; value columns: {available}", .path.display())]
    MissingColumn {
        path: PathBuf,
        /// The column as asked for, quoted ([`super::Column::label`]).
        column: String,
        available: String,
    },
    #[error(
        "{}: {} value columns ({}) and {}: pass --column NAME to choose one",
        .path.display(),
        .columns.len(),
        .columns.join(" "),
        viscosity_like_text(.viscosity_like)
    )]
    AmbiguousColumn {
        path: PathBuf,
        /// Every value column of the file (of all its thermo blocks, for a log).
        columns: Vec<String>,
        /// The names that look like a viscosity: none, or more than one.
        viscosity_like: Vec<String>,
    },
    #[error(
        "{}: no thermo output (a 'Step ...' header line followed by rows of numbers)",
        .path.display()
    )]
    NoThermo { path: PathBuf },
    #[error(
        "{}:{line}: truncated row: {found} of {expected} columns (is the file still being written?)",
        .path.display()
    )]
    Truncated {
        path: PathBuf,
        line: usize,
        found: usize,
        expected: usize,
    },
    #[error("{}:{line}: row has {found} columns, the header has {expected}", .path.display())]
    ExtraColumns {
        path: PathBuf,
        line: usize,
        found: usize,
        expected: usize,
    },
    #[error("{}:{line}: cannot parse '{token}' as {what}", .path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        token: String,
        what: &'static str,
    },
    #[error(
        "{}:{line}: column header changes from '{old}' to '{new}' after data rows",
        .path.display()
    )]
    HeaderChanged {
        path: PathBuf,
        line: usize,
        old: String,
        new: String,
    },
    #[error(
        "{}:{line}: thermo rows resume after the block was interrupted at line {interrupted_at} \
         ('{text}'); output that interleaves thermo rows (e.g. fix print to screen) is not supported",
        .path.display()
    )]
    ThermoInterrupted {
        path: PathBuf,
        line: usize,
        interrupted_at: usize,
        text: String,
    },
    #[error(
        "{}:{line}: time step {step} does not increase (previous frame at step {prev})",
        .path.display()
    )]
    NotIncreasing {
        path: PathBuf,
        line: usize,
        prev: i64,
        step: i64,
    },
    #[error(
        "{}:{line}: irregular frame spacing: step {step} follows step {prev} ({gap} steps, the \
         first frames are {spacing} apart)",
        .path.display()
    )]
    Irregular {
        path: PathBuf,
        line: usize,
        prev: i64,
        step: i64,
        gap: i64,
        spacing: i64,
    },
    #[error("frame spacings differ between files: {summary}{}", glob_hint(.globs, " steps"))]
    MixedSpacing {
        /// (spacing in steps, number of traces), most common first.
        spacings: Vec<(i64, usize)>,
        summary: String,
        /// (spacing, a glob selecting exactly the files of that spacing) for the groups where
        /// one was found, in the order of `spacings`.
        globs: Vec<(i64, String)>,
    },
    #[error(
        "the files resolve to different columns: {summary}; pass --column NAME{}",
        glob_hint(.globs, "")
    )]
    MixedColumns {
        /// (column name, number of traces), most common first.
        columns: Vec<(String, usize)>,
        summary: String,
        /// (column, a glob selecting exactly the files read with that column), as for
        /// [`TraceError::MixedSpacing`].
        globs: Vec<(String, String)>,
    },
    #[error("cannot tell the frame spacing: no usable trace has 2 or more frames")]
    NoSpacing,
    #[error("no usable trace among the {total} read; {summary}")]
    NoUsable { total: usize, summary: String },
}

fn viscosity_like_text(names: &[String]) -> String {
    if names.is_empty() {
        "none named like a viscosity (eta, visc)".to_string()
    } else {
        format!(
            "{} named like a viscosity ({})",
            names.len(),
            names.join(", ")
        )
    }
}

/// "; to read one group, pass 'runs/*.dat' (10 steps) or 'runs/log.lammps' (50 steps)".
fn glob_hint<K: std::fmt::Display>(globs: &[(K, String)], unit: &str) -> String {
    if globs.is_empty() {
        return String::new();
    }
    let each: Vec<String> = globs
        .iter()
        .map(|(k, g)| format!("{} ({k}{unit})", shell_quote(g)))
        .collect();
    let lead = if unit.is_empty() {
        " or select one group of files with"
    } else {
        "; to read one group, pass"
    };
    format!("{lead} {}", each.join(" or "))
}

/// Single quotes so the shell passes a glob through unexpanded.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_quote_globs_for_the_shell() {
        assert_eq!(glob_hint::<i64>(&[], " steps"), "");
        assert_eq!(
            glob_hint(
                &[
                    (10, "runs/*.dat".to_string()),
                    (50, "runs/log*".to_string())
                ],
                " steps"
            ),
            "; to read one group, pass 'runs/*.dat' (10 steps) or 'runs/log*' (50 steps)"
        );
        assert_eq!(shell_quote("it's/*.dat"), r"'it'\''s/*.dat'");
    }

    #[test]
    fn ambiguous_column_message_says_what_to_do() {
        let e = TraceError::AmbiguousColumn {
            path: PathBuf::from("runs/run_1.dat"),
            columns: vec!["v_pxy".into(), "v_pyz".into()],
            viscosity_like: vec![],
        };
        assert_eq!(
            e.to_string(),
            "runs/run_1.dat: 2 value columns (v_pxy v_pyz) and none named like a viscosity \
             (eta, visc): pass --column NAME to choose one"
        );
    }
}
