//! The campaign's configuration, `DIR/campaign.json`: versioned and checksummed, so a damaged or
//! foreign file is refused on read, and compared field by field with what a caller asks for, so
//! a directory made for another threshold, column or frame spacing is refused by name.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use simforecast_runtime::model::Direction;

use crate::error::{io, CampaignError, Result};

pub const CONFIG_FILE: &str = "campaign.json";
const FORMAT: &str = "simforecast-campaign";
pub const FORMAT_VERSION: u32 = 2;

/// What a campaign decides by; fixed at `init` (column and frame spacing may be left open and
/// are then pinned by the first recorded run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub threshold: f64,
    pub direction: Direction,
    /// A forecast stops a run only when its interval's relative half-width is within this.
    pub tolerance: f64,
    /// Share of would-be halts and would-be forecast stops that run to the end instead.
    pub audit: f64,
    /// The trace column (None: the first recorded run's).
    pub column: Option<String>,
    /// Steps between frames (None: the first recorded run's).
    pub frame_spacing: Option<i64>,
    /// Frames at the end of a run over which its result μ is taken.
    pub tail: usize,
    /// First model once this many labelled (finished) runs are recorded ...
    pub first_model_at: usize,
    /// ... and a new one each time this many more runs are recorded (one more finished).
    pub retrain_every: usize,
    /// Halting precision the audit must not show to be missed (its upper bound below it turns
    /// the campaign advisory); the forecast coverage target is the model's interval level.
    pub target_precision: f64,
    /// Which evidence may halt a run (certified together against `target_precision`).
    pub halting: Halting,
}

/// The evidence a campaign's models may halt a run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Halting {
    /// The screening stages' votes at their windows (the default preset).
    Screening,
    /// Also the forecasting stages' one-sided bound on μ, the run's evidence accumulated over
    /// every window from the first halting window on: more doomed runs halted, and held out
    /// a lower precision than the screening alone (0.89-0.97 against a 0.9 target on the
    /// shipped campaigns) — for campaigns whose audit watches it.
    Accumulated,
}

impl Config {
    pub fn new(threshold: f64, direction: Direction) -> Self {
        Self {
            threshold,
            direction,
            tolerance: simforecast_train::savings::DEFAULT_BANK_AT,
            audit: 0.1,
            column: None,
            frame_spacing: None,
            tail: 1000,
            first_model_at: 30,
            retrain_every: 25,
            target_precision: 0.95,
            halting: Halting::Screening,
        }
    }

    /// The settings in one line (for `init`, the fix's log and the campaign's log).
    pub fn summary(&self) -> String {
        let side = match self.direction {
            Direction::Above => "above",
            Direction::Below => "below",
        };
        let halting = match self.halting {
            Halting::Screening => "screening votes",
            Halting::Accumulated => "screening votes and accumulated evidence on mu",
        };
        format!(
            "threshold {} (irrelevant {side}), tolerance {}, audit {:.0} %, first model at {} \
             finished runs, then every {} recorded; halts on {halting} at target precision {}",
            self.threshold,
            self.tolerance,
            100.0 * self.audit,
            self.first_model_at,
            self.retrain_every,
            self.target_precision
        )
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(CampaignError::Invalid(m));
        if !self.threshold.is_finite() {
            return bad(format!("threshold must be finite, got {}", self.threshold));
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return bad(format!(
                "tolerance must be positive, got {}",
                self.tolerance
            ));
        }
        if !(0.0..=1.0).contains(&self.audit) {
            return bad(format!(
                "audit fraction must be in [0, 1], got {}",
                self.audit
            ));
        }
        if self.tail < 2 {
            return bad(format!("tail must be at least 2 frames, got {}", self.tail));
        }
        if self.first_model_at < 2 || self.retrain_every == 0 {
            return bad("first model needs at least 2 runs, retraining at least 1 new run".into());
        }
        if !(0.0..=1.0).contains(&self.target_precision) {
            return bad(format!(
                "target precision must be in [0, 1], got {}",
                self.target_precision
            ));
        }
        if self.frame_spacing.is_some_and(|s| s <= 0) {
            return bad("frame spacing must be positive".into());
        }
        Ok(())
    }

    /// The differences that make `self` (on disk) another campaign than `asked`: the label and
    /// the input (a column or spacing left open on either side matches anything).
    pub fn conflicts(&self, asked: &Config) -> Vec<String> {
        let mut out = Vec::new();
        let dir = |d: Direction| match d {
            Direction::Above => "above",
            Direction::Below => "below",
        };
        if self.threshold != asked.threshold || self.direction != asked.direction {
            out.push(format!(
                "threshold {} (irrelevant {}) vs {} ({})",
                self.threshold,
                dir(self.direction),
                asked.threshold,
                dir(asked.direction)
            ));
        }
        if let (Some(a), Some(b)) = (&self.column, &asked.column) {
            if a != b {
                out.push(format!("column {a} vs {b}"));
            }
        }
        if let (Some(a), Some(b)) = (self.frame_spacing, asked.frame_spacing) {
            if a != b {
                out.push(format!("one frame every {a} steps vs every {b}"));
            }
        }
        if self.tail != asked.tail {
            out.push(format!("tail {} vs {}", self.tail, asked.tail));
        }
        out
    }

    /// Refuses a run read from another column or frame spacing than the campaign's.
    pub fn check_input(&self, dir: &Path, column: &str, spacing: i64) -> Result<()> {
        let mut asked = self.clone();
        asked.column = Some(column.to_string());
        asked.frame_spacing = Some(spacing);
        let c = self.conflicts(&asked);
        if c.is_empty() {
            return Ok(());
        }
        Err(CampaignError::Mismatch {
            dir: dir.to_path_buf(),
            existing: c.join(", "),
            asked: "this run".into(),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct ConfigFile {
    format: String,
    version: u32,
    config: Config,
    /// SHA-256 of the config's JSON: a hand-edited or truncated file is refused.
    sha256: String,
}

fn checksum(c: &Config) -> String {
    let json = serde_json::to_string(c).expect("config serialises");
    Sha256::digest(json.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn encode(c: &Config) -> Vec<u8> {
    let file = ConfigFile {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        config: c.clone(),
        sha256: checksum(c),
    };
    let mut s = serde_json::to_string_pretty(&file).expect("config serialises");
    s.push('\n');
    s.into_bytes()
}

pub fn read(dir: &Path) -> Result<Config> {
    let path = dir.join(CONFIG_FILE);
    if !dir.is_dir() {
        return Err(CampaignError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
        });
    }
    let text = match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CampaignError::NotACampaign(dir.to_path_buf()))
        }
        r => r.map_err(io(&path))?,
    };
    let corrupt = |why: String| CampaignError::Corrupt {
        path: path.clone(),
        why,
    };
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| corrupt(format!("not JSON ({e})")))?;
    if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(corrupt("not a simforecast campaign configuration".into()));
    }
    let found = v.get("version").and_then(|x| x.as_u64()).unwrap_or(0) as u32;
    if found != FORMAT_VERSION {
        return Err(CampaignError::Version {
            path,
            found,
            expected: FORMAT_VERSION,
        });
    }
    let file: ConfigFile =
        serde_json::from_value(v).map_err(|e| corrupt(format!("unreadable fields ({e})")))?;
    if checksum(&file.config) != file.sha256 {
        return Err(corrupt("checksum mismatch (edited or truncated?)".into()));
    }
    file.config.validate()?;
    Ok(file.config)
}
