//! Cross-validation: deterministic (stratified) folds and the out-of-fold neighbour lists of
//! every grid candidate, computed once per window and shared by every k and weighting.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use simforecast_runtime::error::Result;
use simforecast_runtime::fpca::ComponentRule;
use simforecast_runtime::knn::{self, Neighbour, PointSet, Weighting};
use simforecast_runtime::stage::{FeatureMap, Recipe, Smoothing};

use crate::config::TrainConfig;
use crate::dataset::Dataset;

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
) -> Result<(Smoothing, Vec<Candidate>)> {
    let smoothing = Smoothing::new(window, &cfg.recipe)?;
    let candidates = candidate_recipes(cfg)
        .into_iter()
        .map(|recipe| {
            let per_power =
                fold_neighbours(ds, idx, folds, &smoothing, &recipe, &cfg.power_grid, k_max)?;
            Ok(Candidate { recipe, per_power })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((smoothing, candidates))
}

fn fold_neighbours(
    ds: &Dataset,
    train_idx: &[usize],
    folds: &[Vec<usize>],
    smoothing: &Smoothing,
    recipe: &Recipe,
    powers: &[f64],
    k_max: usize,
) -> Result<Vec<(f64, Vec<FoldNeighbours>)>> {
    let window = smoothing.window;
    let per_fold: Vec<Result<Vec<FoldNeighbours>>> = folds
        .par_iter()
        .map(|val| {
            let fit: Vec<usize> = train_idx
                .iter()
                .copied()
                .filter(|i| !val.contains(i))
                .collect();
            let fm = FeatureMap::fit_smoothed(smoothing, &ds.windows(&fit, window), recipe)?;
            let pts = features_of(ds, &fit, &fm);
            let set = PointSet::new(pts, fm.dim())?;
            Ok(powers
                .iter()
                .map(|&p| FoldNeighbours {
                    val: val.clone(),
                    lists: val
                        .iter()
                        .map(|&i| {
                            let q = fm.apply(&ds.series[i]);
                            set.nearest(&q, k_max, p, None)
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
        .collect();
    let mut out: Vec<(f64, Vec<FoldNeighbours>)> =
        powers.iter().map(|&p| (p, Vec::new())).collect();
    for f in per_fold {
        for (slot, fnb) in out.iter_mut().zip(f?) {
            slot.1.push(fnb);
        }
    }
    Ok(out)
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
