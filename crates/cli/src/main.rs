//! `simforecast`: train, evaluate and inspect models that forecast LAMMPS NEMD runs from their
//! first frames, and replay a trace to see what the LAMMPS fix would decide.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use simforecast_runtime::knn::Weighting;
use simforecast_runtime::model::{Direction, Model};
use simforecast_runtime::stage::{ScoreKind, Verdict};
use simforecast_train::protocol::{self, ConfigSummary};
use simforecast_train::trace::{self, Column};
use simforecast_train::{self as train, plots, Dataset, StageReport, TrainConfig};

#[derive(Parser)]
#[command(
    name = "simforecast",
    version,
    about = "Forecast LAMMPS NEMD runs from their first frames and stop doomed ones early",
    long_about = "Forecast LAMMPS NEMD runs from their first frames and stop doomed ones early.\n\n\
A run's result is the mean mu and standard deviation sigma of the last --tail frames of its trace \
(e.g. the viscosity written by `fix ave/time`). A run is irrelevant when mu is above --threshold \
(or below it with --below). A model screens runs early (halts irrelevant ones) and forecasts \
mu-sigma, mu+sigma and an interval for mu for the others.\n\n\
Typical workflow:\n  \
simforecast protocol data/nemd-wide-public/traces --threshold 33.1   # how well can it work here?\n  \
simforecast train data/nemd-wide-public/traces --threshold 33.1 -o wide.sfm\n  \
simforecast inspect wide.sfm\n  \
simforecast predict --model wide.sfm my_run.dat                     # what the fix would do\n\n\
TRACES are files, directories (every trace file inside) or quoted globs of LAMMPS `fix ave/time` \
files or log.lammps files. Set RUST_LOG=debug for more detail."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on traces and write it to a file; prints the cross-validation summary.
    Train(TrainArgs),
    /// Evaluate a model on held-out traces.
    Evaluate(EvaluateArgs),
    /// The paper's protocol: repeated 80/20 splits, window sweep, comparison of presets, plots.
    Protocol(ProtocolArgs),
    /// Show the model card of a model file.
    Inspect(InspectArgs),
    /// Replay one trace frame by frame and show what the LAMMPS fix would decide, and when.
    Predict(PredictArgs),
}

#[derive(Args, Clone)]
struct DataArgs {
    /// Trace files, directories or globs.
    #[arg(required = true)]
    traces: Vec<String>,
    /// Column to read: a name from the file header (e.g. v_eta, or a thermo keyword for logs)
    /// or a 0-based index among the value columns.
    #[arg(long, default_value = "0")]
    column: String,
    /// Frames at the end of a trace over which mu and sigma are taken.
    #[arg(long, default_value_t = 1000)]
    tail: usize,
}

