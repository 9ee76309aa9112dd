//! Model versions: `models/model-0001.sfm` … (every version kept, each beside a `.json` saying
//! what it was trained on) and `models/current`, the name of the newest, replaced atomically
//! after the model file is in place.

use std::path::Path;

use serde::{Deserialize, Serialize};

use simforecast_runtime::model::Model;

use crate::error::{io, CampaignError, Result};
use crate::publish::{list, publish, Mode};

pub const MODELS_DIR: &str = "models";
const CURRENT: &str = "current";

/// What one published model was trained on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub version: u32,
    /// Labelled (finished) runs it was trained on, and how many of them were irrelevant.
    pub labelled_runs: usize,
    pub irrelevant: usize,
    /// Runs recorded in the campaign when it was trained (labelled or not).
    pub recorded_runs: usize,
    pub trained_unix: f64,
    pub train_seconds: f64,
    /// SHA-256 over the training traces (the model card's training hash).
    pub training_hash: String,
}

pub fn file_name(version: u32) -> String {
    format!("model-{version:04}")
}

fn parse_version(name: &str) -> Option<u32> {
    name.strip_prefix("model-")?.parse().ok()
}

/// The version `models/current` names (None: no model published yet).
pub fn current(dir: &Path) -> Result<Option<u32>> {
    let path = dir.join(MODELS_DIR).join(CURRENT);
    match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path)(e)),
        Ok(text) => parse_version(text.trim())
            .map(Some)
            .ok_or_else(|| CampaignError::Corrupt {
                path,
                why: format!("names no model version ('{}')", text.trim()),
            }),
    }
}

pub fn load(dir: &Path, version: u32) -> Result<Model> {
    let path = dir
        .join(MODELS_DIR)
        .join(format!("{}.sfm", file_name(version)));
    Ok(Model::load(&path)?)
}

/// Every published model's description, oldest first.
pub fn history(dir: &Path) -> Result<Vec<ModelInfo>> {
    let models = dir.join(MODELS_DIR);
    let mut out = Vec::new();
    for name in list(&models, ".json")? {
        let path = models.join(&name);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let info: ModelInfo =
            serde_json::from_slice(&bytes).map_err(|e| CampaignError::Corrupt {
                path: path.clone(),
                why: e.to_string(),
            })?;
        out.push(info);
    }
    out.sort_by_key(|m| m.version);
    Ok(out)
}

/// Publishes `model` as the next version (the caller holds the campaign lock): model file,
/// then its description, then the `current` pointer. Returns the version.
pub fn publish_model(dir: &Path, model: &Model, mut info: ModelInfo) -> Result<ModelInfo> {
    let models = dir.join(MODELS_DIR);
    let newest = list(&models, ".sfm")?
        .iter()
        .filter_map(|n| parse_version(n.trim_end_matches(".sfm")))
        .max()
        .unwrap_or(0);
    let bytes = model.to_bytes();
    let mut version = newest + 1;
    loop {
        match publish(
            &models,
            &format!("{}.sfm", file_name(version)),
            &bytes,
            Mode::CreateNew,
        ) {
            Err(e) if crate::publish::exists_error(&e) => version += 1,
            r => break r?,
        }
    }
    info.version = version;
    let json = serde_json::to_vec_pretty(&info).expect("model info serialises");
    publish(
        &models,
        &format!("{}.json", file_name(version)),
        &json,
        Mode::CreateNew,
    )?;
    publish(
        &models,
        CURRENT,
        format!("{}\n", file_name(version)).as_bytes(),
        Mode::Replace,
    )?;
    Ok(info)
}
