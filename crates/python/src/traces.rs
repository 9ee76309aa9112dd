//! The traces a Python call names — files, directories and globs read by the trace loader, or
//! arrays the caller holds — labelled into a [`Dataset`]. What the command line reports on
//! stderr (traces set aside, files skipped) comes back as warnings for Python's `warnings`.

use std::str::FromStr;

use simforecast_runtime::model::{Direction, Model};
use simforecast_train::trace::{self, Column, TraceSet};
use simforecast_train::Dataset;

use crate::error::{Failure, Kind, Result};

/// Where the traces come from.
#[derive(Clone, Debug)]
pub enum Traces {
    /// Trace files, directories or globs (LAMMPS `fix ave/time` output or logs).
    Paths(Vec<String>),
    /// Values the caller holds, one trace each, with optional names.
    Arrays {
        series: Vec<Vec<f64>>,
        names: Option<Vec<String>>,
    },
}

/// How traces are read and labelled.
#[derive(Clone, Debug)]
pub struct Request {
    /// Paths: the column to read (None: `auto`). Arrays: the name recorded (None: `value`).
    pub column: Option<String>,
    /// Steps between frames: required with arrays; with paths, checked when given.
    pub frame_spacing: Option<i64>,
    pub threshold: f64,
    pub direction: Direction,
    pub tail: usize,
    /// Fewest frames a trace needs (at least `tail`).
    pub min_len: usize,
}

impl Request {
    /// Traces for `model`: its column unless `column` overrides it, its tail and label, its
    /// largest window, and its frame spacing (which the traces must have).
    pub fn for_model(model: &Model, column: Option<String>, frame_spacing: Option<i64>) -> Self {
        Self {
            column: column.or_else(|| Some(model.meta.column.clone())),
            frame_spacing,
            threshold: model.meta.threshold,
            direction: model.meta.direction,
            tail: model.meta.tail,
            min_len: model.max_window(),
        }
    }
}

/// A labelled dataset, and what was set aside on the way.
#[derive(Debug)]
pub struct Loaded {
    pub dataset: Dataset,
    pub warnings: Vec<String>,
}

/// Reads (or takes) and labels the traces.
pub fn load(traces: Traces, req: &Request) -> Result<Loaded> {
    if req.tail < 2 {
        return Err(Failure::invalid(format!(
            "tail must be at least 2 frames, got {}",
            req.tail
        )));
    }
    match traces {
        Traces::Paths(inputs) => from_paths(&inputs, req),
        Traces::Arrays { series, names } => from_arrays(series, names, req),
    }
}

fn from_paths(inputs: &[String], req: &Request) -> Result<Loaded> {
    let column = match &req.column {
        Some(c) => Column::from_str(c).map_err(Failure::invalid)?,
        None => Column::Auto,
    };
    let min_len = req.min_len.max(req.tail);
    let set = trace::load_traces(inputs, &column, min_len)?;
    if let Some(want) = req.frame_spacing {
        check_spacing(set.spacing, want, "the traces have")?;
    }
    let warnings = set_aside(&set, min_len);
    let dataset =
        simforecast_train::Dataset::from_traces(set, req.threshold, req.direction, req.tail)?;
    Ok(Loaded { dataset, warnings })
}

fn from_arrays(series: Vec<Vec<f64>>, names: Option<Vec<String>>, req: &Request) -> Result<Loaded> {
    let Some(spacing) = req.frame_spacing else {
        return Err(Failure::invalid(
            "frame_spacing is required with arrays: the number of time steps between two \
             values (the Nevery*Nrepeat of fix ave/time), which a model checks its input against",
        ));
    };
    if spacing <= 0 {
        return Err(Failure::invalid(format!(
            "frame_spacing must be a positive number of steps, got {spacing}"
        )));
    }
    if series.is_empty() {
        return Err(Failure::invalid("no traces: the list of arrays is empty"));
    }
    let names = match names {
        Some(n) if n.len() != series.len() => {
            return Err(Failure::invalid(format!(
                "{} names for {} traces",
                n.len(),
                series.len()
            )))
        }
        Some(n) => n,
        None => (0..series.len()).map(|i| format!("trace_{i}")).collect(),
    };
    let min_len = req.min_len.max(req.tail);
    for (i, (s, name)) in series.iter().zip(&names).enumerate() {
        if let Some((frame, &value)) = s.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Failure::new(
                Kind::NonFinite {
                    frame: frame as u64,
                    value,
                },
                format!("trace {i} ('{name}') has the non-finite value {value} at frame {frame}"),
            ));
        }
        if s.len() < min_len {
            return Err(Failure::invalid(format!(
                "trace {i} ('{name}') has {} frames, fewer than the {min_len} needed ({})",
                s.len(),
                if min_len > req.tail {
                    format!("the largest window; the tail is {}", req.tail)
                } else {
                    "the tail its result is taken over; pass tail=N for shorter runs".into()
                }
            )));
        }
    }
    let column = req.column.clone().unwrap_or_else(|| "value".into());
    let dataset = Dataset::new(
        names,
        series,
        req.threshold,
        req.direction,
        req.tail,
        spacing,
        column,
    )?;
    Ok(Loaded {
        dataset,
        warnings: Vec::new(),
    })
}

