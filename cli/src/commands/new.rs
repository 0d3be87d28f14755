use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use wasmctl::build::toolchain;
use wasmctl::hint::Hinted;
use wasmctl::names::check_name;
use wasmctl::templates::catalog::Catalog;

use super::template_values::TemplateValues;
use crate::ui::{Ui, UsageError};

/// `wasmctl new TEMPLATE NAME`
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    wasmctl new                                    # pick a template and a name on a terminal\n  \
    wasmctl new http-rust svc                      # asks for each parameter on a terminal\n  \
    wasmctl new http-js web -y                     # JavaScript; http-ts, http-python too\n  \
    wasmctl new http-rust svc --accept-defaults    # no questions (CI)\n  \
    wasmctl new http-rust api --value http_route=/api/... --output services/api\n  \
    wasmctl new http-rust api -v http_route=/api/...   # -v KEY=VALUE is --value, as in Spin\n\n\
    Without a terminal wasmctl never prompts: unset parameters take their defaults.\n\
    `wasmctl templates list` shows the templates and their parameters.")]
pub(crate) struct NewArgs {
    /// The template to render, e.g. `http-rust` (on a terminal, left out: pick from a list)
    pub template: Option<String>,
    /// The app name: an ASCII letter, then ASCII letters, digits, `-` or `_` (on a
    /// terminal, left out: asked for)
    pub name: Option<String>,
    /// Directory to create (default: ./NAME); must not exist or be empty
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub values: TemplateValues,
}

impl NewArgs {
    pub(crate) fn run(self, ui: &Ui) -> Result<()> {
        let catalog = Catalog::for_user()?;
        let template_name = match &self.template {
            Some(name) => name.clone(),
            None => pick_template(&catalog, ui)?,
        };
        let name = match &self.name {
            Some(name) => name.clone(),
            None => ask_name(&template_name, ui)?,
        };
        check_name("app name", &name).map_err(|message| {
            // A path where a name belongs: the name is its last part, the path is --output.
            let last = Path::new(&name)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|last| check_name("app name", last).is_ok());
            match last {
                Some(last) if name.contains(['/', '\\']) => Hinted::new(
                    message,
                    format!(
                        "the name is not a path; to create `{last}` in `{name}`, run `wasmctl new {template_name} {last} --output {name}`"
                    ),
                )
                .into(),
                _ => anyhow::Error::msg(message),
            }
        })?;
        let template = catalog.find(&template_name)?;
        let target = self.output.clone().unwrap_or_else(|| PathBuf::from(&name));
        // Fail before asking questions whose answers could not be used.
        let help = match &self.output {
            Some(_) => "pass `--output` a directory that does not exist yet or is empty",
            None => "choose another name, or pass `--output DIR` to create the app elsewhere",
        };
        wasmctl::templates::ensure_empty_dir(&target, help)?;

        let values = self.values.collect(&template, ui)?;
        let started = Instant::now();
        template.render(&name, &values, &target).with_context(|| {
            format!(
                "creating `{}` from template `{}`",
                target.display(),
                template.name
            )
        })?;
        ui.status(
            "Created",
            format!(
                "`{}` from template `{}` ({} files in {:.1?})",
                target.display(),
                template.name,
                template.file_count(),
                started.elapsed()
            ),
        );
        warn_missing_tools(&target, ui);
        ui.result(format!(
            "next: cd {} && wasmctl up --build",
            target.display()
        ))
    }
}

/// Says now, not at the first build, which tools the new app's builds need and this
/// machine lacks (a JavaScript template on a machine without node, say).
fn warn_missing_tools(app_dir: &Path, ui: &Ui) {
    let Ok(app) = wasmctl::manifest::load(&app_dir.join(wasmctl::manifest::MANIFEST_FILE)) else {
        return;
    };
    for needed in toolchain::app_requirements(&app) {
        if let Err(problem) = toolchain::check(&needed.requirement) {
            ui.warn_hinted(&Hinted::new(
                format!("{problem}; `wasmctl build` needs it for this app"),
                problem.hint(),
            ));
        }
    }
}

/// Lets the user pick a template on a terminal; without one, lists them and stops with a
/// usage error (exit code 2), as a missing argument does.
fn pick_template(catalog: &Catalog, ui: &Ui) -> Result<String> {
    let templates = catalog.all()?;
    let width = templates.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let lines: Vec<String> = templates
        .iter()
        .map(|t| format!("{:width$}  {}", t.name, t.description))
        .collect();
    if !ui.interactive() {
        return Err(UsageError::new(
            format!(
                "name a template: `wasmctl new TEMPLATE NAME`. The templates:\n{}",
                lines
                    .iter()
                    .map(|l| format!("  {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            "e.g. `wasmctl new http-rust my-app`; `wasmctl templates list` shows their parameters",
        )
        .into());
    }
    let chosen = dialoguer::Select::new()
        .with_prompt("Template (Esc or q to cancel)")
        .items(&lines)
        .default(0)
        .interact_opt()
        .context("asking for the template")?
        .context("no template chosen; nothing was created")?;
    Ok(templates[chosen].name.clone())
}

/// Asks for the app name on a terminal; without one, stops with a usage error.
fn ask_name(template: &str, ui: &Ui) -> Result<String> {
    if !ui.interactive() {
        return Err(UsageError::new(
            "name the app: `wasmctl new TEMPLATE NAME`",
            format!("e.g. `wasmctl new {template} my-app`"),
        )
        .into());
    }
    dialoguer::Input::<String>::new()
        .with_prompt("App name")
        .validate_with(|value: &String| check_name("app name", value))
        .interact_text()
        .context("asking for the app name")
}
