//! The campaign directory through the library: records round-trip, half-written files are never
//! read, the audit's figures and the advisory state follow the audited runs, and compute saved
//! uses declared lengths or the median finished length.

use std::fs;
use std::path::PathBuf;

use simforecast_campaign::{
    Campaign, CampaignError, Config, Decision, Outcome, Override, RunRecord,
};
use simforecast_runtime::model::Direction;

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sf-campaign-{tag}-{}",
        simforecast_campaign::publish::unique_token()
    ));
    let _ = fs::remove_dir_all(&d);
    d
}

fn config() -> Config {
    let mut c = Config::new(10.0, Direction::Above);
    c.tail = 5;
    c
}

fn run(id: &str, level: f64, frames: usize, outcome: Outcome) -> RunRecord {
    RunRecord {
        run_id: id.into(),
        column: "v_eta".into(),
        frame_spacing: 10,
        values: vec![level; frames],
        declared_len: None,
        outcome,
        overridden: None,
        model: None,
        restart: None,
    }
}

#[test]
fn records_round_trip_and_half_written_files_are_not_read() {
    let d = dir("store");
    let mut c = Campaign::init(&d, config()).unwrap();
    c.record_run(run("a", 3.0, 20, Outcome::Finished)).unwrap();
    c.record_run(run("b", 30.0, 8, Outcome::Halted { frame: 8 }))
        .unwrap();
    // What a writer killed half way leaves: a temporary file, a trace without its outcome.
    fs::write(d.join("runs/.tmp-dead-writer"), b"{\"run_id\": \"x\", tru").unwrap();
    fs::write(d.join("runs/c.trace"), b"# TimeStep v_eta\n10 1.0\n").unwrap();
    let mut fresh = Campaign::open(&d).unwrap();
    let runs = fresh.refresh().unwrap();
    assert_eq!(runs.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(runs["a"].mu, Some(3.0));
    assert_eq!(runs["b"].mu, None);
    assert!(runs["a"].labelled() && !runs["b"].labelled());
    // The orphan trace is replaced by the run that records it.
    fresh
        .record_run(run("c", 4.0, 20, Outcome::Finished))
        .unwrap();
    let text = fs::read_to_string(d.join("runs/c.trace")).unwrap();
    assert_eq!(text.lines().count(), 22);
    assert!(matches!(
        fresh.record_run(run("c", 4.0, 20, Outcome::Finished)),
        Err(CampaignError::RunExists(_))
    ));
    assert!(matches!(
        fresh.record_run(run("../evil", 4.0, 20, Outcome::Finished)),
        Err(CampaignError::BadRunId(_))
    ));
    let mut short = run("d", 4.0, 5, Outcome::Halted { frame: 8 });
    short.values.truncate(5);
    assert!(fresh.record_run(short).is_err());
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn the_audit_judges_would_be_halts_and_turns_the_campaign_advisory() {
    let d = dir("audit");
    let mut c = Campaign::init(&d, config()).unwrap();
    let halt = Decision::Halt { frame: 4 };
    // Two audited would-be halts of runs that turned out relevant (mu 3 < 10): precision 0 of
    // 2, whose upper 95 % bound (0.84) is below the target 0.95.
    for i in 0..2 {
        let mut r = run(&format!("rel{i}"), 3.0, 20, Outcome::Finished);
        r.overridden = Some((halt, Override::Audit));
        c.record_run(r).unwrap();
    }
    let s = c.status().unwrap();
    assert_eq!((s.halting_precision.k, s.halting_precision.n), (0, 2));
    assert!(s.advisory.is_some(), "{s}");
    // From now on a decision is overridden: by the audit for an audited run, else as advisory.
    let plain = (0..)
        .map(|i| format!("run{i}"))
        .find(|id| !c.is_audited(id))
        .unwrap();
    assert_eq!(
        c.override_for(&plain, &halt).unwrap(),
        Some(Override::Advisory)
    );
    assert_eq!(c.override_for(&plain, &Decision::RunToEnd).unwrap(), None);
    assert!(s
        .to_string()
        .contains("ADVISORY: audited halting precision 0.000 (0/2"));
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_right_audit_keeps_it_acting_and_coverage_is_judged() {
    let d = dir("coverage");
    let mut c = Campaign::init(&d, config()).unwrap();
    let mut r = run("dense", 30.0, 20, Outcome::Finished);
    r.overridden = Some((Decision::Halt { frame: 4 }, Override::Audit));
    c.record_run(r).unwrap();
    for (i, (lo, hi)) in [(2.0, 4.0), (3.5, 5.0)].into_iter().enumerate() {
        let mut r = run(&format!("f{i}"), 3.0, 20, Outcome::Finished);
        let fc = Decision::Forecast {
            frame: 4,
            mu_hat: (lo + hi) / 2.0,
            lo,
            hi,
            level: 0.9,
        };
        r.overridden = Some((fc, Override::Audit));
        c.record_run(r).unwrap();
    }
    let s = c.status().unwrap();
    assert_eq!((s.halting_precision.k, s.halting_precision.n), (1, 1));
    assert_eq!((s.coverage.k, s.coverage.n), (1, 2));
    assert_eq!(s.level, Some(0.9));
    assert!(s.advisory.is_none(), "{s}");
    assert_eq!(s.audited, 3);
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn compute_saved_takes_declared_lengths_else_the_median_finished_one() {
    let d = dir("saved");
    let mut c = Campaign::init(&d, config()).unwrap();
    for (id, n) in [("a", 10), ("b", 20), ("c", 30)] {
        c.record_run(run(id, 3.0, n, Outcome::Finished)).unwrap();
    }
    c.record_run(run("h", 30.0, 5, Outcome::Halted { frame: 5 }))
        .unwrap();
    let mut declared = run("g", 30.0, 5, Outcome::Halted { frame: 5 });
    declared.declared_len = Some(100);
    c.record_run(declared).unwrap();
    let s = c.status().unwrap();
    assert_eq!(s.median_finished_len, Some(20));
    assert_eq!(s.frames_simulated, 10 + 20 + 30 + 5 + 5);
    assert_eq!(s.full_frames, 10 + 20 + 30 + 20 + 100);
    assert_eq!(
        s.halted_runs
            .iter()
            .map(|h| h.run_id.as_str())
            .collect::<Vec<_>>(),
        ["g", "h"]
    );
    fs::remove_dir_all(d).unwrap();
}
