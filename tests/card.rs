//! The model card of real models: what a person reads (`Display`) and a script parses
//! (`Serialize`) say the same, for every score kind and every reason a stage cannot halt, with
//! absent values in words and dates in ISO 8601.

mod common;

use std::ffi::CStr;

use simforecast_runtime::card::{AdvisoryReason, HaltingCard, ModelCard, StageKind};
use simforecast_runtime::model::Model;
use simforecast_runtime::stage::{Halting, ScoreKind, Stage};
use simforecast_train::{self as train, TrainConfig};

fn even_traces() -> Vec<usize> {
    (0..common::wide_dataset().len())
        .filter(|i| i % 2 == 0)
        .collect()
}

fn train_with(cfg: &TrainConfig) -> Model {
    train::fit_model(common::wide_dataset(), &even_traces(), cfg)
        .unwrap()
        .0
}

/// What no card may print: sentinels of absent values.
fn assert_no_sentinels(text: &str) {
    for bad in ["1.79", "e308", "NaN", "inf", "-1.000"] {
        assert!(!text.contains(bad), "card shows '{bad}':\n{text}");
    }
}

fn screen_cards(card: &ModelCard) -> Vec<(usize, HaltingCard)> {
    card.stages
        .iter()
        .filter_map(|s| match &s.kind {
            StageKind::Screen(c) => Some((s.window, c.halting.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn default_card_says_where_it_halts_with_its_scaled_margin() {
    let model = common::wide_model();
    let card = model.card();
    let text = card.to_string();
    assert_no_sentinels(&text);
    assert!(
        text.starts_with("simforecast model: default preset"),
        "{text}"
    );
    assert!(text.contains("irrelevant when mu > 33.1"), "{text}");
    assert!(text.contains("trained on 125 traces"), "{text}");
    // ISO 8601 UTC creation date.
    let created = text
        .split("created ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    assert_eq!(created.len(), 20, "{created}");
    assert!(
        created.ends_with('Z') && &created[10..11] == "T",
        "{created}"
    );
    // 125 training runs (15 irrelevant) cannot certify precision 0.95 over the halting windows
    // together: the configured halting stages are advisory, and the card says why and roughly
    // how many more labelled runs would let them act.
    assert!(card.decisions.halting_windows.is_empty());
    let risk = card
        .risk
        .clone()
        .expect("the stages at 600 and 800 meet their own target");
    assert!(!risk.certified);
    assert_eq!(risk.halts_needed, 45);
    assert!(risk.halts <= 15 && risk.upper > 0.05, "{risk:?}");
    let more = risk
        .more_runs
        .expect("a clean rule needs more runs, not a better score");
    assert!(
        text.contains(&format!("about {more} more labelled runs")),
        "{text}"
    );
    assert!(
        text.contains("never halts: its halting windows together are not certified"),
        "{text}"
    );
    for (window, h) in screen_cards(&card) {
        let HaltingCard::Advisory { reason, best_cut } = h else {
            panic!("stage at {window} halts without a certificate");
        };
        if [600, 800].contains(&window) {
            if reason == AdvisoryReason::Uncertified {
                let cut = best_cut.unwrap();
                assert!(text.contains(&format!(
                    "best cut scaled margin >= {:.3} and vote >= 0.80",
                    cut.value
                )));
            }
        } else {
            assert_eq!(reason, AdvisoryReason::NotAHaltingWindow);
        }
    }
    assert!(risk.dropped.iter().all(|w| [600, 800].contains(w)));
    assert!(!text.contains("halts at vote"), "{text}");
    // Regression stages forecast any run not halted, within the tolerance only: no deadline.
    assert_eq!(card.decisions.forecast_by, None);
    assert_eq!(card.decisions.tolerance, Some(0.25));
    assert!(!card.decisions.tolerance_windows.is_empty());
    assert!(
        text.contains("where its 90% interval for mu is within ±25% (tolerance 0.25)"),
        "{text}"
    );
    assert!(!text.contains("at the latest"), "{text}");
    // One entry per stage, numbered as the monitor's events number them.
    for (i, s) in model.stages.iter().enumerate() {
        assert!(
            text.contains(&format!("[{i}] {} at {} frames", s.role(), s.window())),
            "{text}"
        );
    }
    // Each stage's guards once, on its own line: sign, level and scale ranges, then the distance.
    let guard_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("out of distribution when"))
        .collect();
    assert_eq!(guard_lines.len(), model.stages.len(), "{text}");
    let json = serde_json::to_value(&card).unwrap();
    for (i, (line, s)) in guard_lines.iter().zip(&card.stages).enumerate() {
        let g = s
            .signal_guard
            .expect("every default stage has a signal guard");
        assert_eq!(Some(&g), model.stages[i].signal_guard());
        let scale = g.scale.expect("no training window is constant");
        assert!(0.0 < scale.min && scale.min < scale.max && g.max_level > 0.0);
        assert_eq!(line.matches("(sign)").count(), 1, "{line}");
        assert_eq!(line.matches("(level)").count(), 1, "{line}");
        assert_eq!(line.matches("(scale)").count(), 1, "{line}");
        // KNN stages also guard the distance; regression stages have the signal guard alone.
        match &s.neighbours {
            Some(n) => assert!(
                line.ends_with(&format!(
                    "or its k-th neighbour distance > {:.3}",
                    n.ood_max_distance.unwrap()
                )),
                "{line}"
            ),
            None => assert!(line.ends_with("(scale)"), "{line}"),
        }
        assert_eq!(json["stages"][i]["signal_guard"]["max_level"], g.max_level);
        assert_eq!(json["stages"][i]["signal_guard"]["scale"]["min"], scale.min);
    }
}

#[test]
fn paper_card_shows_absent_values_as_words() {
    let model = train_with(&TrainConfig::paper());
    let text = model.card().to_string();
    assert_no_sentinels(&text);
    assert!(text.contains("paper preset"), "{text}");
    assert!(text.contains("halts at vote >= "), "{text}");
    // No tolerance (any width), no distance guard (the signal guard alone), no clearing cut
    // before the last screening stage.
    assert!(text.contains("at any width"), "{text}");
    assert!(!text.contains("neighbour distance"), "{text}");
    assert!(
        text.contains("out of distribution when its mean < -0.50 sd (sign), its mean > "),
        "{text}"
    );
    assert!(!text.contains("clears runs as relevant at"), "{text}");
    let json = serde_json::to_value(model.card()).unwrap();
    assert_eq!(json["decisions"]["tolerance"], serde_json::Value::Null);
    assert_eq!(
        json["stages"][0]["ood_max_distance"],
        serde_json::Value::Null
    );
    assert_eq!(json["stages"][0]["signal_guard"]["side"], "Positive");
    assert_eq!(json["stages"][0]["role"], "screen");
    assert_eq!(json["stages"][0]["score"], "Vote");
    assert_eq!(json["stages"][0]["halting"]["kind"], "halts");
    assert_eq!(json["stages"][1]["role"], "forecast");
    assert_eq!(json["stages"][1]["tolerance"], serde_json::Value::Null);
}

#[test]
fn too_few_true_halts_is_said_with_numbers() {
    // As tests/lammps/test_trust.py: more true halts required than the traces hold (with
    // votes, so that some cut reaches the precision target).
    let cfg = TrainConfig {
        screen_windows: vec![100, 200],
        forecast_windows: vec![200],
        halt_windows: vec![200],
        forecast_deadline: None,
        min_halts: 1000,
        target_precision: 0.6,
        ..TrainConfig::eager()
    };
    let model = train_with(&cfg);
    let card = model.card();
    let text = card.to_string();
    assert_no_sentinels(&text);
    assert!(card.decisions.halting_windows.is_empty());
    assert!(
        text.contains("never halts: every screening stage is advisory"),
        "{text}"
    );
    assert!(!text.contains("halts at"), "{text}");
    let (_, h) = screen_cards(&card)
        .into_iter()
        .find(|(w, _)| *w == 200)
        .unwrap();
    let HaltingCard::Advisory {
        reason:
            AdvisoryReason::TooFewHalts {
                true_halts,
                required,
            },
        best_cut: Some(best),
    } = h
    else {
        panic!("expected too few halts at 200 frames: {h:?}");
    };
    assert_eq!(required, 1000);
    assert_eq!(true_halts, best.cv_true_halts);
    assert!(
        text.contains(&format!(
            "advisory, never halts: {true_halts} true out-of-fold halts where 1000 are required"
        )),
        "{text}"
    );
}

#[test]
fn a_stage_without_a_cut_says_so() {
    // Votes may not cut below 0.99: hardly any out-of-fold run scores that high at 50 frames.
    let cfg = TrainConfig {
        screen_windows: vec![50],
        forecast_windows: vec![100],
        halt_windows: vec![],
        forecast_deadline: None,
        min_cut: 0.999,
        k_grid: vec![28],
        weightings: vec![simforecast_runtime::knn::Weighting::Uniform],
        ..TrainConfig::eager()
    };
    let model = train_with(&cfg);
    let Stage::Screen(s) = &model.stages[0] else {
        panic!("stage 0 screens")
    };
    assert_eq!(s.calibration.score.kind(), ScoreKind::Vote);
    let text = model.card().to_string();
    assert_no_sentinels(&text);
    match s.calibration.halting {
        Halting::BelowTarget(None) => {
            assert!(
                text.contains("advisory, never halts: no out-of-fold run scored vote >= 0.999"),
                "{text}"
            );
        }
        other => panic!("expected no cut with votes of 28 neighbours >= 0.999: {other:?}"),
    }
}

#[test]
fn train_reports_and_the_c_abi_use_the_card() {
    let model = common::wide_model();
    let card = model.card();
    let (_, reports) = train::fit_model(
        common::wide_dataset(),
        &even_traces(),
        &TrainConfig::default_calibrated(),
    )
    .unwrap();
    for (r, s) in reports.iter().zip(&card.stages) {
        assert_eq!(r.verdict, s.verdict());
        assert!(card.to_string().contains(&s.details()[0]));
    }
    let path = std::env::temp_dir().join(format!("sf-card-{}.sfm", std::process::id()));
    model.save(&path).unwrap();
    let cpath = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    unsafe {
        let m = simforecast::sf_model_load(cpath.as_ptr());
        assert!(!m.is_null());
        let described = CStr::from_ptr(simforecast::sf_model_describe(m));
        assert_eq!(described.to_str().unwrap(), card.to_string());
        simforecast::sf_model_free(m);
    }
    std::fs::remove_file(path).unwrap();
}
