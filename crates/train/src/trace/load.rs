//! Loading a set of traces: read every input, check that they agree (column, frame spacing), set
//! aside the unusable ones with a reason.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use super::ave_time::parse_ave_time;
use super::column::Column;
use super::error::TraceError;
use super::format::{detect_text, Format};
use super::group_glob::group_glob;
use super::inputs::{expand_inputs, list_some, natural_cmp, Skipped};
use super::log::parse_log;
use super::text::{read_text, Parsed};
use super::Trace;

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

/// The usable traces of a set of inputs, all of the same column and frame spacing.
#[derive(Debug, Clone)]
pub struct TraceSet {
    /// Usable traces, in natural order of name (`run_2` before `run_10`).
    pub traces: Vec<Trace>,
    /// Steps between consecutive frames, common to all traces.
    pub spacing: i64,
    /// The column read, as named in the files' headers (the one [`Column::Auto`] resolved to,
    /// the name asked for, or the name at the index asked for): the same in every trace.
    pub column: String,
    /// Traces read but set aside, in natural order of name.
    pub rejected: Vec<Rejected>,
    /// Files that directory and glob inputs reached but did not read, in input order.
    pub skipped: Vec<Skipped>,
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
/// Refuses: a file without the column (or, with [`Column::Auto`], without a single obvious
/// one), irregular or non-increasing steps within a trace, traces read from different columns,
/// and traces whose spacings differ (errors naming the groups, the minority files and, when
/// one exists, a glob selecting each group). Sets aside, with a reason and a warning, traces
/// with fewer than `min_len` frames (at least 1) or a NaN/Inf value. No usable trace at all is
/// an error.
pub fn load_traces(
    inputs: &[String],
    column: &Column,
    min_len: usize,
) -> Result<TraceSet, TraceError> {
    let expanded = expand_inputs(inputs)?;
    let mut parsed = Vec::new();
    for path in &expanded.files {
        parsed.extend(read_parsed(path, column)?);
    }
    for p in &parsed {
        check_spacing(p)?;
    }
    let traces: Vec<Trace> = parsed.into_iter().map(|p| p.trace).collect();
    let total = traces.len();

    let mut by_column: BTreeMap<String, Vec<&Trace>> = BTreeMap::new();
    for t in &traces {
        by_column.entry(t.column.clone()).or_default().push(t);
    }
    if by_column.len() > 1 {
        let split = split_groups(by_column, |c| c.clone());
        return Err(TraceError::MixedColumns {
            columns: split.counts,
            summary: split.summary,
            globs: split.globs,
        });
    }
    let mut by_spacing: BTreeMap<i64, Vec<&Trace>> = BTreeMap::new();
    for t in &traces {
        if let Some(d) = t.spacing() {
            by_spacing.entry(d).or_default().push(t);
        }
    }
    if by_spacing.len() > 1 {
        let split = split_groups(by_spacing, |d| format!("{d} steps"));
        return Err(TraceError::MixedSpacing {
            spacings: split.counts,
            summary: split.summary,
            globs: split.globs,
        });
    }
    let spacing = by_spacing.keys().next().copied();

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
    let Some(column_name) = usable.first().map(|t| t.column.clone()) else {
        return Err(TraceError::NoUsable {
            total,
            summary: format!("all rejected: {}", rejected_list()),
        });
    };
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
    Ok(TraceSet {
        traces: usable,
        spacing,
        column: column_name,
        rejected,
        skipped: expanded.skipped,
    })
}

/// Traces split into groups that must not be mixed (by column, by spacing), as an error tells it.
struct Split<K> {
    /// (key, number of traces), most common first.
    counts: Vec<(K, usize)>,
    /// The groups, naming the files of every group but the first.
    summary: String,
    /// (key, a glob selecting exactly that group's files) for the groups that have one.
    globs: Vec<(K, String)>,
}

fn split_groups<K: Clone>(
    groups: BTreeMap<K, Vec<&Trace>>,
    describe: impl Fn(&K) -> String,
) -> Split<K> {
    let mut groups: Vec<(K, Vec<&Trace>)> = groups.into_iter().collect();
    // Most common first (stable, so equal counts keep the key order); the others are the odd
    // ones out.
    groups.sort_by_key(|g| std::cmp::Reverse(g.1.len()));
    let counts = groups.iter().map(|(k, ts)| (k.clone(), ts.len())).collect();
    let mut parts = vec![format!(
        "{} in {} trace(s)",
        describe(&groups[0].0),
        groups[0].1.len()
    )];
    for (k, ts) in &groups[1..] {
        let mut labels: Vec<String> = ts.iter().map(|t| file_label(t)).collect();
        labels.sort_by(|a, b| natural_cmp(a, b));
        parts.push(format!(
            "{} in {} trace(s): {}",
            describe(k),
            ts.len(),
            list_some(&labels, 10)
        ));
    }
    let mut globs = Vec::new();
    for (i, (k, ts)) in groups.iter().enumerate() {
        let mine: Vec<&Path> = ts.iter().map(|t| t.path.as_path()).collect();
        let others: Vec<&Path> = groups
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, (_, ts))| ts.iter().map(|t| t.path.as_path()))
            .collect();
        // A log whose run sections fall in two groups cannot be split by a glob.
        if mine.iter().any(|p| others.contains(p)) {
            continue;
        }
        if let Some(g) = group_glob(&mine, &others) {
            globs.push((k.clone(), g));
        }
    }
    Split {
        counts,
        summary: parts.join("; "),
        globs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::testutil::{ave_time, data, msg, TempDir};
    use crate::trace::{read_ave_time, SkipReason};
    use std::fs;

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
        let TraceError::MixedSpacing {
            spacings,
            summary,
            globs,
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!(spacings, &vec![(10, 13), (20, 12)]);
        assert!(summary.starts_with("10 steps in 13 trace(s); 20 steps in 12 trace(s): "));
        assert!(summary.contains("twenty_0.dat") && summary.contains("twenty_9.dat"));
        assert!(!summary.contains("ten_"), "{summary}");
        assert!(summary.ends_with("and 2 more"), "{summary}");
        assert!(!summary.contains("twenty_10.dat"), "{summary}");
        assert!(msg(&e).contains("frame spacings differ"));
        let (ten, twenty) = (d.arg("ten_*.dat"), d.arg("twenty_*.dat"));
        assert_eq!(globs, &vec![(10, ten.clone()), (20, twenty.clone())]);
        assert!(
            msg(&e).ends_with(&format!(
                "; to read one group, pass '{ten}' (10 steps) or '{twenty}' (20 steps)"
            )),
            "{e}"
        );
        // The suggested globs do select one group each.
        let set = load_traces(&[ten], &Column::default(), 1).unwrap();
        assert_eq!((set.traces.len(), set.spacing), (13, 10));
        let set = load_traces(&[twenty], &Column::default(), 1).unwrap();
        assert_eq!((set.traces.len(), set.spacing), (12, 20));
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
    fn mixed_formats_load_together() {
        let d = TempDir::new("mixedformats");
        d.write("run_1.dat", &ave_time(12, 10));
        fs::copy(data("logs/log.lammps"), d.0.join("log.lammps")).unwrap();
        let v_eta = Column::Name("v_eta".into());
        // The directory takes the fix ave/time file and skips the log...
        let set = load_traces(&[d.input()], &v_eta, 10).unwrap();
        let names: Vec<&str> = set.traces.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["run_1"]);
        assert_eq!(set.skipped.len(), 1);
        assert_eq!(set.skipped[0].reason, SkipReason::Log);
        // ...which, named explicitly, is read with it.
        let set = load_traces(&[d.input(), d.arg("log.lammps")], &v_eta, 10).unwrap();
        let names: Vec<&str> = set.traces.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["log#run1", "log#run2", "run_1"]);
        assert_eq!(set.spacing, 10);
        assert!(set.skipped.is_empty());
    }

    /// The lj_run fixture: real LAMMPS output with `# TimeStep v_pxy v_eta` files.
    fn lj(name: &str) -> String {
        data("lj_run").join(name).display().to_string()
    }

    #[test]
    fn a_run_directory_loads_with_the_automatic_column() {
        let set = load_traces(&[lj("")], &Column::Auto, 20).unwrap();
        assert_eq!(set.column, "v_eta");
        assert_eq!(set.spacing, 10);
        let names: Vec<&str> = set.traces.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["run_1", "run_2"]);
        assert!(set.traces.iter().all(|t| t.len() == 20));
        assert_eq!(set.traces[0].values[..2], [0.789535, 0.354677]);
        assert!(set.rejected.is_empty());
        let skipped: Vec<&SkipReason> = set.skipped.iter().map(|s| &s.reason).collect();
        assert_eq!(
            skipped,
            vec![
                &SkipReason::Readme,
                &SkipReason::InputScript,
                &SkipReason::Log,
                &SkipReason::Binary,
                &SkipReason::Csv
            ]
        );
        // The other column, by name.
        let set = load_traces(&[lj("")], &Column::Name("v_pxy".into()), 20).unwrap();
        assert_eq!(set.column, "v_pxy");
        assert_eq!(set.traces[0].values[..2], [-0.0789535, -0.0354677]);
    }

    #[test]
    fn a_log_named_explicitly_is_read_as_a_log() {
        let set = load_traces(&[lj("log.lammps")], &Column::Auto, 5).unwrap();
        assert_eq!(set.column, "v_eta");
        assert_eq!(set.spacing, 50);
        let names: Vec<&str> = set.traces.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["log#run1", "log#run2"]);
        assert_eq!(set.traces[0].steps, vec![0, 50, 100, 150, 200]);
        assert_eq!(set.traces[0].values[0], 0.81571339);
        assert_eq!(set.traces[1].steps, vec![200, 250, 300, 350, 400]);
    }

    /// Issue 10's campaign: a glob took the logs beside the traces, and the spacing error did
    /// not say how to read one kind.
    #[test]
    fn mixed_spacings_suggest_a_glob_for_each_group() {
        for inputs in [vec![lj("*")], vec![lj(""), lj("log.lammps")]] {
            let e = load_traces(&inputs, &Column::Auto, 1).unwrap_err();
            let TraceError::MixedSpacing {
                spacings, globs, ..
            } = &e
            else {
                panic!("{e:?}");
            };
            assert_eq!(spacings, &vec![(10, 2), (50, 2)]);
            assert_eq!(
                globs,
                &vec![(10, lj("*.dat")), (50, lj("log.lammps"))],
                "{inputs:?}"
            );
            assert!(
                msg(&e).contains(&format!(
                    "; to read one group, pass '{}' (10 steps) or '{}' (50 steps)",
                    lj("*.dat"),
                    lj("log.lammps")
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn several_value_columns_need_a_choice() {
        let d = TempDir::new("ambiguous");
        let text = "# Time-averaged data for fix out\n# TimeStep v_pxy v_pyz\n10 1 2\n20 3 4\n";
        d.write("run_1.dat", text);
        d.write("run_2.dat", text);
        let e = load_traces(&[d.input()], &Column::Auto, 1).unwrap_err();
        let TraceError::AmbiguousColumn {
            path,
            columns,
            viscosity_like,
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!(path, &d.0.join("run_1.dat"));
        assert_eq!(columns, &vec!["v_pxy".to_string(), "v_pyz".to_string()]);
        assert!(viscosity_like.is_empty());
        assert!(
            msg(&e).ends_with(
                "run_1.dat: 2 value columns (v_pxy v_pyz) and none named like a viscosity \
                 (eta, visc): pass --column NAME to choose one"
            ),
            "{e}"
        );
        let set = load_traces(&[d.input()], &"v_pyz".parse().unwrap(), 1).unwrap();
        assert_eq!(set.column, "v_pyz");
        assert_eq!(set.traces[1].values, vec![2.0, 4.0]);
        // Two viscosity-like names are no clearer.
        d.write("run_1.dat", "# TimeStep v_eta v_visc\n10 1 2\n");
        let e = load_traces(&[d.arg("run_1.dat")], &Column::Auto, 1).unwrap_err();
        assert!(
            msg(&e).contains(
                "2 value columns (v_eta v_visc) and 2 named like a viscosity (v_eta, v_visc)"
            ),
            "{e}"
        );
    }

    #[test]
    fn traces_read_from_different_columns_are_an_error() {
        let d = TempDir::new("mixedcolumns");
        for k in 1..=3 {
            d.write(&format!("eta_{k}.dat"), &ave_time(4, 10));
        }
        d.write("press_1.dat", "# TimeStep v_p\n10 1\n20 2\n30 3\n40 4\n");
        for column in [Column::Auto, Column::Index(0)] {
            let e = load_traces(&[d.input()], &column, 1).unwrap_err();
            let TraceError::MixedColumns {
                columns,
                summary,
                globs,
            } = &e
            else {
                panic!("{e:?}");
            };
            assert_eq!(
                columns,
                &vec![("v_eta".to_string(), 3), ("v_p".to_string(), 1)]
            );
            assert_eq!(
                summary,
                &format!(
                    "v_eta in 3 trace(s); v_p in 1 trace(s): {}",
                    d.arg("press_1.dat")
                )
            );
            assert_eq!(
                globs,
                &vec![
                    ("v_eta".to_string(), d.arg("eta_*.dat")),
                    ("v_p".to_string(), d.arg("press_1.dat"))
                ]
            );
            assert!(
                msg(&e).starts_with("the files resolve to different columns: v_eta in 3"),
                "{e}"
            );
            assert!(
                msg(&e).contains("; pass --column NAME or select one group of files with '"),
                "{e}"
            );
        }
        // A name settles it: the file without it is named.
        let e = load_traces(&[d.input()], &Column::Name("v_eta".into()), 1).unwrap_err();
        assert!(matches!(e, TraceError::MissingColumn { .. }), "{e:?}");
        assert!(msg(&e).contains("press_1.dat"), "{e}");
    }

    /// The shipped campaigns have one value column, v_eta: the default reads it, as the index
    /// the integration tests use does.
    #[test]
    fn shipped_campaigns_load_with_the_default_column() {
        for campaign in ["nemd-public", "nemd-wide-public"] {
            let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data"))
                .join(campaign)
                .join("traces")
                .display()
                .to_string();
            let auto = load_traces(std::slice::from_ref(&dir), &Column::default(), 1000).unwrap();
            let index = load_traces(&[dir], &Column::Index(0), 1000).unwrap();
            assert_eq!(auto.column, "v_eta", "{campaign}");
            assert_eq!(auto.spacing, 10);
            assert!(auto.traces.len() > 100, "{campaign}: {}", auto.traces.len());
            assert!(auto.rejected.is_empty() && auto.skipped.is_empty());
            assert_eq!(auto.traces, index.traces);
        }
    }
}
