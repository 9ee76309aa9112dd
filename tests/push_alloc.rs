//! A push costs no allocation between stage windows, through the Rust API and through the C ABI
//! (whose error bookkeeping runs on every call): a counting global allocator watches each push
//! of held-out traces into a real model. The same holds for the model-free convergence
//! estimator's push, check and reset.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use simforecast::*;
use simforecast_runtime::convergence::{Convergence, ConvergenceParams, Equilibration};
use simforecast_runtime::monitor::Monitor;

struct Counting;

thread_local! {
    // Per thread, as the test harness runs tests in parallel.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // try_with: the allocator also runs while thread-locals are being torn down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn held_out(n: usize) -> Vec<Vec<f64>> {
    let ds = common::wide_dataset();
    common::held_out()
        .into_iter()
        .take(n)
        .map(|i| ds.series[i].clone())
        .collect()
}

fn stage_windows() -> Vec<u64> {
    common::wide_model()
        .stages
        .iter()
        .map(|s| s.window() as u64)
        .collect()
}

#[test]
fn c_abi_push_does_not_allocate_between_stage_windows() {
    let model = common::wide_model();
    let windows = stage_windows();
    let path = std::env::temp_dir().join(format!("sf-push-alloc-{}.sfm", std::process::id()));
    model.save(&path).unwrap();
    let cpath = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let m = unsafe { sf_model_load(cpath.as_ptr()) };
    std::fs::remove_file(&path).unwrap();
    assert!(!m.is_null());
    let mon = unsafe { sf_monitor_new(m) };
    let mut event = std::mem::MaybeUninit::<sf_event>::uninit();
    for series in held_out(10) {
        assert_eq!(unsafe { sf_monitor_reset(mon) }, SF_OK);
        // A failed call leaves a message; the next successful one clears it (that may allocate).
        assert_eq!(
            unsafe { sf_monitor_push(mon, f64::NAN, event.as_mut_ptr()) },
            SF_ERR_NON_FINITE
        );
        for (i, &v) in series.iter().enumerate() {
            let frame = i as u64 + 1;
            let before = allocations();
            assert_eq!(
                unsafe { sf_monitor_push(mon, v, event.as_mut_ptr()) },
                SF_OK
            );
            let n = allocations() - before;
            if i > 0 && !windows.contains(&frame) {
                assert_eq!(n, 0, "sf_monitor_push allocated {n} times at frame {frame}");
            }
        }
    }
    unsafe {
        sf_monitor_free(mon);
        sf_model_free(m);
    }
}

#[test]
fn rust_push_does_not_allocate_between_stage_windows() {
    let windows = stage_windows();
    let mut mon = Monitor::new(Arc::clone(&common::wide_model()));
    for series in held_out(10) {
        mon.reset();
        for (i, &v) in series.iter().enumerate() {
            let frame = i as u64 + 1;
            let before = allocations();
            mon.push(v).unwrap();
            let n = allocations() - before;
            if !windows.contains(&frame) {
                assert_eq!(n, 0, "Monitor::push allocated {n} times at frame {frame}");
            }
        }
    }
}

/// A deterministic noisy relaxation: 20 + 5·exp(−t/300) plus a cheap pseudo-random wiggle.
fn frame(t: u64) -> f64 {
    let h = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    20.0 + 5.0 * (-(t as f64) / 300.0).exp() + (h as f64 / (1u64 << 24) as f64 - 0.5)
}

#[test]
fn push_check_and_reset_do_not_allocate() {
    for equilibration in [Equilibration::MaxEffectiveSamples, Equilibration::Mser] {
        let params = ConvergenceParams {
            equilibration,
            ..Default::default()
        };
        let mut c = Convergence::new(params.validate().unwrap());
        for run in 0..3 {
            let before = allocations();
            c.reset();
            // 20 000 frames: the 256-block buffer is paired 7 times.
            for t in 0..20_000u64 {
                c.push(frame(t + run)).unwrap();
                assert!(c.push(f64::NAN).is_err());
                if t % 50 == 49 {
                    let check = c.check();
                    assert!(t < 20 || check.estimate.is_some());
                }
            }
            let n = allocations() - before;
            assert_eq!(n, 0, "{equilibration:?} run {run}: {n} allocations");
        }
    }
}

#[test]
fn c_abi_convergence_push_and_check_do_not_allocate() {
    let params = sf_convergence_params_default();
    let conv = unsafe { sf_convergence_new(&params) };
    assert!(!conv.is_null());
    let mut result = std::mem::MaybeUninit::<sf_convergence_result>::uninit();
    let (mut pushes, mut checks) = (0, 0);
    for series in held_out(10) {
        assert_eq!(unsafe { sf_convergence_reset(conv) }, SF_OK);
        // A failed call leaves a message; the next successful one clears it (that may allocate).
        assert_eq!(
            unsafe { sf_convergence_push(conv, f64::NAN) },
            SF_ERR_NON_FINITE
        );
        for (i, &v) in series.iter().enumerate() {
            let before = allocations();
            assert_eq!(unsafe { sf_convergence_push(conv, v) }, SF_OK);
            let n = allocations() - before;
            if i > 0 {
                assert_eq!(n, 0, "sf_convergence_push allocated {n} times at frame {i}");
                pushes += 1;
            }
            if (i + 1) % 50 == 0 {
                let before = allocations();
                assert_eq!(
                    unsafe { sf_convergence_check(conv, result.as_mut_ptr()) },
                    SF_OK
                );
                let n = allocations() - before;
                assert_eq!(
                    n, 0,
                    "sf_convergence_check allocated {n} times at frame {i}"
                );
                checks += 1;
            }
        }
    }
    // The traces are long enough to pair the buffer several times over.
    assert!(
        pushes > 10_000 && checks > 200,
        "{pushes} pushes, {checks} checks"
    );
    unsafe { sf_convergence_free(conv) };
}
