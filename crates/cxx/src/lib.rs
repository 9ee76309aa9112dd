//! The C++ API through cxx, for C++ developers embedding the monitor in their own codes:
//! `simforecast::load_model(path)` returns a `rust::Box<simforecast::Model>`, `new_monitor(model)`
//! a `rust::Box<simforecast::Monitor>` (RAII: freed with the box); failures throw `rust::Error`
//! (a `std::exception`) whose `what()` is the library's message. The model-free convergence
//! estimator is `new_convergence(params)`, a `rust::Box<simforecast::Convergence>`. Thin over
//! `model`/`monitor`/`convergence`, with the C ABI's structs as the reference layouts.

use std::sync::Arc;

use simforecast::{sf_convergence_params, sf_convergence_result, sf_event};
use simforecast_runtime::convergence;
use simforecast_runtime::model;
use simforecast_runtime::monitor;

#[cxx::bridge(namespace = "simforecast")]
mod bridge {
    /// What was decided on one push; same meaning as the C ABI's `sf_event`.
    #[derive(Clone, Copy, Debug)]
    struct Event {
        /// 1 = screening decided, 2 = forecast made (both may be set); 0 = nothing.
        flags: u32,
        stage: u32,
        frame: u64,
        /// `VERDICT_*` of simforecast.hpp (the C header's `SF_VERDICT_*`).
        verdict: i32,
        halt: bool,
        advisory: bool,
        ood: bool,
        vote: f64,
        score: f64,
        cut: f64,
        mu_minus_sigma: f64,
        mu_plus_sigma: f64,
        mu_low: f64,
        mu_high: f64,
        level: f64,
        /// Within the tolerance in force and in distribution: the forecast may be acted on.
        confident: bool,
        /// The interval's relative half-width is within the tolerance in force.
        within_tolerance: bool,
        /// `EVIDENCE_*` of simforecast.hpp (the C header's `SF_EVIDENCE_*`).
        evidence: i32,
        /// The tolerance in force when the forecast was made; NaN when none.
        tolerance: f64,
    }

    /// What a convergence estimator is asked; same meaning as the C ABI's
    /// `sf_convergence_params` (`convergence_params_default()` gives the defaults).
    #[derive(Clone, Copy, Debug)]
    struct ConvergenceParams {
        /// Largest relative half-width of the interval for the long-run mean.
        tolerance: f64,
        /// Largest relative difference of the means of the two halves after equilibration.
        drift_tolerance: f64,
        /// Two-sided coverage of the interval.
        level: f64,
        /// Largest share of the frames that equilibration may discard.
        max_discard: f64,
        /// No check says converged before this many frames.
        min_frames: u64,
        min_blocks: usize,
        capacity: usize,
        /// `EQUILIBRATION_*` of simforecast.hpp (the C header's `SF_EQUILIBRATION_*`).
        equilibration: i32,
    }

    /// One check of a convergence estimator; same meaning as the C ABI's
    /// `sf_convergence_result` (doubles NaN without an estimate).
    #[derive(Clone, Copy, Debug)]
    struct ConvergenceResult {
        /// `CONVERGENCE_VERDICT_*` of simforecast.hpp: only `CONVERGENCE_VERDICT_CONVERGED` lets
        /// a run stop, converged by its own statistics (not calibrated).
        verdict: i32,
        has_estimate: bool,
        frames: u64,
        start: u64,
        block_size: u64,
        blocks: u64,
        mean: f64,
        sd: f64,
        half_width: f64,
        mu_low: f64,
        mu_high: f64,
        level: f64,
        relative_half_width: f64,
        first_half_mean: f64,
        second_half_mean: f64,
        relative_drift: f64,
        inefficiency: f64,
        effective_samples: f64,
    }

