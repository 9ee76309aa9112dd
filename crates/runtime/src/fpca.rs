//! Functional PCA of curves given by basis coefficients (method.md): with `W` the Gram matrix,
//! solve `(1/N) Cᵀ C W b = ν b` with `bᵀ W b = 1` (the paper's `W^{1/2}` form, through a Cholesky
//! factor of `W`); the scores of a curve are `(c - c̄)ᵀ W b`.

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How many components to keep.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ComponentRule {
    /// The fewest components whose eigenvalues explain at least this fraction of the variance.
    VarianceFraction(f64),
    /// Exactly this many (capped by the rank).
    Count(usize),
}

/// A fitted FPCA: mean curve, kept eigenfunctions and the full spectrum for reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fpca {
    /// Mean coefficient vector `c̄` (length p).
    pub mean: DVector<f64>,
    /// Eigenfunction coefficients `b_m` as columns (p x M).
    pub components: DMatrix<f64>,
    /// All eigenvalues `ν`, descending (length p, clipped at 0).
    pub eigenvalues: Vec<f64>,
    /// Number of kept components `M`.
    pub n_components: usize,
    /// `W b_m` as columns (p x M): scores are `(c - c̄)ᵀ (W b)`.
    pub score_map: DMatrix<f64>,
}

impl Fpca {
    /// Fits the FPCA to the coefficient rows of `coefs` (N x p) with Gram matrix `gram` (p x p).
    pub fn fit(coefs: &DMatrix<f64>, gram: &DMatrix<f64>, rule: ComponentRule) -> Result<Self> {
        check_shapes(coefs, gram)?;
        let factor = gram_factor(gram)?;
        Decomposition::new(coefs, gram, &factor)?.select(gram, &factor, rule)
    }

    /// Fraction of the total variance explained by each component (all p of them).
    pub fn explained_ratio(&self) -> Vec<f64> {
        let total: f64 = self.eigenvalues.iter().sum();
        self.eigenvalues.iter().map(|v| v / total).collect()
    }

    /// Scores of one coefficient vector.
    pub fn scores(&self, coef: &DVector<f64>) -> DVector<f64> {
        self.score_map.tr_mul(&(coef - &self.mean))
    }

    /// Reconstructed coefficients from scores: `c̄ + Σ ρ_m b_m`.
    pub fn reconstruct(&self, scores: &DVector<f64>) -> DVector<f64> {
        &self.mean + &self.components * scores
    }
}

/// At least two curves, and a Gram matrix of their basis's size.
fn check_shapes(coefs: &DMatrix<f64>, gram: &DMatrix<f64>) -> Result<()> {
    let (n, p) = coefs.shape();
    if n < 2 {
        return Err(Error::InvalidArgument(format!(
            "FPCA needs at least 2 curves, got {n}"
        )));
    }
    if gram.shape() != (p, p) {
        return Err(Error::InvalidArgument(format!(
            "Gram matrix is {:?}, coefficients have {p} columns",
            gram.shape()
        )));
    }
    Ok(())
}

/// The lower Cholesky factor `L` of a Gram matrix `W = L Lᵀ` (what [`Decomposition::new`] takes:
/// it depends on the basis alone, so callers fitting many curve sets build it once).
pub fn gram_factor(gram: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    if !gram.is_square() {
        return Err(Error::InvalidArgument(format!(
            "Gram matrix is {:?}, not square",
            gram.shape()
        )));
    }
    gram.clone()
        .cholesky()
        .map(|c| c.l())
        .ok_or_else(|| Error::Numerical("the Gram matrix is not positive definite".into()))
}

/// The eigen-decomposition of one set of curves, before any component rule: every rule tried on
/// the same curves (a grid over component counts) selects from it instead of decomposing again.
pub struct Decomposition {
    n: usize,
    mean: DVector<f64>,
    centred: DMatrix<f64>,
    /// The N x N problem was decomposed (fewer curves than basis functions).
    dual: bool,
    eigenvectors: DMatrix<f64>,
    /// Indices of the eigenpairs by descending eigenvalue.
    order: Vec<usize>,
    /// All p eigenvalues, descending, clipped at 0.
    eigenvalues: Vec<f64>,
    total: f64,
    rank: usize,
}

