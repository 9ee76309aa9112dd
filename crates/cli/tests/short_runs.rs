//! A campaign of runs shorter than the default's windows and tail (600 frames, as a new user's
//! LJ-fluid campaign had): the error names every option the length implies at once, and with a
//! shorter tail the default's windows follow the traces instead of failing one option at a time.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_simforecast");

/// The wide campaign's traces cut to their first `frames` frames (header kept).
fn short_campaign(frames: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("short-{frames}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/nemd-wide-public/traces");
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        let (header, rows): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.starts_with('#'));
        let mut out = header.join("\n");
        for row in rows.iter().take(frames) {
            out.push('\n');
            out.push_str(row);
        }
        out.push('\n');
        fs::write(dir.join(path.file_name().unwrap()), out).unwrap();
    }
    dir
}

fn train(dir: &Path, extra: &[&str]) -> Output {
    let model = dir.join("m.sfm");
    Command::new(BIN)
        .arg("train")
        .arg(dir)
        .args(["--threshold", "33.1", "-o"])
        .arg(&model)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn short_runs_get_one_error_naming_every_option_then_windows_that_follow_them() {
    let dir = short_campaign(600);
    let out = train(&dir, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for option in [
        "--tail",
        "--screen-windows",
        "--forecast-windows",
        "--halt-windows",
        "--forecast-by",
    ] {
        assert!(err.contains(option), "{option} named in: {err}");
    }

    let out = train(&dir, &["--tail", "300"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("the shortest trace has 600 frames: dropped the preset's windows [600, 650, "),
        "{err}"
    );
    // The default halts only at its two latest windows: now 300 and 400 frames, whose stages
    // halt or say why they cannot — never "not a halting window".
    let lines: Vec<&str> = text.lines().collect();
    let details = |w: usize| {
        let at = lines
            .iter()
            .position(|l| l.contains(&format!("screen at {w} frames:")))
            .unwrap_or_else(|| panic!("a screening stage at {w} frames: {text}"));
        lines[at + 1]
    };
    assert!(!details(300).contains("not a halting window"), "{text}");
    assert!(!details(400).contains("not a halting window"), "{text}");
    assert!(details(200).contains("not a halting window"), "{text}");
    assert!(text.contains("\nverdict    it "), "{text}");

    // Windows the user sets are checked, all at once.
    let out = train(
        &dir,
        &[
            "--tail",
            "300",
            "--screen-windows",
            "100,700",
            "--forecast-windows",
            "650",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("--screen-windows (up to 700)")
            && err.contains("--forecast-windows (up to 650)"),
        "{err}"
    );
}
