//! The model's one risk budget: how often its halting rule, over all its halting windows
//! together, halted a relevant run out of fold, and whether a finite-sample bound on that share
//! meets the precision target (computed by the trainer, `crates/train/src/risk.rs`).

use serde::{Deserialize, Serialize};

/// The joint halting rule's out-of-fold record and certificate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JointRisk {
    /// Halting precision the rule must reach: the wrong-halt share may be at most 1 − target.
    pub target: f64,
    /// Confidence of the one-sided Clopper–Pearson bound on the wrong-halt share.
    pub confidence: f64,
    /// Training runs replayed out of fold.
    pub runs: usize,
    /// Out-of-fold halts of the rule as fitted (each stage's own cut), and the wrong ones.
    pub proposed_halts: usize,
    pub proposed_wrong: usize,
    /// Out-of-fold halts and wrong halts of the rule the model acts on (after tightening; the
    /// proposed rule's when nothing was certified).
    pub halts: usize,
    pub wrong: usize,
    /// Clopper–Pearson upper bound on the wrong-halt share of `wrong` of `halts`.
    pub upper: f64,
    /// The bound is within 1 − target: the halting windows may halt.
    pub certified: bool,
    /// Halting windows whose cut the joint rule raised, and those it made advisory.
    pub raised: Vec<usize>,
    pub dropped: Vec<usize>,
    /// Fewest out-of-fold halts, none wrong, that certify at this confidence and target.
    pub halts_needed: usize,
    /// Roughly how many more labelled runs would let an uncertified rule act: at the observed
    /// rate of true halts per run, the runs that give `halts_needed` (None when certified, or
    /// when no run was rightly halted, so no rate is known).
    pub more_runs: Option<usize>,
}
