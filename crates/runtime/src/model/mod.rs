//! A trained model: its stages, the metadata a user or the LAMMPS fix must check, and the file
//! format.
//!
//! File layout (all integers little-endian):
//! ```text
//! offset 0   8 bytes  magic "SIMFCST\0"
//! offset 8   u32      format version (FORMAT_VERSION)
//! offset 12  u64      payload length L
//! offset 20  L bytes  payload (serialised Model, see codec.rs)
//! offset 20+L u32     CRC-32 of bytes [0, 20+L)
//! ```

mod codec;
mod risk;

pub use risk::JointRisk;

use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::Error;
use crate::stage::{Recipe, RegressionRule, Role, Stage};

pub const MAGIC: [u8; 8] = *b"SIMFCST\0";
/// Version 7: one tolerance table for the model's regression stages together ([`RegressionRule`],
/// no longer a copy in every stage), of stop rules chosen monotonically in the tolerance, and the
/// regression stages' halting rule. Version 6: regression forecasting stages and tolerance tables (KNN tolerances are relative
/// half-widths); the model records its one risk budget over the halting windows ([`JointRisk`]),
/// and a screening stage may be advisory because that budget could not be certified. Version 5:
/// every stage's neighbourhood has a signal guard (level, scale and sign of the
/// window) beside its distance guard. Version 4: stages as an enum of their kinds, absent values
/// as options, no notes.
pub const FORMAT_VERSION: u32 = 7;
const HEADER_LEN: usize = 20;

/// Which side of the threshold is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Irrelevant when μ > threshold (viscosity too high: the paper's case).
    Above,
    /// Irrelevant when μ < threshold.
    Below,
}

impl Direction {
    pub fn is_irrelevant(self, mu: f64, threshold: f64) -> bool {
        match self {
            Direction::Above => mu > threshold,
            Direction::Below => mu < threshold,
        }
    }

    /// +1 when irrelevant means above the threshold, −1 below: the sign that makes a distance
    /// beyond the threshold positive on the irrelevant side.
    pub fn sign(self) -> f64 {
        match self {
            Direction::Above => 1.0,
            Direction::Below => -1.0,
        }
    }

    /// The comparison a run's μ must pass to be irrelevant (">" or "<").
    pub fn symbol(self) -> &'static str {
        match self {
            Direction::Above => ">",
            Direction::Below => "<",
        }
    }
}

/// Everything about how a model was made that a user or the fix may need to check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub crate_version: String,
    /// Seconds since the Unix epoch.
    pub created_unix: u64,
    /// Input column the traces were read from (e.g. `v_eta`) and its units when known.
    pub column: String,
    pub units: Option<String>,
    /// Steps between consecutive frames in the training traces.
    pub frame_spacing: i64,
    pub threshold: f64,
    pub direction: Direction,
    /// μ and σ are taken over this many final frames.
    pub tail: usize,
    pub n_traces: usize,
    pub n_irrelevant: usize,
    /// SHA-256 over the training traces' names and values (hex), to identify the training set.
    pub training_hash: String,
    pub mean_trace_len: f64,
    /// Name of the recipe preset ("paper", "default", ...) and the recipe itself.
    pub preset: String,
    pub recipe: Recipe,
    /// FPCA component counts cross-validated per stage instead of the recipe's rule (empty:
    /// the rule).
    pub component_grid: Vec<usize>,
    pub cv_folds: usize,
    pub seed: u64,
}

/// A trained model: stages sorted by window (screening first at equal windows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub meta: Metadata,
    pub stages: Vec<Stage>,
    /// The halting rule over all halting windows, counted out of fold (None: no stage met its
    /// own halting target, there was nothing to certify).
    pub risk: Option<JointRisk>,
    /// The regression stages' stop rules and halting rule, calibrated on all of them together
    /// (None: the model has no regression stage).
    pub regression: Option<RegressionRule>,
}

