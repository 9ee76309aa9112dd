//! `simforecast evaluate`: a model's metrics on held-out traces, and the compute it saves at the
//! precision the user asks for (`--bank-at`).

use std::sync::Arc;

use simforecast_runtime::model::Model;
use simforecast_train::evaluation::Evaluation;
use simforecast_train::savings::SavingsSummary;

use crate::args::EvaluateArgs;
use crate::data;
use crate::report::{self, fixed, fmt3};
use crate::AnyResult;

pub fn run(a: EvaluateArgs) -> AnyResult<()> {
    let bank_at = a.bank.checked()?;
    let model = Arc::new(Model::load(&a.model)?);
    let ds = data::load_for_model(&model, &a.traces, a.column.as_deref())?;
    let evaluation = Evaluation::new(&model, &ds, bank_at)?;
    if a.json {
        // Absent figures are written as null.
        return report::print_json(&evaluation);
    }
    let (m, honest) = (&evaluation.metrics, &evaluation.honest);
    println!(
        "{} held-out traces ({} irrelevant): {} halted ({} wrongly)",
        m.n, m.n_irrelevant, m.halts, m.false_halts
    );
    println!(
        "halting precision {}  recall {}  F1 {}",
        fixed(m.precision, 3),
        fixed(m.recall, 3),
        fmt3(m.f1)
    );
    let level = model.card().decisions.level.map(|l| l * 100.0);
    println!(
        "forecast R2 mu-sigma {}  mu+sigma {}; {}% interval covers {} of mu (mean width {})",
        fixed(m.r2[0], 3),
        fixed(m.r2[1], 3),
        fixed(level, 0),
        fixed(m.coverage, 3),
        fixed(m.interval_width, 3)
    );
    let one = SavingsSummary::of(std::slice::from_ref(honest)).expect("one split at one tolerance");
    report::print_honest_rule(bank_at, level);
    println!(
        "compute saved at ±{}: {:.2}x ({:.1} % fewer frames than the full runs)",
        report::percent(bank_at),
        honest.saved_ratio,
        honest.saved_share * 100.0
    );
    println!(
        "  runs: {} halted, {} stopped at a forecast within ±{}, {} ran to their end ({} of them \
         with only wider forecasts); halting precision {}",
        honest.halted,
        honest.banked,
        report::percent(bank_at),
        honest.ran_to_end + honest.too_wide,
        honest.too_wide,
        fixed(m.precision, 3)
    );
    println!("  banked forecasts: {}", report::banked(&one));
    println!(
        "the paper's accounting (every forecast counted as final, whatever its width): mean frames \
         to decision {}, compute saved {}x; out of distribution: {}",
        fixed(Some(m.mean_frames_to_decision), 1),
        fixed(Some(m.compute_saved), 1),
        m.ood
    );
    Ok(())
}
