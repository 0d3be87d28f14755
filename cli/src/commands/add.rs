use anyhow::Result;
use clap::Args;
use wasmctl::templates::add::ComponentSlot;
use wasmctl::templates::catalog::Catalog;

use super::template_values::TemplateValues;
use super::{ManifestArgs, relative};
use crate::ui::Ui;

/// `wasmctl add TEMPLATE NAME`
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    wasmctl add http-rust api --value http_route=/api/...   # in an app made by `wasmctl new`\n  \
    wasmctl add http-rust admin -y --value http_route=/admin/... --manifest shop/\n\n\
    The component's files go into NAME/ beside wasmctl.toml; its trigger, component and\n\
    build tables are added to wasmctl.toml, whose comments and layout are kept. When the\n\
    app has a Cargo.toml, a Rust component's crate joins its workspace and shares its\n\
    target directory, so dependencies already built are not built again.\n\
    Without a terminal wasmctl never prompts: unset parameters take their defaults.")]
pub(crate) struct AddArgs {
    /// The template to render, e.g. `http-rust`
    pub template: String,
    /// The component id, also its directory: a letter, then letters, digits, `-` or `_`
    pub name: String,
    #[command(flatten)]
    pub values: TemplateValues,
    #[command(flatten)]
    pub manifest: ManifestArgs,
}

impl AddArgs {
    pub(crate) fn run(self, ui: &Ui) -> Result<()> {
        // Everything that can be refused is checked before the first question.
        let slot = ComponentSlot::find(&self.manifest.path()?, &self.name)?;
        let template = Catalog::for_user()?.find(&self.template)?;
        let values = self.values.collect(&template, ui)?;
        let app_dir = slot.app().dir.clone();
        let added = slot.add(&template, &values)?;

        ui.status(
            "Added",
            format!(
                "component `{}` from template `{}` in `{}/`",
                added.components.join("`, `"),
                template.name,
                relative(&added.dir, &app_dir)
            ),
        );
        if let Some(workspace) = &added.workspace {
            ui.status(
                "Joined",
                format!(
                    "the cargo workspace of `{}`: one target directory for every crate",
                    relative(workspace, &app_dir)
                ),
            );
        }
        for route in &added.routes {
            ui.result(format!("route {route}"))?;
        }
        ui.result("next: wasmctl up --build")
    }
}
