//! Every `simforecast` command shown in README.md and examples/*/README.md, run exactly as
//! written and checked for what it should produce.
//!
//! The command lines come from the fenced code blocks of each file (with the block's variable
//! assignments, such as `S=./target/release/simforecast`, run before each of them). Each file
//! runs in its own scratch directory holding `data/` (a link to the repository's), `examples/`
//! (real directories of links, so a command run from `examples/slurry` writes its files in the
//! scratch directory) and `target/release/simforecast`; `simforecast` on PATH is the binary under
//! test. Commands run with bash, in order, from the directory the file says to run them from.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_simforecast");

/// The documents whose commands are run, and the directory (relative to the repository root)
/// they tell the reader to run them from.
const DOCUMENTS: &[(&str, &str)] = &[
    ("README.md", "."),
    ("examples/c/README.md", "."),
    ("examples/cpp/README.md", "."),
    ("examples/slurry/README.md", "examples/slurry"),
    ("examples/lj-fluid/README.md", "examples/lj-fluid"),
    ("examples/slurm/README.md", "examples/slurm"),
];

/// Commands whose inputs only a LAMMPS campaign makes (hours of simulation): found, listed,
/// not run. Each entry must still be in its document.
const NEEDS_A_LAMMPS_CAMPAIGN: &[(&str, &str)] = &[(
    "examples/slurry/README.md",
    "simforecast train my-campaign/traces --threshold 33.1 -o mine.sfm",
)];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// One command line of a document, with the assignments of its code block that precede it.
#[derive(Debug, Clone)]
struct DocCommand {
    line: usize,
    prelude: Vec<String>,
    text: String,
}

/// The command lines of the fenced code blocks that show the CLI: lines whose program is
/// `simforecast` (directly, by a path, or through a variable of the block such as `$S`).
fn cli_commands(markdown: &str) -> Vec<DocCommand> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut prelude: Vec<String> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in markdown.lines().enumerate() {
        if raw.trim_start().starts_with("```") {
            in_block = !in_block;
            prelude.clear();
            continue;
        }
        if !in_block {
            continue;
        }
        // Join continuation lines (a trailing backslash).
        let (start, text) = match pending.take() {
            Some((start, text)) => (start, text + raw.trim()),
            None => (i + 1, raw.trim_end().to_string()),
        };
        if let Some(stripped) = text.strip_suffix('\\') {
            pending = Some((start, format!("{} ", stripped.trim_end())));
            continue;
        }
        let line = text.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if is_assignment(line) {
            prelude.push(line.to_string());
        } else if runs_simforecast(line, &prelude) {
            out.push(DocCommand {
                line: start,
                prelude: prelude.clone(),
                text: line.to_string(),
            });
        }
    }
    out
}

/// `NAME=value` (a shell variable assignment, nothing run).
fn is_assignment(line: &str) -> bool {
    let word = line.split_whitespace().next().unwrap_or("");
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

fn runs_simforecast(line: &str, prelude: &[String]) -> bool {
    let program = line.split_whitespace().next().unwrap_or("");
    let program = match program.strip_prefix('$') {
        Some(var) => prelude
            .iter()
            .rev()
            .find_map(|a| a.strip_prefix(&format!("{var}=")))
            .and_then(|v| v.split_whitespace().next())
            .unwrap_or(""),
        None => program,
    };
    Path::new(program)
        .file_name()
        .is_some_and(|f| f == "simforecast")
}

/// Words of a command, with quotes removed (no expansion: the values the test reads, such as
/// `-o wide.sfm`, are literal in the documents).
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, '#') if cur.is_empty() && !any => break,
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() || any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        out.push(cur);
    }
    out
}

/// The value after `flag` (or `flag=value`).
fn option(w: &[String], flags: &[&str]) -> Option<String> {
    w.iter().enumerate().find_map(|(i, x)| {
        flags.iter().find_map(|f| {
            if x == f {
                w.get(i + 1).cloned()
            } else {
                x.strip_prefix(&format!("{f}=")).map(str::to_string)
            }
        })
    })
}

fn has(w: &[String], flag: &str) -> bool {
    w.iter().any(|x| x == flag)
}

