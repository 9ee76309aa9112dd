//! Costs of the convergence estimator (issue targets: push < 50 ns, decision < 50 µs). Ignored by
//! default (timings on a shared machine are no pass/fail test); run with
//! `cargo test --release -p simforecast-runtime --test convergence_timing -- --ignored --nocapture`.

use std::hint::black_box;
use std::time::Instant;

use simforecast_runtime::convergence::{Convergence, ConvergenceParams, Equilibration};

fn frame(t: u64) -> f64 {
    let h = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    20.0 + 5.0 * (-(t as f64) / 300.0).exp() + (h as f64 / (1u64 << 24) as f64 - 0.5)
}

#[test]
#[ignore]
fn push_and_decision_costs() {
    for equilibration in [Equilibration::MaxEffectiveSamples, Equilibration::Mser] {
        let params = ConvergenceParams {
            equilibration,
            ..Default::default()
        };
        let mut c = Convergence::new(params.validate().unwrap());
        // Frames generated beforehand, so that only the push is timed.
        let frames: Vec<f64> = (0..1_000_000).map(frame).collect();
        let rounds = 20;
        let start = Instant::now();
        for _ in 0..rounds {
            for &x in &frames {
                c.push(black_box(x)).unwrap();
            }
        }
        let push_ns = start.elapsed().as_nanos() as f64 / (rounds * frames.len()) as f64;
        // Decisions at the run lengths of the shipped campaigns, and with a full buffer.
        for frames in [200u64, 500, 1000, 1700, 4000] {
            c.reset();
            for t in 0..frames {
                c.push(frame(t)).unwrap();
            }
            let reps = 2000;
            let start = Instant::now();
            for _ in 0..reps {
                black_box(c.check());
            }
            let us = start.elapsed().as_secs_f64() * 1e6 / reps as f64;
            let e = c.check().estimate.unwrap();
            println!(
                "{equilibration:?}: decision at {frames} frames ({} blocks of {}): {us:.2} µs",
                frames / e.block_size,
                e.block_size
            );
        }
        println!("{equilibration:?}: push {push_ns:.2} ns");
    }
}
