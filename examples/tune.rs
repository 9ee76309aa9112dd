//! Tuning driver for bench/tuning.md: runs the protocol (20 stratified 80/20 splits, seed 0, as
//! `simforecast protocol`) for the default configuration with `key=value` overrides and prints one
//! table row per campaign.
//!
//! cargo run --release --example tune -- wide|pub [repeats=20] [key=value ...]
//!
//! With `TUNE_BREAKDOWN=1` it first prints where the frames go: runs by class and by what
//! happened to them (halted, forecast at a frame, undecided), with their share of the mean.

use simforecast_runtime::fpca::ComponentRule;
use simforecast_runtime::knn::Weighting;
use simforecast_train::protocol;
use simforecast_train::trace::{self, Column};
use simforecast_train::{Dataset, TrainConfig};

fn list<T: std::str::FromStr>(v: &str) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    v.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

/// A value, or `none` for an absent one.
fn opt<T: std::str::FromStr>(v: &str) -> Option<T>
where
    T::Err: std::fmt::Debug,
{
    (v != "none").then(|| v.parse().unwrap())
}

fn apply(c: &mut TrainConfig, key: &str, v: &str) {
    match key {
        "preset" => {
            *c = match v {
                "paper" => TrainConfig::paper(),
                "fixed" => TrainConfig::fixed_windows(),
                "eager" => TrainConfig::eager(),
                _ => TrainConfig::default_calibrated(),
            }
        }
        "screen" => c.screen_windows = list(v),
        "fc" => c.forecast_windows = list(v),
        "k" => c.k_grid = list(v),
        "powers" => c.power_grid = list(v),
        "w" => {
            c.weightings = v
                .split(',')
                .map(|s| match s {
                    "u" => Weighting::Uniform,
                    _ => Weighting::Distance,
                })
                .collect()
        }
        "target" => c.target_precision = v.parse().unwrap(),
        "prior" => c.precision_prior = v.parse().unwrap(),
        "minh" => c.min_halts = v.parse().unwrap(),
        "tol" => c.tolerance = opt(v),
        "by" => c.forecast_deadline = opt(v),
        "level" => c.level = v.parse().unwrap(),
        "comp" => c.component_grid = list(v),
        "var" => {
            c.recipe.components = ComponentRule::VarianceFraction(v.parse().unwrap());
            c.component_grid.clear();
        }
        "pen" => c.recipe.penalty = v.parse().unwrap(),
        "knots" => c.recipe.knot_ratio = v.parse().unwrap(),
        "summ" => c.recipe.summaries = v == "1",
        "sw" => c.recipe.summary_weight = v.parse().unwrap(),
        "logt" => c.log_targets = v == "1",
        "mincut" => c.min_cut = v.parse().unwrap(),
        "minscore" => c.min_score = opt(v),
        "vfloor" => c.margin_vote_floor = opt(v),
        "halt" => c.halt_windows = list(v),
        "miss" => c.max_early_miss = v.parse().unwrap(),
        "score" => {
            c.screen_score = match v {
                "vote" => simforecast_runtime::stage::ScoreKind::Vote,
                "margin" => simforecast_runtime::stage::ScoreKind::Margin,
                _ => simforecast_runtime::stage::ScoreKind::ScaledMargin,
            }
        }
        "std" => c.recipe.standardize = v == "1",
        "sel" => {
            c.selection = if v == "f1" {
                simforecast_train::Selection::F1
            } else {
                simforecast_train::Selection::AveragePrecision
            }
        }
        _ => panic!("unknown key {key}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, threshold) = match args[0].as_str() {
        "wide" => ("/work/shared/data/nemd-wide-public/traces", 33.1),
        _ => ("/work/shared/data/nemd-public/traces", 10.5),
    };
    let mut cfg = TrainConfig::default_calibrated();
    let mut repeats = 20;
    for a in &args[1..] {
        let (k, v) = a.split_once('=').expect("key=value");
        if k == "repeats" {
            repeats = v.parse().unwrap();
        } else {
            apply(&mut cfg, k, v);
        }
    }
    let set = trace::load_traces(&[dir.to_string()], &Column::Auto, 1000).unwrap();
    let ds = Dataset::from_traces(
        set,
        threshold,
        simforecast_runtime::model::Direction::Above,
        1000,
    )
    .unwrap();
    let splits: Vec<_> = (0..repeats)
        .map(|r| protocol::split(&ds, 0.2, r as u64))
        .collect();
    if std::env::var("TUNE_BREAKDOWN").is_ok() {
        use std::sync::Arc;
        let mut cat = std::collections::BTreeMap::<String, (usize, f64)>::new();
        for (r, (train, test)) in splits.iter().enumerate() {
            // The same per-repeat seed as protocol::run_config.
            let mut c = cfg.clone();
            c.seed = cfg.seed.wrapping_add(r as u64);
            let (model, _) = simforecast_train::fit_model(&ds, train, &c).unwrap();
            let (_, outs) = protocol::evaluate(&Arc::new(model), &ds, test).unwrap();
            for o in outs {
                let k = format!(
                    "{}{}",
                    if o.actual.is_some_and(|a| a.irrelevant) {
                        "irr "
                    } else {
                        "rel "
                    },
                    if let Some(h) = o.halt_frame {
                        format!("halt@{h}")
                    } else if let Some(f) = o.forecast_frame {
                        format!("fc@{f}")
                    } else {
                        "undecided".into()
                    }
                );
                let e = cat.entry(k).or_default();
                e.0 += 1;
                e.1 += o.frames_used as f64;
            }
        }
        let n: usize = cat.values().map(|v| v.0).sum();
        for (k, (c, f)) in cat {
            println!(
                "{k:20} {c:5} share {:.3} frames/run contrib {:.1}",
                c as f64 / n as f64,
                f / n as f64
            );
        }
    }
    let t = std::time::Instant::now();
    let s = protocol::run_config(&ds, &cfg, &splits, &|| {}).unwrap();
    let secs = t.elapsed().as_secs_f64() / repeats as f64;
    let fp: usize = s.confusion[0][1];
    let tp: usize = s.confusion[1][1];
    // A mean over the repeats, "n/a" when no repeat defines it.
    let m = |v: Option<protocol::MeanStd>, digits: usize| {
        v.map_or("n/a".into(), |v| format!("{:.digits$}", v.mean))
    };
    println!(
        "{:5} P {} R {} F1 {} | R2 {}/{} | cov {} | frames {:>6} saved {:>4}x | TP {tp} FP {fp} | {:.2} s/train+eval | {}",
        args[0],
        m(s.precision, 3),
        m(s.recall, 3),
        m(s.f1, 3),
        m(s.r2_lower, 3),
        m(s.r2_upper, 3),
        m(s.coverage, 3),
        m(s.mean_frames_to_decision, 1),
        m(s.compute_saved, 1),
        secs,
        args[1..].join(" ")
    );
}
