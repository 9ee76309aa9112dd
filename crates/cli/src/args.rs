//! The command line: one struct per command, and the option groups several commands share
//! (`DataArgs`, `LabelArgs`, `ModelArgs`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use simforecast_runtime::convergence::Equilibration;
use simforecast_runtime::model::Direction;
use simforecast_runtime::stage::ScoreKind;
use simforecast_train::{Deadline, Overrides, TrainParams};

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
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
    /// No model: stop each run where its own statistics say its mean is known within tolerance,
    /// and check those stops against the runs' ends (is this campaign safe to stop that way?).
    Convergence(ConvergenceArgs),
    /// Campaign mode: a directory shared by the campaign's runs that learns while it runs.
    #[command(subcommand)]
    Campaign(CampaignCommand),
}

#[derive(Args, Clone)]
pub struct DataArgs {
    /// Trace files, directories or globs.
    #[arg(required = true)]
    pub traces: Vec<String>,
    /// Column to read: a name from the file header (e.g. v_eta, or a thermo keyword for logs),
    /// a 0-based index among the value columns, or auto: the only value column, else the only
    /// one named like a viscosity (eta, visc...); several candidates are an error listing them.
    #[arg(long, default_value = "auto")]
    pub column: String,
    /// Frames at the end of a trace over which mu and sigma are taken.
    #[arg(long, default_value_t = 1000)]
    pub tail: usize,
}

#[derive(Args, Clone)]
pub struct LabelArgs {
    /// A run is irrelevant when its mu is above this (below with --below).
    // A threshold may be negative (-1.0, -2.5e-3): a value, never an option. A value that is
    // no number, such as `--below`, is refused by the f64 parser, naming it.
    #[arg(long, allow_hyphen_values = true)]
    pub threshold: f64,
    /// Irrelevant when mu is below the threshold (for observables where low is bad).
    #[arg(long)]
    pub below: bool,
}

