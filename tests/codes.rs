//! The state and verdict codes have one definition (the runtime's `codes.rs`): the C header's
//! `SF_STATE_*` / `SF_VERDICT_*` enumerators carry exactly its names and values.

use simforecast_runtime::codes::{State, Verdict};

const STATES: [(State, &str); 4] = [
    (State::Collecting, "SF_STATE_COLLECTING"),
    (State::ScreenedRelevant, "SF_STATE_SCREENED_RELEVANT"),
    (State::ScreenedIrrelevant, "SF_STATE_SCREENED_IRRELEVANT"),
    (State::ForecastReady, "SF_STATE_FORECAST_READY"),
];

const VERDICTS: [(Verdict, &str); 3] = [
    (Verdict::Relevant, "SF_VERDICT_RELEVANT"),
    (Verdict::Irrelevant, "SF_VERDICT_IRRELEVANT"),
    (Verdict::Unsure, "SF_VERDICT_UNSURE"),
];

/// Fails to compile when a variant is added without a row above.
fn _every_variant_is_listed(s: State, v: Verdict) {
    match s {
        State::Collecting
        | State::ScreenedRelevant
        | State::ScreenedIrrelevant
        | State::ForecastReady => {}
    }
    match v {
        Verdict::Relevant | Verdict::Irrelevant | Verdict::Unsure => {}
    }
}

/// (name, value) of the enumerators of `enum <name>` in the committed C header.
fn header_enum(name: &str) -> Vec<(String, i32)> {
    let header = include_str!("../include/simforecast.h");
    let start = header
        .find(&format!("enum {name}"))
        .unwrap_or_else(|| panic!("no enum {name} in include/simforecast.h"));
    let body = &header[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
    body.lines()
        .filter_map(|l| l.trim().strip_suffix(','))
        .filter_map(|l| l.split_once(" = "))
        .map(|(n, v)| (n.to_string(), v.parse().unwrap()))
        .collect()
}

#[test]
fn c_header_codes_are_the_runtime_codes() {
    let states: Vec<(String, i32)> = STATES
        .iter()
        .map(|&(s, n)| (n.to_string(), s as i32))
        .collect();
    assert_eq!(header_enum("sf_state"), states);
    let verdicts: Vec<(String, i32)> = VERDICTS
        .iter()
        .map(|&(v, n)| (n.to_string(), v as i32))
        .collect();
    assert_eq!(header_enum("sf_verdict"), verdicts);
    // The values the C ABI has always had.
    assert_eq!(states.iter().map(|s| s.1).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(verdicts.iter().map(|v| v.1).collect::<Vec<_>>(), [0, 1, 2]);
}

#[test]
fn cpp_header_names_the_c_codes() {
    let hpp = include_str!("../include/simforecast.hpp");
    let names = STATES
        .iter()
        .map(|s| s.1)
        .chain(VERDICTS.iter().map(|v| v.1));
    for c in names {
        let cpp = c.strip_prefix("SF_").unwrap();
        assert!(
            hpp.contains(&format!("{cpp} = {c};")),
            "include/simforecast.hpp does not define {cpp} as {c}"
        );
    }
}
