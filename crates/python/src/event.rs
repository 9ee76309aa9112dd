//! An event as Python sees it: the runtime's [`monitor::Event`] (a screening part, a forecast
//! part, either absent) laid flat, absent figures as `None`.

use simforecast_runtime::codes::{Evidence, State, Verdict};
use simforecast_runtime::monitor;

/// What the monitor decided at one frame.
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, get_all, eq, module = "simforecast", name = "Event")
)]
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Frames seen when it was decided (1-based: the event of the 100th value has frame 100).
    pub frame: u64,
    /// The screening verdict: "relevant", "irrelevant" or "unsure" (None: no screening here).
    pub verdict: Option<&'static str>,
    /// Stop the run now.
    pub halt: bool,
    /// An irrelevant verdict reported for information only (no halt).
    pub advisory: bool,
    /// A stage refused to act: the trace is out of the training distribution.
    pub ood: bool,
    /// Weighted share of irrelevant neighbours, the stage's score and its cut (None: absent).
    pub vote: Option<f64>,
    pub score: Option<f64>,
    pub cut: Option<f64>,
    /// Index of the screening and forecasting stage that decided (None: absent).
    pub screen_stage: Option<usize>,
    pub forecast_stage: Option<usize>,
    /// The forecast (None when this event is no forecast): μ−σ, μ+σ, the point estimate of μ,
    /// the interval for μ and its nominal coverage, whether it may be acted on (within the
    /// tolerance and in distribution), whether its relative half-width is within the tolerance,
    /// the tolerance in force (None: none, any width) and what it rests on.
    pub mu_minus_sigma: Option<f64>,
    pub mu_plus_sigma: Option<f64>,
    pub mu_hat: Option<f64>,
    pub mu_low: Option<f64>,
    pub mu_high: Option<f64>,
    pub level: Option<f64>,
    pub confident: Option<bool>,
    pub within_tolerance: Option<bool>,
    pub tolerance: Option<f64>,
    /// "model" or "own_statistics".
    pub evidence: Option<&'static str>,
}

impl From<&monitor::Event> for Event {
    fn from(e: &monitor::Event) -> Self {
        let s = e.screen.as_ref();
        let f = e.forecast.as_ref();
        Self {
            frame: e.frame,
            verdict: s.map(|s| verdict_name(s.verdict)),
            halt: e.halt(),
            advisory: s.is_some_and(|s| s.advisory),
            ood: s.is_some_and(|s| s.ood) || f.is_some_and(|f| f.ood),
            vote: s.and_then(|s| s.vote),
            score: s.map(|s| s.score),
            cut: s.and_then(|s| s.cut),
            screen_stage: s.map(|s| s.stage),
            forecast_stage: f.map(|f| f.stage),
            mu_minus_sigma: f.map(|f| f.mu_minus_sigma),
            mu_plus_sigma: f.map(|f| f.mu_plus_sigma),
            mu_hat: f.map(|f| f.mu_hat),
            mu_low: f.map(|f| f.mu_low),
            mu_high: f.map(|f| f.mu_high),
            level: f.map(|f| f.level),
            confident: f.map(|f| f.confident),
            within_tolerance: f.map(|f| f.within_tolerance),
            tolerance: f.and_then(|f| f.tolerance),
            evidence: f.map(|f| evidence_name(f.evidence)),
        }
    }
}

impl Event {
    /// True when this event carries a forecast.
    pub fn is_forecast(&self) -> bool {
        self.forecast_stage.is_some()
    }

