//! The streaming monitor and its C ABI on a real model and real held-out traces.

mod common;

use std::ffi::{CStr, CString};
use std::sync::Arc;

use simforecast::*;
use simforecast_runtime::monitor::{Monitor, State};
use simforecast_runtime::stage::Stage;
use simforecast_train::protocol::replay;
use simforecast_train::TrainConfig;

fn held_out_series() -> Vec<(String, Vec<f64>)> {
    let ds = common::wide_dataset();
    common::held_out()
        .into_iter()
        .map(|i| (ds.names[i].clone(), ds.series[i].clone()))
        .collect()
}

#[test]
fn streaming_equals_replay_and_decides_at_stage_windows() {
    let model = common::wide_model();
    let windows: Vec<u64> = model.stages.iter().map(|s| s.window() as u64).collect();
    let tolerance = model.tolerance().expect("the default has a tolerance");
    assert_eq!(
        Some(tolerance),
        TrainConfig::default_calibrated().tolerance,
        "the model keeps its training tolerance"
    );
    let regression = |i: usize| matches!(model.stages[i], Stage::Regression(_));
    let (mut forecast_runs, mut halted_runs) = (0, 0);
    for (name, s) in held_out_series().iter().take(40) {
        let (events, _) = replay(&model, name, s).unwrap();
        let mut mon = Monitor::new(Arc::clone(&model));
        let mut streamed = Vec::new();
        for &v in s.iter() {
            if let Some(e) = mon.push(v).unwrap() {
                streamed.push(e);
            }
        }
        assert_eq!(format!("{events:?}"), format!("{streamed:?}"));
        assert!(events.iter().all(|e| windows.contains(&e.frame)));
        assert!(mon.finished());
        assert!(events.iter().filter(|e| e.forecast.is_some()).count() <= 1);
        let halted = events.iter().any(|e| e.halt());
        // The default forecasts with regression stages: only within the tolerance and in
        // distribution, whatever the screening said, never after a halt.
        if let Some(f) = events.iter().find_map(|e| e.forecast.as_ref()) {
            forecast_runs += 1;
            assert!(regression(f.stage), "{name}: forecast by a KNN stage");
            assert!(f.confident && f.within_tolerance && !f.ood, "{name}: {f:?}");
            assert_eq!(f.tolerance, Some(tolerance));
            let half = (f.mu_high - f.mu_low) / (f.mu_high + f.mu_low);
            assert!(half <= tolerance + 1e-12, "{name}: half-width {half}");
            assert!(f.mu_low <= f.mu_hat && f.mu_hat <= f.mu_high);
            assert_eq!(mon.state(), State::ForecastReady);
        }
        if halted {
            halted_runs += 1;
            assert!(
                events.iter().all(|e| e.forecast.is_none()),
                "{name}: forecast after a halt"
            );
            assert_eq!(mon.state(), State::ScreenedIrrelevant);
        }
    }
    // Most held-out runs of the wide campaign are pinned within ±25 % before their end.
    assert!(forecast_runs >= 25, "{forecast_runs} of 40 forecast");
    assert!(forecast_runs + halted_runs <= 40);
}

/// The stop rule is monotone in the tolerance: on every held-out run of the wide campaign, the
/// frame of the forecast (the run's stop with `after stop`) never grows as the tolerance grows,
/// a run pinned at t stays pinned at every looser t, and every forecast is within its tolerance.
/// Tolerances between the table's entries are served by the entry at or below them.
#[test]
fn the_stop_frame_never_grows_with_the_tolerance() {
    let model = common::wide_model();
    let table = &model.regression.as_ref().expect("a regression model").table;
    let tolerances: Vec<f64> = (5..=100).map(|p| p as f64 / 100.0).collect();
    let (mut runs, mut moved) = (0, 0);
    for (name, s) in held_out_series() {
        let mut last: Option<u64> = None;
        let mut first_frames = Vec::new();
        for &t in &tolerances {
            let frame = Monitor::replay_at(&model, &s, Some(t))
                .unwrap()
                .into_iter()
                .find_map(|e| e.forecast.map(|f| (e.frame, f)))
                .map(|(frame, f)| {
                    let w = (f.mu_high - f.mu_low) / (f.mu_high + f.mu_low);
                    assert!(w <= t + 1e-12, "{name}: half-width {w} at tolerance {t}");
                    let rule = table.at(t).expect("a forecast has a rule in force");
                    assert!(rule.tolerance <= t);
                    frame
                });
            if let Some(before) = last {
                let now = frame.unwrap_or_else(|| panic!("{name}: pinned before, not at {t}"));
                assert!(
                    now <= before,
                    "{name}: stops at {now} at ±{t}, at {before} tighter"
                );
            }
            last = last.or(frame).map(|b| frame.unwrap_or(b));
            first_frames.push(frame);
        }
        runs += 1;
        moved += usize::from(first_frames.windows(2).any(|w| w[0] != w[1]));
    }
    assert!(runs >= 100, "{runs} held-out runs");
    assert!(
        moved > runs / 4,
        "the tolerance moved the stop of {moved} of {runs} runs only"
    );
}

