//! Everything wasmctl prints: status lines and errors on stderr, results on stdout.
//!
//! Colours and progress bars appear only on a terminal, never with `NO_COLOR` or
//! `--color never`; `--quiet` keeps stderr to errors.
//!
//! Every write to stdout goes through [`Ui::result`], [`Ui::json`] or [`Ui::output`]:
//! when the reader went away (`wasmctl ... | head -1`), they return [`StdoutClosed`] and
//! `main` ends the command quietly with exit 0, as ripgrep does.

use std::collections::HashMap;
use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use wasmctl::build::{BuildEvent, BuildOptions, BuildProgress, BuiltComponent, Profile, Step};
use wasmctl::diagnostic::Diagnostics;
use wasmctl::hint;
use wasmctl::manifest::{Component, ManifestError};
use wasmctl::registry::PushProgress;

/// Options every subcommand takes, shown under their own heading so a command's help
/// starts with its own options.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// Print only errors and results
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what happens (-vv for debug logs); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to use colours; NO_COLOR in the environment means never
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The terminal as the commands see it.
#[derive(Debug, Clone)]
pub(crate) struct Ui {
    quiet: bool,
    verbose: u8,
    color: bool,
    interactive: bool,
    spinners: bool,
    /// Whether a JSON document went to stdout: a script reads one, the result or the
    /// error, never both.
    json_written: Arc<AtomicBool>,
}

impl Ui {
    pub(crate) fn new(global: &GlobalArgs) -> Self {
        let stderr_tty = std::io::stderr().is_terminal();
        let no_color =
            std::env::var_os(wasmctl::environment::NO_COLOR).is_some_and(|v| !v.is_empty());
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
            json_written: Arc::default(),
        }
    }

    /// `-v` shows info logs of wasmctl, `-vv` debug logs; `RUST_LOG` wins when set.
    pub(crate) fn init_logging(&self) {
        let default = match self.verbose {
            0 => "warn",
            1 => "wasmctl=info,warn",
            _ => "wasmctl=debug,info",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_env(wasmctl::environment::RUST_LOG)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(self.color)
            .with_target(false)
            .try_init();
    }

    /// Whether prompts may be shown.
    pub(crate) fn interactive(&self) -> bool {
        self.interactive
    }

    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// How many `-v` were given.
    pub(crate) fn verbosity(&self) -> u8 {
        self.verbose
    }

    /// Whether progress bars and spinners are drawn (a terminal, not `--quiet`).
    pub(crate) fn spinners_enabled(&self) -> bool {
        self.spinners
    }

    /// Progress of one long task (a component's build): a spinner on a terminal,
    /// plain lines elsewhere, nothing with `--quiet`.
    pub(crate) fn progress(&self, task: &str) -> Progress {
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
    pub(crate) fn status(&self, verb: &str, message: impl Display) {
        if !self.quiet {
            eprintln!(
                "{:>12} {message}",
                Style::new().green().bold().apply_to(verb)
            );
        }
    }

    pub(crate) fn warn(&self, message: impl Display) {
        if !self.quiet {
            eprintln!(
                "{} {message}",
                Style::new().yellow().bold().apply_to("warning:")
            );
        }
    }

    /// A warning and what to do about it, `help: TEXT` on the line after it.
    pub(crate) fn warn_hinted(&self, warning: &hint::Hinted) {
        self.warn(format_args!(
            "{}\nhelp: {}",
            warning.message(),
            warning.hint()
        ));
    }

    /// A result line on stdout, for people and pipes alike.
    pub(crate) fn result(&self, line: impl Display) -> anyhow::Result<()> {
        self.output(format!("{line}\n").as_bytes())
    }

    /// One JSON document on stdout, for scripts.
    pub(crate) fn json(&self, value: &impl serde::Serialize) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(value)?;
        text.push('\n');
        self.output(text.as_bytes())?;
        self.json_written.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Raw bytes on stdout (a completion script). Flushed at once, so a closed pipe is
    /// seen here, as [`StdoutClosed`], and not at exit, where Rust would panic.
    pub(crate) fn output(&self, bytes: &[u8]) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
                Err(StdoutClosed.into())
            }
            Err(error) => Err(anyhow::Error::new(error).context("writing to stdout")),
        }
    }

    /// Prints an error and its causes the way cargo does, each followed by `help: TEXT`
    /// when it carries a hint; located errors (manifest and template files) end with
    /// their rendered snippet, whose diagnostics hold their own help. A closed stderr
    /// loses the message, nothing more.
    pub(crate) fn error(&self, error: &anyhow::Error) {
        let mut text = String::new();
        for (depth, cause) in error.chain().enumerate() {
            if let Some(diagnostics) = located(cause) {
                text.push_str(&diagnostics.render(self.color));
                break;
            }
            if depth == 0 {
                text.push_str(&self.error_line(cause));
            } else {
                text.push_str(&format!(
                    "  {} {cause}\n",
                    Style::new().bold().apply_to("caused by:")
                ));
            }
            if let Some(hint) = hint_of(cause) {
                text.push_str(&format!("help: {hint}\n"));
            }
        }
        let _ = std::io::stderr().write_all(text.as_bytes());
    }

    /// The error of a command run with `--json`, as one JSON document on stdout, for
    /// scripts (people read [`Ui::error`] on stderr):
    /// `{"error": {"message", "causes", "help", "problems"}}`. `message` is what went
    /// wrong, `causes` the errors beneath it, `help` what to do about them; a located
    /// error (a manifest or template file) lists every problem in `problems`, each with
    /// its `file`, `line`, `column`, `message` and `help`, and its first problem is the
    /// `message`. Nothing when the command printed its result already (`doctor --json`
    /// reports the checks that then fail it). docs/errors.md documents this.
    pub(crate) fn error_json(&self, error: &anyhow::Error) -> anyhow::Result<()> {
        if self.json_written.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut messages = Vec::new();
        let mut help = Vec::new();
        let mut problems = Vec::new();
        for cause in error.chain() {
            if let Some(diagnostics) = located(cause) {
                let file = wasmctl::diagnostic::display_path(&diagnostics.path);
                for item in &diagnostics.items {
                    let (line, column) = match &item.span {
                        Some(span) => {
                            let (line, column) =
                                wasmctl::diagnostic::line_column(&diagnostics.source, span.start);
                            (Some(line), Some(column))
                        }
                        None => (None, None),
                    };
                    problems.push(serde_json::json!({
                        "file": file, "line": line, "column": column,
                        "message": item.message, "help": item.help,
                    }));
                }
                if let Some(first) = diagnostics.items.first() {
                    messages.push(match &first.span {
                        Some(span) => {
                            let (line, column) =
                                wasmctl::diagnostic::line_column(&diagnostics.source, span.start);
                            format!("{file}:{line}:{column}: {}", first.message)
                        }
                        None => format!("{file}: {}", first.message),
                    });
                    help.extend(first.help.clone());
                }
                break;
            }
            messages.push(cause.to_string());
            help.extend(hint_of(cause));
        }
        let (message, causes) = messages
            .split_first()
            .map_or((String::new(), &[][..]), |(first, rest)| {
                (first.clone(), rest)
            });
        self.json(&serde_json::json!({
            "error": { "message": message, "causes": causes, "help": help, "problems": problems }
        }))
    }

    /// `error: MESSAGE` and a line break, as [`Ui::error`] writes it to stderr.
    pub(crate) fn error_line(&self, message: impl std::fmt::Display) -> String {
        let red = Style::new().red().bold().for_stderr();
        format!("{} {message}\n", red.apply_to("error:"))
    }
}

