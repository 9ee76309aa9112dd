//! The C ABI of the model-free convergence mode: an opaque `sf_convergence` estimator of a running
//! trace's long-run mean from its own frames (equilibration start, statistical inefficiency,
//! 90 % interval, drift of the halves), with the conventions of the rest of the ABI: every pointer
//! checked, every call under `guard`, failures through the one `status` map.
//!
//! Its verdict is "converged by own statistics": nothing in it knows the bias of stopping early
//! on a system that drifts for longer than the run has been watched (see `simforecast
//! convergence`, which audits the rule on a campaign's finished runs).

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use simforecast_runtime::codes::Equilibration;
use simforecast_runtime::convergence::{Check, Convergence, ConvergenceParams};
use simforecast_runtime::error::Error;

use crate::{deref, deref_mut, guard, Failure};

/// A convergence estimator over one trace (opaque; one per simulation, not thread-safe). Its
/// memory is fixed at creation whatever the run's length.
pub struct sf_convergence {
    estimator: Convergence,
}

/// What an `sf_convergence` is asked; `sf_convergence_params_default()` gives the defaults (the
/// rule of `simforecast convergence`: ±25 % at 90 %, halves within 12.5 %).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sf_convergence_params {
    /// Largest relative half-width, half-width / |mean|, of the interval for the long-run mean.
    pub tolerance: f64,
    /// Largest relative difference |m2 − m1| / |mean| of the means of the two halves of the
    /// frames after equilibration.
    pub drift_tolerance: f64,
    /// Two-sided coverage of the interval, in (0, 1) (0.9: z = 1.645).
    pub level: f64,
    /// Largest share of the frames seen that equilibration may discard, in (0, 1].
    pub max_discard: f64,
    /// No check says converged before this many frames.
    pub min_frames: u64,
    /// Fewest blocks after equilibration from which the statistical inefficiency is estimated
    /// (at least 8).
    pub min_blocks: usize,
    /// Blocks held before neighbours are paired (even, at least 4 × `min_blocks`).
    pub capacity: usize,
    /// How the end of equilibration is chosen: `SF_EQUILIBRATION_*` (an `sf_equilibration`).
    pub equilibration: i32,
}

impl From<&ConvergenceParams> for sf_convergence_params {
    fn from(p: &ConvergenceParams) -> Self {
        Self {
            tolerance: p.tolerance,
            drift_tolerance: p.drift_tolerance,
            level: p.level,
            max_discard: p.max_discard,
            min_frames: p.min_frames,
            min_blocks: p.min_blocks,
            capacity: p.capacity,
            equilibration: p.equilibration as i32,
        }
    }
}

impl TryFrom<&sf_convergence_params> for ConvergenceParams {
    type Error = Error;

    fn try_from(p: &sf_convergence_params) -> Result<Self, Error> {
        let equilibration = [Equilibration::MaxEffectiveSamples, Equilibration::Mser]
            .into_iter()
            .find(|&e| e as i32 == p.equilibration)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "equilibration must be SF_EQUILIBRATION_MAX_EFFECTIVE_SAMPLES ({}) or \
                     SF_EQUILIBRATION_MSER ({}), got {}",
                    Equilibration::MaxEffectiveSamples as i32,
                    Equilibration::Mser as i32,
                    p.equilibration
                ))
            })?;
        Ok(ConvergenceParams {
            tolerance: p.tolerance,
            drift_tolerance: p.drift_tolerance,
            level: p.level,
            min_frames: p.min_frames,
            max_discard: p.max_discard,
            min_blocks: p.min_blocks,
            capacity: p.capacity,
            equilibration,
        })
    }
}

