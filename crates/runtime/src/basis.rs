//! Cubic B-spline bases on a uniform knot grid: evaluation, exact Gram and roughness matrices, and
//! the least-squares smoother as one precomputed matrix.
//!
//! Conventions (the paper is silent, these are ours): the window's frames are placed at
//! `t_k = k / (n - 1)` on `[0, 1]`; the `n_knots` distinct knots are uniform on `[0, 1]` including
//! both ends, so a cubic basis has `n_knots + 2` functions (scikit-fda's convention).

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Polynomial degree of the basis (cubic).
pub const DEGREE: usize = 3;

/// A clamped B-spline basis of degree [`DEGREE`] on `[0, 1]` with uniform distinct knots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BSplineBasis {
    /// Full knot vector: the distinct knots with the end knots repeated `DEGREE + 1` times.
    knots: Vec<f64>,
    n_distinct: usize,
}

impl BSplineBasis {
    /// A basis with `n_knots` uniform distinct knots (both ends included) on `[0, 1]`.
    pub fn uniform(n_knots: usize) -> Result<Self> {
        if n_knots < 2 {
            return Err(Error::InvalidArgument(format!(
                "a B-spline basis needs at least 2 knots, got {n_knots}"
            )));
        }
        let mut knots = Vec::with_capacity(n_knots + 2 * DEGREE);
        knots.extend(std::iter::repeat_n(0.0, DEGREE));
        knots.extend((0..n_knots).map(|i| i as f64 / (n_knots - 1) as f64));
        knots.extend(std::iter::repeat_n(1.0, DEGREE));
        Ok(Self {
            knots,
            n_distinct: n_knots,
        })
    }

    /// The basis the paper uses for a window of `window` frames: `round(ratio * window)` knots.
    pub fn for_window(window: usize, knot_ratio: f64) -> Result<Self> {
        if !(knot_ratio > 0.0 && knot_ratio <= 1.0) {
            return Err(Error::InvalidArgument(format!(
                "knot ratio must be in (0, 1], got {knot_ratio}"
            )));
        }
        let n_knots = (knot_ratio * window as f64).round() as usize;
        if n_knots + 2 > window {
            return Err(Error::InvalidArgument(format!(
                "{n_knots} knots give {} basis functions, more than the {window} frames of the window",
                n_knots + 2
            )));
        }
        Self::uniform(n_knots)
    }

    pub fn n_basis(&self) -> usize {
        self.n_distinct + DEGREE - 1
    }

    pub fn n_knots(&self) -> usize {
        self.n_distinct
    }

    /// Values of the `deriv`-th derivative of every basis function at `x` in `[0, 1]`.
    pub fn eval(&self, x: f64, deriv: usize) -> Vec<f64> {
        self.eval_degree(x, DEGREE, deriv)
    }

