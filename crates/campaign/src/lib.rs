//! Campaign mode: a directory that many runs share — no server, no coordinator — in which the
//! campaign starts from zero runs, records every run, retrains as labelled runs arrive and
//! audits its own decisions.
//!
//! ```text
//! DIR/campaign.json          configuration (versioned, checksummed)            config.rs
//! DIR/lock/, DIR/train.lock/ NFS-safe locks (mkdir, owner file, stale recovery) lock.rs
//! DIR/runs/<id>.trace|json   each run's frames and outcome                     record.rs
//! DIR/models/model-0001.sfm  every model version, its .json, `current`        models.rs
//! DIR/log                    one line per event
//! ```
//! Every file appears by an atomic rename or link (`publish.rs`); the audit (`audit.rs`)
//! lets a hashed share of would-be stops run to the end; `decide.rs` is the model's decision,
//! `retrain.rs` when and how a new model is trained, `status.rs` what the audit shows, and
//! `resume.rs` how a halted run resumed from its restart file replaces its record,
//! `replay.rs` the offline twin that runs a recorded campaign through this same code, and
//! `capi.rs` the C ABI that `fix forecast ... campaign DIR` loads at run time.

pub mod audit;
pub mod capi;
pub mod config;
pub mod decide;
pub mod error;
pub mod lock;
pub mod models;
pub mod plot;
pub mod publish;
pub mod record;
pub mod replay;
pub mod resume;
pub mod retrain;
pub mod stats;
pub mod status;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use simforecast_runtime::model::Model;

pub use config::Config;
pub use error::{CampaignError, Result};
pub use models::ModelInfo;
pub use record::{Decision, Outcome, Override, RunRecord, StoredRun};
pub use retrain::Retrain;
pub use status::Status;

use error::io;
use lock::{Lock, LockPolicy};
use publish::{publish, Mode};

pub(crate) const RUNS_DIR: &str = "runs";

/// An open campaign directory. It caches what it has read (records and model versions are
/// written once and never change), so reading the directory again costs only what is new.
pub struct Campaign {
    dir: PathBuf,
    config: Config,
    runs: BTreeMap<String, StoredRun>,
    traces: HashMap<String, Vec<f64>>,
    model: Option<(u32, Arc<Model>)>,
    /// Labelled and recorded runs at this process's last failed training (not retried before
    /// more arrive).
    failed_at: Option<(usize, usize)>,
}

impl Campaign {
    /// Creates the campaign in `dir` (made if missing). A directory already holding the same
    /// campaign is opened as it is (every job of an array may run `init`); one made for another
    /// threshold, column or frame spacing is refused.
    pub fn init(dir: &Path, config: Config) -> Result<Campaign> {
        config.validate()?;
        fs::create_dir_all(dir.join(RUNS_DIR)).map_err(io(dir))?;
        fs::create_dir_all(dir.join(models::MODELS_DIR)).map_err(io(dir))?;
        let mut log = |l: &str| log_line(dir, l);
        let _lock = Lock::acquire(&dir.join("lock"), LockPolicy::SHORT, &mut log)?;
        match config::read(dir) {
            Ok(existing) => {
                let c = existing.conflicts(&config);
                if !c.is_empty() {
                    return Err(CampaignError::Mismatch {
                        dir: dir.to_path_buf(),
                        existing: c.join(", "),
                        asked: "the settings given".into(),
                    });
                }
            }
            Err(CampaignError::NotACampaign(_)) => {
                publish(
                    dir,
                    config::CONFIG_FILE,
                    &config::encode(&config),
                    Mode::Replace,
                )?;
                publish::append_log(dir, &format!("init: {}", config.summary()))?;
            }
            Err(e) => return Err(e),
        }
        drop(_lock);
        Campaign::open(dir)
    }

