//! SVG figures of the protocol: metrics against the window (paper Fig. 5), predicted against
//! simulated μ∓σ (paper Fig. 6), and the honest curve (compute saved and coverage against the
//! tolerance).

use std::path::Path;

use plotters::prelude::*;

use crate::protocol::{ConfigSummary, MeanStd};
use crate::savings::SavingsSummary;
use simforecast_runtime::error::{Error, Result};

fn plot_err<E: std::fmt::Display>(e: E) -> Error {
    Error::InvalidArgument(format!("plot failed: {e}"))
}

/// Metrics (mean over repeats) as a function of the window length.
pub fn window_sweep(path: &Path, title: &str, sweep: &[(usize, ConfigSummary)]) -> Result<()> {
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let x_max = sweep.iter().map(|s| s.0).max().unwrap_or(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..x_max * 1.05, -0.2f64..1.05)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("window (frames)")
        .y_desc("held-out metric (mean over repeats)")
        .draw()
        .map_err(plot_err)?;
    type Metric = fn(&ConfigSummary) -> Option<MeanStd>;
    let series: [(&str, RGBColor, Metric); 5] = [
        ("F1 (screening)", BLUE, |s| s.f1),
        ("precision of halting", GREEN, |s| s.precision),
        ("recall", CYAN, |s| s.recall),
        ("R² μ−σ", RED, |s| s.r2_lower),
        ("R² μ+σ", MAGENTA, |s| s.r2_upper),
    ];
    for (name, color, f) in series {
        // Windows where the figure is undefined in every repeat have no point.
        let pts: Vec<(f64, f64)> = sweep
            .iter()
            .filter_map(|(w, s)| f(s).map(|m| (*w as f64, m.mean.max(-0.2))))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(plot_err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
            .map_err(plot_err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)
}

/// Predicted against simulated μ−σ and μ+σ on one test split.
pub fn regression(path: &Path, title: &str, points: &[[f64; 4]]) -> Result<()> {
    let root = SVGBackend::new(path, (1000, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let panels = root.split_evenly((1, 2));
    for (panel, (label, xi, yi)) in panels
        .iter()
        .zip([("μ − σ", 0usize, 1usize), ("μ + σ", 2, 3)])
    {
        let vals: Vec<f64> = points.iter().flat_map(|p| [p[xi], p[yi]]).collect();
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
        let hi = vals
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
            .max(lo + 1.0);
        let pad = 0.05 * (hi - lo);
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{title}: {label}"), ("sans-serif", 18))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(lo - pad..hi + pad, lo - pad..hi + pad)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("simulated")
            .y_desc("forecast")
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(vec![(lo, lo), (hi, hi)], BLACK.mix(0.5)))
            .map_err(plot_err)?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p[xi], p[yi]), 3, BLUE.mix(0.6).filled())),
            )
            .map_err(plot_err)?;
    }
    root.present().map_err(plot_err)
}

/// Colours of the curves, one per configuration (cycled).
const PALETTE: [RGBColor; 6] = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];

/// Compute saved (left) and coverage of the banked forecasts (right, with the nominal `level`)
/// against the tolerance, one curve per configuration.
pub fn honest_curve(
    path: &Path,
    title: &str,
    curves: &[(&str, &[SavingsSummary])],
    level: f64,
) -> Result<()> {
    let root = SVGBackend::new(path, (1100, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let root = root.titled(title, ("sans-serif", 20)).map_err(plot_err)?;
    let panels = root.split_evenly((1, 2));
    let t_max = curves
        .iter()
        .flat_map(|c| c.1.iter().map(|s| s.tolerance))
        .fold(0.0, f64::max)
        .max(0.1);
    let ratio_max = curves
        .iter()
        .flat_map(|c| c.1.iter().map(|s| s.saved_ratio.mean))
        .fold(1.0, f64::max);
    type Figure = fn(&SavingsSummary) -> Option<f64>;
    let sides: [(&str, f64, f64, Figure); 2] = [
        (
            "compute saved (full frames / frames simulated)",
            1.0,
            ratio_max * 1.05,
            |s| Some(s.saved_ratio.mean),
        ),
        ("coverage of the banked forecasts", 0.0, 1.02, |s| {
            s.coverage
        }),
    ];
    for (panel, (label, y_lo, y_hi, f)) in panels.iter().zip(sides) {
        let mut chart = ChartBuilder::on(panel)
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..t_max * 1.02, y_lo..y_hi)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("tolerance t (relative half-width of the interval)")
            .y_desc(label)
            .draw()
            .map_err(plot_err)?;
        if y_lo == 0.0 {
            chart
                .draw_series(LineSeries::new(
                    vec![(0.0, level), (t_max, level)],
                    BLACK.mix(0.4),
                ))
                .map_err(plot_err)?
                .label(format!("nominal {:.0} %", level * 100.0))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.4)));
        }
        for (i, (name, curve)) in curves.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            // Tolerances where nothing was banked have no coverage, hence no point.
            let pts: Vec<(f64, f64)> = curve
                .iter()
                .filter_map(|s| f(s).map(|y| (s.tolerance, y)))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                .map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(plot_err)?;
    }
    root.present().map_err(plot_err)
}