#[derive(Args, Clone)]
struct LabelArgs {
    /// A run is irrelevant when its mu is above this (below with --below).
    #[arg(long)]
    threshold: f64,
    /// Irrelevant when mu is below the threshold (for observables where low is bad).
    #[arg(long)]
    below: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Preset {
    /// Calibrated halting, conformal intervals, OOD guard, stages at several windows.
    Default,
    /// The published recipe: screen at 100 frames, forecast at 150, majority vote halts.
    Paper,
    /// The default's calibrated decisions at the paper's fixed windows (screen 100, forecast 150).
    Fixed,
    /// The adaptive rule at about the paper's risk: halts at 100/150 frames at out-of-fold
    /// precision 0.6, forecasts by 150 frames.
    Eager,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum ScoreArg {
    Vote,
    Margin,
    ScaledMargin,
}

#[derive(Args, Clone)]
struct ModelArgs {
    /// Starting configuration; the options below override it.
    #[arg(long, value_enum, default_value = "default")]
    preset: Preset,
    /// Windows (frames) of the screening stages, comma separated.
    #[arg(long, value_delimiter = ',')]
    screen_windows: Option<Vec<usize>>,
    /// Windows (frames) of the forecasting stages, comma separated.
    #[arg(long, value_delimiter = ',')]
    forecast_windows: Option<Vec<usize>>,
    /// Candidate numbers of neighbours for the grid search.
    #[arg(long, value_delimiter = ',')]
    k_grid: Option<Vec<usize>>,
    /// Candidate Minkowski powers (1 = Manhattan, 2 = Euclidean).
    #[arg(long, value_delimiter = ',')]
    powers: Option<Vec<f64>>,
    /// Cross-validation folds.
    #[arg(long)]
    folds: Option<usize>,
    /// Halting precision a screening stage must reach out of fold, else it is advisory.
    #[arg(long)]
    target_precision: Option<f64>,
    /// Screening windows allowed to halt, comma separated (default: the preset's; the other
    /// screening stages only clear runs as relevant early and log their verdict).
    #[arg(long, value_delimiter = ',')]
    halt_windows: Option<Vec<usize>>,
    /// Lowest vote a halting cut may take.
    #[arg(long)]
    min_cut: Option<f64>,
    /// What screening stages score runs by: `vote` (share of irrelevant neighbours, the paper),
    /// `margin` or `scaled-margin` (neighbours' ln mu beyond ln threshold, scaled by their spread).
    #[arg(long, value_enum)]
    screen_score: Option<ScoreArg>,
    /// Fewest true out-of-fold halts a cut needs.
    #[arg(long)]
    min_halts: Option<usize>,
    /// Largest share of irrelevant runs among those cleared early as relevant (0 = never clear
    /// early).
    #[arg(long)]
    early_miss: Option<f64>,
    /// Nominal coverage of the forecast interval for mu.
    #[arg(long)]
    level: Option<f64>,
    /// Forecast early when the interval's relative width is at most this.
    #[arg(long)]
    tolerance: Option<f64>,
    /// Frames by which a run cleared as relevant gets its forecast even when no interval was
    /// within tolerance (0 = the last forecasting window).
    #[arg(long)]
    forecast_by: Option<usize>,
    /// Fraction of variance the FPCA components keep (disables the component grid).
    #[arg(long)]
    variance: Option<f64>,
    /// Seed of every random choice (folds, splits).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl ModelArgs {
    fn config(&self) -> TrainConfig {
        let mut c = match self.preset {
            Preset::Default => TrainConfig::default_calibrated(),
            Preset::Paper => TrainConfig::paper(),
            Preset::Fixed => TrainConfig::fixed_windows(),
            Preset::Eager => TrainConfig::eager(),
        };
        if let Some(v) = &self.screen_windows {
            c.screen_windows = v.clone();
        }
        if let Some(v) = &self.forecast_windows {
            c.forecast_windows = v.clone();
        }
        if let Some(v) = &self.k_grid {
            c.k_grid = v.clone();
        }
        if let Some(v) = &self.powers {
            c.power_grid = v.clone();
        }
        if let Some(v) = self.folds {
            c.folds = v;
        }
        if let Some(v) = self.target_precision {
            c.target_precision = v;
        }
        if let Some(v) = &self.halt_windows {
            c.halt_windows = v.clone();
        }
        if let Some(v) = self.min_cut {
            c.min_cut = v;
        }
        if let Some(v) = self.screen_score {
            c.screen_score = match v {
                ScoreArg::Vote => ScoreKind::Vote,
                ScoreArg::Margin => ScoreKind::Margin,
                ScoreArg::ScaledMargin => ScoreKind::ScaledMargin,
            };
        }
        if let Some(v) = self.min_halts {
            c.min_halts = v;
        }
        if let Some(v) = self.early_miss {
            c.max_early_miss = v;
        }
        if let Some(v) = self.level {
            c.level = v;
        }
        if let Some(v) = self.tolerance {
            c.tolerance = Some(v);
        }
        if let Some(v) = self.forecast_by {
            c.forecast_deadline = (v > 0).then_some(v);
        }
        if let Some(v) = self.variance {
            c.recipe.components = simforecast_runtime::fpca::ComponentRule::VarianceFraction(v);
            c.component_grid.clear();
        }
        c.seed = self.seed;
        c
    }
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    label: LabelArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Output model file.
    #[arg(short, long)]
    output: PathBuf,
    /// Units of the input column, recorded in the model (e.g. "epsilon*tau/sigma^3").
    #[arg(long)]
    units: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct EvaluateArgs {
    /// Model file.
    #[arg(long)]
    model: PathBuf,
    /// Held-out trace files, directories or globs.
    #[arg(required = true)]
    traces: Vec<String>,
    /// Column to read (default: the model's).
    #[arg(long)]
    column: Option<String>,
    /// Print the metrics as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ProtocolArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    label: LabelArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Random 80/20 splits.
    #[arg(long, default_value_t = 20)]
    repeats: usize,
    /// Configurations to compare: the chosen --preset (with overrides) and these presets.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "paper,fixed,eager,default"
    )]
    compare: Vec<Preset>,
    /// Windows of the window sweep (paper recipe, one screening and one forecasting stage at
    /// each window); empty to skip.
    #[arg(long, value_delimiter = ',', default_value = "25,50,100,150,200,300")]
    sweep: Vec<usize>,
    /// Skip the window sweep.
    #[arg(long)]
    no_sweep: bool,
    /// Repeats per window of the sweep.
    #[arg(long, default_value_t = 5)]
    sweep_repeats: usize,
    /// Use the splits in this JSON file ([{"train": [names], "test": [names]}, ...]).
    #[arg(long)]
    splits: Option<PathBuf>,
    /// Write the splits used to this JSON file.
    #[arg(long)]
    write_splits: Option<PathBuf>,
    /// Directory for the SVG plots.
    #[arg(long)]
    plots: Option<PathBuf>,
    /// Print everything as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct InspectArgs {
    /// Model file.
    model: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct PredictArgs {
    /// Model file.
    #[arg(long)]
    model: PathBuf,
    /// One trace file.
    trace: String,
    /// Column to read (default: the model's).
    #[arg(long)]
    column: Option<String>,
    #[arg(long)]
    json: bool,
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => cmd_train(a),
        Command::Evaluate(a) => cmd_evaluate(a),
        Command::Protocol(a) => cmd_protocol(a),
        Command::Inspect(a) => cmd_inspect(a),
        Command::Predict(a) => cmd_predict(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("simforecast: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads traces and labels them; rejected traces are reported, never silently dropped.
fn load_dataset(data: &DataArgs, label: &LabelArgs, min_len: usize) -> AnyResult<Dataset> {
    let column: Column = data.column.parse()?;
    let set = trace::load_traces(&data.traces, &column, min_len.max(data.tail))?;
    if !set.rejected.is_empty() {
        eprintln!(
            "simforecast: {} trace(s) not used (need {} finite frames):",
            set.rejected.len(),
            min_len.max(data.tail)
        );
        for r in set.rejected.iter().take(10) {
            eprintln!("  {r}");
        }
        if set.rejected.len() > 10 {
            eprintln!("  ... and {} more", set.rejected.len() - 10);
        }
    }
    let names = set.traces.iter().map(|t| t.name.clone()).collect();
    let series = set.traces.into_iter().map(|t| t.values).collect();
    let direction = if label.below {
        Direction::Below
    } else {
        Direction::Above
    };
    Ok(Dataset::new(
        names,
        series,
        label.threshold,
        direction,
        data.tail,
        set.spacing,
        set.column,
    )?)
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>24} [{bar:30}] {pos}/{len} {elapsed_precise}")
            .unwrap()
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// A figure, or "n/a" when absent or undefined.
fn fmt_opt(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or("n/a".into(), |x| format!("{x:.3}"))
}

fn print_stage_reports(reports: &[StageReport]) {
    println!(
        "{:>9} {:>6} {:>4} {:>3} {:>9} {:>5} {:>6} {:>6} {:>6} {:>6} {:>9}",
        "stage",
        "window",
        "k",
        "p",
        "weights",
        "feat",
        "F1maj",
        "prec",
        "recall",
        "cut",
        "R2 lo/hi"
    );
    for r in reports {
        let r2 = r.cv_r2.map_or("".into(), |v| {
            let r2 = |x: Option<f64>| x.map_or("n/a".into(), |x| format!("{x:.2}"));
            format!("{}/{}", r2(v[0]), r2(v[1]))
        });
        println!(
            "{:>9} {:>6} {:>4} {:>3} {:>9} {:>5} {:>6} {:>6} {:>6} {:>6} {:>9}",
            r.role.to_string(),
            r.window,
            r.k,
            r.power,
            match r.weighting {
                Weighting::Uniform => "uniform",
                Weighting::Distance => "distance",
            },
            r.n_features,
            fmt_opt(r.cv_f1_majority),
            fmt_opt(r.cv_precision),
            fmt_opt(r.cv_recall),
            fmt_opt(r.cut),
            r2
        );
    }
    for r in reports {
        println!("  {} @ {}: {}", r.role, r.window, r.verdict);
    }
}

fn cmd_train(a: TrainArgs) -> AnyResult<()> {
    let cfg = a.model.config();
    let ds = load_dataset(&a.data, &a.label, cfg.max_window())?;
    let idx: Vec<usize> = (0..ds.len()).collect();
    let start = std::time::Instant::now();
    let (mut model, reports) = train::fit_model(&ds, &idx, &cfg)?;
    model.meta.units = a.units.clone();
    model.save(&a.output)?;
    let secs = start.elapsed().as_secs_f64();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "model": a.output, "n": ds.len(), "seconds": secs, "stages": reports,
                "metadata": model.meta,
            }))?
        );
    } else {
        println!(
            "trained on {} traces ({} irrelevant, threshold {}) in {:.2} s; {}-fold CV:",
            ds.len(),
            model.meta.n_irrelevant,
            ds.threshold,
            secs,
            cfg.folds
        );
        print_stage_reports(&reports);
        println!("model written to {}", a.output.display());
    }
    Ok(())
}

