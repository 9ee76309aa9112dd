//! What a user asks for — a preset and the options they changed in it — and its check against
//! the traces it will train on, which gives the validated [`TrainConfig`] (linfa's
//! params → validated params). Presets and overrides merge here, field by field, by type: a new
//! option is one field of [`Overrides`] and one line of [`Overrides::apply`].
//!
//! Windows the user did not set follow the traces: a preset's windows that the shortest trace
//! does not outlast are dropped (a stage at the run's last frame saves nothing), its halting
//! windows and forecast deadline move to the kept windows, and what changed is reported. Windows
//! the user did set are checked, and one error names every option at fault.

use serde::{Deserialize, Serialize};

use simforecast_runtime::error::{Error, Result};
use simforecast_runtime::fpca::ComponentRule;
use simforecast_runtime::stage::ScoreKind;

use crate::config::TrainConfig;

/// The named starting configurations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Preset {
    /// Calibrated halting, conformal intervals, OOD guard, stages at several windows.
    Default,
    /// The published recipe: screen at 100 frames, forecast at 150, majority vote halts.
    Paper,
    /// The default's calibrated decisions at the paper's fixed windows.
    Fixed,
    /// The adaptive rule at about the paper's risk.
    Eager,
}

impl Preset {
    pub const ALL: [Preset; 4] = [Preset::Default, Preset::Paper, Preset::Fixed, Preset::Eager];

    pub fn config(self) -> TrainConfig {
        match self {
            Preset::Default => TrainConfig::default_calibrated(),
            Preset::Paper => TrainConfig::paper(),
            Preset::Fixed => TrainConfig::fixed_windows(),
            Preset::Eager => TrainConfig::eager(),
        }
    }
}

/// When a cleared run must have its forecast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Deadline {
    /// At the last forecasting window.
    LastWindow,
    /// By this many frames (one of the forecasting windows).
    By(usize),
}

/// The options a user may change in a preset; `None` keeps the preset's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overrides {
    pub screen_windows: Option<Vec<usize>>,
    pub forecast_windows: Option<Vec<usize>>,
    pub halt_windows: Option<Vec<usize>>,
    pub forecast_deadline: Option<Deadline>,
    pub k_grid: Option<Vec<usize>>,
    pub power_grid: Option<Vec<f64>>,
    pub target_precision: Option<f64>,
    pub min_cut: Option<f64>,
    pub min_halts: Option<usize>,
    pub screen_score: Option<ScoreKind>,
    pub max_early_miss: Option<f64>,
    pub tolerance: Option<f64>,
    /// The regression stages may halt (their one-sided bound, in the joint risk budget).
    #[serde(default)]
    pub regression_halts: Option<bool>,
    /// Keep this fraction of the variance (replaces the component grid).
    pub variance: Option<f64>,
    pub folds: Option<usize>,
    pub level: Option<f64>,
    pub seed: Option<u64>,
}

impl Overrides {
    /// Only the options of the validation (folds, level, seed): what configurations compared
    /// with one another share.
    pub fn shared(&self) -> Self {
        Self {
            folds: self.folds,
            level: self.level,
            seed: self.seed,
            ..Self::default()
        }
    }

    fn apply(&self, c: &mut TrainConfig) {
        fn set<T: Clone>(field: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *field = v.clone();
            }
        }
        set(&mut c.screen_windows, &self.screen_windows);
        set(&mut c.forecast_windows, &self.forecast_windows);
        set(&mut c.halt_windows, &self.halt_windows);
        set(&mut c.k_grid, &self.k_grid);
        set(&mut c.power_grid, &self.power_grid);
        set(&mut c.target_precision, &self.target_precision);
        set(&mut c.min_cut, &self.min_cut);
        set(&mut c.min_halts, &self.min_halts);
        set(&mut c.screen_score, &self.screen_score);
        set(&mut c.max_early_miss, &self.max_early_miss);
        set(&mut c.regression_halts, &self.regression_halts);
        set(&mut c.folds, &self.folds);
        set(&mut c.level, &self.level);
        set(&mut c.seed, &self.seed);
        if let Some(t) = self.tolerance {
            c.tolerance = Some(t);
        }
        if let Some(d) = self.forecast_deadline {
            c.forecast_deadline = match d {
                Deadline::LastWindow => None,
                Deadline::By(w) => Some(w),
            };
        }
        if let Some(v) = self.variance {
            c.recipe.components = ComponentRule::VarianceFraction(v);
            c.component_grid.clear();
        }
    }
}

