//! Baselines a model must beat: the one-line halting rule (a cut on the window mean) and the
//! persistence forecast (a run's own window mean as μ, with a split-conformal interval), and the
//! figures that compare a forecaster with them on held-out runs.

use serde::{Deserialize, Serialize};

use crate::metrics::{prf, r2, MeanStd};
use crate::savings::{Offer, RunPath};
use crate::Dataset;
use simforecast_runtime::error::{Error, Result};
use simforecast_runtime::model::Direction;

/// The one-line halting rule: halt when the mean of the first `window` frames lies past a cut on
/// the irrelevant side (above it, or below it for `--below` campaigns), the cut tuned for F1 on
/// the training split. Returns held-out (precision, recall, F1).
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

/// The persistence forecast at one window: μ̂ is the mean m of the run's first `window` frames,
/// μ∓σ is m ∓ their standard deviation, and the interval for μ is split-conformal on the
/// calibration runs' |t(μ) − t(m)|, t = ln when every calibration μ and m is positive (so the
/// interval's width is relative), else the identity. No parameter is fitted to the point
/// forecast, so its error on any run is honest; the interval is honest on runs outside the
/// calibration set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Persistence {
    pub window: usize,
    pub level: f64,
    pub log_space: bool,
    /// The conformal quantile of the scores; None when the calibration runs are too few for the
    /// level (⌈(n + 1)·level⌉ > n): then no interval is finite.
    pub quantile: Option<f64>,
}

/// What the persistence baseline says about one run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersistenceForecast {
    pub mu_hat: f64,
    pub mu_minus_sigma: f64,
    pub mu_plus_sigma: f64,
    /// The interval for μ; None when the calibration gave none, or in log space for a window
    /// mean that is not positive.
    pub interval: Option<(f64, f64)>,
}

/// Mean and standard deviation (n − 1; 0 for one frame) of the frames.
fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = if x.len() > 1 {
        x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

impl Persistence {
    /// Calibrates the interval on the traces `calib` of `ds`.
    pub fn calibrate(ds: &Dataset, calib: &[usize], window: usize, level: f64) -> Result<Self> {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::InvalidArgument(format!(
                "the interval's level must lie in (0, 1), got {level}"
            )));
        }
        if window == 0 {
            return Err(Error::InvalidArgument(
                "the persistence window must hold at least one frame".into(),
            ));
        }
        if let Some(&i) = calib.iter().find(|&&i| ds.series[i].len() < window) {
            return Err(Error::InvalidArgument(format!(
                "trace '{}' has {} frames, fewer than the persistence window {window}",
                ds.names[i],
                ds.series[i].len()
            )));
        }
        let means: Vec<f64> = calib
            .iter()
            .map(|&i| mean_sd(&ds.series[i][..window]).0)
            .collect();
        let log_space = calib
            .iter()
            .zip(&means)
            .all(|(&i, &m)| ds.mu[i] > 0.0 && m > 0.0);
        let space = |v: f64| if log_space { v.ln() } else { v };
        let mut scores: Vec<f64> = calib
            .iter()
            .zip(&means)
            .map(|(&i, &m)| (space(ds.mu[i]) - space(m)).abs())
            .collect();
        scores.sort_by(f64::total_cmp);
        let rank = (level * (scores.len() + 1) as f64).ceil() as usize;
        let quantile = (rank >= 1 && rank <= scores.len()).then(|| scores[rank - 1]);
        Ok(Self {
            window,
            level,
            log_space,
            quantile,
        })
    }

    /// The forecast from the first `window` frames of `x`.
    pub fn forecast(&self, x: &[f64]) -> Result<PersistenceForecast> {
        let w = x.get(..self.window).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{} frames, fewer than the persistence window {}",
                x.len(),
                self.window
            ))
        })?;
        let (m, sd) = mean_sd(w);
        let interval = self.quantile.and_then(|q| {
            if !self.log_space {
                Some((m - q, m + q))
            } else {
                (m > 0.0).then(|| (m * (-q).exp(), m * q.exp()))
            }
        });
        Ok(PersistenceForecast {
            mu_hat: m,
            mu_minus_sigma: m - sd,
            mu_plus_sigma: m + sd,
            interval,
        })
    }
}