impl Decomposition {
    /// Decomposes the coefficient rows of `coefs` (N x p) under the Gram matrix `gram` (p x p)
    /// with Cholesky factor `factor` ([`gram_factor`]).
    pub fn new(coefs: &DMatrix<f64>, gram: &DMatrix<f64>, factor: &DMatrix<f64>) -> Result<Self> {
        check_shapes(coefs, gram)?;
        let (n, p) = coefs.shape();
        if factor.shape() != (p, p) {
            return Err(Error::InvalidArgument(format!(
                "Gram factor is {:?}, coefficients have {p} columns",
                factor.shape()
            )));
        }
        let mean = coefs.row_mean().transpose();
        let mut centred = coefs.clone();
        for mut row in centred.row_iter_mut() {
            row -= mean.transpose();
        }
        // With W = L Lᵀ and a = Lᵀ b the problem is the ordinary one for M = C L. Whichever of
        // MᵀM (p x p) and MMᵀ (N x N) is smaller is decomposed: late windows have hundreds of
        // basis functions and fewer curves.
        let m = &centred * factor;
        let dual = n < p;
        let eig = if dual {
            SymmetricEigen::new(&m * m.transpose() / n as f64)
        } else {
            SymmetricEigen::new(m.transpose() * &m / n as f64)
        };
        let dim = eig.eigenvalues.len();
        let mut order: Vec<usize> = (0..dim).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        // The spectrum has p entries; past the N x N problem's size they are zero.
        let mut eigenvalues: Vec<f64> =
            order.iter().map(|&i| eig.eigenvalues[i].max(0.0)).collect();
        eigenvalues.resize(p, 0.0);
        let total: f64 = eigenvalues.iter().sum();
        if total <= 0.0 || !total.is_finite() {
            return Err(Error::Numerical(
                "the curves have no variance: all traces in the window are identical".into(),
            ));
        }
        let rank = eigenvalues.iter().filter(|&&v| v > total * 1e-12).count();
        Ok(Self {
            n,
            mean,
            centred,
            dual,
            eigenvectors: eig.eigenvectors,
            order,
            eigenvalues,
            total,
            rank,
        })
    }

