//! Reading LAMMPS output into traces: `fix ave/time` files (scalar mode) and the thermo columns of
//! `log.lammps`.
//!
//! This module only reads and checks the shape of the data: which column, which steps, whether the
//! frames are evenly spaced, whether a value is NaN/Inf. It does no arithmetic on the values.
//! Every error names the file (and the line when there is one) and says what is wrong.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use thiserror::Error;

/// Which value column to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Column {
    /// A column by its name in the file header, e.g. `v_eta` or `c_p[4]` or `Temp`.
    Name(String),
    /// 0-based position among the value columns, i.e. not counting `TimeStep`/`Step`.
    Index(usize),
}

impl Default for Column {
    /// The first value column: the only one in a typical `fix ave/time` file.
    fn default() -> Self {
        Column::Index(0)
    }
}

impl FromStr for Column {
    type Err = String;

    /// All digits is an index ("0"), anything else is a name: LAMMPS names never are all digits.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty column name".to_string());
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<usize>()
                .map(Column::Index)
                .map_err(|e| format!("column index '{s}': {e}"))
        } else {
            Ok(Column::Name(s.to_string()))
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Name(n) => write!(f, "'{n}'"),
            Column::Index(i) => write!(f, "#{i} (0-based, after the step column)"),
        }
    }
}

impl Column {
    /// Position of this column among `value_columns` (the header words after the step column).
    fn position(&self, value_columns: &[String]) -> Option<usize> {
        match self {
            Column::Name(n) => value_columns.iter().position(|c| c == n),
            Column::Index(i) => (*i < value_columns.len()).then_some(*i),
        }
    }
}

/// One time series read from one file (or one `run` section of a log).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// File stem (`run_0001`), or `stem#runK` for the K-th run section of a log having the column.
    pub name: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// Time step of each frame.
    pub steps: Vec<i64>,
    /// Value of each frame, as written (NaN/Inf included).
    pub values: Vec<f64>,
    /// The column name as written in the file header.
    pub column: String,
}

impl Trace {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the trace has no frame.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The constant step spacing between frames; `None` if it is irregular, not increasing, or
    /// there are fewer than 2 frames.
    pub fn spacing(&self) -> Option<i64> {
        if self.steps.len() < 2 || self.irregular_frame().is_some() {
            return None;
        }
        Some(self.steps[1] - self.steps[0])
    }

    /// Index of the first frame whose step breaks the spacing set by the first two frames (or
    /// does not increase). `None` when the spacing is constant or there are fewer than 2 frames.
    pub fn irregular_frame(&self) -> Option<usize> {
        let s = &self.steps;
        if s.len() < 2 {
            return None;
        }
        let d = s[1] - s[0];
        if d <= 0 {
            return Some(1);
        }
        (2..s.len()).find(|&i| s[i] - s[i - 1] != d)
    }

    /// The first NaN or infinite value, as (frame index, value).
    pub fn first_non_finite(&self) -> Option<(usize, f64)> {
        self.values
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
            .map(|(i, v)| (i, *v))
    }
}

/// Why a trace was set aside by [`load_traces`].
#[derive(Debug, Clone, PartialEq)]
pub enum RejectReason {
    /// Fewer frames than needed.
    TooShort { len: usize, needed: usize },
    /// A NaN or infinite value at this 0-based frame index.
    NonFinite { frame: usize, value: f64 },
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::TooShort { len, needed } => {
                write!(f, "too short: {len} frames, {needed} needed")
            }
            RejectReason::NonFinite { frame, value } => {
                write!(f, "non-finite value {value} at frame {frame} (0-based)")
            }
        }
    }
}

/// A trace that was read but is not usable, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub name: String,
    pub path: PathBuf,
    pub reason: RejectReason,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.name,
            self.path.display(),
            self.reason
        )
    }
}

/// The usable traces of a set of inputs, all with the same frame spacing.
#[derive(Debug, Clone)]
pub struct TraceSet {
    /// Usable traces, in natural order of name (`run_2` before `run_10`).
    pub traces: Vec<Trace>,
    /// Steps between consecutive frames, common to all traces.
    pub spacing: i64,
    /// The column name as written in the files (that of the first trace if they differ).
    pub column: String,
    /// Traces read but set aside, in natural order of name.
    pub rejected: Vec<Rejected>,
}

/// What went wrong while finding or reading traces.
#[derive(Debug, Error)]
pub enum TraceError {
    #[error("no input given: pass trace files, directories or glob patterns")]
    NoInputs,
    #[error("input '{input}' matches nothing: no such file or directory, and no glob match")]
    NoMatch { input: String },
    #[error(
        "input '{input}': directory {} holds no trace file (hidden, README and CSV files are skipped)",
        .dir.display()
    )]
    EmptyDir { input: String, dir: PathBuf },
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
        column: String,
        available: String,
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
    #[error("frame spacings differ between files: {summary}")]
    MixedSpacing {
        /// (spacing in steps, number of traces), most common first.
        spacings: Vec<(i64, usize)>,
        summary: String,
    },
    #[error("cannot tell the frame spacing: no usable trace has 2 or more frames")]
    NoSpacing,
    #[error("no usable trace among the {total} read; {summary}")]
    NoUsable { total: usize, summary: String },
}

/// The two file formats understood here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `fix ave/time` output in scalar mode.
    AveTime,
    /// `log.lammps` (or a screen capture) with thermo output.
    Log,
}

/// Natural order of names: digit runs compare as numbers, so `run_2` < `run_10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let lx = x.iter().take_while(|b| b.is_ascii_digit()).count();
                let ly = y.iter().take_while(|b| b.is_ascii_digit()).count();
                let (dx, rx) = x.split_at(lx);
                let (dy, ry) = y.split_at(ly);
                let tx = trim_zeros(dx);
                let ty = trim_zeros(dy);
                // Same magnitude compares digit by digit; more leading zeros sorts later.
                let ord = tx
                    .len()
                    .cmp(&ty.len())
                    .then_with(|| tx.cmp(ty))
                    .then_with(|| lx.cmp(&ly));
                if ord != Ordering::Equal {
                    return ord;
                }
                x = rx;
                y = ry;
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let z = d.iter().take_while(|&&b| b == b'0').count();
    &d[z..]
}

/// Files that a directory listing or a glob never yields: hidden files, READMEs, CSV tables.
fn skipped_name(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return true;
    };
    name.starts_with('.')
        || name.to_ascii_uppercase().starts_with("README")
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

fn list_dir(input: &str, dir: &Path) -> Result<Vec<PathBuf>, TraceError> {
    let io = |source| TraceError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        // fs::metadata follows symlinks, so a link to a regular file counts as one.
        if !skipped_name(&path) && fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(TraceError::EmptyDir {
            input: input.to_string(),
            dir: dir.to_path_buf(),
        });
    }
    files.sort_by(|a, b| {
        natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()).then_with(|| a.cmp(b))
    });
    Ok(files)
}

