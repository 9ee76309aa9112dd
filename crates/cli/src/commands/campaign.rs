//! `simforecast campaign init|status|record|replay`: the campaign directory from the command
//! line (the crate `simforecast-campaign` does the work).

use std::path::Path;
use std::str::FromStr;

use simforecast_campaign::replay::{self, Replay, Row};
use simforecast_campaign::{Campaign, Config, Outcome, Retrain, RunRecord};
use simforecast_train::trace::{self, Column};

use crate::args::{
    CampaignCommand, CampaignInitArgs, CampaignRecordArgs, CampaignReplayArgs, CampaignSettings,
    CampaignStatusArgs, HaltingArg,
};
use crate::report;
use crate::AnyResult;

pub fn run(c: CampaignCommand) -> AnyResult<()> {
    match c {
        CampaignCommand::Init(a) => init(a),
        CampaignCommand::Status(a) => status(a),
        CampaignCommand::Record(a) => record(a),
        CampaignCommand::Replay(a) => replay_cmd(a),
    }
}

fn config(s: &CampaignSettings) -> Config {
    let mut c = Config::new(s.label.threshold, s.label.direction());
    c.tolerance = s.tolerance;
    c.audit = s.audit;
    c.tail = s.tail;
    c.first_model_at = s.first_model_at;
    c.retrain_every = s.retrain_every;
    c.target_precision = s.target_precision;
    c.halting = match s.halting {
        HaltingArg::Screening => simforecast_campaign::config::Halting::Screening,
        HaltingArg::Accumulated => simforecast_campaign::config::Halting::Accumulated,
    };
    c
}

fn init(a: CampaignInitArgs) -> AnyResult<()> {
    let mut c = config(&a.settings);
    c.column = a.column;
    c.frame_spacing = a.frame_spacing;
    let camp = Campaign::init(&a.dir, c)?;
    let c = camp.config();
    println!(
        "campaign {}: {}; column {}, frame spacing {}",
        a.dir.display(),
        c.summary(),
        c.column.as_deref().unwrap_or("from the first run"),
        c.frame_spacing
            .map_or("from the first run".into(), |s| format!("{s} steps")),
    );
    Ok(())
}

fn status(a: CampaignStatusArgs) -> AnyResult<()> {
    let mut camp = Campaign::open(&a.dir)?;
    let s = camp.status()?;
    if a.json {
        return report::print_json(&s);
    }
    println!("campaign {}", a.dir.display());
    println!("{s}");
    Ok(())
}

fn record(a: CampaignRecordArgs) -> AnyResult<()> {
    let mut camp = Campaign::open(&a.dir)?;
    let col = match &camp.config().column {
        Some(c) => Column::Name(c.clone()),
        None => Column::Auto,
    };
    let mut traces = trace::read_traces(Path::new(&a.trace), &col)?;
    if traces.len() != 1 {
        return Err(format!(
            "{} holds {} traces: record takes one",
            a.trace,
            traces.len()
        )
        .into());
    }
    let t = traces.remove(0);
    let spacing = t.spacing().ok_or_else(|| {
        format!(
            "{}: no regular frame spacing (fewer than 2 frames?)",
            a.trace
        )
    })?;
    let stop = a.halted_at.or(a.forecast_at);
    if let Some(f) = stop {
        if f == 0 || f > t.len() {
            return Err(
                format!("{} has {} frames, cannot stop after {f}", a.trace, t.len()).into(),
            );
        }
    }
    let outcome = match (a.halted_at, a.forecast_at, a.interval.as_deref()) {
        (Some(frame), _, _) => Outcome::Halted { frame },
        (None, Some(frame), Some(&[lo, hi])) => Outcome::Forecast {
            frame,
            mu_hat: 0.5 * (lo + hi),
            lo,
            hi,
        },
        _ => Outcome::Finished,
    };
    let run_id = a.run_id.unwrap_or_else(|| t.name.clone());
    let mut values = t.values;
    values.truncate(stop.unwrap_or(values.len()));
    let model = camp.newest_model()?.map(|m| m.0);
    let stored = camp.record_run(RunRecord {
        run_id,
        column: t.column,
        frame_spacing: spacing,
        values,
        declared_len: a.declared_len,
        outcome,
        overridden: None,
        model,
        restart: a.restart,
    })?;
    println!(
        "recorded {}",
        simforecast_campaign::status::describe_run(&stored)
    );
    if !a.no_retrain {
        match camp.maybe_retrain()? {
            Retrain::Published(m) => println!(
                "published model-{:04} trained on {} finished runs in {:.1} s",
                m.version, m.labelled_runs, m.train_seconds
            ),
            Retrain::Failed(why) => eprintln!("simforecast: warning: retraining failed: {why}"),
            Retrain::NotDue { .. } | Retrain::Busy => {}
        }
    }
    Ok(())
}

