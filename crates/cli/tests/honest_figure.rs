//! `protocol` and `evaluate` report compute saved at the tolerance the user banks at
//! (`--bank-at`), beside the paper's accounting: the JSON carries every figure, the figures agree
//! with each other, and a tolerance that is no tolerance is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_simforecast");
const WIDE: &str = "data/nemd-wide-public/traces";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

fn simforecast(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(repo())
        .args(args)
        .output()
        .expect("simforecast runs")
}

fn json(args: &[&str]) -> Value {
    let out = simforecast(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is no number"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{v} is no count"))
}

fn share_or_null(v: &Value) -> bool {
    v.is_null() || v.as_f64().is_some_and(|x| (0.0..=1.0).contains(&x))
}

/// A summary over splits at one tolerance (`SavingsSummary`).
fn check_summary(s: &Value, t: f64, splits: u64) {
    assert_eq!(f(&s["tolerance"]), t, "{s}");
    assert_eq!(u(&s["splits"]), splits);
    assert!(f(&s["saved_ratio"]["mean"]) >= 1.0, "{s}");
    let share = f(&s["saved_share"]["mean"]);
    assert!((0.0..1.0).contains(&share), "{s}");
    for key in ["halted", "banked", "unstopped", "too_wide"] {
        assert!(f(&s[key]["mean"]) >= 0.0, "{key}: {s}");
    }
    let banked = u(&s["banked_total"]);
    assert!(u(&s["intervals_missed"]) <= banked, "{s}");
    assert!(u(&s["estimates_off"]) <= banked, "{s}");
    assert!(share_or_null(&s["coverage"]), "{s}");
    assert_eq!(s["coverage"].is_null(), banked == 0, "{s}");
}

fn check_curve(c: &Value, splits: u64) {
    let c = c.as_array().expect("a curve");
    assert_eq!(c.len(), 19);
    for (i, s) in c.iter().enumerate() {
        check_summary(s, (10 + 5 * i) as f64 / 100.0, splits);
    }
    // A looser tolerance banks at least as much.
    for w in c.windows(2) {
        assert!(f(&w[1]["saved_ratio"]["mean"]) >= f(&w[0]["saved_ratio"]["mean"]));
    }
}

#[test]
fn protocol_json_carries_the_honest_figure_its_curve_and_the_baselines() {
    let r = json(&[
        "protocol",
        WIDE,
        "--threshold",
        "33.1",
        "--repeats",
        "2",
        "--no-sweep",
        "--compare",
        "default",
        "--json",
    ]);
    assert_eq!(f(&r["bank_at"]), 0.25);
    let configs = r["configs"].as_array().unwrap();
    assert_eq!(configs.len(), 1);
    let c = &configs[0];
    assert_eq!(c["name"], "default");
    check_summary(&c["honest"], 0.25, 2);
    check_curve(&c["curve"], 2);
    // The paper's accounting is still there; the default forecasts only within its tolerance
    // (±25 %), so it counts about what the honest figure counts, never less.
    let paper = f(&c["compute_saved"]["mean"]);
    let honest = f(&c["honest"]["saved_ratio"]["mean"]);
    assert!(paper >= honest - 1e-9 && honest > 1.2, "{paper} {honest}");
    // Each forecasting window beside the persistence baseline.
    let windows = c["windows"].as_array().unwrap();
    let got: Vec<u64> = windows.iter().map(|w| u(&w["window"])).collect();
    // Every 50 frames from 100 frames to before the shortest trace's end.
    assert_eq!(got, (2..=28).map(|i| 50 * i).collect::<Vec<u64>>());
    for w in windows {
        for side in ["model", "persistence"] {
            let s = &w[side];
            assert!(s["r2"].as_array().is_some_and(|a| a.len() == 2), "{w}");
            assert!(f(&s["r2_mu"]["mean"]) <= 1.0, "{w}");
            assert!(share_or_null(&s["coverage"]["mean"]), "{w}");
            assert!(f(&s["relative_width"]["mean"]) > 0.0, "{w}");
        }
        assert!(w["model_cv_r2"].as_array().is_some_and(|a| a.len() == 2));
        assert!(w["baseline_wins_mu_sigma"].is_boolean(), "{w}");
        assert!(w["baseline_wins_mu"].is_boolean(), "{w}");
    }
    let p = &r["persistence"];
    assert_eq!(p["windows"], serde_json::json!(got));
    check_summary(&p["honest"], 0.25, 2);
    check_curve(&p["curve"], 2);
    assert!(r["mean_rule"]["f1"].is_number());
}

#[test]
fn evaluate_reports_the_honest_figure_beside_the_papers_accounting() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("honest-evaluate");
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("paper.sfm");
    let model = model.to_str().unwrap();
    let train_glob = format!("{WIDE}/run_00*.dat");
    let test_glob = format!("{WIDE}/run_01*.dat");
    let out = simforecast(&[
        "train",
        &train_glob,
        "--threshold",
        "33.1",
        "--preset",
        "paper",
        "-o",
        model,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let r = json(&[
        "evaluate",
        "--model",
        model,
        &test_glob,
        "--bank-at",
        "0.5",
        "--json",
    ]);
    // The held-out metrics keep their names at the top.
    let n = u(&r["n"]);
    assert!(n > 0);
    assert!(share_or_null(&r["precision"]) && r["compute_saved"].is_number());
    assert_eq!(f(&r["bank_at"]), 0.5);
    let h = &r["honest"];
    assert_eq!(f(&h["tolerance"]), 0.5);
    assert_eq!(u(&h["runs"]), n);
    let counted = ["halted", "banked", "too_wide", "ran_to_end"]
        .iter()
        .map(|k| u(&h[k]))
        .sum::<u64>();
    assert_eq!(counted, n, "every run is counted once: {h}");
    assert!(u(&h["covered"]) <= u(&h["banked"]));
    // One forecasting window (the paper's): the honest figure can only count less saved.
    assert!(f(&h["saved_ratio"]) <= f(&r["compute_saved"]) + 1e-9);
    assert_eq!(r["curve"].as_array().map(Vec::len), Some(19));
    // Each run's stop, as counted.
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len() as u64, n);
    let halted = runs
        .iter()
        .filter(|x| x["stop"]["Halted"].is_object())
        .count();
    assert_eq!(halted as u64, u(&h["halted"]));

    let out = simforecast(&["evaluate", "--model", model, &test_glob]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("compute saved at ±25 %: "), "{text}");
    assert!(text.contains("banked forecasts: "), "{text}");
    assert!(
        text.contains("the paper's accounting (every forecast counted as final"),
        "{text}"
    );
}

#[test]
fn a_tolerance_that_is_no_tolerance_is_refused() {
    for bad in ["0", "-0.1", "nan"] {
        let bank_at = format!("--bank-at={bad}");
        let out = simforecast(&[
            "protocol",
            WIDE,
            "--threshold",
            "33.1",
            "--repeats",
            "1",
            "--no-sweep",
            &bank_at,
        ]);
        assert!(!out.status.success(), "--bank-at {bad} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--bank-at must be a positive relative half-width"),
            "{bad}: {err}"
        );
    }
}
