//! How a window of samples becomes features: the recipe, its B-spline smoothing, and the affine
//! map (smoothing, FPCA scores, optional summaries and scaling, folded into one matrix).

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::basis::BSplineBasis;
use crate::error::{Error, Result};
use crate::fpca::{self, ComponentRule, Decomposition, Fpca};

/// How a window becomes features. The paper's recipe is [`Recipe::paper`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    /// Distinct knots = round(ratio × window).
    pub knot_ratio: f64,
    /// Roughness penalty λ on ∫(X'')² (0 = plain least squares, as in the paper).
    pub penalty: f64,
    /// Which FPCA components to keep.
    pub components: ComponentRule,
    /// Append the window mean and the mean of its last quarter as features.
    pub summaries: bool,
    /// Scale every feature to unit standard deviation over the training set.
    pub standardize: bool,
    /// Scale of the summary features after standardisation (their weight in the distance
    /// against the FPCA scores).
    pub summary_weight: f64,
}

impl Recipe {
    /// The published configuration: 60 % knots, no penalty, 99 % variance, raw scores.
    pub fn paper() -> Self {
        Self {
            knot_ratio: 0.6,
            penalty: 0.0,
            components: ComponentRule::VarianceFraction(0.99),
            summaries: false,
            standardize: false,
            summary_weight: 1.0,
        }
    }
}

/// The smoothing half of a recipe at one window: the B-spline basis, its smoother matrix and
/// Gram matrix (and the Gram's Cholesky factor, which every FPCA at this window needs). It does
/// not depend on the training curves, so training builds it once per window and shares it among
/// folds, component counts and stages.
#[derive(Clone, Debug)]
pub struct Smoothing {
    pub window: usize,
    knot_ratio: f64,
    penalty: f64,
    basis: BSplineBasis,
    smoother: DMatrix<f64>,
    gram: DMatrix<f64>,
    gram_factor: DMatrix<f64>,
}

impl Smoothing {
    pub fn new(window: usize, recipe: &Recipe) -> Result<Self> {
        let basis = BSplineBasis::for_window(window, recipe.knot_ratio)?;
        let smoother = basis.smoother(window, recipe.penalty)?;
        let gram = basis.gram();
        let gram_factor = fpca::gram_factor(&gram)?;
        Ok(Self {
            window,
            knot_ratio: recipe.knot_ratio,
            penalty: recipe.penalty,
            basis,
            smoother,
            gram,
            gram_factor,
        })
    }

    /// The B-spline coefficients of windows given as rows (N x window): N x n_basis. Each row
    /// depends on its own window only, so a caller may smooth every trace once and pick rows.
    pub fn coefficients(&self, windows: &DMatrix<f64>) -> DMatrix<f64> {
        (&self.smoother * windows.transpose()).transpose()
    }

    /// Whether `recipe` smooths as this smoothing does (same knots and penalty).
    pub fn matches(&self, recipe: &Recipe) -> bool {
        recipe.knot_ratio == self.knot_ratio && recipe.penalty == self.penalty
    }
}

/// The affine map `features = A x + b` from the `window` raw samples of a trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureMap {
    pub window: usize,
    pub matrix: DMatrix<f64>,
    pub offset: DVector<f64>,
    /// Knots and kept components, for model cards.
    pub n_knots: usize,
    pub n_components: usize,
    /// Explained variance ratio of every FPCA component (reports).
    pub explained: Vec<f64>,
}

impl FeatureMap {
    /// Fits smoothing, FPCA and scaling on the training windows (rows of `windows`, N x window).
    pub fn fit(windows: &DMatrix<f64>, recipe: &Recipe) -> Result<Self> {
        Self::fit_smoothed(&Smoothing::new(windows.ncols(), recipe)?, windows, recipe)
    }

    /// As [`FeatureMap::fit`], with the smoothing of `recipe` at this window already built.
    pub fn fit_smoothed(
        smoothing: &Smoothing,
        windows: &DMatrix<f64>,
        recipe: &Recipe,
    ) -> Result<Self> {
        check_smoothing(smoothing, windows.ncols(), recipe)?;
        let coefs = smoothing.coefficients(windows);
        let mut maps = Self::fit_each(smoothing, windows, &coefs, std::slice::from_ref(recipe))?;
        Ok(maps.remove(0))
    }

    /// One map per recipe, all fitted on the same training windows (rows of `windows`) whose
    /// B-spline coefficients `coefs` ([`Smoothing::coefficients`]) are given: the curves are
    /// decomposed once and each recipe keeps its own components (a grid over component counts
    /// costs one FPCA). Every recipe must smooth as `smoothing` does.
    pub fn fit_each(
        smoothing: &Smoothing,
        windows: &DMatrix<f64>,
        coefs: &DMatrix<f64>,
        recipes: &[Recipe],
    ) -> Result<Vec<Self>> {
        for recipe in recipes {
            check_smoothing(smoothing, windows.ncols(), recipe)?;
        }
        if coefs.shape() != (windows.nrows(), smoothing.basis.n_basis()) {
            return Err(Error::InvalidArgument(format!(
                "coefficients are {:?}, expected {} windows of {} basis functions",
                coefs.shape(),
                windows.nrows(),
                smoothing.basis.n_basis()
            )));
        }
        let Smoothing {
            gram, gram_factor, ..
        } = smoothing;
        let decomposition = Decomposition::new(coefs, gram, gram_factor)?;
        recipes
            .iter()
            .map(|recipe| {
                let fpca = decomposition.select(gram, gram_factor, recipe.components)?;
                Ok(Self::from_fpca(smoothing, windows, &fpca, recipe))
            })
            .collect()
    }

