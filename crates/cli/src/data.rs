//! Reading the traces a command works on: one path from inputs to a labelled `Dataset`, which
//! reports what it set aside and says what it read.

use std::path::Path;
use std::str::FromStr;

use simforecast_runtime::model::{Direction, Model};
use simforecast_train::trace::{self, Column, Skipped, Trace, TraceSet};
use simforecast_train::Dataset;

use crate::args::{DataArgs, LabelArgs};
use crate::report::{sig3, NONE};
use crate::AnyResult;

/// What to read and how to label it.
pub struct Request<'a> {
    pub inputs: &'a [String],
    pub column: Column,
    /// Frames over which mu and sigma are taken.
    pub tail: usize,
    /// Fewest frames a usable trace has (at least `tail`).
    pub min_len: usize,
    pub threshold: f64,
    pub direction: Direction,
}

impl<'a> Request<'a> {
    /// The traces of `train` or `protocol`, long enough for `min_len` frames.
    pub fn from_args(data: &'a DataArgs, label: &LabelArgs, min_len: usize) -> AnyResult<Self> {
        Ok(Self {
            inputs: &data.traces,
            column: Column::from_str(&data.column)?,
            tail: data.tail,
            min_len,
            threshold: label.threshold,
            direction: label.direction(),
        })
    }

    /// Traces for a trained model: its column (unless `column` overrides it), tail and label.
    pub fn for_model(model: &Model, inputs: &'a [String], column: Option<&str>) -> AnyResult<Self> {
        Ok(Self {
            inputs,
            column: model_column(model, column)?,
            tail: model.meta.tail,
            min_len: model.max_window(),
            threshold: model.meta.threshold,
            direction: model.meta.direction,
        })
    }
}

/// The column a model reads: `column` when given, else the name stored in the model, as is.
pub fn model_column(model: &Model, column: Option<&str>) -> AnyResult<Column> {
    Ok(match column {
        Some(c) => Column::from_str(c)?,
        None => Column::Name(model.meta.column.clone()),
    })
}

/// Reads and labels the traces of `req`. Traces set aside (too short, NaN/Inf) are listed on
/// stderr, never silently dropped; one line on stderr says what was read.
pub fn load(req: &Request) -> AnyResult<Dataset> {
    let min_len = req.min_len.max(req.tail);
    let set = trace::load_traces(req.inputs, &req.column, min_len).map_err(|e| {
        // Every trace too short: say which options decide the length a trace needs.
        let hint = match &e {
            trace::TraceError::NoUsable { summary, .. } if summary.contains("too short") => {
                format!(
                    "\n  a run's result is mu and sigma of its last --tail {} frames, so a trace needs \
                     at least that many{}; for shorter runs pass --tail N (the stages' windows \
                     follow the traces' length unless --screen-windows, --forecast-windows, \
                     --halt-windows or --forecast-by set them)",
                    req.tail,
                    if min_len > req.tail {
                        format!(" (and {min_len} for the windows asked for)")
                    } else {
                        String::new()
                    }
                )
            }
            _ => String::new(),
        };
        format!("{e}{hint}")
    })?;
    report_skipped(&set);
    report_rejected(&set, min_len);
    let ds = Dataset::from_traces(set, req.threshold, req.direction, req.tail)?;
    eprintln!("{}", read_line(&ds, req.inputs));
    Ok(ds)
}

/// The traces of `inputs` without a label (`convergence` needs no threshold): at least `tail`
/// frames each, what was skipped or set aside reported as by `load`.
pub fn load_unlabelled(inputs: &[String], column: &str, tail: usize) -> AnyResult<TraceSet> {
    let set = trace::load_traces(inputs, &Column::from_str(column)?, tail)?;
    report_skipped(&set);
    report_rejected(&set, tail);
    let n = set.traces.len();
    let (lo, hi) = set
        .traces
        .iter()
        .filter_map(|t| simforecast_train::tail_stats(&t.values, tail))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (mu, _)| {
            (lo.min(mu), hi.max(mu))
        });
    eprintln!(
        "read {} from {n} trace{} ({}), mu {} .. {}",
        set.column,
        if n == 1 { "" } else { "s" },
        inputs.join(", "),
        sig3(lo),
        sig3(hi)
    );
    Ok(set)
}

