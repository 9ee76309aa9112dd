//! Monitor and training costs (issue targets: push < 50 ns, decision at a full window < 50 µs for
//! a model trained on 2000 traces; a 2000-trace training < 1 s on 2 cores).
//!
//! The 2000 traces replicate the shipped wide campaign with independent noise (each copy adds
//! Gaussian noise of 5 % of the trace's own spread), so the model has realistic structure and size.
//! Run: `cargo bench --bench monitor` (or `make bench`).

use std::sync::Arc;
use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use simforecast_runtime::convergence::{Convergence, ConvergenceParams, Equilibration};
use simforecast_runtime::model::{Direction, Model};
use simforecast_runtime::monitor::Monitor;
use simforecast_train::trace::{self, Column};
use simforecast_train::{self as train, Dataset, TrainConfig};

fn campaign_2000() -> Dataset {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/nemd-wide-public/traces");
    let set = trace::load_traces(&[dir.to_string()], &Column::Index(0), 1000).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut names, mut series) = (Vec::new(), Vec::new());
    for copy in 0..(2000 / set.traces.len() + 1) {
        for t in &set.traces {
            let mean = t.values.iter().sum::<f64>() / t.values.len() as f64;
            let sd = (t.values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                / t.values.len() as f64)
                .sqrt();
            names.push(format!("{}#{copy}", t.name));
            series.push(
                t.values
                    .iter()
                    .map(|v| v + 0.05 * sd * (rng.gen::<f64>() * 2.0 - 1.0) * 1.7)
                    .collect(),
            );
            if names.len() == 2000 {
                break;
            }
        }
        if names.len() == 2000 {
            break;
        }
    }
    Dataset::new(
        names,
        series,
        33.1,
        Direction::Above,
        1000,
        10,
        "v_eta".into(),
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let ds = campaign_2000();
    let idx: Vec<usize> = (0..ds.len()).collect();
    let cfg = TrainConfig::default_calibrated();

    let start = Instant::now();
    let (model, _) = train::fit_model(&ds, &idx, &cfg).unwrap();
    let train_default = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let _ = train::fit_model(&ds, &idx, &TrainConfig::paper()).unwrap();
    let train_paper = start.elapsed().as_secs_f64();
    println!(
        "training on {} traces: default preset {:.3} s ({} stages), paper preset {:.3} s (target < 1 s)",
        ds.len(),
        train_default,
        model.stages.len(),
        train_paper
    );

    let model: Arc<Model> = Arc::new(model);
    let trace = ds.series[1].clone();
    let first_window = model.stages[0].window();

    // Push cost between stage windows: the steady-state cost per LAMMPS sample.
    let mut m = Monitor::new(Arc::clone(&model));
    for &v in &trace[..first_window] {
        m.push(v).unwrap();
    }
    // Time runs of pushes that complete no window (the gap up to the next stage).
    let gap = model
        .stages
        .iter()
        .map(|s| s.window())
        .find(|&w| w > first_window)
        .map_or(500, |w| w - first_window - 1);
    c.bench_function("push (no decision due)", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                let mut fresh = m.clone();
                let n = (gap as u64).min(iters - done) as usize;
                let t = Instant::now();
                for &v in &trace[first_window..first_window + n] {
                    black_box(fresh.push(black_box(v)).unwrap());
                }
                total += t.elapsed();
                done += n as u64;
            }
            total
        })
    });

    // One decision: the push that completes the largest stage window.
    let largest = model
        .stages
        .iter()
        .enumerate()
        .max_by_key(|(_, s)| s.window())
        .map(|(i, _)| i)
        .unwrap();
    let w = model.stages[largest].window();
    c.bench_function("decision at a full window (largest stage)", |b| {
        b.iter(|| {
            black_box(
                model.stages[largest]
                    .evaluate(black_box(&trace[..w]))
                    .unwrap(),
            )
        })
    });
}

/// The model-free convergence estimator on a recorded trace: one push, and one decision at the
/// trace's full length (equilibration search, statistical inefficiency, interval), for both
/// equilibration rules.
fn bench_convergence(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/nemd-wide-public/traces");
    let set = trace::load_traces(&[dir.to_string()], &Column::Auto, 1000).unwrap();
    let trace = &set.traces[0].values;
    for rule in [Equilibration::MaxEffectiveSamples, Equilibration::Mser] {
        let params = ConvergenceParams {
            equilibration: rule,
            ..Default::default()
        }
        .validate()
        .unwrap();
        let mut conv = Convergence::new(params.clone());
        c.bench_function(&format!("convergence push ({rule:?})"), |b| {
            let mut i = 0;
            b.iter(|| {
                conv.push(black_box(trace[i % trace.len()])).unwrap();
                i += 1;
            })
        });
        let mut full = Convergence::new(params);
        for &v in trace {
            full.push(v).unwrap();
        }
        c.bench_function(
            &format!("convergence decision at {} frames ({rule:?})", trace.len()),
            |b| b.iter(|| black_box(full.check())),
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench, bench_convergence
}
criterion_main!(benches);
