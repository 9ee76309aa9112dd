//! Shared fixtures: real models trained on the shipped LAMMPS campaigns.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use simforecast_runtime::model::{Direction, Model};
use simforecast_train::trace::{self, Column};
use simforecast_train::{self as train, Dataset, TrainConfig};

pub fn data_dir(campaign: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(campaign)
        .join("traces")
}

/// The wide campaign (threshold 33.1 from its README).
pub fn wide_dataset() -> &'static Dataset {
    static DS: OnceLock<Dataset> = OnceLock::new();
    DS.get_or_init(|| {
        let set = trace::load_traces(
            &[data_dir("nemd-wide-public").display().to_string()],
            &Column::Index(0),
            1000,
        )
        .expect("shipped campaign loads");
        assert!(set.rejected.is_empty());
        Dataset::from_traces(set, 33.1, Direction::Above, 1000).unwrap()
    })
}

/// A default-preset model trained on the even traces of the wide campaign (the odd ones are
/// held out for tests).
pub fn wide_model() -> Arc<Model> {
    static M: OnceLock<Arc<Model>> = OnceLock::new();
    M.get_or_init(|| {
        let ds = wide_dataset();
        let train_idx: Vec<usize> = (0..ds.len()).filter(|i| i % 2 == 0).collect();
        Arc::new(
            train::fit_model(ds, &train_idx, &TrainConfig::default_calibrated())
                .unwrap()
                .0,
        )
    })
    .clone()
}

/// Held-out traces of the wide campaign (odd positions).
pub fn held_out() -> Vec<usize> {
    (0..wide_dataset().len()).filter(|i| i % 2 == 1).collect()
}