/// Every run of `test` as the persistence baseline would stop it: it never halts, and offers its
/// interval at each of `windows` (calibrated on `train`, every run: the baseline screens
/// nothing). Windows longer than a test run are not offered to it.
pub fn persistence_paths(
    ds: &Dataset,
    train: &[usize],
    test: &[usize],
    windows: &[usize],
    level: f64,
) -> Result<Vec<RunPath>> {
    let mut windows = windows.to_vec();
    windows.sort_unstable();
    windows.dedup();
    let baselines = windows
        .iter()
        .map(|&w| Persistence::calibrate(ds, train, w, level))
        .collect::<Result<Vec<_>>>()?;
    test.iter()
        .map(|&i| {
            let x = &ds.series[i];
            let mut offers = Vec::new();
            for b in baselines.iter().filter(|b| b.window <= x.len()) {
                if let Some((lo, hi)) = b.forecast(x)?.interval {
                    offers.push(Offer {
                        frame: b.window,
                        lo,
                        hi,
                    });
                }
            }
            Ok(RunPath {
                len: x.len(),
                mu: ds.mu[i],
                halt: None,
                offers,
                scaled: Vec::new(),
                rules: Vec::new(),
            })
        })
        .collect()
}

/// One forecast of one run, with the run's truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub mu: f64,
    pub sigma: f64,
    pub mu_hat: f64,
    pub mu_minus_sigma: f64,
    pub mu_plus_sigma: f64,
    pub interval: Option<(f64, f64)>,
}

/// How well a forecaster did on a set of runs: R² of μ−σ and μ+σ (the paper's figures) and of
/// μ, and the coverage and mean relative width (hi − lo) / |μ̂| of its interval for μ over the
/// runs it gave one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ForecastFigures {
    pub runs: usize,
    pub r2: [Option<f64>; 2],
    pub r2_mu: Option<f64>,
    pub coverage: Option<f64>,
    pub relative_width: Option<f64>,
}

impl ForecastFigures {
    pub fn of(forecasts: &[Scored]) -> Self {
        let col = |f: &dyn Fn(&Scored) -> f64| forecasts.iter().map(f).collect::<Vec<_>>();
        let (r2, r2_mu) = if forecasts.is_empty() {
            ([None, None], None)
        } else {
            (
                [
                    r2(&col(&|s| s.mu - s.sigma), &col(&|s| s.mu_minus_sigma)),
                    r2(&col(&|s| s.mu + s.sigma), &col(&|s| s.mu_plus_sigma)),
                ],
                r2(&col(&|s| s.mu), &col(&|s| s.mu_hat)),
            )
        };
        let with: Vec<(f64, f64, (f64, f64))> = forecasts
            .iter()
            .filter_map(|s| s.interval.map(|i| (s.mu, s.mu_hat, i)))
            .collect();
        let n = with.len() as f64;
        let (coverage, relative_width) = if with.is_empty() {
            (None, None)
        } else {
            let covered = with
                .iter()
                .filter(|(mu, _, (lo, hi))| lo <= mu && mu <= hi)
                .count() as f64;
            let width: f64 = with
                .iter()
                .map(|(_, m, (lo, hi))| (hi - lo) / m.abs())
                .sum();
            (Some(covered / n), Some(width / n).filter(|w| w.is_finite()))
        };
        Self {
            runs: forecasts.len(),
            r2,
            r2_mu,
            coverage,
            relative_width,
        }
    }
}

/// A model's forecasting stage and the persistence baseline at the same window, on the relevant
/// runs of one held-out split (the stage applied whatever screening said, as the paper scores
/// its forecaster; the baseline calibrated on the relevant training runs, as the stage is).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowFigures {
    pub window: usize,
    /// The stage's out-of-fold R² of μ−σ and μ+σ on the training split.
    pub model_cv_r2: [Option<f64>; 2],
    pub model: ForecastFigures,
    pub persistence: ForecastFigures,
}

/// [`ForecastFigures`] over repeated splits.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FiguresSummary {
    pub r2: [Option<MeanStd>; 2],
    pub r2_mu: Option<MeanStd>,
    pub coverage: Option<MeanStd>,
    pub relative_width: Option<MeanStd>,
}

impl FiguresSummary {
    fn of(figures: &[ForecastFigures]) -> Self {
        let m = |f: &dyn Fn(&ForecastFigures) -> Option<f64>| MeanStd::of(figures.iter().map(f));
        Self {
            r2: [m(&|f| f.r2[0]), m(&|f| f.r2[1])],
            r2_mu: m(&|f| f.r2_mu),
            coverage: m(&|f| f.coverage),
            relative_width: m(&|f| f.relative_width),
        }
    }

