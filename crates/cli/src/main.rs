//! `simforecast`: train, evaluate and inspect models that forecast LAMMPS NEMD runs from their
//! first frames, and replay a trace to see what the LAMMPS fix would decide.
//!
//! `args` is the command line, `data` reads the traces a command works on, `report` formats
//! figures, and `commands/` holds one module per command.

mod args;
mod commands;
mod data;
mod report;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

pub type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => commands::train::run(a),
        Command::Evaluate(a) => commands::evaluate::run(a),
        Command::Protocol(a) => commands::protocol::run(a),
        Command::Inspect(a) => commands::inspect::run(a),
        Command::Predict(a) => commands::predict::run(a),
        Command::Convergence(a) => commands::convergence::run(a),
        Command::Campaign(c) => commands::campaign::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("simforecast: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `simforecast inspect m.sfm | head` ends like `grep ... | head`: SIGPIPE ends the process
/// quietly. Rust ignores SIGPIPE by default, which turns a reader that stops early into a
/// "failed printing to stdout: Broken pipe" panic in every `println!`.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