fn replay_cmd(a: CampaignReplayArgs) -> AnyResult<()> {
    // Checked before reading the traces: a bad value is a usage error, not a late failure.
    Column::from_str(&a.column)?;
    let recorded = replay::load(&a.traces, &a.column)?;
    let (dir, scratch) = match &a.dir {
        Some(d) if !replay::fresh(d) => {
            return Err(format!(
                "{} is not empty: a replay starts from zero runs in a new directory",
                d.display()
            )
            .into())
        }
        Some(d) => (d.clone(), false),
        None => (replay::scratch_dir(), true),
    };
    let mut cfg = config(&a.settings);
    cfg.column = Some(recorded.column.clone());
    cfg.frame_spacing = Some(recorded.frame_spacing);
    let offline = match a.offline_folds {
        0 => None,
        k => Some(replay::offline(&cfg, &recorded, k)?),
    };
    let same_runs = if a.same_runs_offline {
        Some(replay::same_runs_offline(&cfg, &recorded, a.order)?)
    } else {
        None
    };
    let result = (|| -> AnyResult<Replay> {
        let mut camp = Campaign::init(&dir, cfg)?;
        if !a.json {
            println!("{}", header());
        }
        let every = a.every.max(1);
        let n = recorded
            .runs
            .iter()
            .filter(|t| t.1.len() >= a.settings.tail)
            .count();
        let mut print = |r: &Row| {
            if !a.json && (r.index % every == 0 || r.index == n || r.published.is_some()) {
                println!("{}", row_line(r));
            }
        };
        Ok(replay::replay(&mut camp, &recorded, a.order, &mut print)?)
    })();
    if scratch {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let r = result?;
    if let Some(path) = &a.plot {
        let title = format!("campaign replay, order seed {}", r.seed);
        simforecast_campaign::plot::replay_plot(path, &title, &r)?;
        eprintln!("plot written to {}", path.display());
    }
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            replay: &'a Replay,
            offline: Option<&'a replay::Offline>,
            same_runs_offline: Option<&'a replay::Offline>,
        }
        return report::print_json(&Out {
            replay: &r,
            offline: offline.as_ref(),
            same_runs_offline: same_runs.as_ref(),
        });
    }
    summary(&r);
    if let Some(last) = r.rows.last() {
        if let Some(o) = &offline {
            let what = format!(
                "{} folds, cross-fitted on {} runs, {:.1} s",
                o.folds, o.runs, o.seconds
            );
            println!("{}", offline_line("offline", &what, o, last.saved_share));
        }
        if let Some(o) = &same_runs {
            let what = format!(
                "every label seen, same order and schedule, {:.1} s",
                o.seconds
            );
            println!(
                "{}",
                offline_line(
                    "offline on the same runs so far",
                    &what,
                    o,
                    last.saved_share
                )
            );
        }
    }
    Ok(())
}