/// The regression stages' halting rule (off in the default) at a precision target the even half
/// of the wide campaign can certify (0.8): the monitor halts at a regression window with the certified
/// quantile, a screening event without a vote, and never forecasts a halted run.
#[test]
fn regression_stages_halt_where_the_budget_is_certified() {
    let ds = common::wide_dataset();
    let train_idx: Vec<usize> = (0..ds.len()).filter(|i| i % 2 == 0).collect();
    let cfg = TrainConfig {
        target_precision: 0.8,
        regression_halts: true,
        ..TrainConfig::default_calibrated()
    };
    let model = Arc::new(
        simforecast_train::fit_model(ds, &train_idx, &cfg)
            .unwrap()
            .0,
    );
    let risk = model.risk.as_ref().expect("a halting rule was proposed");
    let halting = model
        .regression
        .as_ref()
        .and_then(|r| r.halting)
        .expect("the regression stages propose a halting rule");
    assert!(risk.certified && halting.certified, "{risk:?} {halting:?}");
    assert!(halting.cv_halts > halting.cv_wrong);
    let (mut halts, mut by_regression, mut wrong) = (0, 0, 0);
    for i in common::held_out() {
        let events = Monitor::replay(&model, &ds.series[i]).unwrap();
        let Some(at) = events.iter().position(|e| e.halt()) else {
            continue;
        };
        halts += 1;
        wrong += usize::from(!ds.irrelevant[i]);
        assert!(events[at..].iter().all(|e| e.forecast.is_none()));
        let s = events[at].screen.as_ref().unwrap();
        if let Stage::Regression(_) = model.stages[s.stage] {
            by_regression += 1;
            assert_eq!((s.vote, s.cut), (None, Some(halting.quantile)));
            assert!(s.score >= halting.quantile && !s.ood);
        }
    }
    assert!(
        by_regression > 0,
        "{halts} halts, none by a regression stage"
    );
    assert!(
        wrong * 5 <= halts,
        "{wrong} wrong of {halts} held-out halts"
    );
}

#[test]
fn a_tighter_tolerance_forecasts_later_or_never() {
    let model = common::wide_model();
    let (lo, hi) = model
        .tolerance_range()
        .expect("regression stages have a table");
    assert!(lo <= 0.1 && hi >= 0.5, "{lo}..{hi}");
    let first = |s: &[f64], t: f64| {
        Monitor::replay_at(&model, s, Some(t))
            .unwrap()
            .into_iter()
            .find_map(|e| e.forecast.map(|f| (e.frame, f)))
    };
    let mut later = 0;
    for (name, s) in held_out_series().iter().take(20) {
        let loose = first(s, 0.5);
        let tight = first(s, 0.1);
        if let Some((frame, f)) = &tight {
            let (loose_frame, _) = loose.as_ref().expect("pinned at ±10 % is pinned at ±50 %");
            assert!(loose_frame <= frame, "{name}");
            assert!((f.mu_high - f.mu_low) / (f.mu_high + f.mu_low) <= 0.1 + 1e-12);
        }
        if loose.map(|l| l.0) != tight.map(|t| t.0) {
            later += 1;
        }
    }
    assert!(later > 0, "the tolerance changed nothing");
    // Tolerances the model was not calibrated for are refused, the monitor left as it was.
    let mut mon = Monitor::new(Arc::clone(&model));
    for bad in [0.0, -0.1, f64::NAN, 5.0] {
        assert!(mon.set_tolerance(Some(bad)).is_err(), "{bad}");
    }
    assert_eq!(mon.tolerance(), model.tolerance());
    mon.set_tolerance(Some(0.4)).unwrap();
    assert_eq!(mon.tolerance(), Some(0.4));
}

