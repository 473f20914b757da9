//! The `sockgrade` command: parse, run, map the outcome to an exit code.

use clap::Parser;
use sockgrade::cli::{self, Cli};
use sockgrade::error::exit_code;
use sockgrade::text::escape_output;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = std::panic::catch_unwind(|| cli::run(cli));
    ExitCode::from(match outcome {
        Ok(Ok(code)) => code,
        Ok(Err(error)) => {
            // Messages quote names and files from outside: no escape
            // sequence in them may reach the terminal live.
            let shown = |text: String| escape_output(text.as_bytes());
            let mut lines = error.lines().into_iter();
            if let Some(message) = lines.next() {
                eprintln!("sockgrade: {}", shown(message));
            }
            for cause in lines {
                eprintln!("  caused by: {}", shown(cause));
            }
            error.exit_code()
        }
        Err(_) => {
            eprintln!(
                "sockgrade: internal error (a bug in sockgrade): please report it with the command you ran"
            );
            exit_code::INTERNAL
        }
    })
}
