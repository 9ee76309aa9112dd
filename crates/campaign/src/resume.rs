//! Reversible halts. A run the campaign halted leaves a restart file (its input script writes
//! it after the halt; the fix's restart record carries the monitor and the run's name). Resumed
//! from it — LAMMPS `read_restart` and the same fix — the run does not act again (the user chose
//! to finish it), runs to its end, and its finished record replaces the halted one.
//!
//! The halt decision stays with the finished run as [`Override::Resumed`]: the run labels the
//! halt, but a user chose it, no hash drew it, so it never counts in the audited precision
//! (status counts resumed halts apart, and how many turned out relevant).
//!
//! Replacement rules: only a halted record is replaced, only by a finished run whose frames
//! continue the stored trace, and only under the campaign lock (of two resumes of one run the
//! second finds a finished record and is refused). The trace is published first and the JSON
//! last, each atomically: a reader sees the halted record or the finished one (training reads
//! the traces of finished runs only).

use crate::error::{io, CampaignError, Result};
use crate::publish::{self, publish, Mode};
use crate::record::{Decision, Outcome, Override, RunRecord, StoredRun};
use crate::{status, Campaign, RUNS_DIR};

/// A halted run, as a resume finds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Halted {
    /// Frames simulated up to the halt (the stored trace's length).
    pub frame: usize,
    /// The model version that halted it.
    pub model: Option<u32>,
    /// The restart file its fix named, if any.
    pub restart: Option<String>,
}

fn not_resumable(run_id: &str, why: impl Into<String>) -> CampaignError {
    CampaignError::NotResumable {
        run: run_id.into(),
        why: why.into(),
    }
}