/// Whoever read stdout is gone (`| head -1`): nothing more can be said there, and that
/// is no failure of the command, so `main` ends it quietly with exit 0 (as ripgrep does;
/// a shell pipeline judges by its last command anyway).
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed by its reader")]
pub(crate) struct StdoutClosed;

impl StdoutClosed {
    /// Whether `error` (or one of its causes) is a closed stdout.
    pub(crate) fn caused(error: &anyhow::Error) -> bool {
        error.chain().any(|cause| cause.is::<StdoutClosed>())
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
pub(crate) struct Progress {
    task: String,
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    /// The task moved on to a new step.
    pub(crate) fn step(&self, what: &str) {
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
    pub(crate) fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{text}")),
            None if !self.quiet => eprintln!("{text}"),
            None => {}
        }
    }

    pub(crate) fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// How builds run for this terminal: coloured compiler output when ours is, and the
/// output shown as it streams unless `--quiet` (a failure then repeats its last lines).
impl Ui {
    pub(crate) fn build_options(&self, profile: Profile) -> BuildOptions {
        BuildOptions {
            profile,
            color: self.color,
            output_shown: !self.quiet,
        }
    }

    /// A spinner per component being built, and a `Built` line as each one ends; paths
    /// are shown relative to `app_dir`.
    pub(crate) fn build_progress<'a>(&'a self, app_dir: &'a std::path::Path) -> BuildSpinners<'a> {
        BuildSpinners {
            ui: self,
            app_dir,
            current: None,
            built_lines: true,
        }
    }
}

/// See [`Ui::build_progress`].
pub(crate) struct BuildSpinners<'a> {
    ui: &'a Ui,
    app_dir: &'a std::path::Path,
    current: Option<Progress>,
    /// Say `Built` as each component ends (the dev loop sums up a rebuild instead).
    built_lines: bool,
}

impl BuildSpinners<'_> {
    /// Spinners only, without a `Built` line per component.
    pub(crate) fn without_built_lines(self) -> Self {
        Self {
            built_lines: false,
            ..self
        }
    }
}

