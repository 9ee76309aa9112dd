//! Atomic publication on a shared (NFS) file system: a file is written under a hidden temporary
//! name in the same directory, fsynced, then renamed (or hard-linked, when it must not replace
//! anything) to its final name, and the directory is fsynced. Readers list final names only, so
//! a half-written file is never read.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{io, CampaignError, Result};

/// Temporary files start with this; listings skip every name starting with '.'.
const TMP_PREFIX: &str = ".tmp-";

/// How a published file meets an existing one of the same name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Replace it (pointers, configuration).
    Replace,
    /// Refuse (records and model versions are written once).
    CreateNew,
}

/// A name unique across hosts, processes and calls.
pub fn unique_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{}-{nanos}-{}",
        hostname(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes `bytes` to `dir/name` atomically. With [`Mode::CreateNew`] an existing file is an
/// `AlreadyExists` I/O error and is left as it was.
pub fn publish(dir: &Path, name: &str, bytes: &[u8], mode: Mode) -> Result<()> {
    let tmp = dir.join(format!("{TMP_PREFIX}{}", unique_token()));
    let target = dir.join(name);
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        // A full disk loses nothing: the temporary file is gone and the target untouched.
        return Err(io(&target)(e));
    }
    let placed = match mode {
        Mode::Replace => fs::rename(&tmp, &target),
        // link(2) never replaces and is atomic on NFS too; the temporary name is then dropped.
        Mode::CreateNew => fs::hard_link(&tmp, &target),
    };
    if mode == Mode::CreateNew || placed.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    placed.map_err(io(&target))?;
    sync_dir(dir)
}

/// fsync of a directory, so a rename survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// The names in `dir` ending with `suffix`, sorted; temporary and hidden files are skipped.
pub fn list(dir: &Path, suffix: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(io(dir))? {
        let name = e.map_err(io(dir))?.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with('.') && name.ends_with(suffix) {
            out.push(name.to_string());
        }
    }
    out.sort();
    Ok(out)
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or
    // truncates, and we stop at the first NUL or the end.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

pub fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `2026-12-02T13:05:09Z`.
pub fn utc(unix: f64) -> String {
    let secs = unix.max(0.0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Appends one line to `DIR/log`. Callers hold the campaign lock: appends are not atomic on NFS.
pub fn append_log(dir: &Path, line: &str) -> Result<()> {
    let path = dir.join("log");
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io(&path))?;
    let text = format!(
        "{} {} pid {}: {line}\n",
        utc(now_unix()),
        hostname(),
        std::process::id()
    );
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(io(&path))
}

/// True when the error is "the file exists" (a [`Mode::CreateNew`] collision).
pub fn exists_error(e: &CampaignError) -> bool {
    matches!(e, CampaignError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400.0), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_216_709.0), "2026-12-02T13:05:09Z");
    }
}
