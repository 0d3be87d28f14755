//! `cargo xtask boundaries`: the library crates stay free of the terminal. The binary
//! (`wasmctl-cli`) may use clap, dialoguer, console and indicatif; `wasmctl`,
//! `wasmctl-manifest`, `wasmctl-serve` and `wasmctl-host` may not, not even through a
//! dependency, and the manifest crate (what the fuzz targets build on) has no Wasmtime,
//! hyper or tokio. Within the binary, no command module imports another (cargo's rule:
//! commands are thin wrappers over library operations, and never call each other).
//!
//! `wasmctl-test-support` is not one of those libraries: it is test tooling (a
//! dev-dependency of the binary's tests and a dependency of xtask) and may use whatever a
//! test needs. What it must never be is linked into the binary.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::root;

/// Crates that belong to the command line and the terminal.
const TERMINAL: [&str; 6] = [
    "clap",
    "clap_complete",
    "dialoguer",
    "console",
    "indicatif",
    "tracing-subscriber",
];

/// Test tooling: the harness the end-to-end tests and xtask share.
const TEST_SUPPORT: &str = "wasmctl-test-support";

/// Crates the manifest crate must not pull in: the server's.
const SERVER: [&str; 5] = [
    "wasmtime",
    "cranelift-codegen",
    "hyper",
    "tokio",
    "wasmctl-host",
];

pub(crate) fn run() -> Result<()> {
    let mut problems = Vec::new();
    for library in [
        "wasmctl",
        "wasmctl-manifest",
        "wasmctl-serve",
        "wasmctl-host",
    ] {
        for found in dependencies(library)?
            .iter()
            .filter(|name| TERMINAL.contains(&name.as_str()))
        {
            problems.push(format!("{library} depends on {found}, a terminal crate"));
        }
    }
    for found in dependencies("wasmctl-manifest")?
        .iter()
        .filter(|name| SERVER.contains(&name.as_str()))
    {
        problems.push(format!(
            "wasmctl-manifest depends on {found}, a server crate"
        ));
    }
    // The binary's normal dependencies are everything linked into it, libraries included.
    if dependencies("wasmctl-cli")?
        .iter()
        .any(|name| name == TEST_SUPPORT)
    {
        problems.push(format!(
            "wasmctl-cli depends on {TEST_SUPPORT}, which is for tests and xtask only (a dev-dependency)"
        ));
    }
    problems.extend(commands_importing_commands()?);
    if !problems.is_empty() {
        bail!(
            "the crates crossed their boundaries:\n  {}\n(ARCHITECTURE.md says which crate owns what)",
            problems.join("\n  ")
        );
    }
    eprintln!(
        "xtask: boundaries hold (no terminal crate in the libraries, no server in the manifest, no test support in the binary, no command importing another)"
    );
    Ok(())
}

/// The names of every normal (not dev, not build) dependency of `package`, transitively.
fn dependencies(package: &str) -> Result<Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(&cargo)
        .args([
            "tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .args(["-p", package])
        .current_dir(root())
        .output()
        .with_context(|| format!("running `{cargo} tree`"))?;
    if !output.status.success() {
        bail!(
            "`cargo tree -p {package}` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Modules of `cli/src/commands/` that are not commands but argument groups and input
/// rewriting that commands share.
const SHARED_MODULES: [&str; 2] = ["shorthand", "template_values"];

/// Each use of one command module by another, as `file:line: ...`.
fn commands_importing_commands() -> Result<Vec<String>> {
    let dir = root().join("cli/src/commands");
    let mut commands = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = match path.extension() {
            Some(extension) if extension == "rs" => path.file_stem(),
            None if path.join("mod.rs").is_file() => path.file_name(),
            _ => None,
        };
        if let Some(name) = name.and_then(|name| name.to_str())
            && name != "mod"
            && !SHARED_MODULES.contains(&name)
        {
            commands.push((name.to_string(), path));
        }
    }
    let mut problems = Vec::new();
    for (command, path) in &commands {
        // Each file of the command, and how it names the `commands` module: a command in a
        // directory reaches its siblings through `super::super::` from its submodules.
        let mut files = Vec::new();
        if path.is_dir() {
            for entry in std::fs::read_dir(path)? {
                let file = entry?.path();
                let parent = if file.file_name().is_some_and(|name| name == "mod.rs") {
                    "super::"
                } else {
                    "super::super::"
                };
                files.push((file, parent));
            }
        } else {
            files.push((path.clone(), "super::"));
        }
        for (file, parent) in files {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            for (number, line) in text.lines().enumerate() {
                for (other, _) in commands.iter().filter(|(other, _)| other != command) {
                    let paths = [
                        format!("{parent}{other}::"),
                        format!("crate::commands::{other}::"),
                    ];
                    // `use super::{build, ...}`
                    let grouped = line.contains(&format!("{parent}{{"))
                        && line.split(['{', ',', '}', ' ']).any(|item| item == other);
                    if grouped || paths.iter().any(|used| line.contains(used.as_str())) {
                        problems.push(format!(
                            "{}:{}: command `{command}` uses command `{other}`",
                            file.strip_prefix(root()).unwrap_or(&file).display(),
                            number + 1
                        ));
                    }
                }
            }
        }
    }
    Ok(problems)
}
