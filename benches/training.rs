//! Training time of the default model (and the paper's preset) against campaign size: the
//! shipped wide campaign (250 real traces), both shipped campaigns together (500 real traces,
//! labelled at the wide campaign's threshold) and synthetic campaigns of 500 and 5000 traces
//! resampled from the wide campaign. Issue targets: retraining in ≤ 3 s on 500 traces and
//! ≤ 60 s on 5000 (wall, 2 cores). Each size is trained once (the smoothing cache of a dataset is
//! built inside the timing: a fresh dataset each time).
//! Run: `cargo bench --bench training` (part of `make bench`); `-- --quick` skips 5000.

mod common;

use std::time::Instant;

use simforecast_train::{fit_model, Dataset, TrainConfig};

fn time_training(label: &str, ds: &Dataset, cfg: &TrainConfig, target: Option<f64>) {
    let idx: Vec<usize> = (0..ds.len()).collect();
    let (start, cpu_start) = (Instant::now(), common::cpu_seconds());
    let (model, _) = fit_model(ds, &idx, cfg).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, common::cpu_seconds()) {
        (Some(a), Some(b)) => format!(", {:.2} s CPU", b - a),
        _ => String::new(),
    };
    let verdict = match target {
        Some(t) if seconds <= t => format!(" (target <= {t} s: met)"),
        Some(t) => format!(" (target <= {t} s: NOT met)"),
        None => String::new(),
    };
    println!(
        "training {label}, {} traces ({} irrelevant), preset {}: {seconds:.2} s wall{cpu}, {} stages{verdict}",
        ds.len(),
        ds.irrelevant.iter().filter(|x| **x).count(),
        cfg.preset,
        model.stages.len(),
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    println!(
        "training time on {} threads (RAYON_NUM_THREADS to change)",
        rayon::current_num_threads()
    );
    let default = TrainConfig::default_calibrated();
    let (names, series) = common::shipped("nemd-wide-public");
    time_training(
        "the shipped wide campaign (real)",
        &common::dataset(names.clone(), series.clone()),
        &default,
        None,
    );
    let (more_names, more_series) = common::shipped("nemd-public");
    let take = 500 - names.len();
    let both = common::dataset(
        names
            .into_iter()
            .chain(more_names.into_iter().take(take))
            .collect(),
        series
            .into_iter()
            .chain(more_series.into_iter().take(take))
            .collect(),
    );
    time_training(
        "both shipped campaigns (real: wide + 250 of nemd-public)",
        &both,
        &default,
        Some(3.0),
    );
    time_training(
        "synthetic (wide campaign resampled with noise)",
        &common::resampled_wide(500),
        &default,
        Some(3.0),
    );
    if !quick {
        let big = common::resampled_wide(5000);
        time_training(
            "synthetic (wide campaign resampled with noise)",
            &big,
            &TrainConfig::paper(),
            None,
        );
        time_training(
            "synthetic (wide campaign resampled with noise)",
            &big,
            &default,
            Some(60.0),
        );
    }
}
