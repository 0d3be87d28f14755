//! The template parameters of `new` and `add`: `--value KEY=VALUE`, `--accept-defaults`,
//! and prompts on a terminal.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use clap::Args;
use wasmctl::diagnostic::suggestion;
use wasmctl::hint::Hinted;
use wasmctl::templates::{Parameter, Template};

use crate::ui::Ui;

/// How a template's parameters get their values.
#[derive(Debug, Args)]
pub(crate) struct TemplateValues {
    /// Set a template parameter (repeatable); `-v KEY=VALUE` works too (a `-v` not
    /// followed by KEY=VALUE is --verbose)
    #[arg(long = "value", value_name = "KEY=VALUE", value_parser = super::parse_template_value)]
    pub values: Vec<(String, String)>,
    /// Take the default of every parameter not set with --value, without prompting
    #[arg(short = 'y', long)]
    pub accept_defaults: bool,
}

impl TemplateValues {
    /// A value for every parameter: `--value`, else a prompt on a terminal, else the default.
    pub(crate) fn collect(&self, template: &Template, ui: &Ui) -> Result<BTreeMap<String, String>> {
        let mut given: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in &self.values {
            if !template.parameters.iter().any(|p| &p.name == key) {
                let known = template.parameters.iter().map(|p| p.name.as_str());
                bail!(Hinted::new(
                    format!("template `{}` has no parameter `{key}`", template.name),
                    suggestion(key, known, "its parameters"),
                ));
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
                Hinted::new(
                    format!("{message}; nothing was written"),
                    format!(
                        "`{}` asks for: {}; its default is `{}`",
                        parameter.name, parameter.prompt, parameter.default
                    ),
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
