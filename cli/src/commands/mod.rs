//! One module per subcommand: clap arguments plus the presentation around a domain call.

mod add;
mod build;
mod completions;
mod deploy;
mod doctor;
mod kv;
mod new;
mod registry;
mod shorthand;
mod template_values;
mod templates;
mod up;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use wasmctl::hint::Hinted;
use wasmctl::manifest::{self, App};
use wasmctl::registry::PushReport;

use crate::ui::{GlobalArgs, Ui};

pub(crate) use shorthand::expand_value_shorthand;

use crate::ui::relative;

/// Build, serve and ship WebAssembly HTTP components.
///
/// A wasmctl app is a directory with a `wasmctl.toml` manifest naming its components
/// (wasi:http/proxy components), the routes they serve, and what they may touch.
#[derive(Debug, Parser)]
#[command(
    name = "wasmctl",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(after_help = "Start here:\n  \
    wasmctl new http-rust svc --accept-defaults\n  \
    cd svc && wasmctl up --build\n\n\
    Docs: the manifest format is in docs/manifest.md of the wasmctl repository.")]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a new app from a template
    New(new::NewArgs),
    /// Add a component to the app from a template
    Add(add::AddArgs),
    /// Build every component of the app and validate it against what `up` serves
    Build(build::BuildArgs),
    /// Serve the app on a local HTTP server
    Up(up::UpArgs),
    /// Build, serve, and rebuild on every save (`up --watch`)
    Watch(up::WatchArgs),
    /// Push the app to an OCI registry and hand it to Kubernetes
    Deploy(deploy::DeployArgs),
    /// Log in to registries, push apps to them and pull apps from them
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// List, install and remove templates
    #[command(subcommand)]
    Templates(templates::TemplatesCommand),
    /// Read and change the app's key-value stores
    #[command(subcommand)]
    Kv(kv::KvCommand),
    /// Check that this machine and app are ready to build and serve
    Doctor(doctor::DoctorArgs),
    /// Print a shell completion script
    Completions(completions::CompletionsArgs),
}

impl Command {
    /// Whether the command runs a server, which handles Ctrl-C itself.
    pub(crate) fn serves(&self) -> bool {
        matches!(self, Command::Up(_) | Command::Watch(_))
    }

    /// Whether `--json` was given: the command's result, and its error, go to stdout as
    /// JSON.
    pub(crate) fn json(&self) -> bool {
        match self {
            Command::Build(args) => args.format.json,
            Command::Deploy(args) => args.format.json,
            Command::Doctor(args) => args.format.json,
            Command::Registry(
                registry::RegistryCommand::Push { format, .. }
                | registry::RegistryCommand::Pull { format, .. },
            )
            | Command::Templates(templates::TemplatesCommand::List { format }) => format.json,
            Command::Kv(command) => command.json(),
            Command::Registry(_)
            | Command::Templates(_)
            | Command::New(_)
            | Command::Add(_)
            | Command::Up(_)
            | Command::Watch(_)
            | Command::Completions(_) => false,
        }
    }

    pub(crate) fn run(self, ui: &Ui) -> anyhow::Result<()> {
        match self {
            Command::New(args) => args.run(ui),
            Command::Add(args) => args.run(ui),
            Command::Templates(command) => command.run(ui),
            Command::Completions(args) => args.run(ui),
            Command::Build(args) => args.run(ui),
            Command::Up(args) => args.run(ui),
            Command::Watch(args) => args.run(ui),
            Command::Deploy(args) => args.run(ui),
            Command::Registry(command) => command.run(ui),
            Command::Doctor(args) => args.run(ui),
            Command::Kv(command) => command.run(ui),
        }
    }
}

/// `--manifest PATH`, shared by the commands that work on an app.
#[derive(Debug, Args)]
pub(crate) struct ManifestArgs {
    /// The app manifest, wasmctl.toml or Spin's spin.toml, or the directory holding it
    /// (default: the one in this directory or the nearest parent; wasmctl.toml first)
    #[arg(long, value_name = "PATH", global = true)]
    pub manifest: Option<PathBuf>,
}

impl ManifestArgs {
    /// The manifest's path, found as cargo finds Cargo.toml when not given.
    pub(crate) fn path(&self) -> anyhow::Result<PathBuf> {
        match &self.manifest {
            Some(path) if path.is_dir() => {
                Ok(manifest::in_dir(path).unwrap_or_else(|| path.join(manifest::MANIFEST_FILE)))
            }
            Some(path) if !path.exists() => anyhow::bail!(Hinted::new(
                format!(
                    "`{}` (given with --manifest) does not exist",
                    path.display()
                ),
                format!(
                    "pass the path of an app's {} or of its directory, or leave out --manifest to use the one in this directory or the nearest parent",
                    manifest::MANIFEST_FILE
                )
            )),
            Some(path) => Ok(path.clone()),
            None => {
                let cwd = std::env::current_dir().context("reading the current directory")?;
                Ok(manifest::locate(&cwd)?)
            }
        }
    }