#[test]
fn non_finite_sample_leaves_the_monitor_unchanged() {
    let model = common::wide_model();
    let (_, s) = &held_out_series()[0];
    let mut mon = Monitor::new(Arc::clone(&model));
    for &v in &s[..30] {
        mon.push(v).unwrap();
    }
    let before = mon.save_state();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let e = mon.push(bad).unwrap_err();
        assert!(e.to_string().contains("non-finite"), "{e}");
    }
    assert_eq!(mon.frames(), 30);
    assert_eq!(mon.save_state(), before);
}

#[test]
fn saved_state_continues_exactly_and_belongs_to_its_model() {
    let model = common::wide_model();
    for (name, s) in held_out_series().iter().take(10) {
        let (events, _) = replay(&model, name, s).unwrap();
        for split in [1usize, 49, 50, 120, 400] {
            let mut a = Monitor::new(Arc::clone(&model));
            for &v in &s[..split] {
                a.push(v).unwrap();
            }
            let mut b = Monitor::new(Arc::clone(&model));
            b.load_state(&a.save_state()).unwrap();
            assert_eq!(b.frames(), split as u64);
            let mut rest = Vec::new();
            for &v in &s[split..] {
                if let Some(e) = b.push(v).unwrap() {
                    rest.push(e);
                }
                if b.finished() {
                    break;
                }
            }
            let expected: Vec<_> = events.iter().filter(|e| e.frame > split as u64).collect();
            assert_eq!(
                format!("{expected:?}"),
                format!("{:?}", rest.iter().collect::<Vec<_>>())
            );
        }
    }
    // A state from another model, and corrupted bytes, are refused and change nothing.
    let mut other = (*model).clone();
    other.meta.threshold += 1.0;
    let mut foreign = Monitor::new(Arc::new(other));
    foreign.push(1.0).unwrap();
    let mut mon = Monitor::new(Arc::clone(&model));
    let e = mon.load_state(&foreign.save_state()).unwrap_err();
    assert!(e.to_string().contains("different model"), "{e}");
    let mut bytes = mon.save_state();
    bytes.truncate(bytes.len() - 3);
    assert!(mon.load_state(&bytes).is_err());
    assert!(mon.load_state(b"garbage").is_err());
    assert_eq!(mon.frames(), 0);
}

