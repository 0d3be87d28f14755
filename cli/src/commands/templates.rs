use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;
use wasmctl::templates::catalog::Catalog;
use wasmctl::templates::{Origin, Template};

use super::JsonArgs;
use crate::ui::Ui;

/// `wasmctl templates ...`
#[derive(Debug, Subcommand)]
pub(crate) enum TemplatesCommand {
    /// Show the embedded and installed templates and their parameters
    List {
        #[command(flatten)]
        format: JsonArgs,
    },
    /// Install a template from a directory or a .tar/.tar.gz archive, validating it first
    #[command(
        after_help = "A template is a directory holding `template.toml` (name, description,\n\
        [[parameters]] with name, prompt, default and pattern) and `content/`, the files to\n\
        render with handlebars. See templates/README.md in the wasmctl repository."
    )]
    Install {
        /// The template directory or archive
        source: PathBuf,
        /// Replace an installed template of the same name
        #[arg(long)]
        force: bool,
    },
    /// Remove an installed template
    Uninstall {
        /// The template's name
        name: String,
    },
}

#[derive(Serialize)]
struct TemplateSummary<'a> {
    name: &'a str,
    description: &'a str,
    /// `embedded` or the directory it is installed in.
    origin: String,
    parameters: Vec<ParameterSummary<'a>>,
}

#[derive(Serialize)]
struct ParameterSummary<'a> {
    name: &'a str,
    prompt: &'a str,
    default: &'a str,
    pattern: Option<&'a str>,
}

fn summary(template: &Template) -> TemplateSummary<'_> {
    TemplateSummary {
        name: &template.name,
        description: &template.description,
        origin: match &template.origin {
            Origin::Embedded => "embedded".to_string(),
            Origin::Installed(path) => path.display().to_string(),
        },
        parameters: template
            .parameters
            .iter()
            .map(|p| ParameterSummary {
                name: &p.name,
                prompt: &p.prompt,
                default: &p.default,
                pattern: p.pattern.as_ref().map(|pattern| pattern.as_str()),
            })
            .collect(),
    }
}

impl TemplatesCommand {
    pub(crate) fn run(self, ui: &Ui) -> Result<()> {
        let catalog = Catalog::for_user()?;
        match self {
            TemplatesCommand::List {
                format: JsonArgs { json },
            } => {
                let templates = catalog.all()?;
                let summaries: Vec<_> = templates.iter().map(summary).collect();
                if json {
                    return ui.json(&summaries);
                }
                for template in &summaries {
                    ui.result(format!("{:<16} {}", template.name, template.description))?;
                    let origin = match template.origin.as_str() {
                        "embedded" => "built in".to_string(),
                        path => format!("installed in {path}"),
                    };
                    ui.result(format!("{:<16} {origin}", ""))?;
                    for parameter in &template.parameters {
                        ui.result(format!(
                            "{:<16}   --value {}=…  (default: {:?})",
                            "", parameter.name, parameter.default
                        ))?;
                    }
                }
                Ok(())
            }
            TemplatesCommand::Install { source, force } => {
                let template = catalog.install(&source, force)?;
                ui.status(
                    "Installed",
                    format!(
                        "template `{}` ({} files)",
                        template.name,
                        template.file_count()
                    ),
                );
                Ok(())
            }
            TemplatesCommand::Uninstall { name } => {
                let path = catalog.uninstall(&name)?;
                ui.status(
                    "Removed",
                    format!("template `{name}` from {}", path.display()),
                );
                Ok(())
            }
        }
    }
}
