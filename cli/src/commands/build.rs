use std::time::Duration;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use wasmctl::build::{BuildEvent, BuildOptions, BuiltComponent, Profile, Step, build_component};
use wasmctl::manifest::{App, Component};

use super::{JsonArgs, ManifestArgs};
use crate::ui::Ui;

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
    Core modules (wasm32-wasip1) are turned into components with the WASI proxy adapter.\n\
    Every component is then validated against the world `wasmctl up` serves:\n\
    wasi:http/proxy@0.2.x plus wasi:cli and wasi:filesystem, no sockets."
)]
pub struct BuildArgs {
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
    componentized: bool,
    build_ms: u128,
    check_ms: u128,
    imports: &'a [String],
    exports: &'a [String],
}

impl BuildArgs {
    pub fn run(self, ui: &Ui) -> Result<()> {
        let app = self.manifest.load()?;
        let built = build_app(&app, &self.components, profile(self.debug), ui)?;
        if self.format.json {
            let reports: Vec<_> = built
                .iter()
                .map(|c| ComponentReport {
                    id: &c.id,
                    path: c.path.display().to_string(),
                    size: c.size,
                    world: &c.valid.world,
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
                "{:<width$}  {:>10}  {}  {}",
                component.id,
                bytesize::ByteSize::b(component.size)
                    .display()
                    .iec()
                    .to_string(),
                component.valid.world,
                format_duration(component.build_time + component.check_time),
            ))?;
        }
        Ok(())
    }
}

/// The build profile a `--debug` flag asks for.
pub fn profile(debug: bool) -> Profile {
    if debug {
        Profile::Debug
    } else {
        Profile::Release
    }
}

/// Builds the selected components (all when `only` is empty), reporting progress on `ui`.
/// `up --build` shares this.
pub fn build_app(
    app: &App,
    only: &[String],
    profile: Profile,
    ui: &Ui,
) -> Result<Vec<BuiltComponent>> {
    for id in only {
        if !app.components.contains_key(id) {
            let known: Vec<&str> = app.components.keys().map(String::as_str).collect();
            let suggestion = match wasmctl::diagnostic::did_you_mean(id, known.iter().copied()) {
                Some(best) => format!("did you mean `{best}`? "),
                None => String::new(),
            };
            anyhow::bail!(
                "no component `{id}` in `{}`\nhelp: {suggestion}its components: {}",
                app.manifest_path.display(),
                known.join(", ")
            );
        }
    }
    let mut built = Vec::new();
    for component in app
        .components
        .values()
        .filter(|c| only.is_empty() || only.contains(&c.id))
    {
        let component = build_one(app, component, profile, ui)?;
        ui.status(
            "Built",
            format!(
                "{} → {}{}",
                component.id,
                super::relative(&component.path, &app.dir),
                if component.componentized {
                    " (componentized)"
                } else {
                    ""
                }
            ),
        );
        built.push(component);
    }
    Ok(built)
}

/// Builds one component behind a spinner; compiler output streams above it.
pub fn build_one(
    app: &App,
    component: &Component,
    profile: Profile,
    ui: &Ui,
) -> Result<BuiltComponent> {
    let options = BuildOptions {
        profile,
        color: ui.color(),
        output_shown: !ui.is_quiet(),
    };
    let progress = ui.progress(&component.id);
    let result = build_component(app, component, options, &mut |event| match event {
        BuildEvent::Step(step) => {
            let what = match step {
                Step::Cargo { target, release } => format!(
                    "cargo build ({target}, {})",
                    if release { "release" } else { "debug" }
                ),
                Step::Running(command) => format!("running `{}`", shorten(command)),
                Step::Componentizing => "componentizing".to_string(),
                Step::Validating => "validating".to_string(),
            };
            progress.step(&what);
        }
        BuildEvent::Output(line) => progress.line(line),
    });
    progress.finish();
    result.map_err(|e| {
        anyhow::Error::new(e).context(format!("building component `{}`", component.id))
    })
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

pub fn format_duration(duration: Duration) -> String {
    if duration < Duration::from_millis(10) {
        format!("{:.1}ms", duration.as_secs_f64() * 1000.0)
    } else if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{:.2}s", duration.as_secs_f64())
    }
}
