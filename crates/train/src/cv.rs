//! Cross-validation: deterministic (stratified) folds and the out-of-fold neighbour lists of
//! every grid candidate, computed once per window and shared by every k and weighting; the
//! candidates of a fold share its smoothing and FPCA.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

use rayon::prelude::*;

use simforecast_runtime::error::Result;
use simforecast_runtime::fpca::ComponentRule;
use simforecast_runtime::knn::{self, Neighbour, PointSet, Weighting};
use simforecast_runtime::stage::{FeatureMap, Recipe};

use crate::config::TrainConfig;
use crate::dataset::Dataset;
use crate::smoothed::SmoothedWindow;

/// Splits `idx` into `k` folds (stratified by `strata` when given), deterministically.
pub fn folds(idx: &[usize], strata: Option<&[bool]>, k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = vec![Vec::new(); k];
    let groups: Vec<Vec<usize>> = match strata {
        Some(s) => vec![
            idx.iter().copied().filter(|&i| s[i]).collect(),
            idx.iter().copied().filter(|&i| !s[i]).collect(),
        ],
        None => vec![idx.to_vec()],
    };
    for (offset, mut g) in groups.into_iter().enumerate() {
        g.shuffle(&mut rng);
        for (j, i) in g.into_iter().enumerate() {
            // Each class starts one fold later, so small classes do not all land in fold 0.
            out[(j + offset) % k].push(i);
        }
    }
    out
}

/// The members of `idx` not in `val`, in `idx`'s order: a fold's fitting runs. Membership by a
/// mask, so a fold costs O(n) rather than the O(n²) of searching `val` for every run.
pub(crate) fn complement(idx: &[usize], val: &[usize]) -> Vec<usize> {
    let size = idx.iter().chain(val).max().map_or(0, |&m| m + 1);
    let mut held_out = vec![false; size];
    for &i in val {
        held_out[i] = true;
    }
    idx.iter().copied().filter(|&i| !held_out[i]).collect()
}

/// Cached neighbour lists of one fold: for each validation trace, its nearest training traces
/// (up to the largest k) under one power, as global dataset indices.
pub(crate) struct FoldNeighbours {
    pub val: Vec<usize>,
    pub lists: Vec<Vec<Neighbour>>,
}

/// One candidate feature configuration and its out-of-fold neighbour lists per power.
pub(crate) struct Candidate {
    pub recipe: Recipe,
    pub per_power: Vec<(f64, Vec<FoldNeighbours>)>,
}

/// The smoothing at `window` and, for every candidate recipe, the out-of-fold neighbour lists of
/// the traces `idx`: what the grid search ranks.
pub(crate) fn grid_candidates(
    ds: &Dataset,
    idx: &[usize],
    folds: &[Vec<usize>],
    window: usize,
    k_max: usize,
    cfg: &TrainConfig,
) -> Result<(Arc<SmoothedWindow>, Vec<Candidate>)> {
    let smoothed = ds.smoothed(window, &cfg.recipe)?;
    let recipes = candidate_recipes(cfg);
    // Every fold fits one FPCA for all candidate recipes (they differ in components only).
    let per_fold: Vec<Vec<Vec<FoldNeighbours>>> = folds
        .par_iter()
        .map(|val| fold_neighbours(ds, idx, val, &smoothed, &recipes, &cfg.power_grid, k_max))
        .collect::<Result<_>>()?;
    let mut candidates: Vec<Candidate> = recipes
        .into_iter()
        .map(|recipe| Candidate {
            recipe,
            per_power: cfg.power_grid.iter().map(|&p| (p, Vec::new())).collect(),
        })
        .collect();
    for fold in per_fold {
        for (cand, per_power) in candidates.iter_mut().zip(fold) {
            for (slot, fnb) in cand.per_power.iter_mut().zip(per_power) {
                slot.1.push(fnb);
            }
        }
    }
    Ok((smoothed, candidates))
}

/// One fold's neighbour lists: for each recipe, for each power, the nearest fitting traces of
/// each validation trace.
fn fold_neighbours(
    ds: &Dataset,
    train_idx: &[usize],
    val: &[usize],
    smoothed: &SmoothedWindow,
    recipes: &[Recipe],
    powers: &[f64],
    k_max: usize,
) -> Result<Vec<Vec<FoldNeighbours>>> {
    let window = smoothed.smoothing.window;
    let fit = complement(train_idx, val);
    let maps = FeatureMap::fit_each(
        &smoothed.smoothing,
        &ds.windows(&fit, window),
        &smoothed.coefficients(&fit),
        recipes,
    )?;
    maps.iter()
        .map(|fm| {
            let set = PointSet::new(features_of(ds, &fit, fm), fm.dim())?;
            let queries = features_of(ds, val, fm);
            Ok(powers
                .iter()
                .map(|&p| FoldNeighbours {
                    val: val.to_vec(),
                    lists: queries
                        .chunks_exact(fm.dim())
                        .map(|q| {
                            set.nearest(q, k_max, p, None)
                                .into_iter()
                                .map(|n| Neighbour {
                                    index: fit[n.index],
                                    distance: n.distance,
                                })
                                .collect()
                        })
                        .collect(),
                })
                .collect())
        })
        .collect()
}

pub(crate) fn features_of(ds: &Dataset, idx: &[usize], fm: &FeatureMap) -> Vec<f64> {
    let mut pts = vec![0.0; idx.len() * fm.dim()];
    for (r, &i) in idx.iter().enumerate() {
        fm.apply_into(&ds.series[i], &mut pts[r * fm.dim()..(r + 1) * fm.dim()]);
    }
    pts
}

fn candidate_recipes(cfg: &TrainConfig) -> Vec<Recipe> {
    if cfg.component_grid.is_empty() {
        return vec![cfg.recipe.clone()];
    }
    cfg.component_grid
        .iter()
        .map(|&m| Recipe {
            components: ComponentRule::Count(m),
            ..cfg.recipe.clone()
        })
        .collect()
}

/// Out-of-fold votes (index-aligned with `order`) for given hyper-parameters.
pub(crate) fn oof_votes(
    lists: &[FoldNeighbours],
    labels: &[bool],
    k: usize,
    w: Weighting,
) -> Vec<(usize, f64)> {
    lists
        .iter()
        .flat_map(|f| {
            f.val
                .iter()
                .zip(&f.lists)
                .map(move |(&i, nb)| (i, knn::vote(&nb[..k.min(nb.len())], labels, w)))
        })
        .collect()
}
