use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use wasmctl::hint::Hinted;
use wasmctl::names::check_name;
use wasmctl::templates::catalog::Catalog;

use super::template_values::TemplateValues;
use crate::ui::Ui;

/// `wasmctl new TEMPLATE NAME`
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    wasmctl new http-rust svc                      # asks for each parameter on a terminal\n  \
    wasmctl new http-rust svc --accept-defaults    # no questions (CI)\n  \
    wasmctl new http-rust api --value http_route=/api/... --output services/api\n  \
    wasmctl new http-rust api -v http_route=/api/...   # -v KEY=VALUE is --value, as in Spin\n\n\
    Without a terminal wasmctl never prompts: unset parameters take their defaults.\n\
    `wasmctl templates list` shows the templates and their parameters.")]
pub(crate) struct NewArgs {
    /// The template to render, e.g. `http-rust`
    pub template: String,
    /// The app name: an ASCII letter, then ASCII letters, digits, `-` or `_`
    pub name: String,
    /// Directory to create (default: ./NAME); must not exist or be empty
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub values: TemplateValues,
}

impl NewArgs {
    pub(crate) fn run(self, ui: &Ui) -> Result<()> {
        check_name("app name", &self.name).map_err(|message| {
            // A path where a name belongs: the name is its last part, the path is --output.
            let last = Path::new(&self.name)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|last| check_name("app name", last).is_ok());
            match last {
                Some(last) if self.name.contains(['/', '\\']) => Hinted::new(
                    message,
                    format!(
                        "the name is not a path; to create `{last}` in `{}`, run `wasmctl new {} {last} --output {}`",
                        self.name, self.template, self.name
                    ),
                )
                .into(),
                _ => anyhow::Error::msg(message),
            }
        })?;
        let catalog = Catalog::for_user()?;
        let template = catalog.find(&self.template)?;
        let target = self
            .output
            .clone()
            .unwrap_or_else(|| PathBuf::from(&self.name));
        // Fail before asking questions whose answers could not be used.
        let help = match &self.output {
            Some(_) => "pass `--output` a directory that does not exist yet or is empty",
            None => "choose another name, or pass `--output DIR` to create the app elsewhere",
        };
        wasmctl::templates::ensure_empty_dir(&target, help)?;

        let values = self.values.collect(&template, ui)?;
        let started = Instant::now();
        template
            .render(&self.name, &values, &target)
            .with_context(|| {
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
        ui.result(format!(
            "next: cd {} && wasmctl up --build",
            target.display()
        ))
    }
}
