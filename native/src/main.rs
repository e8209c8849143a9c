//! The `calstore` command-line tool: parses the arguments, runs the command and maps failures
//! to exit codes (0 success, 2 usage errors, 1 anything else) with one line on stderr.
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => return cli::report_clap_error(&e),
    };
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}
