//! `cargo build` for a wasm target, read through cargo's JSON messages.

use std::path::{Path, PathBuf};
use std::process::Command;

use cargo_metadata::Message;

use super::{BuildError, BuildEvent, Step};
use crate::process::{Line, Tail, run_lines};

/// One cargo invocation.
pub(super) struct CargoBuild<'a> {
    pub workdir: &'a Path,
    pub package: Option<&'a str>,
    pub target: &'a str,
    pub features: &'a [String],
    pub release: bool,
    pub color: bool,
    /// The caller shows cargo's output as it streams, so an error need not repeat it.
    pub output_shown: bool,
}

impl CargoBuild<'_> {
    fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "build",
            "--target",
            self.target,
            "--message-format=json-render-diagnostics",
        ]
        .map(String::from)
        .to_vec();
        if self.release {
            args.push("--release".into());
        }
        if let Some(package) = self.package {
            args.extend(["--package".into(), package.into()]);
        }
        if !self.features.is_empty() {
            args.extend(["--features".into(), self.features.join(",")]);
        }
        args.extend([
            "--color".into(),
            if self.color { "always" } else { "never" }.into(),
        ]);
        args
    }
}

/// Runs cargo and returns the one `.wasm` artifact it reports.
pub(super) fn build(
    request: &CargoBuild<'_>,
    component: &str,
    on_event: &mut dyn FnMut(BuildEvent<'_>),
) -> Result<PathBuf, BuildError> {
    let cargo = std::env::var(crate::environment::CARGO).unwrap_or_else(|_| "cargo".to_string());
    let args = request.args();
    // What a person would type; the message-format and colour flags are wasmctl's business.
    let command_line = format!(
        "cargo build --target {}{}",
        request.target,
        if request.release { " --release" } else { "" }
    );
    on_event(BuildEvent::Step(Step::Cargo {
        target: request.target,
        release: request.release,
    }));

    let mut artifacts: Vec<PathBuf> = Vec::new();
    let mut stderr = Tail::default();
    let status = run_lines(
        Command::new(&cargo)
            .args(&args)
            .current_dir(request.workdir),
        |line| match line {
            Line::Stdout(json) => match serde_json::from_str::<Message>(&json) {
                Ok(Message::CompilerArtifact(artifact)) => {
                    let wasm: Vec<PathBuf> = artifact
                        .filenames
                        .iter()
                        .filter(|file| file.extension() == Some("wasm"))
                        .map(|file| file.clone().into_std_path_buf())
                        .collect();
                    artifacts.extend(wasm);
                }
                Ok(_) => {}
                // Build scripts may print to stdout too; show it rather than lose it.
                Err(_) => on_event(BuildEvent::Output(&json)),
            },
            Line::Stderr(text) => {
                stderr.push(&text);
                on_event(BuildEvent::Output(&text));
            }
        },
    )
    .map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            BuildError::CargoNotFound
        } else {
            BuildError::Spawn {
                command: command_line.clone(),
                dir: request.workdir.to_path_buf(),
                source,
            }
        }
    })?;

    if !status.success() {
        // Asked of the toolchain cargo ran with (rustup picks it by the workdir's
        // rust-toolchain file), not read out of cargo's wording.
        if super::toolchain::target_installed(request.target, request.workdir) == Ok(false) {
            return Err(BuildError::TargetMissing {
                target: request.target.to_string(),
            });
        }
        return Err(BuildError::Failed {
            command: command_line,
            dir: request.workdir.to_path_buf(),
            status: status.to_string(),
            tail: (!request.output_shown).then_some(stderr),
        });
    }
    artifacts.sort();
    artifacts.dedup();
    match artifacts.len() {
        1 => Ok(artifacts.remove(0)),
        0 => Err(no_artifact(request)),
        _ => Err(BuildError::SeveralArtifacts {
            component: component.to_string(),
            artifacts: artifacts.iter().map(|a| a.display().to_string()).collect(),
        }),
    }
}

/// Only binaries and `cdylib`s link into a `.wasm` file; a plain library gives an `.rlib`.
fn no_artifact(request: &CargoBuild<'_>) -> BuildError {
    let package = match request.package {
        Some(package) => format!("package `{package}`"),
        None => format!("the package in `{}`", request.workdir.display()),
    };
    BuildError::NoWasmArtifact {
        package,
        fix: "it is a library without `crate-type = [\"cdylib\"]` and has no binary; add\n  [lib]\n  crate-type = [\"cdylib\"]\nto its Cargo.toml, or give it a src/main.rs".to_string(),
    }
}
