//! The `sockgrade` command: parse, run, map the outcome to an exit code.

use clap::Parser;
use sockgrade::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(cli::run_and_report(Cli::parse()))
}
