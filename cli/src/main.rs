//! The `wasmctl` binary: parse arguments, run one command, report its error.

mod commands;
mod transfer;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = commands::Cli::parse_from(commands::expand_value_shorthand(std::env::args_os()));
    let ui = ui::Ui::new(&cli.global);
    ui.init_logging();
    // A server shuts down gracefully on Ctrl-C by itself; every other command stops at
    // its next check and unwinds its staging (see `wasmctl::interrupt`).
    if !cli.command.serves()
        && let Err(error) = wasmctl::interrupt::install(ui.error_line("interrupted"))
    {
        ui.warn(format!("Ctrl-C will not clean up: {error}"));
    }
    let json = cli.command.json();
    match cli.command.run(&ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if ui::StdoutClosed::caused(&error) => ExitCode::SUCCESS,
        // Whatever failed once Ctrl-C was pressed (a child killed by the same SIGINT,
        // the work stopped at a check) failed because of it.
        Err(_) if wasmctl::interrupt::is_set() => {
            ui.error(&anyhow::Error::new(wasmctl::interrupt::Interrupted));
            ExitCode::from(wasmctl::interrupt::EXIT_CODE)
        }
        Err(error) if ui::UsageError::caused(&error) => {
            ui.error(&error);
            ExitCode::from(2)
        }
        Err(error) => {
            // Scripts read the error from stdout; first, so a closed stderr cannot lose
            // it. If stdout fails, stderr says it all.
            if json {
                let _ = ui.error_json(&error);
            }
            ui.error(&error);
            ExitCode::FAILURE
        }
    }
}
