//! `simforecast predict`: replay one trace frame by frame, as the LAMMPS fix would see it.

use std::sync::Arc;

use serde::Serialize;

use simforecast_runtime::model::Model;
use simforecast_runtime::monitor::{Event, ForecastEvent, ScreenEvent};
use simforecast_runtime::stage::Verdict;
use simforecast_train::protocol::{self, Actual, TraceOutcome};
use simforecast_train::trace::Trace;

use crate::args::PredictArgs;
use crate::data;
use crate::report::{self, fixed, fmt3};
use crate::AnyResult;

/// `predict --json`; the C, C++ and LAMMPS tests compare the fix with these fields.
#[derive(Serialize)]
struct Replay<'a> {
    trace: &'a str,
    frames: usize,
    events: Vec<EventJson<'a>>,
    halt_frame: Option<u64>,
    forecast_frame: Option<u64>,
    forecast: &'a Option<ForecastEvent>,
    frames_used: u64,
    /// The trace's own result; null when it is shorter than the model's tail.
    actual: Option<Actual>,
}

#[derive(Serialize)]
struct EventJson<'a> {
    frame: u64,
    /// The time step of the frame, as written in the trace.
    step: Option<i64>,
    screen: &'a Option<ScreenEvent>,
    forecast: &'a Option<ForecastEvent>,
    halt: bool,
}

pub fn run(a: PredictArgs) -> AnyResult<()> {
    let model = Arc::new(Model::load(&a.model)?);
    let t = data::load_one(&model, &a.trace, a.column.as_deref())?;
    let (events, outcome) = protocol::replay(&model, &t.name, &t.values)?;
    if a.json {
        return report::print_json(&Replay {
            trace: &t.name,
            frames: t.values.len(),
            events: events
                .iter()
                .map(|e| EventJson {
                    frame: e.frame,
                    step: step(&t, e),
                    screen: &e.screen,
                    forecast: &e.forecast,
                    halt: e.halt(),
                })
                .collect(),
            halt_frame: outcome.halt_frame,
            forecast_frame: outcome.forecast_frame,
            forecast: &outcome.forecast,
            frames_used: outcome.frames_used,
            actual: outcome.actual,
        });
    }
    print_text(&model, &t, &events, &outcome);
    Ok(())
}

/// The time step at which the event's frame was written.
fn step(t: &Trace, e: &Event) -> Option<i64> {
    (e.frame as usize)
        .checked_sub(1)
        .and_then(|i| t.steps.get(i))
        .copied()
}

fn print_text(model: &Model, t: &Trace, events: &[Event], outcome: &TraceOutcome) {
    println!("{}: {} frames", t.name, t.values.len());
    for e in events {
        let at = match step(t, e) {
            Some(s) => format!("frame {:>5} (step {s})", e.frame),
            None => format!("frame {:>5}", e.frame),
        };
        if let Some(s) = &e.screen {
            let what = match (s.verdict, s.ood_reason) {
                (Verdict::Irrelevant, _) if s.halt => "IRRELEVANT -> halt".to_string(),
                (Verdict::Irrelevant, _) => "irrelevant (advisory, no halt)".into(),
                (Verdict::Relevant, _) => "relevant".into(),
                (Verdict::Unsure, Some(why)) => format!(
                    "unsure: out of distribution ({}), refuses to act",
                    why.describe()
                ),
                (Verdict::Unsure, None) => "unsure, keep collecting".into(),
            };
            println!(
                "  {at}: screen stage {}: vote {}, score {} (cut {}): {what}",
                s.stage,
                fixed(s.vote, 3),
                fmt3(s.score),
                fixed(s.cut, 3)
            );
        }
        if let Some(f) = &e.forecast {
            println!(
                "  {at}: forecast: mu-sigma {}, mu+sigma {}; mu in [{}, {}] ({}%){}{}",
                fixed(Some(f.mu_minus_sigma), 4),
                fixed(Some(f.mu_plus_sigma), 4),
                fixed(Some(f.mu_low), 4),
                fixed(Some(f.mu_high), 4),
                fixed(Some(f.level * 100.0), 0),
                if f.confident {
                    ""
                } else {
                    " (not within tolerance)"
                },
                if f.ood { " OUT OF DISTRIBUTION" } else { "" }
            );
        }
    }
    if let Some(actual) = outcome.actual {
        println!(
            "  actual (last {} frames): mu {}, sigma {} -> {}",
            model.meta.tail,
            fixed(Some(actual.mu), 4),
            fixed(Some(actual.sigma), 4),
            if actual.irrelevant {
                "irrelevant"
            } else {
                "relevant"
            }
        );
    }
    println!(
        "  frames needed with the fix: {} of {}",
        outcome.frames_used,
        t.values.len()
    );
}