/// The scratch directory of one document: data/, examples/ and target/release/simforecast as
/// the reader's checkout has them, plus bin/simforecast for PATH.
fn scratch(name: &str) -> PathBuf {
    let root = repo();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("readme-{name}"));
    if dir.exists() {
        fs::remove_dir_all(&dir).expect("remove the old scratch directory");
    }
    fs::create_dir_all(dir.join("target/release")).unwrap();
    fs::create_dir_all(dir.join("bin")).unwrap();
    std::os::unix::fs::symlink(root.join("data"), dir.join("data")).unwrap();
    std::os::unix::fs::symlink(BIN, dir.join("target/release/simforecast")).unwrap();
    std::os::unix::fs::symlink(BIN, dir.join("bin/simforecast")).unwrap();
    for example in fs::read_dir(root.join("examples")).unwrap() {
        let example = example.unwrap().path();
        let target = dir.join("examples").join(example.file_name().unwrap());
        if example.is_dir() {
            fs::create_dir_all(&target).unwrap();
            for f in fs::read_dir(&example).unwrap() {
                let f = f.unwrap().path();
                std::os::unix::fs::symlink(&f, target.join(f.file_name().unwrap())).unwrap();
            }
        } else {
            fs::create_dir_all(dir.join("examples")).unwrap();
            std::os::unix::fs::symlink(&example, target).unwrap();
        }
    }
    dir
}

fn bash(cwd: &Path, path_dir: &Path, script: &str) -> Output {
    let path = format!(
        "{}:{}",
        path_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(cwd)
        .env("PATH", path)
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run bash")
}

/// What the test checked, by kind of command, for the coverage check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Train,
    TrainBelow,
    Inspect,
    Predict,
    EvaluateText,
    EvaluateJson,
    Protocol,
    Convergence,
    Piped,
    Campaign,
}

/// Runs the CLI commands of `doc` as written; returns the kinds of commands it checked.
fn run_document(doc: &str) -> BTreeSet<Kind> {
    let root = repo();
    let cwd_rel = DOCUMENTS
        .iter()
        .find(|d| d.0 == doc)
        .map(|d| d.1)
        .expect("a listed document");
    let text = fs::read_to_string(root.join(doc)).unwrap();
    let commands = cli_commands(&text);
    assert!(!commands.is_empty(), "{doc} shows no simforecast command");
    let dir = scratch(&doc.replace('/', "_"));
    let cwd = dir.join(cwd_rel);
    let mut kinds = BTreeSet::new();
    for c in &commands {
        let skip = NEEDS_A_LAMMPS_CAMPAIGN
            .iter()
            .any(|(d, t)| *d == doc && *t == c.text);
        if skip {
            continue;
        }
        let run = |script: &str| bash(&cwd, &dir.join("bin"), script);
        let out = run(&format!("{}\n{}\n", c.prelude.join("\n"), c.text));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let at = format!(
            "{doc}:{} `{}`\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}",
            c.line, c.text
        );
        assert!(out.status.success(), "failed ({}): {at}", out.status);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "panic: {at}"
        );
        kinds.insert(check(c, &cwd, &run, &stdout, &stderr, &at));
    }
    fs::remove_dir_all(&dir).ok();
    kinds
}

