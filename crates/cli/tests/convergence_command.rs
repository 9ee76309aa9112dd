//! `simforecast convergence` on a shipped campaign: the figures it prints agree with each other
//! and with the per-run stops it lists, and it finds out that the slurry campaign is not safe to
//! stop on its runs' own statistics.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_simforecast");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

fn convergence(args: &[&str]) -> (String, String) {
    let out = Command::new(BIN)
        .current_dir(repo())
        .arg("convergence")
        .args(args)
        .output()
        .expect("simforecast runs");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{args:?}: {stderr}");
    (stdout, stderr)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is no number"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{v} is no count"))
}

/// The mean of the last `tail` values of a trace file's first value column.
fn tail_mean(path: &Path, tail: usize) -> f64 {
    let values: Vec<f64> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap()))
        .collect();
    values[values.len() - tail..].iter().sum::<f64>() / tail as f64
}

#[test]
fn wide_campaign_figures_are_self_consistent_and_the_verdict_says_do_not_stop() {
    let (json, _) = convergence(&["data/nemd-wide-public/traces", "--json"]);
    let r: Value = serde_json::from_str(&json).unwrap();
    let t = f(&r["tolerance"]);
    assert_eq!(t, 0.25);
    let runs = r["runs_at_min_frames"].as_array().unwrap();
    assert_eq!(runs.len() as u64, u(&r["runs"]));
    assert_eq!(runs.len(), 250);

    // Recount the headline from the per-run stops.
    let (mut full, mut simulated, mut stopped, mut within, mut covered) = (0, 0, 0, 0, 0);
    for run in runs {
        let frames = u(&run["frames"]);
        full += frames;
        match run["stop_frame"].as_u64() {
            Some(n) => {
                assert!(n < frames && n % 50 == 0, "{run}");
                simulated += n;
                stopped += 1;
                let e = &run["estimate"];
                let (m, hw, mu) = (f(&e["mean"]), f(&e["half_width"]), f(&run["mu"]));
                // A stop is a converged check: within tolerance, halves agreeing.
                assert!(hw <= t * m.abs() + 1e-12, "{run}");
                assert!(f(&e["relative_drift"]) <= 0.125 + 1e-12, "{run}");
                assert!(u(&e["start"]) * 2 <= n, "t0 discards at most half: {run}");
                within += usize::from((m - mu).abs() <= t * mu.abs());
                covered += usize::from(m - hw <= mu && mu <= m + hw);
            }
            None => {
                assert!(run["estimate"].is_null());
                simulated += frames;
            }
        }
    }
    let h = &r["headline"];
    let s = &h["savings"];
    assert_eq!(u(&h["min_frames"]), 0);
    assert_eq!(u(&h["stopped"]), stopped);
    assert_eq!(u(&s["banked"]), stopped);
    assert_eq!(
        (u(&s["full_frames"]), u(&s["frames_simulated"])),
        (full, simulated)
    );
    let ratio = f(&s["saved_ratio"]);
    assert!((ratio - full as f64 / simulated as f64).abs() < 1e-9);
    assert!((f(&s["saved_share"]) - (1.0 - 1.0 / ratio)).abs() < 1e-9);
    let share = f(&s["within_tolerance"]);
    assert!((share - within as f64 / stopped as f64).abs() < 1e-12);
    assert!((f(&s["coverage"]) - covered as f64 / stopped as f64).abs() < 1e-12);
    assert_eq!(u(&s["missed"]) as usize, stopped as usize - within);
    for x in [share, f(&s["coverage"]), f(&s["saved_share"])] {
        assert!((0.0..=1.0).contains(&x), "{x}");
    }

    // The runs' μ is the mean of their last 1000 frames, read here independently.
    let first = &runs[0];
    let path = repo().join(format!(
        "data/nemd-wide-public/traces/{}.dat",
        first["name"].as_str().unwrap()
    ));
    assert!((f(&first["mu"]) - tail_mean(&path, 1000)).abs() < 1e-9);

    // The regime: stopping on own statistics saves a lot here, and is wrong most of the time.
    assert!(ratio > 3.0, "saved {ratio}");
    assert!(share < 0.6, "within {share}");
    assert_eq!(r["trust"]["kind"], "unsafe");
    let verdict = r["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("do not stop on own statistics"),
        "{verdict}"
    );

    // The curve over minimum frames: later stops save less and are right more often.
    let curve = r["curve_min_frames"].as_array().unwrap();
    let mins: Vec<u64> = curve.iter().map(|row| u(&row["min_frames"])).collect();
    assert_eq!(mins, [0, 300, 600, 900]);
    for w in curve.windows(2) {
        let (a, b) = (&w[0]["savings"], &w[1]["savings"]);
        assert!(f(&b["saved_ratio"]) <= f(&a["saved_ratio"]));
        assert!(f(&b["within_tolerance"]) >= f(&a["within_tolerance"]));
        assert!(f(&b["saved_ratio"]) >= 1.0);
    }
    // The honest curve over tolerances of the same stops: 0.10 … 1.00.
    let tc = r["curve_tolerance"].as_array().unwrap();
    assert_eq!(tc.len(), 19);
    let at = |i: usize| f(&tc[i]["saved_ratio"]);
    assert!((at(3) - ratio).abs() < 1e-9, "t = 0.25 is the headline");
    assert!(at(0) <= at(3) && at(3) <= at(18));
}

#[test]
fn text_report_states_the_table_and_the_verdict() {
    let (text, stderr) = convergence(&["data/nemd-public/traces", "--min-frames", "900"]);
    assert!(stderr.contains("read v_eta from 350 traces"), "{stderr}");
    assert!(text.contains("never stop before"), "{text}");
    for row in ["—", "300 frames", "600 frames", "900 frames"] {
        assert!(text.contains(row), "{row}: {text}");
    }
    assert!(text.contains("<- --min-frames"), "{text}");
    let verdict = text
        .lines()
        .find(|l| l.starts_with("verdict: "))
        .unwrap_or_else(|| panic!("no verdict line: {text}"));
    assert!(
        verdict.contains("do not stop on own statistics here"),
        "{verdict}"
    );
}

#[test]
fn bad_options_are_refused_naming_them() {
    for (args, want) in [
        (&["--tolerance", "0"][..], "tolerance"),
        (&["--every", "0"][..], "--every"),
        (&["--level", "1.5"][..], "level"),
        (&["--max-discard", "0"][..], "max_discard"),
    ] {
        let out = Command::new(BIN)
            .current_dir(repo())
            .arg("convergence")
            .arg("data/nemd-wide-public/traces")
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
}