impl BuildProgress for BuildSpinners<'_> {
    fn started(&mut self, component: &Component) {
        self.current = Some(self.ui.progress(&component.id));
    }

    fn event(&mut self, event: BuildEvent<'_>) {
        let Some(progress) = &self.current else {
            return;
        };
        match event {
            BuildEvent::Step(step) => progress.step(&describe_step(step)),
            BuildEvent::Output(line) => progress.line(line),
        }
    }

    fn finished(&mut self, built: Option<&BuiltComponent>) {
        if let Some(progress) = self.current.take() {
            progress.finish();
        }
        if let Some(component) = built.filter(|_| self.built_lines) {
            self.ui.status(
                "Built",
                format!(
                    "{} → {}{}",
                    component.id,
                    relative(&component.path, self.app_dir),
                    if component.componentized {
                        " (componentized)"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
}

/// A build step as its spinner says it.
fn describe_step(step: Step<'_>) -> String {
    match step {
        Step::Cargo { target, release } => format!(
            "cargo build ({target}, {})",
            if release { "release" } else { "debug" }
        ),
        Step::Installing(command) => format!("installing packages: `{}`", shorten(command)),
        Step::Running(command) => format!("running `{}`", shorten(command)),
        Step::Componentizing => "componentizing".to_string(),
        Step::Validating => "validating".to_string(),
    }
}

/// The first line of a build command, cut to fit a spinner line.
fn shorten(command: &str) -> String {
    const WIDTH: usize = 40;
    let first_line = command.lines().next().unwrap_or_default().trim();
    if first_line.chars().count() <= WIDTH && !command.trim().contains('\n') {
        return first_line.to_string();
    }
    let cut: String = first_line.chars().take(WIDTH).collect();
    format!("{}…", cut.trim_end())
}

/// A duration as people read it: `4.2ms`, `350ms`, `1.25s`.
pub(crate) fn format_duration(duration: Duration) -> String {
    if duration < Duration::from_millis(10) {
        format!("{:.1}ms", duration.as_secs_f64() * 1000.0)
    } else if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{:.2}s", duration.as_secs_f64())
    }
}

/// `path` relative to `base` when it is inside it, for shorter messages.
pub(crate) fn relative(path: &std::path::Path, base: &std::path::Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Progress of a registry push: per-layer upload bars on a terminal, one status line
/// per layer otherwise.
pub(crate) struct LayerProgress<'a> {
    ui: &'a Ui,
    bars: Option<MultiProgress>,
    active: Mutex<HashMap<String, ProgressBar>>,
}

impl<'a> LayerProgress<'a> {
    pub(crate) fn new(ui: &'a Ui) -> Self {
        Self {
            ui,
            bars: ui.spinners_enabled().then(MultiProgress::new),
            active: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bars) = &self.bars {
            let _ = bars.clear();
        }
    }
}

impl PushProgress for LayerProgress<'_> {
    fn start(&self, title: &str, size: u64) {
        if let Some(bars) = &self.bars {
            let bar = bars.add(ProgressBar::new(size)).with_style(
                ProgressStyle::with_template(
                    "{prefix:>16} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .expect("valid progress template")
                .progress_chars("=> "),
            );
            bar.set_prefix(title.to_string());
            self.active
                .lock()
                .expect("not poisoned")
                .insert(title.to_string(), bar);
        }
    }

    fn advance(&self, title: &str, bytes: u64) {
        if let Some(bar) = self.active.lock().expect("not poisoned").get(title) {
            bar.inc(bytes);
        }
    }

    fn done(&self, title: &str, size: u64, uploaded: bool) {
        if let Some(bar) = self.active.lock().expect("not poisoned").remove(title) {
            bar.finish_and_clear();
        }
        let size = bytesize::ByteSize::b(size).display().iec().to_string();
        if uploaded {
            self.ui.status("Uploaded", format!("{title} ({size})"));
        } else {
            self.ui.status(
                "Exists",
                format!("{title} ({size}, already in the registry)"),
            );
        }
    }
}

/// A command used wrongly in a way clap cannot see (an argument only a terminal can
/// stand in for): the binary exits with 2, as for clap's own usage errors.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct UsageError {
    message: String,
    hint: wasmctl::hint::Hint,
}

impl UsageError {
    pub(crate) fn new(message: impl Into<String>, hint: impl Into<wasmctl::hint::Hint>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Whether `error` is one.
    pub(crate) fn caused(error: &anyhow::Error) -> bool {
        error.downcast_ref::<UsageError>().is_some()
    }
}

/// What to do about one cause of an error: the library's hint, or a usage error's.
fn hint_of(cause: &(dyn std::error::Error + 'static)) -> Option<wasmctl::hint::Hint> {
    hint::of(cause).or_else(|| {
        cause
            .downcast_ref::<UsageError>()
            .map(|usage| usage.hint.clone())
    })
}
