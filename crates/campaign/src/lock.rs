//! A lock that works on NFS: `mkdir` is atomic there, `O_EXCL` and `flock` may not be. The lock
//! is a directory holding an `owner` file (host, pid, time, a unique token). A lock is stale and
//! broken, with a line in the campaign log, when its owner is a process of this host that no
//! longer exists (a killed job), or when it is older than `stale_after` (an owner on another
//! host that went silent). Breaking renames the lock away first, so two breakers cannot both
//! take it.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{io, CampaignError, Result};
use crate::publish::{hostname, now_unix, publish, unique_token, Mode};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    /// Seconds since the Unix epoch when the lock was taken.
    pub since: f64,
    pub token: String,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} pid {} since {}",
            self.host,
            self.pid,
            crate::publish::utc(self.since)
        )
    }
}

/// How long to wait for a lock and when a held one counts as abandoned.
#[derive(Clone, Copy, Debug)]
pub struct LockPolicy {
    /// A lock older than this is broken even if its owner may be alive elsewhere.
    pub stale_after: Duration,
    /// Give up (an error) after waiting this long.
    pub wait: Duration,
}

impl LockPolicy {
    /// The campaign lock: held for milliseconds (a log line, a pointer, a model file).
    pub const SHORT: LockPolicy = LockPolicy {
        stale_after: Duration::from_secs(60),
        wait: Duration::from_secs(300),
    };
    /// The training claim: held while a model trains.
    pub const TRAINING: LockPolicy = LockPolicy {
        stale_after: Duration::from_secs(1800),
        wait: Duration::ZERO,
    };
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    token: String,
}

/// Why a held lock may be broken.
enum Stale {
    Dead,
    Silent(f64),
}

