//! The `log.lammps` parser: thermo columns, one trace per `run` section that prints the column.

use std::collections::HashMap;
use std::path::Path;

use super::column::Column;
use super::error::TraceError;
use super::text::{numbered_lines, parse_row, read_text, starts_with_integer, stem, Parsed};
use super::Trace;

/// Read a thermo column of a `log.lammps`: one trace per `run` section whose thermo header has
/// the column, named `<stem>#run<k>` with k counting those sections from 1.
///
/// LAMMPS always prints the first and last step of a run, even off the `thermo N` grid; such an
/// end row (closer than N steps to its neighbour, next to a row on a multiple of N) is dropped,
/// so that a trace's spacing is that of the thermo output.
pub fn read_log(path: &Path, column: &str) -> Result<Vec<Trace>, TraceError> {
    read_log_column(path, &Column::Name(column.to_string()))
}

/// [`read_log`] with a column given by name, by index among the thermo columns after `Step`, or
/// [`Column::Auto`] (judged on the value columns of all thermo blocks together).
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
    /// Position of the column among the value columns, when this block has it.
    chosen: Option<usize>,
    steps: Vec<i64>,
    values: Vec<f64>,
    lines: Vec<usize>,
}

fn is_thermo_header(t: &str) -> bool {
    t.split_whitespace().next() == Some("Step")
}

/// The value columns of every thermo header, each once, in order of appearance.
fn all_value_columns(text: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for (_, l) in numbered_lines(text) {
        let t = l.trim_start();
        if is_thermo_header(t) {
            for c in t.split_whitespace().skip(1) {
                if !seen.iter().any(|s| s == c) {
                    seen.push(c.to_string());
                }
            }
        }
    }
    seen
}

pub(crate) fn parse_log(
    path: &Path,
    text: &str,
    column: &Column,
) -> Result<Vec<Parsed>, TraceError> {
    let seen_columns = all_value_columns(text);
    // Auto is judged once for the whole log, then read as the name it found.
    let resolved;
    let column = match column {
        Column::Auto if !seen_columns.is_empty() => {
            let pos = column.pick_in(path, &seen_columns)?;
            resolved = Column::Name(seen_columns[pos].clone());
            &resolved
        }
        c => c,
    };
    let stem = stem(path);
    let mut out: Vec<Parsed> = Vec::new();
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
                let (step, row) = parse_row(path, line, t, block.columns.len())?;
                if let Some(pos) = block.chosen {
                    block.steps.push(step);
                    block.values.push(row[pos]);
                    block.lines.push(line);
                }
                continue;
            }
            let ended_normally =
                t.starts_with("Loop time of") || t.starts_with("ERROR") || is_thermo_header(t);
            interrupted = (!ended_normally).then(|| (block.columns.len(), line, t.to_string()));
            if let Some(block) = current.take() {
                finish(block, &mut out);
            }
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
        if is_thermo_header(t) {
            let columns: Vec<String> = t.split_whitespace().map(str::to_string).collect();
            blocks += 1;
            interrupted = None;
            current = Some(Block {
                chosen: column.pick(&columns[1..]).ok(),
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
            column: format!("{} in any thermo block", column.label()),
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
    let Some(n) = counts
        .iter()
        .max_by_key(|&(gap, count)| (*count, *gap))
        .map(|(gap, _)| *gap)
    else {
        return;
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::testutil::{data, msg, TempDir};
    use crate::trace::{detect_format, load_traces, Format};

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
    fn auto_column_is_judged_over_all_thermo_blocks() {
        let p = data("logs/log.lammps");
        // The default style's block has no viscosity-like column; the custom ones have v_eta.
        let t = read_log_column(&p, &Column::Auto).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].column, "v_eta");
        assert_eq!(t, read_log(&p, "v_eta").unwrap());
        let d = TempDir::new("logauto");
        let p = d.write(
            "log.lammps",
            &format!("{LOG_HEAD}Step Temp Press\n0 1.5 0.1\n10 1.4 0.2\n"),
        );
        let e = read_log_column(&p, &Column::Auto).unwrap_err();
        assert!(matches!(e, TraceError::AmbiguousColumn { .. }), "{e:?}");
        assert!(
            msg(&e).ends_with(
                "2 value columns (Temp Press) and none named like a viscosity (eta, visc): \
                 pass --column NAME to choose one"
            ),
            "{e}"
        );
        let p = d.write("one.log", &format!("{LOG_HEAD}Step Temp\n0 1.5\n10 1.4\n"));
        assert_eq!(
            read_log_column(&p, &Column::Auto).unwrap()[0].column,
            "Temp"
        );
        // No thermo output at all is said as such, whatever the column.
        let p = d.write("none.log", &format!("{LOG_HEAD}Total wall time: 0:00:00\n"));
        let e = read_log_column(&p, &Column::Auto).unwrap_err();
        assert!(matches!(e, TraceError::NoThermo { .. }), "{e:?}");
    }
}