/// A training configuration as asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    pub preset: Preset,
    pub overrides: Overrides,
}

/// What [`TrainParams::check`] changed in a preset to fit the traces.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Adapted {
    /// Preset windows dropped because the shortest trace does not outlast them.
    pub dropped_windows: Vec<usize>,
    /// The halting windows and forecast deadline after the change, when they moved.
    pub halt_windows: Option<Vec<usize>>,
    pub forecast_deadline: Option<Option<usize>>,
}

impl Adapted {
    pub fn is_empty(&self) -> bool {
        self.dropped_windows.is_empty()
    }
}

impl std::fmt::Display for Adapted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "dropped the preset's windows {:?}", self.dropped_windows)?;
        if let Some(h) = &self.halt_windows {
            write!(f, "; halting windows now {h:?}")?;
        }
        match self.forecast_deadline {
            Some(Some(d)) => write!(f, "; forecast deadline now {d} frames"),
            Some(None) => write!(f, "; forecast deadline now the last forecasting window"),
            None => Ok(()),
        }
    }
}

impl TrainParams {
    pub fn new(preset: Preset) -> Self {
        Self {
            preset,
            overrides: Overrides::default(),
        }
    }

    /// The preset with the overrides, fitted to traces whose shortest has `shortest` frames and
    /// validated. Errors name every option at fault.
    pub fn check(&self, shortest: usize) -> Result<(TrainConfig, Adapted)> {
        let mut cfg = self.preset.config();
        self.overrides.apply(&mut cfg);
        let o = &self.overrides;
        // Windows the user set must fit the traces: name every option that does not.
        let too_long = |name: &str, set: &Option<Vec<usize>>| {
            set.as_ref()
                .and_then(|v| v.iter().copied().filter(|&w| w >= shortest).max())
                .map(|w| format!("{name} (up to {w})"))
        };
        let deadline_too_long = match o.forecast_deadline {
            Some(Deadline::By(w)) if w >= shortest => Some(format!("--forecast-by ({w})")),
            _ => None,
        };
        let faults: Vec<String> = [
            too_long("--screen-windows", &o.screen_windows),
            too_long("--forecast-windows", &o.forecast_windows),
            too_long("--halt-windows", &o.halt_windows),
            deadline_too_long,
        ]
        .into_iter()
        .flatten()
        .collect();
        if !faults.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "the shortest trace has {shortest} frames, and a stage must decide before a run \
                 ends: {} ask for windows of {shortest} frames or more; choose windows below \
                 {shortest} for all of --screen-windows, --forecast-windows, --halt-windows and \
                 --forecast-by",
                faults.join(", ")
            )));
        }
        let adapted = fit_windows(&mut cfg, o, shortest);
        if cfg.screen_windows.is_empty() && cfg.forecast_windows.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "the shortest trace has {shortest} frames, fewer than every window of the {:?} \
                 preset; set --screen-windows, --forecast-windows and --halt-windows below \
                 {shortest} (and --tail for the frames the result is taken over)",
                self.preset
            )));
        }
        cfg.validate()?;
        Ok((cfg, adapted))
    }
}

