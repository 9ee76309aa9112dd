//! Which value column of a file to read, and how an automatic choice is made.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::error::TraceError;

/// Which value column to read.
///
/// `Display` and `FromStr` are inverse: `"auto"` is [`Column::Auto`], all digits is an index, any
/// other text is a name (LAMMPS names are never all digits, and none is `auto`). For messages,
/// [`Column::label`] gives a quoted form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Column {
    /// The only value column of the file, or else the only one whose name looks like a
    /// viscosity (see [`looks_like_viscosity`]); anything else is an error listing the columns.
    #[default]
    Auto,
    /// A column by its name in the file header, e.g. `v_eta` or `c_p[4]` or `Temp`.
    Name(String),
    /// 0-based position among the value columns, i.e. not counting `TimeStep`/`Step`.
    Index(usize),
}

/// The text that stands for [`Column::Auto`].
const AUTO: &str = "auto";

impl FromStr for Column {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty column name".to_string());
        }
        if s == AUTO {
            return Ok(Column::Auto);
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<usize>()
                .map(Column::Index)
                .map_err(|e| format!("column index '{s}': {e}"))
        } else {
            Ok(Column::Name(s.to_string()))
        }
    }
}

impl fmt::Display for Column {
    /// The text [`FromStr`] reads back: `auto`, `v_eta`, `3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Auto => f.write_str(AUTO),
            Column::Name(n) => f.write_str(n),
            Column::Index(i) => write!(f, "{i}"),
        }
    }
}

/// Why a column choice found no single column among a file's value columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unresolved {
    /// The named column is absent, or the index is out of range.
    Missing,
    /// [`Column::Auto`] with several value columns and not exactly one viscosity-like name; the
    /// viscosity-like names found (none, or several).
    Ambiguous { viscosity_like: Vec<String> },
}

impl Column {
    /// How the column is named in messages: `'v_eta'`, `#3 (0-based, after the step column)`,
    /// `auto`.
    pub fn label(&self) -> String {
        match self {
            Column::Auto => AUTO.to_string(),
            Column::Name(n) => format!("'{n}'"),
            Column::Index(i) => format!("#{i} (0-based, after the step column)"),
        }
    }

    /// Position of this column among `value_columns` (the header words after the step column).
    pub(crate) fn pick(&self, value_columns: &[String]) -> Result<usize, Unresolved> {
        match self {
            Column::Name(n) => value_columns
                .iter()
                .position(|c| c == n)
                .ok_or(Unresolved::Missing),
            Column::Index(i) => (*i < value_columns.len())
                .then_some(*i)
                .ok_or(Unresolved::Missing),
            Column::Auto => {
                if value_columns.len() == 1 {
                    return Ok(0);
                }
                let like: Vec<usize> = (0..value_columns.len())
                    .filter(|&i| looks_like_viscosity(&value_columns[i]))
                    .collect();
                match like.as_slice() {
                    [only] => Ok(*only),
                    _ => Err(Unresolved::Ambiguous {
                        viscosity_like: like.iter().map(|&i| value_columns[i].clone()).collect(),
                    }),
                }
            }
        }
    }

    /// [`Column::pick`] with the error a caller reports for `path`.
    pub(crate) fn pick_in(
        &self,
        path: &Path,
        value_columns: &[String],
    ) -> Result<usize, TraceError> {
        self.pick(value_columns)
            .map_err(|u| self.unresolved(path, value_columns, u, ""))
    }

    /// The error for `u`; `scope` qualifies where the column was looked for (e.g. " in any
    /// thermo block").
    pub(crate) fn unresolved(
        &self,
        path: &Path,
        value_columns: &[String],
        u: Unresolved,
        scope: &str,
    ) -> TraceError {
        match u {
            Unresolved::Missing => TraceError::MissingColumn {
                path: path.to_path_buf(),
                column: format!("{}{scope}", self.label()),
                available: value_columns.join(" "),
            },
            Unresolved::Ambiguous { viscosity_like } => TraceError::AmbiguousColumn {
                path: path.to_path_buf(),
                columns: value_columns.to_vec(),
                viscosity_like,
            },
        }
    }
}

/// Whether a column name looks like a viscosity: one of its words starts with `eta` or `visc`
/// (any case), e.g. `v_eta`, `c_visc[1]`, `etaXY`, `v_shear_viscosity`. Words split at
/// non-letters and at a lower-to-upper case change, so `v_theta` and `v_beta` do not count.
pub fn looks_like_viscosity(name: &str) -> bool {
    words(name).any(|w| {
        let w = w.to_ascii_lowercase();
        w.starts_with("eta") || w.starts_with("visc")
    })
}

