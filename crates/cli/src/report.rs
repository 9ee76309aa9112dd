//! How figures look on the terminal: numbers, tables, JSON and the progress bar. An absent or
//! undefined figure prints as "none", never as NaN or a sentinel such as 1.79e308.

use std::io::Write;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use simforecast_runtime::knn::Weighting;
use simforecast_train::baseline::{FiguresSummary, WindowSummary};
use simforecast_train::protocol::{ConfigSummary, MeanStd};
use simforecast_train::savings::SavingsSummary;
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
        let n = r.neighbours.as_ref();
        println!(
            "{:>9} {:>6} {:>4} {:>3} {:>9} {:>5} {:>6} {:>6} {:>6} {:>6} {:>9}",
            r.role.to_string(),
            r.window,
            n.map_or("-".into(), |n| n.k.to_string()),
            n.map_or("-".into(), |n| n.power.to_string()),
            match n.map(|n| n.weighting) {
                Some(Weighting::Uniform) => "uniform",
                Some(Weighting::Distance) => "distance",
                None => "ridge",
            },
            n.map_or(simforecast_runtime::stage::regression::N_FEATURES, |n| n
                .features),
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
        "{:<12} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>11} {:>9}",
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
        "paper-saved",
        "bad halts"
    );
    for s in rows {
        println!(
            "{:<12} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>11} {:>9}",
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
        "(R2, coverage and width of the interval for mu: relevant runs the tool forecast; R2all: the forecasting stage at the deadline, else the last, on every relevant run, the paper's metric; frames and paper-saved: the paper's accounting, every forecast counted as final whatever its width)"
    );
}

/// A tolerance as a percentage: 0.25 → "25 %", 0.125 → "12.5 %".
pub fn percent(t: f64) -> String {
    let p = t * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0} %")
    } else {
        format!("{p:.1} %")
    }
}

/// How the honest figure is counted, on one line.
pub fn print_honest_rule(t: f64, level: Option<f64>) {
    println!(
        "compute saved at ±{} counts what a user who needs mu within ±{} can bank: a run stops at \
         its halt, or at its first forecast whose {}% interval is within ±{} of its middle, else \
         runs to its end",
        percent(t),
        percent(t),
        fixed(level, 0),
        percent(t)
    );
}

/// The banked forecasts of a summary: how many, their coverage, how many missed μ.
pub fn banked(s: &SavingsSummary) -> String {
    format!(
        "{}, coverage {} ({} intervals missed mu; {} estimates off mu by more than ±{})",
        s.banked_total,
        fixed(s.coverage, 3),
        s.intervals_missed,
        s.estimates_off,
        percent(s.tolerance)
    )
}

/// One row per configuration: the honest accounting at one tolerance over the splits.
/// `rows`: name, accounting, halting precision.
pub fn print_honest_table(rows: &[(&str, &SavingsSummary, Option<MeanStd>)]) {
    println!(
        "{:<12} {:>15} {:>15} {:>7} {:>7} {:>7} {:>10} {:>9} {:>9} {:>13}",
        "config",
        "saved",
        "frames saved",
        "halted",
        "banked",
        "to end",
        "too wide",
        "precision",
        "coverage",
        "missed/banked"
    );
    for (name, s, precision) in rows {
        println!(
            "{:<12} {:>15} {:>15} {:>7.1} {:>7.1} {:>7.1} {:>10.1} {:>9} {:>9} {:>13}",
            name,
            format!("{:.2}x ± {:.2}", s.saved_ratio.mean, s.saved_ratio.std),
            format!(
                "{:.1} ± {:.1} %",
                s.saved_share.mean * 100.0,
                s.saved_share.std * 100.0
            ),
            s.halted.mean,
            s.banked.mean,
            s.unstopped.mean,
            s.too_wide.mean,
            fixed(precision.map(|p| p.mean), 3),
            fixed(s.coverage, 3),
            format!("{}/{}", s.intervals_missed, s.banked_total)
        );
    }
    println!(
        "(mean ± std over splits; halted, banked, to end: runs per split, too wide: of those run to their end, the ones whose forecasts were all wider; coverage and missed/banked: every banked forecast of every split, doomed runs included)"
    );
}