fn load_model(path: &Path) -> AnyResult<Arc<Model>> {
    Ok(Arc::new(Model::load(path)?))
}

/// Loads traces for a model: its column (unless overridden), checking the frame spacing.
fn load_for_model(model: &Model, inputs: &[String], column: Option<&String>) -> AnyResult<Dataset> {
    let col: Column = column.unwrap_or(&model.meta.column).parse()?;
    let min_len = model.max_window().max(model.meta.tail);
    let data = DataArgs {
        traces: inputs.to_vec(),
        column: col.to_string(),
        tail: model.meta.tail,
    };
    let label = LabelArgs {
        threshold: model.meta.threshold,
        below: model.meta.direction == Direction::Below,
    };
    let ds = load_dataset(&data, &label, min_len)?;
    if ds.frame_spacing != model.meta.frame_spacing {
        return Err(format!(
            "the traces have one frame every {} steps, the model was trained on one every {}: \
             sample your input every {} steps (or retrain)",
            ds.frame_spacing, model.meta.frame_spacing, model.meta.frame_spacing
        )
        .into());
    }
    Ok(ds)
}

fn cmd_evaluate(a: EvaluateArgs) -> AnyResult<()> {
    let model = load_model(&a.model)?;
    let ds = load_for_model(&model, &a.traces, a.column.as_ref())?;
    let idx: Vec<usize> = (0..ds.len()).collect();
    let (m, _) = protocol::evaluate(&model, &ds, &idx)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&metrics_json(&m))?);
    } else {
        println!(
            "{} held-out traces ({} irrelevant): {} halted ({} wrongly)",
            m.n, m.n_irrelevant, m.halts, m.false_halts
        );
        println!(
            "halting precision {}  recall {}  F1 {}",
            fmt_opt(m.precision),
            fmt_opt(m.recall),
            fmt_opt(Some(m.f1))
        );
        println!(
            "forecast R2 mu-sigma {}  mu+sigma {}; {:.0}% interval covers {} of mu (mean width {})",
            fmt_opt(m.r2[0]),
            fmt_opt(m.r2[1]),
            model.card().decisions.level.map_or(f64::NAN, |l| l * 100.0),
            fmt_opt(m.coverage),
            fmt_opt(m.interval_width)
        );
        println!(
            "mean frames to decision {:.1}; compute saved {:.1}x; out of distribution: {}",
            m.mean_frames_to_decision, m.compute_saved, m.ood
        );
    }
    Ok(())
}