impl Lock {
    /// Takes the lock `path` (a directory), waiting up to `policy.wait`; `log` receives a line
    /// whenever a stale lock is broken.
    pub fn acquire(path: &Path, policy: LockPolicy, log: &mut dyn FnMut(&str)) -> Result<Lock> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            if let Some(lock) = Self::try_acquire(path, policy, log)? {
                return Ok(lock);
            }
            if start.elapsed() >= policy.wait {
                return Err(CampaignError::LockTimeout {
                    path: path.to_path_buf(),
                    waited_s: start.elapsed().as_secs_f64(),
                    owner: read_owner(path).map_or("an unknown owner".into(), |o| o.to_string()),
                });
            }
            // Jitter by pid so that waiters on many nodes do not retry in step.
            let jitter = Duration::from_micros(u64::from(std::process::id() % 997));
            sleep(pause + jitter);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Takes the lock if it is free or stale; None when someone else holds it.
    pub fn try_acquire(
        path: &Path,
        policy: LockPolicy,
        log: &mut dyn FnMut(&str),
    ) -> Result<Option<Lock>> {
        match fs::create_dir(path) {
            Ok(()) => {
                let owner = Owner {
                    host: hostname(),
                    pid: std::process::id(),
                    since: now_unix(),
                    token: unique_token(),
                };
                let json = serde_json::to_vec(&owner).expect("owner serialises");
                if let Err(e) = publish(path, "owner", &json, Mode::Replace) {
                    let _ = fs::remove_dir_all(path);
                    return Err(e);
                }
                return Ok(Some(Lock {
                    path: path.to_path_buf(),
                    token: owner.token,
                }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(path)(e)),
        }
        let owner = read_owner(path);
        if let Some(why) = stale(path, owner.as_ref(), policy) {
            break_lock(path, owner.as_ref(), why, log);
        }
        Ok(None)
    }

    /// True while the lock directory still carries this holder's token.
    pub fn still_held(&self) -> bool {
        read_owner(&self.path).is_some_and(|o| o.token == self.token)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Only our own lock is removed: if it was broken and retaken, it is someone else's.
        if self.still_held() {
            let _ = fs::remove_file(self.path.join("owner"));
            let _ = fs::remove_dir(&self.path);
        }
    }
}

fn read_owner(path: &Path) -> Option<Owner> {
    let bytes = fs::read(path.join("owner")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn stale(path: &Path, owner: Option<&Owner>, policy: LockPolicy) -> Option<Stale> {
    if let Some(o) = owner {
        if o.host == hostname() && !pid_alive(o.pid) {
            return Some(Stale::Dead);
        }
    }
    // Without a readable owner (taken a moment ago, or its holder died between mkdir and the
    // owner file), the directory's own time says how old it is.
    let since = owner.map(|o| o.since).or_else(|| {
        let m = fs::metadata(path).ok()?.modified().ok()?;
        Some(m.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64())
    })?;
    let age = now_unix() - since;
    (age > policy.stale_after.as_secs_f64()).then_some(Stale::Silent(age))
}

fn break_lock(path: &Path, owner: Option<&Owner>, why: Stale, log: &mut dyn FnMut(&str)) {
    let aside = path.with_extension(format!("broken-{}", unique_token()));
    if fs::rename(path, &aside).is_err() {
        return; // someone else broke or released it first
    }
    // If the lock was released and retaken between our look and the rename, we hold a fresh
    // lock in our hands: put it back.
    let moved = read_owner(&aside);
    if moved.as_ref().map(|o| &o.token) != owner.map(|o| &o.token) {
        if fs::rename(&aside, path).is_ok() {
            return;
        }
        log("a fresh lock was broken by mistake while breaking a stale one; its holder re-checks before publishing");
    }
    let who = owner.map_or("an unknown owner".into(), |o| o.to_string());
    let reason = match why {
        Stale::Dead => "its process no longer exists".to_string(),
        Stale::Silent(age) => format!("it is {age:.0} s old"),
    };
    log(&format!(
        "broke stale lock {} held by {who}: {reason}",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    ));
    let _ = fs::remove_dir_all(&aside);
}

/// True unless `pid` certainly does not exist on this host.
fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; no signal is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sf-lock-{tag}-{}", unique_token()));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn second_taker_waits_and_release_frees() {
        let d = tmp("basic");
        let p = d.join("lock");
        let mut log = |_: &str| {};
        let a = Lock::try_acquire(&p, LockPolicy::SHORT, &mut log).unwrap();
        assert!(a.is_some());
        assert!(Lock::try_acquire(&p, LockPolicy::SHORT, &mut log)
            .unwrap()
            .is_none());
        drop(a);
        assert!(!p.exists());
        assert!(Lock::try_acquire(&p, LockPolicy::SHORT, &mut log)
            .unwrap()
            .is_some());
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_dead_owner_and_a_silent_one_are_broken_with_a_log_line() {
        let d = tmp("stale");
        let p = d.join("lock");
        // A process that existed and was killed: its pid is free now.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let dead = child.id();
        child.kill().unwrap();
        child.wait().unwrap();
        fs::create_dir(&p).unwrap();
        let owner = |host: &str, pid: u32, since: f64| Owner {
            host: host.into(),
            pid,
            since,
            token: unique_token(),
        };
        let write = |o: &Owner| fs::write(p.join("owner"), serde_json::to_vec(o).unwrap()).unwrap();
        write(&owner(&hostname(), dead, now_unix()));
        let mut lines = Vec::new();
        let lock = Lock::acquire(&p, LockPolicy::SHORT, &mut |l: &str| {
            lines.push(l.to_string())
        })
        .unwrap();
        assert!(lock.still_held());
        assert!(lines[0].contains("no longer exists"), "{lines:?}");
        drop(lock);

        // Another host's lock, fresh: waited for; old: broken.
        fs::create_dir(&p).unwrap();
        write(&owner("elsewhere", 1, now_unix()));
        let quick = LockPolicy {
            stale_after: Duration::from_secs(60),
            wait: Duration::from_millis(50),
        };
        let e = Lock::acquire(&p, quick, &mut |_: &str| {}).unwrap_err();
        assert!(e.to_string().contains("elsewhere pid 1"), "{e}");
        write(&owner("elsewhere", 1, now_unix() - 120.0));
        let mut lines = Vec::new();
        Lock::acquire(&p, quick, &mut |l: &str| lines.push(l.to_string())).unwrap();
        assert!(lines[0].contains("s old"), "{lines:?}");
        fs::remove_dir_all(d).unwrap();
    }
}
