//! Everything wasmctl prints: status lines and errors on stderr, results on stdout.
//!
//! Colours and progress bars appear only on a terminal, never with `NO_COLOR` or
//! `--color never`; `--quiet` keeps stderr to errors.

use std::fmt::Display;
use std::io::IsTerminal;

use std::time::Duration;

use console::Style;
use indicatif::{ProgressBar, ProgressStyle};

use wasmctl::diagnostic::Diagnostics;
use wasmctl::manifest::ManifestError;

use crate::commands::{ColorChoice, GlobalArgs};

/// The terminal as the commands see it.
#[derive(Debug, Clone)]
pub struct Ui {
    quiet: bool,
    verbose: u8,
    color: bool,
    interactive: bool,
    spinners: bool,
}

impl Ui {
    pub fn new(global: &GlobalArgs) -> Self {
        let stderr_tty = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stderr_tty && !no_color,
        };
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color);
        Self {
            quiet: global.quiet,
            verbose: global.verbose,
            color,
            // Prompts need someone to answer them: a terminal on both ends.
            interactive: stderr_tty && std::io::stdin().is_terminal(),
            spinners: stderr_tty && !global.quiet,
        }
    }

    /// `-v` shows info logs of wasmctl, `-vv` debug logs; `RUST_LOG` wins when set.
    pub fn init_logging(&self) {
        let default = match self.verbose {
            0 => "warn",
            1 => "wasmctl=info,warn",
            _ => "wasmctl=debug,info",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(self.color)
            .with_target(false)
            .try_init();
    }

    /// Whether prompts may be shown.
    pub fn interactive(&self) -> bool {
        self.interactive
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// How many `-v` were given.
    pub fn verbosity(&self) -> u8 {
        self.verbose
    }

    /// Whether progress bars and spinners are drawn (a terminal, not `--quiet`).
    pub fn spinners_enabled(&self) -> bool {
        self.spinners
    }

    pub fn color(&self) -> bool {
        self.color
    }

    /// Progress of one long task (a component's build): a spinner on a terminal,
    /// plain lines elsewhere, nothing with `--quiet`.
    pub fn progress(&self, task: &str) -> Progress {
        let bar = self.spinners.then(|| {
            let bar = ProgressBar::new_spinner()
                .with_style(
                    ProgressStyle::with_template(
                        "{spinner:.cyan} {prefix:.bold} {wide_msg} {elapsed:.dim}",
                    )
                    .expect("valid progress template"),
                )
                .with_prefix(task.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Progress {
            task: task.to_string(),
            bar,
            quiet: self.quiet,
        }
    }

    /// A cargo-style status line on stderr: a right-aligned green verb, then the message.
    pub fn status(&self, verb: &str, message: impl Display) {
        if !self.quiet {
            eprintln!(
                "{:>12} {message}",
                Style::new().green().bold().apply_to(verb)
            );
        }
    }

    pub fn warn(&self, message: impl Display) {
        if !self.quiet {
            eprintln!(
                "{} {message}",
                Style::new().yellow().bold().apply_to("warning:")
            );
        }
    }

    /// A result line on stdout, for people and pipes alike.
    pub fn result(&self, line: impl Display) {
        println!("{line}");
    }

    /// One JSON document on stdout, for scripts.
    pub fn json(&self, value: &impl serde::Serialize) -> anyhow::Result<()> {
        println!("{}", serde_json::to_string_pretty(value)?);
        Ok(())
    }

    /// Prints an error and its causes the way cargo does; located errors (manifest and
    /// template files) end with their rendered snippet.
    pub fn error(&self, error: &anyhow::Error) {
        let red = Style::new().red().bold();
        for (depth, cause) in error.chain().enumerate() {
            if let Some(diagnostics) = located(cause) {
                eprint!("{}", diagnostics.render(self.color));
                return;
            }
            if depth == 0 {
                eprintln!("{} {cause}", red.apply_to("error:"));
            } else {
                eprintln!("  {} {cause}", Style::new().bold().apply_to("caused by:"));
            }
        }
    }
}

fn located<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a Diagnostics> {
    cause
        .downcast_ref::<Diagnostics>()
        .or_else(|| match cause.downcast_ref::<ManifestError>() {
            Some(ManifestError::Invalid(diagnostics)) => Some(diagnostics),
            _ => None,
        })
}

/// See [`Ui::progress`].
pub struct Progress {
    task: String,
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    /// The task moved on to a new step.
    pub fn step(&self, what: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(what.to_string()),
            None if !self.quiet => eprintln!(
                "{:>12} {}: {what}",
                Style::new().cyan().apply_to("…"),
                self.task
            ),
            None => {}
        }
    }

    /// A line of a child process's output (compiler diagnostics), shown above the spinner.
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{text}")),
            None if !self.quiet => eprintln!("{text}"),
            None => {}
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