fn offline_line(label: &str, what: &str, o: &replay::Offline, replay_saved: f64) -> String {
    format!(
        "{label} ({what}): compute saved {:.1} %, halts {} of which wrong {}, forecast stops {} \
         covering mu {}; the replay saved {}",
        100.0 * o.saved_share,
        o.halts,
        o.wrong_halts,
        o.forecast_stops,
        o.covered,
        share_of(replay_saved, o.saved_share)
    )
}

fn share_of(replay: f64, offline: f64) -> String {
    if offline > 0.0 {
        format!("{:.0} % of it", 100.0 * replay / offline)
    } else {
        "(offline saves nothing)".into()
    }
}

fn header() -> String {
    format!(
        "{:>5} {:>6} {:>7} {:>6} {:>5} {:>18} {:>18} {:>14} {:>14} {}",
        "run",
        "model",
        "saved%",
        "halts",
        "wrong",
        "audited prec",
        "true prec",
        "audited cov",
        "true cov",
        "note"
    )
}

fn share(s: &simforecast_campaign::stats::Share, bounds: bool) -> String {
    match s.rate {
        None => "-".into(),
        Some(r) if bounds => format!("{r:.2} [{:.2},{:.2}] n{}", s.low, s.high, s.n),
        Some(r) => format!("{r:.2} n{}", s.n),
    }
}

fn row_line(r: &Row) -> String {
    let mut note = Vec::new();
    if let Some(v) = r.published {
        note.push(format!("published model-{v:04}"));
    }
    if r.advisory {
        note.push("advisory".into());
    }
    format!(
        "{:>5} {:>6} {:>7.1} {:>6} {:>5} {:>18} {:>18} {:>14} {:>14} {}",
        r.index,
        r.model.map_or("-".into(), |m| m.to_string()),
        100.0 * r.saved_share,
        r.halts,
        r.wrong_halts,
        share(&r.audited_precision, true),
        share(&r.true_precision, false),
        share(&r.audited_coverage, false),
        share(&r.true_coverage, false),
        note.join(", ")
    )
}

fn summary(r: &Replay) {
    let Some(last) = r.rows.last() else {
        println!("no run long enough to replay");
        return;
    };
    let acting = r
        .rows
        .iter()
        .find(|x| x.model.is_some() && !x.advisory)
        .map_or("never".into(), |x| format!("from run {}", x.index));
    let advisory = match r.rows.iter().find(|x| x.advisory) {
        Some(first) => format!(
            "advisory during {} runs (first after run {})",
            r.rows.iter().filter(|x| x.advisory).count(),
            first.index
        ),
        None => "never advisory".into(),
    };
    let within = |s: &simforecast_campaign::stats::Share, t: Option<f64>| match t {
        Some(t) if s.n > 0 => {
            if (s.low..=s.high).contains(&t) {
                "within"
            } else {
                "OUTSIDE"
            }
        }
        _ => "-",
    };
    println!(
        "order seed {}: {} runs ({} too short, left out), {} models trained in {:.1} s, replay {:.1} s",
        r.seed, r.runs, r.left_out, r.models, r.train_seconds, r.seconds
    );
    println!(
        "compute saved {:.1} % ({} of {} frames simulated); acting {acting}; {advisory}",
        100.0 * last.saved_share,
        last.frames_simulated,
        last.full_frames
    );
    println!(
        "halts {} of which wrong {} ({})",
        last.halts,
        last.wrong_halts,
        if last.halts > 0 {
            format!(
                "{:.1} %",
                100.0 * last.wrong_halts as f64 / last.halts as f64
            )
        } else {
            "-".into()
        }
    );
    println!(
        "halting precision: audited {} vs true {}: true value {} the audited bounds",
        last.audited_precision,
        share(&last.true_precision, false),
        within(&last.audited_precision, last.true_precision.rate)
    );
    println!(
        "forecast coverage: audited {} vs true {}: true value {} the audited bounds",
        last.audited_coverage,
        share(&last.true_coverage, false),
        within(&last.audited_coverage, last.true_coverage.rate)
    );
}
