//! `simforecast evaluate`: a model's metrics on held-out traces.

use std::sync::Arc;

use simforecast_runtime::model::Model;
use simforecast_train::protocol;

use crate::args::EvaluateArgs;
use crate::data;
use crate::report::{self, fixed, fmt3};
use crate::AnyResult;

pub fn run(a: EvaluateArgs) -> AnyResult<()> {
    let model = Arc::new(Model::load(&a.model)?);
    let ds = data::load_for_model(&model, &a.traces, a.column.as_deref())?;
    let idx: Vec<usize> = (0..ds.len()).collect();
    let (m, _) = protocol::evaluate(&model, &ds, &idx)?;
    if a.json {
        // Absent figures are written as null.
        return report::print_json(&m);
    }
    println!(
        "{} held-out traces ({} irrelevant): {} halted ({} wrongly)",
        m.n, m.n_irrelevant, m.halts, m.false_halts
    );
    println!(
        "halting precision {}  recall {}  F1 {}",
        fixed(m.precision, 3),
        fixed(m.recall, 3),
        fmt3(m.f1)
    );
    let level = model.card().decisions.level.map(|l| l * 100.0);
    println!(
        "forecast R2 mu-sigma {}  mu+sigma {}; {}% interval covers {} of mu (mean width {})",
        fixed(m.r2[0], 3),
        fixed(m.r2[1], 3),
        fixed(level, 0),
        fixed(m.coverage, 3),
        fixed(m.interval_width, 3)
    );
    println!(
        "mean frames to decision {}; compute saved {}x; out of distribution: {}",
        fixed(Some(m.mean_frames_to_decision), 1),
        fixed(Some(m.compute_saved), 1),
        m.ood
    );
    Ok(())
}
