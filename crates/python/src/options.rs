//! The keyword options of `simforecast.train(**options)`: one per field of the training
//! [`Overrides`], named as the command line names them (`--k-grid` is `k_grid`). The glue hands
//! over what Python passed as a [`Value`]; here each is checked against the type its option
//! takes, and an unknown name is an error listing the known ones.

use simforecast_runtime::stage::ScoreKind;
use simforecast_train::{Deadline, Overrides, Preset};

use crate::error::{Failure, Result};

/// What Python passed for an option.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Str(String),
    /// A sequence of numbers (ints stay exact: a float in a list of windows is an error).
    List(Vec<Value>),
    /// Something else, described by its Python type name.
    Other(String),
}

impl Value {
    fn describe(&self) -> String {
        match self {
            Value::Int(i) => format!("int {i}"),
            Value::Float(x) => format!("float {x}"),
            Value::Str(s) => format!("str '{s}'"),
            Value::List(_) => "a list".into(),
            Value::Other(t) => t.clone(),
        }
    }
}

/// The type an option takes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Takes {
    /// A list of positive ints (or one int).
    Counts,
    /// A list of numbers (or one number).
    Numbers,
    /// A positive int.
    Count,
    /// An int at least 0.
    Natural,
    Number,
    Score,
}

impl Takes {
    fn describe(self) -> &'static str {
        match self {
            Takes::Counts => "a list of positive ints",
            Takes::Numbers => "a list of numbers",
            Takes::Count => "a positive int",
            Takes::Natural => "an int >= 0",
            Takes::Number => "a number",
            Takes::Score => "'vote', 'margin' or 'scaled_margin'",
        }
    }
}

/// Every option, the type it takes, and what it sets (the command line's help, in short).
pub const OPTIONS: [(&str, &str); 16] = [
    ("screen_windows", "windows (frames) of the screening stages"),
    (
        "forecast_windows",
        "windows (frames) of the forecasting stages",
    ),
    ("halt_windows", "screening windows allowed to halt"),
    (
        "forecast_by",
        "frames by which a cleared run gets its forecast (0: the last forecasting window)",
    ),
    ("k_grid", "candidate numbers of neighbours"),
    (
        "powers",
        "candidate Minkowski powers (1 Manhattan, 2 Euclidean)",
    ),
    (
        "target_precision",
        "out-of-fold halting precision a stage must reach to halt",
    ),
    ("min_cut", "lowest vote a halting cut may take"),
    ("min_halts", "fewest true out-of-fold halts a cut needs"),
    (
        "screen_score",
        "what screening scores: 'vote', 'margin' or 'scaled_margin'",
    ),
    (
        "early_miss",
        "largest share of irrelevant runs among those cleared early (0: never clear early)",
    ),
    (
        "tolerance",
        "relative interval width within which a run is forecast early",
    ),
    (
        "variance",
        "fraction of variance the FPCA components keep (no component grid)",
    ),
    ("folds", "cross-validation folds"),
    ("level", "nominal coverage of the forecast interval"),
    ("seed", "seed of every random choice"),
];

fn takes(name: &str) -> Option<Takes> {
    Some(match name {
        "screen_windows" | "forecast_windows" | "halt_windows" | "k_grid" => Takes::Counts,
        "powers" => Takes::Numbers,
        "min_halts" | "folds" => Takes::Count,
        "forecast_by" | "seed" => Takes::Natural,
        "target_precision" | "min_cut" | "early_miss" | "tolerance" | "variance" | "level" => {
            Takes::Number
        }
        "screen_score" => Takes::Score,
        _ => return None,
    })
}

/// The names of every option, comma separated, for messages.
pub fn option_names() -> String {
    OPTIONS.map(|(n, _)| n).join(", ")
}

/// The preset named `name` (None: the default).
pub fn preset(name: Option<&str>) -> Result<Preset> {
    let Some(name) = name else {
        return Ok(Preset::Default);
    };
    Ok(match name.to_ascii_lowercase().as_str() {
        "default" => Preset::Default,
        "paper" => Preset::Paper,
        "fixed" => Preset::Fixed,
        "eager" => Preset::Eager,
        _ => {
            return Err(Failure::invalid(format!(
                "unknown preset '{name}': choose one of 'default', 'paper', 'fixed', 'eager'"
            )))
        }
    })
}

