//! The convergence estimator allocates nothing after construction: neither a push (including the
//! pushes that pair blocks when the buffer is full) nor a decision, over runs far longer than its
//! buffer. A counting global allocator watches every call.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use simforecast_runtime::convergence::{Convergence, ConvergenceParams, Equilibration};

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