impl Campaign {
    /// The record of `run_id` as it is on disk now (None: not recorded).
    fn read_record(&self, run_id: &str) -> Result<Option<StoredRun>> {
        let path = self.dir.join(RUNS_DIR).join(format!("{run_id}.json"));
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| CampaignError::Corrupt {
                        path,
                        why: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// The halted run `run_id` a resume continues. Refused when it is not recorded, or recorded
    /// as finished or stopped at a forecast (those are not resumed).
    pub fn halted(&self, run_id: &str) -> Result<Halted> {
        match self.read_record(run_id)? {
            None => Err(not_resumable(run_id, "it is not recorded in this campaign")),
            Some(r) => match r.outcome {
                Outcome::Halted { frame } => Ok(Halted {
                    frame,
                    model: r.model,
                    restart: r.restart,
                }),
                Outcome::Finished => Err(not_resumable(
                    run_id,
                    "it is recorded as finished (a resumed halt is finished once)",
                )),
                Outcome::Forecast { .. } => Err(not_resumable(
                    run_id,
                    "it stopped at a forecast: only a halted run is resumed",
                )),
            },
        }
    }

    /// Records the resumed run `run_id` as finished: its stored frames up to the halt, then
    /// `more` (the frames simulated since the resume), replacing its halted record under the
    /// lock; the halt decision is kept as [`Override::Resumed`].
    pub fn resume_run(
        &mut self,
        run_id: &str,
        more: &[f64],
        declared_len: Option<usize>,
    ) -> Result<StoredRun> {
        let _lock = self.lock()?;
        let halted = self.halted(run_id)?;
        let (Some(column), Some(spacing)) = (self.config.column.clone(), self.config.frame_spacing)
        else {
            return Err(not_resumable(run_id, "the campaign has no pinned column"));
        };
        // Read the halted trace afresh (a cached copy would be of no other version, but the
        // file is the record).
        self.traces.remove(run_id);
        let mut values = self.trace(run_id)?.to_vec();
        self.traces.remove(run_id);
        if values.len() != halted.frame {
            return Err(not_resumable(
                run_id,
                format!(
                    "its stored trace has {} frames but it was halted after {}",
                    values.len(),
                    halted.frame
                ),
            ));
        }
        values.extend_from_slice(more);
        let rec = RunRecord {
            run_id: run_id.into(),
            column,
            frame_spacing: spacing,
            values,
            declared_len,
            outcome: Outcome::Finished,
            overridden: Some((
                Decision::Halt {
                    frame: halted.frame,
                },
                Override::Resumed,
            )),
            model: halted.model,
            restart: None,
        };
        rec.check()?;
        let stored = self.stored(&rec);
        let runs = self.dir.join(RUNS_DIR);
        publish(
            &runs,
            &format!("{run_id}.trace"),
            rec.trace_text().as_bytes(),
            Mode::Replace,
        )?;
        let json = serde_json::to_vec_pretty(&stored).expect("run serialises");
        publish(&runs, &format!("{run_id}.json"), &json, Mode::Replace)?;
        if stored.labelled() {
            self.traces.insert(run_id.into(), rec.values);
        }
        self.runs.insert(run_id.into(), stored.clone());
        if let Err(e) = publish::append_log(
            &self.dir,
            &format!("resumed {}", status::describe_run(&stored)),
        ) {
            log::warn!("{run_id}: resumed and recorded, but the log line was not written: {e}");
        }
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use simforecast_runtime::model::Direction;
    use std::path::PathBuf;

    fn dir(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("sf-resume-{tag}-{}", publish::unique_token()))
    }

    fn run(id: &str, values: Vec<f64>, outcome: Outcome) -> RunRecord {
        RunRecord {
            run_id: id.into(),
            column: "v_eta".into(),
            frame_spacing: 10,
            values,
            declared_len: Some(20),
            outcome,
            overridden: None,
            model: Some(1),
            restart: matches!(outcome, Outcome::Halted { .. }).then(|| format!("{id}.restart")),
        }
    }

    fn campaign(tag: &str) -> (PathBuf, Campaign) {
        let d = dir(tag);
        let mut c = Config::new(10.0, Direction::Above);
        c.tail = 5;
        let camp = Campaign::init(&d, c).unwrap();
        (d, camp)
    }

    #[test]
    fn a_resumed_halt_replaces_its_record_and_keeps_the_decision() {
        let (d, mut c) = campaign("replace");
        let halted = c
            .record_run(run("h", vec![30.0; 8], Outcome::Halted { frame: 8 }))
            .unwrap();
        assert_eq!(halted.restart.as_deref(), Some("h.restart"));
        let h = c.halted("h").unwrap();
        assert_eq!((h.frame, h.model), (8, Some(1)));
        // a reader that cached the halted record sees the finished one after the resume
        let mut reader = Campaign::open(&d).unwrap();
        assert!(matches!(
            reader.refresh().unwrap()["h"].outcome,
            Outcome::Halted { .. }
        ));
        let done = c.resume_run("h", &[2.0; 12], Some(20)).unwrap();
        assert_eq!(done.outcome, Outcome::Finished);
        assert_eq!(done.frames, 20);
        assert_eq!(
            done.overridden,
            Some((Decision::Halt { frame: 8 }, Override::Resumed))
        );
        assert_eq!((done.model, done.restart.clone()), (Some(1), None));
        // μ over the tail (5 frames) of the whole trace: the resumed frames
        assert_eq!(done.mu, Some(2.0));
        assert_eq!(reader.refresh().unwrap()["h"], done);
        let trace = std::fs::read_to_string(d.join("runs/h.trace")).unwrap();
        assert_eq!(trace.lines().filter(|l| !l.starts_with('#')).count(), 20);
        assert!(trace.contains("\n80 30.0\n90 2.0\n"), "{trace}");
        assert!(std::fs::read_to_string(d.join("log"))
            .unwrap()
            .contains("resumed h: finished, 20 frames; would halt at frame 8 (resumed"));
    }

    #[test]
    fn only_a_halted_run_is_resumed_and_only_once() {
        let (_d, mut c) = campaign("rules");
        c.record_run(run("f", vec![2.0; 20], Outcome::Finished))
            .unwrap();
        c.record_run(run(
            "s",
            vec![2.0; 10],
            Outcome::Forecast {
                frame: 10,
                mu_hat: 2.0,
                lo: 1.5,
                hi: 2.5,
            },
        ))
        .unwrap();
        c.record_run(run("h", vec![30.0; 8], Outcome::Halted { frame: 8 }))
            .unwrap();
        let refused = |c: &mut Campaign, id: &str, what: &str| {
            let e = c.resume_run(id, &[1.0; 12], None).unwrap_err();
            assert!(matches!(e, CampaignError::NotResumable { .. }), "{e}");
            assert!(e.to_string().contains(what), "{e}");
        };
        refused(&mut c, "f", "recorded as finished");
        refused(&mut c, "s", "stopped at a forecast");
        refused(&mut c, "nobody", "not recorded");
        c.resume_run("h", &[1.0; 12], None).unwrap();
        refused(&mut c, "h", "recorded as finished");
        // a record of the same name is still refused to a new run
        assert!(matches!(
            c.record_run(run("h", vec![1.0; 20], Outcome::Finished)),
            Err(CampaignError::RunExists(_))
        ));
    }

    #[test]
    fn a_resume_counts_apart_from_the_audit() {
        let (_d, mut c) = campaign("status");
        // an audited halt that was right (μ 30 > threshold 10: irrelevant)
        let mut audited = run("a", vec![30.0; 20], Outcome::Finished);
        audited.overridden = Some((Decision::Halt { frame: 8 }, Override::Audit));
        audited.restart = None;
        c.record_run(audited).unwrap();
        let before = c.status().unwrap();
        // a halt that was wrong, resumed: μ 2 is relevant
        c.record_run(run("h", vec![30.0; 8], Outcome::Halted { frame: 8 }))
            .unwrap();
        assert_eq!(
            c.status().unwrap().halted_runs[0].restart.as_deref(),
            Some("h.restart")
        );
        c.resume_run("h", &[2.0; 12], Some(20)).unwrap();
        let s = c.status().unwrap();
        assert_eq!(s.halting_precision, before.halting_precision);
        assert_eq!((s.halting_precision.k, s.halting_precision.n), (1, 1));
        assert_eq!((s.resumed, s.resumed_relevant, s.audited), (1, 1, 1));
        assert!(s.halted_runs.is_empty() && s.advisory.is_none());
        let text = s.to_string();
        assert!(
            text.contains("resumed halts: 1 (1 turned out relevant"),
            "{text}"
        );
    }
}
