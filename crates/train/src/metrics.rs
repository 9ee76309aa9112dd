//! Scores of predictions against truth: precision/recall/F1, average precision, R².

/// Precision, recall, F1 of halting `predicted` against `actual`.
pub fn prf(predicted: &[bool], actual: &[bool]) -> (f64, f64, f64) {
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
    let precision = if tp + fp > 0.0 {
        tp / (tp + fp)
    } else {
        f64::NAN
    };
    let recall = if tp + fneg > 0.0 {
        tp / (tp + fneg)
    } else {
        f64::NAN
    };
    let f1 = if tp > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
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

/// R² of predictions.
pub fn r2(y: &[f64], pred: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let ss_res: f64 = y.iter().zip(pred).map(|(a, b)| (a - b).powi(2)).sum();
    if ss_tot == 0.0 {
        return f64::NAN;
    }
    1.0 - ss_res / ss_tot
}
