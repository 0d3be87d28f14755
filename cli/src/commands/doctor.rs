use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use console::Style;
use serde::Serialize;
use wasmctl::build::{BuildError, Profile, check_source, stale_input, toolchain};
use wasmctl::hint;
use wasmctl::manifest::{App, BuildKind, DEFAULT_CARGO_TARGET, FileMount, ManifestError};

use super::{JsonArgs, ManifestArgs};
use crate::ui::Ui;

/// `wasmctl doctor`
#[derive(Debug, Args)]
#[command(
    after_help = "Checks, in order: cargo, rustup and the Rust targets the app builds for\n\
    (wasm32-wasip2 at least; skipped when no component is built with cargo), the tools\n\
    the builds require (`requires` and `dependencies` in a build table: node, npm,\n\
    python3 and its venv module), the manifest, and each component's current file\n\
    and `files` directories.\n\
    Exits 1 when any check fails; each failure says how to fix it."
)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub format: JsonArgs,
}

#[derive(Debug, Serialize)]
struct Check {
    name: String,
    ok: bool,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

impl Check {
    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

impl DoctorArgs {
    pub(crate) fn run(self, ui: &Ui) -> Result<()> {
        let checks = self.checks();
        if self.format.json {
            ui.json(&serde_json::json!({ "ok": checks.iter().all(|c| c.ok), "checks": checks }))?;
        } else {
            for check in &checks {
                let mark = if check.ok {
                    Style::new().green().apply_to("✓")
                } else {
                    Style::new().red().apply_to("✗")
                };
                ui.result(format!("{mark} {}: {}", check.name, check.detail))?;
                if let Some(fix) = &check.fix {
                    ui.result(format!("    fix: {fix}"))?;
                }
            }
        }
        let failed = checks.iter().filter(|c| !c.ok).count();
        if failed > 0 {
            anyhow::bail!("{failed} of {} checks failed", checks.len());
        }
        Ok(())
    }

