//! Held-out halting against the size of the training set (`protocol --train-sizes`): does a
//! model trained on few runs halt only what its risk budget ([`crate::risk`]) certifies?
//!
//! For each split and size n, the model is trained on a stratified random subset of n runs of
//! the split's training part (all of it when smaller) and replayed on the split's test part. Each
//! split is replayed twice: as trained (the joint rule), and with the stages' own cuts restored
//! where the joint rule made them advisory, to show what the certificate withheld.

use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use simforecast_runtime::error::Result;
use simforecast_runtime::model::Model;
use simforecast_runtime::stage::{Halting, Stage};

use crate::metrics::MeanStd;
use crate::protocol::evaluate;
use crate::{fit_model, Dataset, TrainConfig};

/// Held-out halts of one split at one training size.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SplitHalts {
    /// Runs actually trained on (the split's training part may hold fewer than asked).
    pub trained_on: usize,
    /// The joint rule was certified (None: no stage met its own target).
    pub certified: Option<bool>,
    /// Out-of-fold halts and wrong halts of the rule the model acts on.
    pub cv_halts: usize,
    pub cv_wrong: usize,
    /// Held out: halts, wrong halts (relevant runs halted), irrelevant runs.
    pub halts: usize,
    pub wrong: usize,
    pub irrelevant: usize,
    /// The same with every stage's own cut (no joint certificate).
    pub own_halts: usize,
    pub own_wrong: usize,
}

/// Held-out halting at one training size, over the splits.
#[derive(Clone, Debug, Serialize)]
pub struct SizeSummary {
    pub size: usize,
    pub splits: Vec<SplitHalts>,
    /// Share of splits whose rule was certified.
    pub certified_share: f64,
    /// Held-out precision (over splits with a halt) and recall (of irrelevant runs), and wrong
    /// halts per split, with the joint rule and with the stages' own cuts.
    pub precision: Option<MeanStd>,
    pub recall: Option<MeanStd>,
    pub wrong_per_split: f64,
    pub own_precision: Option<MeanStd>,
    pub own_recall: Option<MeanStd>,
    pub own_wrong_per_split: f64,
}

impl SizeSummary {
    fn of(size: usize, splits: Vec<SplitHalts>) -> Self {
        let n = splits.len().max(1) as f64;
        let prec = |h: usize, w: usize| (h > 0).then(|| (h - w) as f64 / h as f64);
        let rec = |h: usize, w: usize, irr: usize| (irr > 0).then(|| (h - w) as f64 / irr as f64);
        Self {
            size,
            certified_share: splits.iter().filter(|s| s.certified == Some(true)).count() as f64 / n,
            precision: MeanStd::of(splits.iter().map(|s| prec(s.halts, s.wrong))),
            recall: MeanStd::of(splits.iter().map(|s| rec(s.halts, s.wrong, s.irrelevant))),
            wrong_per_split: splits.iter().map(|s| s.wrong as f64).sum::<f64>() / n,
            own_precision: MeanStd::of(splits.iter().map(|s| prec(s.own_halts, s.own_wrong))),
            own_recall: MeanStd::of(
                splits
                    .iter()
                    .map(|s| rec(s.own_halts, s.own_wrong, s.irrelevant)),
            ),
            own_wrong_per_split: splits.iter().map(|s| s.own_wrong as f64).sum::<f64>() / n,
            splits,
        }
    }
}

/// A stratified random subset of `n` of `idx` (all of it when n >= its length), sorted.
pub fn subset(irrelevant: &[bool], idx: &[usize], n: usize, seed: u64) -> Vec<usize> {
    if n >= idx.len() {
        return idx.to_vec();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    let bad: Vec<usize> = idx.iter().copied().filter(|&i| irrelevant[i]).collect();
    let good: Vec<usize> = idx.iter().copied().filter(|&i| !irrelevant[i]).collect();
    // At least two of each class, as screening needs.
    let n_bad = ((n as f64 * bad.len() as f64 / idx.len() as f64).round() as usize)
        .clamp(2.min(bad.len()), bad.len());
    for (mut g, k) in [(bad, n_bad), (good, n - n_bad)] {
        g.shuffle(&mut rng);
        out.extend_from_slice(&g[..k.min(g.len())]);
    }
    out.sort_unstable();
    out
}

/// The model with every stage the joint rule made advisory halting at its own cut again (the
/// regression stages' halting rule at its own quantile too).
fn own_cuts(model: &Model) -> Model {
    let mut m = model.clone();
    if let Some(h) = m.regression.as_mut().and_then(|r| r.halting.as_mut()) {
        h.certified = true;
    }
    for s in &mut m.stages {
        if let Stage::Screen(sc) = s {
            if let Halting::Uncertified(cut) = sc.calibration.halting {
                sc.calibration.halting = Halting::Halts(cut);
            }
        }
    }
    m
}

/// Held-out halting of `cfg` at each training size over `splits`.
pub fn by_train_size(
    ds: &Dataset,
    cfg: &TrainConfig,
    splits: &[(Vec<usize>, Vec<usize>)],
    sizes: &[usize],
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<SizeSummary>> {
    sizes
        .iter()
        .map(|&size| {
            let runs = splits
                .par_iter()
                .enumerate()
                .map(|(r, (train, test))| {
                    let c = crate::protocol::split_config(cfg, r);
                    let sub = subset(&ds.irrelevant, train, size, c.seed ^ 0x5eed);
                    let (model, _) = fit_model(ds, &sub, &c)?;
                    let (m, _) = evaluate(&Arc::new(model.clone()), ds, test)?;
                    let (own, _) = evaluate(&Arc::new(own_cuts(&model)), ds, test)?;
                    tick();
                    Ok(SplitHalts {
                        trained_on: sub.len(),
                        certified: model.risk.as_ref().map(|r| r.certified),
                        cv_halts: model.risk.as_ref().map_or(0, |r| r.halts),
                        cv_wrong: model.risk.as_ref().map_or(0, |r| r.wrong),
                        halts: m.halts,
                        wrong: m.false_halts,
                        irrelevant: m.n_irrelevant,
                        own_halts: own.halts,
                        own_wrong: own.false_halts,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(SizeSummary::of(size, runs))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_are_stratified_and_keep_both_classes() {
        let mut y = vec![true; 30];
        y.extend(vec![false; 220]);
        let idx: Vec<usize> = (0..250).collect();
        let s = subset(&y, &idx, 25, 1);
        assert_eq!(s.len(), 25);
        assert_eq!(s.iter().filter(|&&i| y[i]).count(), 3);
        let tiny = subset(&y, &idx, 10, 1);
        assert_eq!(
            (tiny.len(), tiny.iter().filter(|&&i| y[i]).count()),
            (10, 2)
        );
        assert_eq!(subset(&y, &idx, 300, 1), idx);
    }
}
