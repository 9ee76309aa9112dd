#![allow(non_camel_case_types)]
//! The C ABI: opaque handles, `sf_` prefix, status codes plus a thread-local last-error string.
//! Every pointer is checked and every call runs under `catch_unwind`, so no panic crosses the
//! boundary. The header `include/simforecast.h` is generated from this file by cbindgen.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use simforecast_runtime::error::Error;
use simforecast_runtime::model::{Model, ModelFileError};
use simforecast_runtime::monitor::{Event, Monitor};
use simforecast_runtime::stage::Verdict;

/// Version of this C ABI; bumped on any incompatible change of the header.
pub const SF_ABI_VERSION: c_int = 1;

/// Success.
pub const SF_OK: c_int = 0;
/// A required pointer argument was NULL.
pub const SF_ERR_NULL: c_int = 1;
/// An argument was invalid (bad UTF-8 path, bad length, ...).
pub const SF_ERR_INVALID: c_int = 2;
/// A file could not be read.
pub const SF_ERR_IO: c_int = 3;
/// Not a model file, or a truncated, corrupted or wrong-version one.
pub const SF_ERR_MODEL_FILE: c_int = 4;
/// A NaN or infinite sample; the monitor is left unchanged.
pub const SF_ERR_NON_FINITE: c_int = 5;
/// Saved monitor state that does not fit this model, or corrupted state bytes.
pub const SF_ERR_STATE: c_int = 6;
/// Output buffer too small; the size needed was written to `*len`.
pub const SF_ERR_BUFFER: c_int = 7;
/// An internal error was caught at the boundary (a bug: please report it).
pub const SF_ERR_PANIC: c_int = 8;

/// Monitor state: collecting frames, nothing decided yet.
pub const SF_STATE_COLLECTING: i32 = 0;
/// Monitor state: screening finished, the run is worth finishing.
pub const SF_STATE_SCREENED_RELEVANT: i32 = 1;
/// Monitor state: a screening stage called the run irrelevant.
pub const SF_STATE_SCREENED_IRRELEVANT: i32 = 2;
/// Monitor state: the forecast is available.
pub const SF_STATE_FORECAST_READY: i32 = 3;

/// Event flag: a screening stage decided on this push.
pub const SF_EVENT_SCREEN: u32 = 1;
/// Event flag: a forecast was made on this push.
pub const SF_EVENT_FORECAST: u32 = 2;

/// Screening verdict: the run is worth finishing.
pub const SF_VERDICT_RELEVANT: i32 = 0;
/// Screening verdict: the run's result will be past the threshold.
pub const SF_VERDICT_IRRELEVANT: i32 = 1;
/// Screening verdict: not confident at this window; keep collecting.
pub const SF_VERDICT_UNSURE: i32 = 2;

/// A trained model (opaque, immutable, shareable between monitors and threads).
pub struct sf_model {
    model: Arc<Model>,
    description: CString,
}

/// The streaming state of one trace (opaque; one per simulation, not thread-safe).
pub struct sf_monitor {
    monitor: Monitor,
}

/// What was decided on one push. Fields that do not apply are NaN (doubles) or 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sf_event {
    /// `SF_EVENT_SCREEN` and/or `SF_EVENT_FORECAST`; 0 when nothing was decided.
    pub flags: u32,
    /// Index of the stage that decided (the forecasting one when both flags are set).
    pub stage: u32,
    /// Frames seen when it decided.
    pub frame: u64,
    /// `SF_VERDICT_*` of the screening stage.
    pub verdict: i32,
    /// 1 when the caller should stop the run now.
    pub halt: i32,
    /// 1 when the screening stage is advisory (below its precision target): it never halts.
    pub advisory: i32,
    /// 1 when the trace is out of the training distribution: the model refused to act.
    pub ood: i32,
    /// Score for "irrelevant" in [0, 1].
    pub vote: f64,
    /// The screening stage's calibrated score (the vote, or a margin of the neighbours' log μ
    /// beyond the threshold, see `simforecast inspect`); halting needs `score >= cut`.
    pub score: f64,
    /// The calibrated cut the score is compared with.
    pub cut: f64,
    /// Forecast of μ − σ and μ + σ.
    pub mu_minus_sigma: f64,
    pub mu_plus_sigma: f64,
    /// Interval for μ at `level`.
    pub mu_low: f64,
    pub mu_high: f64,
    /// Nominal coverage of the interval (e.g. 0.9).
    pub level: f64,
    /// 1 when the forecast's interval is within the model's tolerance.
    pub confident: i32,
}

