//! Campaigns for the benches: the shipped traces, and larger synthetic campaigns resampled from
//! them (labelled as such wherever a figure is printed).
#![allow(dead_code)] // each bench uses its own part

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use simforecast_runtime::model::Direction;
use simforecast_train::trace::{self, Column};
use simforecast_train::Dataset;

/// The wide campaign's threshold.
pub const THRESHOLD: f64 = 33.1;

/// The traces of one shipped campaign (`data/<name>/traces`): names and values.
pub fn shipped(name: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let dir = format!("{}/data/{name}/traces", env!("CARGO_MANIFEST_DIR"));
    let set = trace::load_traces(&[dir], &Column::Index(0), 1000).unwrap();
    set.traces
        .into_iter()
        .map(|t| (format!("{name}/{}", t.name), t.values))
        .unzip()
}

/// A dataset of the given traces, labelled at the wide campaign's threshold.
pub fn dataset(names: Vec<String>, series: Vec<Vec<f64>>) -> Dataset {
    Dataset::new(
        names,
        series,
        THRESHOLD,
        Direction::Above,
        1000,
        10,
        "v_eta".into(),
    )
    .unwrap()
}

/// `n` synthetic traces: the wide campaign's traces in turn, each copy with independent uniform
/// noise of about 5 % of the trace's own spread (so the model has realistic structure and size
/// and no two traces coincide).
pub fn resampled_wide(n: usize) -> Dataset {
    let (names, series) = resampled_wide_traces(n);
    dataset(names, series)
}

/// The traces of [`resampled_wide`] (names and values), not yet labelled.
pub fn resampled_wide_traces(n: usize) -> (Vec<String>, Vec<Vec<f64>>) {
    let (base_names, base) = shipped("nemd-wide-public");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut names, mut series) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let j = i % base.len();
        let t = &base[j];
        let mean = t.iter().sum::<f64>() / t.len() as f64;
        let sd = (t.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / t.len() as f64).sqrt();
        names.push(format!("{}#{}", base_names[j], i / base.len()));
        series.push(
            t.iter()
                .map(|v| v + 0.05 * sd * (rng.gen::<f64>() * 2.0 - 1.0) * 1.7)
                .collect(),
        );
    }
    (names, series)
}

/// CPU seconds (user + system) this process has used so far, from /proc (None elsewhere): with
/// wall time it tells a slow run from a busy machine.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at state, field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}
