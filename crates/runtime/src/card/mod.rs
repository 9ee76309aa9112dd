//! The model card: one typed description of a model and its stages, built from the model alone,
//! shown to people through `Display` (`simforecast inspect`, `train`'s summary, the LAMMPS fix's
//! log through `sf_model_describe`) and to scripts through `Serialize` (`inspect --json`).

mod text;

use serde::Serialize;

use crate::knn::Weighting;
use crate::model::{Direction, JointRisk, Metadata, Model, FORMAT_VERSION};
use crate::stage::{
    Bound, Clearing, Cut, ForecastCalibration, HaltTarget, Halting, Neighbourhood, Recipe,
    RegressionRule, ScoreKind, SignalGuard, Stage, StopPoint,
};

/// A model described: what it reads, how it labels runs, what it was trained on, what it
/// decides and when, and every stage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelCard {
    pub preset: String,
    /// Version of simforecast that trained the model, and the model file format.
    pub simforecast_version: String,
    pub format_version: u32,
    /// ISO 8601 UTC, e.g. `2026-12-02T03:04:05Z`.
    pub created: String,
    pub input: Input,
    pub label: Label,
    pub training: Training,
    pub recipe: Recipe,
    /// FPCA component counts cross-validated per stage (empty: the recipe's rule).
    pub component_grid: Vec<usize>,
    pub decisions: Decisions,
    /// The halting rule over all halting windows together, out of fold, and its certificate
    /// (None: no stage met its own halting target).
    pub risk: Option<JointRisk>,
    /// The regression stages' tolerance table and halting rule, kept once for the model (None:
    /// no regression stage).
    pub regression: Option<RegressionRule>,
    /// The stop rule in force at a few tolerances (the table read as a user sets it).
    pub tolerances: Vec<ToleranceRow>,
    pub stages: Vec<StageCard>,
}

/// The regression stages' stop rule in force at one tolerance (None: none that precise).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToleranceRow {
    pub tolerance: f64,
    pub rule: Option<StopPoint>,
}

/// The tolerances the card reads the table at: a grid, and the model's own.
fn tolerance_rows(rule: &RegressionRule) -> Vec<ToleranceRow> {
    let mut at: Vec<f64> = vec![0.1, 0.25, 0.5, 1.0, rule.table.tolerance];
    at.sort_by(f64::total_cmp);
    at.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    at.into_iter()
        .map(|t| ToleranceRow {
            tolerance: t,
            rule: rule.table.at(t).copied(),
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Input {
    pub column: String,
    pub units: Option<String>,
    /// Steps between frames.
    pub frame_spacing: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Label {
    pub threshold: f64,
    /// Irrelevant when μ is above (or below) the threshold.
    pub direction: Direction,
    /// μ and σ are taken over this many final frames.
    pub tail: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Training {
    pub traces: usize,
    pub irrelevant: usize,
    pub mean_length: f64,
    pub sha256: String,
    pub cv_folds: usize,
    pub seed: u64,
}

/// What the model does to a run, and from which frame.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decisions {
    /// Windows of the stages that may halt (empty: the model never halts).
    pub halting_windows: Vec<usize>,
    /// Window of the first stage that clears runs as relevant early, when one does.
    pub first_clearing: Option<usize>,
    /// Window of the last screening stage, which clears the runs it does not halt whose
    /// neighbours are mostly relevant (None: no screening, every run is forecast).
    pub last_screen: Option<usize>,
    /// Window by which a cleared run gets its forecast whatever its width: the deadline, else
    /// the last KNN forecasting stage (None: no such stage; regression stages forecast only
    /// within tolerance).
    pub forecast_by: Option<usize>,
    /// Relative half-width of the interval within which a run is forecast (the model's; None:
    /// any width).
    pub tolerance: Option<f64>,
    /// Windows of the regression stages, which forecast any run not halted at the first window
    /// within tolerance (empty: none).
    pub tolerance_windows: Vec<usize>,
    /// Nominal coverage of the forecast interval.
    pub level: Option<f64>,
}

/// One stage described.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageCard {
    pub index: usize,
    pub window: usize,
    pub training_traces: usize,
    /// The KNN over functional features (None: a regression stage has none).
    #[serde(flatten)]
    pub neighbours: Option<NeighboursCard>,
    /// Level, scale and sign a window must have to be in distribution (None: no guard).
    pub signal_guard: Option<SignalGuard>,
    #[serde(flatten)]
    pub kind: StageKind,
}

/// A stage's KNN over functional features.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct NeighboursCard {
    pub k: usize,
    pub power: f64,
    pub weighting: Weighting,
    pub knots: usize,
    pub components: usize,
    pub features: usize,
    /// k-th neighbour distance beyond which a trace is out of distribution (None: no guard).
    pub ood_max_distance: Option<f64>,
}

impl NeighboursCard {
    fn of(nh: &Neighbourhood) -> Self {
        Self {
            k: nh.params.k,
            power: nh.params.power,
            weighting: nh.params.weighting,
            knots: nh.features.n_knots,
            components: nh.features.n_components,
            features: nh.features.dim(),
            ood_max_distance: nh.distance.map(|g| g.max_distance),
        }
    }
}

/// What a stage decides.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum StageKind {
    Screen(ScreenCard),
    Forecast(ForecastCalibration),
    Regression(RegressionCard),
}

/// A regression stage described (the tolerance table and halting rule are the model's).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegressionCard {
    /// Out-of-fold R² of ln μ at this window.
    pub cv_r2_log_mu: Option<f64>,
    /// The ridge penalty of the ln μ fit cross-validation chose (None: no fit, the window's own
    /// mean forecast best out of fold: the persistence baseline is the stage).
    pub penalty: Option<f64>,
}