/// Checks the output of one command; returns its kind.
fn check(
    c: &DocCommand,
    cwd: &Path,
    run: &dyn Fn(&str) -> Output,
    stdout: &str,
    stderr: &str,
    at: &str,
) -> Kind {
    let (command, pipe) = match c.text.split_once(" | ") {
        Some((cmd, pipe)) => (cmd, Some(pipe)),
        None => (c.text.as_str(), None),
    };
    let w = words(command);
    let sub = w.get(1).map(String::as_str).unwrap_or("");
    if let Some(pipe) = pipe {
        let pw = words(pipe);
        assert_eq!(pw.first().map(String::as_str), Some("head"), "{at}");
        let n: usize = option(&pw, &["-n"])
            .and_then(|n| n.parse().ok())
            .expect("head -n N");
        assert_eq!(stdout.lines().count(), n, "head's lines: {at}");
        // The full output is longer, so the pipe really closed before simforecast finished.
        let full = run(&format!("{}\n{command}\n", c.prelude.join("\n")));
        assert!(
            full.status.success() && String::from_utf8_lossy(&full.stdout).lines().count() > n,
            "the command alone prints more than {n} lines: {at}"
        );
        assert!(stderr.is_empty(), "a closed pipe is no error: {at}");
        return Kind::Piped;
    }
    no_sentinels(stdout, at);
    let json = has(&w, "--json");
    let parsed = || -> Value {
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {at}"))
    };
    match sub {
        "train" => {
            let n = read_line(stderr, at);
            let model = option(&w, &["-o", "--output"]).expect("train -o FILE");
            let card = inspect_json(&cwd.join(&model), at);
            assert!(
                card["stages"].as_array().is_some_and(|s| !s.is_empty()),
                "{model} has stages: {at}"
            );
            assert_eq!(card["training"]["traces"].as_u64(), Some(n as u64), "{at}");
            let threshold: f64 = option(&w, &["--threshold"]).unwrap().parse().unwrap();
            assert_eq!(card["label"]["threshold"].as_f64(), Some(threshold), "{at}");
            let below = has(&w, "--below");
            let direction = if below { "Below" } else { "Above" };
            assert_eq!(card["label"]["direction"].as_str(), Some(direction), "{at}");
            if json {
                assert_eq!(parsed()["n"].as_u64(), Some(n as u64), "{at}");
            } else {
                assert!(
                    stdout.contains(&format!("model written to {model}")),
                    "{at}"
                );
            }
            if below {
                Kind::TrainBelow
            } else {
                Kind::Train
            }
        }
        "inspect" => {
            if json {
                assert!(parsed()["stages"].is_array(), "{at}");
            } else {
                assert!(stdout.lines().count() > 5, "a card: {at}");
                assert!(
                    stdout.contains("screen") && stdout.contains("forecast"),
                    "the card names its stages: {at}"
                );
            }
            Kind::Inspect
        }
        "predict" => {
            assert_eq!(read_line(stderr, at), 1, "{at}");
            if json {
                let v = parsed();
                assert!(
                    v["events"].as_array().is_some_and(|e| !e.is_empty()),
                    "{at}"
                );
            } else {
                let events = stdout
                    .lines()
                    .filter(|l| l.trim_start().starts_with("frame "))
                    .count();
                assert!(events > 0, "predict prints events: {at}");
                assert!(stdout.contains("frames needed with the fix"), "{at}");
            }
            Kind::Predict
        }
        "evaluate" => {
            let n = read_line(stderr, at);
            if json {
                let v = parsed();
                assert_eq!(v["n"].as_u64(), Some(n as u64), "n: {at}");
                assert!(v["n_irrelevant"].as_u64().unwrap() <= n as u64, "{at}");
                for key in ["precision", "recall", "f1", "coverage"] {
                    let x = &v[key];
                    assert!(
                        x.is_null() || x.as_f64().is_some_and(|x| (0.0..=1.0).contains(&x)),
                        "{key} is a share or null, got {x}: {at}"
                    );
                }
                assert!(v["halts"].is_u64() && v["r2"].is_array(), "{at}");
                Kind::EvaluateJson
            } else {
                let first = stdout.lines().next().unwrap_or("");
                let held: usize = first
                    .split_once(" held-out traces")
                    .and_then(|(n, _)| n.parse().ok())
                    .unwrap_or_else(|| panic!("first line '{first}': {at}"));
                assert_eq!(held, n, "{at}");
                assert!(stdout.contains("halting precision"), "{at}");
                Kind::EvaluateText
            }
        }
        "protocol" => {
            let n = read_line(stderr, at);
            if json {
                let v = parsed();
                assert_eq!(v["n"].as_u64(), Some(n as u64), "{at}");
                assert!(
                    v["configs"].as_array().is_some_and(|c| !c.is_empty()),
                    "{at}"
                );
            } else {
                assert!(stdout.starts_with(&format!("{n} traces")), "{at}");
                for row in ["default ", "paper ", "one-line rule"] {
                    assert!(
                        stdout.lines().any(|l| l.starts_with(row)),
                        "a row '{row}': {at}"
                    );
                }
            }
            Kind::Protocol
        }
        "convergence" => {
            let n = read_line(stderr, at);
            let stopped = stdout
                .lines()
                .find(|l| l.trim_start().starts_with('—'))
                .unwrap_or_else(|| panic!("the row without a minimum: {at}"));
            assert!(stopped.contains(&format!("/{n}")), "{stopped}: {at}");
            assert!(
                stdout.lines().any(|l| l.starts_with("verdict: ")),
                "a verdict line: {at}"
            );
            Kind::Convergence
        }
        "campaign" => {
            let dir = cwd.join(w.get(3).expect("campaign SUB DIR"));
            match w.get(2).map(String::as_str) {
                Some("init") => {
                    assert!(dir.join("campaign.json").is_file(), "{at}");
                    assert!(stdout.starts_with("campaign "), "{at}");
                }
                Some("record") => {
                    assert!(stdout.starts_with("recorded "), "{at}");
                    if let Some(frame) = option(&w, &["--halted-at"]) {
                        assert!(stdout.contains(&format!("halted at frame {frame}")), "{at}");
                    }
                }
                Some("status") => {
                    assert!(stdout.contains("runs: "), "{at}");
                    // a halted run recorded with its restart file is listed with it
                    let halted = fs::read_dir(dir.join("runs"))
                        .unwrap()
                        .filter_map(|e| fs::read_to_string(e.unwrap().path()).ok())
                        .filter(|t| t.contains("\"restart\""))
                        .count();
                    if halted > 0 {
                        assert!(stdout.contains(": restart "), "{at}");
                    }
                }
                other => panic!("unknown campaign command {other:?}: {at}"),
            }
            Kind::Campaign
        }
        other => panic!("unknown command '{other}': {at}"),
    }
}