/// JSON fields scripts rely on (`n`, `recall`, `precision`, `f1`, `r2`, ...); absent is null.
fn metrics_json(m: &protocol::Metrics) -> serde_json::Value {
    let f = |x: Option<f64>| json!(x.filter(|x| x.is_finite()));
    json!({
        "n": m.n,
        "n_irrelevant": m.n_irrelevant,
        "precision": f(m.precision),
        "recall": f(m.recall),
        "f1": f(Some(m.f1)),
        "r2": [f(m.r2[0]), f(m.r2[1])],
        "r2_all_relevant": [f(m.r2_all[0]), f(m.r2_all[1])],
        "forecast_share": f(Some(m.forecast_share)),
        "coverage": f(m.coverage),
        "interval_width": f(m.interval_width),
        "halts": m.halts,
        "false_halts": m.false_halts,
        "confusion": m.confusion,
        "mean_frames_to_decision": f(Some(m.mean_frames_to_decision)),
        "compute_saved": f(Some(m.compute_saved)),
        "ood": m.ood,
    })
}

fn summary_json(s: &ConfigSummary) -> serde_json::Value {
    let ms = |m: &Option<protocol::MeanStd>| json!(m);
    json!({
        "name": s.name,
        "precision": ms(&s.precision), "recall": ms(&s.recall), "f1": ms(&s.f1),
        "r2": [ms(&s.r2_lower), ms(&s.r2_upper)],
        "r2_all_relevant": [ms(&s.r2_all_lower), ms(&s.r2_all_upper)],
        "forecast_share": ms(&s.forecast_share),
        "coverage": ms(&s.coverage), "interval_width": ms(&s.interval_width),
        "halts": ms(&s.halts), "false_halts": ms(&s.false_halts),
        "mean_frames_to_decision": ms(&s.mean_frames_to_decision),
        "compute_saved": ms(&s.compute_saved),
        "confusion": s.confusion,
        "stages": s.stages.first(),
    })
}