/// One check of an `sf_convergence`. Without an estimate (`has_estimate` 0: too few blocks yet)
/// the doubles are NaN and the integers other than `frames` 0; with one, `relative_half_width`
/// and `relative_drift` are NaN when the mean is 0 (a relative tolerance cannot be met).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sf_convergence_result {
    /// `SF_CONVERGENCE_VERDICT_*` (an `sf_convergence_verdict`): only
    /// `SF_CONVERGENCE_VERDICT_CONVERGED` lets a run stop, converged by its own statistics (not
    /// calibrated against finished runs).
    pub verdict: i32,
    /// 1 when the fields below describe an estimate, 0 when there is none yet.
    pub has_estimate: i32,
    /// Frames seen, n.
    pub frames: u64,
    /// First frame after equilibration, t0 (0-based: frames [t0, n) make the estimate).
    pub start: u64,
    /// Frames per block at this check.
    pub block_size: u64,
    /// Full blocks after t0 from which the statistical inefficiency was estimated.
    pub blocks: u64,
    /// The estimate of the long-run mean: the mean of frames [t0, n).
    pub mean: f64,
    /// Standard deviation of frames [t0, n) (ddof = 1).
    pub sd: f64,
    /// Half-width z · sd · sqrt(g / (n − t0)) of the interval at `level`.
    pub half_width: f64,
    /// The interval for the long-run mean: mean − half_width and mean + half_width.
    pub mu_low: f64,
    pub mu_high: f64,
    /// Nominal coverage of the interval (e.g. 0.9).
    pub level: f64,
    /// half_width / |mean|, compared with the tolerance.
    pub relative_half_width: f64,
    /// Means of the two halves of frames [t0, n).
    pub first_half_mean: f64,
    pub second_half_mean: f64,
    /// |second − first| / |mean|, compared with the drift tolerance.
    pub relative_drift: f64,
    /// Statistical inefficiency g of frames [t0, n) (at least 1).
    pub inefficiency: f64,
    /// (n − t0) / g.
    pub effective_samples: f64,
}

impl sf_convergence_result {
    pub fn from_check(check: &Check, frames: u64) -> Self {
        let verdict = check.verdict.code() as i32;
        let Some(e) = &check.estimate else {
            return Self {
                verdict,
                has_estimate: 0,
                frames,
                start: 0,
                block_size: 0,
                blocks: 0,
                mean: f64::NAN,
                sd: f64::NAN,
                half_width: f64::NAN,
                mu_low: f64::NAN,
                mu_high: f64::NAN,
                level: f64::NAN,
                relative_half_width: f64::NAN,
                first_half_mean: f64::NAN,
                second_half_mean: f64::NAN,
                relative_drift: f64::NAN,
                inefficiency: f64::NAN,
                effective_samples: f64::NAN,
            };
        };
        let (mu_low, mu_high) = e.interval();
        Self {
            verdict,
            has_estimate: 1,
            frames: e.frames,
            start: e.start,
            block_size: e.block_size,
            blocks: e.blocks as u64,
            mean: e.mean,
            sd: e.sd,
            half_width: e.half_width,
            mu_low,
            mu_high,
            level: e.level,
            // The C convention for "does not apply".
            relative_half_width: e.relative_half_width.unwrap_or(f64::NAN),
            first_half_mean: e.first_half_mean,
            second_half_mean: e.second_half_mean,
            relative_drift: e.relative_drift.unwrap_or(f64::NAN),
            inefficiency: e.inefficiency,
            effective_samples: e.effective_samples,
        }
    }
}

/// The default parameters (tolerance 0.25, drift tolerance 0.125, level 0.9, min_frames 0,
/// max_discard 0.5, min_blocks 16, capacity 256, `SF_EQUILIBRATION_MAX_EFFECTIVE_SAMPLES`).
#[no_mangle]
pub extern "C" fn sf_convergence_params_default() -> sf_convergence_params {
    (&ConvergenceParams::default()).into()
}

/// A new estimator. NULL on failure (read `sf_last_error()`: NULL parameters, or one out of its
/// domain, named). The caller owns it and frees it with `sf_convergence_free`.
///
/// # Safety
/// `params` must be NULL or point to a readable `sf_convergence_params`.
#[no_mangle]
pub unsafe extern "C" fn sf_convergence_new(
    params: *const sf_convergence_params,
) -> *mut sf_convergence {
    let mut out = std::ptr::null_mut();
    guard(|| {
        let p = deref(params, "convergence parameters")?;
        let valid = ConvergenceParams::try_from(p)?.validate()?;
        out = Box::into_raw(Box::new(sf_convergence {
            estimator: Convergence::new(valid),
        }));
        Ok(())
    });
    out
}