/// Frames of the shortest trace of `ds`.
pub fn shortest(ds: &Dataset) -> usize {
    ds.series.iter().map(Vec::len).min().unwrap_or(0)
}

/// The error when traces sampled every `have` steps meet a model trained on every `want`.
pub fn check_spacing(have: i64, want: i64, what: &str) -> Result<()> {
    if have != want {
        return Err(Failure::invalid(format!(
            "{what} one frame every {have} steps, the model was trained on one every {want}: \
             sample the input every {want} steps (or retrain)"
        )));
    }
    Ok(())
}

/// Traces read but set aside, and files skipped, one warning each input.
fn set_aside(set: &TraceSet, min_len: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut inputs: Vec<&str> = set.skipped.iter().map(|s| s.input.as_str()).collect();
    inputs.dedup();
    for input in inputs {
        let here: Vec<_> = set
            .skipped
            .iter()
            .filter(|s| s.input == input)
            .cloned()
            .collect();
        out.push(format!(
            "skipped {} file(s) in {input}: {}",
            here.len(),
            trace::describe_skipped(&here)
        ));
    }
    for r in &set.rejected {
        out.push(format!(
            "trace not used (need {min_len} finite frames): {r}"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(spacing: Option<i64>) -> Request {
        Request {
            column: None,
            frame_spacing: spacing,
            threshold: 1.0,
            direction: Direction::Above,
            tail: 4,
            min_len: 0,
        }
    }

    fn arrays(series: Vec<Vec<f64>>) -> Traces {
        Traces::Arrays {
            series,
            names: None,
        }
    }

    #[test]
    fn arrays_are_labelled_like_files() {
        let l = load(
            arrays(vec![vec![0.0, 1.0, 1.0, 1.0, 1.0], vec![2.0; 6]]),
            &req(Some(10)),
        )
        .unwrap();
        let ds = l.dataset;
        assert_eq!(ds.names, ["trace_0", "trace_1"]);
        assert_eq!(ds.irrelevant, [false, true]);
        assert_eq!((ds.frame_spacing, ds.column.as_str()), (10, "value"));
        assert_eq!(shortest(&ds), 5);
    }

    #[test]
    fn bad_arrays_are_named() {
        let e = load(arrays(vec![vec![1.0; 5]]), &req(None)).unwrap_err();
        assert!(e.message.starts_with("frame_spacing is required"), "{e}");
        let e = load(arrays(vec![]), &req(Some(10))).unwrap_err();
        assert_eq!(e.message, "no traces: the list of arrays is empty");
        let e = load(arrays(vec![vec![1.0; 5], vec![]]), &req(Some(10))).unwrap_err();
        assert!(
            e.message.starts_with("trace 1 ('trace_1') has 0 frames"),
            "{e}"
        );
        let e = load(
            arrays(vec![vec![1.0, 2.0, f64::INFINITY, 1.0]]),
            &req(Some(10)),
        )
        .unwrap_err();
        assert!(matches!(e.kind, Kind::NonFinite { frame: 2, .. }), "{e:?}");
        let e = load(
            Traces::Arrays {
                series: vec![vec![1.0; 5]],
                names: Some(vec![]),
            },
            &req(Some(10)),
        )
        .unwrap_err();
        assert_eq!(e.message, "0 names for 1 traces");
    }

    #[test]
    fn a_path_that_is_not_there_is_a_trace_error() {
        let e = load(Traces::Paths(vec!["/nonexistent/x.dat".into()]), &req(None)).unwrap_err();
        assert_eq!(e.kind, Kind::Trace);
        assert!(e.message.contains("/nonexistent/x.dat"), "{e}");
        assert!(check_spacing(10, 20, "x has")
            .unwrap_err()
            .message
            .contains("every 20"));
    }
}
