//! The codes have one definition (the runtime's `codes.rs`): the C header's `SF_STATE_*`,
//! `SF_VERDICT_*`, `SF_CONVERGENCE_VERDICT_*` and `SF_EQUILIBRATION_*` enumerators carry exactly
//! its names and values, and the C++ header names them.

use simforecast_runtime::codes::{ConvergenceVerdict, Equilibration, State, Verdict};
use simforecast_runtime::convergence;

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

const CONVERGENCE_VERDICTS: [(ConvergenceVerdict, &str); 6] = [
    (
        ConvergenceVerdict::Converged,
        "SF_CONVERGENCE_VERDICT_CONVERGED",
    ),
    (
        ConvergenceVerdict::TooFewBlocks,
        "SF_CONVERGENCE_VERDICT_TOO_FEW_BLOCKS",
    ),
    (
        ConvergenceVerdict::TooFewFrames,
        "SF_CONVERGENCE_VERDICT_TOO_FEW_FRAMES",
    ),
    (
        ConvergenceVerdict::ZeroMean,
        "SF_CONVERGENCE_VERDICT_ZERO_MEAN",
    ),
    (
        ConvergenceVerdict::TooWide,
        "SF_CONVERGENCE_VERDICT_TOO_WIDE",
    ),
    (
        ConvergenceVerdict::Drifting,
        "SF_CONVERGENCE_VERDICT_DRIFTING",
    ),
];

const EQUILIBRATIONS: [(Equilibration, &str); 2] = [
    (
        Equilibration::MaxEffectiveSamples,
        "SF_EQUILIBRATION_MAX_EFFECTIVE_SAMPLES",
    ),
    (Equilibration::Mser, "SF_EQUILIBRATION_MSER"),
];

/// Fails to compile when a variant is added without a row above.
fn _every_convergence_variant_is_listed(v: ConvergenceVerdict, e: Equilibration) {
    match v {
        ConvergenceVerdict::Converged
        | ConvergenceVerdict::TooFewBlocks
        | ConvergenceVerdict::TooFewFrames
        | ConvergenceVerdict::ZeroMean
        | ConvergenceVerdict::TooWide
        | ConvergenceVerdict::Drifting => {}
    }
    match e {
        Equilibration::MaxEffectiveSamples | Equilibration::Mser => {}
    }
}

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
    let convergence: Vec<(String, i32)> = CONVERGENCE_VERDICTS
        .iter()
        .map(|&(v, n)| (n.to_string(), v as i32))
        .collect();
    assert_eq!(header_enum("sf_convergence_verdict"), convergence);
    let equilibrations: Vec<(String, i32)> = EQUILIBRATIONS
        .iter()
        .map(|&(e, n)| (n.to_string(), e as i32))
        .collect();
    assert_eq!(header_enum("sf_equilibration"), equilibrations);
}

#[test]
fn each_convergence_verdict_has_its_code() {
    use convergence::Verdict as V;
    let cases = [
        (V::Converged, ConvergenceVerdict::Converged),
        (
            V::TooFewBlocks {
                blocks: 3,
                needed: 16,
            },
            ConvergenceVerdict::TooFewBlocks,
        ),
        (
            V::TooFewFrames {
                frames: 50,
                needed: 900,
            },
            ConvergenceVerdict::TooFewFrames,
        ),
        (V::ZeroMean, ConvergenceVerdict::ZeroMean),
        (
            V::TooWide {
                relative_half_width: 0.5,
                tolerance: 0.25,
            },
            ConvergenceVerdict::TooWide,
        ),
        (
            V::Drifting {
                relative_drift: 0.2,
                tolerance: 0.125,
            },
            ConvergenceVerdict::Drifting,
        ),
    ];
    for (verdict, code) in cases {
        assert_eq!(verdict.code(), code, "{verdict:?}");
    }
}

#[test]
fn cpp_header_names_the_c_codes() {
    let hpp = include_str!("../include/simforecast.hpp");
    let names = STATES
        .iter()
        .map(|s| s.1)
        .chain(VERDICTS.iter().map(|v| v.1))
        .chain(CONVERGENCE_VERDICTS.iter().map(|v| v.1))
        .chain(EQUILIBRATIONS.iter().map(|e| e.1));
    for c in names {
        let cpp = c.strip_prefix("SF_").unwrap();
        assert!(
            hpp.contains(&format!("{cpp} = {c};")),
            "include/simforecast.hpp does not define {cpp} as {c}"
        );
    }
}
