//! Telling the file formats apart by their content: what a named file is read as, and what a
//! file found in a directory or by a glob turns out to be.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::error::TraceError;
use super::text::{numbered_lines, read_text, starts_with_integer};

/// The two file formats understood here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `fix ave/time` output in scalar mode.
    AveTime,
    /// `log.lammps` (or a screen capture) with thermo output.
    Log,
}

/// Tell a `fix ave/time` file from a log by its content.
pub fn detect_format(path: &Path) -> Result<Format, TraceError> {
    detect_text(path, &read_text(path)?)
}

/// A file starting with `#` lines is taken as `fix ave/time` output (its parser then names any
/// line that does not fit); one with `LAMMPS (` or a `Step ...` line as a log.
pub(crate) fn detect_text(path: &Path, text: &str) -> Result<Format, TraceError> {
    let Some((line, first)) = numbered_lines(text).find(|(_, l)| !l.trim().is_empty()) else {
        return Err(TraceError::Empty {
            path: path.to_path_buf(),
        });
    };
    let first = first.trim_start();
    if first.starts_with('#') {
        return Ok(Format::AveTime);
    }
    let is_log_line = |l: &str| {
        let l = l.trim_start();
        l.starts_with("LAMMPS (") || l.split_whitespace().next() == Some("Step")
    };
    if numbered_lines(text).any(|(_, l)| is_log_line(l)) {
        return Ok(Format::Log);
    }
    Err(TraceError::UnknownFormat {
        path: path.to_path_buf(),
        line,
        text: first.chars().take(80).collect(),
    })
}

/// What a file met in a directory or a glob is, judged from its first [`SNIFF_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// `fix ave/time` output in scalar mode: `#` lines, then rows starting with a time step.
    AveTime,
    /// `fix ave/time` output in vector mode; the line that shows it.
    AveTimeVector {
        line: usize,
    },
    Log,
    /// A LAMMPS input script, by its name (`in.*`, `*.in`, `*.lmp`, `*.lammps`) or its first
    /// command.
    InputScript,
    /// NUL bytes: a restart file, a binary dump, an archive...
    Binary,
    Empty,
    /// Anything else; the first line that is not `fix ave/time` output.
    Other {
        line: usize,
        text: String,
    },
}

/// Enough to see the headers and first rows of any trace, without reading a restart file whole.
const SNIFF_BYTES: u64 = 64 * 1024;

/// Classify a file by its name and the start of its content.
pub(crate) fn sniff(path: &Path) -> Result<FileKind, TraceError> {
    let io = |source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(SNIFF_BYTES).read_to_end(&mut bytes))
        .map_err(io)?;
    if bytes.contains(&0) {
        return Ok(FileKind::Binary);
    }
    if bytes.len() as u64 == SNIFF_BYTES {
        // The last line may be cut; only whole lines are judged.
        let end = bytes.iter().rposition(|&b| b == b'\n').unwrap_or(0);
        bytes.truncate(end);
    }
    let text = String::from_utf8_lossy(&bytes);
    Ok(classify_text(path, &text))
}

fn classify_text(path: &Path, text: &str) -> FileKind {
    let other = |line: usize, t: &str| {
        if named_like_input_script(path) || starts_like_input_script(t) {
            FileKind::InputScript
        } else {
            FileKind::Other {
                line,
                text: t.chars().take(80).collect(),
            }
        }
    };
    match detect_text(path, text) {
        Ok(Format::Log) => FileKind::Log,
        Err(TraceError::UnknownFormat { line, text, .. }) => other(line, &text),
        // detect_text fails only on an unknown format (above) or an empty file.
        Err(_) => FileKind::Empty,
        Ok(Format::AveTime) => {
            for (line, l) in numbered_lines(text) {
                let t = l.trim_start();
                if t.is_empty() {
                    continue;
                }
                if let Some(comment) = t.strip_prefix('#') {
                    let first = comment.split_whitespace().next();
                    if first == Some("Row") || comment.contains("Number-of-rows") {
                        return FileKind::AveTimeVector { line };
                    }
                    continue;
                }
                // The first row decides: a comment-headed input script has commands here.
                return if starts_with_integer(t) {
                    FileKind::AveTime
                } else {
                    other(line, t)
                };
            }
            // Headers and no row yet: a run that has just started.
            FileKind::AveTime
        }
    }
}

