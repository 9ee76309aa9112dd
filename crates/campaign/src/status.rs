//! What a campaign has done and what its audit shows: runs by outcome, the audited halting
//! precision and forecast coverage with Clopper–Pearson bounds, compute saved, the model history,
//! and whether the campaign is advisory.
//!
//! Compute saved counts the frames simulated against the runs' full lengths. A halted or
//! forecast run's full length is what it declared (a LAMMPS `run N`); when it declared none, the
//! median length of the campaign's finished runs stands in (and with no finished run, its own
//! frames: nothing is claimed).
//!
//! Advisory: when the upper 95 % bound of the audited halting precision is below the target
//! precision, or that of the audited coverage is below the intervals' level, the audit shows the
//! model misses its target, and the campaign stops acting (every run goes to its end, still
//! recorded and audited) until the audit no longer shows it — by campaign-wide figures, so a
//! retrained model must earn the trust back through the audit.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::models::{file_name, ModelInfo};
use crate::publish::utc;
use crate::record::{Decision, Outcome, Override, StoredRun};
use crate::stats::Share;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Status {
    pub runs: usize,
    pub finished: usize,
    pub halted: usize,
    pub forecast: usize,
    /// Finished runs the model would have stopped, let run by the audit ...
    pub audited: usize,
    /// ... or because the campaign was advisory.
    pub advisory_overrides: usize,
    /// Labelled runs: finished, with a μ (what training learns from).
    pub labelled: usize,
    /// Audited would-be halts whose run turned out irrelevant.
    pub halting_precision: Share,
    /// Audited would-be forecast stops whose interval covered μ; the target is `level`.
    pub coverage: Share,
    pub level: Option<f64>,
    pub target_precision: f64,
    pub frames_simulated: u64,
    /// Full lengths, halted and forecast runs at their declared (else the median finished) length.
    pub full_frames: u64,
    pub saved_share: f64,
    pub median_finished_len: Option<usize>,
    pub models: Vec<ModelInfo>,
    /// Why the campaign is advisory (None: it acts).
    pub advisory: Option<String>,
    /// Halted runs (a resume from their restart file continues them; resume.rs).
    pub halted_runs: Vec<HaltedRun>,
    /// Halted runs resumed from their restart file and finished (chosen by a user, not drawn:
    /// not in the audited precision) ...
    pub resumed: usize,
    /// ... of which the halt turned out wrong (μ relevant).
    pub resumed_relevant: usize,
}

/// A halted run, with the restart file that resumes it when its fix named one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HaltedRun {
    pub run_id: String,
    pub frame: usize,
    pub restart: Option<String>,
}

/// Audited decisions judged against the finished runs' μ.
fn audit_shares<'a>(
    config: &Config,
    runs: impl Iterator<Item = &'a StoredRun>,
) -> (Share, Share, Option<f64>) {
    let (mut hk, mut hn, mut fk, mut fn_) = (0, 0, 0, 0);
    let mut level = None;
    for r in runs {
        let (Some((d, Override::Audit)), Some(mu)) = (r.overridden, r.mu) else {
            continue;
        };
        match d {
            Decision::Halt { .. } => {
                hn += 1;
                hk += usize::from(config.direction.is_irrelevant(mu, config.threshold));
            }
            Decision::Forecast {
                lo, hi, level: l, ..
            } => {
                fn_ += 1;
                fk += usize::from(lo <= mu && mu <= hi);
                level = Some(l);
            }
            Decision::RunToEnd => {}
        }
    }
    (Share::new(hk, hn), Share::new(fk, fn_), level)
}

/// Why the audit makes the campaign advisory, if it does.
pub fn advisory<'a>(config: &Config, runs: impl Iterator<Item = &'a StoredRun>) -> Option<String> {
    let (precision, coverage, level) = audit_shares(config, runs);
    if precision.n > 0 && precision.high < config.target_precision {
        return Some(format!(
            "audited halting precision {precision} is below the target {}",
            config.target_precision
        ));
    }
    match level {
        Some(level) if coverage.n > 0 && coverage.high < level => Some(format!(
            "audited forecast coverage {coverage} is below the intervals' level {level}"
        )),
        _ => None,
    }
}

fn median(mut v: Vec<usize>) -> Option<usize> {
    v.sort_unstable();
    (!v.is_empty()).then(|| v[v.len() / 2])
}