/// Frees an estimator. NULL is a no-op.
///
/// # Safety
/// `conv` must be NULL or a pointer from `sf_convergence_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn sf_convergence_free(conv: *mut sf_convergence) {
    if !conv.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(conv))));
    }
}

/// Appends one frame (a few additions, no allocation). A NaN or infinite value returns
/// `SF_ERR_NON_FINITE` and leaves the estimator unchanged.
///
/// # Safety
/// `conv` must be NULL or a live estimator.
#[no_mangle]
pub unsafe extern "C" fn sf_convergence_push(conv: *mut sf_convergence, value: f64) -> c_int {
    guard(|| {
        deref_mut(conv, "convergence estimator")?
            .estimator
            .push(value)?;
        Ok(())
    })
}

/// Checks the estimate now (no allocation; O(blocks · lags) with at most `capacity` blocks) and
/// fills `*out`. A check changes nothing the next pushes or checks see.
///
/// # Safety
/// `conv` must be NULL or a live estimator; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sf_convergence_check(
    conv: *mut sf_convergence,
    out: *mut sf_convergence_result,
) -> c_int {
    guard(|| {
        let c = deref_mut(conv, "convergence estimator")?;
        let out = deref_mut(out, "convergence result output")?;
        let check = c.estimator.check();
        *out = sf_convergence_result::from_check(&check, c.estimator.frames());
        Ok(())
    })
}

/// Frames pushed since creation or the last reset.
///
/// # Safety
/// `conv` must be NULL or a live estimator; `frames` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sf_convergence_frames(
    conv: *const sf_convergence,
    frames: *mut u64,
) -> c_int {
    guard(|| {
        let c = deref(conv, "convergence estimator")?;
        *deref_mut(frames, "frames")? = c.estimator.frames();
        Ok(())
    })
}

/// Starts a new trace with the same parameters.
///
/// # Safety
/// `conv` must be NULL or a live estimator.
#[no_mangle]
pub unsafe extern "C" fn sf_convergence_reset(conv: *mut sf_convergence) -> c_int {
    guard(|| {
        deref_mut(conv, "convergence estimator")?.estimator.reset();
        Ok(())
    })
}

/// Serialises the trace seen so far (for restart files; its size is bounded by the capacity,
/// whatever the run's length). `*len` receives the size needed; with `buf` NULL and `cap` 0 this
/// only queries the size. Returns `SF_ERR_BUFFER` when `cap` is too small.
///
/// # Safety
/// `conv` must be NULL or a live estimator; `buf` NULL or writable for `cap` bytes; `len` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn sf_convergence_save_state(
    conv: *const sf_convergence,
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> c_int {
    guard(|| {
        let c = deref(conv, "convergence estimator")?;
        let len = deref_mut(len, "length output")?;
        crate::copy_state(&c.estimator.save_state(), buf, cap, len)
    })
}

/// Restores a trace saved by `sf_convergence_save_state` into an estimator of the same
/// capacity (the tolerances may differ). On failure (`SF_ERR_STATE`: not such a state,
/// corrupted, or another capacity) the estimator is unchanged.
///
/// # Safety
/// `conv` must be NULL or a live estimator; `buf` NULL or readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sf_convergence_load_state(
    conv: *mut sf_convergence,
    buf: *const u8,
    len: usize,
) -> c_int {
    guard(|| {
        let c = deref_mut(conv, "convergence estimator")?;
        if buf.is_null() {
            return Err(Failure::Null("state buffer"));
        }
        let bytes = std::slice::from_raw_parts(buf, len);
        Ok(c.estimator.load_state(bytes)?)
    })
}