fn has_glob_meta(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expand inputs into trace files, in input order, each file once.
///
/// An input is a file (taken as is), a directory (its regular files, non-recursive, in natural
/// order, skipping hidden, README* and *.csv files) or a glob pattern (its matches, with the same
/// skips; a `*` does not match a leading dot; matched directories are listed as above). An input
/// that yields no file is an error.
pub fn expand_inputs(inputs: &[String]) -> Result<Vec<PathBuf>, TraceError> {
    if inputs.is_empty() {
        return Err(TraceError::NoInputs);
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for input in inputs {
        let path = Path::new(input);
        let found = if path.is_dir() {
            list_dir(input, path)?
        } else if path.exists() {
            vec![path.to_path_buf()]
        } else if has_glob_meta(input) {
            expand_glob(input)?
        } else {
            return Err(TraceError::NoMatch {
                input: input.clone(),
            });
        };
        for f in found {
            // The same file reached twice (a directory and a glob, say) is read once.
            let key = fs::canonicalize(&f).unwrap_or_else(|_| f.clone());
            if seen.insert(key) {
                out.push(f);
            } else {
                log::debug!("{} given more than once; read once", f.display());
            }
        }
    }
    Ok(out)
}

fn expand_glob(input: &str) -> Result<Vec<PathBuf>, TraceError> {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let paths = glob::glob_with(input, options).map_err(|e| TraceError::BadGlob {
        input: input.to_string(),
        message: e.to_string(),
    })?;
    let mut matches = Vec::new();
    for entry in paths {
        matches.push(entry.map_err(|e| TraceError::Io {
            path: e.path().to_path_buf(),
            source: e.into(),
        })?);
    }
    matches.sort_by(|a, b| {
        natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()).then_with(|| a.cmp(b))
    });
    let mut found = Vec::new();
    for path in matches {
        if path.is_dir() {
            // A matched directory with nothing in it adds nothing rather than failing the glob.
            match list_dir(input, &path) {
                Ok(files) => found.extend(files),
                Err(TraceError::EmptyDir { .. }) => {}
                Err(e) => return Err(e),
            }
        } else if !skipped_name(&path) && path.is_file() {
            found.push(path);
        }
    }
    if found.is_empty() {
        return Err(TraceError::NoMatch {
            input: input.to_string(),
        });
    }
    Ok(found)
}

fn read_text(path: &Path) -> Result<String, TraceError> {
    let bytes = fs::read(path).map_err(|source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // Logs may hold stray non-UTF-8 bytes in echoed input; the numbers are ASCII either way.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Lines with their 1-based numbers, trailing whitespace (and CR) removed.
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end()))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Tell a `fix ave/time` file from a log by its content.
pub fn detect_format(path: &Path) -> Result<Format, TraceError> {
    detect_text(path, &read_text(path)?)
}

fn detect_text(path: &Path, text: &str) -> Result<Format, TraceError> {
    let Some((line, first)) = numbered_lines(text).find(|(_, l)| !l.trim().is_empty()) else {
        return Err(TraceError::Empty {
            path: path.to_path_buf(),
        });
    };
    let first = first.trim_start();
    if first.starts_with('#') {
        return Ok(Format::AveTime);
    }
    let is_log_line = |l: &str| {
        let l = l.trim_start();
        l.starts_with("LAMMPS (") || l.split_whitespace().next() == Some("Step")
    };
    if numbered_lines(text).any(|(_, l)| is_log_line(l)) {
        return Ok(Format::Log);
    }
    Err(TraceError::UnknownFormat {
        path: path.to_path_buf(),
        line,
        text: first.chars().take(80).collect(),
    })
}

/// A trace plus the source line of each frame, for error messages.
struct Parsed {
    trace: Trace,
    lines: Vec<usize>,
}

/// Parse one row of `expected` numeric columns; the step is column 0.
fn parse_row(
    path: &Path,
    line: usize,
    text: &str,
    expected: usize,
    want: usize,
) -> Result<(i64, f64), TraceError> {
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
    let mut chosen = f64::NAN;
    for (i, tok) in tokens.iter().enumerate().skip(1) {
        // Rust's parser reads "nan", "-nan", "inf", "-inf" as printed by C: they become
        // non-finite values (rejected later), not parse errors.
        let v = tok.parse::<f64>().map_err(|_| bad(tok, "a number"))?;
        if i == want + 1 {
            chosen = v;
        }
    }
    Ok((step, chosen))
}

fn header_words(comment: &str) -> Vec<String> {
    comment
        .trim_start_matches('#')
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Read one value column of a `fix ave/time` file in scalar mode.
///
/// The column header is the last `#` line before the first data row (normally `# TimeStep ...`).
pub fn read_ave_time(path: &Path, column: &Column) -> Result<Trace, TraceError> {
    let text = read_text(path)?;
    if numbered_lines(&text).all(|(_, l)| l.trim().is_empty()) {
        return Err(TraceError::Empty {
            path: path.to_path_buf(),
        });
    }
    parse_ave_time(path, &text, column).map(|p| p.trace)
}

fn parse_ave_time(path: &Path, text: &str, column: &Column) -> Result<Parsed, TraceError> {
    // (line, words) of the column header, once known.
    let mut header: Option<(usize, Vec<String>)> = None;
    // (position among the value columns, its name); set at the first data row.
    let mut chosen: Option<(usize, String)> = None;
    let mut steps = Vec::new();
    let mut values = Vec::new();
    let mut lines = Vec::new();

    let resolve = |header: &Option<(usize, Vec<String>)>, line: usize| {
        let Some((hline, words)) = header else {
            return Err(TraceError::NoHeader {
                path: path.to_path_buf(),
                line,
            });
        };
        let value_columns = &words[1..];
        if value_columns.is_empty() {
            return Err(TraceError::NoValueColumns {
                path: path.to_path_buf(),
                line: *hline,
                header: words.join(" "),
            });
        }
        let pos = column
            .position(value_columns)
            .ok_or_else(|| TraceError::MissingColumn {
                path: path.to_path_buf(),
                column: column.to_string(),
                available: value_columns.join(" "),
            })?;
        Ok((pos, value_columns[pos].clone()))
    };

    for (line, raw) in numbered_lines(text) {
        let t = raw.trim_start();
        if t.is_empty() {
            continue;
        }
        if t.starts_with('#') {
            let words = header_words(t);
            if words.first().is_some_and(|w| w == "Row")
                || words.iter().any(|w| w == "Number-of-rows")
            {
                return Err(TraceError::VectorMode {
                    path: path.to_path_buf(),
                    line,
                });
            }
            match (&chosen, &header) {
                // After data: a different header for the same step column means the columns
                // changed (a redefined fix appending to the file); other comments are ignored.
                (Some(_), Some((_, old))) => {
                    if words.first() == old.first() && words != *old {
                        return Err(TraceError::HeaderChanged {
                            path: path.to_path_buf(),
                            line,
                            old: old.join(" "),
                            new: words.join(" "),
                        });
                    }
                }
                // Before data: the last comment that is not the "Time-averaged data" title.
                _ => {
                    let title = words.first().is_some_and(|w| w == "Time-averaged");
                    if !words.is_empty() && !title {
                        header = Some((line, words));
                    }
                }
            }
            continue;
        }
        if chosen.is_none() {
            chosen = Some(resolve(&header, line)?);
        }
        let (pos, _) = chosen.as_ref().expect("set above");
        let expected = header.as_ref().expect("resolved above").1.len();
        let (step, value) = parse_row(path, line, t, expected, *pos)?;
        steps.push(step);
        values.push(value);
        lines.push(line);
    }
    // A file with a header and no row yet is a zero-frame trace (rejected later as too short),
    // but an absent column is still an error.
    let (_, name) = match chosen {
        Some(c) => c,
        None => resolve(&header, numbered_lines(text).count())?,
    };
    Ok(Parsed {
        trace: Trace {
            name: stem(path),
            path: path.to_path_buf(),
            steps,
            values,
            column: name,
        },
        lines,
    })
}

/// Read a thermo column of a `log.lammps`: one trace per `run` section whose thermo header has
/// the column, named `<stem>#run<k>` with k counting those sections from 1.
///
/// LAMMPS always prints the first and last step of a run, even off the `thermo N` grid; such an
/// end row (closer than N steps to its neighbour, next to a row on a multiple of N) is dropped,
/// so that a trace's spacing is that of the thermo output.
pub fn read_log(path: &Path, column: &str) -> Result<Vec<Trace>, TraceError> {
    read_log_column(path, &Column::Name(column.to_string()))
}

/// [`read_log`] with a column given by name or by index among the thermo columns after `Step`.
pub fn read_log_column(path: &Path, column: &Column) -> Result<Vec<Trace>, TraceError> {
    let text = read_text(path)?;
    Ok(parse_log(path, &text, column)?
        .into_iter()
        .map(|p| p.trace)
        .collect())
}

/// A thermo block being read.
struct Block {
    columns: Vec<String>,
    chosen: Option<usize>,
    steps: Vec<i64>,
    values: Vec<f64>,
    lines: Vec<usize>,
}

fn starts_with_integer(t: &str) -> bool {
    t.split_whitespace()
        .next()
        .is_some_and(|w| w.parse::<i64>().is_ok())
}

fn parse_log(path: &Path, text: &str, column: &Column) -> Result<Vec<Parsed>, TraceError> {
    let stem = stem(path);
    let mut out: Vec<Parsed> = Vec::new();
    let mut seen_columns: Vec<String> = Vec::new();
    let mut blocks = 0usize;
    let mut current: Option<Block> = None;
    // Set when a block ended on an unexpected line: (columns, line, text). Rows of that width
    // showing up next mean the block was interrupted rather than finished.
    let mut interrupted: Option<(usize, usize, String)> = None;

    let finish = |block: Block, out: &mut Vec<Parsed>| {
        if let Some(pos) = block.chosen {
            let mut p = Parsed {
                trace: Trace {
                    name: format!("{stem}#run{}", out.len() + 1),
                    path: path.to_path_buf(),
                    steps: block.steps,
                    values: block.values,
                    column: block.columns[pos + 1].clone(),
                },
                lines: block.lines,
            };
            drop_off_grid_ends(&mut p);
            out.push(p);
        }
    };

    for (line, raw) in numbered_lines(text) {
        let t = raw.trim_start();
        if let Some(block) = current.as_mut() {
            if t.is_empty() || t.starts_with("WARNING") {
                continue;
            }
            if starts_with_integer(t) {
                let pos = block.chosen.unwrap_or(0);
                let (step, value) = parse_row(path, line, t, block.columns.len(), pos)?;
                block.steps.push(step);
                block.values.push(value);
                block.lines.push(line);
                continue;
            }
            let ended_normally = t.starts_with("Loop time of")
                || t.starts_with("ERROR")
                || t.split_whitespace().next() == Some("Step");
            interrupted = (!ended_normally).then(|| (block.columns.len(), line, t.to_string()));
            let block = current.take().expect("in a block");
            finish(block, &mut out);
            // The ending line is looked at again below: it may open the next block.
        }
        if t.starts_with("---") && t.contains(" Step ") && t.contains("CPU") {
            return Err(TraceError::UnsupportedThermo {
                path: path.to_path_buf(),
                line,
                style: "multi",
            });
        }
        if t.starts_with("keywords:") && t.contains("'Step'") {
            return Err(TraceError::UnsupportedThermo {
                path: path.to_path_buf(),
                line,
                style: "yaml",
            });
        }
        if t.split_whitespace().next() == Some("Step") {
            let columns: Vec<String> = t.split_whitespace().map(str::to_string).collect();
            for c in &columns[1..] {
                if !seen_columns.contains(c) {
                    seen_columns.push(c.clone());
                }
            }
            blocks += 1;
            interrupted = None;
            current = Some(Block {
                chosen: column.position(&columns[1..]),
                columns,
                steps: Vec::new(),
                values: Vec::new(),
                lines: Vec::new(),
            });
            continue;
        }
        if t.starts_with("Loop time of") {
            interrupted = None;
        }
        if let Some((width, at, what)) = &interrupted {
            let tokens: Vec<&str> = t.split_whitespace().collect();
            if starts_with_integer(t)
                && tokens.len() == *width
                && tokens.iter().all(|w| w.parse::<f64>().is_ok())
            {
                return Err(TraceError::ThermoInterrupted {
                    path: path.to_path_buf(),
                    line,
                    interrupted_at: *at,
                    text: what.chars().take(80).collect(),
                });
            }
        }
    }
    if let Some(block) = current.take() {
        finish(block, &mut out);
    }
    if blocks == 0 {
        return Err(TraceError::NoThermo {
            path: path.to_path_buf(),
        });
    }
    if out.is_empty() {
        return Err(TraceError::MissingColumn {
            path: path.to_path_buf(),
            column: format!("{column} in any thermo block"),
            available: seen_columns.join(" "),
        });
    }
    Ok(out)
}

/// Drop a first or last row that LAMMPS printed only because it starts or ends the run: closer
/// than the thermo interval to its neighbour, which sits on a multiple of that interval.
fn drop_off_grid_ends(p: &mut Parsed) {
    let s = &p.trace.steps;
    if s.len() < 3 {
        return;
    }
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for w in s.windows(2) {
        *counts.entry(w[1] - w[0]).or_default() += 1;
    }
    // The thermo interval: the most frequent gap (the larger on a tie, as end gaps are shorter).
    let n = counts
        .iter()
        .max_by_key(|&(gap, count)| (*count, *gap))
        .map(|(gap, _)| *gap)
        .expect("at least 2 gaps");
    if n <= 0 {
        return;
    }
    let last = s.len() - 1;
    let drop_last = s[last] - s[last - 1] < n && s[last - 1] % n == 0;
    let drop_first = s[1] - s[0] < n && s[1] % n == 0;
    if drop_last {
        log::debug!(
            "{} ({}): dropped the last row (step {}), off the {n}-step thermo grid",
            p.trace.path.display(),
            p.trace.name,
            s[last]
        );
        p.trace.steps.pop();
        p.trace.values.pop();
        p.lines.pop();
    }
    if drop_first && p.trace.steps.len() >= 3 {
        log::debug!(
            "{} ({}): dropped the first row (step {}), off the {n}-step thermo grid",
            p.trace.path.display(),
            p.trace.name,
            p.trace.steps[0]
        );
        p.trace.steps.remove(0);
        p.trace.values.remove(0);
        p.lines.remove(0);
    }
}

/// Read every trace of one file, whichever its format.
pub fn read_traces(path: &Path, column: &Column) -> Result<Vec<Trace>, TraceError> {
    Ok(read_parsed(path, column)?
        .into_iter()
        .map(|p| p.trace)
        .collect())
}

fn read_parsed(path: &Path, column: &Column) -> Result<Vec<Parsed>, TraceError> {
    let text = read_text(path)?;
    match detect_text(path, &text)? {
        Format::AveTime => Ok(vec![parse_ave_time(path, &text, column)?]),
        Format::Log => parse_log(path, &text, column),
    }
}

/// How a trace is named in messages about files: its path, plus `#runK` for a log section.
fn file_label(t: &Trace) -> String {
    match t.name.rfind('#') {
        Some(i) => format!("{}{}", t.path.display(), &t.name[i..]),
        None => t.path.display().to_string(),
    }
}

/// Up to 10 items, then "and N more".
fn list_some(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}

fn check_spacing(p: &Parsed) -> Result<(), TraceError> {
    let Some(i) = p.trace.irregular_frame() else {
        return Ok(());
    };
    let s = &p.trace.steps;
    let path = p.trace.path.clone();
    let line = p.lines[i];
    if s[i] <= s[i - 1] {
        return Err(TraceError::NotIncreasing {
            path,
            line,
            prev: s[i - 1],
            step: s[i],
        });
    }
    Err(TraceError::Irregular {
        path,
        line,
        prev: s[i - 1],
        step: s[i],
        gap: s[i] - s[i - 1],
        spacing: s[1] - s[0],
    })
}

/// Read all traces of `inputs` (see [`expand_inputs`]) and keep those that are usable.
///
/// Refuses: a file without the column, irregular or non-increasing steps within a trace, and
/// traces whose spacings differ (one error naming the spacings and the minority files). Sets
/// aside, with a reason and a warning, traces with fewer than `min_len` frames (at least 1) or a
/// NaN/Inf value. No usable trace at all is an error.
pub fn load_traces(
    inputs: &[String],
    column: &Column,
    min_len: usize,
) -> Result<TraceSet, TraceError> {
    let paths = expand_inputs(inputs)?;
    let mut parsed = Vec::new();
    for path in &paths {
        parsed.extend(read_parsed(path, column)?);
    }
    for p in &parsed {
        check_spacing(p)?;
    }
    let traces: Vec<Trace> = parsed.into_iter().map(|p| p.trace).collect();
    let total = traces.len();

    let mut groups: BTreeMap<i64, Vec<&Trace>> = BTreeMap::new();
    for t in &traces {
        if let Some(d) = t.spacing() {
            groups.entry(d).or_default().push(t);
        }
    }
    if groups.len() > 1 {
        return Err(mixed_spacing(groups));
    }
    let spacing = groups.keys().next().copied();

    let needed = min_len.max(1);
    let mut usable = Vec::new();
    let mut rejected = Vec::new();
    for t in traces {
        let reason = if t.len() < needed {
            Some(RejectReason::TooShort {
                len: t.len(),
                needed,
            })
        } else {
            t.first_non_finite()
                .map(|(frame, value)| RejectReason::NonFinite { frame, value })
        };
        match reason {
            Some(reason) => rejected.push(Rejected {
                name: t.name,
                path: t.path,
                reason,
            }),
            None => usable.push(t),
        }
    }
    usable.sort_by(|a, b| natural_cmp(&a.name, &b.name).then_with(|| a.path.cmp(&b.path)));
    rejected.sort_by(|a, b| natural_cmp(&a.name, &b.name).then_with(|| a.path.cmp(&b.path)));

    let rejected_list = || {
        let items: Vec<String> = rejected
            .iter()
            .map(|r| format!("{} ({})", r.name, r.reason))
            .collect();
        list_some(&items, 5)
    };
    if usable.is_empty() {
        return Err(TraceError::NoUsable {
            total,
            summary: format!("all rejected: {}", rejected_list()),
        });
    }
    if !rejected.is_empty() {
        log::warn!(
            "{} of {total} traces rejected: {}",
            rejected.len(),
            rejected_list()
        );
    }
    let spacing = spacing.ok_or(TraceError::NoSpacing)?;

    let mut by_name: HashMap<&str, Vec<&Path>> = HashMap::new();
    for t in &usable {
        by_name.entry(&t.name).or_default().push(&t.path);
    }
    for t in &usable {
        if let Some(paths) = by_name.remove(t.name.as_str()).filter(|p| p.len() > 1) {
            let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            log::warn!("several traces are named {}: {}", t.name, shown.join(", "));
        }
    }
    let column_name = usable[0].column.clone();
    let others: Vec<String> = usable
        .iter()
        .filter(|t| t.column != column_name)
        .map(|t| format!("{} has {}", t.name, t.column))
        .collect();
    if !others.is_empty() {
        log::warn!(
            "column names differ: {} has {}, {}",
            usable[0].name,
            column_name,
            list_some(&others, 5)
        );
    }
    Ok(TraceSet {
        traces: usable,
        spacing,
        column: column_name,
        rejected,
    })
}

fn mixed_spacing(groups: BTreeMap<i64, Vec<&Trace>>) -> TraceError {
    let mut groups: Vec<(i64, Vec<&Trace>)> = groups.into_iter().collect();
    // Most common spacing first; the others are the odd ones out.
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let spacings: Vec<(i64, usize)> = groups.iter().map(|(d, ts)| (*d, ts.len())).collect();
    let mut parts = vec![format!(
        "{} steps in {} trace(s)",
        groups[0].0,
        groups[0].1.len()
    )];
    for (d, ts) in &groups[1..] {
        let mut labels: Vec<String> = ts.iter().map(|t| file_label(t)).collect();
        labels.sort_by(|a, b| natural_cmp(a, b));
        parts.push(format!(
            "{d} steps in {} trace(s): {}",
            ts.len(),
            list_some(&labels, 10)
        ));
    }
    TraceError::MixedSpacing {
        spacings,
        summary: parts.join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, AtomicOrdering::SeqCst);
            let dir = std::env::temp_dir().join(format!(
                "simforecast-trace-{}-{tag}-{n}",
                std::process::id()
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn write(&self, name: &str, content: &str) -> PathBuf {
            let p = self.0.join(name);
            fs::write(&p, content).unwrap();
            p
        }

        fn arg(&self, name: &str) -> String {
            self.0.join(name).display().to_string()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn data(rel: &str) -> PathBuf {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("tests/data")
            .join(rel)
    }

    /// An ave/time file with `n` frames every `every` steps, values k/10.
    fn ave_time(n: usize, every: i64) -> String {
        let mut s = String::from("# Time-averaged data for fix out\n# TimeStep v_eta\n");
        for k in 1..=n {
            s.push_str(&format!("{} {}\n", k as i64 * every, k as f64 / 10.0));
        }
        s
    }

    fn msg(e: &TraceError) -> String {
        e.to_string()
    }

    const AVE: &str = "# Time-averaged data for fix out\n# TimeStep v_eta\n10 0.050615\n20 -0.265869\n30 1.5e-3\n";

    #[test]
    fn reads_scalar_ave_time() {
        let d = TempDir::new("basic");
        let p = d.write("run_7.dat", AVE);
        let t = read_ave_time(&p, &Column::default()).unwrap();
        assert_eq!(t.name, "run_7");
        assert_eq!(t.path, p);
        assert_eq!(t.column, "v_eta");
        assert_eq!(t.steps, vec![10, 20, 30]);
        assert_eq!(t.values, vec![0.050615, -0.265869, 1.5e-3]);
        assert_eq!(t.len(), 3);
        assert_eq!(t.spacing(), Some(10));
        let by_name = read_ave_time(&p, &Column::Name("v_eta".into())).unwrap();
        assert_eq!(by_name, t);
    }

    #[test]
    fn blank_lines_trailing_space_and_crlf() {
        let d = TempDir::new("crlf");
        let text = "# Time-averaged data for fix out\r\n# TimeStep v_eta  \r\n\r\n10 0.5 \t\r\n\r\n  20 0.25\r\n30 0.125   \r\n\r\n";
        let p = d.write("a.dat", text);
        let t = read_ave_time(&p, &Column::default()).unwrap();
        assert_eq!(t.steps, vec![10, 20, 30]);
        assert_eq!(t.values, vec![0.5, 0.25, 0.125]);
        assert_eq!(t.column, "v_eta");
    }

    #[test]
    fn several_value_columns_by_name_and_index() {
        let p = data("ave_time/scalar3.dat");
        let by_index = read_ave_time(&p, &Column::Index(2)).unwrap();
        assert_eq!(by_index.column, "c_p[4]");
        assert_eq!(
            by_index.values,
            vec![-0.0774363, -0.122732, -0.247817, -0.287074]
        );
        let by_name = read_ave_time(&p, &Column::Name("c_p[1]".into())).unwrap();
        assert_eq!(by_name.values, vec![-3.84792, 0.357613, 0.681361, 0.38601]);
        let first = read_ave_time(&p, &Column::default()).unwrap();
        assert_eq!(first.column, "v_eta");
        assert_eq!(first.values[0], 0.774363);
        assert_eq!(first.spacing(), Some(10));
    }

    #[test]
    fn missing_column_names_file_and_columns() {
        let p = data("ave_time/scalar3.dat");
        let e = read_ave_time(&p, &Column::Name("v_visc".into())).unwrap_err();
        assert!(matches!(e, TraceError::MissingColumn { .. }), "{e:?}");
        let m = msg(&e);
        assert!(m.contains("scalar3.dat") && m.contains("'v_visc'"), "{m}");
        assert!(m.contains("v_eta c_p[1] c_p[4]"), "{m}");
        let e = read_ave_time(&p, &Column::Index(3)).unwrap_err();
        assert!(msg(&e).contains("#3"), "{e}");
        // Also when the file has no row yet.
        let d = TempDir::new("missing");
        let p = d.write(
            "h.dat",
            "# Time-averaged data for fix out\n# TimeStep v_eta\n",
        );
        let e = read_ave_time(&p, &Column::Name("v_x".into())).unwrap_err();
        assert!(matches!(e, TraceError::MissingColumn { .. }), "{e:?}");
    }

    #[test]
    fn vector_mode_is_refused() {
        let p = data("ave_time/vector.dat");
        let e = read_ave_time(&p, &Column::default()).unwrap_err();
        assert!(matches!(e, TraceError::VectorMode { line: 2, .. }), "{e:?}");
        let m = msg(&e);
        assert!(
            m.contains("vector.dat:2") && m.contains("vector mode"),
            "{m}"
        );
        // A custom title2 hides 'Number-of-rows', but the '# Row' line still gives it away.
        let d = TempDir::new("vector");
        let p = d.write(
            "v.dat",
            "# my title\n# Step Rows\n# Row c_p\n10 2\n1 -3.8\n2 -3.9\n",
        );
        let e = read_ave_time(&p, &Column::default()).unwrap_err();
        assert!(matches!(e, TraceError::VectorMode { line: 3, .. }), "{e:?}");
    }

    #[test]
    fn truncated_last_row_names_line() {
        let d = TempDir::new("trunc");
        let p = d.write(
            "t.dat",
            "# Time-averaged data for fix s\n# TimeStep v_a v_b\n10 1 2\n20 3 4\n30 5",
        );
        let e = read_ave_time(&p, &Column::default()).unwrap_err();
        assert!(
            matches!(
                e,
                TraceError::Truncated {
                    line: 5,
                    found: 2,
                    expected: 3,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(msg(&e).contains("t.dat:5"), "{e}");
    }

    #[test]
    fn extra_columns_are_an_error() {
        let d = TempDir::new("extra");
        let p = d.write("x.dat", "# TimeStep v_a\n10 1\n20 3 4\n");
        let e = read_ave_time(&p, &Column::default()).unwrap_err();
        assert!(
            matches!(e, TraceError::ExtraColumns { line: 3, .. }),
            "{e:?}"
        );
        assert!(msg(&e).contains("x.dat:3"), "{e}");
    }

    #[test]
    fn garbage_is_a_parse_error_with_line() {
        let d = TempDir::new("garbage");
        let p = d.write("g.dat", "# TimeStep v_a v_b\n10 1 2\n20 abc 4\n");
        // Even when the bad token is not in the requested column.
        let e = read_ave_time(&p, &Column::Name("v_b".into())).unwrap_err();
        assert!(matches!(e, TraceError::Parse { line: 3, .. }), "{e:?}");
        let m = msg(&e);
        assert!(m.contains("g.dat:3") && m.contains("'abc'"), "{m}");
        let p = d.write("s.dat", "# TimeStep v_a\n10 1\n2x0 2\n");
        let e = read_ave_time(&p, &Column::default()).unwrap_err();
        assert!(msg(&e).contains("s.dat:3") && msg(&e).contains("time step"));
    }

    #[test]
    fn nan_and_inf_text_reads_as_non_finite() {
        let d = TempDir::new("nan");
        let p = d.write(
            "n.dat",
            "# TimeStep v_eta\n10 1\n20 nan\n30 -nan\n40 inf\n50 -inf\n60 NaN\n",
        );
        let t = read_ave_time(&p, &Column::default()).unwrap();
        assert_eq!(t.len(), 6);
        assert!(t.values[1].is_nan() && t.values[2].is_nan() && t.values[5].is_nan());
        assert_eq!(t.values[3], f64::INFINITY);
        assert_eq!(t.values[4], f64::NEG_INFINITY);
        assert_eq!(t.first_non_finite().map(|(i, _)| i), Some(1));
    }

    #[test]
    fn header_errors() {
        let d = TempDir::new("header");
        let p = d.write("t.dat", "# Time-averaged data for fix out\n10 1\n");
        let e = read_ave_time(&p, &Column::default()).unwrap_err();
        assert!(matches!(e, TraceError::NoHeader { line: 2, .. }), "{e:?}");
        assert!(msg(&e).contains("t.dat:2"));
        let p = d.write("v.dat", "# TimeStep\n10 1\n");
        let e = read_ave_time(&p, &Column::default()).unwrap_err();
        assert!(
            matches!(e, TraceError::NoValueColumns { line: 1, .. }),
            "{e:?}"
        );
        let p = d.write("c.dat", "# TimeStep v_a\n10 1\n# TimeStep v_b\n20 2\n");
        let e = read_ave_time(&p, &Column::default()).unwrap_err();
        assert!(
            matches!(e, TraceError::HeaderChanged { line: 3, .. }),
            "{e:?}"
        );
        // A repeated identical header (a fix appending to its file) is fine.
        let p = d.write("r.dat", "# TimeStep v_a\n10 1\n# TimeStep v_a\n20 2\n");
        assert_eq!(
            read_ave_time(&p, &Column::default()).unwrap().steps,
            vec![10, 20]
        );
        // A customised title2 header is taken as the column header.
        let p = d.write("t2.dat", "# my title\n# Step eta\n10 1\n");
        assert_eq!(read_ave_time(&p, &Column::default()).unwrap().column, "eta");
    }

    #[test]
    fn empty_and_unknown_files() {
        let d = TempDir::new("empty");
        let p = d.write("e.dat", "\n  \n");
        let e = read_ave_time(&p, &Column::default()).unwrap_err();
        assert!(matches!(e, TraceError::Empty { .. }), "{e:?}");
        let e = read_traces(&p, &Column::default()).unwrap_err();
        assert!(matches!(e, TraceError::Empty { .. }), "{e:?}");
        let p = d.write("u.txt", "\nhello world\n1 2\n");
        let e = read_traces(&p, &Column::default()).unwrap_err();
        assert!(
            matches!(e, TraceError::UnknownFormat { line: 2, .. }),
            "{e:?}"
        );
        assert!(msg(&e).contains("u.txt:2") && msg(&e).contains("hello world"));
        let e = read_traces(&d.0.join("absent.dat"), &Column::default()).unwrap_err();
        assert!(matches!(e, TraceError::Io { .. }), "{e:?}");
        assert!(msg(&e).contains("absent.dat"));
    }

    #[test]
    fn header_only_file_is_rejected_as_too_short() {
        let d = TempDir::new("headeronly");
        d.write("a_1.dat", &ave_time(5, 10));
        d.write(
            "a_2.dat",
            "# Time-averaged data for fix out\n# TimeStep v_eta\n",
        );
        let set = load_traces(&[d.0.display().to_string()], &Column::default(), 1).unwrap();
        assert_eq!(set.traces.len(), 1);
        assert_eq!(
            set.rejected[0].reason,
            RejectReason::TooShort { len: 0, needed: 1 }
        );
    }

    #[test]
    fn spacing_and_irregularity() {
        let t = |steps: Vec<i64>| Trace {
            name: "x".into(),
            path: PathBuf::from("x"),
            values: vec![0.0; steps.len()],
            steps,
            column: "v".into(),
        };
        assert_eq!(t(vec![]).spacing(), None);
        assert_eq!(t(vec![10]).spacing(), None);
        assert_eq!(t(vec![10, 20, 30]).spacing(), Some(10));
        assert_eq!(t(vec![10, 20, 35]).spacing(), None);
        assert_eq!(t(vec![10, 20, 35]).irregular_frame(), Some(2));
        assert_eq!(t(vec![20, 10]).irregular_frame(), Some(1));
        assert_eq!(t(vec![10, 10]).spacing(), None);
        assert!(t(vec![]).is_empty());
    }

    #[test]
    fn irregular_spacing_names_file_and_line() {
        let d = TempDir::new("irregular");
        d.write("ok.dat", &ave_time(6, 10));
        d.write(
            "bad.dat",
            "# Time-averaged data for fix out\n# TimeStep v_eta\n10 1\n20 1\n\n40 1\n50 1\n",
        );
        let e = load_traces(&[d.0.display().to_string()], &Column::default(), 1).unwrap_err();
        assert!(
            matches!(
                e,
                TraceError::Irregular {
                    line: 6,
                    prev: 20,
                    step: 40,
                    gap: 20,
                    spacing: 10,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(msg(&e).contains("bad.dat:6"), "{e}");
        d.write("bad.dat", "# TimeStep v_eta\n10 1\n20 1\n20 1\n");
        let e = load_traces(&[d.0.display().to_string()], &Column::default(), 1).unwrap_err();
        assert!(
            matches!(e, TraceError::NotIncreasing { line: 4, .. }),
            "{e:?}"
        );
        assert!(msg(&e).contains("bad.dat:4"), "{e}");
    }

    #[test]
    fn mixed_spacings_name_the_minority() {
        let d = TempDir::new("mixed");
        for i in 0..13 {
            d.write(&format!("ten_{i}.dat"), &ave_time(5, 10));
        }
        for i in 0..12 {
            d.write(&format!("twenty_{i}.dat"), &ave_time(5, 20));
        }
        let e = load_traces(&[d.0.display().to_string()], &Column::default(), 1).unwrap_err();
        let TraceError::MixedSpacing { spacings, summary } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(spacings, &vec![(10, 13), (20, 12)]);
        assert!(summary.starts_with("10 steps in 13 trace(s); 20 steps in 12 trace(s): "));
        assert!(summary.contains("twenty_0.dat") && summary.contains("twenty_9.dat"));
        assert!(!summary.contains("ten_"), "{summary}");
        assert!(summary.ends_with("and 2 more"), "{summary}");
        assert!(!summary.contains("twenty_10.dat"), "{summary}");
        assert!(msg(&e).contains("frame spacings differ"));
    }

    #[test]
    fn rejects_short_and_non_finite_and_sorts_naturally() {
        let d = TempDir::new("reject");
        for k in [10, 2, 1, 33] {
            d.write(&format!("run_{k}.dat"), &ave_time(8, 10));
        }
        d.write("run_5.dat", &ave_time(3, 10));
        d.write(
            "run_4.dat",
            "# TimeStep v_eta\n10 1\n20 2\n30 -nan\n40 4\n50 5\n60 6\n70 7\n80 8\n",
        );
        d.write(
            "run_3.dat",
            "# TimeStep v_eta\n10 1\n20 inf\n30 3\n40 4\n50 5\n60 6\n70 7\n80 8\n",
        );
        let set = load_traces(&[d.0.display().to_string()], &Column::default(), 5).unwrap();
        let names: Vec<&str> = set.traces.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["run_1", "run_2", "run_10", "run_33"]);
        assert_eq!(set.spacing, 10);
        assert_eq!(set.column, "v_eta");
        assert_eq!(set.rejected.len(), 3);
        assert_eq!(set.rejected[0].name, "run_3");
        assert_eq!(
            set.rejected[0].reason,
            RejectReason::NonFinite {
                frame: 1,
                value: f64::INFINITY
            }
        );
        assert_eq!(set.rejected[1].name, "run_4");
        assert!(matches!(
            set.rejected[1].reason,
            RejectReason::NonFinite { frame: 2, value } if value.is_nan()
        ));
        assert_eq!(set.rejected[2].name, "run_5");
        assert_eq!(
            set.rejected[2].reason,
            RejectReason::TooShort { len: 3, needed: 5 }
        );
        assert!(set.rejected[2]
            .to_string()
            .contains("too short: 3 frames, 5 needed"));
    }

    #[test]
    fn no_usable_trace_is_an_error() {
        let d = TempDir::new("nousable");
        d.write("a.dat", &ave_time(3, 10));
        d.write("b.dat", "# TimeStep v_eta\n10 1\n20 nan\n30 1\n40 1\n");
        let e = load_traces(&[d.0.display().to_string()], &Column::default(), 4).unwrap_err();
        let TraceError::NoUsable { total, summary } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(*total, 2);
        assert_eq!(
            summary,
            "all rejected: a (too short: 3 frames, 4 needed), \
             b (non-finite value NaN at frame 1 (0-based))"
        );
        assert!(
            msg(&e).starts_with("no usable trace among the 2 read; "),
            "{e}"
        );
        // With 3 frames needed, a is usable.
        let set = load_traces(&[d.0.display().to_string()], &Column::default(), 3).unwrap();
        assert_eq!(set.traces.len(), 1);
        assert_eq!(set.rejected.len(), 1);
    }

    #[test]
    fn load_refuses_a_file_missing_the_column() {
        let d = TempDir::new("loadmissing");
        d.write("a.dat", &ave_time(3, 10));
        d.write("b.dat", "# TimeStep v_other\n10 1\n20 1\n");
        let e = load_traces(
            &[d.0.display().to_string()],
            &Column::Name("v_eta".into()),
            1,
        )
        .unwrap_err();
        assert!(matches!(e, TraceError::MissingColumn { .. }), "{e:?}");
        assert!(msg(&e).contains("b.dat"), "{e}");
    }

    #[test]
    fn single_frame_traces_give_no_spacing() {
        let d = TempDir::new("nospacing");
        d.write("a.dat", &ave_time(1, 10));
        let e = load_traces(&[d.0.display().to_string()], &Column::default(), 1).unwrap_err();
        assert!(matches!(e, TraceError::NoSpacing), "{e:?}");
    }

    #[test]
    fn natural_order() {
        let mut v = vec![
            "run_10",
            "run_2",
            "run_02",
            "run_1",
            "a",
            "run_",
            "log#run11",
            "log#run9",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            vec![
                "a",
                "log#run9",
                "log#run11",
                "run_",
                "run_1",
                "run_2",
                "run_02",
                "run_10"
            ]
        );
        assert_eq!(natural_cmp("x007", "x7"), Ordering::Greater);
        assert_eq!(
            natural_cmp("x99999999999999999999999", "x100000000000000000000000"),
            Ordering::Less
        );
    }

    #[test]
    fn column_from_str() {
        assert_eq!("0".parse::<Column>().unwrap(), Column::Index(0));
        assert_eq!("12".parse::<Column>().unwrap(), Column::Index(12));
        assert_eq!(
            "v_eta".parse::<Column>().unwrap(),
            Column::Name("v_eta".into())
        );
        assert_eq!(
            "c_p[4]".parse::<Column>().unwrap(),
            Column::Name("c_p[4]".into())
        );
        assert!("".parse::<Column>().is_err());
    }

    #[test]
    fn expand_directories_globs_and_files() {
        let d = TempDir::new("expand");
        for n in [
            "run_10.dat",
            "run_2.dat",
            ".hidden.dat",
            "README.md",
            "runs.csv",
            "RUNS.CSV",
        ] {
            d.write(n, "x");
        }
        fs::create_dir(d.0.join("sub")).unwrap();
        d.write("sub/inner.dat", "x");
        let dir = d.0.display().to_string();
        let got = expand_inputs(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(got, vec![d.0.join("run_2.dat"), d.0.join("run_10.dat")]);

        let got = expand_inputs(&[d.arg("run_1*.dat")]).unwrap();
        assert_eq!(got, vec![d.0.join("run_10.dat")]);
        // '*' skips the hidden file and the README/CSV, and lists a matched directory.
        let got = expand_inputs(&[d.arg("*")]).unwrap();
        assert_eq!(
            got,
            vec![
                d.0.join("run_2.dat"),
                d.0.join("run_10.dat"),
                d.0.join("sub/inner.dat")
            ]
        );
        // An explicit file is taken as is, and a file reached twice is listed once.
        let got = expand_inputs(&[d.arg("README.md"), dir.clone(), d.arg("run_2.dat")]).unwrap();
        assert_eq!(
            got,
            vec![
                d.0.join("README.md"),
                d.0.join("run_2.dat"),
                d.0.join("run_10.dat")
            ]
        );
    }

    #[test]
    fn expand_errors() {
        let d = TempDir::new("expanderr");
        let e = expand_inputs(&[]).unwrap_err();
        assert!(matches!(e, TraceError::NoInputs));
        let e = expand_inputs(&[d.arg("nope.dat")]).unwrap_err();
        assert!(matches!(e, TraceError::NoMatch { .. }), "{e:?}");
        assert!(msg(&e).contains("nope.dat"));
        let e = expand_inputs(&[d.arg("*.dat")]).unwrap_err();
        assert!(matches!(e, TraceError::NoMatch { .. }), "{e:?}");
        d.write("README", "x");
        d.write("t.csv", "x");
        let e = expand_inputs(&[d.0.display().to_string()]).unwrap_err();
        assert!(matches!(e, TraceError::EmptyDir { .. }), "{e:?}");
        assert!(msg(&e).contains("holds no trace file"));
        let e = expand_inputs(&[d.arg("[x.dat")]).unwrap_err();
        assert!(matches!(e, TraceError::BadGlob { .. }), "{e:?}");
    }

    #[test]
    fn real_traces_from_the_public_campaign() {
        let dir = data("traces").display().to_string();
        let set = load_traces(&[dir], &Column::default(), 1000).unwrap();
        assert!(set.rejected.is_empty());
        assert_eq!(set.spacing, 10);
        assert_eq!(set.column, "v_eta");
        let names: Vec<&str> = set.traces.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["run_0100", "run_0146", "run_0672"]);
        // n_frames from the campaign's runs.csv: 1452, 1450, 1450; frame k at step 10k.
        for (t, n) in set.traces.iter().zip([1452usize, 1450, 1450]) {
            assert_eq!(t.len(), n, "{}", t.name);
            assert_eq!(t.steps[0], 10);
            assert_eq!(*t.steps.last().unwrap(), 10 * n as i64);
            assert!(t.values.iter().all(|v| v.is_finite()));
        }
        let t146 = &set.traces[1];
        assert_eq!(t146.values[0], 0.0386788);
        assert_eq!(t146.values[t146.len() - 2..], [2.19748, 2.49028]);
        // Asking for more frames than any run has rejects all three, by name.
        let e = load_traces(
            &[data("traces").display().to_string()],
            &Column::default(),
            1500,
        )
        .unwrap_err();
        assert!(
            msg(&e).contains("run_0100 (too short: 1452 frames, 1500 needed)"),
            "{e}"
        );
    }

    #[test]
    fn real_log_two_runs() {
        let p = data("logs/log.lammps");
        assert_eq!(detect_format(&p).unwrap(), Format::Log);
        let traces = read_log(&p, "v_eta").unwrap();
        assert_eq!(traces.len(), 2);
        let (a, b) = (&traces[0], &traces[1]);
        assert_eq!(a.name, "log#run1");
        assert_eq!(b.name, "log#run2");
        assert_eq!(a.column, "v_eta");
        // Run 1: steps 100..200 every 10; the closing row at 205 is off the thermo grid.
        assert_eq!(a.steps, (10..=20).map(|k| k * 10).collect::<Vec<i64>>());
        assert_eq!(a.values[0], -0.14510598);
        assert_eq!(a.values[10], -0.40998264);
        // Run 2 starts at 205 (off grid) and ends at 305 (off grid): both dropped.
        assert_eq!(b.steps, (21..=30).map(|k| k * 10).collect::<Vec<i64>>());
        assert_eq!(b.values[0], 0.23716127);
        assert_eq!(*b.values.last().unwrap(), -0.47125883);
        assert_eq!(a.spacing(), Some(10));
        assert_eq!(b.spacing(), Some(10));

        // A column of every block: the default style's 3 rows every 50 steps come first.
        let temp = read_log(&p, "Temp").unwrap();
        assert_eq!(temp.len(), 3);
        assert_eq!(temp[0].steps, vec![0, 50, 100]);
        assert_eq!(temp[0].values, vec![1.5, 0.73543429, 0.82068406]);
        assert_eq!(temp[2].name, "log#run3");
        // By index: the 5th value column is Press in the default style, v_eta in the custom one.
        let fifth = read_log_column(&p, &Column::Index(4)).unwrap();
        assert_eq!(fifth.len(), 3);
        assert_eq!(fifth[0].column, "Press");
        assert_eq!(fifth[1].column, "v_eta");
        assert_eq!(fifth[1].values, a.values);
        assert_eq!(
            read_log_column(&p, &Column::Index(5))
                .unwrap_err()
                .to_string(),
            format!(
                "{}: no column #5 (0-based, after the step column) in any thermo block; \
                     value columns: Temp E_pair E_mol TotEng Press PotEng Pxy v_eta",
                p.display()
            )
        );

        let e = read_log(&p, "v_visc").unwrap_err();
        assert!(matches!(e, TraceError::MissingColumn { .. }), "{e:?}");
        let m = msg(&e);
        assert!(
            m.contains("log.lammps") && m.contains("v_eta") && m.contains("E_pair"),
            "{m}"
        );

        let set =
            load_traces(&[p.display().to_string()], &Column::Name("v_eta".into()), 5).unwrap();
        assert_eq!(set.spacing, 10);
        assert_eq!(set.traces.len(), 2);
    }

    const LOG_HEAD: &str = "LAMMPS (22 Jul 2025 - Update 4)\n  using 1 OpenMP thread(s) per MPI task\nPer MPI rank memory allocation (min/avg/max) = 2.644 | 2.644 | 2.644 Mbytes\n";

    #[test]
    fn log_skips_warnings_inside_a_block() {
        let d = TempDir::new("logwarn");
        let text = format!(
            "{LOG_HEAD}   Step          Temp          v_eta     \n         0   1.5   0.1\n        10   1.4   0.2\nWARNING: Lost atoms: original 500 current 499 (src/thermo.cpp:488)\n\n        20   1.3   nan\n        30   1.2   0.4\nLoop time of 1.23 on 1 procs for 30 steps with 500 atoms\n"
        );
        let p = d.write("log.lammps", &text);
        let t = read_log(&p, "v_eta").unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].steps, vec![0, 10, 20, 30]);
        assert!(t[0].values[2].is_nan());
        // Through load_traces, the NaN rejects it and nothing else is left.
        let e =
            load_traces(&[p.display().to_string()], &Column::Name("v_eta".into()), 1).unwrap_err();
        assert!(
            msg(&e).contains("log#run1 (non-finite value NaN at frame 2"),
            "{e}"
        );
    }

    #[test]
    fn log_errors() {
        let d = TempDir::new("logerr");
        let multi = format!(
            "{LOG_HEAD}------------ Step              0 ----- CPU =            0 (sec) -------------\nTotEng   =        -4.5322 KinEng   =         2.2412 Temp     =         1.5000 \nLoop time of 0.00178134 on 1 procs for 20 steps with 256 atoms\n"
        );
        let p = d.write("multi.log", &multi);
        let e = read_log(&p, "Temp").unwrap_err();
        assert!(
            matches!(
                e,
                TraceError::UnsupportedThermo {
                    line: 4,
                    style: "multi",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(msg(&e).contains("multi.log:4"), "{e}");

        let yaml = format!(
            "{LOG_HEAD}---\nkeywords: ['Step', 'Temp', ]\ndata:\n  - [20, 0.658240690015469, ]\n...\n"
        );
        let p = d.write("yaml.log", &yaml);
        let e = read_log(&p, "Temp").unwrap_err();
        assert!(
            matches!(
                e,
                TraceError::UnsupportedThermo {
                    line: 5,
                    style: "yaml",
                    ..
                }
            ),
            "{e:?}"
        );

        let p = d.write("none.log", &format!("{LOG_HEAD}Total wall time: 0:00:00\n"));
        let e = read_log(&p, "Temp").unwrap_err();
        assert!(matches!(e, TraceError::NoThermo { .. }), "{e:?}");
        assert!(msg(&e).contains("none.log"));

        let trunc = format!("{LOG_HEAD}Step Temp v_eta\n0 1.5 0.1\n10 1.4 0.2\n20 1.3\n");
        let p = d.write("trunc.log", &trunc);
        let e = read_log(&p, "v_eta").unwrap_err();
        assert!(matches!(e, TraceError::Truncated { line: 7, .. }), "{e:?}");
        assert!(msg(&e).contains("trunc.log:7"));

        let garbage = format!("{LOG_HEAD}Step Temp v_eta\n0 1.5 0.1\n10 1.4 x0.2\n");
        let p = d.write("garbage.log", &garbage);
        let e = read_log(&p, "v_eta").unwrap_err();
        assert!(matches!(e, TraceError::Parse { line: 6, .. }), "{e:?}");

        let interrupted = format!(
            "{LOG_HEAD}Step Temp v_eta\n0 1.5 0.1\n10 1.4 0.2\neta is 0.2\n20 1.3 0.3\nLoop time of 1 on 1 procs for 20 steps with 5 atoms\n"
        );
        let p = d.write("interrupted.log", &interrupted);
        let e = read_log(&p, "v_eta").unwrap_err();
        assert!(
            matches!(
                e,
                TraceError::ThermoInterrupted {
                    line: 8,
                    interrupted_at: 7,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(msg(&e).contains("interrupted.log:8"), "{e}");
    }

    #[test]
    fn log_ending_without_loop_time_and_new_header() {
        let d = TempDir::new("lognohead");
        // A run cut short (ERROR) and a log still being written (no Loop time line).
        let text = format!(
            "{LOG_HEAD}Step v_eta\n0 1\n10 2\nERROR: Lost atoms (src/thermo.cpp:1)\nStep v_eta\n0 5\n10 6\n20 7\n"
        );
        let p = d.write("log.cut", &text);
        let t = read_log(&p, "v_eta").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].values, vec![1.0, 2.0]);
        assert_eq!(t[1].values, vec![5.0, 6.0, 7.0]);
        assert_eq!(t[1].name, "log#run2");
    }

    #[test]
    fn mixed_formats_load_together() {
        let d = TempDir::new("mixedformats");
        d.write("run_1.dat", &ave_time(12, 10));
        fs::copy(data("logs/log.lammps"), d.0.join("log.lammps")).unwrap();
        let set = load_traces(
            &[d.0.display().to_string()],
            &Column::Name("v_eta".into()),
            10,
        )
        .unwrap();
        let names: Vec<&str> = set.traces.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["log#run1", "log#run2", "run_1"]);
        assert_eq!(set.spacing, 10);
    }

    proptest! {
        #[test]
        fn ave_time_round_trips_exactly(
            values in prop::collection::vec(
                prop::num::f64::POSITIVE | prop::num::f64::NEGATIVE | prop::num::f64::NORMAL
                    | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
                1..50,
            ),
            every in 1i64..1000,
            exp in any::<bool>(),
        ) {
            let d = TempDir::new("prop");
            let mut text = String::from("# Time-averaged data for fix out\n# TimeStep v_eta c_x\n");
            for (k, v) in values.iter().enumerate() {
                // Shortest round-trip formatting, as either exponent or plain decimal.
                let s = if exp { format!("{v:e}") } else { format!("{v}") };
                text.push_str(&format!("{} {s} 0\n", (k as i64 + 1) * every));
            }
            let p = d.write("r.dat", &text);
            let t = read_ave_time(&p, &Column::Name("v_eta".into())).unwrap();
            prop_assert_eq!(t.len(), values.len());
            for (got, want) in t.values.iter().zip(&values) {
                prop_assert_eq!(got.to_bits(), want.to_bits());
            }
            let steps: Vec<i64> = (1..=values.len() as i64).map(|k| k * every).collect();
            prop_assert_eq!(&t.steps, &steps);
            if values.len() >= 2 {
                prop_assert_eq!(t.spacing(), Some(every));
            }
        }
    }
}
