//! `simforecast campaign`: many processes writing one campaign directory at once lose and
//! corrupt nothing, a killed lock holder blocks no one, a directory of another campaign is
//! refused, and a replay is reproducible.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_simforecast");

fn scratch(tag: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("campaign-{tag}"));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// The first `n` traces of the wide campaign.
fn wide_traces(n: usize) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/nemd-wide-public/traces");
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.truncate(n);
    assert_eq!(files.len(), n);
    files
}

fn sf(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(o: Output) -> String {
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "failed: {}\n{text}",
        String::from_utf8_lossy(&o.stderr)
    );
    text
}

fn init(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "campaign",
        "init",
        dir.to_str().unwrap(),
        "--threshold",
        "33.1",
    ];
    args.extend_from_slice(extra);
    sf(&args)
}

fn status(dir: &Path) -> Value {
    serde_json::from_str(&ok(sf(&[
        "campaign",
        "status",
        dir.to_str().unwrap(),
        "--json",
    ])))
    .unwrap()
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: valid buffer of its length.
    unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap();
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[test]
fn many_writers_at_once_lose_and_corrupt_nothing() {
    const WRITERS: usize = 12;
    const EACH: usize = 4;
    let dir = scratch("writers");
    ok(init(
        &dir,
        &["--first-model-at", "12", "--retrain-every", "12"],
    ));
    let traces = wide_traces(WRITERS * EACH);
    // Every writer records its runs one after the other, all writers at once; a quarter of the
    // runs were halted at frame 600 (no label), the rest finished (labelled: retraining is due
    // every 12 of them, so models are published while others record).
    let writers: Vec<Child> = traces
        .chunks(EACH)
        .map(|chunk| {
            let mut script = String::from("set -e\n");
            for (i, t) in chunk.iter().enumerate() {
                let halted = if i == 0 { "--halted-at 600" } else { "" };
                script.push_str(&format!(
                    "{BIN} campaign record {} {} {halted}\n",
                    dir.display(),
                    t.display()
                ));
            }
            Command::new("bash")
                .args(["-c", &script])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for w in writers {
        let o = w.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let s = status(&dir);
    assert_eq!(s["runs"], WRITERS * EACH);
    assert_eq!(s["halted"], WRITERS);
    assert_eq!(s["finished"], WRITERS * (EACH - 1));
    // Every run is there with its trace, no temporary file or lock is left behind.
    let runs = dir.join("runs");
    for t in &traces {
        let stem = t.file_stem().unwrap().to_str().unwrap();
        let json: Value =
            serde_json::from_slice(&fs::read(runs.join(format!("{stem}.json"))).unwrap()).unwrap();
        assert_eq!(json["run_id"], stem);
        assert!(runs.join(format!("{stem}.trace")).is_file());
    }
    for d in [&dir, &runs, &dir.join("models")] {
        for e in fs::read_dir(d).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            assert!(!name.starts_with(".tmp-"), "left over: {name}");
        }
    }
    assert!(!dir.join("lock").exists() && !dir.join("train.lock").exists());
    // Models were published while the others wrote: every version loads, `current` is the
    // newest, and the log names each run and each model.
    let models = s["models"].as_array().unwrap();
    assert!(!models.is_empty(), "no model published: {s}");
    let newest = models.last().unwrap()["version"].as_u64().unwrap();
    let current = fs::read_to_string(dir.join("models/current")).unwrap();
    assert_eq!(current.trim(), format!("model-{newest:04}"));
    for m in models {
        let v = m["version"].as_u64().unwrap();
        let path = dir.join(format!("models/model-{v:04}.sfm"));
        ok(sf(&["inspect", path.to_str().unwrap()]));
    }
    let log = fs::read_to_string(dir.join("log")).unwrap();
    assert_eq!(log.matches(": recorded ").count(), WRITERS * EACH);
    assert_eq!(log.matches(": published model-").count(), models.len());
}

#[test]
fn a_killed_lock_holder_does_not_block_for_good() {
    let dir = scratch("killed");
    ok(init(&dir, &[]));
    // The lock as a job killed while holding it leaves it: its owner's process is gone.
    let mut child = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = child.id();
    fs::create_dir(dir.join("lock")).unwrap();
    let owner = serde_json::json!({
        "host": hostname(), "pid": pid, "since": 0.0, "token": "killed-job"
    });
    fs::write(dir.join("lock/owner"), owner.to_string()).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let t = &wide_traces(1)[0];
    let start = std::time::Instant::now();
    ok(sf(&[
        "campaign",
        "record",
        dir.to_str().unwrap(),
        t.to_str().unwrap(),
    ]));
    assert!(start.elapsed().as_secs() < 10);
    let log = fs::read_to_string(dir.join("log")).unwrap();
    assert!(
        log.contains(&format!(
            "broke stale lock lock held by {} pid {pid}",
            hostname()
        )),
        "{log}"
    );
    assert!(log.contains("its process no longer exists"), "{log}");
    assert_eq!(status(&dir)["runs"], 1);
}

#[test]
fn another_campaigns_directory_is_refused() {
    let dir = scratch("mismatch");
    ok(init(&dir, &["--column", "v_eta"]));
    // Same campaign again: fine (every job of an array may run init).
    ok(init(&dir, &["--column", "v_eta"]));
    let o = sf(&[
        "campaign",
        "init",
        dir.to_str().unwrap(),
        "--threshold",
        "10.5",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("was made for threshold 33.1 (irrelevant above) vs 10.5"),
        "{err}"
    );
    let o = init(&dir, &["--column", "v_temp"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("column v_eta vs v_temp"));
    // A run sampled every 20 steps, in a campaign pinned to 10 by its first run.
    let t = &wide_traces(1)[0];
    ok(sf(&[
        "campaign",
        "record",
        dir.to_str().unwrap(),
        t.to_str().unwrap(),
    ]));
    let text = fs::read_to_string(t).unwrap();
    let doubled: String = text
        .lines()
        .map(|l| match l.split_once(' ') {
            Some((step, v)) if !l.starts_with('#') => {
                format!("{} {v}\n", step.parse::<i64>().unwrap() * 2)
            }
            _ => format!("{l}\n"),
        })
        .collect();
    let other = dir.join("../run_every_20.dat");
    fs::write(&other, doubled).unwrap();
    let o = sf(&[
        "campaign",
        "record",
        dir.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("one frame every 10 steps vs every 20"),
        "{err}"
    );
    // The same run twice is refused, not overwritten.
    let o = sf(&[
        "campaign",
        "record",
        dir.to_str().unwrap(),
        t.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("already recorded"));
    // A damaged configuration is refused by its checksum.
    let cfg = dir.join("campaign.json");
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, text.replace("0.95", "0.5")).unwrap();
    let o = sf(&["campaign", "status", dir.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("checksum mismatch"), "{err}");
    // A directory that is no campaign.
    let o = sf(&["campaign", "status", dir.join("runs").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("campaign init"));
}

#[test]
fn a_replay_is_reproducible_and_learns_from_zero() {
    let dir = scratch("replay");
    for t in wide_traces(50) {
        fs::copy(&t, dir.join(t.file_name().unwrap())).unwrap();
    }
    let replay = || -> Value {
        serde_json::from_str(&ok(sf(&[
            "campaign",
            "replay",
            dir.to_str().unwrap(),
            "--threshold",
            "33.1",
            "--order",
            "7",
            "--first-model-at",
            "20",
            "--retrain-every",
            "5",
            "--audit",
            "0.5",
            "--json",
        ])))
        .unwrap()
    };
    let a = replay();
    assert_eq!(a["runs"], 50);
    let rows = a["rows"].as_array().unwrap();
    // No model for the first 20 runs, then the first model decides.
    assert!(rows[..20].iter().all(|r| r["model"].is_null()));
    assert_eq!(rows[19]["published"], 1);
    assert_eq!(rows[20]["model"], 1);
    // Retrained as finished runs arrive: runs stopped at a forecast or halted bring no label,
    // audited ones do (half of them here).
    assert!(a["models"].as_u64().unwrap() >= 2, "{}", a["models"]);
    let b = replay();
    let decisions = |v: &Value| -> Vec<String> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{} {} {}", r["run_id"], r["decision"], r["outcome"]))
            .collect()
    };
    assert_eq!(decisions(&a), decisions(&b));
}

/// A campaign directory on a file system that fills up (a 160 KiB tmpfs, mounted in a private
/// mount namespace so nothing outlives the test): every `record` either lands whole or fails
/// saying the disk is full, the runs recorded before stay readable, and no temporary file is
/// left behind. Needs root or unprivileged user namespaces (`unshare`), as on CI.
#[test]
fn a_full_disk_loses_nothing() {
    let out = scratch("full-disk");
    let traces = wide_traces(12);
    let list: Vec<String> = traces.iter().map(|t| t.display().to_string()).collect();
    // Inside the namespace: mount, init, record until the disk is full, then report what is
    // left: the status, and the names in the directory.
    let script = r#"
set -u
mnt=$OUT/mnt; mkdir -p "$mnt"
mount -t tmpfs -o size=160k tmpfs "$mnt" || { echo "MOUNT FAILED"; exit 3; }
"$BIN" campaign init "$mnt/c" --threshold 33.1 > /dev/null || exit 4
for t in $TRACES; do
  if "$BIN" campaign record "$mnt/c" "$t" --no-retrain > /dev/null 2> "$OUT/err"; then
    echo "RECORDED $(basename "$t" .dat)"
  else
    echo "REFUSED $(basename "$t" .dat) $(tr '\n' ' ' < "$OUT/err")"
  fi
done
"$BIN" campaign status --json "$mnt/c" > "$OUT/status.json" || echo "STATUS FAILED"
ls -a "$mnt/c" "$mnt/c/runs" "$mnt/c/models" > "$OUT/listing"
"#;
    let mut cmd = Command::new("unshare");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        cmd.args(["--user", "--map-root-user"]);
    }
    let o = cmd
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("OUT", &out)
        .env("BIN", BIN)
        .env("TRACES", list.join(" "))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let recorded: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("RECORDED "))
        .collect();
    let refused: Vec<&str> = text.lines().filter(|l| l.starts_with("REFUSED ")).collect();
    // The disk held some runs and then refused more, each time saying why.
    assert!(!recorded.is_empty() && !refused.is_empty(), "{text}");
    for r in &refused {
        assert!(r.contains("No space left on device"), "{r}");
    }
    // What was reported recorded is there, and nothing else.
    let s: Value =
        serde_json::from_str(&fs::read_to_string(out.join("status.json")).unwrap()).unwrap();
    assert_eq!(s["runs"], recorded.len(), "{text}");
    let listing = fs::read_to_string(out.join("listing")).unwrap();
    assert!(
        !listing.contains(".tmp-"),
        "temporary files left:\n{listing}"
    );
    for id in &recorded {
        assert!(listing.contains(&format!("{id}.json")), "{id}:\n{listing}");
    }
}
