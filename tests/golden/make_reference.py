#!/usr/bin/env python3
"""Golden reference values for simforecast's `basis` and `fpca` modules, from scikit-fda.

Usage:  python tests/golden/make_reference.py [--out tests/golden/reference.json]

Everything is computed on a small deterministic data set generated here (no input file), and
written to JSON with full float precision (Python's json writes floats with repr, which
round-trips exactly), inputs included, so the Rust test needs nothing else.

The script also recomputes our own convention directly with numpy/scipy and exits non-zero
(AssertionError) if scikit-fda disagrees with it after the conversions stated below.

Conventions (found by reading skfda 0.10.1 `preprocessing/dim_reduction/_fpca.py`,
`representation/basis/_bspline_basis.py`, `preprocessing/smoothing/_basis.py` and
sklearn 1.6.1 `decomposition/_pca.py`; each one is asserted numerically below)
---------------------------------------------------------------------------------------------
Ours (method.md): C = centred coefficient matrix (N x p), W = Gram matrix,
    (1/N) W^{1/2} C^T C W^{1/2} a = nu a,  b = W^{-1/2} a,  rho = (c - cbar)^T W b,
    with W^{1/2} the symmetric square root.

* Basis.  BSplineBasis(domain_range=(0,1), knots=linspace(0,1,n_knots)), order 4: the knots
  are the distinct breakpoints, skfda repeats each end knot 3 more times (clamped spline),
  n_basis = n_knots + 2. Values come from scipy's BSpline on that knot vector.
* Gram.  basis.gram_matrix() is exact (piecewise-polynomial products integrated with
  polyint), not a quadrature; checked here against 5-point Gauss-Legendre per knot interval.
* Smoothing.  FDataGrid.to_basis(basis) = BasisSmoother(method='svd'), no weights, no
  penalty: plain least squares  c = argmin ||Phi c - y||^2  (Phi = basis values at t_k).
* FPCA on FDataBasis, default arguments: regularization=None -> no penalty is added to W.
  It factors W = L L^T (Cholesky, L lower), forms Y = C L (C centred with the coefficient
  mean), and runs sklearn PCA on Y. PCA uses the 'full' SVD solver here (max(Y.shape) <=
  500), i.e. eigenvalues of Y^T Y / (N-1).  Since L = W^{1/2} Q with Q orthogonal,
  L^T C^T C L = Q^T (W^{1/2} C^T C W^{1/2}) Q: the same eigenvalues as ours, and skfda's
  component coefficients L^{-T} v equal our b = W^{-1/2} a (a = Q v) up to sign. Hence
      nu_ours = explained_variance_skfda * (N - 1) / N          (N = number of fit curves)
      b_ours  = +/- components_.coefficients.T  (columns; unit L2 norm: b^T W b = 1)
      rho_ours = +/- transform(X)   (transform = (c - cbar) W b, NOT divided by N or sqrt(nu))
  with one sign per component. skfda's sign comes from sklearn's svd_flip(u_based_decision=
  False) applied in the Cholesky coordinates (largest |entry| of each v is positive), so it
  is not a rule that can be stated in our coordinates: compare up to a per-component sign.
* explained_variance_ratio_ = nu_m / (sum of ALL eigenvalues), i.e. over the full spectrum
  (trace of the covariance), not over the first m kept: the ratio is the same in both
  normalisations. The 99 % rule uses the cumulative sum of this ratio.
* transform(new curves) centres with the TRAINING mean coefficients.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import scipy
import scipy.linalg
import sklearn
import skfda
from skfda import FDataGrid
from skfda.preprocessing.dim_reduction import FPCA
from skfda.representation.basis import BSplineBasis

N_CURVES = 12
N_SAMPLES = 40
N_NEW = 2
N_KNOTS = 24  # 60 % of 40
ORDER = 4
N_COMPONENTS = 5
SEED = 7
EVAL_POINTS = [0.0, 0.013, 0.1, 0.25, 0.5, 0.61, 0.77, 0.9, 0.999, 1.0]

# Tolerance for "skfda agrees with our direct computation" (relative to the array's scale).
VERIFY_TOL = 1e-8


def make_curves(rng: np.random.RandomState, count: int, t: np.ndarray) -> np.ndarray:
    """Smooth sinusoid + trend + saturating start-up + noise, with random parameters."""
    out = np.empty((count, t.size))
    for i in range(count):
        amp = rng.uniform(0.5, 2.0)
        freq = rng.uniform(0.5, 3.0)
        phase = rng.uniform(0.0, 2.0 * np.pi)
        slope = rng.uniform(-1.0, 1.0)
        level = rng.uniform(2.0, 6.0)
        rise = rng.uniform(3.0, 12.0)
        noise = rng.normal(0.0, 0.15, size=t.size)
        out[i] = (
            level * (1.0 - np.exp(-rise * t))
            + amp * np.sin(2.0 * np.pi * freq * t + phase)
            + slope * t
            + noise
        )
    return out


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    scale = max(np.max(np.abs(b)), 1e-300)
    return float(np.max(np.abs(a - b)) / scale)


def check(name: str, a: np.ndarray, b: np.ndarray, tol: float = VERIFY_TOL) -> float:
    err = rel_err(a, b)
    if not err <= tol:  # also catches NaN
        raise AssertionError(f"{name}: relative error {err:.3e} > {tol:.1e}")
    print(f"  ok  {name:<48s} rel err {err:.2e}", file=sys.stderr)
    return err


def align_signs(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Flip each column of x to best match the same column of ref."""
    signs = np.sign(np.sum(x * ref, axis=0))
    signs[signs == 0] = 1.0
    return x * signs