impl sf_event {
    fn empty() -> Self {
        Self {
            flags: 0,
            stage: 0,
            frame: 0,
            verdict: SF_VERDICT_UNSURE,
            halt: 0,
            advisory: 0,
            ood: 0,
            vote: f64::NAN,
            score: f64::NAN,
            cut: f64::NAN,
            mu_minus_sigma: f64::NAN,
            mu_plus_sigma: f64::NAN,
            mu_low: f64::NAN,
            mu_high: f64::NAN,
            level: f64::NAN,
            confident: 0,
        }
    }

    pub fn from_event(e: Option<&Event>) -> Self {
        let mut out = Self::empty();
        let Some(e) = e else { return out };
        out.frame = e.frame;
        if let Some(s) = &e.screen {
            out.flags |= SF_EVENT_SCREEN;
            out.stage = s.stage as u32;
            out.verdict = match s.verdict {
                Verdict::Relevant => SF_VERDICT_RELEVANT,
                Verdict::Irrelevant => SF_VERDICT_IRRELEVANT,
                Verdict::Unsure => SF_VERDICT_UNSURE,
            };
            out.halt = s.halt as i32;
            out.advisory = s.advisory as i32;
            out.ood = s.ood as i32;
            out.vote = s.vote;
            out.score = s.score;
            out.cut = s.cut;
        }
        if let Some(f) = &e.forecast {
            out.flags |= SF_EVENT_FORECAST;
            out.stage = f.stage as u32;
            out.ood |= f.ood as i32;
            out.mu_minus_sigma = f.mu_minus_sigma;
            out.mu_plus_sigma = f.mu_plus_sigma;
            out.mu_low = f.mu_low;
            out.mu_high = f.mu_high;
            out.level = f.level;
            out.confident = f.confident as i32;
        }
        out
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_error(msg: &str) {
    // Interior NULs cannot go into a C string: replace them rather than lose the message.
    let c = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

fn clear_error() {
    // Every successful call clears the error: only replace a non-empty message, since
    // `CString::default()` allocates and `sf_monitor_push` must not allocate per frame.
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        if !e.as_bytes().is_empty() {
            *e = CString::default();
        }
    });
}

/// A failed call: its status code and message.
struct Failure(c_int, String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::NonFinite { .. } => SF_ERR_NON_FINITE,
            Error::Io(_) => SF_ERR_IO,
            _ => SF_ERR_INVALID,
        };
        Failure(code, e.to_string())
    }
}

/// Runs `f`, catching panics; records the error message on failure.
fn guard(f: impl FnOnce() -> Result<(), Failure>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            clear_error();
            SF_OK
        }
        Ok(Err(Failure(code, msg))) => {
            set_error(&msg);
            code
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_error(&format!(
                "internal error in simforecast (please report): {what}"
            ));
            SF_ERR_PANIC
        }
    }
}

fn null(what: &str) -> Failure {
    Failure(SF_ERR_NULL, format!("{what} is NULL"))
}

/// # Safety
/// `p` must be NULL or point to a live object of type `T` created by this library.
unsafe fn deref<'a, T>(p: *const T, what: &str) -> Result<&'a T, Failure> {
    p.as_ref().ok_or_else(|| null(what))
}

/// # Safety
/// As [`deref`], for mutable access.
unsafe fn deref_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    p.as_mut().ok_or_else(|| null(what))
}