    /// Cox-de Boor recursion over the whole vector; derivatives by the standard difference
    /// formula. Whole-vector evaluation is O(n_basis) per point, fine for offline training.
    fn eval_degree(&self, x: f64, degree: usize, deriv: usize) -> Vec<f64> {
        let t = &self.knots;
        let n_funcs = t.len() - degree - 1;
        if deriv > 0 {
            if degree == 0 {
                return vec![0.0; n_funcs];
            }
            let lower = self.eval_degree(x, degree - 1, deriv - 1);
            let p = degree as f64;
            return (0..n_funcs)
                .map(|i| {
                    let left = ratio(lower[i], t[i + degree] - t[i]);
                    let right = ratio(lower[i + 1], t[i + degree + 1] - t[i + 1]);
                    p * (left - right)
                })
                .collect();
        }
        // Degree 0: the indicator of the knot span holding x; x = 1 belongs to the last span.
        let n0 = t.len() - 1;
        let mut values: Vec<f64> = (0..n0)
            .map(|i| {
                let inside = t[i] <= x && x < t[i + 1];
                let at_right_end = x >= 1.0 && t[i] < t[i + 1] && t[i + 1] >= 1.0;
                if inside || at_right_end {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        for q in 1..=degree {
            values = (0..n0 - q)
                .map(|i| {
                    let a = ratio((x - t[i]) * values[i], t[i + q] - t[i]);
                    let b = ratio((t[i + q + 1] - x) * values[i + 1], t[i + q + 1] - t[i + 1]);
                    a + b
                })
                .collect();
        }
        values
    }

    /// Design matrix `B` (n_points x n_basis) at the given points.
    pub fn design(&self, points: &[f64]) -> DMatrix<f64> {
        let p = self.n_basis();
        let mut b = DMatrix::zeros(points.len(), p);
        for (r, &x) in points.iter().enumerate() {
            for (c, v) in self.eval(x, 0).into_iter().enumerate() {
                b[(r, c)] = v;
            }
        }
        b
    }

    /// `∫ D^d φ_i D^d φ_j dt` over [0, 1], exact: Gauss-Legendre with 4 nodes per knot span
    /// integrates the degree-6 products exactly.
    pub fn inner_products(&self, deriv: usize) -> DMatrix<f64> {
        let p = self.n_basis();
        let mut g = DMatrix::zeros(p, p);
        let spans = self.n_distinct - 1;
        for s in 0..spans {
            let a = s as f64 / spans as f64;
            let b = (s + 1) as f64 / spans as f64;
            let half = 0.5 * (b - a);
            let mid = 0.5 * (a + b);
            for (node, weight) in GAUSS4 {
                let v = self.eval(mid + half * node, deriv);
                for i in 0..p {
                    if v[i] == 0.0 {
                        continue;
                    }
                    for j in 0..p {
                        g[(i, j)] += weight * half * v[i] * v[j];
                    }
                }
            }
        }
        g
    }

    /// The Gram matrix `W_ij = ∫ φ_i φ_j dt`.
    pub fn gram(&self) -> DMatrix<f64> {
        self.inner_products(0)
    }

    /// The linear smoother `S` (n_basis x n) mapping the `n` samples of a window at
    /// `t_k = k/(n-1)` to B-spline coefficients: `c = S x`, the minimiser of
    /// `|x - B c|² + λ ∫ (X'')²`. With `λ = 0` it is the paper's plain least squares.
    pub fn smoother(&self, n: usize, penalty: f64) -> Result<DMatrix<f64>> {
        if n < self.n_basis() {
            return Err(Error::InvalidArgument(format!(
                "{n} samples cannot determine {} B-spline coefficients",
                self.n_basis()
            )));
        }
        if !(penalty >= 0.0 && penalty.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "roughness penalty must be finite and >= 0, got {penalty}"
            )));
        }
        let b = self.design(&window_grid(n));
        let mut normal = b.transpose() * &b;
        if penalty > 0.0 {
            normal += self.inner_products(2) * penalty;
        }
        let chol = normal.cholesky().ok_or_else(|| {
            Error::Numerical("B-spline normal equations are not positive definite".into())
        })?;
        Ok(chol.solve(&b.transpose()))
    }

    /// Value of the curve with coefficients `coef` at `x`.
    pub fn curve_value(&self, coef: &DVector<f64>, x: f64) -> f64 {
        self.eval(x, 0)
            .iter()
            .zip(coef.iter())
            .map(|(a, b)| a * b)
            .sum()
    }
}

/// The sample points of a window of `n` frames: `k / (n - 1)`.
pub fn window_grid(n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![0.0];
    }
    (0..n).map(|k| k as f64 / (n - 1) as f64).collect()
}

/// `a / b` with the B-spline convention `0 / 0 = 0` on repeated knots.
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