    /// The mean over splits of R² μ−σ and μ+σ, averaged (None: either undefined).
    pub fn mean_r2(&self) -> Option<f64> {
        crate::mean2(self.r2[0].map(|m| m.mean), self.r2[1].map(|m| m.mean))
    }
}

/// [`WindowFigures`] at one window over repeated splits.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowSummary {
    pub window: usize,
    pub model_cv_r2: [Option<MeanStd>; 2],
    pub model: FiguresSummary,
    pub persistence: FiguresSummary,
    /// The baseline's mean R² of μ∓σ (averaged over the two), and of μ, is above the model's
    /// (None: either is undefined).
    pub baseline_wins_mu_sigma: Option<bool>,
    pub baseline_wins_mu: Option<bool>,
}

impl WindowSummary {
    /// One summary per window found in the splits, in window order.
    pub fn of(splits: &[Vec<WindowFigures>]) -> Vec<Self> {
        let mut windows: Vec<usize> = splits.iter().flatten().map(|f| f.window).collect();
        windows.sort_unstable();
        windows.dedup();
        windows
            .into_iter()
            .map(|w| {
                let at: Vec<&WindowFigures> =
                    splits.iter().flatten().filter(|f| f.window == w).collect();
                let cv = |j: usize| MeanStd::of(at.iter().map(|f| f.model_cv_r2[j]));
                let model = FiguresSummary::of(&at.iter().map(|f| f.model).collect::<Vec<_>>());
                let persistence =
                    FiguresSummary::of(&at.iter().map(|f| f.persistence).collect::<Vec<_>>());
                let wins = |b: Option<f64>, m: Option<f64>| b.zip(m).map(|(b, m)| b > m);
                let mean = |f: &FiguresSummary| f.r2_mu.map(|m| m.mean);
                Self {
                    window: w,
                    model_cv_r2: [cv(0), cv(1)],
                    model,
                    baseline_wins_mu_sigma: wins(persistence.mean_r2(), model.mean_r2()),
                    baseline_wins_mu: wins(mean(&persistence), mean(&model)),
                    persistence,
                }
            })
            .collect()
    }
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

    fn scored(p: &Persistence, ds: &Dataset, idx: &[usize]) -> Vec<Scored> {
        idx.iter()
            .map(|&i| {
                let f = p.forecast(&ds.series[i]).unwrap();
                Scored {
                    mu: ds.mu[i],
                    sigma: ds.sigma[i],
                    mu_hat: f.mu_hat,
                    mu_minus_sigma: f.mu_minus_sigma,
                    mu_plus_sigma: f.mu_plus_sigma,
                    interval: f.interval,
                }
            })
            .collect()
    }

    #[test]
    fn persistence_forecasts_flat_traces_perfectly() {
        let ds = levels(Direction::Above);
        let (train, test): (Vec<usize>, Vec<usize>) = (0..40).partition(|i| i % 4 != 0);
        let p = Persistence::calibrate(&ds, &train, 5, 0.9).unwrap();
        assert!(p.log_space);
        // Flat traces: the window mean is μ exactly, so every score and the quantile are 0.
        assert_eq!(p.quantile, Some(0.0));
        let f = ForecastFigures::of(&scored(&p, &ds, &test));
        assert_eq!(f.runs, 10);
        assert_eq!((f.r2, f.r2_mu), ([Some(1.0), Some(1.0)], Some(1.0)));
        assert_eq!((f.coverage, f.relative_width), (Some(1.0), Some(0.0)));
    }

