use anyhow::Result;
use clap::Args;
use serde::Serialize;
use wasmctl::build::{Profile, build_app};

use super::{JsonArgs, ManifestArgs};
use crate::ui::{Ui, format_duration};

/// `wasmctl build`
#[derive(Debug, Args)]
#[command(
    after_help = "For each component with a `[component.ID.build]` table:\n  \
    cargo = {...}  wasmctl runs `cargo build --release --target wasm32-wasip2` itself and\n                 \
    puts the component at its `source`, wherever cargo's target directory is\n                 \
    (CARGO_TARGET_DIR and `build.target-dir` are respected)\n  \
    command = \"\"   runs through `sh -c` in `workdir`, and must produce `source`\n\
    --debug builds cargo components without --release into .wasmctl/debug/ID.wasm, which\n\
    `wasmctl up --debug` serves; `source` keeps the release build.\n\
    Core modules (wasm32-wasip1) are turned into components with the WASI preview1 reactor\n\
    adapter, so their environment and granted files work.\n\
    Every component is then validated against a world `wasmctl up` serves, and the one it\n\
    found is printed: WASI 0.2 wasi:http/proxy (export wasi:http/incoming-handler) or\n\
    WASI 0.3 wasi:http/service (export wasi:http/handler@0.3.x), each plus wasi:cli,\n\
    wasi:filesystem, wasi:config and wasi:keyvalue, no sockets."
)]
pub(crate) struct BuildArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// Build only this component (repeatable)
    #[arg(short, long = "component", value_name = "ID")]
    pub components: Vec<String>,
    /// Build cargo components without --release, into .wasmctl/debug/
    #[arg(long)]
    pub debug: bool,
    #[command(flatten)]
    pub format: JsonArgs,
}

#[derive(Serialize)]
struct ComponentReport<'a> {
    id: &'a str,
    path: String,
    size: u64,
    world: &'a str,
    /// `0.2` or `0.3`.
    wasi: &'a str,
    componentized: bool,
    build_ms: u128,
    check_ms: u128,
    imports: &'a [String],
    exports: &'a [String],
}

impl BuildArgs {
    pub(crate) fn run(self, ui: &Ui) -> Result<()> {
        let app = self.manifest.load()?;
        let built = build_app(
            &app,
            &self.components,
            ui.build_options(Profile::debug_if(self.debug)),
            &mut ui.build_progress(&app.dir),
        )?;
        if self.format.json {
            let reports: Vec<_> = built
                .iter()
                .map(|c| ComponentReport {
                    id: &c.id,
                    path: c.path.display().to_string(),
                    size: c.size,
                    world: &c.valid.world,
                    wasi: c.valid.wasi(),
                    componentized: c.componentized,
                    build_ms: c.build_time.as_millis(),
                    check_ms: c.check_time.as_millis(),
                    imports: &c.valid.imports,
                    exports: &c.valid.exports,
                })
                .collect();
            return ui.json(&serde_json::json!({ "app": app.name, "components": reports }));
        }
        let width = built.iter().map(|c| c.id.len()).max().unwrap_or(0);
        for component in &built {
            ui.result(format!(
                "{:<width$}  {:>10}  {} (WASI {})  {}",
                component.id,
                bytesize::ByteSize::b(component.size)
                    .display()
                    .iec()
                    .to_string(),
                component.valid.world,
                component.valid.wasi(),
                format_duration(component.build_time + component.check_time),
            ))?;
        }
        Ok(())
    }
}