/// Why a model file was refused.
#[derive(Debug, Error)]
pub enum ModelFileError {
    #[error("cannot read model file '{path}': {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("'{path}' is not a simforecast model file (no SIMFCST magic at its start; is it the right file?)")]
    Foreign { path: String },
    #[error("model file '{path}' is truncated: {got} bytes, {expected} expected (interrupted copy or write?)")]
    Truncated {
        path: String,
        got: usize,
        expected: usize,
    },
    #[error("model file '{path}' has format version {found}, newer than the {supported} this simforecast {crate_version} reads: upgrade simforecast")]
    FutureVersion {
        path: String,
        found: u32,
        supported: u32,
        crate_version: &'static str,
    },
    #[error("model file '{path}' has format version {found}, which this simforecast no longer reads (it reads {supported}): retrain the model")]
    OldVersion {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("model file '{path}' is corrupted: checksum {found:08x} does not match its contents ({computed:08x})")]
    Checksum {
        path: String,
        found: u32,
        computed: u32,
    },
    #[error("model file '{path}' is corrupted: {why}")]
    Corrupted { path: String, why: String },
}

/// Serialises auxiliary state (monitor progress) with the model's codec.
pub(crate) fn encode_state<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    codec::encode(value)
}

pub(crate) fn decode_state<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    codec::decode(bytes)
}

impl Model {
    /// Checks the invariants the monitor relies on.
    pub fn validate(&self) -> crate::Result<()> {
        if self.stages.is_empty() {
            return Err(Error::InvalidArgument(
                "a model needs at least one stage".into(),
            ));
        }
        for s in &self.stages {
            s.validate()?;
        }
        let ordered = self.stages.windows(2).all(|p| {
            let key = |s: &Stage| (s.window(), s.role() == Role::Forecast);
            key(&p[0]) < key(&p[1])
        });
        if !ordered {
            return Err(Error::InvalidArgument(
                "stages must be sorted by window, at most one per role and window".into(),
            ));
        }
        let has_regression = self
            .stages
            .iter()
            .any(|s| matches!(s, Stage::Regression(_)));
        match &self.regression {
            Some(rule) => rule.validate().map_err(Error::InvalidArgument)?,
            None if has_regression => {
                return Err(Error::InvalidArgument(
                    "regression stages without the model's tolerance table".into(),
                ))
            }
            None => {}
        }
        let regression_halts = self
            .regression
            .as_ref()
            .and_then(|r| r.halting)
            .is_some_and(|h| h.certified);
        let halts = regression_halts
            || self.stages.iter().any(|s| match s {
                Stage::Screen(sc) => !sc.calibration.halting.is_advisory(),
                Stage::Forecast(_) | Stage::Regression(_) => false,
            });
        if halts && self.risk.as_ref().is_none_or(|r| !r.certified) {
            return Err(Error::InvalidArgument(
                "a screening stage halts without a certified joint risk budget".into(),
            ));
        }
        if self.meta.frame_spacing <= 0 || !self.meta.threshold.is_finite() {
            return Err(Error::InvalidArgument(
                "model metadata has a non-positive frame spacing or a non-finite threshold".into(),
            ));
        }
        Ok(())
    }

    /// The model's tolerance (relative half-width of the interval a forecast must reach): its
    /// regression stages', else its first KNN forecasting stage's (None: none, any width).
    pub fn tolerance(&self) -> Option<f64> {
        let regression = self.regression.as_ref().map(|r| r.table.tolerance);
        regression.or_else(|| {
            self.stages.iter().find_map(|s| match s {
                Stage::Forecast(f) => f.calibration.tolerance,
                _ => None,
            })
        })
    }

    /// The tolerances the regression stages were calibrated for (None: no regression stage; a
    /// KNN stage takes any tolerance).
    pub fn tolerance_range(&self) -> Option<(f64, f64)> {
        self.regression.as_ref().map(|r| r.table.range())
    }

