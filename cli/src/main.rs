//! The `wasmctl` binary: parse arguments, run one command, report its error.

mod commands;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = commands::Cli::parse_from(commands::expand_value_shorthand(std::env::args_os()));
    let ui = ui::Ui::new(&cli.global);
    ui.init_logging();
    match cli.command.run(&ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if ui::StdoutClosed::caused(&error) => ExitCode::SUCCESS,
        Err(error) => {
            ui.error(&error);
            ExitCode::FAILURE
        }
    }
}