/// Runs of ASCII letters, also split before an upper-case letter that follows a lower-case one.
fn words(name: &str) -> impl Iterator<Item = &str> {
    let b = name.as_bytes();
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    let mut in_word = false;
    for i in 0..=b.len() {
        let letter = i < b.len() && b[i].is_ascii_alphabetic();
        let camel = letter && in_word && b[i].is_ascii_uppercase() && b[i - 1].is_ascii_lowercase();
        if in_word && (!letter || camel) {
            ends.push(i);
            in_word = false;
        }
        if letter && !in_word {
            starts.push(i);
            in_word = true;
        }
    }
    starts.into_iter().zip(ends).map(move |(s, e)| &name[s..e])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn column_from_str() {
        assert_eq!("0".parse::<Column>().unwrap(), Column::Index(0));
        assert_eq!("12".parse::<Column>().unwrap(), Column::Index(12));
        assert_eq!(
            "v_eta".parse::<Column>().unwrap(),
            Column::Name("v_eta".into())
        );
        assert_eq!(
            "c_p[4]".parse::<Column>().unwrap(),
            Column::Name("c_p[4]".into())
        );
        assert_eq!("auto".parse::<Column>().unwrap(), Column::Auto);
        assert_eq!(
            " v_eta ".parse::<Column>().unwrap(),
            Column::Name("v_eta".into())
        );
        assert!("".parse::<Column>().is_err());
        assert!("99999999999999999999999".parse::<Column>().is_err());
        assert_eq!(Column::default(), Column::Auto);
    }

    /// The evaluate bug of issue 10: a model's column went through `to_string` and back and
    /// came out as `'v_eta'`.
    #[test]
    fn display_round_trips_the_shipped_column() {
        let c = Column::Name("v_eta".into());
        assert_eq!(c.to_string(), "v_eta");
        assert_eq!(c.to_string().parse::<Column>().unwrap(), c);
        assert_eq!(c.label(), "'v_eta'");
        assert_eq!(Column::Index(3).to_string(), "3");
        assert_eq!(
            Column::Index(3).label(),
            "#3 (0-based, after the step column)"
        );
        assert_eq!(Column::Auto.to_string(), "auto");
    }

    fn any_column() -> impl Strategy<Value = Column> {
        prop_oneof![
            Just(Column::Auto),
            any::<usize>().prop_map(Column::Index),
            // LAMMPS column names: thermo keywords, v_name, c_ID[i], f_ID[i][j].
            "[A-Za-z_][A-Za-z0-9_\\[\\]]{0,12}"
                .prop_filter("'auto' is Column::Auto", |s| s != "auto")
                .prop_map(Column::Name),
        ]
    }

    proptest! {
        #[test]
        fn display_and_from_str_are_inverse(c in any_column()) {
            let text = c.to_string();
            prop_assert_eq!(text.parse::<Column>().unwrap(), c.clone());
            prop_assert_eq!(text.parse::<Column>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn viscosity_like_names() {
        for yes in [
            "v_eta",
            "eta",
            "ETA",
            "c_visc[1]",
            "v_viscosity",
            "v_shear_visc",
            "etaXY",
            "v_myEta",
            "v_eta2",
            "f_eta[3]",
        ] {
            assert!(looks_like_viscosity(yes), "{yes}");
        }
        for no in [
            "v_pxy", "v_theta", "v_beta", "Temp", "c_p[4]", "v_zeta", "v_meta", "", "Step",
        ] {
            assert!(!looks_like_viscosity(no), "{no}");
        }
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn auto_picks_only_when_unambiguous() {
        let auto = Column::Auto;
        assert_eq!(auto.pick(&cols(&["v_pxy"])), Ok(0));
        assert_eq!(auto.pick(&cols(&["v_pxy", "v_eta"])), Ok(1));
        assert_eq!(auto.pick(&cols(&["v_eta", "c_p[1]", "c_p[4]"])), Ok(0));
        assert_eq!(
            auto.pick(&cols(&["v_pxy", "v_pyz"])),
            Err(Unresolved::Ambiguous {
                viscosity_like: vec![]
            })
        );
        assert_eq!(
            auto.pick(&cols(&["v_eta", "v_visc"])),
            Err(Unresolved::Ambiguous {
                viscosity_like: cols(&["v_eta", "v_visc"])
            })
        );
        assert_eq!(
            auto.pick(&[]),
            Err(Unresolved::Ambiguous {
                viscosity_like: vec![]
            })
        );
        assert_eq!(
            Column::Name("v_eta".into()).pick(&cols(&["v_pxy", "v_eta"])),
            Ok(1)
        );
        assert_eq!(
            Column::Name("eta".into()).pick(&cols(&["v_eta"])),
            Err(Unresolved::Missing)
        );
        assert_eq!(Column::Index(1).pick(&cols(&["a", "b"])), Ok(1));
        assert_eq!(
            Column::Index(2).pick(&cols(&["a", "b"])),
            Err(Unresolved::Missing)
        );
    }
}
