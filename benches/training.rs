//! Retraining time of a campaign (`simforecast_campaign::retrain::fit`: the default preset at the
//! campaign's tolerance, exactly what a campaign runs when a retraining is due) against campaign
//! size: the shipped wide campaign (250 real traces), both shipped campaigns together (500 real
//! traces, labelled at the wide campaign's threshold) and synthetic campaigns of 500 and 5000
//! traces resampled from the wide campaign (see `common::resampled_wide`: each copy of a real
//! trace carries its own deterministic noise, seed 7). Issue targets: ≤ 3 s on 500 traces and
//! ≤ 60 s on 5000 (wall, 2 cores). Each size is trained once, from the raw frames (the dataset
//! and its smoothing caches are built inside the timing).
//! Run: `cargo bench --bench training` (part of `make bench`); `-- --quick` skips 5000,
//! `-- --large` runs 5000 alone (for a profiler). `RUST_LOG=simforecast_train=debug` prints the
//! time of each phase (screening windows, regression stages).

mod common;

use std::time::Instant;

use simforecast_campaign::config::Config;
use simforecast_campaign::retrain;
use simforecast_runtime::model::Direction;

fn time_retraining(label: &str, names: Vec<String>, series: Vec<Vec<f64>>, target: Option<f64>) {
    let mut cfg = Config::new(common::THRESHOLD, Direction::Above);
    cfg.column = Some("v_eta".into());
    cfg.frame_spacing = Some(10);
    let n = names.len();
    let (start, cpu_start) = (Instant::now(), common::cpu_seconds());
    let (model, ds) = retrain::fit(&cfg, names, series).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, common::cpu_seconds()) {
        (Some(a), Some(b)) => format!(", {:.2} s CPU", b - a),
        _ => String::new(),
    };
    let verdict = match target {
        Some(t) if seconds <= t => format!(" (target <= {t} s: met, {:.2} of it)", seconds / t),
        Some(t) => format!(" (target <= {t} s: NOT met, {:.2} times it)", seconds / t),
        None => String::new(),
    };
    println!(
        "retraining {label}, {n} traces ({} irrelevant): {seconds:.2} s wall{cpu}, {} stages{verdict}",
        ds.irrelevant.iter().filter(|x| **x).count(),
        model.stages.len(),
    );
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let quick = std::env::args().any(|a| a == "--quick");
    let large = std::env::args().any(|a| a == "--large");
    println!(
        "campaign retraining time (default preset) on {} threads (RAYON_NUM_THREADS to change)",
        rayon::current_num_threads()
    );
    if large {
        return time_large();
    }
    let (names, series) = common::shipped("nemd-wide-public");
    time_retraining(
        "the shipped wide campaign (real)",
        names.clone(),
        series.clone(),
        None,
    );
    let (more_names, more_series) = common::shipped("nemd-public");
    let take = 500 - names.len();
    time_retraining(
        "both shipped campaigns (real: wide + 250 of nemd-public)",
        names
            .into_iter()
            .chain(more_names.into_iter().take(take))
            .collect(),
        series
            .into_iter()
            .chain(more_series.into_iter().take(take))
            .collect(),
        Some(3.0),
    );
    let (names, series) = common::resampled_wide_traces(500);
    time_retraining(
        "synthetic (wide campaign resampled with noise)",
        names,
        series,
        Some(3.0),
    );
    if !quick {
        time_large();
    }
}

fn time_large() {
    let (names, series) = common::resampled_wide_traces(5000);
    time_retraining(
        "synthetic (wide campaign resampled with noise)",
        names,
        series,
        Some(60.0),
    );
}
