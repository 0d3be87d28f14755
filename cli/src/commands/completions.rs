use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// `wasmctl completions SHELL`
#[derive(Debug, Args)]
#[command(
    after_help = "Example: wasmctl completions bash > ~/.local/share/bash-completion/completions/wasmctl"
)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    pub shell: Shell,
}

impl CompletionsArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let mut command = super::Cli::command();
        clap_complete::generate(self.shell, &mut command, "wasmctl", &mut std::io::stdout());
        Ok(())
    }
}
