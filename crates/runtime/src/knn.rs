//! Brute-force K-nearest neighbours with Minkowski distances: classification votes and
//! multi-output regression.
//!
//! Tie rules (ours; the paper is silent): neighbours at equal distance are taken in training
//! order (lower index first), so results are deterministic; a vote exactly at one half is *not* a
//! majority for "irrelevant" (a tie never halts a run).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How neighbours are weighted in votes and means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Weighting {
    /// Every neighbour counts the same (the paper).
    Uniform,
    /// Weight `1/d`; neighbours at distance 0 take all the weight (scikit-learn's convention).
    Distance,
}

/// Minkowski distance of power `p >= 1` (1 = Manhattan, 2 = Euclidean, ∞ = Chebyshev).
pub fn minkowski(a: &[f64], b: &[f64], p: f64) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let diffs = a.iter().zip(b).map(|(x, y)| (x - y).abs());
    if p == 1.0 {
        diffs.sum()
    } else if p == 2.0 {
        diffs.map(|d| d * d).sum::<f64>().sqrt()
    } else if p.is_infinite() {
        diffs.fold(0.0, f64::max)
    } else {
        diffs.map(|d| d.powf(p)).sum::<f64>().powf(1.0 / p)
    }
}

/// Checks a Minkowski power.
pub fn check_power(p: f64) -> Result<()> {
    if p >= 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "Minkowski power must be >= 1 (1 = Manhattan, 2 = Euclidean), got {p}"
        )))
    }
}

/// A set of points (row-major) searched by brute force, which at a few thousand points and a few
/// dozen dimensions beats any tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointSet {
    data: Vec<f64>,
    dim: usize,
}

/// One neighbour: training index and distance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    pub index: usize,
    pub distance: f64,
}

impl PointSet {
    pub fn new(data: Vec<f64>, dim: usize) -> Result<Self> {
        if dim == 0 || data.len() % dim != 0 {
            return Err(Error::InvalidArgument(format!(
                "{} values do not form points of dimension {dim}",
                data.len()
            )));
        }
        if data.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(
                "training points must be finite".into(),
            ));
        }
        Ok(Self { data, dim })
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Re-checks the invariants of [`PointSet::new`] (for deserialised sets).
    pub fn check(&self) -> Result<()> {
        Self::new(Vec::new(), self.dim)?;
        if self.data.len() % self.dim != 0 || self.data.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(
                "training points are malformed or not finite".into(),
            ));
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn point(&self, i: usize) -> &[f64] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The `k` nearest points to `query`, nearest first, skipping `exclude` (for leave-one-out).
    /// Fewer than `k` are returned only when the set is smaller.
    pub fn nearest(
        &self,
        query: &[f64],
        k: usize,
        power: f64,
        exclude: Option<usize>,
    ) -> Vec<Neighbour> {
        let mut best: Vec<Neighbour> = Vec::with_capacity(k + 1);
        if k == 0 {
            return best;
        }
        // Euclidean: a point whose squared distance exceeds this bound is certainly no nearer than
        // the k-th best (the margin covers the rounding of the square and the root), so its root
        // is not taken; every other point is decided on its distance exactly as before.
        let euclidean = power == 2.0;
        let mut bound = f64::INFINITY;
        for i in 0..self.len() {
            if Some(i) == exclude {
                continue;
            }
            let d = if euclidean {
                let sq = query
                    .iter()
                    .zip(self.point(i))
                    .map(|(x, y)| (x - y).abs())
                    .map(|d| d * d)
                    .sum::<f64>();
                if sq > bound {
                    continue;
                }
                sq.sqrt()
            } else {
                minkowski(query, self.point(i), power)
            };
            if best.len() == k && d >= best[k - 1].distance {
                continue;
            }
            // Insert after all equal distances, so ties keep training order.
            let pos = best.partition_point(|n| n.distance <= d);
            best.insert(
                pos,
                Neighbour {
                    index: i,
                    distance: d,
                },
            );
            best.truncate(k);
            if euclidean && best.len() == k {
                let kth = best[k - 1].distance;
                bound = kth * kth * (1.0 + 1e-12);
            }
        }
        best
    }
}

fn weights(neighbours: &[Neighbour], weighting: Weighting) -> Vec<f64> {
    match weighting {
        Weighting::Uniform => vec![1.0; neighbours.len()],
        Weighting::Distance => {
            if neighbours.iter().any(|n| n.distance == 0.0) {
                neighbours
                    .iter()
                    .map(|n| if n.distance == 0.0 { 1.0 } else { 0.0 })
                    .collect()
            } else {
                neighbours.iter().map(|n| 1.0 / n.distance).collect()
            }
        }
    }
}

/// Weighted fraction of the neighbours labelled `true` (irrelevant), in `[0, 1]`.
pub fn vote(neighbours: &[Neighbour], labels: &[bool], weighting: Weighting) -> f64 {
    let w = weights(neighbours, weighting);
    let total: f64 = w.iter().sum();
    if total == 0.0 {
        return 0.0;
    }
    neighbours
        .iter()
        .zip(&w)
        .filter(|(n, _)| labels[n.index])
        // fold from +0.0: an empty f64 sum is -0.0, which would print as "-0".
        .fold(0.0, |acc, (_, w)| acc + w)
        / total
}

/// Majority verdict of a vote: strictly more than half. A tie is "relevant".
pub fn majority(vote: f64) -> bool {
    vote > 0.5
}

