//! Evaluation of a model on held-out traces (replayed through the monitor, exactly as the LAMMPS
//! fix would see them), the paper's repeated-split protocol, and the window sweep.

use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{fit_model, prf, r2, Dataset, StageReport, TrainConfig};
use simforecast_runtime::error::Result;
use simforecast_runtime::model::{Direction, Model};
use simforecast_runtime::monitor::{Event, ForecastEvent, Monitor};
use simforecast_runtime::stage::{Stage, Verdict};

/// A trace's actual result: μ and σ over the model's tail, and its label.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Actual {
    pub mu: f64,
    pub sigma: f64,
    pub irrelevant: bool,
}

/// What happened to one trace when replayed through a model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TraceOutcome {
    pub name: String,
    pub frames: usize,
    /// None when the trace is shorter than the model's tail.
    pub actual: Option<Actual>,
    /// Frame at which the run would be halted.
    pub halt_frame: Option<u64>,
    /// Some screening stage called it irrelevant (halting or advisory).
    pub flagged: bool,
    /// Some stage refused to act because the trace is out of distribution.
    pub ood: bool,
    pub forecast: Option<ForecastEvent>,
    pub forecast_frame: Option<u64>,
    /// Frames the run needs with the fix: the halt, else the forecast, else the whole trace.
    pub frames_used: u64,
    /// μ−σ and μ+σ of the deadline forecasting stage (the last one when there is no deadline)
    /// applied directly, whatever the screening said
    /// (the paper's way of scoring the forecaster).
    pub direct_forecast: Option<[f64; 2]>,
}

/// Replays a trace frame by frame; returns every event and the outcome.
pub fn replay(
    model: &Arc<Model>,
    name: &str,
    series: &[f64],
) -> Result<(Vec<Event>, TraceOutcome)> {
    let events = Monitor::replay(model, series)?;
    let halt_frame = events.iter().find(|e| e.halt()).map(|e| e.frame);
    let flagged = events.iter().any(|e| {
        e.screen
            .as_ref()
            .is_some_and(|s| s.verdict == Verdict::Irrelevant)
    });
    let ood = events.iter().any(|e| {
        e.screen.as_ref().is_some_and(|s| s.ood) || e.forecast.as_ref().is_some_and(|f| f.ood)
    });
    let fc = events
        .iter()
        .find_map(|e| e.forecast.clone().map(|f| (e.frame, f)));
    let frames_used = halt_frame
        .or(fc.as_ref().map(|f| f.0))
        .unwrap_or(series.len() as u64)
        .min(series.len() as u64);
    let actual = crate::tail_stats(series, model.meta.tail).map(|(mu, sigma)| Actual {
        mu,
        sigma,
        irrelevant: model.meta.direction.is_irrelevant(mu, model.meta.threshold),
    });
    let forecasters = || {
        model.stages.iter().filter_map(|s| match s {
            Stage::Forecast(f) => Some(f),
            Stage::Screen(_) => None,
        })
    };
    let direct_forecast = forecasters()
        .find(|f| f.calibration.deadline)
        .or_else(|| forecasters().next_back())
        .filter(|f| f.window() <= series.len())
        .and_then(|f| f.evaluate(series).ok())
        .map(|o| [o.forecast.mu_minus_sigma, o.forecast.mu_plus_sigma]);
    let outcome = TraceOutcome {
        name: name.to_string(),
        frames: series.len(),
        actual,
        halt_frame,
        flagged,
        ood,
        forecast_frame: fc.as_ref().map(|f| f.0),
        forecast: fc.map(|f| f.1),
        frames_used,
        direct_forecast,
    };
    Ok((events, outcome))
}

