//! `simforecast convergence`: the model-free mode, judged on a campaign's finished runs. Every
//! trace is replayed through the convergence estimator, checked every `--every` frames, and
//! stopped at its first converged check; the stops are then compared with each run's μ (mean of
//! its last `--tail` frames) and accounted with `savings`. The command finds out which regime the
//! campaign is in — own statistics trustworthy or not — rather than assuming one.

use serde::Serialize;

use simforecast_runtime::convergence::{Convergence, ConvergenceParams, Estimate, ValidParams};
use simforecast_train::savings::{self, RunStop, Savings, Stop};
use simforecast_train::tail_stats;

use crate::args::ConvergenceArgs;
use crate::data;
use crate::report::{self, fixed};
use crate::AnyResult;

/// The minimum frames of the curve, as in the stopping notes.
const CURVE_MIN_FRAMES: [usize; 4] = [0, 300, 600, 900];

/// Fewest stops from which the campaign is judged at all.
const FEWEST_STOPS: usize = 10;

/// One run replayed: where it stopped (None: ran to its end) and on which estimate.
#[derive(Serialize)]
struct RunReport {
    name: String,
    frames: usize,
    mu: f64,
    stop_frame: Option<usize>,
    estimate: Option<Estimate>,
}

/// The campaign stopped with one minimum of frames.
#[derive(Serialize)]
struct Row {
    min_frames: usize,
    stopped: usize,
    savings: Savings,
}

/// Whether own statistics can be trusted on this campaign.
#[derive(Serialize, Clone, Copy, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Trust {
    /// The stops' estimates are within ±t of μ about as often as the interval's level says.
    Safe,
    /// They are not; `safe_from` is the smallest minimum of the curve at which they are.
    Unsafe { safe_from: Option<usize> },
    /// No run met the tolerance before its end.
    NoStops,
    /// Too few stops to judge.
    TooFewStops { stops: usize },
}

#[derive(Serialize)]
struct Report<'a> {
    runs: usize,
    tolerance: f64,
    drift_tolerance: f64,
    level: f64,
    every: usize,
    min_frames: usize,
    tail: usize,
    equilibration: &'a str,
    max_discard: f64,
    /// Median over runs of |mean of the tail's second half − first half| / |μ|.
    median_tail_drift: Option<f64>,
    /// At `min_frames`.
    headline: &'a Row,
    /// The least share of stops within ±t of μ that does not refute the interval's level.
    required_within: Option<f64>,
    trust: Trust,
    verdict: String,
    curve_min_frames: &'a [Row],
    /// The honest curve over tolerances of the stops at `min_frames`.
    curve_tolerance: Vec<Savings>,
    runs_at_min_frames: Vec<RunReport>,
}

struct Campaign {
    names: Vec<String>,
    series: Vec<Vec<f64>>,
    mu: Vec<f64>,
}

pub fn run(a: ConvergenceArgs) -> AnyResult<()> {
    if a.every == 0 {
        return Err("--every must be at least 1 frame".into());
    }
    if a.data.tail < 2 {
        return Err(format!("--tail must be at least 2 frames, got {}", a.data.tail).into());
    }
    let valid = |min_frames: usize| {
        ConvergenceParams {
            tolerance: a.tolerance,
            drift_tolerance: a.drift,
            level: a.level,
            min_frames: min_frames as u64,
            max_discard: a.max_discard,
            equilibration: a.equilibration.into(),
            ..Default::default()
        }
        .validate()
    };
    valid(a.min_frames)?;
    let set = data::load_unlabelled(&a.data.traces, &a.data.column, a.data.tail)?;
    let mut c = Campaign {
        names: Vec::new(),
        series: Vec::new(),
        mu: Vec::new(),
    };
    for t in set.traces {
        let (mu, _) = tail_stats(&t.values, a.data.tail).expect("traces have `tail` frames");
        c.names.push(t.name);
        c.series.push(t.values);
        c.mu.push(mu);
    }

    let mut mins: Vec<usize> = CURVE_MIN_FRAMES.to_vec();
    mins.push(a.min_frames);
    mins.sort_unstable();
    mins.dedup();
    let mut rows = Vec::new();
    let mut headline_runs = Vec::new();
    for &m in &mins {
        let (row, runs) = replay_campaign(&c, valid(m)?, a.every, a.tolerance)?;
        if m == a.min_frames {
            headline_runs = runs;
        }
        rows.push(row);
    }
    let headline = rows
        .iter()
        .find(|r| r.min_frames == a.min_frames)
        .expect("the user's minimum is in the curve");
    let stops: Vec<RunStop> = headline_runs.iter().map(run_stop).collect();
    let required = required_within(headline, a.level);
    let trust = judge(headline, &rows, a.level);
    let tail_drift = median_tail_drift(&c, a.data.tail);
    let verdict = verdict_line(headline, trust, required, tail_drift, &a);
    let report = Report {
        runs: c.names.len(),
        tolerance: a.tolerance,
        drift_tolerance: a.drift,
        level: a.level,
        every: a.every,
        min_frames: a.min_frames,
        tail: a.data.tail,
        equilibration: match a.equilibration {
            crate::args::EquilibrationArg::MaxEss => "max-ess",
            crate::args::EquilibrationArg::Mser => "mser",
        },
        max_discard: a.max_discard,
        median_tail_drift: tail_drift,
        headline,
        required_within: required,
        trust,
        verdict,
        curve_min_frames: &rows,
        curve_tolerance: savings::curve(&stops)?,
        runs_at_min_frames: headline_runs,
    };
    if a.json {
        return report::print_json(&report);
    }
    print_text(&report);
    Ok(())
}