    /// Evaluates stage `index` on the first window of `x`, a regression stage under the model's
    /// stop rule at its own tolerance.
    pub fn evaluate_stage(&self, index: usize, x: &[f64]) -> crate::Result<crate::stage::Outcome> {
        let stage = self.stages.get(index).ok_or_else(|| {
            Error::InvalidArgument(format!("no stage {index} in {}", self.stages.len()))
        })?;
        let rule = self.regression.as_ref();
        let stop = rule.and_then(|r| r.table.at(r.table.tolerance));
        stage.evaluate(x, stop, rule.map_or(0.9, |r| r.table.level))
    }

    /// Frames after which no stage is left.
    pub fn max_window(&self) -> usize {
        self.stages.iter().map(Stage::window).max().unwrap_or(0)
    }

    /// The bytes of a model file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let payload = codec::encode(self).expect("a model always serialises");
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + 4);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&payload);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses model-file bytes; `path` only names the file in messages.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Self, ModelFileError> {
        let path = path.to_string();
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            // A prefix of the magic (or nothing) is a truncated model file, anything else is foreign.
            if bytes.len() < MAGIC.len() && MAGIC.starts_with(bytes) {
                return Err(ModelFileError::Truncated {
                    path,
                    got: bytes.len(),
                    expected: HEADER_LEN,
                });
            }
            return Err(ModelFileError::Foreign { path });
        }
        if bytes.len() < HEADER_LEN {
            return Err(ModelFileError::Truncated {
                path,
                got: bytes.len(),
                expected: HEADER_LEN,
            });
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if version > FORMAT_VERSION {
            return Err(ModelFileError::FutureVersion {
                path,
                found: version,
                supported: FORMAT_VERSION,
                crate_version: env!("CARGO_PKG_VERSION"),
            });
        }
        if version < FORMAT_VERSION {
            return Err(ModelFileError::OldVersion {
                path,
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
        let expected = (HEADER_LEN as u64)
            .checked_add(len)
            .and_then(|v| v.checked_add(4))
            .filter(|&v| v <= usize::MAX as u64)
            .ok_or_else(|| ModelFileError::Corrupted {
                path: path.clone(),
                why: format!("impossible payload length {len}"),
            })? as usize;
        if bytes.len() < expected {
            return Err(ModelFileError::Truncated {
                path,
                got: bytes.len(),
                expected,
            });
        }
        if bytes.len() > expected {
            return Err(ModelFileError::Corrupted {
                path,
                why: format!(
                    "{} unexpected bytes after the checksum",
                    bytes.len() - expected
                ),
            });
        }
        let body = &bytes[..expected - 4];
        let found = u32::from_le_bytes(bytes[expected - 4..].try_into().unwrap());
        let computed = crc32fast::hash(body);
        if found != computed {
            return Err(ModelFileError::Checksum {
                path,
                found,
                computed,
            });
        }
        let model: Model =
            codec::decode(&body[HEADER_LEN..]).map_err(|why| ModelFileError::Corrupted {
                path: path.clone(),
                why: format!("payload does not decode ({why})"),
            })?;
        model.validate().map_err(|e| ModelFileError::Corrupted {
            path,
            why: format!("inconsistent contents ({e})"),
        })?;
        Ok(model)
    }

    pub fn save(&self, path: &Path) -> crate::Result<()> {
        // Write to a sibling then rename, so a reader never sees a half-written model.
        let tmp = path.with_extension("sfm.partial");
        std::fs::write(&tmp, self.to_bytes())?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Self, ModelFileError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ModelFileError::Io {
            path: name.clone(),
            source,
        })?;
        Self::from_bytes(&bytes, &name)
    }

    /// A checksum of the model's contents, to tie saved monitor states to their model.
    pub fn fingerprint(&self) -> u32 {
        crc32fast::hash(&codec::encode(self).expect("a model always serialises"))
    }
}
