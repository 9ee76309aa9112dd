//! One module per command; each has `run(args)`.

pub mod campaign;
pub mod convergence;
pub mod evaluate;
pub mod inspect;
pub mod predict;
pub mod protocol;
pub mod train;
