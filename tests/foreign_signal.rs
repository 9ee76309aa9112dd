//! A model fed another column than the one it was trained on refuses to act: the default model
//! trained on the even traces of the wide campaign (η, a viscosity) is fed held-out traces made
//! foreign as a user could by picking the wrong column or units: the shear-stress component
//! pxy = −rate·η that η is computed from, η negated, η in other units (× 1e-3), and η shifted
//! below zero. Without the signal guard every one of them was cleared and forecast. And the
//! guard leaves the campaign's own traces alone: the same model with and without its signal
//! guards decides exactly the same on every trace, training and held-out.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use simforecast_runtime::model::Model;
use simforecast_runtime::monitor::{Event, Monitor, State};
use simforecast_runtime::stage::{OodReason, Signal, Stage, Verdict};

/// Shear rate of every run of the wide campaign (runs.csv), by run number.
fn shear_rates() -> HashMap<u32, f64> {
    let path = common::data_dir("nemd-wide-public")
        .parent()
        .unwrap()
        .join("runs.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (id, rate) = (col("run_id"), col("shear_rate"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[id].parse().unwrap(), f[rate].parse().unwrap())
        })
        .collect()
}

/// The run number in a trace name ("run_0013" -> 13).
fn run_number(name: &str) -> u32 {
    name.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Foreign {
    /// pxy = −rate·η: the pressure component η is computed from.
    ShearStress,
    Negated,
    /// η in other units.
    Milli,
    /// Every value below zero: η − max(η) − 1.
    Shifted,
}

const FOREIGN: [Foreign; 4] = [
    Foreign::ShearStress,
    Foreign::Negated,
    Foreign::Milli,
    Foreign::Shifted,
];

fn make_foreign(kind: Foreign, eta: &[f64], rate: f64) -> Vec<f64> {
    let max = eta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    eta.iter()
        .map(|&v| match kind {
            Foreign::ShearStress => -rate * v,
            Foreign::Negated => -v,
            Foreign::Milli => 1e-3 * v,
            Foreign::Shifted => v - max - 1.0,
        })
        .collect()
}

/// What the monitor did to one run.
#[derive(Debug)]
struct Fate {
    cleared: bool,
    halted: bool,
    forecast: bool,
    /// Why the first stage refused the run (None: it did not).
    first_refusal: Option<OodReason>,
    refused_everywhere: bool,
    state: State,
}

fn fate(model: &Arc<Model>, series: &[f64]) -> Fate {
    let mut mon = Monitor::new(Arc::clone(model));
    let mut events: Vec<Event> = Vec::new();
    for &v in series {
        if let Some(e) = mon.push(v).unwrap() {
            events.push(e);
        }
    }
    assert!(mon.finished());
    let screens: Vec<_> = events.iter().filter_map(|e| e.screen.as_ref()).collect();
    for s in &screens {
        // The C ABI's flag and the reason say the same; a refused run is never acted upon.
        assert_eq!(s.ood, s.ood_reason.is_some());
        if s.ood {
            assert_eq!(s.verdict, Verdict::Unsure, "{s:?}");
            assert!(!s.halt);
        }
    }
    for f in events.iter().filter_map(|e| e.forecast.as_ref()) {
        assert_eq!(f.ood, f.ood_reason.is_some());
        assert!(!(f.ood && f.confident), "{f:?}");
    }
    let first = &events[0];
    assert_eq!(first.frame, model.stages[0].window() as u64);
    Fate {
        cleared: screens.iter().any(|s| s.verdict == Verdict::Relevant),
        halted: events.iter().any(Event::halt),
        forecast: events.iter().any(|e| e.forecast.is_some()),
        first_refusal: first.screen.as_ref().and_then(|s| s.ood_reason),
        refused_everywhere: screens.iter().all(|s| s.ood),
        state: mon.state(),
    }
}

#[test]
fn a_foreign_column_is_refused_from_the_first_stage() {
    let model = common::wide_model();
    let ds = common::wide_dataset();
    let rates = shear_rates();
    let first_window = model.stages[0].window();
    let mut refused_first: HashMap<Foreign, usize> = HashMap::new();
    let mut never_cleared: HashMap<Foreign, usize> = HashMap::new();
    let mut clear_signals = 0;
    let held_out = common::held_out();
    for &i in &held_out {
        let eta = &ds.series[i];
        let rate = rates[&run_number(&ds.names[i])];
        // η's own level over the first window, at least its noise: a run whose first frames are
        // still noise about zero (a slow run starting up) is no different negated.
        let s = Signal::of(&eta[..first_window]);
        let clear_signal = s.level >= s.scale;
        clear_signals += usize::from(clear_signal);
        for kind in FOREIGN {
            let x = make_foreign(kind, eta, rate);
            let f = fate(&model, &x);
            let name = &ds.names[i];
            assert!(!f.halted, "{kind:?} {name}: halted {f:?}");
            *refused_first.entry(kind).or_default() += usize::from(f.first_refusal.is_some());
            *never_cleared.entry(kind).or_default() += usize::from(!f.cleared);
            let must_refuse = match kind {
                Foreign::Shifted | Foreign::Milli => true,
                Foreign::ShearStress | Foreign::Negated => clear_signal,
            };
            if !must_refuse {
                continue;
            }
            let expected = match kind {
                Foreign::Milli => [OodReason::Scale].as_slice(),
                Foreign::ShearStress => &[OodReason::Sign, OodReason::Scale],
                Foreign::Negated | Foreign::Shifted => &[OodReason::Sign],
            };
            assert!(
                f.first_refusal.is_some_and(|r| expected.contains(&r)),
                "{kind:?} {name}: first stage {:?}, expected one of {expected:?}",
                f.first_refusal
            );
            if kind != Foreign::Milli {
                // Milli: a very viscous run in thousandths can look like a slow one later on.
                assert!(f.refused_everywhere, "{kind:?} {name}: {f:?}");
                assert!(!f.cleared && !f.forecast, "{kind:?} {name}: {f:?}");
                assert_eq!(f.state, State::Collecting, "{kind:?} {name}");
            }
        }
    }
    let n = held_out.len();
    eprintln!("{clear_signals} of {n} held-out runs have a level of at least their sd at {first_window} frames");
    for kind in FOREIGN {
        eprintln!(
            "{kind:?}: {} of {n} held-out runs refused at the first stage, {} never cleared",
            refused_first[&kind], never_cleared[&kind]
        );
    }
    // Most runs are past their start-up noise by the first window.
    for kind in FOREIGN {
        assert!(
            refused_first[&kind] * 10 >= n * 9,
            "{kind:?}: {refused_first:?}"
        );
    }
}

/// The model with its signal guards removed: what it decided before they existed.
fn without_signal_guards(model: &Model) -> Arc<Model> {
    let mut m = model.clone();
    for s in &mut m.stages {
        match s {
            Stage::Screen(s) => s.neighbourhood.signal = None,
            Stage::Forecast(f) => f.neighbourhood.signal = None,
            Stage::Regression(r) => r.signal = None,
        }
    }
    Arc::new(m)
}

#[test]
fn the_campaign_itself_is_in_distribution() {
    let model = common::wide_model();
    let ds = common::wide_dataset();
    assert!(model.stages.iter().all(|s| s.signal_guard().is_some()));
    let bare = without_signal_guards(&model);
    let mut fired = 0;
    // Held-out traces (odd) and training traces (even) alike.
    for (name, series) in ds.names.iter().zip(&ds.series) {
        let with = Monitor::replay(&model, series).unwrap();
        let without = Monitor::replay(&bare, series).unwrap();
        let reasons = with
            .iter()
            .flat_map(|e| {
                [
                    e.screen.as_ref().and_then(|s| s.ood_reason),
                    e.forecast.as_ref().and_then(|f| f.ood_reason),
                ]
            })
            .flatten();
        fired += reasons.filter(|r| *r != OodReason::Distance).count();
        assert_eq!(with, without, "{name}: the signal guard changed a decision");
    }
    assert_eq!(fired, 0, "the signal guard refused in-campaign windows");
}