impl Status {
    pub fn new(config: &Config, runs: &[StoredRun], models: Vec<ModelInfo>) -> Status {
        let count = |f: &dyn Fn(&StoredRun) -> bool| runs.iter().filter(|r| f(r)).count();
        let finished_lens: Vec<usize> = runs
            .iter()
            .filter(|r| r.outcome == Outcome::Finished)
            .map(|r| r.frames)
            .collect();
        let median_finished_len = median(finished_lens);
        let (halting_precision, coverage, level) = audit_shares(config, runs.iter());
        let frames_simulated: u64 = runs.iter().map(|r| r.frames as u64).sum();
        let full_frames: u64 = runs
            .iter()
            .map(|r| match r.outcome {
                Outcome::Finished => r.frames,
                _ => r
                    .declared_len
                    .or(median_finished_len)
                    .unwrap_or(r.frames)
                    .max(r.frames),
            } as u64)
            .sum();
        Status {
            runs: runs.len(),
            finished: count(&|r| r.outcome == Outcome::Finished),
            halted: count(&|r| matches!(r.outcome, Outcome::Halted { .. })),
            forecast: count(&|r| matches!(r.outcome, Outcome::Forecast { .. })),
            audited: count(&|r| matches!(r.overridden, Some((_, Override::Audit)))),
            advisory_overrides: count(&|r| matches!(r.overridden, Some((_, Override::Advisory)))),
            labelled: count(&|r| r.labelled()),
            halting_precision,
            coverage,
            level,
            target_precision: config.target_precision,
            frames_simulated,
            full_frames,
            saved_share: if full_frames > 0 {
                1.0 - frames_simulated as f64 / full_frames as f64
            } else {
                0.0
            },
            median_finished_len,
            models,
            advisory: advisory(config, runs.iter()),
            halted_runs: runs
                .iter()
                .filter_map(|r| match r.outcome {
                    Outcome::Halted { frame } => Some(HaltedRun {
                        run_id: r.run_id.clone(),
                        frame,
                        restart: r.restart.clone(),
                    }),
                    _ => None,
                })
                .collect(),
            resumed: count(&|r| matches!(r.overridden, Some((_, Override::Resumed)))),
            resumed_relevant: count(&|r| {
                matches!(r.overridden, Some((_, Override::Resumed)))
                    && r.mu
                        .is_some_and(|mu| !config.direction.is_irrelevant(mu, config.threshold))
            }),
        }
    }
}

/// One line for the log: "run_0003: halted at frame 600 (model-0002)".
pub fn describe_run(r: &StoredRun) -> String {
    let by = r.model.map_or("no model yet".into(), file_name);
    let what = match (r.outcome, r.overridden) {
        (Outcome::Finished, None) => format!("finished, {} frames", r.frames),
        (Outcome::Finished, Some((d, why))) => format!(
            "finished, {} frames; {} ({})",
            r.frames,
            describe_decision(&d),
            match why {
                Override::Audit => "audited: ran to the end",
                Override::Advisory => "not acted on: campaign advisory",
                Override::Resumed => "resumed from its restart file: ran to the end",
            }
        ),
        (Outcome::Halted { frame }, _) => format!("halted at frame {frame}"),
        (
            Outcome::Forecast {
                frame,
                mu_hat,
                lo,
                hi,
            },
            _,
        ) => {
            format!("forecast at frame {frame}: mu {mu_hat:.4} in [{lo:.4}, {hi:.4}]")
        }
    };
    format!("{}: {what} ({by})", r.run_id)
}

fn describe_decision(d: &Decision) -> String {
    match d {
        Decision::RunToEnd => "nothing to act on".into(),
        Decision::Halt { frame } => format!("would halt at frame {frame}"),
        Decision::Forecast { frame, lo, hi, .. } => {
            format!("would stop at frame {frame} with [{lo:.4}, {hi:.4}]")
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "runs: {} recorded — {} finished ({} labelled), {} halted, {} stopped at a forecast",
            self.runs, self.finished, self.labelled, self.halted, self.forecast
        )?;
        writeln!(
            f,
            "audit: {} would-be stops ran to the end{}",
            self.audited,
            if self.advisory_overrides > 0 {
                format!(", {} more while advisory", self.advisory_overrides)
            } else {
                String::new()
            }
        )?;
        writeln!(
            f,
            "  halting precision {} (target {})",
            self.halting_precision, self.target_precision
        )?;
        writeln!(
            f,
            "  forecast coverage {}{}",
            self.coverage,
            self.level
                .map_or(String::new(), |l| format!(" (level {l})"))
        )?;
        writeln!(
            f,
            "compute: {} frames simulated of {} full ({:.1} % saved; halted and forecast runs at \
             their declared length, else the median finished length {})",
            self.frames_simulated,
            self.full_frames,
            100.0 * self.saved_share,
            self.median_finished_len
                .map_or("-".into(), |m| m.to_string())
        )?;
        if self.models.is_empty() {
            writeln!(f, "models: none yet (the campaign collects runs)")?;
        } else {
            writeln!(f, "models:")?;
            for m in &self.models {
                writeln!(
                    f,
                    "  {}  {} labelled runs ({} irrelevant) of {} recorded, trained {} in {:.1} s",
                    file_name(m.version),
                    m.labelled_runs,
                    m.irrelevant,
                    m.recorded_runs,
                    utc(m.trained_unix),
                    m.train_seconds
                )?;
            }
        }
        if self.resumed > 0 {
            writeln!(
                f,
                "resumed halts: {} ({} turned out relevant; chosen, not drawn: not in the audited \
                 precision)",
                self.resumed, self.resumed_relevant
            )?;
        }
        if !self.halted_runs.is_empty() {
            writeln!(
                f,
                "halted runs: {} (resume one: read_restart its restart file, define the same fix \
                 forecast, run on; README \"Campaign mode\")",
                self.halted_runs.len()
            )?;
            for h in self.halted_runs.iter().take(20) {
                writeln!(
                    f,
                    "  {} at frame {}: {}",
                    h.run_id,
                    h.frame,
                    h.restart.as_deref().map_or_else(
                        || "no restart file named (fix keyword restart FILE)".to_string(),
                        |p| format!("restart {p}")
                    )
                )?;
            }
            if self.halted_runs.len() > 20 {
                writeln!(f, "  and {} more", self.halted_runs.len() - 20)?;
            }
        }
        match &self.advisory {
            Some(why) => write!(f, "ADVISORY: {why}: the model's decisions are not acted on"),
            None => write!(
                f,
                "acting: {}",
                if self.models.is_empty() {
                    "no model yet"
                } else {
                    "the audit does not show the model below target"
                }
            ),
        }
    }
}