/// Every run replayed with the same estimator (reset between runs).
fn replay_campaign(
    c: &Campaign,
    params: ValidParams,
    every: usize,
    tolerance: f64,
) -> AnyResult<(Row, Vec<RunReport>)> {
    let min_frames = params.params().min_frames as usize;
    let mut conv = Convergence::new(params);
    let mut runs = Vec::with_capacity(c.names.len());
    for ((name, xs), &mu) in c.names.iter().zip(&c.series).zip(&c.mu) {
        let (stop_frame, estimate) = match replay(&mut conv, xs, every)? {
            Some((n, e)) => (Some(n), Some(e)),
            None => (None, None),
        };
        runs.push(RunReport {
            name: name.clone(),
            frames: xs.len(),
            mu,
            stop_frame,
            estimate,
        });
    }
    let stops: Vec<RunStop> = runs.iter().map(run_stop).collect();
    let row = Row {
        min_frames,
        stopped: runs.iter().filter(|r| r.stop_frame.is_some()).count(),
        savings: savings::savings(&stops, tolerance)?,
    };
    Ok((row, runs))
}

/// The first check (every `every` frames, before the run's end) at which the run converged.
fn replay(c: &mut Convergence, xs: &[f64], every: usize) -> AnyResult<Option<(usize, Estimate)>> {
    c.reset();
    for (i, &x) in xs.iter().enumerate() {
        c.push(x)?;
        let n = i + 1;
        if n % every == 0 && n < xs.len() {
            let check = c.check();
            if check.converged() {
                let e = check.estimate.expect("a converged check has an estimate");
                return Ok(Some((n, e)));
            }
        }
    }
    Ok(None)
}

fn run_stop(r: &RunReport) -> RunStop {
    let stop = match (&r.stop_frame, &r.estimate) {
        (Some(frame), Some(e)) => {
            let (lo, hi) = e.interval();
            Stop::Estimate {
                frame: *frame,
                lo,
                hi,
            }
        }
        _ => Stop::RanToEnd,
    };
    RunStop {
        stop,
        len: r.frames,
        mu: r.mu,
    }
}

/// The smallest share of stops within ±t that an interval honest at `level` would not be refuted
/// by: the least k / n with P(X ≤ k) ≥ 5 % for X ~ Binomial(n, level), n the stops (exact, so it
/// holds for 12 stops as for 2500). None below `FEWEST_STOPS` stops.
fn required_within(row: &Row, level: f64) -> Option<f64> {
    let n = row.savings.banked;
    if n < FEWEST_STOPS {
        return None;
    }
    // ln P(X = k), from k = 0 up; the terms that underflow are negligible.
    let mut ln_pmf = n as f64 * (1.0 - level).ln();
    let odds = (level / (1.0 - level)).ln();
    let mut cdf = 0.0;
    for k in 0..=n {
        cdf += ln_pmf.exp();
        if cdf >= 0.05 {
            return Some(k as f64 / n as f64);
        }
        ln_pmf += ((n - k) as f64 / (k + 1) as f64).ln() + odds;
    }
    Some(1.0)
}

fn trustworthy(row: &Row, level: f64) -> bool {
    match (row.savings.within_tolerance, required_within(row, level)) {
        (Some(w), Some(r)) => w >= r,
        _ => false,
    }
}