/// The overrides of `options` (name, value), each checked against its option's type.
pub fn overrides(options: &[(String, Value)]) -> Result<Overrides> {
    let mut o = Overrides::default();
    for (name, value) in options {
        let Some(kind) = takes(name) else {
            return Err(Failure::type_error(format!(
                "train() got an unexpected keyword argument '{name}'; the training options are: {}",
                option_names()
            )));
        };
        let wrong = || {
            Failure::type_error(format!(
                "option {name} takes {}, got {}",
                kind.describe(),
                value.describe()
            ))
        };
        match name.as_str() {
            "screen_windows" => o.screen_windows = Some(counts(name, value).ok_or_else(wrong)??),
            "forecast_windows" => {
                o.forecast_windows = Some(counts(name, value).ok_or_else(wrong)??)
            }
            "halt_windows" => o.halt_windows = Some(counts(name, value).ok_or_else(wrong)??),
            "k_grid" => o.k_grid = Some(counts(name, value).ok_or_else(wrong)??),
            "powers" => o.power_grid = Some(numbers(value).ok_or_else(wrong)?),
            "min_halts" => o.min_halts = Some(count(name, value).ok_or_else(wrong)??),
            "folds" => o.folds = Some(count(name, value).ok_or_else(wrong)??),
            "forecast_by" => {
                o.forecast_deadline = Some(match natural(name, value).ok_or_else(wrong)?? {
                    0 => Deadline::LastWindow,
                    w => Deadline::By(w as usize),
                })
            }
            "seed" => o.seed = Some(natural(name, value).ok_or_else(wrong)??),
            "target_precision" => o.target_precision = Some(number(value).ok_or_else(wrong)?),
            "min_cut" => o.min_cut = Some(number(value).ok_or_else(wrong)?),
            "early_miss" => o.max_early_miss = Some(number(value).ok_or_else(wrong)?),
            "tolerance" => o.tolerance = Some(number(value).ok_or_else(wrong)?),
            "variance" => o.variance = Some(number(value).ok_or_else(wrong)?),
            "level" => o.level = Some(number(value).ok_or_else(wrong)?),
            "screen_score" => o.screen_score = Some(score(value).ok_or_else(wrong)??),
            _ => unreachable!("every option with a type is set above"),
        }
    }
    Ok(o)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

fn numbers(v: &Value) -> Option<Vec<f64>> {
    match v {
        Value::List(items) => items.iter().map(number).collect(),
        one => number(one).map(|x| vec![x]),
    }
}

/// An int at least 0 (None: not an int; Err: negative).
fn natural(name: &str, v: &Value) -> Option<Result<u64>> {
    match v {
        Value::Int(i) => {
            Some(u64::try_from(*i).map_err(|_| {
                Failure::invalid(format!("option {name} must be at least 0, got {i}"))
            }))
        }
        _ => None,
    }
}

fn count(name: &str, v: &Value) -> Option<Result<usize>> {
    match v {
        Value::Int(i) if *i >= 1 => Some(Ok(*i as usize)),
        Value::Int(i) => Some(Err(Failure::invalid(format!(
            "option {name} must be at least 1, got {i}"
        )))),
        _ => None,
    }
}

fn counts(name: &str, v: &Value) -> Option<Result<Vec<usize>>> {
    match v {
        Value::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match count(name, item)? {
                    Ok(c) => out.push(c),
                    Err(e) => return Some(Err(e)),
                }
            }
            Some(Ok(out))
        }
        one => count(name, one).map(|c| c.map(|c| vec![c])),
    }
}