fn print_summary_table(rows: &[ConfigSummary]) {
    println!(
        "{:<12} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>8} {:>9}",
        "config",
        "precision",
        "recall",
        "F1",
        "R2 mu-sigma",
        "R2 mu+sigma",
        "R2all mu-sig",
        "R2all mu+sig",
        "coverage",
        "width",
        "frames",
        "saved",
        "bad halts"
    );
    for s in rows {
        let cell = protocol::MeanStd::cell;
        let mean = |m: Option<protocol::MeanStd>, digits: usize| {
            m.map_or("n/a".into(), |m| format!("{:.digits$}", m.mean))
        };
        println!(
            "{:<12} {} {} {} {} {} {} {} {} {} {} {:>7}x {:>9}",
            s.name,
            cell(s.precision),
            cell(s.recall),
            cell(s.f1),
            cell(s.r2_lower),
            cell(s.r2_upper),
            cell(s.r2_all_lower),
            cell(s.r2_all_upper),
            cell(s.coverage),
            cell(s.interval_width),
            cell(s.mean_frames_to_decision),
            mean(s.compute_saved, 1),
            mean(s.false_halts, 2)
        );
    }
    println!(
        "(R2, coverage and width of the interval for mu: runs the tool forecast; R2all: the forecasting stage at the deadline, else the last, on every relevant run, the paper's metric)"
    );
}

