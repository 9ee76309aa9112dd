//! One run as the campaign keeps it: `runs/<id>.trace` (its frames, as a `fix ave/time` file the
//! trace readers take) and `runs/<id>.json` (what happened to it). The JSON is written last and
//! is what makes a run recorded: a reader never sees a run without its trace.

use serde::{Deserialize, Serialize};

use crate::error::{CampaignError, Result};

/// What the model decided for a run (whether or not the run obeyed).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Decision {
    /// Nothing to act on: the run goes to its end.
    RunToEnd,
    /// Halt after `frame` frames: the run is not worth finishing.
    Halt { frame: usize },
    /// Stop after `frame` frames with μ in [lo, hi] at the model's interval `level`.
    Forecast {
        frame: usize,
        mu_hat: f64,
        lo: f64,
        hi: f64,
        level: f64,
    },
}

impl Decision {
    pub fn acts(&self) -> bool {
        !matches!(self, Decision::RunToEnd)
    }
}

/// How the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// Ran all its frames (the only runs whose μ is known: the labelled ones).
    Finished,
    /// Halted by the model after `frame` frames.
    Halted { frame: usize },
    /// Stopped at a forecast after `frame` frames.
    Forecast {
        frame: usize,
        mu_hat: f64,
        lo: f64,
        hi: f64,
    },
}

/// Why a run the model would have stopped ran to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Override {
    /// Chosen by the audit hash: it labels the decision.
    Audit,
    /// The campaign was advisory: the audit had shown the model below target.
    Advisory,
    /// The run was halted, then resumed from its restart file by the user and finished (see
    /// `resume.rs`). It labels the halt, but was chosen, not drawn: it never counts in the
    /// audited precision.
    Resumed,
}

/// A run to record.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub run_id: String,
    pub column: String,
    pub frame_spacing: i64,
    /// The frames simulated (all of them for a finished run, up to the stop otherwise).
    pub values: Vec<f64>,
    /// The run's full length in frames when it is known beforehand (a LAMMPS `run N`).
    pub declared_len: Option<usize>,
    pub outcome: Outcome,
    /// For a finished run the model would have stopped: what it would have done, and why it
    /// did not.
    pub overridden: Option<(Decision, Override)>,
    /// The model version that decided (None: no model yet).
    pub model: Option<u32>,
    /// For a halted run: the restart file its input script writes after the halt (a resume
    /// continues from it), when the fix was told (keyword `restart FILE`).
    pub restart: Option<String>,
}

/// What `runs/<id>.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredRun {
    pub run_id: String,
    pub frames: usize,
    pub declared_len: Option<usize>,
    pub outcome: Outcome,
    pub overridden: Option<(Decision, Override)>,
    pub model: Option<u32>,
    /// μ over the campaign's tail, for a finished run long enough.
    pub mu: Option<f64>,
    pub recorded_unix: f64,
    pub host: String,
    pub pid: u32,
    /// A halted run's restart file, when its fix named one (absent in older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
}

impl StoredRun {
    /// A finished run with a μ: what training learns from.
    pub fn labelled(&self) -> bool {
        matches!(self.outcome, Outcome::Finished) && self.mu.is_some()
    }
}

/// Run ids become file names: a safe, portable subset.
pub fn check_run_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 200
        && !id.starts_with(['.', '-'])
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(CampaignError::BadRunId(id.into()))
    }
}

impl RunRecord {
    pub fn check(&self) -> Result<()> {
        check_run_id(&self.run_id)?;
        let bad = |m: String| {
            Err(CampaignError::Invalid(format!(
                "run '{}': {m}",
                self.run_id
            )))
        };
        if let Some((i, v)) = self.values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return bad(format!("frame {i} is {v}"));
        }
        let n = self.values.len();
        match self.outcome {
            Outcome::Halted { frame } | Outcome::Forecast { frame, .. } if frame != n => bad(
                format!("stopped after {frame} frames but {n} frames were given"),
            ),
            Outcome::Forecast { lo, hi, .. } if !(lo.is_finite() && hi.is_finite() && lo <= hi) => {
                bad(format!("forecast interval [{lo}, {hi}]"))
            }
            _ if n == 0 => bad("has no frames".into()),
            _ if self.overridden.is_some() && self.outcome != Outcome::Finished => {
                bad("only a finished run can have been audited".into())
            }
            _ if self.restart.is_some() && !matches!(self.outcome, Outcome::Halted { .. }) => {
                bad("only a halted run has a restart file to resume from".into())
            }
            _ => Ok(()),
        }
    }

    /// The trace as a `fix ave/time` file.
    pub fn trace_text(&self) -> String {
        let mut s = String::with_capacity(self.values.len() * 24 + 64);
        s.push_str(&format!(
            "# simforecast campaign run {}\n# TimeStep {}\n",
            self.run_id, self.column
        ));
        for (i, v) in self.values.iter().enumerate() {
            s.push_str(&format!("{} {v:?}\n", (i as i64 + 1) * self.frame_spacing));
        }
        s
    }
}
