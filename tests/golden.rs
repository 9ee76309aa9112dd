//! basis + FPCA against scikit-fda on a fixed dataset (tests/golden/reference.json, made by
//! tests/golden/make_reference.py; CI re-runs that script through check_reference.sh).

use nalgebra::{DMatrix, DVector};
use serde_json::Value;
use simforecast_runtime::basis::{window_grid, BSplineBasis};
use simforecast_runtime::fpca::{ComponentRule, Fpca};

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/reference.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn matrix(v: &Value) -> DMatrix<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    DMatrix::from_fn(rows.len(), rows[0].len(), |r, c| rows[r][c])
}

fn vector(v: &Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap()
}

/// Max absolute difference relative to the reference's largest magnitude.
fn rel_err(got: &DMatrix<f64>, want: &DMatrix<f64>) -> f64 {
    assert_eq!(got.shape(), want.shape());
    (got - want).abs().max() / want.abs().max()
}

#[test]
fn basis_gram_and_smoothing_match_scikit_fda() {
    let r = reference();
    let inp = &r["inputs"];
    let n_knots = inp["n_knots"].as_u64().unwrap() as usize;
    let basis = BSplineBasis::uniform(n_knots).unwrap();
    assert_eq!(basis.n_basis() as u64, inp["n_basis"].as_u64().unwrap());
    let pts = vector(&inp["eval_points"]);
    let values = DMatrix::from_fn(pts.len(), basis.n_basis(), |i, j| basis.eval(pts[i], 0)[j]);
    assert!(rel_err(&values, &matrix(&r["basis"]["basis_values"])) < 1e-6);
    assert!(rel_err(&basis.gram(), &matrix(&r["basis"]["gram"])) < 1e-6);

    let samples = matrix(&inp["samples"]);
    let n = samples.ncols();
    let t = vector(&inp["t"]);
    assert!(t
        .iter()
        .zip(window_grid(n))
        .all(|(a, b)| (a - b).abs() < 1e-15));
    let s = basis.smoother(n, 0.0).unwrap();
    let coefs = (&s * samples.transpose()).transpose();
    assert!(rel_err(&coefs, &matrix(&r["smoothing"]["coefficients"])) < 1e-6);
}

#[test]
fn fpca_matches_scikit_fda() {
    let r = reference();
    let inp = &r["inputs"];
    let m = inp["n_components"].as_u64().unwrap() as usize;
    let basis = BSplineBasis::uniform(inp["n_knots"].as_u64().unwrap() as usize).unwrap();
    let samples = matrix(&inp["samples"]);
    let s = basis.smoother(samples.ncols(), 0.0).unwrap();
    let coefs = (&s * samples.transpose()).transpose();
    let fpca = Fpca::fit(&coefs, &basis.gram(), ComponentRule::Count(m)).unwrap();
    let f = &r["fpca"];

    let nu = vector(&f["nu"]);
    for (got, want) in fpca.eigenvalues.iter().zip(&nu) {
        assert!(
            (got - want).abs() <= 1e-6 * want.abs(),
            "eigenvalue {got} vs {want}"
        );
    }
    let ratio = vector(&f["explained_variance_ratio"]);
    for (got, want) in fpca.explained_ratio().iter().zip(&ratio) {
        assert!((got - want).abs() <= 1e-6 * want.abs().max(1e-12));
    }
    let mean = DVector::from_vec(vector(&f["mean_coefficients"]));
    assert!((&fpca.mean - &mean).abs().max() <= 1e-6 * mean.abs().max());

    // One sign per component, shared by eigenfunction and scores.
    let comps = matrix(&f["components_b"]).transpose(); // p x M
    let new = matrix(&inp["new_samples"]);
    let new_coefs = (&s * new.transpose()).transpose();
    let train_scores = matrix(&f["scores_train"]);
    let new_scores = matrix(&f["scores_new"]);
    for c in 0..m {
        let ours = fpca.components.column(c);
        let theirs = comps.column(c);
        let sign = if ours.dot(&theirs) >= 0.0 { 1.0 } else { -1.0 };
        assert!((ours * sign - theirs).abs().max() <= 1e-6 * theirs.abs().max());
        for (coef_rows, want) in [(&coefs, &train_scores), (&new_coefs, &new_scores)] {
            for j in 0..coef_rows.nrows() {
                let got = fpca.scores(&coef_rows.row(j).transpose())[c] * sign;
                let w = want[(j, c)];
                assert!(
                    (got - w).abs() <= 1e-6 * want.column(c).abs().max(),
                    "score ({j},{c}): {got} vs {w}"
                );
            }
        }
    }
}