fn cmd_protocol(mut a: ProtocolArgs) -> AnyResult<()> {
    if a.no_sweep {
        a.sweep.clear();
    }
    let main_cfg = a.model.config();
    let mut configs = vec![main_cfg.clone()];
    for p in &a.compare {
        let args = ModelArgs {
            preset: *p,
            ..a.model.clone()
        };
        let c = ModelArgs {
            screen_windows: None,
            forecast_windows: None,
            k_grid: None,
            powers: None,
            target_precision: None,
            tolerance: None,
            forecast_by: None,
            variance: None,
            halt_windows: None,
            min_cut: None,
            screen_score: None,
            min_halts: None,
            early_miss: None,
            ..args
        }
        .config();
        if !configs.iter().any(|x| x == &c) {
            configs.push(c);
        }
    }
    let max_w = configs
        .iter()
        .map(TrainConfig::max_window)
        .chain(a.sweep.iter().copied())
        .max()
        .unwrap_or(0);
    let ds = load_dataset(&a.data, &a.label, max_w)?;
    let splits: Vec<(Vec<usize>, Vec<usize>)> = match &a.splits {
        Some(path) => read_splits(path, &ds)?,
        None => (0..a.repeats)
            .map(|r| protocol::split(&ds, 0.2, a.model.seed.wrapping_add(r as u64)))
            .collect(),
    };
    if let Some(path) = &a.write_splits {
        let v: Vec<_> = splits
            .iter()
            .map(|(tr, te)| {
                json!({"train": tr.iter().map(|&i| &ds.names[i]).collect::<Vec<_>>(),
                       "test": te.iter().map(|&i| &ds.names[i]).collect::<Vec<_>>()})
            })
            .collect();
        std::fs::write(path, serde_json::to_string(&v)?)?;
    }
    let start = std::time::Instant::now();
    let total =
        (splits.len() * configs.len() + a.sweep.len() * a.sweep_repeats.min(splits.len())) as u64;
    let pb = if a.json {
        ProgressBar::hidden()
    } else {
        progress(total, "protocol")
    };
    let tick = || pb.inc(1);
    let mut summaries = Vec::new();
    for cfg in &configs {
        summaries.push(protocol::run_config(&ds, cfg, &splits, &tick)?);
    }
    let baseline: Vec<(Option<f64>, Option<f64>, f64)> = splits
        .iter()
        .map(|(tr, te)| protocol::mean_rule(&ds, tr, te, 100.min(max_w)))
        .collect();
    let mut sweep = Vec::new();
    let sweep_splits = &splits[..a.sweep_repeats.min(splits.len())];
    for &w in &a.sweep {
        let mut c = TrainConfig::paper();
        c.preset = format!("paper@{w}");
        c.screen_windows = vec![w];
        c.forecast_windows = vec![w];
        c.seed = a.model.seed;
        sweep.push((w, protocol::run_config(&ds, &c, sweep_splits, &tick)?));
    }
    pb.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let base = protocol::MeanStd::of(baseline.iter().map(|b| Some(b.2)));
    let base_p = protocol::MeanStd::of(baseline.iter().map(|b| b.0));
    let base_r = protocol::MeanStd::of(baseline.iter().map(|b| b.1));
    if let Some(dir) = &a.plots {
        std::fs::create_dir_all(dir)?;
        if !sweep.is_empty() {
            plots::window_sweep(
                &dir.join("window_sweep.svg"),
                "paper recipe: metrics vs window",
                &sweep,
            )?;
        }
        for s in &summaries {
            plots::regression(
                &dir.join(format!("regression_{}.svg", s.name)),
                &s.name,
                &s.regression_points,
            )?;
        }
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "n": ds.len(), "n_irrelevant": ds.irrelevant.iter().filter(|x| **x).count(),
                "threshold": ds.threshold, "repeats": splits.len(), "seconds": secs,
                "mean_trace_len": ds.mean_len(&(0..ds.len()).collect::<Vec<_>>()),
                "configs": summaries.iter().map(summary_json).collect::<Vec<_>>(),
                "mean_rule": {"precision": base_p.map(|m| m.mean), "recall": base_r.map(|m| m.mean), "f1": base.map(|m| m.mean)},
                "sweep": sweep.iter().map(|(w, s)| json!({"window": w, "summary": summary_json(s)})).collect::<Vec<_>>(),
            }))?
        );
        return Ok(());
    }
    println!(
        "{} traces ({} irrelevant at threshold {}), {} repeats of an 80/20 split, {:.1} s",
        ds.len(),
        ds.irrelevant.iter().filter(|x| **x).count(),
        ds.threshold,
        splits.len(),
        secs
    );
    println!("held-out metrics, mean ± std over repeats (precision/recall/F1 of halting; frames = mean frames to decision):");
    print_summary_table(&summaries);
    println!(
        "one-line rule (halt when the mean of the first 100 frames exceeds an F1-tuned cut): precision {}  recall {}  F1 {}",
        protocol::MeanStd::cell(base_p),
        protocol::MeanStd::cell(base_r),
        protocol::MeanStd::cell(base)
    );
    if !sweep.is_empty() {
        println!(
            "window sweep (paper recipe, {} repeats per window):",
            sweep_splits.len()
        );
        print_summary_table(&sweep.iter().map(|s| s.1.clone()).collect::<Vec<_>>());
    }
    for s in &summaries {
        if let Some(first) = s.stages.first() {
            println!("{} (first repeat):", s.name);
            print_stage_reports(first);
        }
    }
    Ok(())
}

