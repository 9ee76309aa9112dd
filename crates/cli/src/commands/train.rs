//! `simforecast train`: fit a model on every trace and write it.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use simforecast_runtime::model::{JointRisk, Metadata};
use simforecast_train::{self as train, StageReport};

use crate::args::TrainArgs;
use crate::data::{self, Request};
use crate::report;
use crate::AnyResult;

/// `train --json`.
#[derive(Serialize)]
struct Summary<'a> {
    model: &'a Path,
    n: usize,
    seconds: f64,
    stages: &'a [StageReport],
    metadata: &'a Metadata,
    /// The halting windows' one risk budget (None: no stage met its own halting target).
    risk: Option<&'a JointRisk>,
}

pub fn run(a: TrainArgs) -> AnyResult<()> {
    let ds = data::load(&Request::from_args(&a.data, &a.label, 0)?)?;
    let (cfg, adapted) = a.model.params().check(data::shortest(&ds))?;
    if !adapted.is_empty() {
        eprintln!(
            "simforecast: the shortest trace has {} frames: {adapted}",
            data::shortest(&ds)
        );
    }
    let idx: Vec<usize> = (0..ds.len()).collect();
    let start = Instant::now();
    let (mut model, reports) = train::fit_model(&ds, &idx, &cfg)?;
    model.meta.units = a.units.clone();
    model.save(&a.output)?;
    let seconds = start.elapsed().as_secs_f64();
    if a.json {
        return report::print_json(&Summary {
            model: &a.output,
            n: ds.len(),
            seconds,
            stages: &reports,
            metadata: &model.meta,
            risk: model.risk.as_ref(),
        });
    }
    println!(
        "trained on {} traces ({} irrelevant, threshold {}) in {seconds:.2} s; {}-fold CV:",
        ds.len(),
        model.meta.n_irrelevant,
        ds.threshold,
        cfg.folds
    );
    report::print_stage_reports(&reports);
    // The card, as `inspect` prints it and the LAMMPS fix logs it, ends with the verdict.
    println!("{}", model.card());
    println!("model written to {}", a.output.display());
    Ok(())
}
