//! Test helpers: temporary directories and the fixture files under tests/data.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::error::TraceError;

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "simforecast-trace-{}-{tag}-{n}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.0.join(name);
        fs::write(&p, content).unwrap();
        p
    }

    /// A path inside the directory, as a command-line input.
    pub fn arg(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    /// The directory itself, as a command-line input.
    pub fn input(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A fixture under tests/data.
pub fn data(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("tests/data")
        .join(rel)
}

/// An ave/time file with `n` frames every `every` steps, values k/10.
pub fn ave_time(n: usize, every: i64) -> String {
    let mut s = String::from("# Time-averaged data for fix out\n# TimeStep v_eta\n");
    for k in 1..=n {
        s.push_str(&format!("{} {}\n", k as i64 * every, k as f64 / 10.0));
    }
    s
}

pub fn msg(e: &TraceError) -> String {
    e.to_string()
}
