//! Scores of predictions against truth: precision/recall/F1, average precision, R², and a
//! figure's mean ± std over repeated splits.

use serde::{Deserialize, Serialize};

/// Precision, recall, F1 of halting `predicted` against `actual`: precision is None when nothing
/// was predicted, recall None when nothing was actual; F1 is 0 without a true positive.
pub fn prf(predicted: &[bool], actual: &[bool]) -> (Option<f64>, Option<f64>, f64) {
    let tp = predicted
        .iter()
        .zip(actual)
        .filter(|(p, a)| **p && **a)
        .count() as f64;
    let fp = predicted
        .iter()
        .zip(actual)
        .filter(|(p, a)| **p && !**a)
        .count() as f64;
    let fneg = predicted
        .iter()
        .zip(actual)
        .filter(|(p, a)| !**p && **a)
        .count() as f64;
    let precision = (tp + fp > 0.0).then(|| tp / (tp + fp));
    let recall = (tp + fneg > 0.0).then(|| tp / (tp + fneg));
    let f1 = match (precision, recall) {
        (Some(p), Some(r)) if tp > 0.0 => 2.0 * p * r / (p + r),
        _ => 0.0,
    };
    (precision, recall, f1)
}

/// Average precision of scores against labels (area under the precision-recall steps).
pub fn average_precision(scored: &[(f64, bool)]) -> f64 {
    let positives = scored.iter().filter(|s| s.1).count();
    if positives == 0 {
        return 0.0;
    }
    let mut v = scored.to_vec();
    v.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp, mut ap, mut last_recall) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < v.len() {
        // Equal scores enter together (they cannot be separated by any cut).
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            if v[j].1 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            j += 1;
        }
        let recall = tp / positives as f64;
        ap += (recall - last_recall) * tp / (tp + fp);
        last_recall = recall;
        i = j;
    }
    ap
}

/// R² of predictions; None when the truth does not vary (nothing to explain).
pub fn r2(y: &[f64], pred: &[f64]) -> Option<f64> {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let ss_res: f64 = y.iter().zip(pred).map(|(a, b)| (a - b).powi(2)).sum();
    (ss_tot != 0.0).then(|| 1.0 - ss_res / ss_tot)
}

/// The mean of two figures, when both are defined.
pub fn mean2(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    a.zip(b).map(|(a, b)| (a + b) / 2.0)
}

/// Mean and standard deviation over the repeats where a figure is defined.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
    /// Repeats where the value was defined (at least one).
    pub n: usize,
}

impl MeanStd {
    /// None when no repeat defines the figure.
    pub fn of(values: impl IntoIterator<Item = Option<f64>>) -> Option<Self> {
        let v: Vec<f64> = values
            .into_iter()
            .flatten()
            .filter(|x| x.is_finite())
            .collect();
        if v.is_empty() {
            return None;
        }
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        Some(Self {
            mean,
            std,
            n: v.len(),
        })
    }

    /// A table cell: "mean ± std", or "n/a" when undefined in every repeat.
    pub fn cell(m: Option<Self>) -> String {
        m.map_or(format!("{:^14}", "n/a"), |m| m.to_string())
    }
}

impl std::fmt::Display for MeanStd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:6.3} ± {:5.3}", self.mean, self.std)
    }
}

#[cfg(test)]
mod tests {
    use super::{mean2, prf, r2};

    #[test]
    fn undefined_figures_are_none() {
        // Nothing halted: no precision; nothing irrelevant: no recall; F1 is 0 either way.
        assert_eq!(prf(&[false, false], &[true, false]), (None, Some(0.0), 0.0));
        assert_eq!(prf(&[true, false], &[false, false]), (Some(0.0), None, 0.0));
        let (p, r, f1) = prf(&[true, true, false], &[true, false, true]);
        assert_eq!((p, r), (Some(0.5), Some(0.5)));
        assert!((f1 - 0.5).abs() < 1e-12);
        // A truth without spread has no R².
        assert_eq!(r2(&[2.0, 2.0], &[1.0, 3.0]), None);
        assert_eq!(r2(&[1.0, 3.0], &[1.0, 3.0]), Some(1.0));
        assert_eq!(mean2(Some(0.2), None), None);
        assert_eq!(mean2(Some(0.2), Some(0.4)), Some(0.30000000000000004));
    }
}