/// The ABI version of the linked library; compare with `SF_ABI_VERSION` from the header.
#[no_mangle]
pub extern "C" fn sf_abi_version() -> c_int {
    SF_ABI_VERSION
}

/// The library's version string (static storage, never freed).
#[no_mangle]
pub extern "C" fn sf_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the last failed call on this thread ("" after a successful call). The pointer
/// stays valid until the next `sf_` call on the same thread; copy it to keep it.
#[no_mangle]
pub extern "C" fn sf_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Loads a model file. Returns NULL on failure (read `sf_last_error()`: missing file, not a model
/// file, truncated, corrupted, or a format version this library does not read). The caller owns
/// the model and frees it with `sf_model_free`.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sf_model_load(path: *const c_char) -> *mut sf_model {
    let mut out = std::ptr::null_mut();
    guard(|| {
        if path.is_null() {
            return Err(null("model path"));
        }
        let path = CStr::from_ptr(path)
            .to_str()
            .map_err(|_| Failure(SF_ERR_INVALID, "model path is not valid UTF-8".into()))?;
        let model = Model::load(Path::new(path)).map_err(|e| {
            let code = match e {
                ModelFileError::Io { .. } => SF_ERR_IO,
                _ => SF_ERR_MODEL_FILE,
            };
            Failure(code, e.to_string())
        })?;
        let description = CString::new(model.describe().replace('\0', " ")).unwrap_or_default();
        out = Box::into_raw(Box::new(sf_model {
            model: Arc::new(model),
            description,
        }));
        Ok(())
    });
    out
}

/// Frees a model. NULL is a no-op. Monitors made from it stay valid (they hold a reference).
///
/// # Safety
/// `model` must be NULL or a pointer from `sf_model_load` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn sf_model_free(model: *mut sf_model) {
    if !model.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(model))));
    }
}

/// Steps between consecutive frames of the training traces (the fix checks its `N` against it).
///
/// # Safety
/// `model` must be NULL or a live model; `steps` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sf_model_frame_spacing(model: *const sf_model, steps: *mut u64) -> c_int {
    guard(|| {
        let m = deref(model, "model")?;
        let out = deref_mut(steps, "steps")?;
        *out = m.model.meta.frame_spacing as u64;
        Ok(())
    })
}

/// Frames after which no stage is left to evaluate.
///
/// # Safety
/// `model` must be NULL or a live model; `frames` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sf_model_max_window(model: *const sf_model, frames: *mut u64) -> c_int {
    guard(|| {
        let m = deref(model, "model")?;
        *deref_mut(frames, "frames")? = m.model.max_window() as u64;
        Ok(())
    })
}

/// A one-paragraph model card, owned by the model (valid until `sf_model_free`); NULL on error.
///
/// # Safety
/// `model` must be NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn sf_model_describe(model: *const sf_model) -> *const c_char {
    let mut out = std::ptr::null();
    guard(|| {
        out = deref(model, "model")?.description.as_ptr();
        Ok(())
    });
    out
}

/// A new monitor for one trace. NULL on failure. The caller owns it and frees it with
/// `sf_monitor_free`; it keeps its own reference to the model, which may be freed first.
///
/// # Safety
/// `model` must be NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn sf_monitor_new(model: *const sf_model) -> *mut sf_monitor {
    let mut out = std::ptr::null_mut();
    guard(|| {
        let m = deref(model, "model")?;
        out = Box::into_raw(Box::new(sf_monitor {
            monitor: Monitor::new(Arc::clone(&m.model)),
        }));
        Ok(())
    });
    out
}

/// Frees a monitor. NULL is a no-op.
///
/// # Safety
/// `monitor` must be NULL or a pointer from `sf_monitor_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn sf_monitor_free(monitor: *mut sf_monitor) {
    if !monitor.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(monitor))));
    }
}

