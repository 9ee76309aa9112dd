//! The second example system, a Lennard-Jones fluid (examples/lj-fluid): on its cached campaign
//! of 50 LAMMPS runs, the forecaster `protocol` trains is no worse out of fold than the
//! persistence baseline (a run's own window mean and sd as μ and μ∓σ) at any of its forecasting
//! windows. In this system the viscosity settles within about a hundred frames and its noise
//! level is set by the shear rate, so the window itself is a strong forecast: a forecaster that
//! loses to it costs the user more than having no model.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_simforecast");
const TRACES: &str = "examples/lj-fluid/data/traces";
/// The campaign's threshold and tail, as its README states them.
const THRESHOLD: &str = "2.75";
const TAIL: &str = "500";
/// R² a forecaster may lose to the baseline by and still count as no worse: the mean over 20
/// splits of 10 held-out relevant runs each moves by about this much between seeds. Where the
/// splits disagree more, the standard error of the baseline's mean over splits is the slack
/// (their R² spreads by 0.2-0.5 at early windows: a smaller gap is not a loss one can see).
const SLACK: f64 = 0.02;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// `protocol --json` of the default preset on the cached campaign, run once for every test.
fn protocol() -> &'static Value {
    static REPORT: OnceLock<Value> = OnceLock::new();
    REPORT.get_or_init(|| {
        let out = Command::new(BIN)
            .current_dir(repo())
            .args(["protocol", TRACES, "--threshold", THRESHOLD, "--tail", TAIL])
            .args(["--compare", "default", "--no-sweep", "--json"])
            .output()
            .expect("simforecast runs");
        assert!(
            out.status.success(),
            "protocol: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON")
    })
}

/// (window, model's R², persistence's R², the slack) at each forecasting window of the default
/// preset; `r2` picks the figure from a `FiguresSummary`, `se` its standard error over splits.
fn windows(r2: &dyn Fn(&Value) -> f64, se: &dyn Fn(&Value) -> f64) -> Vec<(u64, f64, f64, f64)> {
    let v = protocol();
    assert_eq!(v["n"].as_u64(), Some(50), "the cached campaign has 50 runs");
    assert_eq!(v["n_irrelevant"].as_u64(), Some(8), "8 runs above 2.75");
    let default = &v["configs"][0];
    assert_eq!(default["name"].as_str(), Some("default"));
    let w = default["windows"].as_array().expect("forecasting windows");
    assert!(!w.is_empty(), "the default forecasts: {default}");
    w.iter()
        .map(|w| {
            (
                w["window"].as_u64().unwrap(),
                r2(&w["model"]),
                r2(&w["persistence"]),
                SLACK.max(se(&w["persistence"])),
            )
        })
        .collect()
}

fn mean(v: &Value) -> f64 {
    v["mean"]
        .as_f64()
        .unwrap_or_else(|| panic!("{v} has no mean"))
}

/// Standard error of a mean over splits.
fn standard_error(v: &Value) -> f64 {
    let (std, n) = (
        v["std"].as_f64().unwrap_or(0.0),
        v["n"].as_f64().unwrap_or(1.0),
    );
    std / n.max(1.0).sqrt()
}

fn losses(rows: &[(u64, f64, f64, f64)]) -> Vec<String> {
    rows.iter()
        .filter(|(_, model, base, slack)| model < &(base - slack))
        .map(|(w, model, base, slack)| {
            format!("{w} frames: model {model:.3}, persistence {base:.3} (slack {slack:.3})")
        })
        .collect()
}

#[test]
fn forecast_of_mu_is_no_worse_than_persistence_out_of_fold() {
    let rows = windows(&|f| mean(&f["r2_mu"]), &|f| standard_error(&f["r2_mu"]));
    let lost = losses(&rows);
    assert!(
        lost.is_empty(),
        "held-out R² of mu below the window mean's: {lost:?}"
    );
}

#[test]
fn forecast_of_mu_sigma_is_no_worse_than_persistence_out_of_fold() {
    // μ−σ and μ+σ are the model's targets; the baseline is the window's mean ∓ its sd.
    let rows = windows(&|f| (mean(&f["r2"][0]) + mean(&f["r2"][1])) / 2.0, &|f| {
        (standard_error(&f["r2"][0]) + standard_error(&f["r2"][1])) / 2.0
    });
    let lost = losses(&rows);
    assert!(
        lost.is_empty(),
        "held-out R² of mu-sigma, mu+sigma (mean of the two) below the window's mean ∓ sd: {lost:?}"
    );
}