def gram_by_quadrature(basis: BSplineBasis) -> np.ndarray:
    """Independent Gram matrix: Gauss-Legendre (5 nodes, exact to degree 9) per knot interval."""
    knots = np.asarray(basis.knots)
    nodes, weights = np.polynomial.legendre.leggauss(5)
    p = basis.n_basis
    gram = np.zeros((p, p))
    for lo, hi in zip(knots[:-1], knots[1:]):
        x = 0.5 * (hi - lo) * nodes + 0.5 * (hi + lo)
        w = 0.5 * (hi - lo) * weights
        phi = basis(x)[:, :, 0]  # (p, nodes)
        gram += (phi * w) @ phi.T
    return gram


def our_fpca(coefs: np.ndarray, gram: np.ndarray):
    """method.md, literally: symmetric square root of W, eigenproblem divided by N."""
    n = coefs.shape[0]
    mean = coefs.mean(axis=0)
    centred = coefs - mean
    evals_w, evecs_w = np.linalg.eigh(gram)
    if evals_w.min() <= 0:
        raise AssertionError("Gram matrix is not positive definite")
    w_half = (evecs_w * np.sqrt(evals_w)) @ evecs_w.T
    w_half_inv = (evecs_w / np.sqrt(evals_w)) @ evecs_w.T
    m = w_half @ centred.T @ centred @ w_half / n
    nu, a = np.linalg.eigh(m)
    order = np.argsort(nu)[::-1]
    nu, a = nu[order], a[:, order]
    b = w_half_inv @ a
    return mean, nu, b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "reference.json",
    )
    args = ap.parse_args()

    t = np.arange(N_SAMPLES) / (N_SAMPLES - 1)
    rng = np.random.RandomState(SEED)
    samples = make_curves(rng, N_CURVES, t)
    new_samples = make_curves(rng, N_NEW, t)

    knots = np.linspace(0.0, 1.0, N_KNOTS)
    basis = BSplineBasis(domain_range=(0.0, 1.0), knots=knots, order=ORDER)
    n_basis = basis.n_basis
    assert n_basis == N_KNOTS + ORDER - 2 == N_KNOTS + 2

    print("checking scikit-fda against direct numpy/scipy computations:", file=sys.stderr)

    # --- basis values and Gram matrix ---
    eval_points = np.asarray(EVAL_POINTS)
    basis_values = basis(eval_points)[:, :, 0].T  # (points, n_basis)
    check("basis values sum to 1 (partition of unity)", basis_values.sum(axis=1), np.ones(len(eval_points)))
    gram = basis.gram_matrix()
    check("Gram matrix vs Gauss-Legendre quadrature", gram, gram_by_quadrature(basis))
    check("Gram matrix symmetric", gram, gram.T, tol=0.0)

    # --- least-squares coefficients ---
    fd = FDataGrid(samples, grid_points=t, domain_range=(0.0, 1.0))
    fd_new = FDataGrid(new_samples, grid_points=t, domain_range=(0.0, 1.0))
    fdb = fd.to_basis(basis)
    fdb_new = fd_new.to_basis(basis)
    coefs = fdb.coefficients
    coefs_new = fdb_new.coefficients
    design = basis(t)[:, :, 0].T  # (samples, n_basis)
    lstsq_coefs = np.linalg.lstsq(design, samples.T, rcond=None)[0].T
    lstsq_new = np.linalg.lstsq(design, new_samples.T, rcond=None)[0].T
    check("to_basis == plain least squares (train)", coefs, lstsq_coefs)
    check("to_basis == plain least squares (new)", coefs_new, lstsq_new)

    # --- FPCA ---
    fpca = FPCA(n_components=N_COMPONENTS)
    fpca.fit(fdb)
    ev_skfda = np.asarray(fpca.explained_variance_)
    ratio_skfda = np.asarray(fpca.explained_variance_ratio_)
    scores_train = fpca.transform(fdb)
    scores_new = fpca.transform(fdb_new)
    comps_skfda = fpca.components_.coefficients.T  # (n_basis, m)

    nu_factor = (N_CURVES - 1) / N_CURVES
    mean_ours, nu_all, b_all = our_fpca(coefs, gram)
    nu_ours = nu_all[:N_COMPONENTS]
    b_ours = b_all[:, :N_COMPONENTS]
    scores_ours = (coefs - mean_ours) @ gram @ b_ours
    scores_new_ours = (coefs_new - mean_ours) @ gram @ b_ours
    ratio_ours = nu_ours / np.sum(np.clip(nu_all, 0.0, None))

    # Eigenvalues must be distinct for per-component sign comparison to be meaningful.
    gaps = -np.diff(nu_all[: N_COMPONENTS + 1]) / nu_all[0]
    if gaps.min() < 1e-3:
        raise AssertionError(f"eigenvalues too close for a sign-only comparison: {gaps}")

    check("mean coefficients", fpca.mean_.coefficients[0], mean_ours)
    check("nu_ours == explained_variance_ * (N-1)/N", ev_skfda * nu_factor, nu_ours)
    check("explained_variance_ratio_ == nu / sum(all nu)", ratio_skfda, ratio_ours)
    check("components (b) equal up to sign", align_signs(comps_skfda, b_ours), b_ours)
    check("components have unit L2 norm (b^T W b = 1)", np.diag(comps_skfda.T @ gram @ comps_skfda), np.ones(N_COMPONENTS))
    check("train scores equal up to sign", align_signs(scores_train, scores_ours), scores_ours)
    # The sign found on the components must be the one that aligns the scores.
    signs = np.sign(np.sum(comps_skfda * b_ours, axis=0))
    check("new-curve scores equal up to the same sign", scores_new * signs, scores_new_ours)
    check("score variance (ddof=0) == nu", np.var(scores_ours, axis=0), nu_ours)

    ref = {
        "description": (
            "Golden values from scikit-fda for simforecast basis + FPCA, made by "
            "tests/golden/make_reference.py. Matrices are row-major lists of rows."
        ),
        "versions": {
            "python": ".".join(map(str, sys.version_info[:3])),
            "scikit-fda": skfda.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "notes": [
            "Grid: t_k = k/(n-1), k = 0..n-1, on domain [0, 1].",
            "Basis: cubic B-splines (order 4) on the n_knots distinct uniform knots linspace(0,1,n_knots) "
            "including both ends; the end knots are repeated 3 more times (clamped); "
            "n_basis = n_knots + 2. basis_values[i][j] = phi_j(eval_points[i]).",
            "Gram: gram[i][j] = integral over [0,1] of phi_i phi_j, exact (piecewise polynomials).",
            "Coefficients: plain least squares of each curve on the basis values at t (no penalty, no weights).",
            "FPCA: skfda factors W = L L^T (Cholesky) and runs sklearn PCA on C_centred L; this has the same "
            "eigenvalues as our symmetric-square-root problem, and the same eigenfunctions up to sign. "
            "No regularisation (regularization=None).",
            "Eigenvalues: sklearn divides by N-1; ours by N. nu_ours = explained_variance * "
            "nu_over_explained_variance, with nu_over_explained_variance = (N-1)/N. fpca.nu is already converted.",
            "explained_variance_ratio = nu_m / sum over ALL eigenvalues (full spectrum), independent of the "
            "normalisation.",
            "Scores: rho = (c - cbar)^T W b, cbar = mean of the TRAINING coefficients, b with b^T W b = 1; not "
            "scaled. Component signs are arbitrary: compare components and scores up to one sign per "
            "component (the same sign for b, train scores and new scores).",
            "components_b[m][i] = b_{i,m}: coefficient i of eigenfunction m (one row per component). scores_*[j][m] = rho_{j,m}.",
            "Suggested tolerance for the Rust test: 1e-6 relative (to each array's max |value|).",
        ],
        "inputs": {
            "seed": SEED,
            "n_curves": N_CURVES,
            "n_samples": N_SAMPLES,
            "n_knots": N_KNOTS,
            "order": ORDER,
            "n_basis": n_basis,
            "n_components": N_COMPONENTS,
            "domain": [0.0, 1.0],
            "t": t.tolist(),
            "knots": knots.tolist(),
            "samples": samples.tolist(),
            "new_samples": new_samples.tolist(),
            "eval_points": eval_points.tolist(),
        },
        "basis": {
            "basis_values": basis_values.tolist(),
            "gram": gram.tolist(),
        },
        "smoothing": {
            "coefficients": coefs.tolist(),
            "new_coefficients": coefs_new.tolist(),
        },
        "fpca": {
            "nu_over_explained_variance": nu_factor,
            "explained_variance_skfda": ev_skfda.tolist(),
            "nu": (ev_skfda * nu_factor).tolist(),
            "nu_all_ours": np.clip(nu_all, 0.0, None).tolist(),
            "explained_variance_ratio": ratio_skfda.tolist(),
            "mean_coefficients": fpca.mean_.coefficients[0].tolist(),
            "components_b": comps_skfda.T.tolist(),
            "scores_train": scores_train.tolist(),
            "scores_new": scores_new.tolist(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(ref, fh, indent=1)
        fh.write("\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
