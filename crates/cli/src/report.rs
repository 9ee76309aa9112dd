//! How figures look on the terminal: numbers, tables, JSON and the progress bar. An absent or
//! undefined figure prints as "none", never as NaN or a sentinel such as 1.79e308.

use std::io::Write;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use simforecast_runtime::knn::Weighting;
use simforecast_train::protocol::{ConfigSummary, MeanStd};
use simforecast_train::StageReport;

use crate::AnyResult;

/// What absent figures print as.
pub const NONE: &str = "none";

/// A figure, or `None` when it is undefined (NaN or infinite).
pub fn defined(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// `x` with `decimals` decimals, or "none".
pub fn fixed(x: Option<f64>, decimals: usize) -> String {
    x.and_then(defined)
        .map_or(NONE.into(), |x| format!("{x:.decimals$}"))
}

/// `x` with three decimals, or "none".
pub fn fmt3(x: f64) -> String {
    fixed(Some(x), 3)
}

/// `x` to about three significant figures, for quantities spanning decades (mu over a
/// campaign): 0.00123, 0.0412, 4.12, 96.2, 1234, 1.23e-5.
pub fn sig3(x: f64) -> String {
    let Some(x) = defined(x) else {
        return NONE.into();
    };
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{x:.2e}")
    } else {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{x:.decimals$}")
    }
}

/// Mean ± standard deviation over repeats, or "none" when no repeat defined it.
pub fn mean_std(m: &Option<MeanStd>) -> String {
    m.as_ref().map_or(NONE.into(), |m| {
        format!("{} ± {}", fmt3(m.mean), fmt3(m.std))
    })
}

/// Pretty JSON on standard output.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> AnyResult<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

pub fn progress(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>24} [{bar:30}] {pos}/{len} {elapsed_precise}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// The hyper-parameters and cross-validation figures of each stage, then its verdict.
pub fn print_stage_reports(reports: &[StageReport]) {
    println!(
        "{:>9} {:>6} {:>4} {:>3} {:>9} {:>5} {:>6} {:>6} {:>6} {:>6} {:>9}",
        "stage",
        "window",
        "k",
        "p",
        "weights",
        "feat",
        "F1maj",
        "prec",
        "recall",
        "cut",
        "R2 lo/hi"
    );
    for r in reports {
        let r2 = r.cv_r2.map_or("".into(), |v| {
            format!("{}/{}", fixed(v[0], 2), fixed(v[1], 2))
        });
        println!(
            "{:>9} {:>6} {:>4} {:>3} {:>9} {:>5} {:>6} {:>6} {:>6} {:>6} {:>9}",
            r.role.to_string(),
            r.window,
            r.k,
            r.power,
            match r.weighting {
                Weighting::Uniform => "uniform",
                Weighting::Distance => "distance",
            },
            r.n_features,
            fixed(r.cv_f1_majority, 3),
            fixed(r.cv_precision, 3),
            fixed(r.cv_recall, 3),
            fixed(r.cut, 3),
            r2
        );
    }
}

/// One row per configuration: held-out metrics, mean ± std over the repeats.
pub fn print_summary_table(rows: &[ConfigSummary]) {
    println!(
        "{:<12} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>8} {:>9}",
        "config",
        "precision",
        "recall",
        "F1",
        "R2 mu-sigma",
        "R2 mu+sigma",
        "R2all mu-sig",
        "R2all mu+sig",
        "coverage",
        "width",
        "frames",
        "saved",
        "bad halts"
    );
    for s in rows {
        println!(
            "{:<12} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>8} {:>9}",
            s.name,
            mean_std(&s.precision),
            mean_std(&s.recall),
            mean_std(&s.f1),
            mean_std(&s.r2_lower),
            mean_std(&s.r2_upper),
            mean_std(&s.r2_all_lower),
            mean_std(&s.r2_all_upper),
            mean_std(&s.coverage),
            mean_std(&s.interval_width),
            mean_std(&s.mean_frames_to_decision),
            s.compute_saved
                .as_ref()
                .map_or(NONE.into(), |m| format!("{:.1}x", m.mean)),
            fixed(s.false_halts.as_ref().map(|m| m.mean), 2)
        );
    }
    println!(
        "(R2, coverage and width of the interval for mu: runs the tool forecast; R2all: the forecasting stage at the deadline, else the last, on every relevant run, the paper's metric)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_figures_print_as_none() {
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(fmt3(x), "none", "{x}");
            assert_eq!(sig3(x), "none", "{x}");
        }
        assert_eq!(fixed(None, 2), "none");
        let never = MeanStd::of([None, Some(f64::NAN)]);
        assert_eq!(mean_std(&never), "none");
    }

    #[test]
    fn defined_figures_print_as_numbers() {
        assert_eq!(fmt3(0.5), "0.500");
        assert_eq!(fixed(Some(-1.25), 1), "-1.2");
        assert_eq!(
            mean_std(&MeanStd::of([Some(1.0), Some(3.0)])),
            "2.000 ± 1.000"
        );
    }

    #[test]
    fn three_significant_figures_across_decades() {
        let cases = [
            (96.94, "96.9"),
            (4.1234, "4.12"),
            (0.2214, "0.221"),
            (0.001234, "0.00123"),
            (1234.4, "1234"),
            (-33.1, "-33.1"),
            (0.0, "0"),
            (1.5e-5, "1.50e-5"),
            (2.5e6, "2.50e6"),
        ];
        for (x, want) in cases {
            assert_eq!(sig3(x), want, "{x}");
        }
    }
}
