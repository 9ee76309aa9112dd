//! Training and evaluation as the command line does them (`simforecast train`, `evaluate`):
//! the same checks of the options against the traces, the same fit on every trace, the same
//! replay of held-out traces through the monitor.

use std::sync::Arc;

use simforecast_runtime::model::Model;
use simforecast_train::evaluation::Evaluation;
use simforecast_train::{fit_model, Adapted, StageReport, TrainParams};

use crate::error::Result;
use crate::traces::{self, Loaded};

/// A trained model and what training said about it.
#[derive(Debug)]
pub struct Trained {
    pub model: Model,
    pub reports: Vec<StageReport>,
    /// What the preset's windows had to give up to fit the shortest trace.
    pub adapted: Adapted,
    pub warnings: Vec<String>,
}

/// Trains on every trace of `loaded`, as `simforecast train` does.
pub fn train(loaded: Loaded, params: &TrainParams, units: Option<String>) -> Result<Trained> {
    let Loaded {
        dataset: ds,
        mut warnings,
    } = loaded;
    let shortest = traces::shortest(&ds);
    let (cfg, adapted) = params.check(shortest)?;
    if !adapted.is_empty() {
        warnings.push(crate::error::python_names(&format!(
            "the shortest trace has {shortest} frames: {adapted}"
        )));
    }
    let idx: Vec<usize> = (0..ds.len()).collect();
    let (mut model, reports) = fit_model(&ds, &idx, &cfg)?;
    model.meta.units = units;
    Ok(Trained {
        model,
        reports,
        adapted,
        warnings,
    })
}

/// A model's evaluation on every trace of `loaded`, exactly as `simforecast evaluate --json`
/// gives it: held-out metrics, compute saved at `bank_at`, its curve and each run's stop.
pub fn evaluate(model: &Arc<Model>, loaded: &Loaded, bank_at: f64) -> Result<Evaluation> {
    let ds = &loaded.dataset;
    traces::check_spacing(
        ds.frame_spacing,
        model.meta.frame_spacing,
        "the traces have",
    )?;
    Ok(Evaluation::new(model, ds, bank_at)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::{load, Request, Traces};
    use simforecast_runtime::model::Direction;
    use simforecast_train::Preset;

    /// 60 traces of 300 frames: a level that sets the result, plus a deterministic wiggle.
    fn campaign() -> Vec<Vec<f64>> {
        (0..60)
            .map(|i| {
                let level = 1.0 + (i % 12) as f64;
                (0..300)
                    .map(|t| {
                        level * (1.0 - (-(t as f64) / 40.0).exp())
                            + 0.05 * ((t * (i + 3)) as f64).sin()
                    })
                    .collect()
            })
            .collect()
    }

    fn request() -> Request {
        Request {
            column: None,
            frame_spacing: Some(10),
            threshold: 9.5,
            direction: Direction::Above,
            tail: 100,
            min_len: 0,
        }
    }

    #[test]
    fn trains_and_evaluates_arrays_and_names_what_it_adapted() {
        let loaded = load(
            Traces::Arrays {
                series: campaign(),
                names: None,
            },
            &request(),
        )
        .unwrap();
        let t = train(
            loaded,
            &TrainParams::new(Preset::Default),
            Some("Pa s".into()),
        )
        .unwrap();
        assert_eq!(t.model.meta.units.as_deref(), Some("Pa s"));
        assert_eq!(t.model.meta.n_traces, 60);
        // 300 frames: the default's 300..800 windows go, and the message names the keywords.
        assert!(!t.adapted.is_empty());
        assert!(
            t.warnings[0].contains("the shortest trace has 300 frames"),
            "{:?}",
            t.warnings
        );
        let model = Arc::new(t.model);
        let loaded = load(
            Traces::Arrays {
                series: campaign(),
                names: None,
            },
            &Request::for_model(&model, None, Some(10)),
        )
        .unwrap();
        let e = evaluate(&model, &loaded, 0.25).unwrap();
        assert_eq!((e.metrics.n, e.outcomes.len()), (60, 60));
        assert_eq!(e.metrics.n_irrelevant, 15);
        assert_eq!((e.bank_at, e.runs.len()), (0.25, 60));
        let wrong = load(
            Traces::Arrays {
                series: campaign(),
                names: None,
            },
            &Request::for_model(&model, None, Some(20)),
        )
        .unwrap();
        let e = evaluate(&model, &wrong, 0.25).unwrap_err();
        assert!(e.message.contains("one frame every 20 steps"), "{e}");
    }
}
