//! `simforecast inspect`: the model card of a model file.

use serde_json::json;

use simforecast_runtime::model::{Direction, Model};

use crate::args::InspectArgs;
use crate::report::fmt3;
use crate::AnyResult;

pub fn run(a: InspectArgs) -> AnyResult<()> {
    let model = Model::load(&a.model)?;
    if a.json {
        let stages: Vec<_> = model
            .stages
            .iter()
            .map(|s| {
                json!({
                    "role": s.role.to_string(), "window": s.window(), "k": s.params.k,
                    "power": s.params.power, "weighting": format!("{:?}", s.params.weighting),
                    "knots": s.features.n_knots, "components": s.features.n_components,
                    "features": s.features.dim(), "n_train": s.points.len(),
                    "screen": s.screen, "forecast": s.forecast, "ood": s.ood,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "format_version": simforecast_runtime::model::FORMAT_VERSION,
                "metadata": model.meta, "stages": stages, "summary": model.describe(),
            }))?
        );
        return Ok(());
    }
    let m = &model.meta;
    println!("model file      {}", a.model.display());
    println!(
        "preset          {} (simforecast {}, format {})",
        m.preset,
        m.crate_version,
        simforecast_runtime::model::FORMAT_VERSION
    );
    println!("created         {} (unix time)", m.created_unix);
    println!(
        "input           column '{}'{}, one frame every {} steps",
        m.column,
        m.units
            .as_deref()
            .map(|u| format!(" [{u}]"))
            .unwrap_or_default(),
        m.frame_spacing
    );
    println!(
        "label           irrelevant when mu {} {} (mu over the last {} frames)",
        if m.direction == Direction::Above {
            ">"
        } else {
            "<"
        },
        m.threshold,
        m.tail
    );
    println!(
        "training set    {} traces, {} irrelevant, mean length {:.0} frames, sha256 {}",
        m.n_traces,
        m.n_irrelevant,
        m.mean_trace_len,
        &m.training_hash[..16]
    );
    println!("validation      {}-fold CV, seed {}", m.cv_folds, m.seed);
    println!("stages:");
    for (i, s) in model.stages.iter().enumerate() {
        println!(
            "  [{i}] {} at {} frames: {} knots, {} FPCA components, {} features; KNN k={} p={} {:?}; OOD if k-th distance > {}",
            s.role, s.window(), s.features.n_knots, s.features.n_components, s.features.dim(),
            s.params.k, s.params.power, s.params.weighting, fmt3(s.ood.max_distance)
        );
        if let Some(c) = &s.screen {
            if c.advisory {
                // Training wrote why (not a halting window, or the target not reached).
                let why = m
                    .notes
                    .get(i)
                    .and_then(|n| n.split_once(": "))
                    .map_or("advisory", |(_, w)| w);
                println!("      ADVISORY (never halts): {why}");
            } else {
                let floor = if c.vote_floor > 0.0 {
                    format!(" and vote >= {:.2}", c.vote_floor)
                } else {
                    String::new()
                };
                println!("      halts when {:?} score >= {:.3}{floor}: out-of-fold precision {} recall {} ({} halts); majority-vote F1 {:.3}", c.score, c.cut, fmt3(c.cv_precision), fmt3(c.cv_recall), c.cv_halts, c.cv_f1_majority);
            }
            if c.cv_early_share > 0.0 {
                println!("      clears runs as relevant when {:?} score <= {:.3}: {:.0}% of runs out of fold, {:.1}% of them irrelevant", c.score, c.relevant_cut, 100.0 * c.cv_early_share, 100.0 * c.cv_early_miss);
            }
        }
        if let Some(c) = &s.forecast {
            println!(
                "      forecast: out-of-fold R2 {:.3}/{:.3}; {:.0}% interval for mu ({} space) covers {:.3}, mean relative width {:.2}; early if width <= {}{}",
                c.cv_r2[0], c.cv_r2[1], c.level * 100.0, if c.log_space { "log" } else { "linear" }, c.cv_coverage, c.cv_relative_width,
                if c.tolerance >= f64::MAX { "never".into() } else { format!("{}", c.tolerance) },
                if c.deadline { "; deadline: forecasts any cleared run still without one" } else { "" }
            );
        }
    }
    for n in &m.notes {
        println!("note: {n}");
    }
    Ok(())
}