    extern "Rust" {
        /// A trained model (immutable).
        type Model;
        /// The streaming state of one trace.
        type Monitor;

        /// Loads a model file; throws with the reason (missing, foreign, truncated, corrupted,
        /// wrong version).
        fn load_model(path: &str) -> Result<Box<Model>>;
        /// Steps between frames of the training traces.
        fn frame_spacing(self: &Model) -> u64;
        /// Frames after which no stage is left.
        fn max_window(self: &Model) -> u64;
        /// The model card (several lines), the same text as `sf_model_describe`.
        fn describe(self: &Model) -> String;
        /// The model's default tolerance (relative half-width); NaN when none.
        fn tolerance(self: &Model) -> f64;
        /// The tolerances the model was calibrated for (what `set_tolerance` accepts); NaN when
        /// any positive tolerance is accepted.
        fn tolerance_low(self: &Model) -> f64;
        fn tolerance_high(self: &Model) -> f64;

        /// A monitor sharing the model (the model may be destroyed first).
        fn new_monitor(model: &Model) -> Box<Monitor>;
        /// Appends one frame; throws on NaN/Inf (the monitor is unchanged).
        fn push(self: &mut Monitor, value: f64) -> Result<Event>;
        /// `STATE_*` of simforecast.hpp (the C header's `SF_STATE_*`).
        fn state(self: &Monitor) -> i32;
        fn frames(self: &Monitor) -> u64;
        /// The last decision (flags 0 when none yet).
        fn last_event(self: &Monitor) -> Event;
        /// Starts a new trace with the same model (the tolerance set stays).
        fn reset(self: &mut Monitor);
        /// Sets the tolerance of the forecasts (relative half-width); throws when it is not a
        /// positive number or outside the model's calibrated range (the monitor is unchanged).
        fn set_tolerance(self: &mut Monitor, tolerance: f64) -> Result<()>;
        /// Returns to the model's tolerance.
        fn reset_tolerance(self: &mut Monitor);
        /// The tolerance in force (the one set, else the model's); NaN when none.
        fn tolerance(self: &Monitor) -> f64;
        /// Progress as bytes, and back (same model only; throws otherwise).
        fn save_state(self: &Monitor) -> Vec<u8>;
        fn load_state(self: &mut Monitor, bytes: &[u8]) -> Result<()>;

        /// The model-free estimator of a trace's long-run mean from its own frames.
        type Convergence;

        /// The default parameters (±25 % at 90 %, halves within 12.5 %).
        fn convergence_params_default() -> ConvergenceParams;
        /// A new estimator; throws naming a parameter out of its domain.
        fn new_convergence(params: &ConvergenceParams) -> Result<Box<Convergence>>;
        /// Appends one frame; throws on NaN/Inf (the estimator is unchanged).
        fn push(self: &mut Convergence, value: f64) -> Result<()>;
        /// The estimate now and whether it meets the tolerance (no allocation).
        fn check(self: &mut Convergence) -> ConvergenceResult;
        fn frames(self: &Convergence) -> u64;
        /// Starts a new trace with the same parameters.
        fn reset(self: &mut Convergence);
        /// The trace seen so far as bytes, and back (same capacity only; throws otherwise).
        fn save_state(self: &Convergence) -> Vec<u8>;
        fn load_state(self: &mut Convergence, bytes: &[u8]) -> Result<()>;
    }
}

pub use bridge::{ConvergenceParams, ConvergenceResult, Event};

/// A shared, immutable model.
pub struct Model(Arc<model::Model>);

/// One trace's monitor.
pub struct Monitor(monitor::Monitor);

fn load_model(path: &str) -> Result<Box<Model>, model::ModelFileError> {
    Ok(Box::new(Model(Arc::new(model::Model::load(
        std::path::Path::new(path),
    )?))))
}

impl Model {
    fn frame_spacing(&self) -> u64 {
        self.0.meta.frame_spacing as u64
    }
    fn max_window(&self) -> u64 {
        self.0.max_window() as u64
    }
    fn describe(&self) -> String {
        self.0.card().to_string()
    }
    fn tolerance(&self) -> f64 {
        self.0.tolerance().unwrap_or(f64::NAN)
    }
    fn tolerance_low(&self) -> f64 {
        self.0.tolerance_range().map_or(f64::NAN, |r| r.0)
    }
    fn tolerance_high(&self) -> f64 {
        self.0.tolerance_range().map_or(f64::NAN, |r| r.1)
    }
}

fn new_monitor(model: &Model) -> Box<Monitor> {
    Box::new(Monitor(monitor::Monitor::new(Arc::clone(&model.0))))
}