#[test]
fn reset_starts_a_new_trace() {
    let model = common::wide_model();
    let (name, s) = &held_out_series()[3];
    let (events, _) = replay(&model, name, s).unwrap();
    let mut mon = Monitor::new(Arc::clone(&model));
    for &v in &s[..200] {
        mon.push(v).unwrap();
    }
    mon.reset();
    assert_eq!(mon.frames(), 0);
    assert_eq!(mon.state(), State::Collecting);
    assert!(mon.last_event().is_none());
    let mut again = Vec::new();
    for &v in s.iter() {
        if let Some(e) = mon.push(v).unwrap() {
            again.push(e);
        }
    }
    assert_eq!(format!("{events:?}"), format!("{again:?}"));
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(sf_last_error()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn c_abi_checks_every_pointer_and_reports_errors() {
    unsafe {
        assert_eq!(sf_abi_version(), SF_ABI_VERSION);
        assert!(!CStr::from_ptr(sf_version()).to_bytes().is_empty());

        assert!(sf_model_load(std::ptr::null()).is_null());
        assert!(last_error().contains("NULL"));
        let missing = CString::new("/nonexistent/x.sfm").unwrap();
        assert!(sf_model_load(missing.as_ptr()).is_null());
        assert!(last_error().contains("/nonexistent/x.sfm"));
        let bad_utf8 = [0xffu8, 0xfe, 0];
        assert!(sf_model_load(bad_utf8.as_ptr().cast()).is_null());
        assert!(last_error().contains("UTF-8"));

        let path = std::env::temp_dir().join(format!("sf-ffi-{}.sfm", std::process::id()));
        common::wide_model().save(&path).unwrap();
        let cpath = CString::new(path.to_str().unwrap()).unwrap();
        let model = sf_model_load(cpath.as_ptr());
        assert!(!model.is_null(), "{}", last_error());
        assert_eq!(last_error(), "");
        let mut spacing = 0u64;
        assert_eq!(sf_model_frame_spacing(model, &mut spacing), SF_OK);
        assert_eq!(spacing, 10);
        assert_eq!(
            sf_model_frame_spacing(std::ptr::null(), &mut spacing),
            SF_ERR_NULL
        );
        assert_eq!(
            sf_model_frame_spacing(model, std::ptr::null_mut()),
            SF_ERR_NULL
        );
        assert!(CStr::from_ptr(sf_model_describe(model))
            .to_str()
            .unwrap()
            .contains("v_eta"));
        assert!(sf_model_describe(std::ptr::null()).is_null());

        let mon = sf_monitor_new(model);
        assert!(!mon.is_null());
        assert!(sf_monitor_new(std::ptr::null()).is_null());
        // The monitor keeps the model alive.
        sf_model_free(model);
        sf_model_free(std::ptr::null_mut());

        let mut ev = std::mem::zeroed::<sf_event>();
        assert_eq!(sf_monitor_push(mon, f64::NAN, &mut ev), SF_ERR_NON_FINITE);
        assert!(last_error().contains("non-finite"));
        assert_eq!(
            sf_monitor_push(std::ptr::null_mut(), 1.0, &mut ev),
            SF_ERR_NULL
        );
        assert_eq!(sf_monitor_push(mon, 1.0, std::ptr::null_mut()), SF_ERR_NULL);

        let (name, s) = &held_out_series()[0];
        let (events, _) = replay(&common::wide_model(), name, s).unwrap();
        let mut decided = Vec::new();
        for &v in s.iter() {
            assert_eq!(sf_monitor_push(mon, v, &mut ev), SF_OK);
            if ev.flags != 0 {
                decided.push(ev);
            }
        }
        assert_eq!(decided.len(), events.len());
        for (c, r) in decided.iter().zip(&events) {
            assert_eq!(c.frame, r.frame);
            assert_eq!(c.halt != 0, r.halt());
            if let Some(f) = &r.forecast {
                assert_eq!(c.mu_minus_sigma, f.mu_minus_sigma);
                assert_eq!(c.mu_high, f.mu_high);
            }
        }
        let mut frames = 0u64;
        assert_eq!(sf_monitor_frames(mon, &mut frames), SF_OK);
        assert_eq!(frames, s.len() as u64);

        let mut need = 0usize;
        assert_eq!(
            sf_monitor_save_state(mon, std::ptr::null_mut(), 0, &mut need),
            SF_OK
        );
        let mut small = vec![0u8; need - 1];
        assert_eq!(
            sf_monitor_save_state(mon, small.as_mut_ptr(), small.len(), &mut need),
            SF_ERR_BUFFER
        );
        let mut buf = vec![0u8; need];
        assert_eq!(
            sf_monitor_save_state(mon, buf.as_mut_ptr(), buf.len(), &mut need),
            SF_OK
        );
        assert_eq!(sf_monitor_reset(mon), SF_OK);
        assert_eq!(sf_monitor_load_state(mon, buf.as_ptr(), 5), SF_ERR_STATE);
        assert_eq!(sf_monitor_load_state(mon, std::ptr::null(), 5), SF_ERR_NULL);
        assert_eq!(sf_monitor_load_state(mon, buf.as_ptr(), buf.len()), SF_OK);
        let mut state = -1;
        assert_eq!(sf_monitor_state(mon, &mut state), SF_OK);
        assert_ne!(state, State::Collecting as i32);

        sf_monitor_free(mon);
        sf_monitor_free(std::ptr::null_mut());
        std::fs::remove_file(path).unwrap();
    }
}