    /// Opens an existing campaign (its configuration checked).
    pub fn open(dir: &Path) -> Result<Campaign> {
        let config = config::read(dir)?;
        Ok(Campaign {
            dir: dir.to_path_buf(),
            config,
            runs: BTreeMap::new(),
            traces: HashMap::new(),
            model: None,
            failed_at: None,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// True when the audit lets run `run_id` go to its end whatever the model decides.
    pub fn is_audited(&self, run_id: &str) -> bool {
        audit::is_audited(run_id, self.config.audit)
    }

    /// Takes the campaign lock (broken stale locks are logged).
    pub fn lock(&self) -> Result<Lock> {
        let dir = self.dir.clone();
        Lock::acquire(&self.dir.join("lock"), LockPolicy::SHORT, &mut |l: &str| {
            log_line(&dir, l)
        })
    }

    /// Appends a line to `DIR/log` under the lock.
    pub fn log(&self, line: &str) -> Result<()> {
        let _lock = self.lock()?;
        publish::append_log(&self.dir, line)
    }

    /// Reads the runs recorded since the last call; returns all recorded runs by id.
    pub fn refresh(&mut self) -> Result<&BTreeMap<String, StoredRun>> {
        let runs = self.dir.join(RUNS_DIR);
        for name in publish::list(&runs, ".json")? {
            let id = name.trim_end_matches(".json");
            // A record is written once, except a halted one a resume replaces (resume.rs).
            if self
                .runs
                .get(id)
                .is_some_and(|r| !matches!(r.outcome, Outcome::Halted { .. }))
            {
                continue;
            }
            let path = runs.join(&name);
            let bytes = fs::read(&path).map_err(io(&path))?;
            let run: StoredRun =
                serde_json::from_slice(&bytes).map_err(|e| CampaignError::Corrupt {
                    path: path.clone(),
                    why: e.to_string(),
                })?;
            self.runs.insert(id.to_string(), run);
        }
        Ok(&self.runs)
    }

    /// Records a run: its trace, then its outcome (which makes it visible), then a log line.
    /// The campaign's column and frame spacing are pinned by the first run when `init` left
    /// them open; a run of another column or spacing is refused.
    pub fn record_run(&mut self, rec: RunRecord) -> Result<StoredRun> {
        rec.check()?;
        self.pin_input(&rec.column, rec.frame_spacing)?;
        self.config
            .check_input(&self.dir, &rec.column, rec.frame_spacing)?;
        let runs = self.dir.join(RUNS_DIR);
        let json_name = format!("{}.json", rec.run_id);
        if runs.join(&json_name).exists() {
            return Err(CampaignError::RunExists(rec.run_id));
        }
        let stored = self.stored(&rec);
        // A trace without its JSON is a recording that died half way: replacing it is safe.
        publish(
            &runs,
            &format!("{}.trace", rec.run_id),
            rec.trace_text().as_bytes(),
            Mode::Replace,
        )?;
        let json = serde_json::to_vec_pretty(&stored).expect("run serialises");
        match publish(&runs, &json_name, &json, Mode::CreateNew) {
            Err(e) if publish::exists_error(&e) => {
                return Err(CampaignError::RunExists(rec.run_id))
            }
            r => r?,
        }
        if stored.labelled() {
            self.traces.insert(rec.run_id.clone(), rec.values);
        }
        self.runs.insert(stored.run_id.clone(), stored.clone());
        // The run is recorded once its JSON is in place: a log line that cannot be written (a
        // full disk) must not make the caller believe otherwise and record it again.
        if let Err(e) = self.log(&format!("recorded {}", status::describe_run(&stored))) {
            log::warn!(
                "{}: recorded, but the log line was not written: {e}",
                stored.run_id
            );
        }
        Ok(stored)
    }

    /// What `runs/<id>.json` says of `rec`, μ computed over the campaign's tail.
    fn stored(&self, rec: &RunRecord) -> StoredRun {
        let mu = match rec.outcome {
            Outcome::Finished => {
                simforecast_train::tail_stats(&rec.values, self.config.tail).map(|(mu, _)| mu)
            }
            _ => None,
        };
        StoredRun {
            run_id: rec.run_id.clone(),
            frames: rec.values.len(),
            declared_len: rec.declared_len,
            outcome: rec.outcome,
            overridden: rec.overridden,
            model: rec.model,
            mu,
            recorded_unix: publish::now_unix(),
            host: publish::hostname(),
            pid: std::process::id(),
            restart: rec.restart.clone(),
        }
    }

    /// The newest published model and its version (None: none yet, the campaign collects).
    pub fn newest_model(&mut self) -> Result<Option<(u32, Arc<Model>)>> {
        let Some(version) = models::current(&self.dir)? else {
            return Ok(None);
        };
        if self.model.as_ref().map(|m| m.0) != Some(version) {
            let model = models::load(&self.dir, version)?;
            self.model = Some((version, Arc::new(model)));
        }
        Ok(self.model.clone())
    }

    /// The model history, oldest first.
    pub fn model_history(&self) -> Result<Vec<ModelInfo>> {
        models::history(&self.dir)
    }

    /// Trains and publishes a new model when enough new labelled runs have arrived.
    pub fn maybe_retrain(&mut self) -> Result<Retrain> {
        retrain::maybe_retrain(self)
    }

    /// What the campaign has done and what its audit shows.
    pub fn status(&mut self) -> Result<Status> {
        self.refresh()?;
        let runs: Vec<StoredRun> = self.runs.values().cloned().collect();
        Ok(Status::new(&self.config, &runs, self.model_history()?))
    }

    /// Why the run the model would stop must run to its end instead: the audit first, then an
    /// advisory campaign. None: the decision is obeyed.
    pub fn override_for(&mut self, run_id: &str, decision: &Decision) -> Result<Option<Override>> {
        if !decision.acts() {
            return Ok(None);
        }
        if self.is_audited(run_id) {
            return Ok(Some(Override::Audit));
        }
        self.refresh()?;
        let runs: Vec<&StoredRun> = self.runs.values().collect();
        Ok(status::advisory(&self.config, runs.iter().copied()).map(|_| Override::Advisory))
    }

    /// The values of a labelled run's trace (read once, then cached).
    pub(crate) fn trace(&mut self, run_id: &str) -> Result<&[f64]> {
        if !self.traces.contains_key(run_id) {
            let path = self.dir.join(RUNS_DIR).join(format!("{run_id}.trace"));
            let col = simforecast_train::trace::Column::Name(
                self.config.column.clone().unwrap_or_default(),
            );
            let mut t = simforecast_train::trace::read_traces(&path, &col)?;
            let values = t.pop().map(|t| t.values).unwrap_or_default();
            self.traces.insert(run_id.to_string(), values);
        }
        Ok(&self.traces[run_id])
    }

    fn pin_input(&mut self, column: &str, spacing: i64) -> Result<()> {
        if self.config.column.is_some() && self.config.frame_spacing.is_some() {
            return Ok(());
        }
        let _lock = self.lock()?;
        let mut c = config::read(&self.dir)?;
        if c.column.is_none() || c.frame_spacing.is_none() {
            c.column.get_or_insert_with(|| column.to_string());
            c.frame_spacing.get_or_insert(spacing);
            publish(
                &self.dir,
                config::CONFIG_FILE,
                &config::encode(&c),
                Mode::Replace,
            )?;
            publish::append_log(
                &self.dir,
                &format!(
                    "pinned column {} and one frame every {} steps (first run)",
                    c.column.as_deref().unwrap_or("?"),
                    c.frame_spacing.unwrap_or(0)
                ),
            )?;
        }
        self.config = c;
        Ok(())
    }
}

/// A log line from lock recovery; it must not fail the operation that broke the lock.
fn log_line(dir: &Path, line: &str) {
    if let Err(e) = publish::append_log(dir, line) {
        log::warn!("campaign log: {e}");
    }
}

impl Campaign {
    /// The audit's figures and whether the campaign is advisory, from the runs already read
    /// (for the replay's per-run rows; `status` reads the directory).
    pub fn status_quick(&self) -> (stats::Share, stats::Share, bool) {
        let s = Status::new(
            &self.config,
            &self.runs.values().cloned().collect::<Vec<_>>(),
            Vec::new(),
        );
        (s.halting_precision, s.coverage, s.advisory.is_some())
    }
}
