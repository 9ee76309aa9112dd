//! The replay against run index, as an SVG: cumulative compute saved, the share of halts that
//! were wrong, halting precision and forecast coverage as audited and as true.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{CampaignError, Result};
use crate::replay::{Replay, Row};

fn plot_err<E: std::fmt::Display>(e: E) -> CampaignError {
    CampaignError::Invalid(format!("plot failed: {e}"))
}

pub fn replay_plot(path: &Path, title: &str, r: &Replay) -> Result<()> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let n = r.rows.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..n, 0.0f64..1.05)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("runs recorded (campaign order)")
        .y_desc("share (cumulative)")
        .draw()
        .map_err(plot_err)?;
    type Figure = fn(&Row) -> Option<f64>;
    let series: [(&str, RGBColor, Figure); 6] = [
        ("compute saved", BLUE, |x| Some(x.saved_share)),
        ("wrong halts / halts", RED, |x| {
            (x.halts > 0).then(|| x.wrong_halts as f64 / x.halts as f64)
        }),
        ("halting precision (true)", GREEN, |x| x.true_precision.rate),
        ("halting precision (audited)", CYAN, |x| {
            x.audited_precision.rate
        }),
        ("forecast coverage (true)", MAGENTA, |x| {
            x.true_coverage.rate
        }),
        ("forecast coverage (audited)", BLACK, |x| {
            x.audited_coverage.rate
        }),
    ];
    for (name, color, f) in series {
        let pts: Vec<(f64, f64)> = r
            .rows
            .iter()
            .filter_map(|x| f(x).map(|y| (x.index as f64, y)))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(plot_err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    // Model publications as ticks at the bottom.
    chart
        .draw_series(
            r.rows
                .iter()
                .filter(|x| x.published.is_some())
                .map(|x| Circle::new((x.index as f64, 0.01), 3, BLACK.filled())),
        )
        .map_err(plot_err)?
        .label("model published")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, BLACK.filled()));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::MiddleRight)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)
}