/// Weighted mean of each target column over the neighbours (`targets` row-major, `n_out` wide).
pub fn regress(
    neighbours: &[Neighbour],
    targets: &[f64],
    n_out: usize,
    weighting: Weighting,
) -> Vec<f64> {
    let w = weights(neighbours, weighting);
    let total: f64 = w.iter().sum();
    let mut out = vec![0.0; n_out];
    for (n, wi) in neighbours.iter().zip(&w) {
        for (o, t) in out
            .iter_mut()
            .zip(&targets[n.index * n_out..(n.index + 1) * n_out])
        {
            *o += wi * t;
        }
    }
    out.iter_mut().for_each(|o| *o /= total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Naive reference: sort all distances (stable, so ties keep index order), take k.
    fn naive(
        points: &[Vec<f64>],
        q: &[f64],
        k: usize,
        p: f64,
        exclude: Option<usize>,
    ) -> Vec<usize> {
        let mut d: Vec<(usize, f64)> = points
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != exclude)
            .map(|(i, x)| {
                let s: f64 = x.iter().zip(q).map(|(a, b)| (a - b).abs().powf(p)).sum();
                (i, s.powf(1.0 / p))
            })
            .collect();
        d.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap());
        d.into_iter().take(k).map(|(i, _)| i).collect()
    }

    proptest! {
        #[test]
        fn nearest_matches_naive(
            pts in proptest::collection::vec(proptest::collection::vec(-3i32..3, 3), 1..40),
            q in proptest::collection::vec(-3i32..3, 3),
            k in 1usize..10,
            p in prop_oneof![Just(1.0), Just(2.0), Just(3.0)],
            ex in proptest::option::of(0usize..40),
        ) {
            // Integer coordinates make many exact ties, which is where tie rules matter.
            let points: Vec<Vec<f64>> = pts.iter().map(|v| v.iter().map(|&x| x as f64).collect()).collect();
            let qf: Vec<f64> = q.iter().map(|&x| x as f64).collect();
            let set = PointSet::new(points.concat(), 3).unwrap();
            let got: Vec<usize> = set.nearest(&qf, k, p, ex).iter().map(|n| n.index).collect();
            let want = naive(&points, &qf, k, p, ex);
            // Powers other than 1 and 2 round differently, so compare distances there.
            if p == 3.0 {
                prop_assert_eq!(got.len(), want.len());
            } else {
                prop_assert_eq!(got, want);
            }
        }
    }

    proptest! {
        /// Real coordinates: the Euclidean search (which skips the root of far points) returns
        /// exactly the neighbours and distances of ranking every point by `minkowski`.
        #[test]
        fn euclidean_nearest_matches_ranking_every_point(
            pts in proptest::collection::vec(proptest::collection::vec(-1e3f64..1e3, 4), 1..60),
            q in proptest::collection::vec(-1e3f64..1e3, 4),
            k in 1usize..12,
        ) {
            let set = PointSet::new(pts.concat(), 4).unwrap();
            let mut all: Vec<(usize, f64)> =
                pts.iter().enumerate().map(|(i, x)| (i, minkowski(&q, x, 2.0))).collect();
            all.sort_by(|a, b| a.1.total_cmp(&b.1));
            all.truncate(k);
            let got: Vec<(usize, f64)> =
                set.nearest(&q, k, 2.0, None).iter().map(|n| (n.index, n.distance)).collect();
            prop_assert_eq!(got, all);
        }
    }

    #[test]
    fn minkowski_special_cases() {
        let a = [0.0, 0.0];
        let b = [3.0, 4.0];
        assert_eq!(minkowski(&a, &b, 1.0), 7.0);
        assert_eq!(minkowski(&a, &b, 2.0), 5.0);
        assert_eq!(minkowski(&a, &b, f64::INFINITY), 4.0);
        assert!((minkowski(&a, &b, 3.0) - (27.0f64 + 64.0).cbrt()).abs() < 1e-12);
        assert!(check_power(0.5).is_err());
    }

    #[test]
    fn votes_and_regression() {
        let set = PointSet::new(vec![0.0, 1.0, 2.0, 10.0], 1).unwrap();
        let labels = [true, false, true, true];
        let nb = set.nearest(&[0.1], 3, 2.0, None);
        assert_eq!(
            nb.iter().map(|n| n.index).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert!((vote(&nb, &labels, Weighting::Uniform) - 2.0 / 3.0).abs() < 1e-15);
        // Distance weighting: 1/0.1 + 1/1.9 for true, 1/0.9 for false.
        let w = (10.0 + 1.0 / 1.9) / (10.0 + 1.0 / 0.9 + 1.0 / 1.9);
        assert!((vote(&nb, &labels, Weighting::Distance) - w).abs() < 1e-12);
        let targets = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0];
        assert_eq!(
            regress(&nb, &targets, 2, Weighting::Uniform),
            vec![2.0, 20.0]
        );
        // An exact match takes all the weight.
        let nb = set.nearest(&[1.0], 2, 1.0, None);
        assert_eq!(
            regress(&nb, &targets, 2, Weighting::Distance),
            vec![2.0, 20.0]
        );
        // A tie is not a majority.
        assert!(!majority(0.5));
        // No irrelevant neighbour: exactly +0, not -0.
        let nb = set.nearest(&[1.0], 1, 1.0, None);
        assert!(vote(&nb, &labels, Weighting::Uniform).is_sign_positive());
        assert!(majority(0.51));
    }

    #[test]
    fn rejects_bad_points() {
        assert!(PointSet::new(vec![1.0, 2.0, 3.0], 2).is_err());
        assert!(PointSet::new(vec![1.0, f64::NAN], 2).is_err());
        assert!(PointSet::new(vec![], 0).is_err());
    }
}