    /// Every field by name, in declaration order (for `repr` and `to_dict`).
    pub fn fields(&self) -> [(&'static str, Field); 20] {
        use Field::{Bool, Count, Float, Text};
        let f = |x: Option<f64>| x.map_or(Field::None, Float);
        let c = |x: Option<usize>| x.map_or(Field::None, |v| Count(v as u64));
        [
            ("frame", Count(self.frame)),
            ("verdict", self.verdict.map_or(Field::None, Text)),
            ("halt", Bool(self.halt)),
            ("advisory", Bool(self.advisory)),
            ("ood", Bool(self.ood)),
            ("vote", f(self.vote)),
            ("score", f(self.score)),
            ("cut", f(self.cut)),
            ("screen_stage", c(self.screen_stage)),
            ("forecast_stage", c(self.forecast_stage)),
            ("mu_minus_sigma", f(self.mu_minus_sigma)),
            ("mu_plus_sigma", f(self.mu_plus_sigma)),
            ("mu_hat", f(self.mu_hat)),
            ("mu_low", f(self.mu_low)),
            ("mu_high", f(self.mu_high)),
            ("level", f(self.level)),
            ("confident", self.confident.map_or(Field::None, Bool)),
            (
                "within_tolerance",
                self.within_tolerance.map_or(Field::None, Bool),
            ),
            ("tolerance", f(self.tolerance)),
            ("evidence", self.evidence.map_or(Field::None, Text)),
        ]
    }

    /// `Event(frame=100, verdict='relevant', ...)`, absent fields left out.
    pub fn repr(&self) -> String {
        let parts: Vec<String> = self
            .fields()
            .iter()
            .filter_map(|(name, v)| {
                let text = match v {
                    Field::None => return None,
                    Field::Bool(false) if *name != "halt" => return None,
                    Field::Bool(b) => if *b { "True" } else { "False" }.to_string(),
                    Field::Count(c) => c.to_string(),
                    Field::Float(x) => format!("{x:?}"),
                    Field::Text(t) => format!("'{t}'"),
                };
                Some(format!("{name}={text}"))
            })
            .collect();
        format!("Event({})", parts.join(", "))
    }
}

/// One field's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Field {
    None,
    Bool(bool),
    Count(u64),
    Float(f64),
    Text(&'static str),
}

pub fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Relevant => "relevant",
        Verdict::Irrelevant => "irrelevant",
        Verdict::Unsure => "unsure",
    }
}

pub fn evidence_name(e: Evidence) -> &'static str {
    match e {
        Evidence::Model => "model",
        Evidence::OwnStatistics => "own_statistics",
    }
}

pub fn state_name(s: State) -> &'static str {
    match s {
        State::Collecting => "collecting",
        State::ScreenedRelevant => "screened_relevant",
        State::ScreenedIrrelevant => "screened_irrelevant",
        State::ForecastReady => "forecast_ready",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simforecast_runtime::monitor::{ForecastEvent, ScreenEvent};
    use simforecast_runtime::stage::OodReason;

    #[test]
    fn both_parts_lie_flat_and_absent_ones_are_none() {
        let e = monitor::Event {
            frame: 150,
            screen: Some(ScreenEvent {
                stage: 2,
                verdict: Verdict::Relevant,
                vote: Some(0.25),
                score: -1.5,
                cut: None,
                halt: false,
                advisory: false,
                ood: false,
                ood_reason: None,
            }),
            forecast: Some(ForecastEvent {
                stage: 3,
                mu_minus_sigma: 1.0,
                mu_plus_sigma: 3.0,
                mu_hat: 2.0,
                mu_low: 1.5,
                mu_high: 2.5,
                level: 0.9,
                confident: true,
                within_tolerance: true,
                tolerance: Some(0.25),
                evidence: simforecast_runtime::monitor::Evidence::Model,
                ood: true,
                ood_reason: Some(OodReason::Distance),
            }),
        };
        let f = Event::from(&e);
        assert_eq!(f.verdict, Some("relevant"));
        assert_eq!(
            (f.cut, f.screen_stage, f.forecast_stage),
            (None, Some(2), Some(3))
        );
        assert!(f.ood && f.is_forecast() && !f.halt);
        assert_eq!(
            f.repr(),
            "Event(frame=150, verdict='relevant', halt=False, ood=True, vote=0.25, score=-1.5, \
             screen_stage=2, forecast_stage=3, mu_minus_sigma=1.0, mu_plus_sigma=3.0, mu_hat=2.0, \
             mu_low=1.5, mu_high=2.5, level=0.9, confident=True, within_tolerance=True, \
             tolerance=0.25, evidence='model')"
        );
        let bare = Event::from(&monitor::Event {
            frame: 50,
            screen: None,
            forecast: None,
        });
        assert!(bare.fields()[5..].iter().all(|(_, v)| *v == Field::None));
        assert_eq!(state_name(State::ForecastReady), "forecast_ready");
    }
}
