//! From the inputs a user names (files, directories, glob patterns) to the files to read, and
//! the files passed over with the reason for each.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use super::error::TraceError;
use super::format::{sniff, FileKind};

/// Why a file met in a directory or a glob is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Its name starts with a dot.
    Hidden,
    /// A directory inside a directory input: directories are not searched recursively.
    Directory,
    /// Neither a regular file nor a directory (a broken link, a socket...).
    NotAFile,
    /// `README*`.
    Readme,
    /// `*.csv`.
    Csv,
    /// A `log.lammps` in a directory: only fix ave/time files are taken from directories.
    Log,
    InputScript,
    /// NUL bytes: a restart file, a binary dump...
    Binary,
    Empty,
    /// `fix ave/time` output in vector mode, which is not supported; the line that shows it.
    VectorMode {
        line: usize,
    },
    /// Anything else; the first line that is not `fix ave/time` output.
    NotATrace {
        line: usize,
        text: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Hidden => f.write_str("a hidden file"),
            SkipReason::Directory => {
                f.write_str("a directory; directories are not searched recursively")
            }
            SkipReason::NotAFile => f.write_str("not a regular file"),
            SkipReason::Readme => f.write_str("a README"),
            SkipReason::Csv => f.write_str("a CSV table"),
            SkipReason::Log => {
                f.write_str("a LAMMPS log; pass it explicitly to read thermo columns")
            }
            SkipReason::InputScript => f.write_str("a LAMMPS input script"),
            SkipReason::Binary => f.write_str("a binary file, e.g. a restart file or binary dump"),
            SkipReason::Empty => f.write_str("an empty file"),
            SkipReason::VectorMode { .. } => {
                f.write_str("fix ave/time output in vector mode, which is not supported")
            }
            SkipReason::NotATrace { line, text } => {
                write!(f, "not fix ave/time output; line {line} reads '{text}'")
            }
        }
    }
}

/// A file (or directory) that an input reached but that is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    /// The input (directory or glob pattern) that reached it, as given.
    pub input: String,
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path.display(), self.reason)
    }
}

/// Skipped files by reason, each reason once with up to 3 file names:
/// `log.lammps, log_2.lammps and 54 more (a LAMMPS log; ...); README.md (a README)`.
pub fn describe_skipped(skipped: &[Skipped]) -> String {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for s in skipped {
        let reason = s.reason.to_string();
        let name = s
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| s.path.display().to_string());
        match groups.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, names)) => names.push(name),
            None => groups.push((reason, vec![name])),
        }
    }
    if groups.is_empty() {
        return "nothing".to_string();
    }
    groups
        .iter()
        .map(|(reason, names)| format!("{} ({reason})", list_some(names, 3)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Up to `max` items, then "and N more".
pub(crate) fn list_some(items: &[String], max: usize) -> String {
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

/// The files to read, and those passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expanded {
    /// In input order, each file once.
    pub files: Vec<PathBuf>,
    /// In input order, each once; none of them is among `files`.
    pub skipped: Vec<Skipped>,
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

fn natural_path_cmp(a: &Path, b: &Path) -> Ordering {
    natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()).then_with(|| a.cmp(b))
}

/// How an input reached a file: what it takes besides `fix ave/time` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// A directory input takes only `fix ave/time` files: a run directory also holds the
    /// run's log, whose thermo output has another spacing and other columns.
    Directory,
    /// A glob also takes the logs it matches: naming `log.*` is asking for them.
    Glob,
}

/// Whether a file met in a directory or a glob is read; the reason when it is not.
fn judge(path: &Path, via: Via) -> Result<Option<SkipReason>, TraceError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.starts_with('.') {
        return Ok(Some(SkipReason::Hidden));
    }
    // fs::metadata follows symlinks, so a link to a regular file counts as one.
    let meta = fs::metadata(path);
    if meta.as_ref().is_ok_and(|m| m.is_dir()) {
        return Ok(Some(SkipReason::Directory));
    }
    if !meta.is_ok_and(|m| m.is_file()) {
        return Ok(Some(SkipReason::NotAFile));
    }
    if name.to_ascii_uppercase().starts_with("README") {
        return Ok(Some(SkipReason::Readme));
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return Ok(Some(SkipReason::Csv));
    }
    Ok(match sniff(path)? {
        FileKind::AveTime => None,
        FileKind::Log => (via == Via::Directory).then_some(SkipReason::Log),
        FileKind::AveTimeVector { line } => Some(SkipReason::VectorMode { line }),
        FileKind::InputScript => Some(SkipReason::InputScript),
        FileKind::Binary => Some(SkipReason::Binary),
        FileKind::Empty => Some(SkipReason::Empty),
        FileKind::Other { line, text } => Some(SkipReason::NotATrace { line, text }),
    })
}