    #[test]
    fn persistence_interval_is_the_conformal_rank_of_log_errors() {
        // Traces whose first 10 frames are at 1 and whose tail is at mu = 1, 2, ..., 19: the
        // scores are ln mu; at level 0.9 the rank is ⌈0.9·20⌉ = 18, so q = ln 18.
        let mus: Vec<f64> = (1..=19).map(f64::from).collect();
        let series: Vec<Vec<f64>> = mus
            .iter()
            .map(|&m| [vec![1.0; 10], vec![m; 10]].concat())
            .collect();
        let names = mus.iter().map(|m| format!("r{m}")).collect();
        let ds = Dataset::new(names, series, 100.0, Direction::Above, 10, 1, "c".into()).unwrap();
        let all: Vec<usize> = (0..19).collect();
        let p = Persistence::calibrate(&ds, &all, 10, 0.9).unwrap();
        assert!((p.quantile.unwrap() - 18f64.ln()).abs() < 1e-12);
        let f = p.forecast(&ds.series[0]).unwrap();
        let (lo, hi) = f.interval.unwrap();
        assert!((lo - 1.0 / 18.0).abs() < 1e-12 && (hi - 18.0).abs() < 1e-12);
        // Runs at mu ≤ 17 are inside, the one at 19 is not (18 sits on the edge: left out).
        let off_edge: Vec<usize> = (0..17).chain([18]).collect();
        let figures = ForecastFigures::of(&scored(&p, &ds, &off_edge));
        assert_eq!(figures.coverage, Some(17.0 / 18.0));
        // Too few runs for the level: no finite interval.
        let p = Persistence::calibrate(&ds, &all[..5], 10, 0.9).unwrap();
        assert_eq!(p.quantile, None);
        assert_eq!(p.forecast(&ds.series[0]).unwrap().interval, None);
    }

    #[test]
    fn persistence_refuses_what_it_cannot_use() {
        let ds = levels(Direction::Above);
        let all: Vec<usize> = (0..40).collect();
        let e = Persistence::calibrate(&ds, &all, 21, 0.9).unwrap_err();
        assert!(
            e.to_string()
                .contains("fewer than the persistence window 21"),
            "{e}"
        );
        assert!(Persistence::calibrate(&ds, &all, 0, 0.9).is_err());
        assert!(Persistence::calibrate(&ds, &all, 5, 1.0).is_err());
        let p = Persistence::calibrate(&ds, &all, 5, 0.9).unwrap();
        assert!(p.forecast(&[1.0; 4]).is_err());
    }

    #[test]
    fn persistence_paths_offer_every_window_and_never_halt() {
        let ds = levels(Direction::Above);
        let (train, test): (Vec<usize>, Vec<usize>) = (0..40).partition(|i| i % 4 != 0);
        let paths = persistence_paths(&ds, &train, &test, &[10, 5, 10], 0.9).unwrap();
        assert_eq!(paths.len(), test.len());
        for (p, &i) in paths.iter().zip(&test) {
            assert_eq!((p.len, p.mu, p.halt), (20, ds.mu[i], None));
            // In window order, 10 offered once.
            let frames: Vec<usize> = p.offers.iter().map(|o| o.frame).collect();
            assert_eq!(frames, [5, 10]);
        }
        // A window longer than the training runs cannot be calibrated.
        let e = persistence_paths(&ds, &train, &test, &[5, 30], 0.9).unwrap_err();
        assert!(
            e.to_string()
                .contains("fewer than the persistence window 30"),
            "{e}"
        );
        // Exact intervals: every run is banked at the first window, at any tolerance.
        let s = crate::savings::path_savings(&paths, 0.1).unwrap();
        assert_eq!((s.banked, s.covered, s.frames_simulated), (10, 10, 50));
        assert!((s.saved_ratio - 4.0).abs() < 1e-12);
    }

    #[test]
    fn the_summary_says_when_the_baseline_wins() {
        let fig = |r2: f64| ForecastFigures {
            runs: 10,
            r2: [Some(r2), Some(r2)],
            r2_mu: Some(r2 / 2.0),
            coverage: Some(0.9),
            relative_width: Some(1.0),
        };
        let split = |w: usize, model: f64, base: f64| WindowFigures {
            window: w,
            model_cv_r2: [Some(model), Some(model)],
            model: fig(model),
            persistence: fig(base),
        };
        let splits = vec![
            vec![split(200, 0.5, 0.6), split(100, 0.4, 0.3)],
            vec![split(200, 0.5, 0.7), split(100, 0.4, 0.2)],
        ];
        let s = WindowSummary::of(&splits);
        assert_eq!(s.iter().map(|w| w.window).collect::<Vec<_>>(), [100, 200]);
        assert_eq!(s[0].baseline_wins_mu_sigma, Some(false));
        assert_eq!(s[1].baseline_wins_mu_sigma, Some(true));
        assert_eq!(
            (s[0].baseline_wins_mu, s[1].baseline_wins_mu),
            (Some(false), Some(true))
        );
        assert!((s[1].persistence.mean_r2().unwrap() - 0.65).abs() < 1e-12);
        assert_eq!(s[1].model_cv_r2[0].map(|m| m.n), Some(2));
    }
}
