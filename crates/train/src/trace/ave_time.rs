//! The `fix ave/time` parser (scalar mode): `#` comment lines with a column header, then one row
//! per frame, `step value value ...`.

use std::path::Path;

use super::column::Column;
use super::error::TraceError;
use super::text::{numbered_lines, parse_row, read_text, stem, Parsed};
use super::Trace;

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

fn header_words(comment: &str) -> Vec<String> {
    comment
        .trim_start_matches('#')
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The column header, once known: its line and its words (the step column first).
struct Header {
    line: usize,
    words: Vec<String>,
}

/// The column read, resolved against the header.
struct Chosen {
    /// Position among the value columns.
    pos: usize,
    /// Number of columns in a row, the step included.
    width: usize,
    /// Its name in the header.
    name: String,
}

/// The chosen column, given the header seen before `line`.
fn resolve(
    path: &Path,
    column: &Column,
    header: Option<&Header>,
    line: usize,
) -> Result<Chosen, TraceError> {
    let Some(h) = header else {
        return Err(TraceError::NoHeader {
            path: path.to_path_buf(),
            line,
        });
    };
    let value_columns = &h.words[1..];
    if value_columns.is_empty() {
        return Err(TraceError::NoValueColumns {
            path: path.to_path_buf(),
            line: h.line,
            header: h.words.join(" "),
        });
    }
    let pos = column.pick_in(path, value_columns)?;
    Ok(Chosen {
        pos,
        width: h.words.len(),
        name: value_columns[pos].clone(),
    })
}

pub(crate) fn parse_ave_time(
    path: &Path,
    text: &str,
    column: &Column,
) -> Result<Parsed, TraceError> {
    let mut header: Option<Header> = None;
    // Set at the first data row.
    let mut chosen: Option<Chosen> = None;
    let mut steps = Vec::new();
    let mut values = Vec::new();
    let mut lines = Vec::new();

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
                (Some(_), Some(old)) => {
                    if words.first() == old.words.first() && words != old.words {
                        return Err(TraceError::HeaderChanged {
                            path: path.to_path_buf(),
                            line,
                            old: old.words.join(" "),
                            new: words.join(" "),
                        });
                    }
                }
                // Before data: the last comment that is not the "Time-averaged data" title.
                _ => {
                    let title = words.first().is_some_and(|w| w == "Time-averaged");
                    if !words.is_empty() && !title {
                        header = Some(Header { line, words });
                    }
                }
            }
            continue;
        }
        let c = match &chosen {
            Some(c) => c,
            None => chosen.insert(resolve(path, column, header.as_ref(), line)?),
        };
        let (step, row) = parse_row(path, line, t, c.width)?;
        steps.push(step);
        values.push(row[c.pos]);
        lines.push(line);
    }
    // A file with a header and no row yet is a zero-frame trace (rejected later as too short),
    // but an absent column is still an error.
    let chosen = match chosen {
        Some(c) => c,
        None => resolve(path, column, header.as_ref(), numbered_lines(text).count())?,
    };
    Ok(Parsed {
        trace: Trace {
            name: stem(path),
            path: path.to_path_buf(),
            steps,
            values,
            column: chosen.name,
        },
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::testutil::{data, msg, TempDir};
    use proptest::prelude::*;

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
        // Three columns, one named like a viscosity: the default takes it.
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
        let e = read_ave_time(&p, &Column::Index(0)).unwrap_err();
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

    #[test]
    fn auto_column_in_real_two_column_files() {
        let t = read_ave_time(&data("lj_run/run_2.dat"), &Column::Auto).unwrap();
        assert_eq!(t.column, "v_eta");
        assert_eq!(t.len(), 20);
        assert_eq!(t.steps[19], 400);
        let d = TempDir::new("autoheader");
        // Ambiguous even before the first row, as a missing column is.
        let p = d.write("h.dat", "# TimeStep v_a v_b\n");
        let e = read_ave_time(&p, &Column::Auto).unwrap_err();
        assert!(matches!(e, TraceError::AmbiguousColumn { .. }), "{e:?}");
        let p = d.write("one.dat", "# TimeStep c_stress\n10 1\n");
        assert_eq!(read_ave_time(&p, &Column::Auto).unwrap().column, "c_stress");
    }
}
