//! The C++ API through cxx, for C++ developers embedding the monitor in their own codes:
//! `simforecast::load_model(path)` returns a `rust::Box<simforecast::Model>`, `new_monitor(model)`
//! a `rust::Box<simforecast::Monitor>` (RAII: freed with the box); failures throw `rust::Error`
//! (a `std::exception`) whose `what()` is the library's message. Thin over `model`/`monitor`.

use std::sync::Arc;

use simforecast::sf_event;
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
        confident: bool,
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

        /// A monitor sharing the model (the model may be destroyed first).
        fn new_monitor(model: &Model) -> Box<Monitor>;
        /// Appends one frame; throws on NaN/Inf (the monitor is unchanged).
        fn push(self: &mut Monitor, value: f64) -> Result<Event>;
        /// `STATE_*` of simforecast.hpp (the C header's `SF_STATE_*`).
        fn state(self: &Monitor) -> i32;
        fn frames(self: &Monitor) -> u64;
        /// The last decision (flags 0 when none yet).
        fn last_event(self: &Monitor) -> Event;
        /// Starts a new trace with the same model.
        fn reset(self: &mut Monitor);
        /// Progress as bytes, and back (same model only; throws otherwise).
        fn save_state(self: &Monitor) -> Vec<u8>;
        fn load_state(self: &mut Monitor, bytes: &[u8]) -> Result<()>;
    }
}

pub use bridge::Event;

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
    fn save_state(&self) -> Vec<u8> {
        self.0.save_state()
    }
    fn load_state(&mut self, bytes: &[u8]) -> simforecast_runtime::Result<()> {
        self.0.load_state(bytes)
    }
}