fn score(v: &Value) -> Option<Result<ScoreKind>> {
    let Value::Str(s) = v else {
        return None;
    };
    Some(match s.replace('-', "_").as_str() {
        "vote" => Ok(ScoreKind::Vote),
        "margin" => Ok(ScoreKind::Margin),
        "scaled_margin" => Ok(ScoreKind::ScaledMargin),
        _ => Err(Failure::invalid(format!(
            "option screen_score is 'vote', 'margin' or 'scaled_margin', got '{s}'"
        ))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    fn opts(items: &[(&str, Value)]) -> Vec<(String, Value)> {
        items
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn every_option_sets_its_field() {
        let o = overrides(&opts(&[
            (
                "screen_windows",
                Value::List(vec![Value::Int(50), Value::Int(100)]),
            ),
            ("forecast_windows", Value::Int(150)),
            ("halt_windows", Value::List(vec![Value::Int(100)])),
            ("forecast_by", Value::Int(0)),
            ("k_grid", Value::List(vec![Value::Int(3), Value::Int(5)])),
            (
                "powers",
                Value::List(vec![Value::Int(1), Value::Float(2.5)]),
            ),
            ("target_precision", Value::Float(0.9)),
            ("min_cut", Value::Float(0.6)),
            ("min_halts", Value::Int(3)),
            ("screen_score", Value::Str("scaled-margin".into())),
            ("early_miss", Value::Int(0)),
            ("tolerance", Value::Float(1.5)),
            ("variance", Value::Float(0.95)),
            ("folds", Value::Int(4)),
            ("level", Value::Float(0.8)),
            ("seed", Value::Int(7)),
        ]))
        .unwrap();
        assert_eq!(
            o,
            Overrides {
                screen_windows: Some(vec![50, 100]),
                forecast_windows: Some(vec![150]),
                halt_windows: Some(vec![100]),
                forecast_deadline: Some(Deadline::LastWindow),
                k_grid: Some(vec![3, 5]),
                power_grid: Some(vec![1.0, 2.5]),
                target_precision: Some(0.9),
                min_cut: Some(0.6),
                min_halts: Some(3),
                screen_score: Some(ScoreKind::ScaledMargin),
                max_early_miss: Some(0.0),
                tolerance: Some(1.5),
                regression_halts: None,
                variance: Some(0.95),
                folds: Some(4),
                level: Some(0.8),
                seed: Some(7),
            }
        );
        assert_eq!(OPTIONS.len(), 16);
        assert!(OPTIONS.iter().all(|(n, _)| takes(n).is_some()));
    }

    #[test]
    fn an_unknown_option_is_a_type_error_naming_the_known_ones() {
        let e = overrides(&opts(&[("k", Value::Int(3))])).unwrap_err();
        assert_eq!(e.kind, Kind::ArgumentType);
        assert!(
            e.message.contains("'k'") && e.message.contains("k_grid, powers"),
            "{}",
            e.message
        );
    }

    #[test]
    fn wrong_types_and_values_name_the_option() {
        let e = overrides(&opts(&[(
            "screen_windows",
            Value::List(vec![Value::Int(50), Value::Float(100.5)]),
        )]))
        .unwrap_err();
        assert_eq!(e.kind, Kind::ArgumentType);
        assert!(e
            .message
            .contains("screen_windows takes a list of positive ints"));
        let e = overrides(&opts(&[("folds", Value::Int(0))])).unwrap_err();
        assert_eq!(e.kind, Kind::InvalidArgument);
        assert_eq!(e.message, "option folds must be at least 1, got 0");
        let e = overrides(&opts(&[("seed", Value::Int(-1))])).unwrap_err();
        assert_eq!(e.kind, Kind::InvalidArgument);
        let e = overrides(&opts(&[("screen_score", Value::Str("votes".into()))])).unwrap_err();
        assert_eq!(e.kind, Kind::InvalidArgument);
        let e = overrides(&opts(&[("level", Value::Other("NoneType".into()))])).unwrap_err();
        assert_eq!(e.message, "option level takes a number, got NoneType");
    }

    #[test]
    fn presets_by_name() {
        assert_eq!(preset(None).unwrap(), Preset::Default);
        assert_eq!(preset(Some("Eager")).unwrap(), Preset::Eager);
        assert!(preset(Some("fast"))
            .unwrap_err()
            .message
            .contains("'paper'"));
    }
}