    /// The FPCA that keeps the components `rule` asks for (`gram` and `factor` as given to
    /// [`Decomposition::new`]).
    pub fn select(
        &self,
        gram: &DMatrix<f64>,
        factor: &DMatrix<f64>,
        rule: ComponentRule,
    ) -> Result<Fpca> {
        let (n, p) = (self.n, self.eigenvalues.len());
        let (eigenvalues, total, rank) = (&self.eigenvalues, self.total, self.rank);
        let n_components = match rule {
            ComponentRule::VarianceFraction(f) => {
                if !(f > 0.0 && f <= 1.0) {
                    return Err(Error::InvalidArgument(format!(
                        "variance fraction must be in (0, 1], got {f}"
                    )));
                }
                let mut acc = 0.0;
                let mut m = 0;
                for v in eigenvalues {
                    acc += v;
                    m += 1;
                    // Tolerance so that f = 1 stops at the rank, not at rounding noise.
                    if acc >= f * total * (1.0 - 1e-12) {
                        break;
                    }
                }
                m.min(rank)
            }
            ComponentRule::Count(m) => {
                if m == 0 {
                    return Err(Error::InvalidArgument(
                        "the number of components must be at least 1".into(),
                    ));
                }
                m.min(rank)
            }
        };
        let mut components = DMatrix::zeros(p, n_components);
        for (k, &i) in self.order.iter().take(n_components).enumerate() {
            let v = self.eigenvectors.column(i);
            let mut b = if self.dual {
                // b = Cᵀ u / sqrt(N ν): then (1/N) CᵀC W b = ν b and bᵀ W b = 1.
                self.centred.tr_mul(&v) / (n as f64 * eigenvalues[k]).sqrt()
            } else {
                factor
                    .transpose()
                    .solve_upper_triangular(&v)
                    .ok_or_else(|| {
                        Error::Numerical("the Gram matrix's Cholesky factor is singular".into())
                    })?
            };
            // Deterministic sign: the largest-magnitude entry of b is positive (first on ties).
            let mut pivot = 0;
            for (j, x) in b.iter().enumerate() {
                if x.abs() > b[pivot].abs() * (1.0 + 1e-9) {
                    pivot = j;
                }
            }
            if b[pivot] < 0.0 {
                b = -b;
            }
            components.set_column(k, &b);
        }
        let score_map = gram * &components;
        Ok(Fpca {
            mean: self.mean.clone(),
            components,
            eigenvalues: eigenvalues.clone(),
            n_components,
            score_map,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::basis::{window_grid, BSplineBasis};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn sample_curves(n_curves: usize, n: usize, seed: u64) -> DMatrix<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let grid = window_grid(n);
        DMatrix::from_fn(n_curves, n, |i, k| {
            let t = grid[k];
            let a = (i as f64 * 0.37).sin();
            a * (6.0 * t).sin() + (i % 3) as f64 * t * t + rng.gen_range(-0.3..0.3)
        })
    }

    fn coefs_of(x: &DMatrix<f64>, basis: &BSplineBasis) -> DMatrix<f64> {
        let s = basis.smoother(x.ncols(), 0.0).unwrap();
        (s * x.transpose()).transpose()
    }

    #[test]
    fn all_components_reconstruct_the_smoothed_curves() {
        let x = sample_curves(30, 60, 1);
        let basis = BSplineBasis::for_window(60, 0.6).unwrap();
        let c = coefs_of(&x, &basis);
        let fpca = Fpca::fit(&c, &basis.gram(), ComponentRule::VarianceFraction(1.0)).unwrap();
        for j in 0..c.nrows() {
            let cj = c.row(j).transpose();
            let back = fpca.reconstruct(&fpca.scores(&cj));
            let err = (back - &cj).abs().max();
            assert!(err < 1e-8, "curve {j}: {err}");
        }
    }

    #[test]
    fn eigenfunctions_are_orthonormal_and_scores_carry_the_variance() {
        let x = sample_curves(40, 50, 2);
        let basis = BSplineBasis::for_window(50, 0.6).unwrap();
        let w = basis.gram();
        let c = coefs_of(&x, &basis);
        let fpca = Fpca::fit(&c, &w, ComponentRule::Count(4)).unwrap();
        let gram_b = fpca.components.transpose() * &w * &fpca.components;
        assert!((gram_b - DMatrix::identity(4, 4)).abs().max() < 1e-9);
        // Mean squared score of component m is its eigenvalue (1/N normalisation).
        for m in 0..4 {
            let ms: f64 = (0..c.nrows())
                .map(|j| fpca.scores(&c.row(j).transpose())[m].powi(2))
                .sum::<f64>()
                / c.nrows() as f64;
            assert!((ms - fpca.eigenvalues[m]).abs() < 1e-9 * fpca.eigenvalues[0]);
        }
        assert!(fpca.eigenvalues.windows(2).all(|p| p[0] >= p[1]));
    }

    #[test]
    fn variance_rule_picks_the_fewest_components() {
        let x = sample_curves(40, 50, 3);
        let basis = BSplineBasis::for_window(50, 0.6).unwrap();
        let c = coefs_of(&x, &basis);
        let fpca = Fpca::fit(&c, &basis.gram(), ComponentRule::VarianceFraction(0.9)).unwrap();
        let ratio = fpca.explained_ratio();
        let m = fpca.n_components;
        assert!(ratio[..m].iter().sum::<f64>() >= 0.9 - 1e-12);
        assert!(ratio[..m - 1].iter().sum::<f64>() < 0.9);
    }

    #[test]
    fn few_curves_and_many_curves_give_the_same_components() {
        // 30 curves on 38 basis functions take the N x N route; the same curves twice (same mean
        // and covariance) take the p x p route.
        let x = sample_curves(30, 60, 5);
        let basis = BSplineBasis::for_window(60, 0.6).unwrap();
        let c = coefs_of(&x, &basis);
        assert!(c.nrows() < c.ncols() && 2 * c.nrows() > c.ncols());
        let twice = DMatrix::from_fn(60, c.ncols(), |i, j| c[(i % 30, j)]);
        let few = Fpca::fit(&c, &basis.gram(), ComponentRule::Count(5)).unwrap();
        let many = Fpca::fit(&twice, &basis.gram(), ComponentRule::Count(5)).unwrap();
        let scale = few.components.abs().max();
        assert!((&few.components - &many.components).abs().max() < 1e-8 * scale);
        for (a, b) in few.eigenvalues.iter().zip(&many.eigenvalues) {
            assert!((a - b).abs() < 1e-10 * few.eigenvalues[0]);
        }
    }

    #[test]
    fn signs_are_deterministic() {
        let x = sample_curves(20, 40, 4);
        let basis = BSplineBasis::for_window(40, 0.6).unwrap();
        let c = coefs_of(&x, &basis);
        let a = Fpca::fit(&c, &basis.gram(), ComponentRule::Count(3)).unwrap();
        let b = Fpca::fit(&c, &basis.gram(), ComponentRule::Count(3)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_degenerate_input() {
        let basis = BSplineBasis::uniform(5).unwrap();
        let flat = DMatrix::from_element(5, basis.n_basis(), 1.0);
        assert!(matches!(
            Fpca::fit(&flat, &basis.gram(), ComponentRule::Count(2)),
            Err(Error::Numerical(_))
        ));
        let one = DMatrix::from_element(1, basis.n_basis(), 1.0);
        assert!(Fpca::fit(&one, &basis.gram(), ComponentRule::Count(2)).is_err());
    }
}
