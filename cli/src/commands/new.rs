use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use wasmctl::names::check_name;
use wasmctl::templates::catalog::Catalog;
use wasmctl::templates::{Parameter, Template};

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
pub struct NewArgs {
    /// The template to render, e.g. `http-rust`
    pub template: String,
    /// The app name: a letter, then letters, digits, `-` or `_`
    pub name: String,
    /// Directory to create (default: ./NAME); must not exist or be empty
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Set a template parameter (repeatable); `-v KEY=VALUE` works too (a `-v` not
    /// followed by KEY=VALUE is --verbose)
    #[arg(long = "value", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub values: Vec<(String, String)>,
    /// Take the default of every parameter not set with --value, without prompting
    #[arg(short = 'y', long)]
    pub accept_defaults: bool,
}

pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.trim().to_string(), value.to_string()))
        .ok_or_else(|| format!("`{text}` has no `=`; write KEY=VALUE, e.g. `{text}=...`"))
}

impl NewArgs {
    pub fn run(self, ui: &Ui) -> Result<()> {
        check_name("app name", &self.name).map_err(|message| {
            // A path where a name belongs: the name is its last part, the path is --output.
            let last = Path::new(&self.name)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|last| check_name("app name", last).is_ok());
            match last {
                Some(last) if self.name.contains(['/', '\\']) => anyhow::anyhow!(
                    "{message}\nhelp: the name is not a path; to create `{last}` in `{}`, run `wasmctl new {} {last} --output {}`",
                    self.name,
                    self.template,
                    self.name
                ),
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
        wasmctl::templates::ensure_empty_target(&target)?;

        let values = self.collect_values(&template, ui)?;
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

    /// A value for every parameter: `--value`, else a prompt on a terminal, else the default.
    fn collect_values(&self, template: &Template, ui: &Ui) -> Result<BTreeMap<String, String>> {
        let mut given: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in &self.values {
            if !template.parameters.iter().any(|p| &p.name == key) {
                let known: Vec<&str> = template
                    .parameters
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect();
                let suggestion = match wasmctl::diagnostic::did_you_mean(key, known.iter().copied())
                {
                    Some(best) => format!("\nhelp: did you mean `{best}`?"),
                    None => String::new(),
                };
                bail!(
                    "template `{}` has no parameter `{key}`; its parameters: {}{suggestion}",
                    template.name,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                );
            }
            given.insert(key.clone(), value.clone());
        }
        let prompt = ui.interactive() && !self.accept_defaults;
        let mut values = BTreeMap::new();
        for parameter in &template.parameters {
            let value = match given.remove(&parameter.name) {
                Some(value) => value,
                None if prompt => ask(parameter)?,
                None => parameter.default.clone(),
            };
            parameter.check(&value).map_err(|message| {
                anyhow::anyhow!(
                    "{message}; nothing was written\nhelp: `{}` asks for: {}; its default is `{}`",
                    parameter.name,
                    parameter.prompt,
                    parameter.default
                )
            })?;
            values.insert(parameter.name.clone(), value);
        }
        Ok(values)
    }
}

fn ask(parameter: &Parameter) -> Result<String> {
    let checked = parameter.clone();
    dialoguer::Input::<String>::new()
        .with_prompt(&parameter.prompt)
        .default(parameter.default.clone())
        .allow_empty(true)
        .validate_with(move |value: &String| checked.check(value))
        .interact_text()
        .with_context(|| format!("asking for `{}`", parameter.name))
}