/// A directory's regular files that are fix ave/time output, in natural order, and the rest.
fn list_dir(input: &str, dir: &Path) -> Result<Expanded, TraceError> {
    let io = |source| TraceError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        entries.push(entry.map_err(io)?.path());
    }
    entries.sort_by(|a, b| natural_path_cmp(a, b));
    let mut out = Expanded::default();
    for path in entries {
        match judge(&path, Via::Directory)? {
            None => out.files.push(path),
            Some(reason) => out.skipped.push(Skipped {
                path,
                input: input.to_string(),
                reason,
            }),
        }
    }
    Ok(out)
}

fn has_glob_meta(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The options inputs are globbed with (also those of the globs suggested in messages).
pub(crate) const GLOB_OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

fn expand_glob(input: &str) -> Result<Expanded, TraceError> {
    let paths = glob::glob_with(input, GLOB_OPTIONS).map_err(|e| TraceError::BadGlob {
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
    if matches.is_empty() {
        return Err(TraceError::NoMatch {
            input: input.to_string(),
        });
    }
    matches.sort_by(|a, b| natural_path_cmp(a, b));
    let mut out = Expanded::default();
    for path in matches {
        if path.is_dir() {
            // A matched directory is listed as a directory input would be.
            let listed = list_dir(input, &path)?;
            out.files.extend(listed.files);
            out.skipped.extend(listed.skipped);
            continue;
        }
        match judge(&path, Via::Glob)? {
            None => out.files.push(path),
            Some(reason) => out.skipped.push(Skipped {
                path,
                input: input.to_string(),
                reason,
            }),
        }
    }
    if out.files.is_empty() {
        return Err(TraceError::GlobAllSkipped {
            input: input.to_string(),
            skipped: out.skipped,
        });
    }
    Ok(out)
}

/// Expand inputs into trace files, in input order, each file once.
///
/// An input is:
/// - a file: read as it is, whatever its format (a log is read as a log);
/// - a directory: its `fix ave/time` files (non-recursive, in natural order); everything else
///   (logs, input scripts, restart files, READMEs, CSV tables, hidden files, subdirectories...)
///   is skipped;
/// - a glob pattern: its matches, taking `fix ave/time` files and logs and skipping the rest as
///   a directory does; `*` does not match a leading dot; a matched directory is listed as above.
///
/// Skipped files come back with their reasons. An input that yields no file is an error that
/// lists what it skipped.
pub fn expand_inputs(inputs: &[String]) -> Result<Expanded, TraceError> {
    if inputs.is_empty() {
        return Err(TraceError::NoInputs);
    }
    let mut out = Expanded::default();
    let mut seen = HashSet::new();
    let mut skipped = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        let found = if path.is_dir() {
            let listed = list_dir(input, path)?;
            if listed.files.is_empty() {
                return Err(TraceError::EmptyDir {
                    input: input.clone(),
                    dir: path.to_path_buf(),
                    skipped: listed.skipped,
                });
            }
            listed
        } else if path.exists() {
            Expanded {
                files: vec![path.to_path_buf()],
                skipped: Vec::new(),
            }
        } else if has_glob_meta(input) {
            expand_glob(input)?
        } else {
            return Err(TraceError::NoMatch {
                input: input.clone(),
            });
        };
        for f in found.files {
            // The same file reached twice (a directory and a glob, say) is read once.
            if seen.insert(canonical(&f)) {
                out.files.push(f);
            } else {
                log::debug!("{} given more than once; read once", f.display());
            }
        }
        skipped.extend(found.skipped);
    }
    // A file skipped by one input but taken by another (named explicitly, say) is read.
    let mut skipped_seen = HashSet::new();
    out.skipped = skipped
        .into_iter()
        .filter(|s| {
            let key = canonical(&s.path);
            !seen.contains(&key) && skipped_seen.insert(key)
        })
        .collect();
    Ok(out)
}

fn canonical(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::testutil::{data, msg, TempDir};

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

    /// (file name, reason) of each skipped entry.
    fn reasons(e: &Expanded) -> Vec<(String, SkipReason)> {
        e.skipped
            .iter()
            .map(|s| {
                let name = s.path.file_name().unwrap().to_string_lossy().into_owned();
                (name, s.reason.clone())
            })
            .collect()
    }

    const TRACE: &str = "# Time-averaged data for fix out\n# TimeStep v_eta\n10 0.5\n20 0.25\n";

    #[test]
    fn expand_directories_globs_and_files() {
        let d = TempDir::new("expand");
        for n in ["run_10.dat", "run_2.dat", ".hidden.dat"] {
            d.write(n, TRACE);
        }
        for n in ["README.md", "runs.csv", "RUNS.CSV"] {
            d.write(n, "x");
        }
        fs::create_dir(d.0.join("sub")).unwrap();
        d.write("sub/inner.dat", TRACE);
        let dir = d.input();
        let got = expand_inputs(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(
            got.files,
            vec![d.0.join("run_2.dat"), d.0.join("run_10.dat")]
        );
        assert_eq!(
            reasons(&got),
            vec![
                (".hidden.dat".into(), SkipReason::Hidden),
                ("README.md".into(), SkipReason::Readme),
                ("RUNS.CSV".into(), SkipReason::Csv),
                ("runs.csv".into(), SkipReason::Csv),
                ("sub".into(), SkipReason::Directory),
            ]
        );
        assert!(got.skipped.iter().all(|s| s.input == dir));

        let got = expand_inputs(&[d.arg("run_1*.dat")]).unwrap();
        assert_eq!(got.files, vec![d.0.join("run_10.dat")]);
        assert!(got.skipped.is_empty());
        // '*' does not match the hidden file, skips the README/CSV, and lists a matched
        // directory.
        let got = expand_inputs(&[d.arg("*")]).unwrap();
        assert_eq!(
            got.files,
            vec![
                d.0.join("run_2.dat"),
                d.0.join("run_10.dat"),
                d.0.join("sub/inner.dat")
            ]
        );
        assert_eq!(reasons(&got).len(), 3, "{:?}", got.skipped);
        // An explicit file is taken as is, and a file reached twice is listed once: README.md is
        // read (and fails later as an unknown format), so it is not among the skipped.
        let got = expand_inputs(&[d.arg("README.md"), dir.clone(), d.arg("run_2.dat")]).unwrap();
        assert_eq!(
            got.files,
            vec![
                d.0.join("README.md"),
                d.0.join("run_2.dat"),
                d.0.join("run_10.dat")
            ]
        );
        assert!(!got.skipped.iter().any(|s| s.path.ends_with("README.md")));
        // A file skipped by two inputs is listed once.
        let got = expand_inputs(&[dir.clone(), d.arg("*.md"), d.arg("run_2.dat")]);
        // "*.md" matches only the README: nothing to read there is an error naming it.
        let e = got.unwrap_err();
        assert!(matches!(e, TraceError::GlobAllSkipped { .. }), "{e:?}");
        assert!(msg(&e).ends_with("skipped README.md (a README)"), "{e}");
        let got = expand_inputs(&[dir.clone(), d.arg("*")]).unwrap();
        assert_eq!(reasons(&got).len(), 5, "{:?}", got.skipped);
    }

    /// A run directory as LAMMPS leaves it: two fix ave/time files, the log, the input script,
    /// a restart file, a table and a README. Only the two traces are taken from it.
    #[test]
    fn a_real_run_directory_gives_its_traces_and_says_what_it_skipped() {
        let dir = data("lj_run").display().to_string();
        let got = expand_inputs(std::slice::from_ref(&dir)).unwrap();
        let lj = data("lj_run");
        assert_eq!(got.files, vec![lj.join("run_1.dat"), lj.join("run_2.dat")]);
        assert_eq!(
            reasons(&got),
            vec![
                ("README.md".into(), SkipReason::Readme),
                ("in.lj".into(), SkipReason::InputScript),
                ("log.lammps".into(), SkipReason::Log),
                ("restart.lj".into(), SkipReason::Binary),
                ("runs.csv".into(), SkipReason::Csv),
            ]
        );
        assert_eq!(
            describe_skipped(&got.skipped),
            "README.md (a README); in.lj (a LAMMPS input script); log.lammps (a LAMMPS log; \
             pass it explicitly to read thermo columns); restart.lj (a binary file, e.g. a \
             restart file or binary dump); runs.csv (a CSV table)"
        );
        assert_eq!(
            got.skipped[2].to_string(),
            format!(
                "{} (a LAMMPS log; pass it explicitly to read thermo columns)",
                lj.join("log.lammps").display()
            )
        );
        // A glob takes the logs it matches, and skips the rest as a directory does.
        let got = expand_inputs(&[format!("{dir}/*")]).unwrap();
        assert_eq!(
            got.files,
            vec![
                lj.join("log.lammps"),
                lj.join("run_1.dat"),
                lj.join("run_2.dat")
            ]
        );
        assert_eq!(got.skipped.len(), 4);
        // Named explicitly, the log is read.
        let log = lj.join("log.lammps").display().to_string();
        let got = expand_inputs(&[dir.clone(), log]).unwrap();
        assert_eq!(got.files.len(), 3);
        assert_eq!(got.skipped.len(), 4);
        assert!(!got.skipped.iter().any(|s| s.reason == SkipReason::Log));
    }

    #[test]
    fn many_skipped_files_of_one_kind_are_summarised() {
        let d = TempDir::new("manylogs");
        d.write("run_1.dat", TRACE);
        let log = "LAMMPS (22 Jul 2025 - Update 4)\nStep v_eta\n0 1\n5 2\n";
        for k in 1..=56 {
            d.write(&format!("log_{k}.lammps"), log);
        }
        d.write("notes.txt", "\nruns of May\n");
        d.write("empty.dat", "");
        d.write(
            "vector.dat",
            "# Time-averaged data for fix v\n# TimeStep Number-of-rows\n",
        );
        let got = expand_inputs(&[d.input()]).unwrap();
        assert_eq!(got.files, vec![d.0.join("run_1.dat")]);
        assert_eq!(got.skipped.len(), 59);
        assert_eq!(
            describe_skipped(&got.skipped),
            "empty.dat (an empty file); log_1.lammps, log_2.lammps, log_3.lammps and 53 more \
             (a LAMMPS log; pass it explicitly to read thermo columns); notes.txt (not fix \
             ave/time output; line 2 reads 'runs of May'); vector.dat (fix ave/time output in \
             vector mode, which is not supported)"
        );
        assert_eq!(describe_skipped(&[]), "nothing");
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
        d.write(
            "log.lammps",
            "LAMMPS (22 Jul 2025 - Update 4)\nStep v_eta\n0 1\n",
        );
        let e = expand_inputs(&[d.input()]).unwrap_err();
        let TraceError::EmptyDir { skipped, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(skipped.len(), 3);
        assert!(msg(&e).contains("holds no trace file"));
        assert!(
            msg(&e).ends_with(
                "skipped README (a README); log.lammps (a LAMMPS log; pass it explicitly to read \
                 thermo columns); t.csv (a CSV table)"
            ),
            "{e}"
        );
        let e = expand_inputs(&[d.arg("[x.dat")]).unwrap_err();
        assert!(matches!(e, TraceError::BadGlob { .. }), "{e:?}");
        let empty = TempDir::new("expandempty");
        let e = expand_inputs(&[empty.input()]).unwrap_err();
        assert!(msg(&e).ends_with("skipped nothing"), "{e}");
    }
}
