//! `simforecast inspect`: the model card of a model file (the same card `train` prints and the
//! LAMMPS fix logs).

use simforecast_runtime::model::Model;

use crate::args::InspectArgs;
use crate::report;
use crate::AnyResult;

pub fn run(a: InspectArgs) -> AnyResult<()> {
    let model = Model::load(&a.model)?;
    let card = model.card();
    if a.json {
        return report::print_json(&card);
    }
    println!("model file {}", a.model.display());
    println!("{card}");
    Ok(())
}