/// Frames of the shortest trace of `ds` (the windows a model may use stay below it).
pub fn shortest(ds: &Dataset) -> usize {
    ds.series.iter().map(Vec::len).min().unwrap_or(0)
}

/// `load` for a model, which also refuses traces sampled at another frame spacing.
pub fn load_for_model(
    model: &Model,
    inputs: &[String],
    column: Option<&str>,
) -> AnyResult<Dataset> {
    let ds = load(&Request::for_model(model, inputs, column)?)?;
    check_spacing(model, ds.frame_spacing, "the traces have")?;
    Ok(ds)
}

/// The one trace of `path` for `predict`, checked against the model's frame spacing.
pub fn load_one(model: &Model, path: &str, column: Option<&str>) -> AnyResult<Trace> {
    let col = model_column(model, column)?;
    let mut traces = trace::read_traces(Path::new(path), &col)?;
    let t = match traces.len() {
        1 => traces.remove(0),
        0 => return Err(format!("{path} holds no trace").into()),
        n => {
            return Err(format!(
                "{path} holds {n} traces (a log with several runs?): predict takes one"
            )
            .into())
        }
    };
    if let Some(s) = t.spacing() {
        check_spacing(model, s, &format!("{path} has"))?;
    }
    let mu = simforecast_train::tail_stats(&t.values, model.meta.tail).map_or_else(
        || format!("mu {NONE} (fewer than {} frames)", model.meta.tail),
        |(mu, _)| format!("mu {}", sig3(mu)),
    );
    eprintln!(
        "read {} from 1 trace ({path}), {} frames, {mu}",
        t.column,
        t.len()
    );
    Ok(t)
}

fn check_spacing(model: &Model, spacing: i64, what: &str) -> AnyResult<()> {
    let want = model.meta.frame_spacing;
    if spacing != want {
        return Err(format!(
            "{what} one frame every {spacing} steps, the model was trained on one every {want}: \
             sample your input every {want} steps (or retrain)"
        )
        .into());
    }
    Ok(())
}

/// Files a directory or glob reached that are not traces, grouped by the input that reached them.
fn report_skipped(set: &TraceSet) {
    let mut inputs: Vec<&str> = set.skipped.iter().map(|s| s.input.as_str()).collect();
    inputs.dedup();
    for input in inputs {
        let here: Vec<Skipped> = set
            .skipped
            .iter()
            .filter(|s| s.input == input)
            .cloned()
            .collect();
        eprintln!(
            "simforecast: skipped {} file{} in {input}: {}",
            here.len(),
            if here.len() == 1 { "" } else { "s" },
            trace::describe_skipped(&here)
        );
    }
}

fn report_rejected(set: &TraceSet, min_len: usize) {
    if set.rejected.is_empty() {
        return;
    }
    eprintln!(
        "simforecast: {} trace(s) not used (need {min_len} finite frames):",
        set.rejected.len()
    );
    for r in set.rejected.iter().take(10) {
        eprintln!("  {r}");
    }
    if set.rejected.len() > 10 {
        eprintln!("  ... and {} more", set.rejected.len() - 10);
    }
}

/// "read v_eta from 250 traces (data/nemd-wide-public/traces), mu 0.221 .. 96.9; 30 irrelevant
/// (mu > 33.1)": the column, how many traces, where from, and the range of mu.
fn read_line(ds: &Dataset, inputs: &[String]) -> String {
    let (lo, hi) = ds
        .mu
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &m| {
            (lo.min(m), hi.max(m))
        });
    let from = match inputs {
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
        [] => String::new(),
    };
    let n = ds.len();
    format!(
        "read {} from {n} trace{} ({from}), mu {} .. {}; {} irrelevant (mu {} {})",
        ds.column,
        if n == 1 { "" } else { "s" },
        sig3(lo),
        sig3(hi),
        ds.irrelevant.iter().filter(|x| **x).count(),
        match ds.direction {
            Direction::Above => ">",
            Direction::Below => "<",
        },
        ds.threshold
    )
}