fn judge(headline: &Row, rows: &[Row], level: f64) -> Trust {
    let stops = headline.savings.banked;
    if stops == 0 {
        Trust::NoStops
    } else if stops < FEWEST_STOPS {
        Trust::TooFewStops { stops }
    } else if trustworthy(headline, level) {
        Trust::Safe
    } else {
        Trust::Unsafe {
            safe_from: rows
                .iter()
                .filter(|r| r.min_frames > headline.min_frames && r.savings.saved_ratio > 1.0)
                .find(|r| trustworthy(r, level))
                .map(|r| r.min_frames),
        }
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or(report::NONE.into(), |v| format!("{:.0} %", v * 100.0))
}

fn verdict_line(
    row: &Row,
    trust: Trust,
    required: Option<f64>,
    tail_drift: Option<f64>,
    a: &ConvergenceArgs,
) -> String {
    let t = format!("±{:.0} %", a.tolerance * 100.0);
    let saved = format!("{:.1}x", row.savings.saved_ratio);
    let within = pct(row.savings.within_tolerance);
    match trust {
        Trust::Safe => format!(
            "own statistics stop runs for {saved} and {within} of the estimates are within {t} \
             of mu (at least {} expected of an honest {:.0} % interval): stopping on own \
             statistics is safe on this campaign at this tolerance",
            pct(required),
            a.level * 100.0
        ),
        Trust::Unsafe { safe_from } => {
            let from = match safe_from {
                Some(m) => {
                    format!("; with --min-frames {m} the estimates are trustworthy (see the curve)")
                }
                None => format!(
                    "; no minimum up to {} frames makes them trustworthy",
                    CURVE_MIN_FRAMES[CURVE_MIN_FRAMES.len() - 1].max(a.min_frames)
                ),
            };
            format!(
                "own statistics stop runs for {saved} but only {within} of the estimates are \
                 within {t} of mu (an honest {:.0} % interval gives at least {}): runs here look \
                 converged long before they are (mu's own two halves still differ by {} %, \
                 median); do not stop on own statistics here{from}",
                a.level * 100.0,
                pct(required),
                fixed(tail_drift.map(|d| d * 100.0), 1)
            )
        }
        Trust::NoStops => format!(
            "own statistics never met {t} before a run's end: nothing to save on this campaign \
             at this tolerance"
        ),
        Trust::TooFewStops { stops } => format!(
            "only {stops} run(s) met {t} before their end: too few stops to tell whether own \
             statistics can be trusted here"
        ),
    }
}

/// Median over runs of how much the two halves of the tail (the frames μ is taken over) differ,
/// relative to μ: how far the campaign still drifts at its end.
fn median_tail_drift(c: &Campaign, tail: usize) -> Option<f64> {
    let mut d: Vec<f64> = c
        .series
        .iter()
        .zip(&c.mu)
        .map(|(xs, &mu)| {
            let t = &xs[xs.len() - tail..];
            let (a, b) = t.split_at(tail / 2);
            let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
            (mean(b) - mean(a)).abs() / mu.abs()
        })
        .filter(|x| x.is_finite())
        .collect();
    d.sort_by(f64::total_cmp);
    match d.len() {
        0 => None,
        n if n % 2 == 1 => Some(d[n / 2]),
        n => Some((d[n / 2 - 1] + d[n / 2]) / 2.0),
    }
}

fn print_text(r: &Report) {
    println!(
        "own statistics on {} runs: stop at the first check (every {} frames) where the {:.0} % \
         interval is within ±{:.0} % of its mean and the halves after equilibration agree within \
         {:.1} % ({}, discarding at most {:.0} % of the frames); mu = mean of the last {} frames",
        r.runs,
        r.every,
        r.level * 100.0,
        r.tolerance * 100.0,
        r.drift_tolerance * 100.0,
        r.equilibration,
        r.max_discard * 100.0,
        r.tail
    );
    println!(
        "{:>17} {:>9} {:>8} {:>22} {:>9} {:>13}",
        "never stop before",
        "stopped",
        "saved",
        format!("within ±{:.0} % of mu", r.tolerance * 100.0),
        "coverage",
        "missed by >t"
    );
    for row in r.curve_min_frames {
        let s = &row.savings;
        println!(
            "{:>17} {:>9} {:>8} {:>22} {:>9} {:>13}{}",
            if row.min_frames == 0 {
                "—".to_string()
            } else {
                format!("{} frames", row.min_frames)
            },
            format!("{}/{}", row.stopped, s.runs),
            format!("{:.1}x", s.saved_ratio),
            pct(s.within_tolerance),
            fixed(s.coverage, 2),
            s.missed,
            if row.min_frames == r.min_frames && r.curve_min_frames.len() > 1 {
                "  <- --min-frames"
            } else {
                ""
            }
        );
    }
    let s = &r.headline.savings;
    println!(
        "at --min-frames {}: {} of {} frames simulated, compute saved {:.1}x ({:.0} %); mu's own \
         two halves differ by {} % (median)",
        r.min_frames,
        s.frames_simulated,
        s.full_frames,
        s.saved_ratio,
        s.saved_share * 100.0,
        fixed(r.median_tail_drift.map(|d| d * 100.0), 1)
    );
    println!("verdict: {}", r.verdict);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(banked: usize) -> Row {
        let runs: Vec<RunStop> = (0..banked)
            .map(|_| RunStop {
                stop: Stop::Estimate {
                    frame: 10,
                    lo: 0.9,
                    hi: 1.1,
                },
                len: 100,
                mu: 1.0,
            })
            .collect();
        Row {
            min_frames: 0,
            stopped: banked,
            savings: savings::savings(&runs, 0.25).unwrap(),
        }
    }

    #[test]
    fn required_share_is_the_exact_binomial_five_per_cent_point() {
        // Binomial(12, 0.9): P(X ≤ 8) = 0.026, P(X ≤ 9) = 0.111.
        assert_eq!(required_within(&row(12), 0.9), Some(9.0 / 12.0));
        // Binomial(250, 0.9): mean 225, sd 4.74; the 5 % point is 217.
        assert_eq!(required_within(&row(250), 0.9), Some(217.0 / 250.0));
        assert_eq!(required_within(&row(9), 0.9), None);
        // 5000 stops: (0.1)^5000 underflows, the sum still finds the point near 0.893.
        let r = required_within(&row(5000), 0.9).unwrap();
        assert!((r - 0.893).abs() < 0.001, "{r}");
    }
}