/// Drops the preset windows (those the user did not set) that the shortest trace does not
/// outlast, and moves the halting windows and the forecast deadline onto the kept ones.
fn fit_windows(cfg: &mut TrainConfig, o: &Overrides, shortest: usize) -> Adapted {
    let mut adapted = Adapted::default();
    let fits = |w: &usize| *w < shortest;
    if o.screen_windows.is_none() {
        adapted
            .dropped_windows
            .extend(cfg.screen_windows.iter().filter(|w| !fits(w)));
        cfg.screen_windows.retain(fits);
    }
    if o.forecast_windows.is_none() {
        adapted
            .dropped_windows
            .extend(cfg.forecast_windows.iter().filter(|w| !fits(w)));
        cfg.forecast_windows.retain(fits);
    }
    adapted.dropped_windows.sort_unstable();
    adapted.dropped_windows.dedup();
    if adapted.is_empty() {
        return adapted;
    }
    if o.halt_windows.is_none() && !cfg.halt_windows.is_empty() {
        let wanted = cfg.halt_windows.len();
        cfg.halt_windows.retain(|w| cfg.screen_windows.contains(w));
        if cfg.halt_windows.is_empty() {
            // The preset halts only late: halt at as many of the latest kept screening windows.
            let n = cfg.screen_windows.len();
            cfg.halt_windows = cfg.screen_windows[n.saturating_sub(wanted)..].to_vec();
        }
        adapted.halt_windows = Some(cfg.halt_windows.clone());
    }
    if o.forecast_deadline.is_none() {
        if let Some(d) = cfg.forecast_deadline {
            if !cfg.forecast_windows.contains(&d) {
                // The latest kept forecasting window before the deadline, else the last one.
                cfg.forecast_deadline = cfg
                    .forecast_windows
                    .iter()
                    .copied()
                    .filter(|&w| w <= d)
                    .max();
                adapted.forecast_deadline = Some(cfg.forecast_deadline);
            }
        }
    }
    // A last forecasting window before the last screening window cannot forecast a run cleared
    // there: drop screening windows past the last forecasting one.
    if let Some(&last_forecast) = cfg.forecast_windows.iter().max() {
        cfg.screen_windows.retain(|&w| w <= last_forecast);
        cfg.halt_windows.retain(|&w| w <= last_forecast);
    }
    adapted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_fit_long_traces_unchanged() {
        for preset in Preset::ALL {
            let (cfg, adapted) = TrainParams::new(preset).check(1500).unwrap();
            assert_eq!(cfg, preset.config(), "{preset:?}");
            assert!(adapted.is_empty());
        }
    }

    #[test]
    fn default_windows_follow_short_traces() {
        let (cfg, adapted) = TrainParams::new(Preset::Default).check(600).unwrap();
        assert_eq!(cfg.screen_windows, vec![50, 100, 150, 200, 300, 400]);
        let every_50 = |to: usize| (2..=to / 50).map(|i| 50 * i).collect::<Vec<usize>>();
        assert_eq!(cfg.forecast_windows, every_50(550));
        // The preset halts at 600/800 only: the two latest kept screening windows halt now.
        assert_eq!(cfg.halt_windows, vec![300, 400]);
        assert_eq!(cfg.forecast_deadline, None);
        assert_eq!(adapted.dropped_windows, every_50(1400)[10..].to_vec());
        let (cfg, _) = TrainParams::new(Preset::Default).check(180).unwrap();
        assert_eq!(cfg.screen_windows, vec![50, 100, 150]);
        assert_eq!(cfg.forecast_windows, vec![100, 150]);
    }

    #[test]
    fn windows_set_by_the_user_are_checked_and_every_fault_is_named() {
        let mut p = TrainParams::new(Preset::Default);
        p.overrides.screen_windows = Some(vec![100, 700]);
        p.overrides.forecast_windows = Some(vec![200, 800]);
        p.overrides.halt_windows = Some(vec![700]);
        p.overrides.forecast_deadline = Some(Deadline::By(800));
        let e = p.check(600).unwrap_err().to_string();
        for option in [
            "--screen-windows (up to 700)",
            "--forecast-windows (up to 800)",
            "--halt-windows (up to 700)",
            "--forecast-by (800)",
        ] {
            assert!(e.contains(option), "{option} in: {e}");
        }
    }

    #[test]
    fn traces_shorter_than_every_window_are_an_error_naming_the_options() {
        let e = TrainParams::new(Preset::Paper)
            .check(90)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--screen-windows") && e.contains("--tail"),
            "{e}"
        );
    }

    #[test]
    fn overrides_merge_by_field_and_shared_keeps_the_validation_options() {
        let o = Overrides {
            k_grid: Some(vec![3]),
            tolerance: Some(0.5),
            forecast_deadline: Some(Deadline::LastWindow),
            folds: Some(4),
            seed: Some(7),
            ..Overrides::default()
        };
        let (cfg, _) = TrainParams {
            preset: Preset::Default,
            overrides: o.clone(),
        }
        .check(2000)
        .unwrap();
        assert_eq!(cfg.k_grid, vec![3]);
        assert_eq!(cfg.tolerance, Some(0.5));
        assert_eq!(cfg.forecast_deadline, None);
        assert_eq!((cfg.folds, cfg.seed), (4, 7));
        assert_eq!(
            o.shared(),
            Overrides {
                folds: Some(4),
                seed: Some(7),
                ..Overrides::default()
            }
        );
    }
}