/// Held-out metrics of a model.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Metrics {
    pub n: usize,
    pub n_irrelevant: usize,
    /// Runs the model would halt, and how many of those were relevant (the worst error).
    pub halts: usize,
    pub false_halts: usize,
    /// Halting precision, recall (None when nothing was halted, or nothing was irrelevant) and
    /// F1 (positive class = irrelevant).
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: f64,
    /// Confusion matrix of halting: [[TN, FP], [FN, TP]] (rows = truth relevant/irrelevant).
    pub confusion: [[usize; 2]; 2],
    /// R² of μ−σ and μ+σ over the relevant runs forecast (None: no such run, or no spread).
    pub r2: [Option<f64>; 2],
    /// R² of the deadline (else last) forecasting stage applied to every relevant run (the
    /// paper's metric).
    pub r2_all: [Option<f64>; 2],
    /// Relevant runs that got a forecast.
    pub forecast_share: f64,
    /// Fraction of relevant runs forecast whose μ lies in the interval, and its mean width
    /// (None: no relevant run was forecast).
    pub coverage: Option<f64>,
    pub interval_width: Option<f64>,
    pub mean_frames_to_decision: f64,
    /// Frames of the full runs / frames simulated with the fix.
    pub compute_saved: f64,
    pub ood: usize,
}

/// Evaluates `model` on the traces `idx` of `ds`.
pub fn evaluate(
    model: &Arc<Model>,
    ds: &Dataset,
    idx: &[usize],
) -> Result<(Metrics, Vec<TraceOutcome>)> {
    let outcomes: Vec<TraceOutcome> = idx
        .par_iter()
        .map(|&i| replay(model, &ds.names[i], &ds.series[i]).map(|r| r.1))
        .collect::<Result<_>>()?;
    Ok((metrics(&outcomes), outcomes))
}

/// Held-out metrics of replayed traces (those shorter than the model's tail count only for
/// compute).
pub fn metrics(outcomes: &[TraceOutcome]) -> Metrics {
    let scored: Vec<(&TraceOutcome, Actual)> = outcomes
        .iter()
        .filter_map(|o| o.actual.map(|a| (o, a)))
        .collect();
    let pred: Vec<bool> = scored.iter().map(|(o, _)| o.halt_frame.is_some()).collect();
    let act: Vec<bool> = scored.iter().map(|(_, a)| a.irrelevant).collect();
    let (precision, recall, f1) = prf(&pred, &act);
    let mut confusion = [[0usize; 2]; 2];
    for (p, a) in pred.iter().zip(&act) {
        confusion[*a as usize][*p as usize] += 1;
    }
    let relevant: Vec<&(&TraceOutcome, Actual)> =
        scored.iter().filter(|(_, a)| !a.irrelevant).collect();
    // Relevant runs with their forecast.
    let forecast: Vec<(Actual, &ForecastEvent)> = relevant
        .iter()
        .filter_map(|(o, a)| o.forecast.as_ref().map(|f| (*a, f)))
        .collect();
    let r2_of = |pairs: &[(Actual, [f64; 2])]| -> [Option<f64>; 2] {
        if pairs.is_empty() {
            return [None, None];
        }
        let y0: Vec<f64> = pairs.iter().map(|(a, _)| a.mu - a.sigma).collect();
        let y1: Vec<f64> = pairs.iter().map(|(a, _)| a.mu + a.sigma).collect();
        let p0: Vec<f64> = pairs.iter().map(|(_, p)| p[0]).collect();
        let p1: Vec<f64> = pairs.iter().map(|(_, p)| p[1]).collect();
        [r2(&y0, &p0), r2(&y1, &p1)]
    };
    let forecast_pairs: Vec<(Actual, [f64; 2])> = forecast
        .iter()
        .map(|(a, f)| (*a, [f.mu_minus_sigma, f.mu_plus_sigma]))
        .collect();
    let n_forecast = forecast.len() as f64;
    let (coverage, width) = if forecast.is_empty() {
        (None, None)
    } else {
        let covered = forecast
            .iter()
            .filter(|(a, f)| f.mu_low <= a.mu && a.mu <= f.mu_high)
            .count() as f64;
        let width: f64 = forecast.iter().map(|(_, f)| f.mu_high - f.mu_low).sum();
        (Some(covered / n_forecast), Some(width / n_forecast))
    };
    let direct: Vec<(Actual, [f64; 2])> = relevant
        .iter()
        .filter_map(|(o, a)| o.direct_forecast.map(|d| (*a, d)))
        .collect();
    let used: f64 = outcomes.iter().map(|o| o.frames_used as f64).sum();
    let full: f64 = outcomes.iter().map(|o| o.frames as f64).sum();
    Metrics {
        n: outcomes.len(),
        n_irrelevant: act.iter().filter(|a| **a).count(),
        halts: pred.iter().filter(|p| **p).count(),
        false_halts: confusion[0][1],
        precision,
        recall,
        f1,
        confusion,
        r2: r2_of(&forecast_pairs),
        r2_all: r2_of(&direct),
        forecast_share: n_forecast / relevant.len().max(1) as f64,
        coverage,
        interval_width: width,
        mean_frames_to_decision: used / outcomes.len().max(1) as f64,
        compute_saved: full / used.max(1.0),
        ood: outcomes.iter().filter(|o| o.ood).count(),
    }
}