/// A screening stage described.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScreenCard {
    pub score: ScoreKind,
    /// Margins: of ln μ (else μ itself).
    pub log_space: Option<bool>,
    /// Margins: a halt also needs this vote of irrelevant neighbours.
    pub vote_floor: Option<f64>,
    pub halting: HaltingCard,
    pub clearing: Option<Clearing>,
    /// Out-of-fold F1 of the majority vote (the paper's rule).
    pub cv_f1_majority: f64,
}

/// Whether a screening stage halts, and when it does not, why.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HaltingCard {
    Halts {
        cut: Cut,
        /// Margins: out-of-fold one-sided coverage of the bound the cut stands for.
        cv_level: Option<f64>,
    },
    Advisory {
        reason: AdvisoryReason,
        /// The best cut found (its verdicts are reported as advisory).
        best_cut: Option<Cut>,
    },
}

/// Why a screening stage never halts, and roughly what it would take.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum AdvisoryReason {
    /// Not among the halting windows of the training configuration.
    NotAHaltingWindow,
    /// No out-of-fold run scored within the range a cut may take.
    NoCandidate { lowest_cut: Option<Bound> },
    /// The best cut's out-of-fold precision (counted with the prior) is below the target.
    LowPrecision { precision: f64, target: f64 },
    /// The precision target is reached, with fewer true out-of-fold halts than required.
    TooFewHalts { true_halts: usize, required: usize },
    /// The cut met the stage's own target, but the halting windows together could not be
    /// certified (the model card's `risk`).
    Uncertified,
}

impl AdvisoryReason {
    /// Why no cut met the target: none to choose from, or what the best one lacked.
    fn below_target(best: Option<&Cut>, target: &HaltTarget) -> Self {
        let Some(cut) = best else {
            return AdvisoryReason::NoCandidate {
                lowest_cut: target.lowest_cut,
            };
        };
        let precision = target.guarded_precision(cut);
        if precision >= target.precision {
            AdvisoryReason::TooFewHalts {
                true_halts: cut.cv_true_halts,
                required: target.min_halts,
            }
        } else {
            AdvisoryReason::LowPrecision {
                precision,
                target: target.precision,
            }
        }
    }
}

impl StageCard {
    /// The card of stage `index` of a model.
    pub fn new(index: usize, stage: &Stage) -> Self {
        let kind = match stage {
            Stage::Screen(s) => {
                let cal = &s.calibration;
                let margin = cal.score.margin();
                let halting = match cal.halting {
                    Halting::Halts(cut) => HaltingCard::Halts {
                        cut,
                        cv_level: margin.and_then(|m| m.cv_level),
                    },
                    Halting::NotAHaltingWindow(best_cut) => HaltingCard::Advisory {
                        reason: AdvisoryReason::NotAHaltingWindow,
                        best_cut,
                    },
                    Halting::BelowTarget(best_cut) => HaltingCard::Advisory {
                        reason: AdvisoryReason::below_target(best_cut.as_ref(), &cal.target),
                        best_cut,
                    },
                    Halting::Uncertified(cut) => HaltingCard::Advisory {
                        reason: AdvisoryReason::Uncertified,
                        best_cut: Some(cut),
                    },
                };
                StageKind::Screen(ScreenCard {
                    score: cal.score.kind(),
                    log_space: margin.map(|m| m.log_space),
                    vote_floor: margin.and_then(|m| m.vote_floor),
                    halting,
                    clearing: cal.clearing,
                    cv_f1_majority: cal.cv_f1_majority,
                })
            }
            Stage::Forecast(f) => StageKind::Forecast(f.calibration.clone()),
            Stage::Regression(r) => StageKind::Regression(RegressionCard {
                cv_r2_log_mu: r.cv_r2_log_mu,
                penalty: r.log_mu.penalty,
            }),
        };
        let training_traces = match stage {
            Stage::Regression(r) => r.training_traces,
            _ => stage.neighbourhood().map_or(0, |nh| nh.points.len()),
        };
        Self {
            index,
            window: stage.window(),
            training_traces,
            neighbours: stage.neighbourhood().map(NeighboursCard::of),
            signal_guard: stage.signal_guard().copied(),
            kind,
        }
    }