fn read_splits(path: &Path, ds: &Dataset) -> AnyResult<Vec<(Vec<usize>, Vec<usize>)>> {
    let v: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let index = |name: &serde_json::Value| -> AnyResult<usize> {
        let n = name.as_str().ok_or("split names must be strings")?;
        ds.names.iter().position(|x| x == n).ok_or_else(|| {
            format!(
                "split file {} names trace '{n}', not among the traces",
                path.display()
            )
            .into()
        })
    };
    v.iter()
        .map(|s| {
            let part = |k: &str| -> AnyResult<Vec<usize>> {
                s[k].as_array()
                    .ok_or_else(|| format!("split without '{k}' list"))?
                    .iter()
                    .map(index)
                    .collect()
            };
            Ok((part("train")?, part("test")?))
        })
        .collect()
}

fn cmd_inspect(a: InspectArgs) -> AnyResult<()> {
    let model = load_model(&a.model)?;
    let card = model.card();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&card)?);
    } else {
        println!("model file {}", a.model.display());
        println!("{card}");
    }
    Ok(())
}

fn cmd_predict(a: PredictArgs) -> AnyResult<()> {
    let model = load_model(&a.model)?;
    let col: Column = a.column.as_ref().unwrap_or(&model.meta.column).parse()?;
    let traces = trace::read_traces(Path::new(&a.trace), &col)?;
    let t = match traces.as_slice() {
        [t] => t,
        [] => return Err(format!("{} holds no trace", a.trace).into()),
        _ => {
            return Err(format!(
                "{} holds {} traces (a log with several runs?): predict takes one",
                a.trace,
                traces.len()
            )
            .into())
        }
    };
    if let Some(s) = t.spacing() {
        if s != model.meta.frame_spacing {
            return Err(format!(
                "{} has one frame every {s} steps, the model expects one every {}",
                a.trace, model.meta.frame_spacing
            )
            .into());
        }
    }
    let (events, outcome) = protocol::replay(&model, &t.name, &t.values)?;
    if a.json {
        let ev: Vec<_> = events
            .iter()
            .map(|e| {
                let step = t.steps.get(e.frame as usize - 1).copied();
                json!({"frame": e.frame, "step": step, "screen": e.screen, "forecast": e.forecast, "halt": e.halt()})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "trace": t.name, "frames": t.values.len(), "events": ev,
                "halt_frame": outcome.halt_frame, "forecast_frame": outcome.forecast_frame,
                "forecast": outcome.forecast, "frames_used": outcome.frames_used,
                "actual": outcome.actual,
            }))?
        );
        return Ok(());
    }
    println!("{}: {} frames", t.name, t.values.len());
    for e in &events {
        let step = t.steps.get(e.frame as usize - 1).copied().unwrap_or(0);
        if let Some(s) = &e.screen {
            let what = match s.verdict {
                Verdict::Irrelevant if s.halt => "IRRELEVANT -> halt".to_string(),
                Verdict::Irrelevant => "irrelevant (advisory, no halt)".to_string(),
                Verdict::Relevant => "relevant".to_string(),
                Verdict::Unsure if s.ood => {
                    "unsure: out of distribution, refuses to act".to_string()
                }
                Verdict::Unsure => "unsure, keep collecting".to_string(),
            };
            let cut = s.cut.map_or("none".into(), |c| format!("{c:.3}"));
            println!(
                "  frame {:>5} (step {step}): screen stage {}: vote {:.3}, score {:.3} (cut {cut}): {what}",
                e.frame, s.stage, s.vote, s.score
            );
        }
        if let Some(f) = &e.forecast {
            println!(
                "  frame {:>5} (step {step}): forecast: mu-sigma {:.4}, mu+sigma {:.4}; mu in [{:.4}, {:.4}] ({:.0}%){}{}",
                e.frame, f.mu_minus_sigma, f.mu_plus_sigma, f.mu_low, f.mu_high, f.level * 100.0,
                if f.confident { "" } else { " (not within tolerance)" },
                if f.ood { " OUT OF DISTRIBUTION" } else { "" }
            );
        }
    }
    if let Some(actual) = outcome.actual {
        println!(
            "  actual (last {} frames): mu {:.4}, sigma {:.4} -> {}",
            model.meta.tail,
            actual.mu,
            actual.sigma,
            if actual.irrelevant {
                "irrelevant"
            } else {
                "relevant"
            }
        );
    }
    println!(
        "  frames needed with the fix: {} of {}",
        outcome.frames_used,
        t.values.len()
    );
    Ok(())
}