impl LabelArgs {
    pub fn direction(&self) -> Direction {
        if self.below {
            Direction::Below
        } else {
            Direction::Above
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum Preset {
    /// Calibrated halting, conformal intervals, OOD guard, stages at several windows.
    Default,
    /// The published recipe: screen at 100 frames, forecast at 150, majority vote halts.
    Paper,
    /// The default's calibrated decisions at the paper's fixed windows (screen 100, forecast 150).
    Fixed,
    /// The adaptive rule at about the paper's risk: halts at 100/150 frames at out-of-fold
    /// precision 0.55 (certified over both windows together), forecasts by 150 frames.
    Eager,
}

impl From<Preset> for simforecast_train::Preset {
    fn from(p: Preset) -> Self {
        match p {
            Preset::Default => Self::Default,
            Preset::Paper => Self::Paper,
            Preset::Fixed => Self::Fixed,
            Preset::Eager => Self::Eager,
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum ScoreArg {
    Vote,
    Margin,
    ScaledMargin,
}

impl From<ScoreArg> for ScoreKind {
    fn from(s: ScoreArg) -> Self {
        match s {
            ScoreArg::Vote => ScoreKind::Vote,
            ScoreArg::Margin => ScoreKind::Margin,
            ScoreArg::ScaledMargin => ScoreKind::ScaledMargin,
        }
    }
}

/// A preset, the options that change its recipe, and the options every compared configuration
/// shares (`protocol --compare` runs the other presets with the shared options only).
#[derive(Args, Clone)]
pub struct ModelArgs {
    /// Starting configuration; the options below override it.
    #[arg(long, value_enum, default_value = "default")]
    pub preset: Preset,
    #[command(flatten)]
    pub recipe: RecipeArgs,
    #[command(flatten)]
    pub shared: SharedArgs,
}

/// Overrides of the preset's recipe.
#[derive(Args, Clone)]
pub struct RecipeArgs {
    /// Windows (frames) of the screening stages, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub screen_windows: Option<Vec<usize>>,
    /// Windows (frames) of the forecasting stages, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub forecast_windows: Option<Vec<usize>>,
    /// Candidate numbers of neighbours for the grid search.
    #[arg(long, value_delimiter = ',')]
    pub k_grid: Option<Vec<usize>>,
    /// Candidate Minkowski powers (1 = Manhattan, 2 = Euclidean).
    #[arg(long, value_delimiter = ',')]
    pub powers: Option<Vec<f64>>,
    /// Halting precision a screening stage must reach out of fold, else it is advisory.
    #[arg(long)]
    pub target_precision: Option<f64>,
    /// Screening windows allowed to halt, comma separated (default: the preset's; the other
    /// screening stages only clear runs as relevant early and log their verdict).
    #[arg(long, value_delimiter = ',')]
    pub halt_windows: Option<Vec<usize>>,
    /// Lowest vote a halting cut may take.
    #[arg(long)]
    pub min_cut: Option<f64>,
    /// What screening stages score runs by: `vote` (share of irrelevant neighbours, the paper),
    /// `margin` or `scaled-margin` (neighbours' ln mu beyond ln threshold, scaled by their spread).
    #[arg(long, value_enum)]
    pub screen_score: Option<ScoreArg>,
    /// Fewest true out-of-fold halts a cut needs.
    #[arg(long)]
    pub min_halts: Option<usize>,
    /// Largest share of irrelevant runs among those cleared early as relevant (0 = never clear
    /// early).
    #[arg(long)]
    pub early_miss: Option<f64>,
    /// Precision a forecast must reach: the relative half-width (hi - lo) / 2 / |mid| of its
    /// interval for mu (0.25 = mu within ±25 %; default preset: 0.25, calibrated for 0.05-1.0).
    /// Stored in the model as its default; the fix's `tolerance` keyword overrides it per run.
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// Let the regression stages halt a run at the first window (from the first halting window
    /// on) whose one-sided bound of ln mu lies past the threshold, certified with the screening
    /// stages in one risk budget (default preset: false; true or false).
    #[arg(long)]
    pub regression_halts: Option<bool>,
    /// Frames by which a run cleared as relevant gets its forecast even when no interval was
    /// within tolerance (0 = the last forecasting window).
    #[arg(long)]
    pub forecast_by: Option<usize>,
    /// Fraction of variance the FPCA components keep (disables the component grid).
    #[arg(long)]
    pub variance: Option<f64>,
}

/// Options of the validation, the same for every configuration `protocol` compares.
#[derive(Args, Clone)]
pub struct SharedArgs {
    /// Cross-validation folds.
    #[arg(long)]
    pub folds: Option<usize>,
    /// Nominal coverage of the forecast interval for mu.
    #[arg(long)]
    pub level: Option<f64>,
    /// Seed of every random choice (folds, splits).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl ModelArgs {
    /// The preset with every option given on the command line.
    pub fn params(&self) -> TrainParams {
        TrainParams {
            preset: self.preset.into(),
            overrides: self.overrides(),
        }
    }

    /// Another preset with only the shared options: what `protocol --compare` runs.
    pub fn compared(&self, preset: Preset) -> TrainParams {
        TrainParams {
            preset: preset.into(),
            overrides: self.overrides().shared(),
        }
    }

    fn overrides(&self) -> Overrides {
        let r = &self.recipe;
        Overrides {
            screen_windows: r.screen_windows.clone(),
            forecast_windows: r.forecast_windows.clone(),
            halt_windows: r.halt_windows.clone(),
            // 0 keeps its command-line meaning: the last forecasting window.
            forecast_deadline: r.forecast_by.map(|w| match w {
                0 => Deadline::LastWindow,
                w => Deadline::By(w),
            }),
            k_grid: r.k_grid.clone(),
            power_grid: r.powers.clone(),
            target_precision: r.target_precision,
            min_cut: r.min_cut,
            min_halts: r.min_halts,
            screen_score: r.screen_score.map(ScoreKind::from),
            max_early_miss: r.early_miss,
            tolerance: r.tolerance,
            regression_halts: r.regression_halts,
            variance: r.variance,
            folds: self.shared.folds,
            level: self.shared.level,
            seed: Some(self.shared.seed),
        }
    }
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub label: LabelArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output model file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Units of the input column, recorded in the model (e.g. "epsilon*tau/sigma^3").
    #[arg(long)]
    pub units: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct EvaluateArgs {
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Held-out trace files, directories or globs.
    #[arg(required = true)]
    pub traces: Vec<String>,
    /// Column to read (default: the model's).
    #[arg(long)]
    pub column: Option<String>,
    #[command(flatten)]
    pub bank: BankArgs,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The precision at which `evaluate` and `protocol` count compute saved.
#[derive(Args)]
pub struct BankArgs {
    /// Tolerance at which compute saved is counted: a run stops at a forecast only if the
    /// forecast's interval for mu has a relative half-width (hi - lo) / 2 / |mid| at most this
    /// (0.25 = mu within ±25 %); otherwise it runs to its end. The same measure as the model's
    /// `--tolerance`, which decides where the model forecasts; this decides what is counted.
    #[arg(long, default_value_t = simforecast_train::savings::DEFAULT_BANK_AT)]
    bank_at: f64,
}

impl BankArgs {
    /// `--bank-at`, refused unless it is a positive relative half-width.
    pub fn checked(&self) -> Result<f64, String> {
        let t = self.bank_at;
        if t.is_finite() && t > 0.0 {
            Ok(t)
        } else {
            Err(format!(
                "--bank-at must be a positive relative half-width (0.25 = mu within ±25 %), got {t}"
            ))
        }
    }
}

#[derive(Args)]
pub struct ProtocolArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub label: LabelArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Random 80/20 splits.
    #[arg(long, default_value_t = 20)]
    pub repeats: usize,
    /// Configurations to compare: the chosen --preset (with overrides) and these presets.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "paper,fixed,eager,default"
    )]
    pub compare: Vec<Preset>,
    /// Windows of the window sweep (paper recipe, one screening and one forecasting stage at
    /// each window); empty to skip.
    #[arg(long, value_delimiter = ',', default_value = "25,50,100,150,200,300")]
    pub sweep: Vec<usize>,
    /// Skip the window sweep.
    #[arg(long)]
    pub no_sweep: bool,
    /// Repeats per window of the sweep.
    #[arg(long, default_value_t = 5)]
    pub sweep_repeats: usize,
    /// Also train the first configuration on this many runs of each split's training part
    /// (stratified subsets, e.g. 25,50,100,250) and report held-out halts and wrong halts per
    /// split at each size, with the joint risk rule and with the stages' own cuts.
    #[arg(long, value_delimiter = ',')]
    pub train_sizes: Vec<usize>,
    /// Use the splits in this JSON file ([{"train": [names], "test": [names]}, ...]).
    #[arg(long)]
    pub splits: Option<PathBuf>,
    /// Write the splits used to this JSON file.
    #[arg(long)]
    pub write_splits: Option<PathBuf>,
    /// Directory for the SVG plots.
    #[arg(long)]
    pub plots: Option<PathBuf>,
    #[command(flatten)]
    pub bank: BankArgs,
    /// Print everything as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Model file.
    pub model: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct PredictArgs {
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// One trace file.
    pub trace: String,
    /// Column to read (default: the model's).
    #[arg(long)]
    pub column: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum EquilibrationArg {
    /// The start that leaves the most effective samples (pymbar's detect_equilibration).
    MaxEss,
    /// The start that minimises the marginal standard error of the block means (MSER).
    Mser,
}

impl From<EquilibrationArg> for Equilibration {
    fn from(e: EquilibrationArg) -> Self {
        match e {
            EquilibrationArg::MaxEss => Equilibration::MaxEffectiveSamples,
            EquilibrationArg::Mser => Equilibration::Mser,
        }
    }
}

#[derive(Args)]
pub struct ConvergenceArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Largest relative half-width of the interval for mu at which a run stops (0.25 = ±25 %).
    #[arg(long, default_value_t = 0.25)]
    pub tolerance: f64,
    /// Never stop a run before this many frames.
    #[arg(long, default_value_t = 0)]
    pub min_frames: usize,
    /// Frames between two checks of a run.
    #[arg(long, default_value_t = 50)]
    pub every: usize,
    /// Largest relative difference of the means of the two halves of the frames after
    /// equilibration.
    #[arg(long, default_value_t = 0.125)]
    pub drift: f64,
    /// Nominal coverage of the interval for mu.
    #[arg(long, default_value_t = 0.9)]
    pub level: f64,
    /// How the end of equilibration is chosen.
    #[arg(long, value_enum, default_value = "max-ess")]
    pub equilibration: EquilibrationArg,
    /// Largest share of the frames seen that equilibration may discard (1 = as pymbar, which
    /// may keep only the last few frames).
    #[arg(long, default_value_t = 0.5)]
    pub max_discard: f64,
    /// Print everything as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum CampaignCommand {
    /// Create a campaign directory (or check that DIR is this campaign already).
    Init(CampaignInitArgs),
    /// Runs by outcome, the audit's precision and coverage, compute saved, the model history.
    Status(CampaignStatusArgs),
    /// Record one run's trace and outcome in DIR (then retrain when due).
    Record(CampaignRecordArgs),
    /// Run recorded traces through the campaign from zero runs, in a random order, and show
    /// what it saved and how its audit fared against the truth, run by run.
    Replay(CampaignReplayArgs),
}

/// What a campaign decides by (`init`, `replay`).
#[derive(Args, Clone)]
pub struct CampaignSettings {
    #[command(flatten)]
    pub label: LabelArgs,
    /// A forecast stops a run only when its interval's relative half-width is within this.
    #[arg(long, default_value_t = simforecast_train::savings::DEFAULT_BANK_AT)]
    pub tolerance: f64,
    /// Share of would-be halts and forecast stops that run to the end to audit the model.
    #[arg(long, default_value_t = 0.1)]
    pub audit: f64,
    /// Frames at the end of a run over which its result mu is taken.
    #[arg(long, default_value_t = 1000)]
    pub tail: usize,
    /// First model once this many finished runs are recorded.
    #[arg(long, default_value_t = 30)]
    pub first_model_at: usize,
    /// Retrain each time this many more runs are recorded, however they ended (one more
    /// finished).
    #[arg(long, default_value_t = 25)]
    pub retrain_every: usize,
    /// Halting precision target: the audit showing it missed turns the campaign advisory.
    #[arg(long, default_value_t = 0.95)]
    pub target_precision: f64,
    /// What may halt a run: the screening stages' votes, or also the evidence on mu
    /// accumulated over the forecasting windows (more halts, lower held-out precision).
    #[arg(long, value_enum, default_value_t = HaltingArg::Screening)]
    pub halting: HaltingArg,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HaltingArg {
    Screening,
    Accumulated,
}

#[derive(Args, Clone)]
pub struct CampaignInitArgs {
    /// The campaign directory (created if missing).
    pub dir: PathBuf,
    #[command(flatten)]
    pub settings: CampaignSettings,
    /// The trace column (default: the first recorded run's).
    #[arg(long)]
    pub column: Option<String>,
    /// Steps between frames (default: the first recorded run's).
    #[arg(long)]
    pub frame_spacing: Option<i64>,
}

#[derive(Args, Clone)]
pub struct CampaignStatusArgs {
    pub dir: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Clone)]
pub struct CampaignRecordArgs {
    pub dir: PathBuf,
    /// The run's trace (a `fix ave/time` file or log), holding the frames it simulated.
    pub trace: String,
    /// The run's id (default: the trace's name).
    #[arg(long)]
    pub run_id: Option<String>,
    /// The run was halted after this many frames.
    #[arg(long, conflicts_with = "forecast_at")]
    pub halted_at: Option<usize>,
    /// The restart file a halted run wrote (a resume continues from it; status lists it).
    #[arg(long, requires = "halted_at")]
    pub restart: Option<String>,
    /// The run was stopped at a forecast after this many frames (with --interval).
    #[arg(long, requires = "interval")]
    pub forecast_at: Option<usize>,
    /// The forecast's interval for mu: LO HI.
    #[arg(
        long,
        num_args = 2,
        allow_hyphen_values = true,
        requires = "forecast_at"
    )]
    pub interval: Option<Vec<f64>>,
    /// The run's full length in frames, when it stopped early.
    #[arg(long)]
    pub declared_len: Option<usize>,
    /// Do not retrain after recording, even when due.
    #[arg(long)]
    pub no_retrain: bool,
}

#[derive(Args, Clone)]
pub struct CampaignReplayArgs {
    /// The recorded campaign's traces: files, directories or quoted globs.
    #[arg(required = true)]
    pub traces: Vec<String>,
    #[command(flatten)]
    pub settings: CampaignSettings,
    /// Seed of the random order the runs arrive in.
    #[arg(long, default_value_t = 0)]
    pub order: u64,
    /// Column to read.
    #[arg(long, default_value = "auto")]
    pub column: String,
    /// The campaign directory to build (must be missing or empty; default: a temporary one,
    /// removed at the end).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print a row every this many runs (and the last).
    #[arg(long, default_value_t = 25)]
    pub every: usize,
    /// Every run's row and the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also what models trained offline save on the same runs (cross-fitted in this many folds,
    /// every decision obeyed), for comparison; 0: not computed.
    #[arg(long, default_value_t = 0)]
    pub offline_folds: usize,
    /// Also what a learner that saw every label saves on the same runs in the same order
    /// (before each run, a model trained offline on all earlier runs, on the campaign's
    /// schedule): "a model trained offline on the same number of runs".
    #[arg(long)]
    pub same_runs_offline: bool,
    /// Draw compute saved, wrong halts, precision and coverage against run index (SVG).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("simforecast").chain(args.iter().copied()))
    }

    fn train_args(args: &[&str]) -> TrainArgs {
        match parse(args)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .command
        {
            Command::Train(a) => a,
            _ => panic!("not train"),
        }
    }

    #[test]
    fn negative_thresholds_are_values() {
        for (text, want) in [("-1.0", -1.0), ("-1", -1.0), ("-2.5e-3", -2.5e-3)] {
            let a = train_args(&["train", "t.dat", "--threshold", text, "-o", "m.sfm"]);
            assert_eq!(a.label.threshold, want, "--threshold {text}");
            let a = train_args(&["train", "t.dat", &format!("--threshold={text}"), "-o", "m"]);
            assert_eq!(a.label.threshold, want, "--threshold={text}");
        }
        let a = train_args(&["train", "t.dat", "--threshold", "-3", "--below", "-o", "m"]);
        assert_eq!(a.label.threshold, -3.0);
        assert_eq!(a.label.direction(), Direction::Below);
        assert_eq!(a.data.traces, ["t.dat"]);
    }

    #[test]
    fn a_threshold_that_is_not_a_number_is_refused() {
        for value in ["-x", "--below"] {
            let err = parse(&["train", "t.dat", "--threshold", value, "-o", "m"])
                .err()
                .unwrap_or_else(|| panic!("'{value}' is no number"));
            let msg = err.to_string();
            assert!(msg.contains(&format!("invalid value '{value}'")), "{msg}");
        }
    }

    #[test]
    fn overrides_change_the_preset_and_comparisons_keep_only_the_shared_options() {
        let a = train_args(&[
            "train",
            "t.dat",
            "--threshold",
            "1",
            "-o",
            "m",
            "--preset",
            "paper",
            "--screen-windows",
            "40,80",
            "--screen-score",
            "margin",
            "--folds",
            "3",
            "--seed",
            "7",
        ]);
        let (c, _) = a.model.params().check(1000).unwrap();
        assert_eq!(c.preset, "paper");
        assert_eq!(c.screen_windows, [40, 80]);
        assert_eq!(c.screen_score, ScoreKind::Margin);
        assert_eq!((c.folds, c.seed), (3, 7));
        let (d, _) = a.model.compared(Preset::Default).check(2000).unwrap();
        let mut want = simforecast_train::TrainConfig::default_calibrated();
        want.folds = 3;
        want.seed = 7;
        assert!(d == want, "a compared preset takes the shared options only");
    }
}
