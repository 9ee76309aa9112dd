//! A glob that selects one group of files and no other, for errors that find the files split
//! into groups (by frame spacing, by column) and suggest reading one group.

use std::collections::BTreeSet;
use std::path::Path;

use glob::Pattern;

use super::inputs::GLOB_OPTIONS;

/// A glob pattern matching every path of `group` and none of `others`, as simple as found: the
/// path itself for one file, else the differing directory levels as `*` and the file names by
/// their common extension (`runs/*.dat`), prefix (`runs/run_*`) or both. `None` when no such
/// pattern separates them.
pub(crate) fn group_glob(group: &[&Path], others: &[&Path]) -> Option<String> {
    let group: BTreeSet<&Path> = group.iter().copied().collect();
    let candidates = candidates(&group)?;
    let fits = |pattern: &str| {
        let Ok(p) = Pattern::new(pattern) else {
            return false;
        };
        group.iter().all(|g| p.matches_path_with(g, GLOB_OPTIONS))
            && !others.iter().any(|o| p.matches_path_with(o, GLOB_OPTIONS))
    };
    candidates.into_iter().find(|c| fits(c))
}

fn candidates(group: &BTreeSet<&Path>) -> Option<Vec<String>> {
    let texts: Vec<String> = group
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let [only] = texts.as_slice() {
        return Some(vec![Pattern::escape(only)]);
    }
    let split: Vec<Vec<&str>> = texts.iter().map(|t| t.split('/').collect()).collect();
    let depth = split.first()?.len();
    if split.iter().any(|s| s.len() != depth) {
        return None;
    }
    let level = |i: usize| -> Vec<&str> { split.iter().map(|s| s[i]).collect() };
    let mut dirs = Vec::with_capacity(depth - 1);
    for i in 0..depth - 1 {
        let names = level(i);
        if names.iter().all(|n| *n == names[0]) {
            dirs.push(Pattern::escape(names[0]));
        } else {
            let (p, s) = (common_prefix(&names), common_suffix(&names));
            dirs.push(format!("{}*{}", Pattern::escape(&p), Pattern::escape(&s)));
        }
    }
    let names = level(depth - 1);
    let mut last = Vec::new();
    if names.iter().all(|n| *n == names[0]) {
        last.push(Pattern::escape(names[0]));
    } else {
        let (p, s) = (common_prefix(&names), common_suffix(&names));
        // The extension: the common suffix from its first dot on.
        let ext = s.find('.').map(|i| &s[i..]).unwrap_or("");
        let (p, s, ext) = (
            Pattern::escape(&p),
            Pattern::escape(&s),
            Pattern::escape(ext),
        );
        for c in [
            format!("*{ext}"),
            format!("{p}*{ext}"),
            format!("{p}*"),
            format!("{p}*{s}"),
        ] {
            if !last.contains(&c) {
                last.push(c);
            }
        }
    }
    let dir = dirs.join("/");
    Some(
        last.into_iter()
            .map(|l| if depth == 1 { l } else { format!("{dir}/{l}") })
            .collect(),
    )
}

fn common_prefix(names: &[&str]) -> String {
    let first = names[0];
    let mut end = first.len();
    for n in &names[1..] {
        end = first
            .char_indices()
            .zip(n.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(end);
    }
    first[..end].to_string()
}

fn common_suffix(names: &[&str]) -> String {
    let reversed: Vec<String> = names.iter().map(|n| n.chars().rev().collect()).collect();
    let refs: Vec<&str> = reversed.iter().map(String::as_str).collect();
    common_prefix(&refs).chars().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(group: &[&str], others: &[&str]) -> Option<String> {
        let g: Vec<&Path> = group.iter().map(Path::new).collect();
        let o: Vec<&Path> = others.iter().map(Path::new).collect();
        group_glob(&g, &o)
    }

    #[test]
    fn by_extension_prefix_or_path() {
        assert_eq!(
            glob(
                &["runs/run_1.dat", "runs/run_2.dat"],
                &["runs/log.lammps", "runs/log_2.lammps"]
            ),
            Some("runs/*.dat".into())
        );
        assert_eq!(
            glob(
                &["runs/log.lammps", "runs/log_2.lammps"],
                &["runs/run_1.dat"]
            ),
            Some("runs/*.lammps".into())
        );
        assert_eq!(
            glob(&["d/ten_1.dat", "d/ten_2.dat"], &["d/twenty_1.dat"]),
            Some("d/ten_*.dat".into())
        );
        assert_eq!(
            glob(&["d/a.eta.dat", "d/b.eta.dat"], &["d/a.temp.dat"]),
            Some("d/*.eta.dat".into())
        );
        assert_eq!(
            glob(&["d/log.lammps"], &["d/run_1.dat"]),
            Some("d/log.lammps".into())
        );
        assert_eq!(
            glob(&["/abs/r1/eta.dat", "/abs/r2/eta.dat"], &["/abs/r1/p.dat"]),
            Some("/abs/r*/eta.dat".into())
        );
        assert_eq!(glob(&["a.dat", "b.dat"], &["c.txt"]), Some("*.dat".into()));
        // Metacharacters in names are escaped.
        assert_eq!(
            glob(&["d[1]/x_1.dat", "d[1]/x_2.dat"], &["d[1]/y.txt"]),
            Some("d[[]1[]]/*.dat".into())
        );
    }

    #[test]
    fn none_when_nothing_simple_separates() {
        // Interleaved names with the same extension and no telling prefix.
        assert_eq!(
            glob(&["d/run_1.dat", "d/run_3.dat"], &["d/run_2.dat"]),
            None
        );
        assert_eq!(glob(&["d/a.dat", "e/f/b.dat"], &["x"]), None);
    }

    #[test]
    fn common_parts() {
        assert_eq!(common_prefix(&["run_10", "run_2"]), "run_");
        assert_eq!(common_prefix(&["é1", "é2"]), "é");
        assert_eq!(common_prefix(&["a", "b"]), "");
        assert_eq!(common_suffix(&["x.eta.dat", "yy.eta.dat"]), ".eta.dat");
    }
}