/// The line saying what a command read: "read COLUMN from N trace(s) (...), mu LO .. HI ...".
/// Returns N.
fn read_line(stderr: &str, at: &str) -> usize {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("read "))
        .unwrap_or_else(|| panic!("no 'read ...' line on stderr: {at}"));
    let w: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(w.get(1), Some(&"v_eta"), "the column read, bare: {line}");
    assert_eq!(w.get(2), Some(&"from"), "{line}");
    let n: usize = w[3].parse().unwrap_or_else(|_| panic!("{line}"));
    assert!(n > 0, "{line}");
    assert!(line.contains(" mu "), "the range of mu: {line}");
    n
}

/// No NaN, infinity or f64::MAX printed for an absent value.
fn no_sentinels(stdout: &str, at: &str) {
    for token in stdout.split(|c: char| c.is_whitespace() || ",;()[]:".contains(c)) {
        let t = token.trim_matches(|c: char| c == '%' || c == 'x');
        assert!(
            !["NaN", "nan", "inf", "-inf", "NaNx"].contains(&t)
                && !t.contains("e308")
                && !t.contains("17976931348623"),
            "absent value printed as '{token}': {at}"
        );
    }
}

fn inspect_json(model: &Path, at: &str) -> Value {
    let out = Command::new(BIN)
        .args(["inspect", "--json"])
        .arg(model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "inspect {}: {}: {at}",
        model.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("inspect --json is JSON")
}

#[test]
fn readme() {
    let kinds = run_document("README.md");
    use Kind::*;
    for k in [
        Protocol,
        Train,
        Inspect,
        Predict,
        EvaluateText,
        EvaluateJson,
        TrainBelow,
        Convergence,
        Piped,
        Campaign,
    ] {
        assert!(
            kinds.contains(&k),
            "README.md's training section shows no {k:?} command"
        );
    }
}

#[test]
fn example_c() {
    assert!(run_document("examples/c/README.md").contains(&Kind::Train));
}

#[test]
fn example_cpp() {
    assert!(run_document("examples/cpp/README.md").contains(&Kind::Train));
}

#[test]
fn example_slurry() {
    assert!(run_document("examples/slurry/README.md").contains(&Kind::Train));
}

#[test]
fn example_lj_fluid() {
    let kinds = run_document("examples/lj-fluid/README.md");
    for k in [Kind::Protocol, Kind::Train, Kind::Inspect, Kind::Predict] {
        assert!(
            kinds.contains(&k),
            "examples/lj-fluid/README.md shows no {k:?} command"
        );
    }
}

#[test]
fn example_slurm() {
    assert!(run_document("examples/slurm/README.md").contains(&Kind::Train));
}

/// Every example's README is run, and every command set aside is still in its document.
#[test]
fn every_document_is_covered() {
    let root = repo();
    for e in fs::read_dir(root.join("examples")).unwrap() {
        let readme = e.unwrap().path().join("README.md");
        if readme.exists() {
            let rel = readme
                .strip_prefix(&root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            assert!(
                DOCUMENTS.iter().any(|d| d.0 == rel),
                "{rel} is not in DOCUMENTS"
            );
        }
    }
    for (doc, text) in NEEDS_A_LAMMPS_CAMPAIGN {
        let commands = cli_commands(&fs::read_to_string(root.join(doc)).unwrap());
        assert!(
            commands.iter().any(|c| c.text == *text),
            "{doc} no longer shows `{text}`: update NEEDS_A_LAMMPS_CAMPAIGN"
        );
    }
}

#[test]
fn command_lines_are_found_in_code_blocks() {
    let md = "text `simforecast train x` in prose\n\
              ```\n\
              cargo build --release\n\
              S=./target/release/simforecast   # the binary\n\
              $S train a --threshold 1 \\\n    -o m.sfm   # trains\n\
              # a comment\n\
              $S inspect m.sfm | head -n 3\n\
              build/other/program m.sfm\n\
              ```\n\
              ```sh\n\
              $S predict x\n\
              simforecast evaluate --model m.sfm 'a b/*.dat'\n\
              ```\n";
    let c = cli_commands(md);
    let texts: Vec<&str> = c.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "$S train a --threshold 1 -o m.sfm   # trains",
            "$S inspect m.sfm | head -n 3",
            "simforecast evaluate --model m.sfm 'a b/*.dat'",
        ],
        "`$S predict` in a block without S= is not the CLI"
    );
    assert_eq!(c[0].line, 5);
    assert_eq!(
        c[0].prelude,
        ["S=./target/release/simforecast   # the binary"]
    );
    let w = words(&c[0].text);
    assert_eq!(option(&w, &["-o"]).as_deref(), Some("m.sfm"));
    assert_eq!(
        w.last().map(String::as_str),
        Some("m.sfm"),
        "comment dropped"
    );
    assert_eq!(words(&c[2].text)[4], "a b/*.dat");
}
