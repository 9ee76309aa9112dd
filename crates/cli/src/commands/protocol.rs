//! `simforecast protocol`: repeated 80/20 splits, comparison of presets, window sweep, plots;
//! the honest compute saved at `--bank-at` and its curve over tolerances, and the baselines a
//! model must beat (the persistence forecast, the one-line halting rule).

use std::path::Path;
use std::time::Instant;

use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use simforecast_train::baseline::{self, WindowSummary};
use simforecast_train::protocol::{self, ConfigSummary, MeanStd};
use simforecast_train::savings::{RunPath, SavingsSummary};
use simforecast_train::sizes::{self, SizeSummary};
use simforecast_train::{plots, Dataset, StageReport, TrainConfig};

use crate::args::ProtocolArgs;
use crate::data::{self, Request};
use crate::report::{
    self, fixed, print_curve, print_honest_rule, print_honest_table, print_stage_reports,
    print_summary_table, print_windows,
};
use crate::AnyResult;

/// Indices of the training and test traces of one split.
type Split = (Vec<usize>, Vec<usize>);

/// A split as written to and read from `--splits` files: trace names.
#[derive(Serialize, Deserialize)]
struct SplitNames {
    train: Vec<String>,
    test: Vec<String>,
}

/// `protocol --json`.
#[derive(Serialize)]
struct Report<'a> {
    n: usize,
    n_irrelevant: usize,
    threshold: f64,
    repeats: usize,
    seconds: f64,
    mean_trace_len: f64,
    /// The tolerance of each `honest` figure.
    bank_at: f64,
    configs: Vec<SummaryJson<'a>>,
    mean_rule: MeanRule,
    persistence: PersistenceJson<'a>,
    sweep: Vec<SweepPoint<'a>>,
    /// Held-out halting against the training-set size (`--train-sizes`).
    train_sizes: &'a [SizeSummary],
}

/// The persistence baseline at the first configuration's forecasting windows: it never halts and
/// stops a run at its first window whose interval (calibrated on every training run) is within
/// the tolerance.
#[derive(Serialize)]
struct PersistenceJson<'a> {
    windows: &'a [usize],
    honest: &'a SavingsSummary,
    curve: &'a [SavingsSummary],
}

/// The one-line rule's mean precision, recall and F1 over the splits.
#[derive(Serialize)]
struct MeanRule {
    precision: Option<f64>,
    recall: Option<f64>,
    f1: Option<f64>,
}

#[derive(Serialize)]
struct SweepPoint<'a> {
    window: usize,
    summary: SummaryJson<'a>,
}

/// A figure over the repeats; `null` when no repeat defined it.
type Figure<'a> = Option<&'a MeanStd>;