/// One conversion for both foreign APIs: the C event is the reference layout.
fn to_cxx(e: Option<&monitor::Event>) -> Event {
    let c = sf_event::from_event(e);
    Event {
        flags: c.flags,
        stage: c.stage,
        frame: c.frame,
        verdict: c.verdict,
        halt: c.halt != 0,
        advisory: c.advisory != 0,
        ood: c.ood != 0,
        vote: c.vote,
        score: c.score,
        cut: c.cut,
        mu_minus_sigma: c.mu_minus_sigma,
        mu_plus_sigma: c.mu_plus_sigma,
        mu_low: c.mu_low,
        mu_high: c.mu_high,
        level: c.level,
        confident: c.confident != 0,
        within_tolerance: c.within_tolerance != 0,
        evidence: c.evidence,
        tolerance: c.tolerance,
    }
}

impl Monitor {
    fn push(&mut self, value: f64) -> simforecast_runtime::Result<Event> {
        let e = self.0.push(value)?;
        Ok(to_cxx(e.as_ref()))
    }
    fn state(&self) -> i32 {
        self.0.state() as i32
    }
    fn frames(&self) -> u64 {
        self.0.frames()
    }
    fn last_event(&self) -> Event {
        to_cxx(self.0.last_event())
    }
    fn reset(&mut self) {
        self.0.reset()
    }
    fn set_tolerance(&mut self, tolerance: f64) -> simforecast_runtime::Result<()> {
        self.0.set_tolerance(Some(tolerance))
    }
    fn reset_tolerance(&mut self) {
        // None is always accepted: it is the model's own tolerance.
        let _ = self.0.set_tolerance(None);
    }
    fn tolerance(&self) -> f64 {
        self.0.tolerance().unwrap_or(f64::NAN)
    }
    fn save_state(&self) -> Vec<u8> {
        self.0.save_state()
    }
    fn load_state(&mut self, bytes: &[u8]) -> simforecast_runtime::Result<()> {
        self.0.load_state(bytes)
    }
}

/// One trace's convergence estimator.
pub struct Convergence(convergence::Convergence);

fn convergence_params_default() -> ConvergenceParams {
    let c = simforecast::sf_convergence_params_default();
    ConvergenceParams {
        tolerance: c.tolerance,
        drift_tolerance: c.drift_tolerance,
        level: c.level,
        max_discard: c.max_discard,
        min_frames: c.min_frames,
        min_blocks: c.min_blocks,
        capacity: c.capacity,
        equilibration: c.equilibration,
    }
}

fn new_convergence(p: &ConvergenceParams) -> simforecast_runtime::Result<Box<Convergence>> {
    let c = sf_convergence_params {
        tolerance: p.tolerance,
        drift_tolerance: p.drift_tolerance,
        level: p.level,
        max_discard: p.max_discard,
        min_frames: p.min_frames,
        min_blocks: p.min_blocks,
        capacity: p.capacity,
        equilibration: p.equilibration,
    };
    let valid = convergence::ConvergenceParams::try_from(&c)?.validate()?;
    Ok(Box::new(Convergence(convergence::Convergence::new(valid))))
}

impl Convergence {
    fn push(&mut self, value: f64) -> simforecast_runtime::Result<()> {
        self.0.push(value)
    }
    fn check(&mut self) -> ConvergenceResult {
        let check = self.0.check();
        let c = sf_convergence_result::from_check(&check, self.0.frames());
        ConvergenceResult {
            verdict: c.verdict,
            has_estimate: c.has_estimate != 0,
            frames: c.frames,
            start: c.start,
            block_size: c.block_size,
            blocks: c.blocks,
            mean: c.mean,
            sd: c.sd,
            half_width: c.half_width,
            mu_low: c.mu_low,
            mu_high: c.mu_high,
            level: c.level,
            relative_half_width: c.relative_half_width,
            first_half_mean: c.first_half_mean,
            second_half_mean: c.second_half_mean,
            relative_drift: c.relative_drift,
            inefficiency: c.inefficiency,
            effective_samples: c.effective_samples,
        }
    }
    fn frames(&self) -> u64 {
        self.0.frames()
    }
    fn reset(&mut self) {
        self.0.reset()
    }
    fn save_state(&self) -> Vec<u8> {
        self.0.save_state()
    }
    fn load_state(&mut self, bytes: &[u8]) -> simforecast_runtime::Result<()> {
        self.0.load_state(bytes)
    }
}