    fn checks(&self) -> Vec<Check> {
        let app = self
            .manifest
            .path()
            .and_then(|path| Ok(wasmctl::manifest::load(&path)?));
        let mut checks = Vec::new();
        // The Rust toolchain matters to apps with a cargo build, and to a directory whose
        // app could not be read (it may well be a Rust one).
        let cargo_builds = match &app {
            Ok(app) => app.components.values().any(|c| {
                matches!(
                    c.build.as_ref().map(|b| &b.kind),
                    Some(BuildKind::Cargo { .. })
                )
            }),
            Err(_) => true,
        };
        if cargo_builds {
            checks.extend(rust_checks(app.as_ref().ok()));
        }
        if let Ok(app) = &app {
            checks.extend(tool_checks(app));
        }

        let app = match app {
            Ok(app) => {
                checks.push(Check::pass(
                    "manifest",
                    format!("{} is valid", app.manifest_path.display()),
                ));
                app
            }
            Err(error) => {
                let not_found = matches!(
                    error.downcast_ref::<ManifestError>(),
                    Some(ManifestError::NotFound { .. })
                );
                checks.push(if not_found {
                    Check::fail(
                        "manifest",
                        "no wasmctl.toml (or Spin's spin.toml) here or in any parent directory",
                        "cd into an app, pass --manifest PATH, or run `wasmctl new http-rust NAME`",
                    )
                } else {
                    Check::fail(
                        "manifest",
                        format!("{error:#}"),
                        error.chain().find_map(hint::of).map_or_else(
                            || "fix the manifest as the message says".to_string(),
                            |hint| hint.to_string(),
                        ),
                    )
                });
                return checks;
            }
        };
        for component in app.components.values() {
            let name = format!("component {}", component.id);
            let stale = stale_input(&app, component, Profile::Release);
            checks.push(
                match (check_source(&app, component, Profile::Release), stale) {
                    (Err(BuildError::NotBuilt { path, .. }), _) => Check::fail(
                        name,
                        format!("not built yet: `{}` does not exist", path.display()),
                        "run `wasmctl build`",
                    ),
                    (Err(error), _) => Check::fail(
                        name,
                        format!("{error:#}"),
                        error.hint().map_or_else(
                            || "run `wasmctl build`, then fix what it reports".to_string(),
                            |hint| hint.to_string(),
                        ),
                    ),
                    (Ok(_), Some(input)) => Check::fail(
                        name,
                        format!(
                            "stale: `{}` is older than `{}`",
                            component.source.display(),
                            super::relative(&input, &app.dir)
                        ),
                        "run `wasmctl build` (`wasmctl up` would serve the previous build)",
                    ),
                    (Ok(valid), None) => Check::pass(
                        name,
                        format!(
                            "{} ({}, WASI {})",
                            component.source.display(),
                            valid.world,
                            valid.wasi()
                        ),
                    ),
                },
            );
            if !component.files.is_empty() {
                let name = format!("component {} files", component.id);
                checks.push(match app.check_mounts(component) {
                    Ok(()) => mounts_check(name, &app.dir, &component.files),
                    Err(error) => Check::fail(name, error.problem, error.hint.text()),
                });
            }
        }
        checks
    }
}

/// A component's mounts, each where the guest sees it; a selection of Spin's globs with
/// how many files it selects now (one that names a missing file fails).
fn mounts_check(name: String, app_dir: &Path, mounts: &[FileMount]) -> Check {
    let mut shown = Vec::new();
    for mount in mounts {
        let at = format!("{} at {}", mount.source.display(), mount.destination);
        if mount.selection.is_none() {
            shown.push(at);
            continue;
        }
        match wasmctl::files::selected_files(app_dir, mount) {
            Ok(selected) => {
                let count = selected.files.len();
                let files = if count == 1 { "file" } else { "files" };
                shown.push(format!("{at} ({count} {files} selected)"));
            }
            Err(error) => {
                return Check::fail(
                    name,
                    format!("{error:#}"),
                    error.chain().find_map(hint::of).map_or_else(
                        || "fix the component's `files`".to_string(),
                        |hint| hint.to_string(),
                    ),
                );
            }
        }
    }
    Check::pass(name, shown.join(", "))
}

/// cargo, rustup, and the Rust targets the app builds for (wasm32-wasip2 at least).
fn rust_checks(app: Option<&App>) -> Vec<Check> {
    let mut checks = vec![match toolchain::cargo_version() {
        Ok(version) => Check::pass("cargo", version),
        Err(problem) => Check::fail("cargo", problem, "install Rust from https://rustup.rs"),
    }];
    checks.push(match toolchain::rustup_version() {
        Ok(version) => Check::pass("rustup", version),
        Err(problem) => Check::fail(
            "rustup",
            problem,
            "install Rust with rustup (https://rustup.rs) so targets can be added",
        ),
    });
    let mut targets = BTreeSet::from([DEFAULT_CARGO_TARGET.to_string()]);
    for component in app.iter().flat_map(|app| app.components.values()) {
        if let Some(BuildKind::Cargo { target, .. }) = component.build.as_ref().map(|b| &b.kind) {
            targets.insert(target.clone());
        }
    }
    // Where cargo will run, so rustup picks the same toolchain.
    let dir = app.map_or_else(|| std::path::PathBuf::from("."), |app| app.dir.clone());
    for target in targets {
        let name = format!("rust target {target}");
        checks.push(match toolchain::target_installed(&target, &dir) {
            Ok(true) => Check::pass(name, "installed"),
            Ok(false) => Check::fail(name, "not installed", format!("rustup target add {target}")),
            Err(problem) => Check::fail(name, problem, "install Rust from https://rustup.rs"),
        });
    }
    checks
}

/// The tools the app's builds require (`requires`, and what `dependencies` runs).
fn tool_checks(app: &App) -> Vec<Check> {
    let mut checks = Vec::new();
    for needed in toolchain::app_requirements(app) {
        let name = needed.requirement.tool.to_string();
        let wanted = format!(
            "{} for {}",
            needed.requirement,
            needed
                .components
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        match toolchain::check(&needed.requirement) {
            Ok(found) => {
                checks.push(Check::pass(&name, format!("{} ({wanted})", found.version)));
                if needed.needs_venv {
                    checks.push(match toolchain::check_venv(&found) {
                        Ok(()) => Check::pass("python3 venv", "can make a virtual environment"),
                        Err(problem) => Check::fail(
                            "python3 venv",
                            problem.to_string(),
                            problem.hint().to_string(),
                        ),
                    });
                }
            }
            Err(problem) => checks.push(Check::fail(
                name,
                format!("{problem} ({wanted})"),
                problem.hint().to_string(),
            )),
        }
    }
    checks
}