    /// The map of one fitted FPCA: its scores, the recipe's summaries and scaling.
    fn from_fpca(
        smoothing: &Smoothing,
        windows: &DMatrix<f64>,
        fpca: &Fpca,
        recipe: &Recipe,
    ) -> Self {
        let (n_traces, window) = windows.shape();
        let Smoothing {
            basis, smoother, ..
        } = smoothing;
        // scores = Mᵀ (S x - c̄) = (Mᵀ S) x - Mᵀ c̄, with M the score map.
        let score_rows = fpca.score_map.transpose() * smoother;
        let score_offset = -(fpca.score_map.transpose() * &fpca.mean);
        let n_extra = if recipe.summaries { 2 } else { 0 };
        let d = fpca.n_components + n_extra;
        let mut matrix = DMatrix::zeros(d, window);
        let mut offset = DVector::zeros(d);
        matrix.rows_mut(0, fpca.n_components).copy_from(&score_rows);
        offset
            .rows_mut(0, fpca.n_components)
            .copy_from(&score_offset);
        if recipe.summaries {
            let m = fpca.n_components;
            matrix.row_mut(m).fill(1.0 / window as f64);
            let tail = (window / 4).max(1);
            for k in window - tail..window {
                matrix[(m + 1, k)] = 1.0 / tail as f64;
            }
        }
        if recipe.standardize {
            let feats = &matrix * windows.transpose(); // d x N, offsets do not change the spread
            for r in 0..d {
                let row = feats.row(r);
                let mean = row.mean();
                let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n_traces as f64;
                let sd = var.sqrt();
                if sd > 0.0 && sd.is_finite() {
                    matrix.row_mut(r).scale_mut(1.0 / sd);
                    offset[r] /= sd;
                }
            }
        }
        if recipe.summaries && recipe.summary_weight != 1.0 {
            for r in fpca.n_components..d {
                matrix.row_mut(r).scale_mut(recipe.summary_weight);
                offset[r] *= recipe.summary_weight;
            }
        }
        Self {
            window,
            matrix,
            offset,
            n_knots: basis.n_knots(),
            n_components: fpca.n_components,
            explained: fpca.explained_ratio(),
        }
    }

    pub fn dim(&self) -> usize {
        self.matrix.nrows()
    }

    /// Features of the first `window` samples of `x` into `out` (no allocation).
    pub fn apply_into(&self, x: &[f64], out: &mut [f64]) {
        let d = self.dim();
        debug_assert!(x.len() >= self.window && out.len() == d);
        out.copy_from_slice(self.offset.as_slice());
        if d == 0 {
            return;
        }
        // Column by column (the matrix is stored so): every feature still sums its terms in
        // frame order from its offset, with unit-stride loads that vectorise across features.
        for (column, &v) in self
            .matrix
            .as_slice()
            .chunks_exact(d)
            .zip(&x[..self.window])
        {
            for (o, a) in out.iter_mut().zip(column) {
                *o += a * v;
            }
        }
    }

    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.dim()];
        self.apply_into(x, &mut out);
        out
    }
}

/// The smoothing was built for this window and the recipe's knots and penalty.
fn check_smoothing(smoothing: &Smoothing, window: usize, recipe: &Recipe) -> Result<()> {
    if window != smoothing.window || !smoothing.matches(recipe) {
        return Err(Error::InvalidArgument(format!(
            "smoothing built for {} frames, knot ratio {}, penalty {}; asked for {window}, {}, {}",
            smoothing.window,
            smoothing.knot_ratio,
            smoothing.penalty,
            recipe.knot_ratio,
            recipe.penalty
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn windows(n: usize, window: usize) -> DMatrix<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        DMatrix::from_fn(n, window, |i, k| {
            (i as f64 * 0.3).sin() * (k as f64 / 9.0).cos() + rng.gen_range(-0.2..0.2)
        })
    }

    fn recipe() -> Recipe {
        Recipe {
            components: ComponentRule::Count(3),
            summaries: true,
            standardize: true,
            ..Recipe::paper()
        }
    }

    #[test]
    fn a_shared_smoothing_gives_the_same_map() {
        let x = windows(25, 40);
        let smoothing = Smoothing::new(40, &recipe()).unwrap();
        let own = FeatureMap::fit(&x, &recipe()).unwrap();
        let shared = FeatureMap::fit_smoothed(&smoothing, &x, &recipe()).unwrap();
        assert_eq!(own, shared);
    }

    #[test]
    fn one_decomposition_serves_every_component_count() {
        let x = windows(25, 40);
        let smoothing = Smoothing::new(40, &recipe()).unwrap();
        let recipes: Vec<Recipe> = [1, 2, 3, 5]
            .iter()
            .map(|&m| Recipe {
                components: ComponentRule::Count(m),
                ..recipe()
            })
            .collect();
        let coefs = smoothing.coefficients(&x);
        let shared = FeatureMap::fit_each(&smoothing, &x, &coefs, &recipes).unwrap();
        for (r, map) in recipes.iter().zip(&shared) {
            assert_eq!(&FeatureMap::fit(&x, r).unwrap(), map);
        }
        assert!(FeatureMap::fit_each(&smoothing, &x, &coefs.rows(0, 24).into(), &recipes).is_err());
    }

    #[test]
    fn a_smoothing_built_for_another_recipe_or_window_is_refused() {
        let x = windows(25, 40);
        let smoothing = Smoothing::new(40, &recipe()).unwrap();
        let other_penalty = Recipe {
            penalty: 1e-3,
            ..recipe()
        };
        let e = FeatureMap::fit_smoothed(&smoothing, &x, &other_penalty).unwrap_err();
        assert!(e.to_string().contains("penalty"), "{e}");
        let shorter = windows(25, 30);
        assert!(FeatureMap::fit_smoothed(&smoothing, &shorter, &recipe()).is_err());
    }
}