/// A stratified random split: (train, test).
pub fn split(ds: &Dataset, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in [true, false] {
        let mut g: Vec<usize> = (0..ds.len())
            .filter(|&i| ds.irrelevant[i] == class)
            .collect();
        g.shuffle(&mut rng);
        let n_test = (g.len() as f64 * test_fraction).round() as usize;
        test.extend_from_slice(&g[..n_test]);
        train.extend_from_slice(&g[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// Mean and standard deviation over the repeats where a figure is defined.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
    /// Repeats where the value was defined (at least one).
    pub n: usize,
}

impl MeanStd {
    /// None when no repeat defines the figure.
    pub fn of(values: impl IntoIterator<Item = Option<f64>>) -> Option<Self> {
        let v: Vec<f64> = values
            .into_iter()
            .flatten()
            .filter(|x| x.is_finite())
            .collect();
        if v.is_empty() {
            return None;
        }
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        Some(Self {
            mean,
            std,
            n: v.len(),
        })
    }

    /// A table cell: "mean ± std", or "n/a" when undefined in every repeat.
    pub fn cell(m: Option<Self>) -> String {
        m.map_or(format!("{:^14}", "n/a"), |m| m.to_string())
    }
}

impl std::fmt::Display for MeanStd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:6.3} ± {:5.3}", self.mean, self.std)
    }
}

/// Summary of one configuration over the repeats.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConfigSummary {
    pub name: String,
    /// Each figure over the repeats that define it (None: none does).
    pub precision: Option<MeanStd>,
    pub recall: Option<MeanStd>,
    pub f1: Option<MeanStd>,
    pub r2_lower: Option<MeanStd>,
    pub r2_upper: Option<MeanStd>,
    /// R² of the deadline (else last) forecasting stage on every relevant run (the paper's metric).
    pub r2_all_lower: Option<MeanStd>,
    pub r2_all_upper: Option<MeanStd>,
    pub forecast_share: Option<MeanStd>,
    pub coverage: Option<MeanStd>,
    pub interval_width: Option<MeanStd>,
    pub halts: Option<MeanStd>,
    pub false_halts: Option<MeanStd>,
    pub mean_frames_to_decision: Option<MeanStd>,
    pub compute_saved: Option<MeanStd>,
    /// Summed confusion matrix over repeats.
    pub confusion: [[usize; 2]; 2],
    pub repeats: Vec<Metrics>,
    /// Hyper-parameters chosen in each repeat.
    pub stages: Vec<Vec<StageReport>>,
    /// (truth, forecast) of μ−σ and μ+σ on the first repeat's test split, for plots.
    pub regression_points: Vec<[f64; 4]>,
}