/// The JSON view of a [`ConfigSummary`]; its field names are those scripts read
/// (`bench/compare.sh`: `precision`, `r2_all_relevant`, ...).
#[derive(Serialize)]
struct SummaryJson<'a> {
    name: &'a str,
    precision: Figure<'a>,
    recall: Figure<'a>,
    f1: Figure<'a>,
    r2: [Figure<'a>; 2],
    r2_all_relevant: [Figure<'a>; 2],
    forecast_share: Figure<'a>,
    coverage: Figure<'a>,
    interval_width: Figure<'a>,
    halts: Figure<'a>,
    false_halts: Figure<'a>,
    mean_frames_to_decision: Figure<'a>,
    /// The paper's accounting: every forecast counted as final, whatever its width.
    compute_saved: Figure<'a>,
    confusion: [[usize; 2]; 2],
    /// Hyper-parameters of the first repeat.
    stages: Option<&'a Vec<StageReport>>,
    /// Compute saved at `bank_at`, and over the tolerances 0.10..1.00.
    honest: SavingsSummary,
    curve: Vec<SavingsSummary>,
    /// Each forecasting window beside the persistence baseline.
    windows: &'a [WindowSummary],
}

impl<'a> SummaryJson<'a> {
    fn new(s: &'a ConfigSummary, bank_at: f64) -> AnyResult<Self> {
        let f = |m: &'a Option<MeanStd>| m.as_ref();
        Ok(Self {
            name: &s.name,
            precision: f(&s.precision),
            recall: f(&s.recall),
            f1: f(&s.f1),
            r2: [f(&s.r2_lower), f(&s.r2_upper)],
            r2_all_relevant: [f(&s.r2_all_lower), f(&s.r2_all_upper)],
            forecast_share: f(&s.forecast_share),
            coverage: f(&s.coverage),
            interval_width: f(&s.interval_width),
            halts: f(&s.halts),
            false_halts: f(&s.false_halts),
            mean_frames_to_decision: f(&s.mean_frames_to_decision),
            compute_saved: f(&s.compute_saved),
            confusion: s.confusion,
            stages: s.stages.first(),
            honest: s.honest(bank_at)?,
            curve: s.curve()?,
            windows: &s.windows,
        })
    }
}

pub fn run(mut a: ProtocolArgs) -> AnyResult<()> {
    let bank_at = a.bank.checked()?;
    if a.no_sweep {
        a.sweep.clear();
    }
    let sweep_max = a.sweep.iter().copied().max().unwrap_or(0);
    let ds = data::load(&Request::from_args(&a.data, &a.label, sweep_max)?)?;
    let shortest = data::shortest(&ds);
    let (first, adapted) = a.model.params().check(shortest)?;
    if !adapted.is_empty() {
        eprintln!("simforecast: the shortest trace has {shortest} frames: {adapted}");
    }
    let mut configs = vec![first];
    for p in &a.compare {
        let (c, _) = a.model.compared(*p).check(shortest)?;
        if !configs.contains(&c) {
            configs.push(c);
        }
    }
    let max_w = configs
        .iter()
        .map(TrainConfig::max_window)
        .chain(a.sweep.iter().copied())
        .max()
        .unwrap_or(0);
    let seed = a.model.shared.seed;
    let splits: Vec<Split> = match &a.splits {
        Some(path) => read_splits(path, &ds)?,
        None => (0..a.repeats)
            .map(|r| protocol::split(&ds, 0.2, seed.wrapping_add(r as u64)))
            .collect(),
    };
    if let Some(path) = &a.write_splits {
        write_splits(path, &ds, &splits)?;
    }
    let start = Instant::now();
    let sweep_splits = &splits[..a.sweep_repeats.min(splits.len())];
    let total = (splits.len() * (configs.len() + a.train_sizes.len())
        + a.sweep.len() * sweep_splits.len()) as u64;
    let pb = if a.json {
        ProgressBar::hidden()
    } else {
        report::progress(total, "protocol")
    };
    let tick = || pb.inc(1);
    let summaries = configs
        .iter()
        .map(|cfg| protocol::run_config(&ds, cfg, &splits, &tick))
        .collect::<Result<Vec<_>, _>>()?;
    let baseline: Vec<(Option<f64>, Option<f64>, f64)> = splits
        .iter()
        .map(|(tr, te)| protocol::mean_rule(&ds, tr, te, 100.min(max_w)))
        .collect();
    let mut sweep = Vec::new();
    for &w in &a.sweep {
        let mut c = TrainConfig::paper();
        c.preset = format!("paper@{w}");
        c.screen_windows = vec![w];
        c.forecast_windows = vec![w];
        c.seed = seed;
        sweep.push((w, protocol::run_config(&ds, &c, sweep_splits, &tick)?));
    }
    let by_size = sizes::by_train_size(&ds, &configs[0], &splits, &a.train_sizes, &tick)?;
    // The persistence baseline at the windows of the first configuration's forecasting stages.
    let persistence_windows = configs[0].forecast_windows.clone();
    let persistence_paths: Vec<Vec<RunPath>> = splits
        .iter()
        .map(|(tr, te)| {
            baseline::persistence_paths(&ds, tr, te, &persistence_windows, configs[0].level)
        })
        .collect::<Result<_, _>>()?;
    let persistence = SavingsSummary::at(&persistence_paths, bank_at)?;
    let persistence_curve = SavingsSummary::curve(&persistence_paths)?;
    pb.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let base_f1 = MeanStd::of(baseline.iter().map(|b| Some(b.2)));
    let base_p = MeanStd::of(baseline.iter().map(|b| b.0));
    let base_r = MeanStd::of(baseline.iter().map(|b| b.1));
    let honest = summaries
        .iter()
        .map(|s| s.honest(bank_at))
        .collect::<Result<Vec<_>, _>>()?;
    let curves = summaries
        .iter()
        .map(ConfigSummary::curve)
        .collect::<Result<Vec<_>, _>>()?;
    let mut named_curves: Vec<(&str, &[SavingsSummary])> = summaries
        .iter()
        .zip(&curves)
        .map(|(s, c)| (s.name.as_str(), c.as_slice()))
        .collect();
    named_curves.push(("persistence", &persistence_curve));
    if let Some(dir) = &a.plots {
        write_plots(dir, &summaries, &sweep, &named_curves, configs[0].level)?;
    }
    let n_irrelevant = ds.irrelevant.iter().filter(|x| **x).count();
    if a.json {
        return report::print_json(&Report {
            n: ds.len(),
            n_irrelevant,
            threshold: ds.threshold,
            repeats: splits.len(),
            seconds,
            mean_trace_len: ds.mean_len(&(0..ds.len()).collect::<Vec<_>>()),
            bank_at,
            configs: summaries
                .iter()
                .map(|s| SummaryJson::new(s, bank_at))
                .collect::<AnyResult<_>>()?,
            mean_rule: MeanRule {
                precision: base_p.map(|m| m.mean),
                recall: base_r.map(|m| m.mean),
                f1: base_f1.map(|m| m.mean),
            },
            persistence: PersistenceJson {
                windows: &persistence_windows,
                honest: &persistence,
                curve: &persistence_curve,
            },
            sweep: sweep
                .iter()
                .map(|(window, s)| {
                    Ok(SweepPoint {
                        window: *window,
                        summary: SummaryJson::new(s, bank_at)?,
                    })
                })
                .collect::<AnyResult<_>>()?,
            train_sizes: &by_size,
        });
    }
    println!(
        "{} traces ({n_irrelevant} irrelevant at threshold {}), {} repeats of an 80/20 split, {seconds:.1} s",
        ds.len(),
        ds.threshold,
        splits.len(),
    );
    let level = fixed(Some(configs[0].level * 100.0), 0);
    print_honest_rule(bank_at, Some(configs[0].level * 100.0));
    let mut rows: Vec<(&str, &SavingsSummary, Option<MeanStd>)> = summaries
        .iter()
        .zip(&honest)
        .map(|(s, h)| (s.name.as_str(), h, s.precision))
        .collect();
    rows.push(("persistence", &persistence, None));
    print_honest_table(&rows);
    println!(
        "compute saved against the tolerance t (a run stops at its halt or at its first forecast \
         whose {level}% interval is within ±t; persistence: the run's own window mean at {} frames, \
         its interval calibrated on the training split):",
        persistence_windows
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/")
    );
    print_curve(&named_curves);
    println!("held-out metrics, mean ± std over repeats (precision/recall/F1 of halting; frames = mean frames to decision):");
    print_summary_table(&summaries);
    println!(
        "one-line rule (halt when the mean of the first 100 frames lies past an F1-tuned cut): precision {}  recall {}  F1 {}",
        report::mean_std(&base_p),
        report::mean_std(&base_r),
        report::mean_std(&base_f1)
    );
    if let Some(first) = summaries.first().filter(|s| !s.windows.is_empty()) {
        println!(
            "{}'s forecasting windows against the persistence baseline (a run's own window mean as \
             mu, mean ∓ sd as mu∓sigma, a split-conformal {level}% interval on |ln mu - ln mean| \
             from the relevant training runs), mean over splits:",
            first.name
        );
        print_windows(&first.name, &first.windows);
    }
    if !sweep.is_empty() {
        println!(
            "window sweep (paper recipe, {} repeats per window):",
            sweep_splits.len()
        );
        print_summary_table(&sweep.iter().map(|s| s.1.clone()).collect::<Vec<_>>());
    }
    if !by_size.is_empty() {
        print_train_sizes(&configs[0].preset, &by_size);
    }
    for s in &summaries {
        if let Some(first) = s.stages.first() {
            println!("{} (first repeat):", s.name);
            print_stage_reports(first);
        }
    }
    Ok(())
}

/// Held-out halting per training size: the joint rule beside the stages' own cuts.
fn print_train_sizes(name: &str, by_size: &[SizeSummary]) {
    println!(
        "{name} trained on subsets of each split's training part, replayed on its test part: \
         halting with one risk budget over all halting windows (Clopper-Pearson, {:.0}% \
         confidence), and with each stage's own cut:",
        100.0 * simforecast_train::risk::CONFIDENCE
    );
    println!(
        "{:>6} {:>8} {:>9} {:>14} {:>14} {:>11} | {:>14} {:>14} {:>11}",
        "runs",
        "trained",
        "certified",
        "precision",
        "recall",
        "wrong/split",
        "own precision",
        "own recall",
        "wrong/split"
    );
    for s in by_size {
        let trained = MeanStd::of(s.splits.iter().map(|x| Some(x.trained_on as f64)));
        println!(
            "{:>6} {:>8} {:>9} {:>14} {:>14} {:>11.2} | {:>14} {:>14} {:>11.2}",
            s.size,
            fixed(trained.map(|t| t.mean), 0),
            format!("{:.0}%", 100.0 * s.certified_share),
            report::mean_std(&s.precision),
            report::mean_std(&s.recall),
            s.wrong_per_split,
            report::mean_std(&s.own_precision),
            report::mean_std(&s.own_recall),
            s.own_wrong_per_split
        );
    }
}

fn write_plots(
    dir: &Path,
    summaries: &[ConfigSummary],
    sweep: &[(usize, ConfigSummary)],
    curves: &[(&str, &[SavingsSummary])],
    level: f64,
) -> AnyResult<()> {
    std::fs::create_dir_all(dir)?;
    plots::honest_curve(
        &dir.join("honest_curve.svg"),
        "compute saved at tolerance t (held out, mean over splits)",
        curves,
        level,
    )?;
    if !sweep.is_empty() {
        plots::window_sweep(
            &dir.join("window_sweep.svg"),
            "paper recipe: metrics vs window",
            sweep,
        )?;
    }
    for s in summaries {
        plots::regression(
            &dir.join(format!("regression_{}.svg", s.name)),
            &s.name,
            &s.regression_points,
        )?;
    }
    Ok(())
}

fn write_splits(path: &Path, ds: &Dataset, splits: &[Split]) -> AnyResult<()> {
    let names = |idx: &[usize]| idx.iter().map(|&i| ds.names[i].clone()).collect();
    let v: Vec<SplitNames> = splits
        .iter()
        .map(|(tr, te)| SplitNames {
            train: names(tr),
            test: names(te),
        })
        .collect();
    std::fs::write(path, serde_json::to_string(&v)?)?;
    Ok(())
}

fn read_splits(path: &Path, ds: &Dataset) -> AnyResult<Vec<Split>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read split file {}: {e}", path.display()))?;
    let v: Vec<SplitNames> = serde_json::from_str(&text).map_err(|e| {
        format!(
            "split file {}: {e} (expected [{{\"train\": [names], \"test\": [names]}}, ...])",
            path.display()
        )
    })?;
    let index = |name: &String| -> AnyResult<usize> {
        ds.names.iter().position(|x| x == name).ok_or_else(|| {
            format!(
                "split file {} names trace '{name}', not among the traces",
                path.display()
            )
            .into()
        })
    };
    v.iter()
        .map(|s| {
            let part = |names: &[String]| names.iter().map(index).collect::<AnyResult<Vec<_>>>();
            Ok((part(&s.train)?, part(&s.test)?))
        })
        .collect()
}
