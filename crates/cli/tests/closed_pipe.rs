//! A reader that stops early (`simforecast inspect m.sfm | head`) ends simforecast quietly, as
//! it ends `grep`: killed by SIGPIPE, nothing on stderr, no panic.

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_simforecast");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The write end of a pipe whose read end is already closed: any write to it fails with EPIPE
/// (and raises SIGPIPE), deterministically.
fn pipe_without_reader() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints, as pipe(2) needs.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe(2)");
    // SAFETY: pipe(2) returned two fresh descriptors that nothing else owns.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    write
}

fn paper_model() -> PathBuf {
    let model = Path::new(env!("CARGO_TARGET_TMPDIR")).join("closed-pipe-paper.sfm");
    let out = Command::new(BIN)
        .arg("train")
        .arg(repo().join("data/nemd-wide-public/traces"))
        .args(["--threshold", "33.1", "--preset", "paper", "-o"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    model
}

fn assert_quiet_end(args: &[&str]) {
    let err = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("closed-pipe-{}.err", args[0]));
    let status = Command::new(BIN)
        .args(args)
        .stdout(Stdio::from(pipe_without_reader()))
        .stderr(File::create(&err).unwrap())
        .env_remove("RUST_BACKTRACE")
        .status()
        .unwrap();
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGPIPE),
        "{args:?} ends by SIGPIPE, got {status}; stderr: {stderr}"
    );
    // predict says on stderr what it read before its first write to stdout.
    assert!(
        stderr.lines().all(|l| l.starts_with("read ")),
        "{args:?} writes no error or panic: {stderr}"
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    let model = paper_model();
    let model = model.to_str().unwrap();
    assert_quiet_end(&["inspect", model]);
    assert_quiet_end(&["inspect", model, "--json"]);
    let trace = repo().join("data/nemd-wide-public/traces/run_0142.dat");
    assert_quiet_end(&["predict", "--model", model, trace.to_str().unwrap()]);
}
