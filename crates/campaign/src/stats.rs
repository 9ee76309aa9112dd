//! Exact (Clopper–Pearson) confidence bounds for a share k/n: what the audit can claim about
//! halting precision and forecast coverage from a few labelled decisions.

use serde::{Deserialize, Serialize};

/// A share with its two-sided 95 % Clopper–Pearson interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Share {
    pub k: usize,
    pub n: usize,
    /// k / n (None when n = 0).
    pub rate: Option<f64>,
    pub low: f64,
    pub high: f64,
}

impl Share {
    pub fn new(k: usize, n: usize) -> Self {
        let (low, high) = clopper_pearson(k, n, 0.05);
        Self {
            k,
            n,
            rate: (n > 0).then(|| k as f64 / n as f64),
            low,
            high,
        }
    }
}

impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rate {
            None => write!(f, "- (none audited yet)"),
            Some(r) => write!(
                f,
                "{r:.3} ({}/{}, 95% CI {:.3}..{:.3})",
                self.k, self.n, self.low, self.high
            ),
        }
    }
}

/// The two-sided (1 − alpha) Clopper–Pearson interval of k successes in n trials; (0, 1) for
/// n = 0.
pub fn clopper_pearson(k: usize, n: usize, alpha: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let k = k.min(n);
    let ln_fact: Vec<f64> = std::iter::once(0.0)
        .chain((1..=n).scan(0.0, |acc, i| {
            *acc += (i as f64).ln();
            Some(*acc)
        }))
        .collect();
    // P(X <= k) for X ~ Binomial(n, p).
    let cdf = |k: usize, p: f64| -> f64 {
        if p <= 0.0 {
            return 1.0;
        }
        if p >= 1.0 {
            return if k >= n { 1.0 } else { 0.0 };
        }
        (0..=k)
            .map(|i| {
                (ln_fact[n] - ln_fact[i] - ln_fact[n - i]
                    + i as f64 * p.ln()
                    + (n - i) as f64 * (1.0 - p).ln())
                .exp()
            })
            .sum::<f64>()
            .min(1.0)
    };
    // The p where a function decreasing in p crosses `target`, by bisection.
    let solve = |f: &dyn Fn(f64) -> f64, target: f64| {
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if f(mid) > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    };
    let half = alpha / 2.0;
    let high = if k == n {
        1.0
    } else {
        solve(&|p| cdf(k, p), half)
    };
    // P(X >= k) = 1 − P(X <= k − 1) increases in p: solve P(X <= k − 1) = 1 − alpha/2.
    let low = if k == 0 {
        0.0
    } else {
        solve(&|p| cdf(k - 1, p), 1.0 - half)
    };
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_intervals() {
        // Reference values (R: binom.test(x, n)$conf.int).
        let (l, h) = clopper_pearson(9, 10, 0.05);
        assert!(
            (l - 0.5549839).abs() < 1e-6 && (h - 0.9974714).abs() < 1e-6,
            "{l} {h}"
        );
        let (l, h) = clopper_pearson(0, 10, 0.05);
        assert!(l == 0.0 && (h - 0.3084971).abs() < 1e-6, "{h}");
        let (l, h) = clopper_pearson(50, 100, 0.05);
        assert!(
            (l - 0.3983211).abs() < 1e-6 && (h - 0.6016789).abs() < 1e-6,
            "{l} {h}"
        );
        assert_eq!(clopper_pearson(0, 0, 0.05), (0.0, 1.0));
    }
}