fn named_like_input_script(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.starts_with("in.")
        || [".in", ".lmp", ".lammps"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// Commands that open LAMMPS input scripts.
const SCRIPT_COMMANDS: &[&str] = &[
    "atom_modify",
    "atom_style",
    "boundary",
    "clear",
    "create_box",
    "dimension",
    "echo",
    "include",
    "lattice",
    "log",
    "newton",
    "package",
    "pair_style",
    "plugin",
    "processors",
    "read_data",
    "read_restart",
    "region",
    "shell",
    "suffix",
    "units",
    "variable",
];

fn starts_like_input_script(line: &str) -> bool {
    line.split_whitespace()
        .next()
        .is_some_and(|w| SCRIPT_COMMANDS.contains(&w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::testutil::{data, TempDir};

    #[test]
    fn detects_both_formats() {
        assert_eq!(
            detect_format(&data("logs/log.lammps")).unwrap(),
            Format::Log
        );
        assert_eq!(
            detect_format(&data("ave_time/scalar3.dat")).unwrap(),
            Format::AveTime
        );
    }

    #[test]
    fn sniffs_the_files_of_a_real_run_directory() {
        let dir = data("lj_run");
        let kind = |name: &str| sniff(&dir.join(name)).unwrap();
        assert_eq!(kind("run_1.dat"), FileKind::AveTime);
        assert_eq!(kind("run_2.dat"), FileKind::AveTime);
        assert_eq!(kind("log.lammps"), FileKind::Log);
        // Starts with a '#' comment like a fix ave/time file; its first command gives it away.
        assert_eq!(kind("in.lj"), FileKind::InputScript);
        assert_eq!(kind("restart.lj"), FileKind::Binary);
        assert_eq!(
            kind("runs.csv"),
            FileKind::Other {
                line: 1,
                text: "run,seed,frames".into()
            }
        );
        assert_eq!(
            sniff(&data("ave_time/vector.dat")).unwrap(),
            FileKind::AveTimeVector { line: 2 }
        );
    }

    #[test]
    fn sniffs_scripts_by_name_and_content() {
        let d = TempDir::new("sniff");
        let kind = |name: &str, text: &str| sniff(&d.write(name, text)).unwrap();
        assert_eq!(
            kind("nemd.lmp", "fix 1 all nvt temp 1 1 1\n"),
            FileKind::InputScript
        );
        assert_eq!(kind("setup", "\n# LJ\nunits lj\n"), FileKind::InputScript);
        assert_eq!(
            kind("header_only.dat", "# TimeStep v_eta\n"),
            FileKind::AveTime
        );
        assert_eq!(kind("blank.dat", "\n \n"), FileKind::Empty);
        assert_eq!(kind("void.dat", ""), FileKind::Empty);
        assert_eq!(
            kind("notes.txt", "# notes\nthe runs of May\n"),
            FileKind::Other {
                line: 2,
                text: "the runs of May".into()
            }
        );
        assert_eq!(
            kind("dump.lj", "ITEM: TIMESTEP\n0\n"),
            FileKind::Other {
                line: 1,
                text: "ITEM: TIMESTEP".into()
            }
        );
    }

    #[test]
    fn sniffing_reads_only_the_start_of_a_big_file() {
        let d = TempDir::new("sniffbig");
        let mut text = String::from("# Time-averaged data for fix out\n# TimeStep v_eta\n");
        for k in 1..=20_000 {
            text.push_str(&format!("{} 0.123456789\n", 10 * k));
        }
        assert!(text.len() as u64 > SNIFF_BYTES);
        assert_eq!(
            sniff(&d.write("big.dat", &text)).unwrap(),
            FileKind::AveTime
        );
        let e = sniff(&d.0.join("absent.dat")).unwrap_err();
        assert!(matches!(e, TraceError::Io { .. }), "{e:?}");
    }
}