const GAUSS4: [(f64, f64); 4] = [
    (-0.861_136_311_594_052_6, 0.347_854_845_137_453_85),
    (-0.339_981_043_584_856_26, 0.652_145_154_862_546_1),
    (0.339_981_043_584_856_26, 0.652_145_154_862_546_1),
    (0.861_136_311_594_052_6, 0.347_854_845_137_453_85),
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Composite Simpson on a fine grid, independent of the Gauss rule used by the code.
    fn simpson_gram(basis: &BSplineBasis, deriv: usize, m: usize) -> DMatrix<f64> {
        let p = basis.n_basis();
        let mut g = DMatrix::zeros(p, p);
        let h = 1.0 / m as f64;
        for k in 0..=m {
            let w = if k == 0 || k == m {
                1.0
            } else if k % 2 == 1 {
                4.0
            } else {
                2.0
            } * h
                / 3.0;
            // Sample just inside each span edge so the derivative of the degree-1 pieces is
            // taken on the correct side.
            let x = (k as f64 * h).clamp(1e-12, 1.0 - 1e-12);
            let v = basis.eval(x, deriv);
            for i in 0..p {
                for j in 0..p {
                    g[(i, j)] += w * v[i] * v[j];
                }
            }
        }
        g
    }

    proptest! {
        #[test]
        fn partition_of_unity(n_knots in 2usize..80, x in 0.0f64..=1.0) {
            let basis = BSplineBasis::uniform(n_knots).unwrap();
            let v = basis.eval(x, 0);
            prop_assert_eq!(v.len(), n_knots + 2);
            prop_assert!((v.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            prop_assert!(v.iter().all(|&a| a >= -1e-15));
            // Local support: at most DEGREE + 1 non-zero functions.
            prop_assert!(v.iter().filter(|&&a| a != 0.0).count() <= DEGREE + 1);
            // Derivatives of a partition of unity sum to zero.
            prop_assert!(basis.eval(x, 1).iter().sum::<f64>().abs() < 1e-8);
        }
    }

    #[test]
    fn gram_matches_quadrature() {
        for n_knots in [2, 5, 24, 60] {
            let basis = BSplineBasis::uniform(n_knots).unwrap();
            let exact = basis.gram();
            let simpson = simpson_gram(&basis, 0, 20_000);
            let err = (&exact - &simpson).abs().max();
            assert!(err < 1e-9, "n_knots {n_knots}: max diff {err}");
            // ∫ Σφ_i Σφ_j = ∫ 1 = 1.
            assert!((exact.sum() - 1.0).abs() < 1e-12);
            assert!((exact.clone() - exact.transpose()).abs().max() < 1e-15);
        }
    }

    #[test]
    fn roughness_matrix_matches_quadrature() {
        let basis = BSplineBasis::uniform(7).unwrap();
        let exact = basis.inner_products(2);
        let simpson = simpson_gram(&basis, 2, 60_000);
        let rel = (&exact - &simpson).abs().max() / exact.abs().max();
        assert!(rel < 1e-3, "relative diff {rel}");
    }

    #[test]
    fn smoother_reproduces_cubic_polynomials() {
        // A cubic lies in the spline space, so least squares must return it exactly.
        let n = 100;
        let basis = BSplineBasis::for_window(n, 0.6).unwrap();
        assert_eq!(basis.n_knots(), 60);
        let s = basis.smoother(n, 0.0).unwrap();
        let grid = window_grid(n);
        let x = DVector::from_iterator(
            n,
            grid.iter().map(|t| 2.0 - t + 3.0 * t * t - 0.5 * t * t * t),
        );
        let coef = &s * &x;
        for (k, &t) in grid.iter().enumerate() {
            assert!((basis.curve_value(&coef, t) - x[k]).abs() < 1e-9);
        }
        // A line is not penalised by the roughness term either.
        let s_pen = basis.smoother(n, 10.0).unwrap();
        let line = DVector::from_iterator(n, grid.iter().map(|t| 1.0 + 4.0 * t));
        let coef = &s_pen * &line;
        assert!((basis.curve_value(&coef, 0.37) - (1.0 + 4.0 * 0.37)).abs() < 1e-9);
    }

    #[test]
    fn rejects_bad_sizes() {
        assert!(BSplineBasis::uniform(1).is_err());
        assert!(BSplineBasis::for_window(10, 0.95).is_err());
        assert!(BSplineBasis::for_window(10, 0.0).is_err());
        let basis = BSplineBasis::uniform(10).unwrap();
        assert!(basis.smoother(5, 0.0).is_err());
        assert!(basis.smoother(50, f64::NAN).is_err());
    }
}
