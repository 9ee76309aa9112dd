//! The campaign's C ABI (src/capi.rs) as `fix forecast` calls it: NULL pointers and bad input
//! are statuses with a message, never a crash; a run opens, records, and a retraining publishes
//! a model the next run finds.

use std::ffi::{c_char, CStr, CString};
use std::fs;
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use simforecast_campaign::capi::*;
use simforecast_campaign::{Campaign, Config};
use simforecast_runtime::model::Direction;

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sf-capi-{tag}-{}",
        simforecast_campaign::publish::unique_token()
    ));
    let _ = fs::remove_dir_all(&d);
    d
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn last_error() -> String {
    // SAFETY: the library returns a valid NUL-terminated string owned by this thread.
    unsafe { CStr::from_ptr(sf_campaign_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn open(d: &Path, run: &str, column: &str, spacing: i64) -> *mut sf_campaign {
    let (d, run, column) = (c(d.to_str().unwrap()), c(run), c(column));
    // SAFETY: valid strings.
    unsafe { sf_campaign_open(d.as_ptr(), run.as_ptr(), column.as_ptr(), spacing) }
}

fn config() -> Config {
    let mut cfg = Config::new(10.0, Direction::Above);
    cfg.column = Some("f_out".into());
    cfg.frame_spacing = Some(10);
    cfg.tail = 40;
    cfg.first_model_at = 16;
    cfg.retrain_every = 100;
    cfg
}

/// A relaxing trace to a plateau `mu` with noise.
fn trace(mu: f64, frames: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..frames)
        .map(|i| mu + (2.0 - mu) * (-(i as f64) / 30.0).exp() + 0.3 * (rng.gen::<f64>() - 0.5))
        .collect()
}

const FINISHED: sf_campaign_outcome = sf_campaign_outcome {
    kind: SF_CAMPAIGN_FINISHED,
    frame: 0,
    mu_hat: f64::NAN,
    mu_low: f64::NAN,
    mu_high: f64::NAN,
};

#[test]
fn null_pointers_and_bad_input_are_statuses_with_a_message() {
    assert_eq!(sf_campaign_abi_version(), SF_CAMPAIGN_ABI_VERSION);
    let d = dir("null");
    Campaign::init(&d, config()).unwrap();
    let s = c("x");
    // SAFETY: every pointer is NULL or valid; NULL is what is being tested.
    unsafe {
        assert!(sf_campaign_open(null(), s.as_ptr(), s.as_ptr(), 10).is_null());
        assert!(last_error().contains("dir is NULL"), "{}", last_error());
        let mut t = 0.0;
        assert_eq!(
            sf_campaign_tolerance(null_mut(), &mut t),
            SF_CAMPAIGN_ERR_NULL
        );
        sf_campaign_close(null_mut());
        assert_eq!(CStr::from_ptr(sf_campaign_message(null())).to_bytes(), b"");

        let h = open(&d, "run_1", "f_out", 10);
        assert!(!h.is_null(), "{}", last_error());
        assert_eq!(sf_campaign_tolerance(h, null_mut()), SF_CAMPAIGN_ERR_NULL);
        let (mut v, mut p) = (7u32, null::<c_char>());
        assert_eq!(sf_campaign_newest_model(h, &mut v, &mut p), SF_CAMPAIGN_OK);
        assert_eq!((v, p.is_null()), (0, true), "no model yet");
        let mut verdict = -1;
        assert_eq!(
            sf_campaign_override(h, null(), &mut verdict),
            SF_CAMPAIGN_ERR_NULL
        );
        let bad = sf_campaign_decision {
            kind: 7,
            ood: 0,
            frame: 3,
            mu_hat: 0.0,
            mu_low: 0.0,
            mu_high: 0.0,
            level: 0.9,
        };
        assert_eq!(
            sf_campaign_override(h, &bad, &mut verdict),
            SF_CAMPAIGN_ERR_INVALID
        );
        assert_eq!(
            sf_campaign_record(h, null(), 0, 0, &FINISHED, 0, null(), 0),
            SF_CAMPAIGN_ERR_NULL
        );
        let values = [1.0, f64::NAN];
        assert_eq!(
            sf_campaign_record(h, values.as_ptr(), 2, 0, &FINISHED, 0, null(), 0),
            SF_CAMPAIGN_ERR_INVALID
        );
        assert!(last_error().contains("frame 1 is NaN"), "{}", last_error());
        sf_campaign_close(h);
    }
    // a missing directory, one without a campaign, another column or spacing, a bad run id
    assert!(open(&d.join("nowhere"), "r", "f_out", 10).is_null());
    assert!(
        last_error().contains("no such directory"),
        "{}",
        last_error()
    );
    let empty = dir("empty");
    fs::create_dir_all(&empty).unwrap();
    assert!(open(&empty, "r", "f_out", 10).is_null());
    assert!(last_error().contains("campaign init"), "{}", last_error());
    assert!(open(&d, "r", "v_temp", 10).is_null());
    assert!(
        last_error().contains("column f_out vs v_temp"),
        "{}",
        last_error()
    );
    assert!(open(&d, "r", "f_out", 20).is_null());
    assert!(
        last_error().contains("every 10 steps vs every 20"),
        "{}",
        last_error()
    );
    assert!(open(&d, "../evil", "f_out", 10).is_null());
    assert!(
        last_error().contains("not usable as a file name"),
        "{}",
        last_error()
    );
}

#[test]
fn runs_record_themselves_and_a_retraining_publishes_the_model_the_next_run_loads() {
    let d = dir("trip");
    Campaign::init(&d, config()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut published = 0;
    for i in 0..16 {
        let id = format!("run_{i:02}");
        let h = open(&d, &id, "f_out", 10);
        assert!(!h.is_null(), "{}", last_error());
        let mu = if i % 3 == 0 {
            14.0
        } else {
            4.0 + 0.2 * i as f64
        };
        let values = trace(mu, 150, &mut rng);
        let (mut what, mut version) = (-1, 0u32);
        // SAFETY: a live handle and valid buffers.
        unsafe {
            assert_eq!(
                sf_campaign_record(
                    h,
                    values.as_ptr(),
                    values.len(),
                    150,
                    &FINISHED,
                    0,
                    null(),
                    0
                ),
                SF_CAMPAIGN_OK,
                "{}",
                last_error()
            );
            let msg = CStr::from_ptr(sf_campaign_message(h)).to_string_lossy();
            assert!(
                msg.starts_with(&format!("recorded {id}: finished, 150 frames")),
                "{msg}"
            );
            assert_eq!(
                sf_campaign_maybe_retrain(h, &mut what, &mut version),
                SF_CAMPAIGN_OK
            );
            let msg = CStr::from_ptr(sf_campaign_message(h)).to_string_lossy();
            if i < 15 {
                assert_eq!((what, version), (SF_CAMPAIGN_RETRAIN_NOT_DUE, 0), "{msg}");
            } else {
                assert_eq!(what, SF_CAMPAIGN_RETRAIN_PUBLISHED, "{msg}");
                assert!(msg.starts_with("published model-0001"), "{msg}");
                published = version;
            }
            sf_campaign_close(h);
        }
    }
    assert_eq!(published, 1);
    // the next run finds the model, and the same run id cannot record twice
    assert!(open(&d, "run_03", "f_out", 10).is_null());
    assert!(
        last_error().contains("already recorded"),
        "{}",
        last_error()
    );
    let h = open(&d, "run_next", "f_out", 10);
    let (mut v, mut p) = (0u32, null::<c_char>());
    // SAFETY: a live handle and valid out-pointers.
    unsafe {
        assert_eq!(sf_campaign_newest_model(h, &mut v, &mut p), SF_CAMPAIGN_OK);
        let path = CStr::from_ptr(p).to_string_lossy().into_owned();
        assert_eq!(v, 1);
        assert!(path.ends_with("models/model-0001.sfm") && Path::new(&path).is_file());
        // a halt is obeyed (not audited at audit 0), a forecast wider than the tolerance stops
        // nothing, a halted run records as such
        let halt = sf_campaign_decision {
            kind: SF_CAMPAIGN_DECISION_HALT,
            ood: 0,
            frame: 50,
            mu_hat: f64::NAN,
            mu_low: f64::NAN,
            mu_high: f64::NAN,
            level: f64::NAN,
        };
        let wide = sf_campaign_decision {
            kind: SF_CAMPAIGN_DECISION_FORECAST,
            mu_hat: 5.0,
            mu_low: 1.0,
            mu_high: 9.0,
            level: 0.9,
            ..halt
        };
        let mut verdict = -1;
        assert_eq!(sf_campaign_override(h, &wide, &mut verdict), SF_CAMPAIGN_OK);
        assert_eq!(verdict, SF_CAMPAIGN_IGNORE);
        assert_eq!(sf_campaign_override(h, &halt, &mut verdict), SF_CAMPAIGN_OK);
        assert!(
            verdict == SF_CAMPAIGN_OBEY || verdict == SF_CAMPAIGN_AUDIT,
            "{verdict}"
        );
        let values = trace(14.0, 50, &mut rng);
        let halted = sf_campaign_outcome {
            kind: SF_CAMPAIGN_HALTED,
            frame: 50,
            ..FINISHED
        };
        assert_eq!(
            sf_campaign_record(h, values.as_ptr(), 50, 150, &halted, v, null(), 0),
            SF_CAMPAIGN_OK,
            "{}",
            last_error()
        );
        let msg = CStr::from_ptr(sf_campaign_message(h)).to_string_lossy();
        assert_eq!(msg, "recorded run_next: halted at frame 50 (model-0001)");
        sf_campaign_close(h);
    }
    let mut camp = Campaign::open(&d).unwrap();
    let s = camp.status().unwrap();
    assert_eq!(s.runs, 17, "{s}");
}

fn open_resumable(d: &Path, run: &str, halted: &mut u64) -> *mut sf_campaign {
    let (d, run, column) = (c(d.to_str().unwrap()), c(run), c("f_out"));
    // SAFETY: valid strings and a writable u64.
    unsafe { sf_campaign_open_resumable(d.as_ptr(), run.as_ptr(), column.as_ptr(), 10, halted) }
}

#[test]
fn a_halted_run_opens_to_be_resumed_and_its_record_is_replaced() {
    let d = dir("resume");
    Campaign::init(&d, config()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let before = trace(30.0, 8, &mut rng);
    let halted = sf_campaign_outcome {
        kind: SF_CAMPAIGN_HALTED,
        frame: 8,
        ..FINISHED
    };
    let mut frames = 99;
    // a new run opens as such, and a halt's record names its restart file
    let h = open_resumable(&d, "h", &mut frames);
    assert!(!h.is_null(), "{}", last_error());
    assert_eq!(frames, 0);
    let restart = c("/scratch/h.restart");
    // SAFETY: a live handle, valid strings and values.
    unsafe {
        assert_eq!(sf_campaign_set_restart(h, restart.as_ptr()), SF_CAMPAIGN_OK);
        let rc = sf_campaign_record(h, before.as_ptr(), 8, 20, &halted, 3, null(), 0);
        assert_eq!(rc, SF_CAMPAIGN_OK, "{}", last_error());
        sf_campaign_close(h);
    }
    let mut camp = Campaign::open(&d).unwrap();
    let s = camp.status().unwrap();
    assert_eq!(
        s.halted_runs[0].restart.as_deref(),
        Some("/scratch/h.restart")
    );

    // the plain open refuses the recorded name; the resumable one opens it to be resumed
    assert!(open(&d, "h", "f_out", 10).is_null());
    assert!(
        last_error().contains("already recorded"),
        "{}",
        last_error()
    );
    let h = open_resumable(&d, "h", &mut frames);
    assert!(!h.is_null(), "{}", last_error());
    assert_eq!(frames, 8);
    let after = trace(30.0, 12, &mut rng);
    let (mut version, mut path) = (0u32, null::<c_char>());
    // SAFETY: a live handle, valid values.
    unsafe {
        // the model in use is the one that halted the run (version 3; its file need not exist
        // here: this only names it)
        assert_eq!(
            sf_campaign_newest_model(h, &mut version, &mut path),
            SF_CAMPAIGN_OK
        );
        assert_eq!(version, 3);
        // a resumed run acts on nothing: only a finished record, without an override
        let rc = sf_campaign_record(h, after.as_ptr(), 12, 20, &halted, 3, null(), 0);
        assert_eq!(rc, SF_CAMPAIGN_ERR_INVALID);
        let rc = sf_campaign_record(h, after.as_ptr(), 12, 20, &FINISHED, 3, null(), 0);
        assert_eq!(rc, SF_CAMPAIGN_OK, "{}", last_error());
        let msg = CStr::from_ptr(sf_campaign_message(h)).to_string_lossy();
        assert!(msg.contains("replacing its halted record"), "{msg}");
        sf_campaign_close(h);
    }
    let mut camp = Campaign::open(&d).unwrap();
    let r = camp.refresh().unwrap()["h"].clone();
    assert_eq!((r.frames, r.model, r.restart.clone()), (20, Some(3), None));
    assert_eq!(r.outcome, simforecast_campaign::Outcome::Finished);
    assert!(matches!(
        r.overridden,
        Some((
            simforecast_campaign::Decision::Halt { frame: 8 },
            simforecast_campaign::Override::Resumed
        ))
    ));
    // a finished run is no longer resumable: refused as recorded
    assert!(open_resumable(&d, "h", &mut frames).is_null());
    assert!(
        last_error().contains("already recorded"),
        "{}",
        last_error()
    );
}