    pub(crate) fn load(&self) -> anyhow::Result<App> {
        Ok(manifest::load(&self.path()?)?)
    }
}

/// After a push (`deploy`, `registry push`): a status line, then the pinned reference
/// on stdout.
pub(crate) fn print_push(report: &PushReport, ui: &Ui) -> anyhow::Result<()> {
    ui.status(
        "Pushed",
        format!(
            "{} ({} of {} blobs uploaded, in {:.0?})",
            report.tagged,
            report.uploaded(),
            report.blobs.len(),
            report.elapsed
        ),
    );
    ui.result(&report.pinned)
}

/// A push as JSON (`deploy --json` adds its own keys).
pub(crate) fn push_json(report: &PushReport) -> serde_json::Value {
    serde_json::json!({
        "reference": report.pinned,
        "tag": report.tagged,
        "digest": report.digest,
        "blobs": report.blobs,
        "uploaded": report.uploaded(),
        "seconds": report.elapsed.as_secs_f64(),
    })
}

/// `--json`, for commands whose result scripts consume.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct JsonArgs {
    /// Print one JSON document for scripts (on stdout; progress and warnings stay on stderr)
    #[arg(long)]
    pub json: bool,
}

/// `--insecure`, for commands that talk to a registry.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct TransportArgs {
    /// Allow plain HTTP to a registry that is not on loopback
    #[arg(long)]
    pub insecure: bool,
}

/// A `KEY=VALUE` argument (`--key-value`; `--env` and `--kube-env` through
/// [`parse_env`]). The refusal does not quote the argument: its value may be a secret.
pub(crate) fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.trim().to_string(), value.to_string()))
        .ok_or_else(|| "it has no `=`; write KEY=VALUE".to_string())
}

/// A template's `--value KEY=VALUE` (never a secret: the refusal shows how to write it).
pub(crate) fn parse_template_value(text: &str) -> Result<(String, String), String> {
    parse_key_value(text)
        .map_err(|_| format!("`{text}` has no `=`; write KEY=VALUE, e.g. `{text}=...`"))
}

/// A value parser whose refusal names the flag and the problem only. clap's own quotes
/// the whole argument, and the value of `--variable`, `--env`, `--kube-env` or
/// `--key-value` may be a secret.
#[derive(Clone)]
pub(crate) struct Unquoted<T> {
    /// The flag as clap shows it, e.g. `--env <KEY=VALUE>`.
    flag: &'static str,
    parse: fn(&str) -> Result<T, String>,
}

impl<T> Unquoted<T> {
    pub(crate) const fn new(flag: &'static str, parse: fn(&str) -> Result<T, String>) -> Self {
        Self { flag, parse }
    }
}

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Unquoted<T> {
    type Value = T;

    fn parse_ref(
        &self,
        command: &clap::Command,
        _: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let refused = |problem: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!(
                    "invalid value for '{}': {problem}\n\nFor more information, try '--help'.\n",
                    self.flag
                ),
            )
            .with_cmd(command)
        };
        let text = value
            .to_str()
            .ok_or_else(|| refused("it is not UTF-8 text".to_string()))?;
        (self.parse)(text).map_err(refused)
    }
}

/// `--variable NAME=VALUE` (`up`, `deploy`), by the library's rule.
pub(crate) const VARIABLE_PARSER: Unquoted<(String, wasmctl::variables::Given)> =
    Unquoted::new("--variable <NAME=VALUE>", wasmctl::variables::parse_given);

/// A `NAME=VALUE` environment variable (`up --env`, `deploy --kube-env`), its name checked
/// with the manifest's rule for `environment` keys.
pub(crate) fn parse_env(text: &str) -> Result<(String, String), String> {
    let (name, value) = parse_key_value(text)?;
    manifest::check_env_key(&name)?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// clap's own consistency checks over the whole tree (conflicting names, `requires`
    /// of unknown arguments, ...), which otherwise fire only when a user hits them.
    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    /// The help of every command and subcommand, as a user reads it: a change to a flag
    /// shows up in review as a change to what `--help` teaches.
    #[test]
    fn help_of_every_command() {
        let mut root = Cli::command().term_width(100);
        root.build();
        let mut pending = vec![(String::from("wasmctl"), root)];
        while let Some((path, mut command)) = pending.pop() {
            let help = command.render_long_help().to_string();
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path("snapshots/help");
            settings.set_prepend_module_to_snapshot(false);
            settings.set_omit_expression(true);
            settings.bind(|| insta::assert_snapshot!(path.replace(' ', "-"), help));
            for sub in command.get_subcommands() {
                if sub.get_name() != "help" {
                    pending.push((format!("{path} {}", sub.get_name()), sub.clone()));
                }
            }
        }
    }
}