/// The honest curve of each configuration: compute saved and coverage against the tolerance.
pub fn print_curve(curves: &[(&str, &[SavingsSummary])]) {
    print!("{:>6}", "t");
    for (name, _) in curves {
        print!(" {name:>16}");
    }
    println!();
    let n = curves.iter().map(|c| c.1.len()).min().unwrap_or(0);
    for i in 0..n {
        print!("{:>6.2}", curves[0].1[i].tolerance);
        for (_, c) in curves {
            let s = &c[i];
            print!(
                " {:>16}",
                format!("{:.2}x  {}", s.saved_ratio.mean, fixed(s.coverage, 2))
            );
        }
        println!();
    }
    println!(
        "(each cell: compute saved, mean over splits, and the coverage of every banked forecast)"
    );
}

/// R² lo/hi of a summary: "0.41/0.44".
fn r2_pair(r2: &[Option<MeanStd>; 2]) -> String {
    format!(
        "{}/{}",
        fixed(r2[0].map(|m| m.mean), 2),
        fixed(r2[1].map(|m| m.mean), 2)
    )
}

fn figures_cells(f: &FiguresSummary) -> String {
    format!(
        "{:>11} {:>6} {:>6} {:>6}",
        r2_pair(&f.r2),
        fixed(f.r2_mu.map(|m| m.mean), 2),
        fixed(f.coverage.map(|m| m.mean), 2),
        fixed(f.relative_width.map(|m| m.mean), 2)
    )
}

/// Each forecasting window of a configuration beside the persistence baseline, and in words
/// which forecasts μ∓σ better.
pub fn print_windows(name: &str, windows: &[WindowSummary]) {
    println!(
        "{:>6} {:>11} | {:>11} {:>6} {:>6} {:>6} | {:>11} {:>6} {:>6} {:>6}",
        "window",
        "R2 oof",
        "R2 held-out",
        "R2 mu",
        "cover",
        "width",
        "R2 held-out",
        "R2 mu",
        "cover",
        "width"
    );
    for w in windows {
        println!(
            "{:>6} {:>11} | {} | {}",
            w.window,
            r2_pair(&w.model_cv_r2),
            figures_cells(&w.model),
            figures_cells(&w.persistence)
        );
    }
    println!(
        "(left: {name}'s forecasting stage, out of fold on the training split and held out; right: the persistence baseline; R2 of mu-sigma/mu+sigma and of mu over the relevant held-out runs; cover and width (hi - lo) / mu_hat: the interval for mu)"
    );
    type Verdict = fn(&WindowSummary) -> Option<bool>;
    type Pair = fn(&FiguresSummary) -> String;
    let what: [(&str, Verdict, Pair); 2] = [
        (
            "mu-sigma/mu+sigma",
            |w| w.baseline_wins_mu_sigma,
            |f| r2_pair(&f.r2),
        ),
        (
            "mu",
            |w| w.baseline_wins_mu,
            |f| fixed(f.r2_mu.map(|m| m.mean), 2),
        ),
    ];
    for (target, verdict, r2) in what {
        let mut model_wins = Vec::new();
        for w in windows {
            match verdict(w) {
                Some(true) => println!(
                    "at {} frames the window mean forecasts {target} better than the model (R² {} vs {})",
                    w.window,
                    r2(&w.persistence),
                    r2(&w.model)
                ),
                Some(false) => model_wins.push(w.window.to_string()),
                None => println!(
                    "at {} frames the forecasts of {target} cannot be compared: an R² is undefined",
                    w.window
                ),
            }
        }
        if !model_wins.is_empty() {
            println!(
                "{name} forecasts {target} better than the window mean at {} frames",
                model_wins.join(", ")
            );
        }
    }
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
