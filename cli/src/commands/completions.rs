use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::ui::Ui;

/// `wasmctl completions SHELL`
#[derive(Debug, Args)]
#[command(
    after_help = "Example: wasmctl completions bash > ~/.local/share/bash-completion/completions/wasmctl"
)]
pub(crate) struct CompletionsArgs {
    /// The shell to generate completions for
    pub shell: Shell,
}

impl CompletionsArgs {
    pub(crate) fn run(self, ui: &Ui) -> anyhow::Result<()> {
        let mut command = super::Cli::command();
        // clap_complete panics when its writer fails: it writes into memory, and the
        // script reaches stdout through `Ui`, which ends quietly on a closed pipe.
        let mut script = Vec::new();
        clap_complete::generate(self.shell, &mut command, "wasmctl", &mut script);
        ui.output(&script)
    }
}