/// Appends one frame and fills `*out` with what was decided (flags 0 when nothing). A NaN or
/// infinite value returns `SF_ERR_NON_FINITE` and leaves the monitor unchanged.
///
/// # Safety
/// `monitor` must be NULL or a live monitor; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sf_monitor_push(
    monitor: *mut sf_monitor,
    value: f64,
    out: *mut sf_event,
) -> c_int {
    guard(|| {
        let mon = deref_mut(monitor, "monitor")?;
        let out = deref_mut(out, "event output")?;
        let event = mon.monitor.push(value)?;
        *out = sf_event::from_event(event.as_ref());
        Ok(())
    })
}

/// The monitor's state (`SF_STATE_*`).
///
/// # Safety
/// `monitor` must be NULL or a live monitor; `state` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sf_monitor_state(monitor: *const sf_monitor, state: *mut i32) -> c_int {
    guard(|| {
        let mon = deref(monitor, "monitor")?;
        *deref_mut(state, "state")? = mon.monitor.state().code();
        Ok(())
    })
}

/// Frames pushed since creation or the last reset.
///
/// # Safety
/// `monitor` must be NULL or a live monitor; `frames` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sf_monitor_frames(monitor: *const sf_monitor, frames: *mut u64) -> c_int {
    guard(|| {
        let mon = deref(monitor, "monitor")?;
        *deref_mut(frames, "frames")? = mon.monitor.frames();
        Ok(())
    })
}

/// The last decision made (flags 0 when none yet).
///
/// # Safety
/// `monitor` must be NULL or a live monitor; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sf_monitor_last_event(
    monitor: *const sf_monitor,
    out: *mut sf_event,
) -> c_int {
    guard(|| {
        let mon = deref(monitor, "monitor")?;
        *deref_mut(out, "event output")? = sf_event::from_event(mon.monitor.last_event());
        Ok(())
    })
}

/// Starts a new trace with the same model.
///
/// # Safety
/// `monitor` must be NULL or a live monitor.
#[no_mangle]
pub unsafe extern "C" fn sf_monitor_reset(monitor: *mut sf_monitor) -> c_int {
    guard(|| {
        deref_mut(monitor, "monitor")?.monitor.reset();
        Ok(())
    })
}

/// Serialises the monitor's progress (for restart files). `*len` receives the size needed; with
/// `buf` NULL and `cap` 0 this only queries the size. Returns `SF_ERR_BUFFER` when `cap` is too
/// small.
///
/// # Safety
/// `monitor` must be NULL or a live monitor; `buf` NULL or writable for `cap` bytes; `len` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn sf_monitor_save_state(
    monitor: *const sf_monitor,
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> c_int {
    guard(|| {
        let mon = deref(monitor, "monitor")?;
        let len = deref_mut(len, "length output")?;
        let bytes = mon.monitor.save_state();
        *len = bytes.len();
        if buf.is_null() && cap == 0 {
            return Ok(());
        }
        if buf.is_null() {
            return Err(null("state buffer"));
        }
        if cap < bytes.len() {
            return Err(Failure(
                SF_ERR_BUFFER,
                format!("state buffer holds {cap} bytes, {} needed", bytes.len()),
            ));
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len());
        Ok(())
    })
}

/// Restores progress saved by `sf_monitor_save_state` with the same model. On failure
/// (`SF_ERR_STATE`) the monitor is unchanged.
///
/// # Safety
/// `monitor` must be NULL or a live monitor; `buf` NULL or readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sf_monitor_load_state(
    monitor: *mut sf_monitor,
    buf: *const u8,
    len: usize,
) -> c_int {
    guard(|| {
        let mon = deref_mut(monitor, "monitor")?;
        if buf.is_null() {
            return Err(null("state buffer"));
        }
        let bytes = std::slice::from_raw_parts(buf, len);
        mon.monitor
            .load_state(bytes)
            .map_err(|e| Failure(SF_ERR_STATE, e.to_string()))
    })
}