pub fn summarise(
    name: &str,
    runs: Vec<(Metrics, Vec<StageReport>, Vec<TraceOutcome>)>,
) -> ConfigSummary {
    let m = |f: &dyn Fn(&Metrics) -> Option<f64>| MeanStd::of(runs.iter().map(|r| f(&r.0)));
    let mut confusion = [[0usize; 2]; 2];
    for r in &runs {
        for (row, add) in confusion.iter_mut().zip(&r.0.confusion) {
            for (c, a) in row.iter_mut().zip(add) {
                *c += a;
            }
        }
    }
    let regression_points = runs
        .first()
        .map(|r| {
            r.2.iter()
                .filter_map(|o| o.actual.filter(|a| !a.irrelevant).zip(o.forecast.as_ref()))
                .map(|(a, f)| {
                    [
                        a.mu - a.sigma,
                        f.mu_minus_sigma,
                        a.mu + a.sigma,
                        f.mu_plus_sigma,
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    ConfigSummary {
        name: name.to_string(),
        precision: m(&|x| x.precision),
        recall: m(&|x| x.recall),
        f1: m(&|x| Some(x.f1)),
        r2_lower: m(&|x| x.r2[0]),
        r2_upper: m(&|x| x.r2[1]),
        r2_all_lower: m(&|x| x.r2_all[0]),
        r2_all_upper: m(&|x| x.r2_all[1]),
        forecast_share: m(&|x| Some(x.forecast_share)),
        coverage: m(&|x| x.coverage),
        interval_width: m(&|x| x.interval_width),
        halts: m(&|x| Some(x.halts as f64)),
        false_halts: m(&|x| Some(x.false_halts as f64)),
        mean_frames_to_decision: m(&|x| Some(x.mean_frames_to_decision)),
        compute_saved: m(&|x| Some(x.compute_saved)),
        confusion,
        stages: runs.iter().map(|r| r.1.clone()).collect(),
        repeats: runs.into_iter().map(|r| r.0).collect(),
        regression_points,
    }
}

/// Runs one configuration on the given splits: train on each train part, evaluate on its test
/// part. `tick` is called once per finished split (progress bars).
pub fn run_config(
    ds: &Dataset,
    cfg: &TrainConfig,
    splits: &[(Vec<usize>, Vec<usize>)],
    tick: &(dyn Fn() + Sync),
) -> Result<ConfigSummary> {
    let runs = splits
        .par_iter()
        .enumerate()
        .map(|(r, (train, test))| {
            let mut c = cfg.clone();
            c.seed = cfg.seed.wrapping_add(r as u64);
            let (model, reports) = fit_model(ds, train, &c)?;
            let (m, outcomes) = evaluate(&Arc::new(model), ds, test)?;
            tick();
            Ok((m, reports, outcomes))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(summarise(&cfg.preset, runs))
}

/// The one-line baseline: halt when the mean of the first `window` frames lies past a cut on the
/// irrelevant side (above it, or below it for `--below` campaigns), the cut tuned for F1 on the
/// training split. Returns held-out (precision, recall, F1).
pub fn mean_rule(
    ds: &Dataset,
    train: &[usize],
    test: &[usize],
    window: usize,
) -> (Option<f64>, Option<f64>, f64) {
    // Signed so that "larger" always means "further on the irrelevant side".
    let side = match ds.direction {
        Direction::Above => 1.0,
        Direction::Below => -1.0,
    };
    let score = |i: usize| side * ds.series[i][..window].iter().sum::<f64>() / window as f64;
    let mut cuts: Vec<f64> = train.iter().map(|&i| score(i)).collect();
    cuts.sort_by(f64::total_cmp);
    let act: Vec<bool> = train.iter().map(|&i| ds.irrelevant[i]).collect();
    // (F1, cut) of the best cut; None without training traces (then nothing halts).
    let mut best: Option<(f64, f64)> = None;
    for &c in &cuts {
        let pred: Vec<bool> = train.iter().map(|&i| score(i) >= c).collect();
        let f1 = prf(&pred, &act).2;
        if best.is_none_or(|b| f1 > b.0) {
            best = Some((f1, c));
        }
    }
    let pred: Vec<bool> = test
        .iter()
        .map(|&i| best.is_some_and(|b| score(i) >= b.1))
        .collect();
    let act: Vec<bool> = test.iter().map(|&i| ds.irrelevant[i]).collect();
    prf(&pred, &act)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forty flat traces (their early mean is their mu) at levels 1..=20 and 31..=50, threshold
    /// 25: the two groups are separable by any cut in the gap.
    fn levels(direction: Direction) -> Dataset {
        let levels: Vec<f64> = (1..=20).chain(31..=50).map(f64::from).collect();
        let series = levels.iter().map(|&l| vec![l; 20]).collect();
        let names = levels.iter().map(|l| format!("run_{l}")).collect();
        Dataset::new(names, series, 25.0, direction, 10, 10, "v_eta".into()).unwrap()
    }

    #[test]
    fn mean_rule_halts_on_the_irrelevant_side_in_both_directions() {
        let all: Vec<usize> = (0..40).collect();
        for direction in [Direction::Above, Direction::Below] {
            let ds = levels(direction);
            let (p, r, f1) = mean_rule(&ds, &all, &all, 5);
            assert_eq!((p, r, f1), (Some(1.0), Some(1.0), 1.0), "{direction:?}");
        }
    }
}
