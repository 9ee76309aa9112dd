//! Everything a campaign directory can refuse, each with the message a user acts on.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CampaignError {
    #[error("campaign directory '{path}': {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("'{0}' is not a campaign directory (no campaign.json): run `simforecast campaign init` first")]
    NotACampaign(PathBuf),
    #[error("'{path}' is damaged: {why}; the directory's other files are untouched")]
    Corrupt { path: PathBuf, why: String },
    #[error(
        "'{path}' is a campaign of format version {found}, this build reads version {expected}"
    )]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("campaign '{dir}' was made for {existing}, not for {asked}: use another directory for this campaign")]
    Mismatch {
        dir: PathBuf,
        existing: String,
        asked: String,
    },
    #[error("run '{0}' is already recorded in this campaign: run ids must be unique")]
    RunExists(String),
    #[error("run '{run}' cannot be resumed: {why}")]
    NotResumable { run: String, why: String },
    #[error("run id '{0}' is not usable as a file name: use letters, digits, '.', '_' and '-' (not first), at most 200")]
    BadRunId(String),
    #[error("invalid campaign setting: {0}")]
    Invalid(String),
    #[error("lock '{path}' still held after waiting {waited_s:.0} s (held by {owner})")]
    LockTimeout {
        path: PathBuf,
        waited_s: f64,
        owner: String,
    },
    #[error(
        "lock '{0}' was broken by another process (held too long?): nothing was published, retry"
    )]
    LockLost(PathBuf),
    #[error("model: {0}")]
    Model(#[from] simforecast_runtime::model::ModelFileError),
    #[error("{0}")]
    Runtime(#[from] simforecast_runtime::error::Error),
    #[error("trace: {0}")]
    Trace(#[from] simforecast_train::trace::TraceError),
}

pub type Result<T> = std::result::Result<T, CampaignError>;

/// Wraps an I/O error with the path it concerns.
pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CampaignError {
    let path = path.into();
    move |source| CampaignError::Io { path, source }
}