    /// True for a screening stage that may halt.
    pub fn halts(&self) -> bool {
        matches!(
            &self.kind,
            StageKind::Screen(ScreenCard {
                halting: HaltingCard::Halts { .. },
                ..
            })
        )
    }
}

impl ModelCard {
    pub fn new(model: &Model) -> Self {
        let m: &Metadata = &model.meta;
        let stages: Vec<StageCard> = model
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| StageCard::new(i, s))
            .collect();
        let screens = || {
            stages.iter().filter_map(|s| match &s.kind {
                StageKind::Screen(c) => Some((s.window, c)),
                _ => None,
            })
        };
        let forecasts = || {
            stages.iter().filter_map(|s| match &s.kind {
                StageKind::Forecast(c) => Some((s.window, c)),
                _ => None,
            })
        };
        let decisions = Decisions {
            halting_windows: {
                // The regression stages halt from the rule's first window on.
                let regression_from = model
                    .regression
                    .as_ref()
                    .and_then(|r| r.halting)
                    .filter(|h| h.certified)
                    .map(|h| h.from_window);
                let mut w: Vec<usize> = stages
                    .iter()
                    .filter(|s| {
                        s.halts()
                            || (matches!(s.kind, StageKind::Regression(_))
                                && regression_from.is_some_and(|f| s.window >= f))
                    })
                    .map(|s| s.window)
                    .collect();
                w.dedup();
                w
            },
            first_clearing: screens()
                .find(|(_, c)| c.clearing.is_some())
                .map(|(w, _)| w),
            last_screen: screens().next_back().map(|(w, _)| w),
            forecast_by: forecasts()
                .find(|(_, c)| c.deadline)
                .or_else(|| forecasts().next_back())
                .map(|(w, _)| w),
            tolerance: model.tolerance(),
            tolerance_windows: stages
                .iter()
                .filter(|s| matches!(s.kind, StageKind::Regression(_)))
                .map(|s| s.window)
                .collect(),
            level: model
                .regression
                .as_ref()
                .map(|r| r.table.level)
                .or_else(|| {
                    model.stages.iter().find_map(|s| match s {
                        Stage::Forecast(f) => Some(f.calibration.level),
                        Stage::Regression(_) | Stage::Screen(_) => None,
                    })
                }),
        };
        Self {
            preset: m.preset.clone(),
            simforecast_version: m.crate_version.clone(),
            format_version: FORMAT_VERSION,
            created: iso8601_utc(m.created_unix),
            input: Input {
                column: m.column.clone(),
                units: m.units.clone(),
                frame_spacing: m.frame_spacing,
            },
            label: Label {
                threshold: m.threshold,
                direction: m.direction,
                tail: m.tail,
            },
            training: Training {
                traces: m.n_traces,
                irrelevant: m.n_irrelevant,
                mean_length: m.mean_trace_len,
                sha256: m.training_hash.clone(),
                cv_folds: m.cv_folds,
                seed: m.seed,
            },
            recipe: m.recipe.clone(),
            component_grid: m.component_grid.clone(),
            decisions,
            risk: model.risk.clone(),
            regression: model.regression.clone(),
            tolerances: model.regression.as_ref().map_or(Vec::new(), tolerance_rows),
            stages,
        }
    }
}

impl Model {
    /// The model's card.
    pub fn card(&self) -> ModelCard {
        ModelCard::new(self)
    }
}

/// Seconds since the Unix epoch as ISO 8601 UTC (`1970-01-01T00:00:00Z`).
pub fn iso8601_utc(unix: u64) -> String {
    let (days, secs) = (unix / 86_400, unix % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March first
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::iso8601_utc;

    #[test]
    fn dates_are_iso_8601_utc() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601_utc(1_796_122_884), "2026-12-01T11:01:24Z");
        assert_eq!(iso8601_utc(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(iso8601_utc(4_107_542_400), "2100-03-01T00:00:00Z");
    }
}
